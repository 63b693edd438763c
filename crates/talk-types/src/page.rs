//! VoIPBIN's paging: a page size (1..=100; anything else means 100) and a
//! `page_token`, the `tm_create` of the previous page's last item.

use crate::time::{self, Timestamp};
use crate::{ApiError, Reason};

/// VoIPBIN's default and largest page.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The page size to use and the `tm_create` bound of a list request.
pub fn parse(page_size: u32, page_token: &str) -> Result<(u64, Option<Timestamp>), ApiError> {
    let size = if page_size == 0 || page_size > MAX_PAGE_SIZE {
        MAX_PAGE_SIZE
    } else {
        page_size
    };
    let before = match page_token {
        "" => None,
        token => Some(time::parse(token).ok_or_else(|| {
            ApiError::of(
                Reason::InvalidRequestParameter,
                "page_token must be a timestamp like 2026-01-15T09:30:00.123456Z.",
            )
        })?),
    };
    Ok((u64::from(size), before))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_outside_the_range_mean_the_largest_page() {
        assert_eq!(super::parse(0, "").ok(), Some((100, None)));
        assert_eq!(super::parse(101, "").ok(), Some((100, None)));
        assert_eq!(super::parse(7, "").ok(), Some((7, None)));
        assert!(super::parse(7, "yesterday").is_err());
    }
}
