//! CPU time and memory of the processes under test, from `/proc`.

use std::collections::BTreeMap;

/// The processes to watch: the services by pid, plus PostgreSQL (every
/// process named `postgres`), `nats-server` and the bench itself.
#[derive(Clone, Debug)]
pub struct Procs {
    /// `(name, pid)` of each service.
    pub services: Vec<(String, u32)>,
    /// Clock ticks per second (`getconf CLK_TCK`).
    pub clk_tck: f64,
}

/// CPU seconds per process group at one instant.
pub type CpuSnapshot = BTreeMap<String, f64>;

fn stat_ticks(stat: &str) -> Option<(String, u64)> {
    // pid (comm) state ... utime(14) stime(15): split after the last ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_owned();
    let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

fn ticks_of(pid: &str) -> Option<(String, u64)> {
    stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

impl Procs {
    /// CPU seconds used so far by each service, `postgres`, `nats-server` and `talk-bench`.
    pub fn cpu(&self) -> CpuSnapshot {
        let mut out = CpuSnapshot::new();
        for (name, pid) in &self.services {
            let ticks = ticks_of(&pid.to_string()).map_or(0, |(_, t)| t);
            out.insert(name.clone(), ticks as f64 / self.clk_tck);
        }
        let mut postgres = 0u64;
        let mut nats = 0u64;
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let name = entry.file_name();
                let Some(pid) = name
                    .to_str()
                    .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                else {
                    continue;
                };
                match ticks_of(pid) {
                    Some((comm, t)) if comm == "postgres" => postgres += t,
                    Some((comm, t)) if comm == "nats-server" => nats += t,
                    _ => {}
                }
            }
        }
        out.insert("postgres".into(), postgres as f64 / self.clk_tck);
        out.insert("nats-server".into(), nats as f64 / self.clk_tck);
        let own = ticks_of("self").map_or(0, |(_, t)| t);
        out.insert("talk-bench".into(), own as f64 / self.clk_tck);
        // Everything else that ran on the box (e.g. a compiler): busy time of
        // every CPU minus what the processes above used.
        let tracked: f64 = out.values().sum();
        out.insert(
            "other".into(),
            system_busy_ticks() as f64 / self.clk_tck - tracked,
        );
        out
    }

    /// `VmRSS` and `VmHWM` (KiB) of the service named `name`.
    pub fn memory(&self, name: &str) -> (u64, u64) {
        let Some((_, pid)) = self.services.iter().find(|(n, _)| n == name) else {
            return (0, 0);
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// Busy ticks of all CPUs since boot (`/proc/stat`: total − idle − iowait).
fn system_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    total.saturating_sub(v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0))
}

/// `after - before` per process group.
pub fn delta(before: &CpuSnapshot, after: &CpuSnapshot) -> CpuSnapshot {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat() {
        let line = "42 (talk serve) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1 2 3";
        assert_eq!(stat_ticks(line), Some(("talk serve".into(), 300)));
    }
}
