//! Waiting until a server answers `/readyz`.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::task::JoinHandle;

/// How long [`wait_ready`] polls before it gives up.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The pause between two polls.
const POLL: Duration = Duration::from_millis(20);
/// How long one poll may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Polls `<url>/readyz` until it answers 200.
///
/// Between polls it asks `ended` whether the server it waits for (a process
/// or a task: see [`exited`] and [`task_ended`]) has ended, and if so fails at
/// once with the answer; it also fails after 30 s (of wall-clock time, even
/// under a paused tokio clock). Both errors name `log`, the server's log file
/// or folder, if there is one.
pub async fn wait_ready(
    url: &str,
    log: Option<&Path>,
    mut ended: impl FnMut() -> Option<String>,
) -> anyhow::Result<()> {
    let ready = format!("{}/readyz", url.trim_end_matches('/'));
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let log = log.map_or_else(String::new, |log| format!("; log in {}", log.display()));
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Ok(response) = http.get(&ready).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if let Some(why) = ended() {
            bail!("{url} will never be ready: {why}{log}");
        }
        if Instant::now() > deadline {
            bail!("{url} did not become ready within {TIMEOUT:?}{log}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// For [`wait_ready`]: how `child` exited, once it has.
pub fn exited(child: &mut Child) -> impl FnMut() -> Option<String> + '_ {
    || match child.try_wait() {
        Ok(None) => None,
        Ok(Some(status)) => Some(format!("it exited with {status}")),
        Err(e) => Some(format!("it cannot be waited for: {e}")),
    }
}

/// For [`wait_ready`]: that the server's `task` ended (its outcome is for
/// the caller to take from the handle).
pub fn task_ended<T>(task: &JoinHandle<T>) -> impl FnMut() -> Option<String> + '_ {
    || task.is_finished().then(|| "its task ended".to_owned())
}
