//! Per-user rate limits of the calls profile (messages, call initiations): a
//! governor keyed limiter each, answered with `RATE_LIMITED`.

use std::num::NonZeroU32;

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::core::{Error, Result};

pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
}

impl RateLimit {
    /// `n` events per minute per user, at most `n` at once.
    pub fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        RateLimit {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one event of `user`, or refuses it with the time to wait.
    pub fn check(&self, user: i64) -> Result<()> {
        self.limiter.check_key(&user).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            Error::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    /// Forgets users whose allowance is full again, so the map does not grow
    /// with every user ever seen.
    pub fn tidy(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_per_user() {
        let l = RateLimit::per_minute(2);
        assert!(l.check(1).is_ok());
        assert!(l.check(1).is_ok());
        assert!(matches!(
            l.check(1),
            Err(Error::RateLimited { retry_after_secs }) if retry_after_secs >= 1
        ));
        assert!(l.check(2).is_ok(), "another user has their own allowance");
    }
}
