//! Percentiles and the per-scenario result.

use crate::procs::CpuSnapshot;

/// p50/p95/p99/max of a sample, in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Percentiles {
    /// From microsecond samples (sorted in place).
    pub fn of_micros(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((samples.len() as f64) * q).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1] as f64 / 1000.0
        };
        Self {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: samples[samples.len() - 1] as f64 / 1000.0,
        }
    }

    /// `p50 / p95 / p99 / max` for a table cell.
    pub fn cell(&self) -> String {
        format!(
            "{} / {} / {} / {}",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            ms(self.max)
        )
    }
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

/// What one message scenario measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Scenario letter and a one-line description.
    pub name: String,
    /// What was run.
    pub setup: String,
    /// POSTs attempted.
    pub sent: u64,
    /// POSTs answered 201.
    pub accepted: u64,
    /// POSTs that failed (non-201 or transport error).
    pub failed: u64,
    /// Seconds from the first POST start to the last POST answer.
    pub send_secs: f64,
    /// POST latency.
    pub post: Percentiles,
    /// Deliveries expected (accepted messages × listeners of their talk).
    pub expected: u64,
    /// Distinct deliveries received.
    pub delivered: u64,
    /// Seconds from the first POST start to the last delivery.
    pub deliver_secs: f64,
    /// Delivery latency (receipt − POST start).
    pub latency: Percentiles,
    /// Expected deliveries never received within the drain time.
    pub lost: u64,
    /// Deliveries received more than once (extra copies).
    pub duplicated: u64,
    /// Deliveries of messages not expected at that listener (or of another scenario).
    pub unexpected: u64,
    /// Listener sockets that closed on their own.
    pub dropped_sockets: u64,
    /// CPU seconds per process during the scenario.
    pub cpu: CpuSnapshot,
    /// Wall seconds the CPU figures cover.
    pub wall_secs: f64,
}

impl Outcome {
    /// Accepted messages per second.
    pub fn accepted_rate(&self) -> f64 {
        rate(self.accepted, self.send_secs)
    }

    /// Deliveries per second.
    pub fn delivery_rate(&self) -> f64 {
        rate(self.delivered, self.deliver_secs)
    }
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_rank() {
        let mut v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let p = Percentiles::of_micros(&mut v);
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
    }
}
