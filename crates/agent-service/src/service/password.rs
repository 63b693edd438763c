//! Password hashing (argon2id, PHC strings), off the async runtime, and
//! never more at once than the memory allows: each hash takes 19 MiB
//! (argon2's default `m`), so a few dozen concurrent logins could otherwise
//! exhaust the service. Hashes wait for one of [`permits`] (sized from the
//! memory the process may use); past [`MAX_WAITING`] waiters a login is
//! refused at once with 429 instead of queueing without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::Rng;
use talk_types::ApiError;

/// Length of a generated password.
const GENERATED_LEN: usize = 20;

/// The memory one hash takes (argon2's default: m = 19 MiB).
const HASH_MEMORY: u64 = 19 * 1024 * 1024;
/// The share of the process's memory hashing may take.
const MEMORY_SHARE: u64 = 4;
/// Logins waiting for a hash at most; more are refused (429).
pub const MAX_WAITING: usize = 512;

static HASHING: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// How many hashes may run at once: a quarter of the memory the process may
/// use (its cgroup's `memory.max`, else the machine's available memory) in
/// 19 MiB hashes, at least one and at most two per core (hashing is CPU-bound
/// beyond that).
pub fn permits() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let by_memory = memory_limit().map_or(usize::MAX, |bytes| {
        usize::try_from(bytes / MEMORY_SHARE / HASH_MEMORY).unwrap_or(usize::MAX)
    });
    by_memory.clamp(1, cores * 2)
}

/// The memory this process may use, in bytes, if the system says.
fn memory_limit() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok();
    if let Some(limit) = cgroup.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(limit);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs `work` (a hash) on the blocking pool once a hashing permit is free.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let semaphore = HASHING.get_or_init(|| {
        let permits = permits();
        tracing::info!(permits, "password hashing concurrency");
        tokio::sync::Semaphore::new(permits)
    });
    if WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return Err(ApiError::of(
            talk_types::Reason::RateLimitExceeded,
            "Too many logins at once; retry shortly.",
        ));
    }
    let permit = semaphore.acquire().await;
    WAITING.fetch_sub(1, Ordering::SeqCst);
    let _permit = permit.map_err(|_| ApiError::internal())?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ApiError::internal())?
}

/// Hashes `password` into an argon2id PHC string.
pub async fn hash(password: String) -> Result<String, ApiError> {
    hashing(move || hash_blocking(&password)).await
}

/// Whether `password` matches `phc`. With `phc = None` (no such user) the
/// same work is done against a dummy hash, so timing does not tell usernames.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, ApiError> {
    hashing(move || {
        let found = phc.is_some();
        let phc = match phc {
            Some(phc) => phc,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&phc).map_err(|e| {
            tracing::error!(error = %e, "stored password hash is unreadable");
            ApiError::internal()
        })?;
        let ok = matches(password.as_bytes(), &parsed)?;
        Ok(found && ok)
    })
    .await
}

/// Argon2 working memory kept for reuse: at most one per hashing permit,
/// allocated once. (Allocating 19 MiB per login and freeing it leaves the
/// allocator holding it in per-thread arenas: RSS grew by ~900 MiB under a
/// flood of 200 logins although no more than four hashes ever ran at once.)
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Whether `password` hashes to `parsed` (argon2 with the stored
/// parameters), in reused working memory; compared in constant time.
fn matches(password: &[u8], parsed: &PasswordHash<'_>) -> Result<bool, ApiError> {
    fn unreadable(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "stored password hash is unreadable");
        ApiError::internal()
    }
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(unreadable)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(unreadable)?
        .unwrap_or_default();
    let params = Params::try_from(parsed).map_err(unreadable)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(unreadable)?;
    let mut blocks = MEMORY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop()
        .unwrap_or_default();
    blocks.resize(params.block_count(), Block::default());
    let mut out = vec![0u8; expected.len()];
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        &mut out,
        &mut blocks[..],
    );
    MEMORY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(blocks);
    hashed.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        ApiError::internal()
    })?;
    Ok(Output::new(&out).is_ok_and(|out| out == expected))
}

/// A random alphanumeric password of 20 characters.
pub fn generate() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(GENERATED_LEN)
        .map(char::from)
        .collect()
}

fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| ApiError::internal())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ApiError::internal()
        })
}

/// Computes the dummy hash an unknown username is checked against, so the
/// first such login costs what any other does.
pub async fn prepare() -> Result<(), ApiError> {
    tokio::task::spawn_blocking(|| dummy_hash().map(|_| ()))
        .await
        .map_err(|_| ApiError::internal())?
}

fn dummy_hash() -> Result<&'static str, ApiError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_blocking(&generate())?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_generated_passwords_are_alphanumeric() {
        let phc = hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(
            verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".into(), Some(phc)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
        let generated = generate();
        assert_eq!(generated.len(), 20);
        assert!(generated.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
