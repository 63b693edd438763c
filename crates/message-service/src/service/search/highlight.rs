//! Where a query matched a message, worked out here rather than by the
//! store (`ts_headline`, FTS5's `highlight`), so both stores answer the same
//! spans; and as offsets, not markup, so a client never has to trust markup
//! inside a user's text. Offsets count UTF-16 code units, as JavaScript
//! strings do.

use super::query::{Query, unspaced};

/// Longest snippet, in characters (without the ellipses).
const SNIPPET_CHARS: usize = 160;
/// Characters of context kept before the first match in a snippet.
const SNIPPET_BEFORE: usize = 40;
const ELLIPSIS: char = '…';

/// A matched span, `[start, end)`, in UTF-16 code units.
pub type Span = (u32, u32);

/// Where `query` matches `text` and a short excerpt around the first match.
pub struct Highlighted {
    /// Spans of `text`, in order, not overlapping.
    pub spans: Vec<Span>,
    /// The excerpt.
    pub snippet: String,
    /// Spans of the excerpt.
    pub snippet_spans: Vec<Span>,
}

/// Highlights `query` in `text`.
pub fn highlight(query: &Query, text: &str) -> Highlighted {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = word_spans(query, &chars);
    spans.extend(substring_spans(query, &chars));
    let spans = merge(spans);
    let (snippet, snippet_spans) = snippet(&chars, &spans);
    Highlighted {
        spans: spans.iter().map(|&s| utf16(&chars, s)).collect(),
        snippet: snippet.iter().collect(),
        snippet_spans: snippet_spans.iter().map(|&s| utf16(&snippet, s)).collect(),
    }
}

/// Character spans of the words of `chars` (runs of letters and digits
/// outside unspaced scripts), lowercase.
fn words(chars: &[char]) -> Vec<(usize, usize, String)> {
    let is_word = |c: char| c.is_alphanumeric() && !unspaced(c);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_word(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_word(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        out.push((start, i, word.to_lowercase()));
    }
    out
}

fn word_spans(query: &Query, chars: &[char]) -> Vec<(usize, usize)> {
    let words = words(chars);
    let mut out = Vec::new();
    for phrase in &query.phrases {
        let n = phrase.words.len();
        if n == 0 || words.len() < n {
            continue;
        }
        for at in 0..=words.len() - n {
            let matches = phrase.words.iter().enumerate().all(|(k, w)| {
                let have = &words[at + k].2;
                if k == n - 1 && phrase.prefix {
                    have.starts_with(w.as_str())
                } else {
                    have == w
                }
            });
            if matches {
                out.push((words[at].0, words[at + n - 1].1));
            }
        }
    }
    out
}

fn substring_spans(query: &Query, chars: &[char]) -> Vec<(usize, usize)> {
    let lower: Vec<char> = chars
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let mut out = Vec::new();
    for needle in &query.substrings {
        let needle: Vec<char> = needle.chars().collect();
        if needle.is_empty() || needle.len() > lower.len() {
            continue;
        }
        let mut at = 0;
        while at + needle.len() <= lower.len() {
            if lower[at..at + needle.len()] == needle[..] {
                out.push((at, at + needle.len()));
                at += needle.len();
            } else {
                at += 1;
            }
        }
    }
    out
}

fn merge(mut spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// The excerpt of `chars` around the first span (all of it when short),
/// with the spans inside it, in characters of the excerpt.
fn snippet(chars: &[char], spans: &[(usize, usize)]) -> (Vec<char>, Vec<(usize, usize)>) {
    if chars.len() <= SNIPPET_CHARS {
        return (chars.to_vec(), spans.to_vec());
    }
    let first = spans.first().map_or(0, |s| s.0);
    let start = first
        .saturating_sub(SNIPPET_BEFORE)
        .min(chars.len() - SNIPPET_CHARS);
    let end = start + SNIPPET_CHARS;
    let mut out = Vec::with_capacity(SNIPPET_CHARS + 2);
    let shift = usize::from(start > 0);
    if start > 0 {
        out.push(ELLIPSIS);
    }
    out.extend_from_slice(&chars[start..end]);
    if end < chars.len() {
        out.push(ELLIPSIS);
    }
    let inside = spans
        .iter()
        .filter(|s| s.0 >= start && s.1 <= end)
        .map(|s| (s.0 - start + shift, s.1 - start + shift))
        .collect();
    (out, inside)
}

/// A character span as UTF-16 code units.
fn utf16(chars: &[char], (start, end): (usize, usize)) -> Span {
    let units = |n: usize| -> u32 { chars[..n].iter().map(|c| c.len_utf16() as u32).sum() };
    (units(start), units(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::search::query::parse;

    #[test]
    fn words_prefixes_phrases_and_substrings() {
        let q = parse(r#"refund* "late delivery" 환불"#).unwrap();
        let h = highlight(&q, "Refunds for the late delivery: 환불을 요청");
        assert_eq!(h.spans, vec![(0, 7), (16, 29), (31, 33)]);
        assert_eq!(h.snippet_spans, h.spans);
    }

    #[test]
    fn offsets_count_utf16_units() {
        let q = parse("cake").unwrap();
        let h = highlight(&q, "🎉 cake");
        assert_eq!(h.spans, vec![(3, 7)]);
    }

    #[test]
    fn long_texts_get_an_excerpt() {
        let text = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let q = parse("needle").unwrap();
        let h = highlight(&q, &text);
        assert!(h.snippet.starts_with('…') && h.snippet.ends_with('…'));
        let (s, e) = h.snippet_spans[0];
        let units: Vec<u16> = h.snippet.encode_utf16().collect();
        assert_eq!(
            String::from_utf16_lossy(&units[s as usize..e as usize]),
            "needle"
        );
    }
}
