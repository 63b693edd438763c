//! What one client may cost the gateway: the size of its frames, ids and
//! topics, how many topics it holds, and how fast it may send (README.md,
//! "Limits"). Sockets per agent are counted by the routing table.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The largest frame, and message, a client may send — before and after
/// authentication: a longer one is refused as soon as its header is read.
pub(crate) const MAX_FRAME_BYTES: usize = 64 * 1024;
/// The longest `id` (as JSON) the server echoes in an ack or error frame.
pub(crate) const MAX_ID_BYTES: usize = 128;
/// The longest topic (`agent_id:<uuid>:chat:<uuid>` is 87 bytes).
pub(crate) const MAX_TOPIC_BYTES: usize = 128;
/// The most topics one connection may hold.
pub(crate) const MAX_TOPICS: usize = 256;
/// The burst of frames a client may send at once (a client subscribing to
/// its talks one frame each), when `ws_frames_per_sec` is lower.
const FRAME_BURST: NonZeroU32 = NonZeroU32::new(100).unwrap();
/// Frames refused for the rate a connection is forgiven before it is closed:
/// a burst of this many, regained at one a second.
const REFUSAL_BURST: NonZeroU32 = NonZeroU32::new(10).unwrap();

/// Typing frames a connection may send a second (a client refreshes every
/// few seconds, and changes state now and then), and their burst. Typing
/// frames have a bucket of their own: beyond it they are dropped, the
/// socket stays up, and they never count towards `ws_frames_per_sec`.
pub(crate) const TYPING_PER_SEC: NonZeroU32 = NonZeroU32::new(2).unwrap();
const TYPING_BURST: NonZeroU32 = NonZeroU32::new(5).unwrap();

/// What the typing throttle says of one more typing frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypingVerdict {
    /// Within the rate: publish it.
    Allowed,
    /// Over the rate: drop it, and tell the client (an error frame, at most
    /// one a second).
    DroppedTold,
    /// Over the rate: drop it silently (the client was told a moment ago).
    Dropped,
}

/// One connection's typing buckets.
pub(crate) struct TypingThrottle {
    frames: DefaultDirectRateLimiter,
    errors: DefaultDirectRateLimiter,
}

impl TypingThrottle {
    /// [`TYPING_PER_SEC`] frames a second, one error frame a second.
    pub(crate) fn new() -> Self {
        Self {
            frames: RateLimiter::direct(
                Quota::per_second(TYPING_PER_SEC).allow_burst(TYPING_BURST),
            ),
            errors: RateLimiter::direct(Quota::per_second(NonZeroU32::MIN)),
        }
    }

    /// Takes one typing frame's token.
    pub(crate) fn check(&self) -> TypingVerdict {
        if self.frames.check().is_ok() {
            TypingVerdict::Allowed
        } else if self.errors.check().is_ok() {
            TypingVerdict::DroppedTold
        } else {
            TypingVerdict::Dropped
        }
    }
}

/// What the throttle says of one more frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the rate: handle it.
    Allowed,
    /// Over the rate: refuse it (error frame), keep the socket.
    Refused,
    /// Over the rate for too long: close the socket.
    Exceeded,
}

/// One connection's token buckets: frames it may send, and refusals it is
/// forgiven.
pub(crate) struct Throttle {
    frames: Option<DefaultDirectRateLimiter>,
    refusals: DefaultDirectRateLimiter,
}

impl Throttle {
    /// `per_sec` frames a second (0: no limit), with a burst of at least
    /// [`FRAME_BURST`].
    pub(crate) fn new(per_sec: u32) -> Self {
        let frames = NonZeroU32::new(per_sec).map(|rate| {
            let burst = rate.max(FRAME_BURST);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
        });
        let refusals = Quota::per_second(NonZeroU32::MIN).allow_burst(REFUSAL_BURST);
        Self {
            frames,
            refusals: RateLimiter::direct(refusals),
        }
    }

    /// Takes one frame's token.
    pub(crate) fn check(&self) -> Verdict {
        let Some(frames) = &self.frames else {
            return Verdict::Allowed;
        };
        if frames.check().is_ok() {
            Verdict::Allowed
        } else if self.refusals.check().is_ok() {
            Verdict::Refused
        } else {
            Verdict::Exceeded
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_frames_are_refused_then_the_socket_is_closed() {
        let throttle = Throttle::new(1);
        for _ in 0..FRAME_BURST.get() {
            assert_eq!(throttle.check(), Verdict::Allowed);
        }
        for _ in 0..REFUSAL_BURST.get() {
            assert_eq!(throttle.check(), Verdict::Refused);
        }
        assert_eq!(throttle.check(), Verdict::Exceeded);
    }

    #[test]
    fn typing_floods_are_dropped_and_told_once() {
        let throttle = TypingThrottle::new();
        for _ in 0..TYPING_BURST.get() {
            assert_eq!(throttle.check(), TypingVerdict::Allowed);
        }
        assert_eq!(throttle.check(), TypingVerdict::DroppedTold);
        for _ in 0..100 {
            assert_eq!(throttle.check(), TypingVerdict::Dropped);
        }
    }

    #[test]
    fn zero_is_no_limit() {
        let throttle = Throttle::new(0);
        for _ in 0..10_000 {
            assert_eq!(throttle.check(), Verdict::Allowed);
        }
    }
}
