//! Storage: point reads on the calling thread. A read made on every request (the signed-in user by
//! id) runs here, synchronously, on a connection of our own: a lookup by primary key takes a few
//! microseconds, less than a hand-off to sqlx's worker thread and back.
//!
//! request → extractor → **point read** → SQLite. Everything else reads through sqlx's pool.

use std::{path::PathBuf, sync::Mutex, time::Duration};

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;

/// Idle connections kept for the next read; more are opened when several read at once.
const KEEP_IDLE: usize = 8;

/// Read-only connections, each used by one caller at a time.
pub struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl PointReads {
    pub fn new(path: PathBuf) -> Self {
        Self { path, idle: Mutex::new(Vec::new()) }
    }

    /// Closes the idle connections (a restore needs every connection gone).
    pub fn close(&self) {
        self.idle.lock().expect("point reads lock").clear();
    }

    /// Runs `read` on an idle connection (opened when none is), then keeps it for the next one.
    pub fn read<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().expect("point reads lock").pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(Duration::from_secs(5))?;
                c
            }
        };
        let out = read(&conn);
        let mut idle = self.idle.lock().expect("point reads lock");
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
        out
    }
}
