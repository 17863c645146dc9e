//! The hub: one task that reads the event bus in sequence order and routes each event to the
//! connections that may and want to see it.
//!
//! event bus → **hub** (authorization, pattern index, view filter) → renderer → per-connection queue → socket.
//!
//! Owning all routing state in one task means no locks on the hot path and one global order:
//! acks, replays and resyncs are all sequenced against the same `seq`. Work per event is one
//! serialization (JSON) and one render per distinct fragment (HTML), shared by `Arc` with every
//! connection; per connection it is a membership lookup and a `try_send`.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::views::{BoardCtx, View};
use crate::{
    config::Config,
    domain::*,
    events::{Action, Event, EventBus},
    metrics::Metrics,
    render,
};

/// A ready message, built once and shared by `Arc` with every connection it goes to.
#[derive(Debug)]
pub struct Frame {
    /// The event the frame carries (0 for presence and control messages).
    pub seq: i64,
    pub text: Utf8Bytes,
}

impl Frame {
    pub fn new(seq: i64, text: Utf8Bytes) -> Arc<Self> {
        Arc::new(Self { seq, text })
    }
}

/// What a connection's socket writer is given. Two words: every idle socket's queue holds room for
/// a block of these, so their size is memory per connection.
#[derive(Debug)]
pub enum Out {
    Frame(Arc<Frame>),
    /// Rare, so boxed.
    Control(Box<Control>),
}

/// Messages that change the connection rather than carry data.
#[derive(Debug)]
pub enum Control {
    /// The connection missed events (its queue overflowed, or its view changed shape): resync from `seq`.
    Resync { seq: i64, reason: &'static str },
    /// Close the socket with this code.
    Close { code: u16, reason: &'static str },
}

impl Out {
    fn resync(seq: i64, reason: &'static str) -> Self {
        Self::Control(Box::new(Control::Resync { seq, reason }))
    }
    fn close(code: u16, reason: &'static str) -> Self {
        Self::Control(Box::new(Control::Close { code, reason }))
    }
}

/// A subscription pattern of the JSON protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    All,
    Collection(String),
    Record(String, i64),
}

/// The collections clients can subscribe to.
pub const COLLECTIONS: &[&str] = &["boards", "columns", "cards", "members", "comments"];

impl Pattern {
    /// `*`, `cards.*` or `cards.42`.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s == "*" {
            return Ok(Self::All);
        }
        let (c, rest) = s.split_once('.').ok_or("a pattern is \"*\", \"collection.*\" or \"collection.id\"")?;
        if !COLLECTIONS.contains(&c) {
            return Err("unknown collection");
        }
        match rest {
            "*" => Ok(Self::Collection(c.to_owned())),
            id => id.parse::<i64>().map(|id| Self::Record(c.to_owned(), id)).map_err(|_| "a record id is a number"),
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Collection(c) => write!(f, "{c}.*"),
            Self::Record(c, id) => write!(f, "{c}.{id}"),
        }
    }
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub id: Arc<str>,
    pub user: Option<User>,
    pub session: Option<String>,
    pub token: Option<i64>,
    pub connected_at: OffsetDateTime,
}

/// A connection as listed by [`Hub::connections`].
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionListing {
    pub id: String,
    pub user: Option<String>,
    pub kind: &'static str,
    pub subscriptions: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub connected_at: OffsetDateTime,
    pub last_ack: i64,
    pub ack_lag: i64,
}

/// A member of a board, as the hub keeps them for authorization and the member list.
#[derive(Clone, Debug)]
pub struct MemberEntry {
    pub id: UserId,
    pub username: String,
    pub owner: bool,
}

/// What the hub knows of each board: members and the done column. Kept current by events.
#[derive(Default)]
pub struct Boards {
    map: HashMap<BoardId, (Vec<MemberEntry>, BoardCtx)>,
}

impl Boards {
    pub fn is_member(&self, board: BoardId, user: UserId) -> bool {
        self.map.get(&board).is_some_and(|(m, _)| m.iter().any(|e| e.id == user))
    }
    pub fn member_id(&self, board: BoardId, username: &str) -> Option<UserId> {
        self.map.get(&board)?.0.iter().find(|e| e.username.eq_ignore_ascii_case(username)).map(|e| e.id)
    }
    pub fn members(&self, board: BoardId) -> Vec<MemberEntry> {
        self.map.get(&board).map(|(m, _)| m.clone()).unwrap_or_default()
    }
    pub fn ctx(&self, board: BoardId) -> BoardCtx {
        self.map.get(&board).map(|(_, c)| *c).unwrap_or_default()
    }
    fn apply_before(&mut self, e: &Event) {
        match (&*e.collection, e.action) {
            ("members", Action::Create) => {
                if let Some(m) = e.after::<Member>() {
                    let entry = self.map.entry(m.board_id).or_default();
                    entry.0.retain(|x| x.id != m.user_id);
                    entry.0.push(MemberEntry { id: m.user_id, username: m.username, owner: m.role == "owner" });
                    entry.0.sort_by(|a, b| a.username.cmp(&b.username));
                }
            }
            ("boards", Action::Create | Action::Update) => {
                if let Some(b) = e.after::<Board>() {
                    self.map.entry(b.id).or_default().1.done_column = b.done_column_id;
                }
            }
            _ => {}
        }
    }
    fn apply_after(&mut self, e: &Event) {
        match (&*e.collection, e.action) {
            ("members", Action::Delete) => {
                if let Some((m, _)) = self.map.get_mut(&e.board_id) {
                    m.retain(|x| x.id.0 != e.record_id);
                }
            }
            ("boards", Action::Delete) => {
                self.map.remove(&e.board_id);
            }
            _ => {}
        }
    }
}

/// What the rest of the app holds: a handle to send the hub commands, and state it may read.
#[derive(Clone)]
pub struct Hub {
    tx: mpsc::UnboundedSender<Cmd>,
    pub shared: Arc<Shared>,
}

/// State the hub shares with connection tasks (read-mostly).
pub struct Shared {
    /// Members and done columns of every board, current as of `dispatched`.
    pub boards: RwLock<Boards>,
    /// The last seq the hub has routed.
    pub dispatched: AtomicI64,
    /// The event stream's epoch (see `stream` in the schema).
    pub epoch: String,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    total: AtomicUsize,
    per_user: std::sync::Mutex<HashMap<UserId, usize>>,
    /// The last seq each (user, `?client=` name) acknowledged: its resume point when it reconnects without `since`.
    acks: std::sync::Mutex<HashMap<(UserId, String), i64>>,
}

/// A slot taken in the connection caps; released on drop.
pub struct Slot {
    shared: Arc<Shared>,
    user: Option<UserId>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.total.fetch_sub(1, Ordering::Relaxed);
        if let Some(u) = self.user {
            let mut per = self.shared.per_user.lock().expect("per-user lock");
            if let Some(n) = per.get_mut(&u) {
                *n -= 1;
                if *n == 0 {
                    per.remove(&u);
                }
            }
        }
    }
}

/// What kind of connection registers.
pub enum Kind {
    /// `/realtime/subscribe`: patterns, views and presence added later by commands.
    Json,
    /// `/boards/{id}/live`: one board through one view. Counts as being present on the board.
    Board { board: BoardId, view: View },
}

/// A registered connection's end of the hub: its queue, and the signal that the queue overflowed.
/// Dropping it unregisters the connection.
pub struct Registration {
    pub key: u64,
    pub rx: mpsc::Receiver<Out>,
    /// Set by the hub when it found this queue full and stopped filling it (checked after each read:
    /// a full queue always has something to read, and no waiter per loop turn is needed).
    pub overflow: Arc<AtomicBool>,
    /// The hub's position when it registered the connection: live events after this are queued.
    pub from: i64,
    hub: Hub,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.hub.tx.send(Cmd::Unregister { key: self.key });
    }
}

/// A presence or activity signal from a client. The hub stamps it with the connection's user.
#[derive(Clone, Copy, Debug)]
pub enum Signal {
    Editing(CardId),
    EditingStop(CardId),
    Typing(CardId),
    TypingStop(CardId),
}

enum Cmd {
    Register {
        key: u64,
        info: ConnInfo,
        kind: Kind,
        tx: mpsc::Sender<Out>,
        notify: Arc<AtomicBool>,
        reply: oneshot::Sender<i64>,
    },
    Unregister {
        key: u64,
    },
    Subscribe {
        key: u64,
        patterns: Vec<Pattern>,
        reply: oneshot::Sender<i64>,
    },
    Unsubscribe {
        key: u64,
        pattern: Option<Pattern>,
        reply: oneshot::Sender<()>,
    },
    SubscribeView {
        key: u64,
        sub: Arc<str>,
        board: BoardId,
        view: View,
        reply: oneshot::Sender<i64>,
    },
    UnsubscribeView {
        key: u64,
        sub: Arc<str>,
        reply: oneshot::Sender<bool>,
    },
    SubscribePresence {
        key: u64,
        board: BoardId,
        reply: oneshot::Sender<()>,
    },
    Signal {
        key: u64,
        board: BoardId,
        signal: Signal,
    },
    Recover {
        key: u64,
    },
    Ack {
        key: u64,
        seq: i64,
    },
    Custom {
        collection: Option<String>,
        to: Option<String>,
        data: Value,
        html: Option<Utf8Bytes>,
    },
    List {
        reply: oneshot::Sender<Vec<ConnectionListing>>,
    },
    Close {
        target: CloseTarget,
        code: u16,
        reason: &'static str,
    },
}

/// Which connections [`Hub::close_where`] ends.
#[derive(Debug)]
pub enum CloseTarget {
    Session(String),
    Token(i64),
    All,
}

impl Hub {
    /// Starts the hub task, with every board's members read from `pool` as of the bus's latest seq.
    pub async fn start(
        bus: &EventBus,
        pool: SqlitePool,
        epoch: String,
        metrics: Arc<Metrics>,
        config: Arc<Config>,
    ) -> crate::error::Result<Self> {
        let boards = Boards::read(&pool).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            boards: RwLock::new(boards),
            dispatched: AtomicI64::new(bus.latest()),
            epoch,
            metrics,
            config,
            total: AtomicUsize::new(0),
            per_user: Default::default(),
            acks: Default::default(),
        });
        let task = HubTask {
            shared: shared.clone(),
            conns: HashMap::new(),
            by_id: HashMap::new(),
            by_collection: HashMap::new(),
            by_record: HashMap::new(),
            all: HashSet::new(),
            boards: HashMap::new(),
            leases: HashMap::new(),
            pool,
        };
        tokio::spawn(task.run(bus.subscribe(), rx));
        Ok(Self { tx, shared })
    }

    /// Takes a slot in the connection caps, or says which cap is full.
    pub fn reserve(&self, user: Option<UserId>) -> Result<Slot, &'static str> {
        let cfg = &self.shared.config;
        if self.shared.total.fetch_add(1, Ordering::Relaxed) >= cfg.ws_max_total {
            self.shared.total.fetch_sub(1, Ordering::Relaxed);
            return Err("the server has too many open connections");
        }
        if let Some(u) = user {
            let mut per = self.shared.per_user.lock().expect("per-user lock");
            let n = per.entry(u).or_default();
            if *n >= cfg.ws_max_per_user {
                drop(per);
                self.shared.total.fetch_sub(1, Ordering::Relaxed);
                return Err("you have too many open connections");
            }
            *n += 1;
        }
        Ok(Slot { shared: self.shared.clone(), user })
    }

    /// Registers a connection. Live events after the returned [`Registration::from`] are queued to it.
    pub async fn register(&self, info: ConnInfo, kind: Kind) -> Registration {
        static NEXT: AtomicI64 = AtomicI64::new(1);
        let key = NEXT.fetch_add(1, Ordering::Relaxed) as u64;
        let (tx, rx) = mpsc::channel(self.shared.config.ws_queue.max(8));
        let notify = Arc::new(AtomicBool::new(false));
        let (reply, from) = oneshot::channel();
        let _ = self.tx.send(Cmd::Register { key, info, kind, tx, notify: notify.clone(), reply });
        let from = from.await.unwrap_or_else(|_| self.shared.dispatched.load(Ordering::Acquire));
        Registration { key, rx, overflow: notify, from, hub: self.clone() }
    }

    /// Adds patterns; returns the hub's position (events after it are delivered live).
    pub async fn subscribe(&self, key: u64, patterns: Vec<Pattern>) -> i64 {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Subscribe { key, patterns, reply });
        rx.await.unwrap_or_default()
    }

    /// Removes one pattern, or all of them.
    pub async fn unsubscribe(&self, key: u64, pattern: Option<Pattern>) {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Unsubscribe { key, pattern, reply });
        let _ = rx.await;
    }

    /// Adds a view subscription of the JSON protocol; returns the hub's position.
    pub async fn subscribe_view(&self, key: u64, sub: Arc<str>, board: BoardId, view: View) -> i64 {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::SubscribeView { key, sub, board, view, reply });
        rx.await.unwrap_or_default()
    }

    /// Removes a view subscription; false if there was none with that id.
    pub async fn unsubscribe_view(&self, key: u64, sub: Arc<str>) -> bool {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::UnsubscribeView { key, sub, reply });
        rx.await.unwrap_or(false)
    }

    /// Subscribes a JSON connection to a board's presence; the current state is queued first.
    pub async fn subscribe_presence(&self, key: u64, board: BoardId) {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::SubscribePresence { key, board, reply });
        let _ = rx.await;
    }

    /// A presence signal from a connection (the hub stamps the sender).
    pub fn signal(&self, key: u64, board: BoardId, signal: Signal) {
        let _ = self.tx.send(Cmd::Signal { key, board, signal });
    }

    /// The connection drained its overflowed queue: resume it with a resync.
    pub fn recover(&self, key: u64) {
        let _ = self.tx.send(Cmd::Recover { key });
    }

    /// The client acknowledged everything up to `seq`.
    pub fn ack(&self, key: u64, seq: i64) {
        let _ = self.tx.send(Cmd::Ack { key, seq });
    }

    /// Remembers the newest seq `user`'s `client` acknowledged (clamped to what was routed), so that
    /// its next connection without `since` resumes there.
    pub fn remember_ack(&self, user: UserId, client: &str, seq: i64) {
        let seq = seq.min(self.shared.dispatched.load(Ordering::Acquire));
        let mut acks = self.shared.acks.lock().expect("acks lock");
        let last = acks.entry((user, client.to_owned())).or_insert(seq);
        *last = (*last).max(seq);
    }

    /// The newest seq `user`'s `client` acknowledged, if it ever acknowledged one.
    pub fn last_ack(&self, user: UserId, client: &str) -> Option<i64> {
        self.shared.acks.lock().expect("acks lock").get(&(user, client.to_owned())).copied()
    }

    /// Sends `{"type":"custom_event","collection":…,"data":…}` to the collection's subscribers.
    pub fn broadcast(&self, collection: &str, data: Value) {
        let _ = self.tx.send(Cmd::Custom { collection: Some(collection.to_owned()), to: None, data, html: None });
    }

    /// Sends a custom event to every JSON connection.
    pub fn broadcast_all(&self, data: Value) {
        let _ = self.tx.send(Cmd::Custom { collection: None, to: None, data, html: None });
    }

    /// Sends a custom event to one connection, by its id.
    pub fn send_to(&self, connection_id: &str, data: Value) {
        let _ = self.tx.send(Cmd::Custom { collection: None, to: Some(connection_id.to_owned()), data, html: None });
    }

    /// An announcement for everyone: a custom event on JSON connections, a banner on board pages.
    pub fn announce(&self, message: &str) {
        let html = render::banner_frame(message, &self.shared.metrics);
        let data = json!({ "announcement": message });
        let _ = self.tx.send(Cmd::Custom { collection: None, to: None, data, html: Some(html) });
    }

    /// Every open connection: id, user, subscriptions, connect time, acks.
    pub async fn connections(&self) -> Vec<ConnectionListing> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::List { reply });
        rx.await.unwrap_or_default()
    }

    /// Closes the sockets opened with a session (on logout).
    pub fn close_session(&self, session: String) {
        let _ = self.tx.send(Cmd::Close { target: CloseTarget::Session(session), code: 4401, reason: "signed out" });
    }

    /// Asks every connection to close with 1012 (server restarting) so clients reconnect elsewhere.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Cmd::Close { target: CloseTarget::All, code: 1012, reason: "server restarting" });
    }

    /// Open connections right now.
    pub fn open_connections(&self) -> usize {
        self.shared.total.load(Ordering::Relaxed)
    }

    /// Closes the sockets opened with an API token (on revocation).
    pub fn close_token(&self, token: i64) {
        let _ = self.tx.send(Cmd::Close { target: CloseTarget::Token(token), code: 4401, reason: "token revoked" });
    }
}

struct Conn {
    info: ConnInfo,
    tx: mpsc::Sender<Out>,
    notify: Arc<AtomicBool>,
    overflowed: bool,
    patterns: HashSet<Pattern>,
    /// Board view of a `/boards/{id}/live` connection.
    board: Option<(BoardId, View)>,
    /// View subscriptions of a JSON connection: id → (board, view).
    views: HashMap<Arc<str>, (BoardId, View)>,
    presence: HashSet<BoardId>,
    last_ack: i64,
}

impl Conn {
    fn user_id(&self) -> Option<UserId> {
        self.info.user.as_ref().map(|u| u.id)
    }
    fn is_admin(&self) -> bool {
        self.info.user.as_ref().is_some_and(|u| u.is_admin)
    }
    fn subscription_count(&self) -> usize {
        self.patterns.len() + self.views.len() + usize::from(self.board.is_some()) + self.presence.len()
    }
}

#[derive(Default)]
struct PresentUser {
    id: Option<UserId>,
    tabs: HashSet<u64>,
    /// Set when the last tab closed: the leave is announced after the grace period.
    gone_at: Option<Instant>,
}

/// Everything live on one board: its connections by view, and who is there doing what.
#[derive(Default)]
struct BoardRoom {
    views: HashMap<View, HashSet<u64>>,
    json_views: HashMap<View, Vec<(u64, Arc<str>)>>,
    presence_subs: HashSet<u64>,
    users: BTreeMap<String, PresentUser>,
    editing: BTreeMap<CardId, BTreeMap<String, Instant>>,
    typing: BTreeMap<CardId, BTreeMap<String, Instant>>,
}

impl BoardRoom {
    fn is_empty(&self) -> bool {
        self.views.is_empty()
            && self.json_views.is_empty()
            && self.presence_subs.is_empty()
            && self.users.is_empty()
            && self.editing.is_empty()
            && self.typing.is_empty()
    }
    fn present(&self) -> Vec<&str> {
        self.users.keys().map(String::as_str).collect()
    }
}

struct HubTask {
    shared: Arc<Shared>,
    /// Boxed: the map's buckets stay small, and a grown map wastes less per idle connection.
    conns: HashMap<u64, Box<Conn>>,
    by_id: HashMap<Arc<str>, u64>,
    by_collection: HashMap<String, HashSet<u64>>,
    by_record: HashMap<(String, i64), HashSet<u64>>,
    all: HashSet<u64>,
    boards: HashMap<BoardId, BoardRoom>,
    /// The "editing" and "typing" each connection started: they end when it disconnects.
    leases: HashMap<u64, HashSet<(BoardId, CardId)>>,
    /// To re-read the membership after a lag (its events were missed).
    pool: SqlitePool,
}

impl HubTask {
    async fn run(mut self, mut events: broadcast::Receiver<Arc<Event>>, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                ev = events.recv() => match ev {
                    Ok(e) => self.dispatch(&e),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // The hub itself fell behind the bus: every connection may have a gap.
                        tracing::warn!(missed = n, "hub lagged behind the event bus; resyncing every connection");
                        self.lagged().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => self.expire(),
            }
        }
    }

    /// After a lag: catch `dispatched` up to the bus and tell everyone to resync.
    async fn lagged(&mut self) {
        // The missed events may have removed members: authorization must not trust the old list.
        match Boards::read(&self.pool).await {
            Ok(fresh) => *self.shared.boards.write().expect("boards lock") = fresh,
            Err(e) => tracing::error!(error = %e, "could not re-read board members after a lag"),
        }
        let keys: Vec<u64> = self.conns.keys().copied().collect();
        for key in keys {
            self.overflow(key);
        }
    }

    fn send(&mut self, key: u64, out: Out) -> bool {
        let Some(c) = self.conns.get_mut(&key) else { return false };
        if c.overflowed {
            self.shared.metrics.dropped.inc();
            return false;
        }
        match c.tx.try_send(out) {
            Ok(()) => {
                self.shared.metrics.messages_sent.inc();
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.metrics.dropped.inc();
                self.overflow(key);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// A connection missed events. With room in its queue it is told to resync right away (the hub
    /// itself lagged); with a full queue it is marked, and its task drains the queue and asks to recover.
    fn overflow(&mut self, key: u64) {
        let dispatched = self.shared.dispatched.load(Ordering::Acquire);
        let Some(c) = self.conns.get_mut(&key) else { return };
        if c.overflowed {
            return;
        }
        if c.tx.try_send(Out::resync(dispatched, "queue_overflow")).is_ok() {
            self.shared.metrics.resyncs.inc();
        } else {
            c.overflowed = true;
            c.notify.store(true, Ordering::Release);
        }
    }

    fn frame(&mut self, key: u64, frame: &Arc<Frame>) {
        self.send(key, Out::Frame(frame.clone()));
    }

    fn command(&mut self, cmd: Cmd) {
        let dispatched = self.shared.dispatched.load(Ordering::Acquire);
        match cmd {
            Cmd::Register { key, info, kind, tx, notify, reply } => {
                let board = match kind {
                    Kind::Json => None,
                    Kind::Board { board, view } => Some((board, view)),
                };
                self.by_id.insert(info.id.clone(), key);
                let user = info.user.clone();
                self.conns.insert(
                    key,
                    Box::new(Conn {
                        info,
                        tx,
                        notify,
                        overflowed: false,
                        patterns: HashSet::new(),
                        board: board.clone(),
                        views: HashMap::new(),
                        presence: HashSet::new(),
                        last_ack: dispatched,
                    }),
                );
                self.shared.metrics.connections.inc();
                if let Some((b, view)) = board {
                    self.shared.metrics.subscriptions.inc();
                    let room = self.boards.entry(b).or_default();
                    room.views.entry(view).or_default().insert(key);
                    if let Some(u) = user {
                        let p = room.users.entry(u.username.clone()).or_default();
                        let joined = p.tabs.is_empty() && p.gone_at.is_none();
                        p.id = Some(u.id);
                        p.tabs.insert(key);
                        p.gone_at = None;
                        if joined {
                            self.presence_changed(b, &[("join", &u.username, None)]);
                            // The page renders no activity: a first tab needs who is editing and typing too.
                            self.send_activity_to(key, b);
                        } else {
                            // A new tab (or a reload within the grace period) still needs the bar.
                            let text = render::presence_frame(&self.room_users(b), &self.shared.metrics);
                            self.frame(key, &Frame::new(0, text));
                            self.send_activity_to(key, b);
                        }
                    }
                }
                let _ = reply.send(dispatched);
            }
            Cmd::Unregister { key } => self.unregister(key),
            Cmd::Subscribe { key, patterns, reply } => {
                if let Some(c) = self.conns.get_mut(&key) {
                    for p in patterns {
                        if c.patterns.insert(p.clone()) {
                            self.shared.metrics.subscriptions.inc();
                            match p {
                                Pattern::All => {
                                    self.all.insert(key);
                                }
                                Pattern::Collection(col) => {
                                    self.by_collection.entry(col).or_default().insert(key);
                                }
                                Pattern::Record(col, id) => {
                                    self.by_record.entry((col, id)).or_default().insert(key);
                                }
                            }
                        }
                    }
                }
                let _ = reply.send(dispatched);
            }
            Cmd::Unsubscribe { key, pattern, reply } => {
                if let Some(c) = self.conns.get_mut(&key) {
                    let removed: Vec<Pattern> = match pattern {
                        None => c.patterns.drain().collect(),
                        Some(p) => c.patterns.take(&p).into_iter().collect(),
                    };
                    for p in removed {
                        self.shared.metrics.subscriptions.dec();
                        self.unindex(key, &p);
                    }
                }
                let _ = reply.send(());
            }
            Cmd::SubscribeView { key, sub, board, view, reply } => {
                if let Some(c) = self.conns.get_mut(&key) {
                    c.views.insert(sub.clone(), (board, view.clone()));
                    self.shared.metrics.subscriptions.inc();
                    self.boards.entry(board).or_default().json_views.entry(view).or_default().push((key, sub));
                }
                let _ = reply.send(dispatched);
            }
            Cmd::UnsubscribeView { key, sub, reply } => {
                let removed = self.conns.get_mut(&key).and_then(|c| c.views.remove(&sub));
                if let Some((board, view)) = &removed {
                    self.shared.metrics.subscriptions.dec();
                    self.drop_json_view(key, &sub, *board, view);
                }
                let _ = reply.send(removed.is_some());
            }
            Cmd::SubscribePresence { key, board, reply } => {
                if let Some(c) = self.conns.get_mut(&key) {
                    if c.presence.insert(board) {
                        self.shared.metrics.subscriptions.inc();
                    }
                    self.boards.entry(board).or_default().presence_subs.insert(key);
                    let state = self.presence_state(board);
                    self.frame(key, &Frame::new(0, state));
                }
                let _ = reply.send(());
            }
            Cmd::Signal { key, board, signal } => self.signal(key, board, signal),
            Cmd::Recover { key } => {
                if let Some(c) = self.conns.get_mut(&key) {
                    c.overflowed = false;
                    let board = c.board.as_ref().map(|(b, _)| *b);
                    self.shared.metrics.resyncs.inc();
                    self.send(key, Out::resync(dispatched, "queue_overflow"));
                    // The re-rendered board has empty activity slots: refill them after the reset.
                    if let Some(b) = board {
                        self.send_activity_to(key, b);
                    }
                }
            }
            Cmd::Ack { key, seq } => {
                if let Some(c) = self.conns.get_mut(&key) {
                    c.last_ack = c.last_ack.max(seq.min(dispatched));
                }
            }
            Cmd::Custom { collection, to, data, html } => self.custom(collection, to, data, html),
            Cmd::List { reply } => {
                let list = self
                    .conns
                    .values()
                    .map(|c| {
                        let mut subscriptions: Vec<String> = c.patterns.iter().map(Pattern::to_string).collect();
                        subscriptions.extend(c.views.iter().map(|(id, (b, _))| format!("view:{id}@board:{b}")));
                        subscriptions.extend(c.presence.iter().map(|b| format!("presence:{b}")));
                        if let Some((b, _)) = &c.board {
                            subscriptions.push(format!("board:{b}"));
                        }
                        subscriptions.sort();
                        ConnectionListing {
                            id: c.info.id.to_string(),
                            user: c.info.user.as_ref().map(|u| u.username.clone()),
                            kind: if c.board.is_some() { "board" } else { "json" },
                            subscriptions,
                            connected_at: c.info.connected_at,
                            last_ack: c.last_ack,
                            ack_lag: dispatched - c.last_ack,
                        }
                    })
                    .collect();
                let _ = reply.send(list);
            }
            Cmd::Close { target, code, reason } => {
                let keys: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| match &target {
                        CloseTarget::Session(s) => c.info.session.as_deref() == Some(s),
                        CloseTarget::Token(t) => c.info.token == Some(*t),
                        CloseTarget::All => true,
                    })
                    .map(|(k, _)| *k)
                    .collect();
                for key in keys {
                    self.force_close(key, code, reason);
                }
            }
        }
    }

    /// Queues a close even past a full queue (a close must not be lost to backpressure).
    fn force_close(&mut self, key: u64, code: u16, reason: &'static str) {
        if let Some(c) = self.conns.get_mut(&key) {
            c.overflowed = true; // nothing more is queued after the close
            let tx = c.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(Out::close(code, reason)).await;
            });
        }
    }

    fn unindex(&mut self, key: u64, p: &Pattern) {
        match p {
            Pattern::All => {
                self.all.remove(&key);
            }
            Pattern::Collection(col) => {
                if let Some(s) = self.by_collection.get_mut(col) {
                    s.remove(&key);
                    if s.is_empty() {
                        self.by_collection.remove(col);
                    }
                }
            }
            Pattern::Record(col, id) => {
                let k = (col.clone(), *id);
                if let Some(s) = self.by_record.get_mut(&k) {
                    s.remove(&key);
                    if s.is_empty() {
                        self.by_record.remove(&k);
                    }
                }
            }
        }
    }

    fn drop_json_view(&mut self, key: u64, sub: &Arc<str>, board: BoardId, view: &View) {
        if let Some(room) = self.boards.get_mut(&board) {
            if let Some(list) = room.json_views.get_mut(view) {
                list.retain(|(k, s)| !(*k == key && s == sub));
                if list.is_empty() {
                    room.json_views.remove(view);
                }
            }
            if room.is_empty() {
                self.boards.remove(&board);
            }
        }
    }

    fn unregister(&mut self, key: u64) {
        self.end_leases(key);
        let Some(c) = self.conns.remove(&key) else { return };
        self.by_id.remove(&c.info.id);
        self.shared.metrics.connections.dec();
        self.shared.metrics.subscriptions.dec_by(c.subscription_count() as i64);
        for p in &c.patterns {
            self.unindex(key, p);
        }
        for (sub, (board, view)) in &c.views {
            self.drop_json_view(key, sub, *board, view);
        }
        for b in &c.presence {
            if let Some(room) = self.boards.get_mut(b) {
                room.presence_subs.remove(&key);
            }
        }
        if let Some((b, view)) = &c.board
            && let Some(room) = self.boards.get_mut(b)
        {
            if let Some(set) = room.views.get_mut(view) {
                set.remove(&key);
                if set.is_empty() {
                    room.views.remove(view);
                }
            }
            if let Some(u) = &c.info.user
                && let Some(p) = room.users.get_mut(&u.username)
            {
                p.tabs.remove(&key);
                if p.tabs.is_empty() {
                    // Not gone yet: a reload within the grace period must not flicker.
                    p.gone_at = Some(Instant::now());
                }
            }
        }
        let boards: Vec<BoardId> = c.presence.iter().copied().chain(c.board.as_ref().map(|(b, _)| *b)).collect();
        for b in boards {
            if self.boards.get(&b).is_some_and(BoardRoom::is_empty) {
                self.boards.remove(&b);
            }
        }
    }

    /// Routes one committed event. Called in `seq` order.
    fn dispatch(&mut self, e: &Arc<Event>) {
        self.shared.dispatched.store(e.seq, Ordering::Release);
        self.shared.metrics.events_published.inc();
        self.shared.boards.write().expect("boards lock").apply_before(e);

        self.dispatch_json(e);
        self.dispatch_views(e);

        self.shared.boards.write().expect("boards lock").apply_after(e);
        self.after_membership_change(e);
    }

    /// Pattern subscribers: from the index, each connection once, members only.
    fn dispatch_json(&mut self, e: &Arc<Event>) {
        let mut targets: Vec<(u64, bool)> = Vec::new(); // (key, via "*")
        if let Some(s) = self.by_collection.get(&*e.collection) {
            targets.extend(s.iter().map(|k| (*k, false)));
        }
        if let Some(s) = self.by_record.get(&(e.collection.to_string(), e.record_id)) {
            targets.extend(s.iter().map(|k| (*k, false)));
        }
        targets.extend(self.all.iter().map(|k| (*k, true)));
        if targets.is_empty() {
            return;
        }
        // Each connection once; when it matched both a pattern and "*", keep the "*" entry (an admin
        // on `*` sees boards they are not a member of, whatever else they subscribed to).
        targets.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        targets.dedup_by_key(|(k, _)| *k);
        let Some(text) = e.json_message() else { return };
        let boards = self.shared.boards.read().expect("boards lock");
        let allowed: Vec<u64> = targets
            .into_iter()
            .filter(|(k, via_all)| {
                self.conns.get(k).is_some_and(|c| {
                    (*via_all && c.is_admin()) || c.user_id().is_some_and(|u| boards.is_member(e.board_id, u))
                })
            })
            .map(|(k, _)| k)
            .collect();
        drop(boards);
        let frame = Frame::new(e.seq, text);
        for k in allowed {
            self.frame(k, &frame);
        }
    }

    /// Board views (HTML) and JSON view subscriptions of the event's board.
    fn dispatch_views(&mut self, e: &Arc<Event>) {
        let Some(room) = self.boards.get(&e.board_id) else { return };
        let (ctx, members) = {
            let boards = self.shared.boards.read().expect("boards lock");
            let members = if e.collection == "members" { boards.members(e.board_id) } else { Vec::new() };
            (boards.ctx(e.board_id), members)
        };
        let metrics = self.shared.metrics.clone();
        let mut html = render::Fragments::new(e, ctx, members, &metrics);
        let mut sends: Vec<(u64, Arc<Frame>)> = Vec::new();
        let mut resyncs: Vec<u64> = Vec::new();
        let board_changed_shape = html.changes_view_shape();
        for (view, keys) in &room.views {
            if board_changed_shape && !view.is_all() {
                resyncs.extend(keys.iter().copied());
                continue;
            }
            if let Some(text) = html.for_view(view) {
                let frame = Frame::new(e.seq, text);
                sends.extend(keys.iter().map(|k| (*k, frame.clone())));
            }
        }
        let mut json = render::JsonViewEvents::new(e, ctx);
        for (view, subs) in &room.json_views {
            if board_changed_shape {
                resyncs.extend(subs.iter().map(|(k, _)| *k));
                continue;
            }
            for (k, sub) in subs {
                if let Some(text) = json.for_view(view, sub) {
                    sends.push((*k, Frame::new(e.seq, text)));
                }
            }
        }
        // Typing ends when the text is saved.
        let saved = (e.collection == "cards" && e.action == Action::Update)
            .then(|| e.actor_id)
            .flatten()
            .map(|a| (CardId(e.record_id), a));
        let boards = self.shared.boards.read().expect("boards lock");
        sends.retain(|(k, _)| {
            self.conns.get(k).and_then(|c| c.user_id()).is_some_and(|u| boards.is_member(e.board_id, u))
        });
        drop(boards);
        for (k, frame) in sends {
            self.frame(k, &frame);
        }
        for k in resyncs {
            self.send(k, Out::resync(e.seq, "view_changed"));
        }
        if let Some((card, actor)) = saved {
            self.clear_typing(e.board_id, card, actor);
        }
    }

    /// A member removed (or a board deleted) loses its live connections to that board at once.
    fn after_membership_change(&mut self, e: &Event) {
        let gone: Option<Option<UserId>> = match (&*e.collection, e.action) {
            ("members", Action::Delete) => Some(Some(UserId(e.record_id))),
            ("boards", Action::Delete) => Some(None),
            _ => None,
        };
        let Some(user) = gone else { return };
        let keys: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| user.is_none() || c.user_id() == user)
            .filter(|(_, c)| {
                c.board.as_ref().is_some_and(|(b, _)| *b == e.board_id)
                    || c.presence.contains(&e.board_id)
                    || c.views.values().any(|(b, _)| *b == e.board_id)
            })
            .map(|(k, _)| *k)
            .collect();
        let revoked = Frame::new(e.seq, render::revoked_frame(&self.shared.metrics));
        for k in keys {
            let is_board = self.conns.get(&k).is_some_and(|c| c.board.is_some());
            if is_board {
                self.frame(k, &revoked);
                self.force_close(k, 4403, "access to this board ended");
            } else if let Some(c) = self.conns.get_mut(&k) {
                // JSON connections stay open; their subscriptions to this board end.
                let views: Vec<(Arc<str>, View)> = c
                    .views
                    .iter()
                    .filter(|(_, (b, _))| *b == e.board_id)
                    .map(|(s, (_, v))| (s.clone(), v.clone()))
                    .collect();
                for (s, _) in &views {
                    c.views.remove(s);
                }
                c.presence.remove(&e.board_id);
                for (s, v) in views {
                    self.drop_json_view(k, &s, e.board_id, &v);
                }
                if let Some(room) = self.boards.get_mut(&e.board_id) {
                    room.presence_subs.remove(&k);
                }
                let msg: Utf8Bytes = json!({"type": "error", "code": "FORBIDDEN", "board_id": e.board_id,
                    "message": "your access to this board ended"})
                .to_string()
                .into();
                self.frame(k, &Frame::new(0, msg));
            }
        }
    }

    fn custom(&mut self, collection: Option<String>, to: Option<String>, data: Value, html: Option<Utf8Bytes>) {
        let msg =
            Frame::new(0, json!({ "type": "custom_event", "collection": collection, "data": data }).to_string().into());
        let json_keys: Vec<u64> = match (&to, &collection) {
            (Some(id), _) => self.by_id.get(id.as_str()).copied().into_iter().collect(),
            (None, Some(col)) => {
                let mut k: Vec<u64> = self
                    .by_collection
                    .get(col)
                    .into_iter()
                    .flatten()
                    .copied()
                    .chain(self.all.iter().copied())
                    .collect();
                k.extend(self.by_record.iter().filter(|((c, _), _)| c == col).flat_map(|(_, s)| s.iter().copied()));
                k.sort_unstable();
                k.dedup();
                k
            }
            (None, None) => self.conns.iter().filter(|(_, c)| c.board.is_none()).map(|(k, _)| *k).collect(),
        };
        for k in json_keys {
            let is_board = self.conns.get(&k).is_some_and(|c| c.board.is_some());
            if !is_board {
                self.frame(k, &msg);
            }
        }
        if let Some(html) = html {
            let html = Frame::new(0, html);
            let keys: Vec<u64> = self.conns.iter().filter(|(_, c)| c.board.is_some()).map(|(k, _)| *k).collect();
            for k in keys {
                self.frame(k, &html);
            }
        }
    }

    // ---- presence ----

    fn room_users(&self, board: BoardId) -> Vec<String> {
        self.boards.get(&board).map(|r| r.present().into_iter().map(str::to_owned).collect()).unwrap_or_default()
    }

    fn presence_state(&self, board: BoardId) -> Utf8Bytes {
        let room = self.boards.get(&board);
        let users: Vec<&str> = room.map(BoardRoom::present).unwrap_or_default();
        let list = |m: Option<&BTreeMap<CardId, BTreeMap<String, Instant>>>| -> Vec<Value> {
            m.into_iter()
                .flatten()
                .flat_map(|(card, who)| who.keys().map(move |u| json!({"card_id": card, "user": u})))
                .collect()
        };
        json!({
            "type": "presence_state",
            "board_id": board,
            "users": users,
            "editing": list(room.map(|r| &r.editing)),
            "typing": list(room.map(|r| &r.typing)),
        })
        .to_string()
        .into()
    }

    /// Sends presence changes: the bar to board pages, the events to JSON presence subscribers.
    fn presence_changed(&mut self, board: BoardId, changes: &[(&str, &str, Option<CardId>)]) {
        let Some(room) = self.boards.get(&board) else { return };
        let users = room.present().into_iter().map(str::to_owned).collect::<Vec<_>>();
        let bar = changes.iter().any(|(ev, _, _)| matches!(*ev, "join" | "leave"));
        let mut sends: Vec<(u64, Arc<Frame>)> = Vec::new();
        if bar {
            let frame = Frame::new(0, render::presence_frame(&users, &self.shared.metrics));
            sends.extend(room.views.values().flatten().map(|k| (*k, frame.clone())));
        }
        let cards: HashSet<CardId> = changes.iter().filter_map(|(_, _, c)| *c).collect();
        for card in cards {
            let text = render::activity_frame(
                card,
                &Self::names(&room.editing, card),
                &Self::names(&room.typing, card),
                &self.shared.metrics,
            );
            let frame = Frame::new(0, text);
            sends.extend(room.views.values().flatten().map(|k| (*k, frame.clone())));
        }
        for (ev, user, card) in changes {
            let msg = json!({"type": "presence", "board_id": board, "event": ev, "user": user, "card_id": card});
            let frame = Frame::new(0, msg.to_string().into());
            sends.extend(room.presence_subs.iter().map(|k| (*k, frame.clone())));
        }
        for (k, frame) in sends {
            self.frame(k, &frame);
        }
    }

    fn names(m: &BTreeMap<CardId, BTreeMap<String, Instant>>, card: CardId) -> Vec<String> {
        m.get(&card).map(|w| w.keys().cloned().collect()).unwrap_or_default()
    }

    /// Sends the current "editing" and "typing" of every card to one newly opened page.
    fn send_activity_to(&mut self, key: u64, board: BoardId) {
        let Some(room) = self.boards.get(&board) else { return };
        let cards: HashSet<CardId> = room.editing.keys().chain(room.typing.keys()).copied().collect();
        let frames: Vec<Utf8Bytes> = cards
            .into_iter()
            .map(|c| {
                render::activity_frame(
                    c,
                    &Self::names(&room.editing, c),
                    &Self::names(&room.typing, c),
                    &self.shared.metrics,
                )
            })
            .collect();
        for f in frames {
            self.frame(key, &Frame::new(0, f));
        }
    }

    fn signal(&mut self, key: u64, board: BoardId, signal: Signal) {
        let Some(c) = self.conns.get(&key) else { return };
        let Some(user) = c.info.user.clone() else { return };
        if !self.shared.boards.read().expect("boards lock").is_member(board, user.id) {
            return;
        }
        let now = Instant::now();
        let cfg = self.shared.config.clone();
        let name = user.username.clone();
        if let Signal::Editing(card) | Signal::Typing(card) = signal {
            self.leases.entry(key).or_default().insert((board, card));
        }
        let room = self.boards.entry(board).or_default();
        let (card, changes): (CardId, Vec<&str>) = match signal {
            Signal::Editing(card) => {
                let fresh = room.editing.entry(card).or_default().insert(name.clone(), now + cfg.editing_ttl).is_none();
                (card, fresh.then_some("editing").into_iter().collect())
            }
            Signal::EditingStop(card) => {
                // Closing the editor ends both; JSON subscribers must hear of each, or typing never stops for them.
                let editing = remove_name(&mut room.editing, card, &name).then_some("editing_stop");
                let typing = remove_name(&mut room.typing, card, &name).then_some("typing_stop");
                (card, editing.into_iter().chain(typing).collect())
            }
            Signal::Typing(card) => {
                let fresh = room.typing.entry(card).or_default().insert(name.clone(), now + cfg.typing_ttl).is_none();
                (card, fresh.then_some("typing").into_iter().collect())
            }
            Signal::TypingStop(card) => {
                (card, remove_name(&mut room.typing, card, &name).then_some("typing_stop").into_iter().collect())
            }
        };
        if !changes.is_empty() {
            let changes: Vec<(&str, &str, Option<CardId>)> =
                changes.into_iter().map(|ev| (ev, name.as_str(), Some(card))).collect();
            self.presence_changed(board, &changes);
        }
    }

    /// A connection went away: the editors and typing it started end now, not when their lease runs out.
    fn end_leases(&mut self, key: u64) {
        let Some(leases) = self.leases.remove(&key) else { return };
        let Some(name) = self.conns.get(&key).and_then(|c| c.info.user.as_ref()).map(|u| u.username.clone()) else {
            return;
        };
        for (board, card) in leases {
            let Some(room) = self.boards.get_mut(&board) else { continue };
            let editing = remove_name(&mut room.editing, card, &name).then_some("editing_stop");
            let typing = remove_name(&mut room.typing, card, &name).then_some("typing_stop");
            let changes: Vec<(&str, &str, Option<CardId>)> =
                editing.into_iter().chain(typing).map(|ev| (ev, name.as_str(), Some(card))).collect();
            if !changes.is_empty() {
                self.presence_changed(board, &changes);
            }
        }
    }

    fn clear_typing(&mut self, board: BoardId, card: CardId, actor: UserId) {
        // By member name, not by open board page: a typist on the JSON protocol has no page in the room.
        let members = self.shared.boards.read().expect("boards lock").members(board);
        let Some(name) = members.into_iter().find(|m| m.id == actor).map(|m| m.username) else { return };
        let Some(room) = self.boards.get_mut(&board) else { return };
        if remove_name(&mut room.typing, card, &name) {
            self.presence_changed(board, &[("typing_stop", &name, Some(card))]);
        }
    }

    /// Ends what timed out: leaves after the grace period, abandoned editors, stale typing.
    fn expire(&mut self) {
        let now = Instant::now();
        let grace = self.shared.config.presence_grace;
        let mut changes: Vec<(BoardId, &'static str, String, Option<CardId>)> = Vec::new();
        for (b, room) in &mut self.boards {
            room.users.retain(|name, p| {
                let gone = p.tabs.is_empty() && p.gone_at.is_some_and(|t| now >= t + grace);
                if gone {
                    changes.push((*b, "leave", name.clone(), None));
                }
                !gone
            });
            let left: HashSet<String> = changes
                .iter()
                .filter(|(bb, ev, _, _)| bb == b && *ev == "leave")
                .map(|(_, _, n, _)| n.clone())
                .collect();
            for (map, ev) in [(&mut room.editing, "editing_stop"), (&mut room.typing, "typing_stop")] {
                for (card, who) in map.iter_mut() {
                    who.retain(|name, until| {
                        let keep = *until > now && !left.contains(name);
                        if !keep {
                            changes.push((*b, ev, name.clone(), Some(*card)));
                        }
                        keep
                    });
                }
                map.retain(|_, who| !who.is_empty());
            }
        }
        for (b, ev, name, card) in changes {
            self.presence_changed(b, &[(ev, &name, card)]);
        }
        self.boards.retain(|_, r| !r.is_empty());
        let dispatched = self.shared.dispatched.load(Ordering::Acquire);
        let lag: i64 = self.conns.values().map(|c| dispatched - c.last_ack).sum();
        self.shared.metrics.ack_lag.set(lag);
    }
}

fn remove_name(m: &mut BTreeMap<CardId, BTreeMap<String, Instant>>, card: CardId, name: &str) -> bool {
    let Some(who) = m.get_mut(&card) else { return false };
    let removed = who.remove(name).is_some();
    if who.is_empty() {
        m.remove(&card);
    }
    removed
}

impl Boards {
    /// Every board's members and done column, as the database has them now.
    pub async fn read(pool: &SqlitePool) -> crate::error::Result<Self> {
        let members: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "select m.board_id, m.user_id, u.username, m.role from board_members m join users u on u.id = m.user_id",
        )
        .fetch_all(pool)
        .await?;
        let done: Vec<(i64, Option<i64>)> =
            sqlx::query_as("select id, done_column_id from boards").fetch_all(pool).await?;
        Ok(Self::load(members, done))
    }

    /// From (board, user, username, role) rows and (board, done column) rows.
    pub fn load(members: Vec<(i64, i64, String, String)>, done: Vec<(i64, Option<i64>)>) -> Self {
        let mut map: HashMap<BoardId, (Vec<MemberEntry>, BoardCtx)> = HashMap::new();
        for (b, done_column) in done {
            map.entry(BoardId(b)).or_default().1.done_column = done_column.map(ColumnId);
        }
        for (b, u, username, role) in members {
            map.entry(BoardId(b)).or_default().0.push(MemberEntry { id: UserId(u), username, owner: role == "owner" });
        }
        for (m, _) in map.values_mut() {
            m.sort_by(|a, b| a.username.cmp(&b.username));
        }
        Self { map }
    }
}
