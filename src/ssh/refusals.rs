//! Refused keys are logged, but an address trying keys in a loop must not flood the log:
//! one line per address per minute, with the count of what was not said in between.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; beyond it, entries older than the window are forgotten.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Default)]
pub struct RefusalLog {
    seen: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

impl RefusalLog {
    /// Whether to log a refusal from `addr` now, and how many were kept quiet before it.
    pub fn should_log(&self, addr: IpAddr, now: Instant) -> Option<u64> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, (at, _)| now.duration_since(*at) < WINDOW);
        }
        match seen.get_mut(&addr) {
            Some((at, quiet)) if now.duration_since(*at) < WINDOW => {
                *quiet += 1;
                None
            }
            Some((at, quiet)) => {
                let before = *quiet;
                *at = now;
                *quiet = 0;
                Some(before)
            }
            None => {
                if seen.len() < MAX_ADDRESSES {
                    seen.insert(addr, (now, 0));
                }
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_address_per_minute_with_the_count_kept_quiet() {
        let log = RefusalLog::default();
        let (a, b) = ("203.0.113.7".parse().unwrap(), "::1".parse().unwrap());
        let t0 = Instant::now();
        assert_eq!(log.should_log(a, t0), Some(0));
        assert_eq!(log.should_log(a, t0 + Duration::from_secs(1)), None);
        assert_eq!(log.should_log(a, t0 + Duration::from_secs(2)), None);
        assert_eq!(log.should_log(b, t0 + Duration::from_secs(2)), Some(0));
        assert_eq!(log.should_log(a, t0 + Duration::from_secs(61)), Some(2));
    }
}
