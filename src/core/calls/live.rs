//! The live call state of this process: who is in which call, the ringing and
//! accepted calls with their ring timers, and how many ringing-capable
//! connections each user has. Cluster mode keeps the same in Redis (`shared.rs`);
//! the endpoint counts here are then this node's share, written to Redis again
//! after a reconnect.

use dashmap::{DashMap, mapref::entry::Entry};
use tokio::task::AbortHandle;

use super::CallInfo;
use crate::core::{Error, Result};

/// A live (ringing or accepted) call and its ring timer.
pub(super) struct Live {
    pub(super) info: CallInfo,
    pub(super) timer: Option<AbortHandle>,
}

/// The live call state of this process. DashMap shard locks are only held inside
/// synchronous sections, never across an await.
#[derive(Default)]
pub struct Calls {
    /// call id -> live call.
    pub(super) live: DashMap<i64, Live>,
    /// user -> the call they are in (0 while a call is being set up).
    pub(super) busy: DashMap<i64, i64>,
    /// user -> connections able to ring (calls-profile sockets that joined).
    endpoints: DashMap<i64, usize>,
}

impl Calls {
    /// Whether the user has a connection that can ring.
    pub fn is_reachable(&self, user: i64) -> bool {
        self.endpoints.get(&user).is_some_and(|c| *c > 0)
    }

    /// The call the user is in, if any.
    pub fn current(&self, user: i64) -> Option<i64> {
        self.busy.get(&user).map(|c| *c)
    }

    /// This node's connections able to ring, per user.
    pub(super) fn endpoint_snapshot(&self) -> Vec<(i64, usize)> {
        self.endpoints
            .iter()
            .map(|e| (*e.key(), *e.value()))
            .collect()
    }

    /// Counts a connection able to ring.
    pub fn endpoint_up(&self, user: i64) {
        *self.endpoints.entry(user).or_insert(0) += 1;
    }

    /// Counts a closed ringing-capable connection; true when it was the user's last.
    pub(super) fn endpoint_down(&self, user: i64) -> bool {
        let last = match self.endpoints.get_mut(&user) {
            Some(mut c) => {
                *c = c.saturating_sub(1);
                *c == 0
            }
            None => false,
        };
        if last {
            self.endpoints.remove_if(&user, |_, c| *c == 0);
        }
        last
    }

    /// Marks both users busy, or neither when one of them already is.
    pub(super) fn reserve(&self, a: i64, b: i64) -> bool {
        match self.busy.entry(a) {
            Entry::Occupied(_) => return false,
            Entry::Vacant(v) => {
                v.insert(0);
            }
        }
        match self.busy.entry(b) {
            Entry::Occupied(_) => {}
            Entry::Vacant(v) => {
                v.insert(0);
                return true;
            }
        }
        self.busy.remove_if(&a, |_, c| *c == 0);
        false
    }

    pub(super) fn release(&self, users: [i64; 2], call: i64) {
        for u in users {
            self.busy.remove_if(&u, |_, c| *c == call);
        }
    }
}

/// Splits a handle into the call id; the caller compares the whole room name.
pub(super) fn parse_handle(handle: &str) -> Result<i64> {
    handle
        .split_once('_')
        .and_then(|(id, _)| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or(Error::NotFound("call"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_all_or_nothing() {
        let c = Calls::default();
        assert!(c.reserve(1, 2));
        assert!(!c.reserve(3, 2), "callee busy");
        assert_eq!(c.current(3), None, "a failed reservation leaves no trace");
        assert!(!c.reserve(1, 4), "caller busy");
        c.release([1, 2], 0);
        assert!(c.reserve(2, 1));
    }

    #[test]
    fn endpoints_count_connections() {
        let c = Calls::default();
        c.endpoint_up(1);
        c.endpoint_up(1);
        assert!(!c.endpoint_down(1));
        assert!(c.is_reachable(1));
        assert!(c.endpoint_down(1));
        assert!(!c.is_reachable(1));
        assert!(!c.endpoint_down(1));
    }

    #[test]
    fn handles_name_the_call_id() {
        assert_eq!(parse_handle("7_ab12").unwrap(), 7);
        assert!(parse_handle("7").is_err());
        assert!(parse_handle("x_1").is_err());
        assert!(parse_handle("-3_a").is_err());
    }
}
