//! The per-token rate limit: a token bucket per token name that holds a minute's worth of
//! requests and refills evenly. Keyed by the token, which is only known once the request is
//! authenticated — hence here, in the authentication step, and not as a layer in front.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests per minute per token; 0: no limit.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    /// Requests the token may still make at once.
    available: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Take one request for `token` at `now`; over the limit, how long until the next one
    /// would be allowed.
    pub fn take(&self, token: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still usable.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(token.to_string()).or_insert(Bucket {
            available: capacity,
            at: now,
        });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.available = (bucket.available + refilled).min(capacity);
        bucket.at = now;
        if bucket.available >= 1.0 {
            bucket.available -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.available) / per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_a_minutes_worth_then_waits_for_the_refill() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take("board", t0), Ok(()));
        }
        let wait = limiter.take("board", t0).unwrap_err();
        assert_eq!(wait.as_secs_f64().round(), 20.0);
        // Another token has its own bucket.
        assert_eq!(limiter.take("prom", t0), Ok(()));
        // 21 s later one request has come back, not two.
        let t1 = t0 + Duration::from_secs(21);
        assert_eq!(limiter.take("board", t1), Ok(()));
        assert!(limiter.take("board", t1).is_err());
    }

    #[test]
    fn zero_means_no_limit() {
        let limiter = RateLimiter::new(0);
        let now = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(limiter.take("board", now), Ok(()));
        }
    }
}
