//! Rate limits (issue 16): one client cannot take Talk down.
//!
//! Token buckets (`governor`, GCRA) keyed by who asks:
//! - every authenticated request spends from its **agent's** bucket — one for
//!   writes, one for reads — and from its **customer's** bucket;
//! - `POST /auth/login` spends from the bucket of the **client address** and
//!   of the **username**, and a username whose logins keep failing **backs
//!   off**: after [`FREE_FAILURES`] failures in a row each further attempt
//!   waits twice as long as the last (1 s, 2 s, … up to [`MAX_BACKOFF`]),
//!   refused here without costing agent-service a password hash.
//!
//! A refused request is `429` with VoIPBIN's error body (`RESOURCE_EXHAUSTED`
//! / `RATE_LIMIT_EXCEEDED`) and `Retry-After`. Every limited response carries
//! the tightest budget it spent from in `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the bucket
//! is full again); see `docs/API.md` for why these names.
//!
//! The buckets live in each edge replica's memory: with N replicas behind a
//! load balancer that spreads one client's requests, that client gets up to
//! N times the configured rate. Limits are configuration (`TALK_RATE_*`);
//! 0 turns one off.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};
use talk_auth::Identity;
use talk_config::Config;
use talk_types::{AgentId, ApiError, CustomerId, Reason};

/// Failed logins of one username in a row before it backs off.
pub const FREE_FAILURES: u32 = 5;
/// The longest a username waits after failed logins.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Usernames whose failures are remembered at most (the oldest are forgotten).
const MAX_REMEMBERED_FAILURES: usize = 100_000;

static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

type Bucket<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

/// What one request may still spend: the tightest bucket it spent from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The bucket's size.
    pub limit: u32,
    /// What is left in it.
    pub remaining: u32,
    /// Seconds until it is full again.
    pub reset: u64,
    /// Set when the request was refused: seconds until it may try again.
    pub retry_after: Option<u64>,
}

impl Budget {
    /// The tighter of two budgets: a refusal (the longer wait of two), else
    /// the one with less left.
    fn tighter(self, other: Self) -> Self {
        match (self.retry_after, other.retry_after) {
            (Some(_), None) => self,
            (None, Some(_)) => other,
            (Some(mine), Some(theirs)) if theirs > mine => other,
            (Some(_), Some(_)) => self,
            (None, None) if other.remaining < self.remaining => other,
            (None, None) => self,
        }
    }
}

/// One rate: `per` requests each `period`, with a burst of `burst`.
struct Rated<K: std::hash::Hash + Eq + Clone> {
    bucket: Bucket<K>,
    burst: u32,
    period: Duration,
}

impl<K: std::hash::Hash + Eq + Clone> Rated<K> {
    /// `count` requests each `period` (a burst of `count`); none for 0.
    fn new(count: u32, period: Duration) -> Option<Self> {
        let count = NonZeroU32::new(count)?;
        let quota = Quota::with_period(period / count.get())?.allow_burst(count);
        Some(Self {
            bucket: governor::RateLimiter::keyed(quota)
                .with_middleware::<StateInformationMiddleware>(),
            burst: count.get(),
            period,
        })
    }

    /// Spends one request of `key`'s bucket.
    fn spend(&self, key: &K) -> Budget {
        let per_request = self.period / self.burst;
        match self.bucket.check_key(key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let empty = self.burst.saturating_sub(remaining);
                Budget {
                    limit: self.burst,
                    remaining,
                    reset: seconds(per_request * empty),
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Budget {
                    limit: self.burst,
                    remaining: 0,
                    reset: seconds(per_request * self.burst),
                    retry_after: Some(seconds(wait).max(1)),
                }
            }
        }
    }

    /// Forgets buckets that are full again (bounded memory).
    fn forget_full(&self) {
        self.bucket.retain_recent();
        self.bucket.shrink_to_fit();
    }
}

/// Whole seconds, rounded up.
fn seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// Failed logins of one username.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    until: Instant,
}

/// Every bucket of one edge.
pub struct Limits {
    agent_writes: Option<Rated<AgentId>>,
    agent_reads: Option<Rated<AgentId>>,
    customer: Option<Rated<CustomerId>>,
    login_address: Option<Rated<IpAddr>>,
    login_username: Option<Rated<String>>,
    failures: Mutex<HashMap<String, Failures>>,
    trust_forwarded_for: bool,
    /// When these limits were made, and when (in ms since then) full buckets
    /// are next forgotten: read on every request, so an atomic, not a lock.
    started: Instant,
    next_sweep_ms: AtomicU64,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").finish_non_exhaustive()
    }
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const MINUTE_MS: u64 = 60_000;

impl Limits {
    /// The limits `config` sets.
    pub fn new(config: &Config) -> Self {
        Self {
            agent_writes: Rated::new(config.rate_agent_writes_per_sec, SECOND),
            agent_reads: Rated::new(config.rate_agent_reads_per_sec, SECOND),
            customer: Rated::new(config.rate_customer_per_sec, SECOND),
            login_address: Rated::new(config.rate_login_address_per_min, MINUTE),
            login_username: Rated::new(config.rate_login_username_per_min, MINUTE),
            failures: Mutex::default(),
            trust_forwarded_for: config.trust_forwarded_for,
            started: Instant::now(),
            next_sweep_ms: AtomicU64::new(MINUTE_MS),
        }
    }

    /// Spends one request of `who` (a write unless `read`) from its agent's
    /// and its customer's buckets.
    pub fn spend(&self, who: &Identity, read: bool) -> Option<Budget> {
        self.sweep_now_and_then();
        let agent = if read {
            &self.agent_reads
        } else {
            &self.agent_writes
        };
        let agent = agent.as_ref().map(|r| r.spend(&who.agent.id));
        let customer = self
            .customer
            .as_ref()
            .map(|r| r.spend(&who.agent.customer_id));
        tightest([agent, customer])
    }

    /// Spends one login attempt for `username` from `address`: its
    /// address's and its username's buckets, and refused while the username
    /// backs off after failures.
    pub fn spend_login(&self, address: Option<IpAddr>, username: &str) -> Option<Budget> {
        self.sweep_now_and_then();
        let key = username.to_lowercase();
        let by_address = address.and_then(|a| self.login_address.as_ref().map(|r| r.spend(&a)));
        let by_username = self.login_username.as_ref().map(|r| r.spend(&key));
        let backing_off = self.backing_off(&key).map(|wait| Budget {
            limit: FREE_FAILURES,
            remaining: 0,
            reset: seconds(wait),
            retry_after: Some(seconds(wait).max(1)),
        });
        tightest([by_address, by_username, backing_off])
    }

    /// Spends one unauthenticated request (a refresh) of `address`, from the
    /// login bucket of the address.
    pub fn spend_address(&self, address: Option<IpAddr>) -> Option<Budget> {
        self.sweep_now_and_then();
        address.and_then(|a| self.login_address.as_ref().map(|r| r.spend(&a)))
    }

    /// How long `username` must still wait after its failures, if at all.
    fn backing_off(&self, username: &str) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = failures.get(username)?;
        let now = Instant::now();
        (entry.count >= FREE_FAILURES && entry.until > now).then(|| entry.until - now)
    }

    /// Records how a login of `username` ended: a success forgets its
    /// failures; a failure past [`FREE_FAILURES`] doubles its wait.
    pub fn login_ended(&self, username: &str, succeeded: bool) {
        let key = username.to_lowercase();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if succeeded {
            failures.remove(&key);
            return;
        }
        let now = Instant::now();
        if failures.len() >= MAX_REMEMBERED_FAILURES && !failures.contains_key(&key) {
            failures.retain(|_, f| f.until > now);
            if failures.len() >= MAX_REMEMBERED_FAILURES {
                failures.clear();
            }
        }
        let entry = failures.entry(key).or_insert(Failures {
            count: 0,
            until: now,
        });
        entry.count = entry.count.saturating_add(1);
        if entry.count >= FREE_FAILURES {
            let doublings = (entry.count - FREE_FAILURES).min(16);
            let wait = (SECOND * 2u32.pow(doublings)).min(MAX_BACKOFF);
            entry.until = now + wait;
        }
    }

    /// The address a request comes from: the last `X-Forwarded-For` entry
    /// (the one the trusted ingress added) when so configured, else the peer
    /// (`ConnectInfo`, when the server knows it).
    pub fn address(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        if self.trust_forwarded_for
            && let Some(forwarded) = headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Some(forwarded);
        }
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
    }

    /// Forgets full buckets once a minute, so memory follows the clients of
    /// the last minute, not every client ever seen.
    fn sweep_now_and_then(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let due = self.next_sweep_ms.load(Ordering::Relaxed);
        // Of requests arriving together, the one that moves the deadline sweeps.
        if now >= due
            && self
                .next_sweep_ms
                .compare_exchange(due, now + MINUTE_MS, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.forget_full();
        }
    }

    /// Forgets full buckets.
    fn forget_full(&self) {
        for rated in [&self.agent_writes, &self.agent_reads]
            .into_iter()
            .flatten()
        {
            rated.forget_full();
        }
        if let Some(rated) = &self.customer {
            rated.forget_full();
        }
        if let Some(rated) = &self.login_address {
            rated.forget_full();
        }
        if let Some(rated) = &self.login_username {
            rated.forget_full();
        }
    }
}

fn tightest<const N: usize>(budgets: [Option<Budget>; N]) -> Option<Budget> {
    budgets.into_iter().flatten().reduce(Budget::tighter)
}

/// Where a request's handler leaves the budget it spent, for
/// [`rate_headers`] to answer.
#[derive(Clone, Debug, Default)]
pub struct Spent(Arc<Mutex<Option<Budget>>>);

/// Leaves what a request spent (`budget`) in its [`Spent`] slot; a refusal
/// (429) when the budget is one.
pub fn record(extensions: &Extensions, budget: Option<Budget>) -> Result<(), ApiError> {
    let Some(budget) = budget else {
        return Ok(());
    };
    if let Some(Spent(slot)) = extensions.get::<Spent>() {
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(budget);
    }
    match budget.retry_after {
        Some(after) => Err(ApiError::of(
            Reason::RateLimitExceeded,
            format!("Too many requests; retry in {after} s."),
        )),
        None => Ok(()),
    }
}

/// Gives every request a [`Spent`] slot and answers what was spent in
/// `X-RateLimit-*` headers (and `Retry-After` on a refusal).
pub async fn rate_headers(mut request: Request, next: Next) -> Response {
    let spent = Spent::default();
    request.extensions_mut().insert(spent.clone());
    let mut response = next.run(request).await;
    let budget = *spent.0.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(budget) = budget {
        let headers = response.headers_mut();
        headers.insert(LIMIT.clone(), HeaderValue::from(budget.limit));
        headers.insert(REMAINING.clone(), HeaderValue::from(budget.remaining));
        headers.insert(RESET.clone(), HeaderValue::from(budget.reset));
        if let Some(after) = budget.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(after));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refuses_past_its_burst_and_says_when_to_retry() {
        let rated = Rated::<u32>::new(3, SECOND).unwrap();
        let spent: Vec<_> = (0..4).map(|_| rated.spend(&7)).collect();
        assert_eq!(
            spent.iter().map(|b| b.remaining).collect::<Vec<_>>(),
            vec![2, 1, 0, 0]
        );
        assert!(spent[..3].iter().all(|b| b.retry_after.is_none()));
        assert_eq!(spent[3].retry_after, Some(1));
        assert_eq!(rated.spend(&8).remaining, 2, "another key is unaffected");
        assert!(Rated::<u32>::new(0, SECOND).is_none(), "0 is no limit");
    }

    #[test]
    fn failed_logins_back_off_after_the_free_ones_and_a_success_forgets() {
        let limits = Limits::new(&Config::default());
        for _ in 0..FREE_FAILURES - 1 {
            limits.login_ended("Alice", false);
        }
        assert!(limits.backing_off("alice").is_none());
        limits.login_ended("alice", false);
        assert!(limits.backing_off("alice").is_some());
        assert!(limits.backing_off("bob").is_none());
        limits.login_ended("ALICE", true);
        assert!(limits.backing_off("alice").is_none());
    }
}
