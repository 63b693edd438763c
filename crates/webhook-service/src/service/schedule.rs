//! When a failed delivery is tried again: after each delay of the schedule
//! in turn (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default: eight
//! attempts over about 28 hours), each stretched or shrunk by up to 10 %
//! so that retries of many deliveries spread out.

use std::time::Duration;

/// The default delays before each retry.
pub const DEFAULT: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The retry delays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(Vec<Duration>);

impl Schedule {
    /// From `TALK_WEBHOOK_RETRY_SCHEDULE_MS` (milliseconds, comma-separated;
    /// empty or unreadable: [`DEFAULT`]).
    pub fn parse(value: &str) -> Self {
        let delays: Option<Vec<Duration>> = value
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.parse().ok().map(Duration::from_millis))
            .collect();
        match delays {
            Some(delays) if !delays.is_empty() => Self(delays),
            _ => Self(DEFAULT.to_vec()),
        }
    }

    /// The delay after attempt `attempts` (1 = the first) failed, jittered;
    /// `None` when it was the last.
    pub fn after(&self, attempts: u32) -> Option<Duration> {
        let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
        let delay = *self.0.get(index)?;
        let factor = 0.9 + rand::random::<f64>() * 0.2;
        Some(delay.mul_f64(factor))
    }

    /// How many attempts a delivery gets in all.
    pub fn attempts(&self) -> usize {
        self.0.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_retries_for_more_than_a_day() {
        let schedule = Schedule::parse("");
        let total: Duration = (1..=7).filter_map(|n| schedule.after(n)).sum();
        assert!(total > Duration::from_secs(24 * 3600), "{total:?}");
        assert_eq!(schedule.after(8), None);
        assert_eq!(schedule.attempts(), 8);
    }

    #[test]
    fn a_configured_schedule_is_used_with_jitter() {
        let schedule = Schedule::parse("100, 200");
        let first = schedule.after(1).unwrap();
        assert!(first >= Duration::from_millis(90) && first <= Duration::from_millis(110));
        assert!(schedule.after(3).is_none());
        assert_eq!(Schedule::parse("x"), Schedule::parse(""));
    }
}
