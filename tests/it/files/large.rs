//! 50 MiB through the real binaries (`talk serve <service>`, PostgreSQL and
//! NATS): the upload streams, so neither the edge's nor file-service's
//! memory grows by anything like the file; the download is byte for byte.

use talk_e2e::Api;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::procs::Processes;

use super::{download, sha256, upload};

const MIB: usize = 1024 * 1024;

/// `VmRSS` and `VmHWM` (peak) of a process, in bytes.
fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mib_stream_through_and_memory_grows_by_far_less() -> anyhow::Result<()> {
    let processes = Processes::start().await?;
    let admin = Api::login(&processes.url("edge"), "admin", ADMIN_PASSWORD).await?;
    // Warm both services up with a small file first.
    upload(&admin, "warm.txt", "text/plain", b"warm").await?;
    let watched = ["edge", "file-service"];
    let mut before = Vec::new();
    for service in watched {
        let pid = processes
            .pid(service)
            .ok_or_else(|| anyhow::anyhow!("no pid of {service}"))?;
        before.push((service, pid, memory(pid)?.0));
    }
    let bytes: Vec<u8> = (0..50 * MIB)
        .map(|i| (i % 253) as u8 ^ (i >> 16) as u8)
        .collect();
    let file = upload(&admin, "big.bin", "application/octet-stream", &bytes).await?;
    assert_eq!(file["filesize"], bytes.len());
    assert_eq!(file["sha256"], sha256(&bytes));
    for (service, pid, rss_before) in before {
        let (_, peak) = memory(pid)?;
        let grown = peak.saturating_sub(rss_before);
        eprintln!(
            "{service}: rss before {} MiB, peak after {} MiB",
            rss_before / MIB as u64,
            peak / MIB as u64
        );
        assert!(
            grown < 20 * MIB as u64,
            "{service}'s peak memory grew by {} MiB for a 50 MiB upload",
            grown / MIB as u64
        );
    }
    let fetched = download(
        &admin,
        &format!(
            "/v1.0/files/{}/file",
            file["id"].as_str().unwrap_or_default()
        ),
    )
    .await?;
    assert_eq!(fetched.bytes.len(), bytes.len());
    assert_eq!(sha256(&fetched.bytes), sha256(&bytes));
    Ok(())
}
