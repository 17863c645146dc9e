//! The hub: one task that reads committed events in sequence order and routes each to the
//! connections that may and want to see it. The rest of the app holds a [`Hub`] handle and talks
//! to the task through commands.
//!
//! event source → **hub** (access, subscriptions, view filter, presence) → renderer → per-connection queue → socket.
//!
//! Owning all routing state in one task means no locks on the hot path and one global order:
//! acks, replays and resyncs are all sequenced against the same `seq`. Work per event is one
//! serialization (JSON) and one render per distinct fragment (HTML), shared by `Arc` with every
//! connection; per connection it is a membership lookup and a `try_send`.
//!
//! The rooms, one job each: [`registry`] (connections and indexes), [`access`] (board members),
//! `task` (the routing task's loop and commands), `dispatch` (one event → frames), [`presence`] (a state machine on an injected clock),
//! [`admission`] (caps and remembered acks), [`subscriptions`] and [`queue`] (the types they share).
//! The two seams for running several processes are [`EventSource`] and [`presence::PresenceStore`].

pub mod access;
pub mod admission;
mod command;
mod dispatch;
pub mod presence;
pub mod queue;
pub mod registry;
pub mod subscriptions;
mod task;

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, oneshot};

use self::{
    access::BoardAccess,
    admission::{Admission, Slot},
    command::{CloseTarget, Cmd},
    presence::{MemoryPresence, PresenceStore, Timing},
    queue::Out,
    registry::Registry,
    subscriptions::{Pattern, Subscriptions, ViewSub},
    task::HubTask,
};
use crate::{
    channels::{Channel, ChannelMsg},
    cluster::{reads::Reads, settings::Control},
    config::Config,
    domain::*,
    events::{Event, EventBus},
    metrics::Metrics,
    protocol::Signal,
    render,
    views::View,
};

/// Where the hub reads committed events from. In one process it is the in-process [`EventBus`];
/// with several processes, whatever feeds a local bus from the broker's ordered stream.
pub trait EventSource {
    /// Events committed from now on, in `seq` order.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>>;
    /// The newest `seq` already delivered.
    fn latest(&self) -> i64;
}

impl EventSource for EventBus {
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        EventBus::subscribe(self)
    }
    fn latest(&self) -> i64 {
        EventBus::latest(self)
    }
}

/// The last seq the hub task has routed: read by anyone at any time, awaited by those who need the
/// hub to have reached a seq (an edge resuming a client the stream has not caught up with yet).
pub(crate) struct Position {
    seq: AtomicI64,
    moved: tokio::sync::Notify,
}

impl Position {
    fn at(seq: i64) -> Self {
        Self { seq: AtomicI64::new(seq), moved: tokio::sync::Notify::new() }
    }

    pub(crate) fn get(&self) -> i64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Called by the hub task after each event, in seq order.
    pub(crate) fn set(&self, seq: i64) {
        self.seq.store(seq, Ordering::Release);
        self.moved.notify_waiters();
    }

    async fn reached(&self, seq: i64) {
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            // Registered before the check, so a `set` between the check and the wait is not missed.
            moved.as_mut().enable();
            if self.get() >= seq {
                return;
            }
            moved.await;
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
    /// The session's generation at connect (none for a token): see [`crate::auth::Caller`].
    pub session_generation: Option<i64>,
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
    /// Raised by the hub when it found this queue full and stopped filling it.
    pub overflow: Arc<queue::Overflow>,
    /// The hub's position when it registered the connection: live events after this are queued.
    pub from: i64,
    hub: Hub,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.hub.tx.send(Cmd::Unregister { key: self.key });
    }
}

/// A subscription refused by the hub: the connection holds [`subscriptions::MAX_SUBSCRIPTIONS`] already.
#[derive(Debug)]
pub struct LimitReached;

/// What a replay or resync on a JSON connection settled, so live and replayed events stay exact.
#[derive(Clone, Copy, Debug)]
pub enum Settled {
    /// Every event after this seq that the patterns select was sent by a replay.
    ReplayedFrom(i64),
    /// Events up to this seq may have been dropped (resync): none of them counts as sent.
    ResyncedAt(i64),
}

/// What the rest of the app holds: a handle to send the hub commands, and what it may read.
#[derive(Clone)]
pub struct Hub {
    tx: mpsc::UnboundedSender<Cmd>,
    dispatched: Arc<Position>,
    epoch: Arc<str>,
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
    queue_len: usize,
    /// On a writer: where what this hub is asked to send or close goes, for every edge to do too.
    outbox: Option<mpsc::UnboundedSender<Control>>,
}

impl Hub {
    /// Starts the hub task, with every board's members read through `reads` as of the source's latest seq.
    pub async fn start(
        source: &impl EventSource,
        reads: Reads,
        epoch: String,
        metrics: Arc<Metrics>,
        config: &Config,
    ) -> crate::error::Result<Self> {
        let events = source.subscribe();
        let access = BoardAccess::read(&reads).await?;
        Self::start_with(
            source,
            events,
            access,
            reads,
            Box::new(MemoryPresence::new(Timing::of(config))),
            epoch,
            metrics,
            config,
        )
    }

    /// Starts the hub task with what the caller read and chose: the events it subscribed to before
    /// reading `access`, and where presence lives (an edge's or writer's store shared through Redis).
    #[allow(clippy::too_many_arguments)]
    pub fn start_with(
        source: &impl EventSource,
        events: broadcast::Receiver<Arc<Event>>,
        access: BoardAccess,
        reads: Reads,
        presence: Box<dyn PresenceStore>,
        epoch: String,
        metrics: Arc<Metrics>,
        config: &Config,
    ) -> crate::error::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let dispatched = Arc::new(Position::at(source.latest()));
        let task = HubTask {
            registry: Registry::default(),
            access,
            presence,
            metrics: metrics.clone(),
            dispatched: dispatched.clone(),
            reads,
        };
        tokio::spawn(task.run(events, rx));
        Ok(Self {
            tx,
            dispatched,
            epoch: epoch.into(),
            admission: Arc::new(Admission::new(config.ws_max_total, config.ws_max_per_user)),
            metrics,
            queue_len: config.ws_queue.max(8),
            outbox: None,
        })
    }

    /// A writer's hub: what it is asked to send or close also goes to `outbox`, for the edges.
    pub fn with_outbox(mut self, outbox: mpsc::UnboundedSender<Control>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    fn emit(&self, c: impl FnOnce() -> Control) {
        if let Some(out) = &self.outbox {
            let _ = out.send(c());
        }
    }

    /// Tells every connection to resync: its events may have a gap (an edge lost part of the stream).
    pub fn resync_all(&self) {
        let _ = self.tx.send(Cmd::ResyncAll);
    }

    /// The event stream's epoch (see `stream` in the schema).
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The last seq the hub has routed.
    pub fn dispatched(&self) -> i64 {
        self.dispatched.get()
    }

    /// Waits until the hub has routed `seq`, at most `within`; false if it had not by then.
    pub async fn routed(&self, seq: i64, within: std::time::Duration) -> bool {
        tokio::time::timeout(within, self.dispatched.reached(seq)).await.is_ok()
    }

    /// Takes a slot in the connection caps, or says which cap is full.
    pub fn reserve(&self, user: Option<UserId>) -> Result<Slot, &'static str> {
        self.admission.reserve(user)
    }

    /// Open connections right now.
    pub fn open_connections(&self) -> usize {
        self.admission.open()
    }

    /// Registers a connection. Live events after the returned [`Registration::from`] are queued to it.
    pub async fn register(&self, info: ConnInfo, kind: Kind) -> Registration {
        static NEXT: AtomicI64 = AtomicI64::new(1);
        let key = NEXT.fetch_add(1, Ordering::Relaxed) as u64;
        let (tx, rx) = mpsc::channel(self.queue_len);
        let notify = Arc::new(queue::Overflow::default());
        let (reply, from) = oneshot::channel();
        let _ = self.tx.send(Cmd::Register { key, info, kind, tx, notify: notify.clone(), reply });
        let from = from.await.unwrap_or_else(|_| self.dispatched());
        Registration { key, rx, overflow: notify, from, hub: self.clone() }
    }

    async fn ask<T: Default>(&self, cmd: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> T {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(cmd(reply));
        rx.await.unwrap_or_default()
    }

    /// Adds patterns; returns the hub's position (events after it are delivered live).
    pub async fn subscribe(&self, key: u64, patterns: Vec<Pattern>) -> Result<i64, LimitReached> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Subscribe { key, patterns, reply });
        rx.await.unwrap_or(Ok(0))
    }

    /// Removes one pattern, or all of them.
    pub async fn unsubscribe(&self, key: u64, pattern: Option<Pattern>) {
        self.ask(|reply| Cmd::Unsubscribe { key, pattern, reply }).await
    }

    /// Adds a view subscription of the JSON protocol; returns the hub's position.
    pub async fn subscribe_view(&self, key: u64, id: Arc<str>, sub: ViewSub) -> Result<i64, LimitReached> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::SubscribeView { key, id, sub, reply });
        rx.await.unwrap_or(Ok(0))
    }

    /// Removes a view subscription; false if there was none with that id.
    pub async fn unsubscribe_view(&self, key: u64, id: Arc<str>) -> bool {
        self.ask(|reply| Cmd::UnsubscribeView { key, id, reply }).await
    }

    /// Follows a board's presence; when it is new, the current state is queued first. False if it was followed already.
    pub async fn subscribe_presence(&self, key: u64, board: BoardId) -> Result<bool, LimitReached> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::SubscribePresence { key, board, reply });
        rx.await.unwrap_or(Ok(false))
    }

    /// Stops following a board's presence; false if it was not followed.
    pub async fn unsubscribe_presence(&self, key: u64, board: BoardId) -> bool {
        self.ask(|reply| Cmd::UnsubscribePresence { key, board, reply }).await
    }

    /// A copy of the connection's subscriptions, as of now (for replays).
    pub async fn subscriptions(&self, key: u64) -> Subscriptions {
        self.ask(|reply| Cmd::Subscriptions { key, reply }).await
    }

    /// Records what a replay or resync settled for the connection's patterns.
    pub fn settle(&self, key: u64, settled: Settled) {
        let _ = self.tx.send(Cmd::Settle { key, settled });
    }

    /// A presence signal from a connection (the hub stamps the sender).
    pub fn signal(&self, key: u64, board: BoardId, signal: Signal) {
        let _ = self.tx.send(Cmd::Signal { key, board, signal });
    }

    /// The connection drained its overflowed queue: resume it, with a resync unless what the client
    /// already shows (`covered`: the seq of its last reset or replay) includes every dropped event.
    pub fn recover(&self, key: u64, covered: i64) {
        let _ = self.tx.send(Cmd::Recover { key, covered });
    }

    /// The client acknowledged everything up to `seq`.
    pub fn ack(&self, key: u64, seq: i64) {
        let _ = self.tx.send(Cmd::Ack { key, seq });
    }

    /// Remembers the newest seq `user`'s `client` acknowledged (clamped to what was routed), so that
    /// its next connection without `since` resumes there.
    pub fn remember_ack(&self, user: UserId, client: &str, seq: i64) {
        self.admission.remember_ack(user, client, seq.min(self.dispatched()));
    }

    /// The newest seq `user`'s `client` acknowledged, if it ever acknowledged one.
    pub fn last_ack(&self, user: UserId, client: &str) -> Option<i64> {
        self.admission.last_ack(user, client)
    }

    /// Sends `data` on an app channel: `{"type":"custom_event","collection":<channel>,"id":…,"data":…}`
    /// to the JSON connections subscribed to it that may receive it (checked per message), and, when
    /// the renderer has a fragment for it (the inbox badge), to the board pages of those who may.
    /// A board or user channel needs an `id` (see [`ChannelMsg::new`]); without one nothing is sent.
    pub fn broadcast(&self, channel: Channel, id: Option<i64>, data: Value) {
        match ChannelMsg::new(channel, id, data) {
            Ok(msg) => self.send_channel(msg),
            Err(e) => tracing::warn!(error = %e, "channel message dropped"),
        }
    }

    /// [`Hub::broadcast`] of a message already addressed (what the writer hands over after a commit).
    pub fn send_channel(&self, msg: ChannelMsg) {
        self.emit(|| Control::Broadcast { channel: msg.channel, id: msg.id, data: msg.data.clone() });
        let _ = self.tx.send(Cmd::Channel(msg));
    }

    /// Sends a custom event to every JSON connection.
    pub fn broadcast_all(&self, data: Value) {
        self.emit(|| Control::BroadcastAll { data: data.clone() });
        let _ = self.tx.send(Cmd::Custom { to: None, data, html: None });
    }

    /// Sends a custom event to one connection, by its id.
    pub fn send_to(&self, connection_id: &str, data: Value) {
        self.emit(|| Control::SendTo { connection: connection_id.to_owned(), data: data.clone() });
        let _ = self.tx.send(Cmd::Custom { to: Some(connection_id.to_owned()), data, html: None });
    }

    /// An announcement for everyone signed in: a custom event on JSON connections, a banner on board pages.
    pub fn announce(&self, message: &str) {
        self.emit(|| Control::Announce { message: message.to_owned() });
        let html = render::banner_frame(message, &self.metrics);
        let data = serde_json::json!({ "announcement": message });
        let _ = self.tx.send(Cmd::Custom { to: None, data, html: Some(html) });
    }

    /// Every open connection: id, user, subscriptions, connect time, acks.
    pub async fn connections(&self) -> Vec<ConnectionListing> {
        self.ask(|reply| Cmd::List { reply }).await
    }

    /// Every signed-in user with an open connection, with whether they connected as an admin and
    /// the session generation they connected with (once per distinct pair).
    pub async fn connected_users(&self) -> Vec<(UserId, bool, Option<i64>)> {
        self.ask(|reply| Cmd::Users { reply }).await
    }

    /// Closes the sockets opened with a session (on logout).
    pub fn close_session(&self, session: String) {
        self.emit(|| Control::CloseSession { session: session.clone() });
        let _ = self.tx.send(Cmd::Close { target: CloseTarget::Session(session), code: 4401, reason: "signed out" });
    }

    /// Closes the sockets opened with an API token (on revocation).
    pub fn close_token(&self, token: i64) {
        self.emit(|| Control::CloseToken { token });
        let _ = self.tx.send(Cmd::Close { target: CloseTarget::Token(token), code: 4401, reason: "token revoked" });
    }

    /// Closes every socket of a user whose rights changed (demoted, deleted): they reconnect with fresh rights, or not at all.
    pub fn close_user(&self, user: UserId) {
        self.emit(|| Control::CloseUser { user });
        let _ =
            self.tx.send(Cmd::Close { target: CloseTarget::User(user), code: 4401, reason: "your account changed" });
    }

    /// Asks every connection to close with 1012 (server restarting) so clients reconnect elsewhere.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Cmd::Close { target: CloseTarget::All, code: 1012, reason: "server restarting" });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Collection;

    #[test]
    fn a_collection_pattern_and_the_collection_list_agree() {
        for c in Collection::ALL {
            assert_eq!(Pattern::parse(&format!("{c}.*")).unwrap(), Pattern::Collection(*c));
        }
    }
}
