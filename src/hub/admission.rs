//! Admission: the caps on open connections (in total and per user), and the acks each user's
//! named client last sent, which are where it resumes when it reconnects without `since`.
//!
//! handshake → **admission** (a slot, or 429) → registration with the hub.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use crate::domain::UserId;

/// Connection caps and remembered acks, shared by every handshake.
pub struct Admission {
    max_total: usize,
    max_per_user: usize,
    total: AtomicUsize,
    per_user: Mutex<HashMap<UserId, usize>>,
    /// The last seq each (user, `?client=` name) acknowledged.
    acks: Mutex<HashMap<(UserId, String), i64>>,
}

/// A slot taken in the connection caps; released on drop.
pub struct Slot {
    admission: Arc<Admission>,
    user: Option<UserId>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.total.fetch_sub(1, Ordering::Relaxed);
        if let Some(u) = self.user {
            let mut per = self.admission.per_user.lock().expect("per-user lock");
            if let Some(n) = per.get_mut(&u) {
                *n -= 1;
                if *n == 0 {
                    per.remove(&u);
                }
            }
        }
    }
}

impl Admission {
    pub fn new(max_total: usize, max_per_user: usize) -> Self {
        Self {
            max_total,
            max_per_user,
            total: AtomicUsize::new(0),
            per_user: Default::default(),
            acks: Default::default(),
        }
    }

    /// Takes a slot in the connection caps, or says which cap is full.
    pub fn reserve(self: &Arc<Self>, user: Option<UserId>) -> Result<Slot, &'static str> {
        if self.total.fetch_add(1, Ordering::Relaxed) >= self.max_total {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return Err("the server has too many open connections");
        }
        if let Some(u) = user {
            let mut per = self.per_user.lock().expect("per-user lock");
            let n = per.entry(u).or_default();
            if *n >= self.max_per_user {
                drop(per);
                self.total.fetch_sub(1, Ordering::Relaxed);
                return Err("you have too many open connections");
            }
            *n += 1;
        }
        Ok(Slot { admission: self.clone(), user })
    }

    /// Open connections right now.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Remembers the newest seq `user`'s `client` acknowledged.
    pub fn remember_ack(&self, user: UserId, client: &str, seq: i64) {
        let mut acks = self.acks.lock().expect("acks lock");
        let last = acks.entry((user, client.to_owned())).or_insert(seq);
        *last = (*last).max(seq);
    }

    /// The newest seq `user`'s `client` acknowledged, if it ever acknowledged one.
    pub fn last_ack(&self, user: UserId, client: &str) -> Option<i64> {
        self.acks.lock().expect("acks lock").get(&(user, client.to_owned())).copied()
    }
}
