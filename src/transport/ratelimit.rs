//! Per-key request budgets (governor's GCRA): `n` requests per window, refilled
//! evenly. A refusal says how long to wait, which becomes `Retry-After`.

use std::{hash::Hash, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};

/// A keyed limiter (by user id, address...), cheap to clone.
pub struct Limiter<K: Hash + Eq + Clone> {
    inner: Arc<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Clone for Limiter<K> {
    fn clone(&self) -> Self {
        Limiter {
            inner: self.inner.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> Limiter<K> {
    /// `n` requests per minute per key, all of them usable at once.
    pub fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        Limiter {
            inner: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Takes one request from `key`'s budget, or says how long until one is free
    /// (whole seconds, at least 1, as `Retry-After` wants).
    pub fn check(&self, key: &K) -> Result<(), u64> {
        self.inner.check_key(key).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(self.inner.clock().now());
            (wait.as_secs_f64().ceil() as u64).max(1)
        })
    }

    /// Forgets keys whose budget is full again, so memory follows active keys only.
    /// Call it now and then (a background task).
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}
