//! Per-key budgets (governor's GCRA): `n` requests per minute per key (a user, an
//! address, an account), refilled evenly. A refusal is `RateLimited` with how long
//! to wait, which profiles render as `Retry-After` or their own error event.
//!
//! In cluster mode a limiter made [`Limiter::shared`] keeps its budgets in Redis
//! (`core::cluster`, GCRA in one round trip), so a user or address has one budget
//! across every node; this node's own budget applies while Redis is away.

use std::{hash::Hash, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};

use super::cluster::Cluster;

/// A keyed limiter (by user id, address...), cheap to clone.
pub struct Limiter<K: Hash + Eq + Clone> {
    inner: Arc<DefaultKeyedRateLimiter<K>>,
    /// Cluster mode: the budget lives in Redis, shared by every node.
    shared: Option<Shared>,
}

/// Where a cluster-wide budget lives and what it allows.
#[derive(Clone)]
struct Shared {
    cluster: Arc<Cluster>,
    /// Names the budget in Redis keys (`chatwire:rl:{name}:{key}`).
    name: &'static str,
    /// One request per period...
    period_ms: u64,
    /// ...and this many at once.
    burst: u32,
}

impl<K: Hash + Eq + Clone> Clone for Limiter<K> {
    fn clone(&self) -> Self {
        Limiter {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> Limiter<K> {
    /// `n` requests per minute per key, all of them usable at once.
    pub fn per_minute(n: u32) -> Self {
        Self::per_window(n, Duration::from_secs(60))
    }

    /// `n` requests per `window` per key, refilled evenly, all usable at once.
    pub fn per_window(n: u32, window: Duration) -> Self {
        let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let window = window.max(Duration::from_millis(1));
        let quota = Quota::with_period(window / n.get())
            .unwrap_or_else(|| Quota::per_second(n))
            .allow_burst(n);
        Limiter {
            inner: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
            shared: None,
        }
    }

    /// Cluster mode (`cluster` is Some): the budget is kept in Redis under `name`,
    /// one for every node together; while Redis does not answer, this node's own
    /// budget applies. `n` per `window` as the limiter was made with.
    pub fn shared(
        mut self,
        name: &'static str,
        cluster: Option<Arc<Cluster>>,
        n: u32,
        window: Duration,
    ) -> Self {
        self.shared = cluster.map(|cluster| Shared {
            cluster,
            name,
            period_ms: (window.as_millis() as u64 / u64::from(n.max(1))).max(1),
            burst: n.max(1),
        });
        self
    }

    /// As [`Limiter::check`], across the cluster in cluster mode (one Redis round
    /// trip); every caller in an async context uses this.
    pub async fn take(&self, key: &K) -> super::Result<()>
    where
        K: std::fmt::Display,
    {
        let Some(s) = &self.shared else {
            return self.check(key);
        };
        let redis_key = format!("{}:{key}", s.name);
        match s.cluster.take(&redis_key, s.period_ms, s.burst).await {
            Ok(0) => Ok(()),
            Ok(wait_ms) => Err(super::Error::RateLimited {
                retry_after_secs: wait_ms.div_ceil(1000).max(1),
            }),
            Err(e) => {
                metrics::counter!("chatwire_redis_errors_total", "op" => "rate_limit").increment(1);
                tracing::debug!(error = %e, budget = s.name, "Redis unavailable: this node's budget applies");
                self.check(key)
            }
        }
    }

    /// Takes one request from `key`'s budget, or says how long until one is free
    /// (whole seconds, at least 1, as `Retry-After` wants).
    pub fn check(&self, key: &K) -> super::Result<()> {
        self.inner.check_key(key).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(self.inner.clock().now());
            super::Error::RateLimited {
                retry_after_secs: (wait.as_secs_f64().ceil() as u64).max(1),
            }
        })
    }

    /// Forgets keys whose budget is full again, so memory follows active keys only.
    /// Call it now and then (a background task).
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// Keys with state held (for metrics and tests).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

/// Login throttling, shared by every profile's login: per account (email) inside
/// `accounts::check_login`, per client address where the profile knows it.
pub struct LoginGuard {
    pub per_account: Limiter<String>,
    pub per_ip: Limiter<std::net::IpAddr>,
}

impl LoginGuard {
    pub fn new(per_account_per_minute: u32, per_ip_per_minute: u32) -> Self {
        Self::shared(per_account_per_minute, per_ip_per_minute, None)
    }

    /// As [`LoginGuard::new`]; with `cluster`, one budget across every node.
    pub fn shared(
        per_account_per_minute: u32,
        per_ip_per_minute: u32,
        cluster: Option<Arc<Cluster>>,
    ) -> Self {
        let minute = Duration::from_secs(60);
        LoginGuard {
            per_account: Limiter::per_minute(per_account_per_minute).shared(
                "login_account",
                cluster.clone(),
                per_account_per_minute,
                minute,
            ),
            per_ip: Limiter::per_minute(per_ip_per_minute).shared(
                "login_ip",
                cluster,
                per_ip_per_minute,
                minute,
            ),
        }
    }

    pub fn forget_idle(&self) {
        self.per_account.forget_idle();
        self.per_ip.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_per_key_and_say_when_to_retry() {
        let l = Limiter::per_minute(2);
        assert!(l.check(&1).is_ok());
        assert!(l.check(&1).is_ok());
        assert!(matches!(
            l.check(&1),
            Err(crate::core::Error::RateLimited { retry_after_secs }) if retry_after_secs >= 1
        ));
        assert!(l.check(&2).is_ok(), "another key has its own budget");
    }

    #[test]
    fn idle_keys_are_forgotten_and_busy_ones_kept() {
        // 60,000 a minute: a key is whole again 1 ms after its request.
        let quick = Limiter::per_minute(60_000);
        for key in 0..10_000 {
            assert!(quick.check(&key).is_ok());
        }
        assert_eq!(quick.len(), 10_000);
        std::thread::sleep(Duration::from_millis(50));
        quick.forget_idle();
        assert!(quick.is_empty(), "{} keys left", quick.len());

        // 1 a minute: a key that used its budget is remembered (or it could retry at once).
        let slow = Limiter::per_minute(1);
        assert!(slow.check(&7).is_ok());
        slow.forget_idle();
        assert_eq!(slow.len(), 1);
        assert!(slow.check(&7).is_err(), "the budget survives a sweep");
    }
}
