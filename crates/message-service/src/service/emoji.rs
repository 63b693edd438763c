//! Emoji of reactions: a Unicode emoji, or a GitHub shortcode (`thumbsup`,
//! `:thumbsup:`, `+1`), looked up in the `emojis` crate's tables (Unicode's
//! emoji list and gemoji's shortcodes). Every spelling of one emoji becomes
//! the same stored value, its fully-qualified Unicode sequence, so `👍`,
//! `thumbsup`, `:thumbsup:` and `+1` are one reaction.

use talk_types::{ApiError, Reason};

/// Longest value quoted back in an error message, in characters.
const MAX_QUOTED: usize = 64;

/// The canonical form of `value`: the fully-qualified Unicode emoji it is or
/// names; 400 INVALID_EMOJI naming it otherwise.
pub fn normalize(value: &str) -> Result<String, ApiError> {
    lookup(value)
        .map(|emoji| emoji.as_str().to_owned())
        .ok_or_else(|| invalid(value))
}

/// The emoji `value` is, with or without variation selectors, or names by shortcode.
fn lookup(value: &str) -> Option<&'static emojis::Emoji> {
    emojis::get(value)
        .or_else(|| emojis::get(&without_variation_selectors(value)))
        .or_else(|| emojis::get_by_shortcode(shortcode(value)))
}

/// `value` without VS15/VS16 (text/emoji presentation): the table knows the
/// fully-qualified and unqualified forms, not a selector in an odd place.
fn without_variation_selectors(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, '\u{FE0E}' | '\u{FE0F}'))
        .collect()
}

/// `thumbsup` for `:thumbsup:` or `thumbsup`.
fn shortcode(value: &str) -> &str {
    value
        .strip_prefix(':')
        .and_then(|v| v.strip_suffix(':'))
        .unwrap_or(value)
}

fn invalid(value: &str) -> ApiError {
    let mut quoted: String = value.chars().take(MAX_QUOTED).collect();
    if quoted.len() < value.len() {
        quoted.push('…');
    }
    ApiError::of(
        Reason::InvalidEmoji,
        format!(
            "{} is neither an emoji nor a known shortcode (such as thumbsup or :thumbsup:).",
            serde_json::Value::from(quoted)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(value: &str) -> String {
        normalize(value).unwrap_or_else(|e| panic!("{value:?}: {}", e.message))
    }

    #[test]
    fn every_spelling_of_an_emoji_is_one_value() {
        for same in ["👍", "thumbsup", ":thumbsup:", "+1", ":+1:", "👍\u{FE0F}"] {
            assert_eq!(canonical(same), "👍", "{same:?}");
        }
        for same in ["❤️", "❤", "❤\u{FE0E}", "heart", ":heart:"] {
            assert_eq!(canonical(same), "❤\u{FE0F}", "{same:?}");
        }
        for (code, emoji) in [
            ("tada", "🎉"),
            ("eyes", "👀"),
            ("white_check_mark", "✅"),
            ("rocket", "🚀"),
            ("-1", "👎"),
            ("100", "💯"),
        ] {
            assert_eq!(canonical(code), emoji);
            assert_eq!(canonical(&format!(":{code}:")), emoji);
        }
    }

    #[test]
    fn keeps_every_real_sequence() {
        for ok in [
            "👍🏽",
            "👨‍👩‍👧‍👦",
            "🧑🏽‍💻",
            "👩🏿‍🤝‍👩🏻",
            "🏳️‍🌈",
            "🇯🇵",
            "🇺🇦",
            "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
            "1️⃣",
            "✅",
            "©️",
            "🫠",
        ] {
            assert_eq!(canonical(ok), ok);
        }
        // Unqualified forms become the fully-qualified one.
        assert_eq!(canonical("#⃣"), "#️⃣");
        assert_eq!(canonical("©"), "©️");
        assert_eq!(canonical("🏳‍🌈"), "🏳️‍🌈");
    }

    #[test]
    fn refuses_anything_else_naming_it() {
        for bad in [
            "",
            "lunch",
            "hello world",
            "12",
            ":nope:",
            "notanemoji_xyz",
            "👍a",
            "a👍",
            "👍👍",
            "\u{200D}",
            "👍\u{200D}",
            "🇯",
            "🇯🇵🇯",
            "1",
            "<script>",
            ":thumbsup",
            " 👍",
            "Thumbsup",
            "shipit",
        ] {
            let error = normalize(bad).expect_err(bad);
            assert_eq!(error.reason, Reason::InvalidEmoji.code(), "{bad:?}");
            assert!(
                error
                    .message
                    .contains(&serde_json::Value::from(bad).to_string()),
                "{}",
                error.message
            );
        }
        let long = normalize(&"x".repeat(1_000)).expect_err("long");
        assert!(long.message.len() < 200, "{}", long.message);
    }
}
