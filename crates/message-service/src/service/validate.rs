//! Input rules for messages: type, text, medias and paging.

use talk_proto::{Media, PageRequest};
use talk_types::{ApiError, Reason, time};

/// Longest text, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Most medias on one message.
pub const MAX_MEDIAS: usize = 10;
/// Longest media name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest URL, in bytes.
const MAX_URL_BYTES: usize = 2048;
/// Longest address field, in characters.
const MAX_ADDRESS_CHARS: usize = 1024;

/// The type of a posted message: `normal` (the default); agents may not post `system`.
pub fn post_type(kind: &str) -> Result<&'static str, ApiError> {
    match kind {
        "" | "normal" => Ok("normal"),
        "system" => Err(ApiError::of(
            Reason::SystemMessageForbidden,
            "System messages are created by the platform; agents post normal messages.",
        )),
        _ => Err(ApiError::of(
            Reason::InvalidType,
            "The message type must be normal.",
        )),
    }
}

/// A message text: at most [`MAX_TEXT_CHARS`], and not empty unless there are medias.
pub fn text(text: &str, has_medias: bool) -> Result<(), ApiError> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::of(
            Reason::TextTooLong,
            "The text is longer than the limit of 20,000 characters.",
        ));
    }
    if text.contains('\0') {
        return Err(ApiError::of(
            Reason::InvalidText,
            "The text contains a NUL character.",
        ));
    }
    if text.trim().is_empty() && !has_medias {
        return Err(ApiError::of(
            Reason::EmptyMessage,
            "A message needs a text or at least one media.",
        ));
    }
    Ok(())
}

/// Medias of both shapes: VoIPBIN's `{type: file|link|agent|address, …}` and
/// the seed's `{type: <mime type>, url, name}`.
pub fn medias(medias: &[Media]) -> Result<(), ApiError> {
    if medias.len() > MAX_MEDIAS {
        return Err(ApiError::of(
            Reason::TooManyMedias,
            "A message can carry at most 10 medias.",
        ));
    }
    medias
        .iter()
        .enumerate()
        .try_for_each(|(i, media)| one_media(i, media))
}

fn invalid_media(message: String) -> ApiError {
    ApiError::of(Reason::InvalidMedia, message)
}

fn one_media(i: usize, media: &Media) -> Result<(), ApiError> {
    let Media {
        r#type,
        url,
        name,
        file_id,
        link_url,
        agent_id,
        address,
        file: _,
    } = media;
    let field = |f: &str| format!("medias[{i}].{f}");
    if let Some(url) = url {
        http_url(&field("url"), url)?;
    }
    if let Some(link) = link_url {
        http_url(&field("link_url"), link)?;
    }
    for (f, id) in [("file_id", file_id), ("agent_id", agent_id)] {
        if let Some(id) = id
            && uuid::Uuid::parse_str(id).is_err()
        {
            return Err(ApiError::invalid_id(&field(f)));
        }
    }
    if let Some(name) = name {
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid_media(format!(
                "{} is longer than 255 characters.",
                field("name")
            )));
        }
        if name.contains('\0') {
            return Err(invalid_media(format!(
                "{} contains a NUL character.",
                field("name")
            )));
        }
    }
    if let Some(address) = address {
        let talk_proto::Address {
            r#type,
            target,
            target_name,
            name,
            detail,
        } = address;
        if [r#type, target, target_name, name, detail]
            .iter()
            .any(|v| v.chars().count() > MAX_ADDRESS_CHARS || v.contains('\0'))
        {
            return Err(invalid_media(format!(
                "{} has a field longer than 1024 characters.",
                field("address")
            )));
        }
    }
    let needs = |present: bool, what: &str| {
        if present {
            Ok(())
        } else {
            Err(invalid_media(format!(
                "{} is required for a media of type {}.",
                field(what),
                r#type
            )))
        }
    };
    match r#type.as_str() {
        "" => Err(invalid_media(format!("{} is required.", field("type")))),
        "file" => needs(file_id.is_some(), "file_id"),
        "link" => needs(link_url.is_some(), "link_url"),
        "agent" => needs(agent_id.is_some(), "agent_id"),
        "address" => needs(address.is_some(), "address"),
        mime if is_mime_type(mime) => needs(url.is_some(), "url"),
        _ => Err(invalid_media(format!(
            "{} must be file, link, agent, address or a mime type like image/png.",
            field("type")
        ))),
    }
}

/// `type/subtype` made of RFC 6838 restricted-name characters.
fn is_mime_type(value: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match value.split_once('/') {
        Some((kind, subtype)) => token(kind) && token(subtype),
        None => false,
    }
}

/// An absolute `http` or `https` URL with a host.
fn http_url(field: &str, value: &str) -> Result<(), ApiError> {
    let bad = || {
        ApiError::of(
            Reason::InvalidUrl,
            format!("{field} must be an absolute http or https URL."),
        )
    };
    if value.len() > MAX_URL_BYTES || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad());
    }
    let parsed = url::Url::parse(value).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(())
}

/// A page request's size and `tm_create` bound ([`talk_types::page`]).
pub fn page(page: Option<&PageRequest>) -> Result<(u64, Option<time::Timestamp>), ApiError> {
    let (size, token) = page.map_or((0, ""), |p| (p.page_size, p.page_token.as_str()));
    talk_types::page::parse(size, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(kind: &str, url: &str) -> Media {
        Media {
            r#type: kind.into(),
            url: Some(url.into()),
            ..Default::default()
        }
    }

    #[test]
    fn urls_must_be_http() {
        assert!(medias(&[seed("image/png", "https://x.example/a.png")]).is_ok());
        for url in [
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "https://",
            "ftp://x.y",
        ] {
            let err = medias(&[seed("image/png", url)]).unwrap_err();
            assert_eq!(err.reason, "INVALID_URL", "{url}");
        }
        assert_eq!(
            medias(&[seed("imagepng", "https://x.y")])
                .unwrap_err()
                .reason,
            "INVALID_MEDIA"
        );
    }

    #[test]
    fn text_rules() {
        assert!(text("hi", false).is_ok());
        assert_eq!(text("", false).unwrap_err().reason, "EMPTY_MESSAGE");
        assert!(text("", true).is_ok());
        assert!(text(&"é".repeat(20_000), false).is_ok());
        assert_eq!(
            text(&"a".repeat(20_001), false).unwrap_err().reason,
            "TEXT_TOO_LONG"
        );
    }
}
