//! Presence across nodes: each node keeps its own connections' presence in a [`MemoryPresence`]
//! (tabs, the grace period, editing leases and typing timeouts work exactly as in one process) and
//! publishes it, per board, to Redis as one entry per node with an expiry score it refreshes every
//! second; every node merges all live nodes' entries. A pub/sub message per change makes updates
//! fast; the refresh is the safety net, and a node killed with `kill -9` stops refreshing, so its
//! users leave everywhere within `PRESENCE_NODE_TTL_MS`. A user with tabs on two nodes is shown
//! once, and leaves when both nodes have let them go.
//!
//! hub (sync, one task) → **shared presence** → publisher task → Redis ← reader task → merged view → hub.
//!
//! Redis keys: `liveboard:presence:<board>` (hash: node → its entry as JSON), `…:<board>:nodes`
//! (sorted set: node → expiry in ms), `liveboard:presence:boards` (sorted set: board → expiry), and
//! the channel `liveboard:presence` (a board id per change). Only plain hash, sorted-set, EXPIRE and
//! pub/sub commands: Redis 7.0 and Valkey both do.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::connect;
use crate::{
    domain::{BoardId, CardId},
    hub::presence::{Change, MemoryPresence, PresenceStore, Timing},
    protocol::{PresenceEvent, Signal},
};

const CHANNEL: &str = "liveboard:presence";
const BOARDS: &str = "liveboard:presence:boards";

fn entries_key(board: BoardId) -> String {
    format!("liveboard:presence:{}", board.0)
}

fn nodes_key(board: BoardId) -> String {
    format!("liveboard:presence:{}:nodes", board.0)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// One node's presence on one board: what it publishes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub users: BTreeSet<String>,
    pub editing: BTreeSet<(CardId, String)>,
    pub typing: BTreeSet<(CardId, String)>,
}

impl Entry {
    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.editing.is_empty() && self.typing.is_empty()
    }

    fn of(local: &MemoryPresence, board: BoardId) -> Self {
        let mut e = Entry { users: local.users(board).into_iter().collect(), ..Default::default() };
        for card in local.active_cards(board) {
            let (editing, typing) = local.activity(board, card);
            e.editing.extend(editing.into_iter().map(|u| (card, u)));
            e.typing.extend(typing.into_iter().map(|u| (card, u)));
        }
        e
    }

    fn merge(&mut self, other: &Entry) {
        self.users.extend(other.users.iter().cloned());
        self.editing.extend(other.editing.iter().cloned());
        self.typing.extend(other.typing.iter().cloned());
    }
}

/// What changed between two merged views of a board, as the hub's presence changes.
fn diff(board: BoardId, before: &Entry, after: &Entry) -> Vec<Change> {
    let change = |event, user: &str, card| Change { board, event, user: user.to_owned(), card };
    let mut out = Vec::new();
    for (card, u) in before.editing.difference(&after.editing) {
        out.push(change(PresenceEvent::EditingStop, u, Some(*card)));
    }
    for (card, u) in before.typing.difference(&after.typing) {
        out.push(change(PresenceEvent::TypingStop, u, Some(*card)));
    }
    for u in before.users.difference(&after.users) {
        out.push(change(PresenceEvent::Leave, u, None));
    }
    for u in after.users.difference(&before.users) {
        out.push(change(PresenceEvent::Join, u, None));
    }
    for (card, u) in after.editing.difference(&before.editing) {
        out.push(change(PresenceEvent::Editing, u, Some(*card)));
    }
    for (card, u) in after.typing.difference(&before.typing) {
        out.push(change(PresenceEvent::Typing, u, Some(*card)));
    }
    out
}

/// Presence shared through Redis; the hub owns it as its [`PresenceStore`].
pub struct SharedPresence {
    local: MemoryPresence,
    /// Other nodes' live entries, per board, as the reader last saw them, each with its expiry (ms
    /// since the epoch): one that passes is dropped here even when Redis cannot be read.
    remote: HashMap<BoardId, BTreeMap<String, (Entry, i64)>>,
    /// What this node last published per board.
    published: HashMap<BoardId, Entry>,
    outbox: mpsc::UnboundedSender<(BoardId, Entry)>,
    inbox: mpsc::UnboundedReceiver<(BoardId, Nodes)>,
}

/// Every other node's live entry on a board, with its expiry.
type Nodes = BTreeMap<String, (Entry, i64)>;

impl SharedPresence {
    /// Starts the publisher and reader tasks for node `node`.
    pub fn start(timing: Timing, node: String, client: redis::Client, ttl: Duration) -> Self {
        let (outbox, to_publish) = mpsc::unbounded_channel();
        let (to_merge, inbox) = mpsc::unbounded_channel();
        tokio::spawn(publish(client.clone(), node.clone(), ttl, to_publish));
        tokio::spawn(read(client, node, ttl, to_merge));
        Self { local: MemoryPresence::new(timing), remote: HashMap::new(), published: HashMap::new(), outbox, inbox }
    }

    fn merged(&self, board: BoardId) -> Entry {
        let mut e = Entry::of(&self.local, board);
        for (other, _) in self.remote.get(&board).into_iter().flat_map(|m| m.values()) {
            e.merge(other);
        }
        e
    }

    /// Runs `f` on the local store, then publishes the boards whose local entry changed and
    /// returns what changed in the merged view.
    fn around(&mut self, boards: Vec<BoardId>, f: impl FnOnce(&mut MemoryPresence)) -> Vec<Change> {
        // Other nodes' news first, so what this change is compared against is as fresh as can be.
        let mut out = self.drain();
        let before: Vec<(BoardId, Entry)> = boards.iter().map(|b| (*b, self.merged(*b))).collect();
        f(&mut self.local);
        for (board, was) in before {
            out.extend(diff(board, &was, &self.merged(board)));
            self.publish(board);
        }
        out
    }

    /// Takes in what the reader saw of other nodes, with the changes that makes.
    fn drain(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        while let Ok((board, nodes)) = self.inbox.try_recv() {
            let before = self.merged(board);
            if nodes.is_empty() {
                self.remote.remove(&board);
            } else {
                self.remote.insert(board, nodes);
            }
            out.extend(diff(board, &before, &self.merged(board)));
        }
        // A node that stopped refreshing leaves, whether or not Redis could be read since.
        let now = now_ms();
        let stale: Vec<BoardId> =
            self.remote.iter().filter(|(_, m)| m.values().any(|(_, until)| *until < now)).map(|(b, _)| *b).collect();
        for board in stale {
            let before = self.merged(board);
            if let Some(m) = self.remote.get_mut(&board) {
                m.retain(|_, (_, until)| *until >= now);
                if m.is_empty() {
                    self.remote.remove(&board);
                }
            }
            out.extend(diff(board, &before, &self.merged(board)));
        }
        out
    }

    fn publish(&mut self, board: BoardId) {
        let now = Entry::of(&self.local, board);
        if self.published.get(&board).unwrap_or(&Entry::default()) == &now {
            return;
        }
        if now.is_empty() {
            self.published.remove(&board);
        } else {
            self.published.insert(board, now.clone());
        }
        let _ = self.outbox.send((board, now));
    }
}

impl PresenceStore for SharedPresence {
    fn join(&mut self, board: BoardId, conn: u64, user: &str, now: Instant) -> Vec<Change> {
        self.around(vec![board], |l| drop(l.join(board, conn, user, now)))
    }

    fn leave(&mut self, board: BoardId, conn: u64, user: &str, now: Instant) {
        // The user stays in the local entry through the grace period: nothing to publish yet.
        self.local.leave(board, conn, user, now);
    }

    fn signal(&mut self, board: BoardId, conn: u64, user: &str, signal: Signal, now: Instant) -> Vec<Change> {
        self.around(vec![board], |l| drop(l.signal(board, conn, user, signal, now)))
    }

    fn disconnect(&mut self, conn: u64, user: &str) -> Vec<Change> {
        let boards = self.local.boards();
        self.around(boards, |l| drop(l.disconnect(conn, user)))
    }

    fn saved(&mut self, board: BoardId, card: CardId, user: &str) -> Vec<Change> {
        self.around(vec![board], |l| drop(l.saved(board, card, user)))
    }

    fn remove_user(&mut self, board: BoardId, user: &str) -> Vec<Change> {
        // Every node removes them from its own entry as the member event reaches it; dropping them
        // from the others' here too means they leave at once, not a refresh later.
        let before = self.merged(board);
        self.local.remove_user(board, user);
        for (e, _) in self.remote.get_mut(&board).into_iter().flat_map(|m| m.values_mut()) {
            e.users.remove(user);
            e.editing.retain(|(_, u)| u != user);
            e.typing.retain(|(_, u)| u != user);
        }
        self.publish(board);
        diff(board, &before, &self.merged(board))
    }

    fn expire(&mut self, now: Instant) -> Vec<Change> {
        let boards = self.local.boards();
        self.around(boards, |l| drop(l.expire(now)))
    }

    fn users(&self, board: BoardId) -> Vec<String> {
        self.merged(board).users.into_iter().collect()
    }

    fn activity(&self, board: BoardId, card: CardId) -> (Vec<String>, Vec<String>) {
        let m = self.merged(board);
        let who =
            |set: &BTreeSet<(CardId, String)>| set.iter().filter(|(c, _)| *c == card).map(|(_, u)| u.clone()).collect();
        (who(&m.editing), who(&m.typing))
    }

    fn active_cards(&self, board: BoardId) -> Vec<CardId> {
        let m = self.merged(board);
        let cards: BTreeSet<CardId> = m.editing.iter().chain(m.typing.iter()).map(|(c, _)| *c).collect();
        cards.into_iter().collect()
    }
}

/// How often a node refreshes its entries' expiry (and rereads everyone's).
fn refresh_every(ttl: Duration) -> Duration {
    (ttl / 3).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

/// The publisher: writes this node's entries, refreshes their expiry, and announces changes.
async fn publish(
    client: redis::Client,
    node: String,
    ttl: Duration,
    mut updates: mpsc::UnboundedReceiver<(BoardId, Entry)>,
) {
    let mut mine: HashMap<BoardId, Entry> = HashMap::new();
    let mut tick = tokio::time::interval(refresh_every(ttl));
    let mut conn = None;
    loop {
        let mut changed: Vec<BoardId> = Vec::new();
        tokio::select! {
            u = updates.recv() => match u {
                Some((board, entry)) => {
                    if entry.is_empty() { mine.remove(&board); } else { mine.insert(board, entry); }
                    changed.push(board);
                    while let Ok((board, entry)) = updates.try_recv() {
                        if entry.is_empty() { mine.remove(&board); } else { mine.insert(board, entry); }
                        changed.push(board);
                    }
                }
                None => return,
            },
            _ = tick.tick() => {}
        }
        if conn.is_none() {
            conn = connect(&client, Duration::from_secs(2)).await.ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        // Every board of ours is written again on each refresh: after Redis restarts empty, our
        // entries are back within one refresh.
        let expiry = now_ms() + ttl.as_millis() as i64;
        let mut pipe = redis::pipe();
        let key_ttl = (ttl.as_secs() as i64 * 4).max(10);
        for (board, entry) in &mine {
            let Ok(json) = serde_json::to_string(entry) else { continue };
            pipe.cmd("HSET").arg(entries_key(*board)).arg(&node).arg(json).ignore();
            pipe.cmd("ZADD").arg(nodes_key(*board)).arg(expiry).arg(&node).ignore();
            pipe.cmd("ZADD").arg(BOARDS).arg(expiry).arg(board.0).ignore();
            pipe.cmd("EXPIRE").arg(entries_key(*board)).arg(key_ttl).ignore();
            pipe.cmd("EXPIRE").arg(nodes_key(*board)).arg(key_ttl).ignore();
        }
        for board in changed.iter().filter(|b| !mine.contains_key(b)) {
            pipe.cmd("HDEL").arg(entries_key(*board)).arg(&node).ignore();
            pipe.cmd("ZREM").arg(nodes_key(*board)).arg(&node).ignore();
        }
        for board in changed.iter().collect::<BTreeSet<_>>() {
            pipe.cmd("PUBLISH").arg(CHANNEL).arg(board.0).ignore();
        }
        if mine.is_empty() && changed.is_empty() {
            continue;
        }
        if let Err(e) = pipe.query_async::<()>(c).await {
            tracing::warn!(error = %e, "presence: writing to redis failed");
            conn = None;
        }
    }
}

/// The reader: rereads a board's live entries when a node announces a change, and every board
/// with live entries on each refresh (so a node that stopped refreshing drops out).
async fn read(client: redis::Client, node: String, ttl: Duration, merged: mpsc::UnboundedSender<(BoardId, Nodes)>) {
    let mut backoff = Duration::from_millis(100);
    // What was last handed over, kept across reconnects: a board that emptied while Redis was away
    // (or came back empty) is still reread, and its leaves reach the hub.
    let mut last: HashMap<BoardId, Nodes> = HashMap::new();
    loop {
        let (Ok(pubsub), Ok(mut conn)) =
            (client.get_async_pubsub().await, connect(&client, Duration::from_secs(2)).await)
        else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
            continue;
        };
        let mut pubsub = pubsub;
        if pubsub.subscribe(CHANNEL).await.is_err() {
            continue;
        }
        backoff = Duration::from_millis(100);
        let mut messages = pubsub.into_on_message();
        let mut tick = tokio::time::interval(refresh_every(ttl));
        loop {
            let boards: Vec<BoardId> = tokio::select! {
                m = messages.next() => match m.and_then(|m| m.get_payload::<i64>().ok()) {
                    Some(b) => vec![BoardId(b)],
                    None => break,
                },
                _ = tick.tick() => {
                    let live: redis::RedisResult<Vec<i64>> =
                        redis::cmd("ZRANGEBYSCORE").arg(BOARDS).arg(now_ms()).arg("+inf").query_async(&mut conn).await;
                    let Ok(live) = live else { break };
                    let _: redis::RedisResult<()> =
                        redis::cmd("ZREMRANGEBYSCORE").arg(BOARDS).arg("-inf").arg(format!("({}", now_ms())).query_async(&mut conn).await;
                    // Boards we know of but that have no live entry any more are read too: they emptied.
                    let mut all: BTreeSet<BoardId> = live.into_iter().map(BoardId).collect();
                    all.extend(last.keys().copied());
                    all.into_iter().collect()
                }
            };
            for board in boards {
                let Ok(nodes) = entries(&mut conn, board, &node).await else { break };
                // Handed over when an entry changed, or when a node's expiry moved: the hub drops a
                // remote entry whose expiry passed, so it must hear of each refresh.
                if last.get(&board).unwrap_or(&BTreeMap::new()) != &nodes {
                    if nodes.is_empty() {
                        last.remove(&board);
                    } else {
                        last.insert(board, nodes.clone());
                    }
                    if merged.send((board, nodes)).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The live entries of every node but `me` on `board`, with their expiry.
async fn entries(conn: &mut redis::aio::MultiplexedConnection, board: BoardId, me: &str) -> redis::RedisResult<Nodes> {
    let now = now_ms();
    let live: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
        .arg(nodes_key(board))
        .arg(now)
        .arg("+inf")
        .arg("WITHSCORES")
        .query_async(conn)
        .await?;
    let live: Vec<(String, i64)> = live.into_iter().filter(|(n, _)| n != me).map(|(n, s)| (n, s as i64)).collect();
    if live.is_empty() {
        return Ok(BTreeMap::new());
    }
    let names: Vec<&str> = live.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<Option<String>> = redis::cmd("HMGET").arg(entries_key(board)).arg(&names).query_async(conn).await?;
    Ok(live
        .into_iter()
        .zip(values)
        .filter_map(|((n, until), v)| Some((n, (serde_json::from_str::<Entry>(&v?).ok()?, until))))
        .filter(|(_, (e, _))| !e.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: BoardId = BoardId(1);
    const CARD: CardId = CardId(7);

    fn entry(users: &[&str], editing: &[&str]) -> Entry {
        Entry {
            users: users.iter().map(|u| u.to_string()).collect(),
            editing: editing.iter().map(|u| (CARD, u.to_string())).collect(),
            typing: BTreeSet::new(),
        }
    }

    fn events(changes: &[Change]) -> Vec<(PresenceEvent, &str)> {
        changes.iter().map(|c| (c.event, c.user.as_str())).collect()
    }

    #[test]
    fn a_user_on_two_nodes_is_one_user_in_the_merged_view() {
        let mut merged = entry(&["alice"], &["alice"]);
        merged.merge(&entry(&["alice", "bob"], &["alice"]));
        assert_eq!(merged, entry(&["alice", "bob"], &["alice"]));
    }

    #[test]
    fn a_user_leaves_the_merged_view_only_when_no_node_has_them() {
        let a = entry(&["alice"], &[]);
        let mut both = a.clone();
        both.merge(&entry(&["alice"], &[]));
        assert!(diff(B, &both, &a).is_empty(), "still on one node");
        assert_eq!(events(&diff(B, &a, &Entry::default())), [(PresenceEvent::Leave, "alice")]);
    }

    #[test]
    fn the_diff_of_two_views_ends_activity_before_leaves_and_starts_it_after_joins() {
        let before = entry(&["alice"], &["alice"]);
        let after = entry(&["bob"], &["bob"]);
        assert_eq!(
            events(&diff(B, &before, &after)),
            [
                (PresenceEvent::EditingStop, "alice"),
                (PresenceEvent::Leave, "alice"),
                (PresenceEvent::Join, "bob"),
                (PresenceEvent::Editing, "bob")
            ]
        );
    }
}
