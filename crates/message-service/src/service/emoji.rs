//! Emoji validation: a Unicode emoji sequence, or a `:short_name:` from a
//! known list.

use talk_types::{ApiError, Reason};

/// Longest emoji sequence, in code points (family and flag sequences are ~10).
const MAX_SEQUENCE: usize = 16;

/// Short names accepted as `:name:` (Slack/GitHub spellings of common emoji).
const SHORT_NAMES: &[&str] = &[
    "+1",
    "-1",
    "thumbsup",
    "thumbsdown",
    "heart",
    "broken_heart",
    "smile",
    "smiley",
    "grin",
    "grinning",
    "joy",
    "rofl",
    "laughing",
    "sweat_smile",
    "wink",
    "blush",
    "innocent",
    "slightly_smiling_face",
    "upside_down_face",
    "relieved",
    "heart_eyes",
    "kissing_heart",
    "yum",
    "stuck_out_tongue",
    "stuck_out_tongue_winking_eye",
    "sunglasses",
    "nerd_face",
    "thinking",
    "thinking_face",
    "neutral_face",
    "expressionless",
    "no_mouth",
    "smirk",
    "unamused",
    "roll_eyes",
    "grimacing",
    "pensive",
    "confused",
    "worried",
    "frowning",
    "slightly_frowning_face",
    "open_mouth",
    "hushed",
    "astonished",
    "flushed",
    "pleading_face",
    "cry",
    "sob",
    "scream",
    "angry",
    "rage",
    "triumph",
    "sleepy",
    "sleeping",
    "mask",
    "exploding_head",
    "partying_face",
    "hugs",
    "hugging_face",
    "shushing_face",
    "zipper_mouth_face",
    "face_with_monocle",
    "skull",
    "ghost",
    "alien",
    "robot",
    "poop",
    "hankey",
    "clown_face",
    "see_no_evil",
    "hear_no_evil",
    "speak_no_evil",
    "wave",
    "raised_hand",
    "ok_hand",
    "v",
    "crossed_fingers",
    "point_up",
    "point_down",
    "point_left",
    "point_right",
    "clap",
    "pray",
    "raised_hands",
    "muscle",
    "handshake",
    "fist",
    "facepunch",
    "punch",
    "writing_hand",
    "eyes",
    "brain",
    "tada",
    "confetti_ball",
    "balloon",
    "gift",
    "trophy",
    "medal",
    "rocket",
    "fire",
    "sparkles",
    "star",
    "star2",
    "zap",
    "boom",
    "collision",
    "100",
    "heavy_check_mark",
    "white_check_mark",
    "ballot_box_with_check",
    "x",
    "heavy_multiplication_x",
    "negative_squared_cross_mark",
    "warning",
    "no_entry",
    "no_entry_sign",
    "question",
    "exclamation",
    "bangbang",
    "interrobang",
    "bulb",
    "memo",
    "pencil",
    "pencil2",
    "pushpin",
    "paperclip",
    "link",
    "lock",
    "unlock",
    "key",
    "bell",
    "mega",
    "loudspeaker",
    "calendar",
    "date",
    "clock",
    "hourglass",
    "stopwatch",
    "alarm_clock",
    "coffee",
    "tea",
    "beer",
    "beers",
    "pizza",
    "cake",
    "birthday",
    "cookie",
    "apple",
    "green_apple",
    "sunny",
    "cloud",
    "umbrella",
    "snowflake",
    "rainbow",
    "earth_americas",
    "globe_with_meridians",
    "dog",
    "cat",
    "unicorn",
    "bug",
    "bee",
    "turtle",
    "snail",
    "rose",
    "tulip",
    "seedling",
    "herb",
    "four_leaf_clover",
    "money_with_wings",
    "moneybag",
    "dollar",
    "chart_with_upwards_trend",
    "chart_with_downwards_trend",
    "bar_chart",
    "computer",
    "phone",
    "telephone_receiver",
    "email",
    "envelope",
    "inbox_tray",
    "outbox_tray",
    "package",
    "mag",
    "wrench",
    "hammer",
    "gear",
    "hammer_and_wrench",
    "shield",
    "construction",
    "rotating_light",
    "checkered_flag",
    "triangular_flag_on_post",
    "white_flag",
    "dart",
    "game_die",
    "musical_note",
    "notes",
    "headphones",
    "microphone",
    "camera",
    "movie_camera",
    "tv",
    "books",
    "book",
    "bookmark",
    "label",
    "heavy_plus_sign",
    "heavy_minus_sign",
    "arrow_up",
    "arrow_down",
    "arrow_left",
    "arrow_right",
    "arrows_counterclockwise",
    "repeat",
    "recycle",
    "infinity",
    "red_circle",
    "large_blue_circle",
    "green_circle",
    "yellow_circle",
    "black_circle",
    "white_circle",
    "orange_heart",
    "yellow_heart",
    "green_heart",
    "blue_heart",
    "purple_heart",
    "black_heart",
    "white_heart",
    "sparkling_heart",
    "two_hearts",
    "heartbeat",
    "heartpulse",
    "cupid",
    "kiss",
    "zzz",
    "sweat_drops",
    "dash",
    "speech_balloon",
    "thought_balloon",
    "ok",
    "new",
    "free",
    "cool",
    "up",
    "sos",
    "soon",
    "top",
    "on",
    "end",
    "back",
    "ship",
    "shipit",
    "party_parrot",
    "raising_hand",
    "man_shrugging",
    "woman_shrugging",
    "shrug",
    "man_facepalming",
    "woman_facepalming",
    "facepalm",
    "hourglass_flowing_sand",
];

/// Checks an emoji; 400 INVALID_EMOJI otherwise.
pub fn validate(emoji: &str) -> Result<(), ApiError> {
    if is_short_name(emoji) || is_unicode_emoji(emoji) {
        Ok(())
    } else {
        Err(ApiError::of(
            Reason::InvalidEmoji,
            "The emoji must be a Unicode emoji or a known :short_name: such as :thumbsup:.",
        ))
    }
}

fn is_short_name(value: &str) -> bool {
    value
        .strip_prefix(':')
        .and_then(|v| v.strip_suffix(':'))
        .is_some_and(|name| SHORT_NAMES.contains(&name))
}

/// A pictographic code point that can stand alone as (or start) an emoji.
fn is_base(c: char) -> bool {
    matches!(u32::from(c),
        0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139
        | 0x2194..=0x2199 | 0x21A9..=0x21AA | 0x231A..=0x231B | 0x2328 | 0x23CF
        | 0x23E9..=0x23F3 | 0x23F8..=0x23FA | 0x24C2 | 0x25AA..=0x25AB | 0x25B6 | 0x25C0
        | 0x25FB..=0x25FE | 0x2600..=0x27BF | 0x2934..=0x2935 | 0x2B05..=0x2B07
        | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x1F000..=0x1F1E5 | 0x1F200..=0x1F3FA | 0x1F400..=0x1FAFF)
}

const ZWJ: char = '\u{200D}';
const KEYCAP: char = '\u{20E3}';

fn is_variation(c: char) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}')
}

fn is_skin_tone(c: char) -> bool {
    matches!(u32::from(c), 0x1F3FB..=0x1F3FF)
}

fn is_regional(c: char) -> bool {
    matches!(u32::from(c), 0x1F1E6..=0x1F1FF)
}

fn is_tag(c: char) -> bool {
    matches!(u32::from(c), 0xE0020..=0xE007F)
}

/// A single emoji sequence: pictographs joined by ZWJ with optional variation
/// selectors, skin tones and tags; a regional-indicator pair (flag); or a keycap.
fn is_unicode_emoji(value: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    if chars.is_empty() || chars.len() > MAX_SEQUENCE {
        return false;
    }
    // Keycap: [0-9#*] FE0F? 20E3.
    if matches!(chars[0], '0'..='9' | '#' | '*') {
        return matches!(chars[1..], [KEYCAP] | ['\u{FE0F}', KEYCAP]);
    }
    // Flag: two regional indicators.
    if chars.iter().all(|c| is_regional(*c)) {
        return chars.len() == 2;
    }
    // ZWJ sequence of elements; each element = base, then modifiers.
    let mut expect_base = true;
    for c in chars {
        if expect_base {
            if !is_base(c) && !is_skin_tone(c) {
                return false;
            }
            expect_base = false;
        } else if c == ZWJ {
            expect_base = true;
        } else if !(is_variation(c) || is_skin_tone(c) || is_tag(c)) {
            return false;
        }
    }
    !expect_base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_emoji_and_short_names() {
        for ok in [
            "👍",
            "👍🏽",
            "❤️",
            "❤",
            "🎉",
            "👨‍👩‍👧‍👦",
            "🇯🇵",
            "1️⃣",
            "#⃣",
            "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
            "✅",
            ":thumbsup:",
            ":+1:",
            ":white_check_mark:",
            "🧑🏽‍💻",
            "©️",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        assert!(SHORT_NAMES.len() >= 100);
    }

    #[test]
    fn refuses_text() {
        for bad in [
            "",
            "a",
            "ok",
            "123",
            ":nope:",
            "thumbsup",
            "👍a",
            "a👍",
            "\u{200D}",
            "👍\u{200D}",
            "🇯",
            "🇯🇵🇯",
            "1",
            "<script>",
            ":thumbsup",
            " 👍",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }
}
