//! File names and types: names are sanitised, types sniffed from the bytes,
//! and anything a browser could run is served as an attachment.

/// Longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// A file name safe to store and to put in a `Content-Disposition`: the last
/// path segment only, no control characters, no leading dots, no characters
/// Windows forbids, at most [`MAX_NAME_CHARS`]; `file` when nothing is left.
pub fn sanitize(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let kept: String = trimmed.chars().take(MAX_NAME_CHARS).collect();
    if kept.is_empty() {
        "file".to_owned()
    } else {
        kept
    }
}

/// Free text (a name or detail): control characters removed, at most
/// `max` characters.
pub fn text(value: &str, max: usize) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The type of a file from its first bytes (`infer`); text that is valid
/// UTF-8 keeps a declared `text/*` type (else `text/plain`); anything else
/// is `application/octet-stream`.
pub fn sniff(head: &[u8], declared: &str) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the head is still text.
        Err(e) => e.error_len().is_none(),
    };
    if text && !head.contains(&0) {
        let declared = declared.trim().to_ascii_lowercase();
        let essence = declared.split(';').next().unwrap_or_default().trim();
        if essence.starts_with("text/") || essence == "application/json" {
            return essence.to_owned();
        }
        return "text/plain".to_owned();
    }
    "application/octet-stream".to_owned()
}

/// Types a browser shows without running anything: served inline. Every
/// other type (HTML, SVG, XML, scripts, unknown bytes) is served as an
/// attachment.
pub fn served_as_attachment(mime: &str) -> bool {
    !matches!(
        mime,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/bmp"
            | "application/pdf"
            | "text/plain"
            | "audio/mpeg"
            | "audio/ogg"
            | "audio/wav"
            | "audio/x-wav"
            | "video/mp4"
            | "video/webm"
    )
}

/// Types a thumbnail is made of.
pub fn thumbnailable(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(sanitize("a\u{0}b\r\nc.txt"), "abc.txt");
        assert_eq!(sanitize("..."), "file");
        assert_eq!(sanitize(".htaccess"), "htaccess");
        assert_eq!(sanitize("what?.png"), "what_.png");
        assert_eq!(sanitize(&"é".repeat(300)).chars().count(), 255);
    }

    #[test]
    fn types_come_from_the_bytes() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
        ];
        assert_eq!(sniff(&png, "text/html"), "image/png");
        assert_eq!(sniff(b"hello", "text/csv"), "text/csv");
        assert_eq!(sniff(b"hello", "image/png"), "text/plain");
        assert_eq!(
            sniff(&[0, 1, 2, 0xff], "image/png"),
            "application/octet-stream"
        );
        assert!(served_as_attachment("text/html"));
        assert!(served_as_attachment("image/svg+xml"));
        assert!(!served_as_attachment("image/png"));
    }
}
