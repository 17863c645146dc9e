//! The connection registry: every open connection with its queue and subscriptions, and the indexes
//! that find, for one event, the connections that want it without looking at the others.
//!
//! dispatch → **registry** (who subscribed to what) → per-connection queue.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use tokio::sync::mpsc;

use super::{
    ConnInfo,
    queue::{Frame, Out, Overflow},
    subscriptions::{Pattern, Subscriptions, ViewSub},
};
use crate::{
    channels::{Access, Channel, ChannelMsg},
    domain::*,
    events::Collection,
    events::Event,
    metrics::Metrics,
    views::View,
};

/// One open connection, as the hub holds it.
pub struct Conn {
    pub info: ConnInfo,
    tx: mpsc::Sender<Out>,
    notify: Arc<Overflow>,
    /// The queue overflowed: nothing more is queued until the connection asks to recover.
    overflowed: bool,
    pub subs: Subscriptions,
    pub last_ack: i64,
}

impl Conn {
    pub fn new(
        info: ConnInfo,
        tx: mpsc::Sender<Out>,
        notify: Arc<Overflow>,
        board: Option<(BoardId, View)>,
        at: i64,
    ) -> Self {
        Self { info, tx, notify, overflowed: false, subs: Subscriptions { board, ..Default::default() }, last_ack: at }
    }
    pub fn user_id(&self) -> Option<UserId> {
        self.info.user.as_ref().map(|u| u.id)
    }
    pub fn is_admin(&self) -> bool {
        self.info.user.as_ref().is_some_and(|u| u.is_admin)
    }
    pub fn is_board_page(&self) -> bool {
        self.subs.board.is_some()
    }
}

/// The live connections of one board, by what they watch.
#[derive(Default)]
pub struct Room {
    /// Board pages, by view: one render per distinct view serves them all.
    pub pages: HashMap<View, HashSet<u64>>,
    /// JSON view subscriptions, by view.
    pub json_views: HashMap<View, Vec<(u64, Arc<str>)>>,
    /// JSON connections following this board's presence.
    pub presence: HashSet<u64>,
}

impl Room {
    fn is_empty(&self) -> bool {
        self.pages.is_empty() && self.json_views.is_empty() && self.presence.is_empty()
    }
}

/// Every connection, and indexes over their subscriptions. Owned by the hub task.
#[derive(Default)]
pub struct Registry {
    /// Boxed: the map's buckets stay small, and a grown map wastes less per idle connection.
    conns: HashMap<u64, Box<Conn>>,
    by_id: HashMap<Arc<str>, u64>,
    by_collection: HashMap<Collection, HashSet<u64>>,
    by_record: HashMap<(Collection, i64), HashSet<u64>>,
    /// Channel patterns by (channel, id); `None` is `channel.*`, except on a one-user channel,
    /// where `*` ("mine") is filed under the subscriber's own id so a message finds only its user.
    by_channel: HashMap<(Channel, Option<i64>), HashSet<u64>>,
    /// Board pages by user (for what goes to one user's pages: the inbox badge).
    pages_by_user: HashMap<UserId, HashSet<u64>>,
    all: HashSet<u64>,
    rooms: HashMap<BoardId, Room>,
}

impl Registry {
    pub fn get(&self, key: u64) -> Option<&Conn> {
        self.conns.get(&key).map(|c| &**c)
    }
    pub fn get_mut(&mut self, key: u64) -> Option<&mut Conn> {
        self.conns.get_mut(&key).map(|c| &mut **c)
    }
    pub fn by_id(&self, id: &str) -> Option<u64> {
        self.by_id.get(id).copied()
    }
    pub fn conns(&self) -> impl Iterator<Item = (u64, &Conn)> {
        self.conns.iter().map(|(k, c)| (*k, &**c))
    }
    pub fn room(&self, board: BoardId) -> Option<&Room> {
        self.rooms.get(&board)
    }
    /// The board pages open on `board`, whatever their view.
    pub fn pages(&self, board: BoardId) -> Vec<u64> {
        self.rooms.get(&board).map(|r| r.pages.values().flatten().copied().collect()).unwrap_or_default()
    }

    pub fn insert(&mut self, key: u64, conn: Conn) {
        self.by_id.insert(conn.info.id.clone(), key);
        if let Some(u) = conn.user_id().filter(|_| conn.is_board_page()) {
            self.pages_by_user.entry(u).or_default().insert(key);
        }
        if let Some((b, view)) = &conn.subs.board {
            self.rooms.entry(*b).or_default().pages.entry(view.clone()).or_default().insert(key);
        }
        self.conns.insert(key, Box::new(conn));
    }

    /// Removes a connection from the registry and every index.
    pub fn remove(&mut self, key: u64) -> Option<Box<Conn>> {
        let c = self.conns.remove(&key)?;
        self.by_id.remove(&c.info.id);
        if let Some(u) = c.user_id() {
            drop_key(&mut self.pages_by_user, u, key);
        }
        for p in c.subs.patterns.keys() {
            self.unindex(key, c.user_id(), p);
        }
        for (id, v) in &c.subs.views {
            self.unindex_view(key, id, v);
        }
        for b in &c.subs.presence {
            self.with_room(*b, |r| {
                r.presence.remove(&key);
            });
        }
        if let Some((b, view)) = &c.subs.board {
            self.with_room(*b, |r| {
                if let Some(set) = r.pages.get_mut(view) {
                    set.remove(&key);
                    if set.is_empty() {
                        r.pages.remove(view);
                    }
                }
            });
        }
        Some(c)
    }

    /// Adds patterns not held yet, live after `at`; returns how many were new.
    pub fn add_patterns(&mut self, key: u64, patterns: Vec<Pattern>, at: i64) -> usize {
        let Some(c) = self.conns.get_mut(&key) else { return 0 };
        let user = c.user_id();
        let mut added = Vec::new();
        for p in patterns {
            if !c.subs.patterns.contains_key(&p) {
                c.subs.patterns.insert(p.clone(), at);
                added.push(p);
            }
        }
        for p in &added {
            match p {
                Pattern::All => {
                    self.all.insert(key);
                }
                Pattern::Collection(col) => {
                    self.by_collection.entry(*col).or_default().insert(key);
                }
                Pattern::Record(col, id) => {
                    self.by_record.entry((*col, *id)).or_default().insert(key);
                }
                Pattern::Channel(ch, id) => {
                    self.by_channel.entry(channel_key(*ch, *id, user)).or_default().insert(key);
                }
            }
        }
        added.len()
    }

    /// Removes one pattern, or every pattern; returns how many were removed.
    pub fn remove_patterns(&mut self, key: u64, pattern: Option<&Pattern>) -> usize {
        let Some(c) = self.conns.get_mut(&key) else { return 0 };
        let user = c.user_id();
        let removed: Vec<Pattern> = match pattern {
            None => c.subs.patterns.drain().map(|(p, _)| p).collect(),
            Some(p) => c.subs.patterns.remove_entry(p).map(|(p, _)| p).into_iter().collect(),
        };
        for p in &removed {
            self.unindex(key, user, p);
        }
        removed.len()
    }

    pub fn add_view(&mut self, key: u64, id: Arc<str>, sub: ViewSub) {
        let Some(c) = self.conns.get_mut(&key) else { return };
        self.rooms
            .entry(sub.board)
            .or_default()
            .json_views
            .entry(sub.view.clone())
            .or_default()
            .push((key, id.clone()));
        c.subs.views.insert(id, sub);
    }

    pub fn remove_view(&mut self, key: u64, id: &Arc<str>) -> Option<ViewSub> {
        let sub = self.conns.get_mut(&key)?.subs.views.remove(id)?;
        self.unindex_view(key, id, &sub);
        Some(sub)
    }

    /// Follows `board`'s presence; false if the connection already did.
    pub fn add_presence(&mut self, key: u64, board: BoardId) -> bool {
        let Some(c) = self.conns.get_mut(&key) else { return false };
        let fresh = c.subs.presence.insert(board);
        self.rooms.entry(board).or_default().presence.insert(key);
        fresh
    }

    /// Stops following `board`'s presence; false if the connection did not.
    pub fn remove_presence(&mut self, key: u64, board: BoardId) -> bool {
        let Some(c) = self.conns.get_mut(&key) else { return false };
        let had = c.subs.presence.remove(&board);
        self.with_room(board, |r| {
            r.presence.remove(&key);
        });
        had
    }

    /// JSON connections whose patterns select `e`, each once, with whether it was through `*`.
    pub fn pattern_targets(&self, e: &Event) -> Vec<(u64, bool)> {
        let mut targets: Vec<(u64, bool)> = Vec::new();
        if let Some(s) = self.by_collection.get(&e.collection) {
            targets.extend(s.iter().map(|k| (*k, false)));
        }
        if let Some(s) = self.by_record.get(&(e.collection, e.record_id)) {
            targets.extend(s.iter().map(|k| (*k, false)));
        }
        targets.extend(self.all.iter().map(|k| (*k, true)));
        // Each connection once; when it matched both a pattern and "*", keep the "*" entry (an admin
        // on `*` sees boards they are not a member of, whatever else they subscribed to).
        targets.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        targets.dedup_by_key(|(k, _)| *k);
        targets
    }

    /// JSON connections whose channel patterns select `msg` (before the access check), each once.
    pub fn channel_targets(&self, msg: &ChannelMsg) -> Vec<u64> {
        let mut k: Vec<u64> = self.by_channel.get(&(msg.channel, None)).into_iter().flatten().copied().collect();
        if msg.id.is_some() {
            k.extend(self.by_channel.get(&(msg.channel, msg.id)).into_iter().flatten().copied());
        }
        k.sort_unstable();
        k.dedup();
        k
    }

    /// The board pages `user` has open, whatever their board.
    pub fn pages_of(&self, user: UserId) -> impl Iterator<Item = u64> + '_ {
        self.pages_by_user.get(&user).into_iter().flatten().copied()
    }

    /// Queues `out` for a connection. A full queue marks it overflowed (see [`Registry::overflow`]).
    pub fn send(&mut self, key: u64, out: Out, metrics: &Metrics, dispatched: i64) -> bool {
        let Some(c) = self.conns.get_mut(&key) else { return false };
        if c.overflowed {
            metrics.dropped.inc();
            return false;
        }
        match c.tx.try_send(out) {
            Ok(()) => {
                metrics.messages_sent.inc();
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics.dropped.inc();
                self.overflow(key, metrics, dispatched);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn frame(&mut self, key: u64, frame: &Arc<Frame>, metrics: &Metrics, dispatched: i64) {
        self.send(key, Out::Frame(frame.clone()), metrics, dispatched);
    }

    /// A connection missed events. With room in its queue it is told to resync right away (the hub
    /// itself lagged); with a full queue it is marked, and its task drains the queue and asks to recover.
    pub fn overflow(&mut self, key: u64, metrics: &Metrics, dispatched: i64) {
        let Some(c) = self.conns.get_mut(&key) else { return };
        if c.overflowed {
            return;
        }
        if c.tx.try_send(Out::resync(dispatched, "queue_overflow")).is_ok() {
            metrics.resyncs.inc();
        } else {
            c.overflowed = true;
            c.notify.raise();
        }
    }

    /// The connection drained its queue: it may be sent to again.
    pub fn recovered(&mut self, key: u64) -> bool {
        self.conns.get_mut(&key).map(|c| c.overflowed = false).is_some()
    }

    /// Queues a close even past a full queue (a close must not be lost to backpressure).
    pub fn force_close(&mut self, key: u64, code: u16, reason: &'static str) {
        if let Some(c) = self.conns.get_mut(&key) {
            c.overflowed = true; // nothing more is queued after the close
            let tx = c.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(Out::close(code, reason)).await;
            });
        }
    }

    fn with_room(&mut self, board: BoardId, f: impl FnOnce(&mut Room)) {
        if let Some(r) = self.rooms.get_mut(&board) {
            f(r);
            if r.is_empty() {
                self.rooms.remove(&board);
            }
        }
    }

    fn unindex(&mut self, key: u64, user: Option<UserId>, p: &Pattern) {
        match p {
            Pattern::All => {
                self.all.remove(&key);
            }
            Pattern::Collection(col) => drop_key(&mut self.by_collection, *col, key),
            Pattern::Record(col, id) => drop_key(&mut self.by_record, (*col, *id), key),
            Pattern::Channel(ch, id) => drop_key(&mut self.by_channel, channel_key(*ch, *id, user), key),
        }
    }

    fn unindex_view(&mut self, key: u64, id: &Arc<str>, sub: &ViewSub) {
        self.with_room(sub.board, |r| {
            if let Some(list) = r.json_views.get_mut(&sub.view) {
                list.retain(|(k, s)| !(*k == key && s == id));
                if list.is_empty() {
                    r.json_views.remove(&sub.view);
                }
            }
        });
    }
}

fn drop_key<K: std::hash::Hash + Eq>(m: &mut HashMap<K, HashSet<u64>>, k: K, key: u64) {
    if let Some(s) = m.get_mut(&k) {
        s.remove(&key);
        if s.is_empty() {
            m.remove(&k);
        }
    }
}

/// Where a channel pattern is filed: `notifications.*` under the subscriber's own id.
fn channel_key(ch: Channel, id: Option<i64>, user: Option<UserId>) -> (Channel, Option<i64>) {
    match (ch.access(), id) {
        (Access::OneUser, None) => (ch, user.map(|u| u.0)),
        _ => (ch, id),
    }
}
