//! Time: microsecond UTC timestamps and VoIPBIN's fixed wire layout.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// A UTC timestamp.
pub type Timestamp = DateTime<Utc>;

/// Now, truncated to microseconds so it survives every store unchanged.
pub fn now() -> Timestamp {
    from_micros(Utc::now().timestamp_micros()).unwrap_or_else(Utc::now)
}

/// Microseconds since the epoch, the form timestamps take in protobuf.
pub fn to_micros(ts: &Timestamp) -> i64 {
    ts.timestamp_micros()
}

/// The inverse of [`to_micros`]; `0` and out-of-range values give `None`.
pub fn from_micros(micros: i64) -> Option<Timestamp> {
    if micros == 0 {
        return None;
    }
    Utc.timestamp_micros(micros).single()
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always six fractional digits (VoIPBIN's layout).
pub fn format(ts: &Timestamp) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses an RFC 3339 timestamp (a page token, for instance).
pub fn parse(value: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_has_six_digits_and_round_trips() {
        let ts = from_micros(1_768_469_400_123_456).unwrap();
        let text = format(&ts);
        assert_eq!(text, "2026-01-15T09:30:00.123456Z");
        assert_eq!(parse(&text), Some(ts));
        assert_eq!(
            format(&from_micros(1_768_469_400_000_000).unwrap()),
            "2026-01-15T09:30:00.000000Z"
        );
    }
}
