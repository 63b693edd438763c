//! Input rules for agents' fields; each failure is a 400 naming the field.

use talk_auth::{PERMISSION_ADMIN, PERMISSION_AGENT, PERMISSION_MANAGER, PERMISSION_SUPER_ADMIN};
use talk_types::{ApiError, Reason};

const USERNAME_MAX: usize = 64;
const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 256;
const NAME_MAX: usize = 255;
const DETAIL_MAX: usize = 4096;
/// VoIPBIN's ring methods (`AgentManagerAgentRingMethod`).
pub const RING_METHODS: [&str; 2] = ["ringall", "linear"];
const KNOWN_PERMISSIONS: u32 =
    PERMISSION_SUPER_ADMIN | PERMISSION_AGENT | PERMISSION_ADMIN | PERMISSION_MANAGER;

/// 400 MISSING_FIELD naming `field`.
pub fn missing(field: &str) -> ApiError {
    ApiError::of(
        Reason::MissingField,
        format!("The field {field} is required."),
    )
}

/// 1–64 characters of `[A-Za-z0-9._@-]`.
pub fn username(value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= USERNAME_MAX
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::of(
            Reason::InvalidUsername,
            "The username must be 1 to 64 characters of letters, digits, '.', '_', '@' or '-'.",
        ))
    }
}

/// 8–256 characters.
pub fn password(value: &str) -> Result<(), ApiError> {
    let len = value.chars().count();
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        Ok(())
    } else {
        Err(ApiError::of(
            Reason::InvalidPassword,
            "The password must be 8 to 256 characters long.",
        ))
    }
}

/// At most 255 characters.
pub fn name(value: &str) -> Result<(), ApiError> {
    max_len("name", value, NAME_MAX)
}

/// At most 4096 characters.
pub fn detail(value: &str) -> Result<(), ApiError> {
    max_len("detail", value, DETAIL_MAX)
}

/// A non-empty combination of the known bits (1, 16, 32, 64).
pub fn permission(value: u32) -> Result<(), ApiError> {
    if value != 0 && value & !KNOWN_PERMISSIONS == 0 {
        Ok(())
    } else {
        Err(ApiError::of(
            Reason::InvalidPermission,
            "The permission must combine 1 (super admin), 16 (agent), 32 (admin) and 64 (manager).",
        ))
    }
}

/// One of [`RING_METHODS`].
pub fn ring_method(value: &str) -> Result<(), ApiError> {
    if RING_METHODS.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::of(
            Reason::InvalidArgument,
            "The ring_method must be \"ringall\" or \"linear\".",
        ))
    }
}

/// VoIPBIN's agent statuses.
pub const STATUSES: [&str; 5] = ["available", "away", "busy", "offline", "ringing"];

/// One of [`STATUSES`].
pub fn status(value: &str) -> Result<(), ApiError> {
    if STATUSES.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::of(
            Reason::InvalidArgument,
            format!(
                "The status must be one of {} (got {value:?}).",
                STATUSES.join(", ")
            ),
        ))
    }
}

fn max_len(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() <= max {
        Ok(())
    } else {
        Err(ApiError::of(
            Reason::FieldTooLong,
            format!("The field {field} must be at most {max} characters long."),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_permissions() {
        assert!(username("alice.b-c_d@example.com").is_ok());
        assert!(username("").is_err());
        assert!(username("with space").is_err());
        assert!(username(&"a".repeat(65)).is_err());
        assert!(permission(48).is_ok());
        assert!(permission(0).is_err());
        assert!(permission(2).is_err());
        assert_eq!(name(&"n".repeat(256)).unwrap_err().reason, "FIELD_TOO_LONG");
        assert!(ring_method("ringall").is_ok() && ring_method("linear").is_ok());
        assert_eq!(
            ring_method("RINGALL").unwrap_err().reason,
            "INVALID_ARGUMENT"
        );
        for value in STATUSES {
            assert!(status(value).is_ok(), "{value}");
        }
        assert_eq!(status("sleeping").unwrap_err().reason, "INVALID_ARGUMENT");
    }
}
