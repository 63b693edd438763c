//! What a user's search query means, the same on both stores.
//!
//! A query is words, `"quoted phrases"` and `prefix*` words, all of which a
//! message must contain. A word is a run of letters and digits, as the index
//! splits text (PostgreSQL: `simple` over the text with every other character
//! made a space; SQLite: FTS5's `unicode61`); a term of several words joined
//! by other characters (`e-mail`, `foo:bar`) is a phrase of them. Characters
//! that mean syntax elsewhere (`(`, `:`, `\`, `'`, `&`, `|`, `!`) are
//! separators here, so no query is a syntax error.
//!
//! Scripts written without spaces between words (Korean, Japanese, Chinese,
//! Thai) and symbols the index drops (emoji) cannot be found by whole words:
//! such runs are searched as substrings of the text instead, ignoring case
//! (PostgreSQL's trigram index serves those of three characters or more).

use talk_types::{ApiError, Reason};

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 512;
/// The most words, phrases and substrings in one query.
pub const MAX_TERMS: usize = 32;

/// A parsed query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Phrases of lowercase words that must appear (a single word is a
    /// phrase of one); the last word of a phrase may be a prefix.
    pub phrases: Vec<Phrase>,
    /// Lowercase substrings that must appear.
    pub substrings: Vec<String>,
}

/// Consecutive words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phrase {
    /// The words, lowercase.
    pub words: Vec<String>,
    /// Whether the last word matches any word it begins.
    pub prefix: bool,
}

/// How a character is searched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Part of a word.
    Word,
    /// Part of a substring (unspaced scripts, emoji and other symbols).
    Substring,
    /// Between words.
    Separator,
}

/// Whether `c` belongs to a script written without spaces between words.
pub fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF            // Thai, Lao
        | 0x1100..=0x11FF          // Hangul Jamo
        | 0x3040..=0x30FF          // Hiragana, Katakana
        | 0x3130..=0x318F          // Hangul compatibility Jamo
        | 0x31F0..=0x31FF          // Katakana extensions
        | 0x3400..=0x4DBF          // CJK extension A
        | 0x4E00..=0x9FFF          // CJK unified ideographs
        | 0xA960..=0xA97F          // Hangul Jamo extended A
        | 0xAC00..=0xD7FF          // Hangul syllables, Jamo extended B
        | 0xF900..=0xFAFF          // CJK compatibility ideographs
        | 0xFF66..=0xFF9F          // halfwidth Katakana
        | 0x20000..=0x3FFFF        // CJK extensions B and later
    )
}

fn class(c: char) -> Class {
    if unspaced(c) {
        Class::Substring
    } else if c.is_alphanumeric() {
        Class::Word
    } else if c.is_ascii() || c.is_whitespace() || c.is_control() || general_punctuation(c) {
        Class::Separator
    } else {
        Class::Substring
    }
}

/// Punctuation outside ASCII that separates words (quotes, dashes, the
/// ideographic full stop and comma, …).
fn general_punctuation(c: char) -> bool {
    matches!(c as u32, 0x00A0..=0x00BF | 0x2000..=0x206F | 0x3000..=0x303F | 0xFF01..=0xFF0F)
}

/// Parses `raw`; 400 when it is blank, too long or has too many terms.
pub fn parse(raw: &str) -> Result<Query, ApiError> {
    if raw.trim().is_empty() {
        return Err(ApiError::of(
            Reason::MissingRequestParameter,
            "The parameter \"q\" is required and must not be blank.",
        ));
    }
    if raw.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::of(
            Reason::InvalidRequestParameter,
            format!("The parameter \"q\" is longer than {MAX_QUERY_CHARS} characters."),
        ));
    }
    let mut query = Query::default();
    for (quoted, chunk) in chunks(raw) {
        if quoted {
            term(&mut query, chunk);
        } else {
            for part in chunk.split_whitespace() {
                term(&mut query, part);
            }
        }
    }
    query.phrases.dedup();
    query.substrings.dedup();
    if query.phrases.len() + query.substrings.len() > MAX_TERMS {
        return Err(ApiError::of(
            Reason::InvalidRequestParameter,
            format!("The parameter \"q\" has more than {MAX_TERMS} words."),
        ));
    }
    Ok(query)
}

/// `raw` cut at double quotes: (inside quotes, text). An unclosed quote
/// runs to the end.
fn chunks(raw: &str) -> impl Iterator<Item = (bool, &str)> {
    raw.split('"')
        .enumerate()
        .map(|(i, chunk)| (i % 2 == 1, chunk))
}

/// Adds one term (a word of the query, or a quoted phrase) to `query`: its
/// word runs as one phrase, its other runs as substrings.
fn term(query: &mut Query, term: &str) {
    let prefix = term.trim_end().ends_with('*');
    let mut words = Vec::new();
    let mut current = String::new();
    let mut current_class = Class::Separator;
    let mut flush = |current: &mut String, class: Class, words: &mut Vec<String>| {
        if current.is_empty() {
            return;
        }
        let run = std::mem::take(current).to_lowercase();
        match class {
            Class::Word => words.push(run),
            Class::Substring => query.substrings.push(run),
            Class::Separator => {}
        }
    };
    for c in term.chars() {
        let class = class(c);
        // Emoji sequences keep their joiners and variation selectors.
        let class = if current_class == Class::Substring && is_joiner(c) {
            Class::Substring
        } else {
            class
        };
        if class != current_class {
            flush(&mut current, current_class, &mut words);
            current_class = class;
        }
        if class != Class::Separator {
            current.push(c);
        }
    }
    flush(&mut current, current_class, &mut words);
    if !words.is_empty() {
        query.phrases.push(Phrase {
            prefix: prefix && term_ends_in_word(term),
            words,
        });
    }
}

/// Whether the last character before a trailing `*` is part of a word.
fn term_ends_in_word(term: &str) -> bool {
    term.trim_end()
        .trim_end_matches('*')
        .chars()
        .last()
        .is_some_and(|c| class(c) == Class::Word)
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200D}' | '\u{FE0E}' | '\u{FE0F}' | '\u{20E3}')
        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

impl Query {
    /// Whether nothing is searched for (the query was only separators).
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty() && self.substrings.is_empty()
    }

    /// The phrases as a PostgreSQL `tsquery` (for `to_tsquery('simple', …)`),
    /// or None when there are none.
    pub fn tsquery(&self) -> Option<String> {
        let quote = |w: &str| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''"));
        let phrases: Vec<String> = self
            .phrases
            .iter()
            .map(|p| {
                let last = p.words.len() - 1;
                let words: Vec<String> = p
                    .words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        if i == last && p.prefix {
                            format!("{}:*", quote(w))
                        } else {
                            quote(w)
                        }
                    })
                    .collect();
                format!("({})", words.join(" <-> "))
            })
            .collect();
        (!phrases.is_empty()).then(|| phrases.join(" & "))
    }

    /// The phrases as an FTS5 query, or None when there are none.
    pub fn fts5(&self) -> Option<String> {
        let phrases: Vec<String> = self
            .phrases
            .iter()
            .map(|p| {
                let text = p.words.join(" ").replace('"', "\"\"");
                if p.prefix {
                    format!("\"{text}\" *")
                } else {
                    format!("\"{text}\"")
                }
            })
            .collect();
        (!phrases.is_empty()).then(|| phrases.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(q: &Query) -> Vec<(Vec<&str>, bool)> {
        q.phrases
            .iter()
            .map(|p| (p.words.iter().map(String::as_str).collect(), p.prefix))
            .collect()
    }

    #[test]
    fn words_phrases_and_prefixes() {
        let q = parse(r#"Refund "late delivery" ref* e-mail"#).unwrap();
        assert_eq!(
            words(&q),
            vec![
                (vec!["refund"], false),
                (vec!["late", "delivery"], false),
                (vec!["ref"], true),
                (vec!["e", "mail"], false),
            ]
        );
        assert_eq!(
            q.tsquery().unwrap(),
            "('refund') & ('late' <-> 'delivery') & ('ref':*) & ('e' <-> 'mail')"
        );
        assert_eq!(
            q.fts5().unwrap(),
            r#""refund" AND "late delivery" AND "ref" * AND "e mail""#
        );
    }

    #[test]
    fn syntax_characters_are_separators() {
        let q = parse(r#"" ( : * \ ' & | ! )"#).unwrap();
        assert!(q.is_empty());
        let q = parse(r"a:b (c) d\e 'f'").unwrap();
        assert_eq!(q.phrases.len(), 4);
        assert!(q.tsquery().unwrap().contains("'f'"));
    }

    #[test]
    fn unspaced_scripts_and_emoji_are_substrings() {
        let q = parse("환불 返金 🎉party 👍🏽").unwrap();
        assert_eq!(q.substrings, vec!["환불", "返金", "🎉", "👍🏽"]);
        assert_eq!(words(&q), vec![(vec!["party"], false)]);
    }

    #[test]
    fn blank_long_and_crowded_queries_are_refused() {
        assert!(parse("  ").is_err());
        assert!(parse(&"a".repeat(10_000)).is_err());
        let many: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
        assert!(parse(&many.join(" ")).is_err());
    }
}
