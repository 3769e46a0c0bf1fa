//! Who a testcore WebSocket connection acts as. A token names the user at the
//! upgrade (the hub keeps it as the connection's user); a tokenless connection
//! (strict mode off) is bound to the user its first frame names, and only this
//! registry knows that. The handshake, the frame handlers and the renderer all
//! need it, so it imports none of them.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, Ordering},
};

use dashmap::DashMap;

use crate::transport::ws::Conn;

/// One connection's state beyond the hub's.
pub struct Session {
    /// The one room a chat token admits (`None`: any room the user is in).
    pub scope: Option<i64>,
    /// Set once the connection is being closed: later frames are ignored.
    closed: AtomicBool,
    /// The hub's id of the connection, known from its first frame on, to forget
    /// its binding when it ends. A std mutex: held for an assignment only.
    conn: Mutex<Option<u64>>,
}

impl Session {
    pub fn new(scope: Option<i64>) -> Session {
        Session {
            scope,
            closed: AtomicBool::new(false),
            conn: Mutex::new(None),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the connection as closing: frames already read are not handled.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Remembers the hub's id of the connection.
    pub fn seen(&self, conn: &Conn) {
        if let Ok(mut c) = self.conn.lock() {
            *c = Some(conn.id);
        }
    }

    /// The hub's id of the connection, once a frame came.
    pub fn conn_id(&self) -> Option<u64> {
        self.conn.lock().ok().and_then(|c| *c)
    }
}

/// The users that tokenless connections were bound to by their first frame
/// (connection id to user).
#[derive(Default)]
pub struct Bindings(DashMap<u64, i64>);

impl Bindings {
    /// The user a connection acts as: its token's, else the one its first frame
    /// bound it to; `None` before that.
    pub fn user_of(&self, conn: &Conn) -> Option<i64> {
        if conn.user_id != 0 {
            return Some(conn.user_id);
        }
        self.0.get(&conn.id).map(|u| *u)
    }

    pub fn bind(&self, conn: &Conn, user: i64) {
        self.0.insert(conn.id, user);
    }

    /// Forgets a connection that ended.
    pub fn forget(&self, conn_id: u64) {
        self.0.remove(&conn_id);
    }
}
