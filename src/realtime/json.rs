//! The JSON pub/sub protocol: `GET /realtime/subscribe`. Record patterns (`cards.*`, `cards.42`, `*`),
//! named views with an initial snapshot, presence, replay with `since`, acks. See docs/PROTOCOL.md.
//! The connection's subscriptions live in the hub; this side parses, checks access, and replays.
//!
//! hub → **JSON socket** → scripts, apps, assets/realtime-client.js.

use std::{collections::HashMap, ops::ControlFlow, sync::Arc};

use axum::{
    Router,
    extract::{State, WebSocketUpgrade, ws::Utf8Bytes},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::Value;

use super::socket::{self, Io, Protocol, RateLimit};
use crate::{
    auth::Caller,
    channels::Access,
    domain::*,
    error::{Error, Query},
    events::Event,
    hub::{
        ConnInfo, Kind, Settled,
        access::may_see,
        subscriptions::{MAX_SUBSCRIPTIONS, Pattern, Subscriptions, ViewSub},
    },
    protocol::{ClientMsg, ServerMsg, Subscribed, Unsubscribed},
    render,
    state::AppState,
    views::{BoardCtx, View, ViewParams},
};

/// Longest gap replayed; past it the client is told to resync.
const MAX_REPLAY: i64 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/realtime/subscribe", get(subscribe))
}

#[derive(Deserialize)]
struct ConnectQuery {
    since: Option<i64>,
    epoch: Option<String>,
    /// Names this client (a device, a script) so its acks become its resume point.
    #[serde(default)]
    client: String,
}

/// Longest `?client=` name remembered (the hub keeps one ack per user and client name).
const MAX_CLIENT_NAME: usize = 64;

async fn subscribe(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: Caller,
    Query(q): Query<ConnectQuery>,
) -> Response {
    if let Err(e) = socket::check_origin(&headers, &state) {
        return e.into_response();
    }
    let slot = match state.hub.reserve(auth.user.as_ref().map(|u| u.id)) {
        Ok(s) => s,
        Err(why) => return Error::TooMany(why).into_response(),
    };
    socket::configure(ws, &state).on_upgrade(move |ws| async move {
        let _slot = slot;
        let id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
        let info = ConnInfo {
            id: id.clone(),
            user: auth.user.clone(),
            session: auth.session,
            token: auth.token,
            session_generation: auth.session_generation,
            connected_at: time::OffsetDateTime::now_utc(),
        };
        if let Some(since) = q.since {
            socket::caught_up(&state, since).await;
        }
        let hub = state.hub.clone();
        let reg = hub.register(info, Kind::Json).await;
        let mut io = Io { ws, reg, hub, state, skip_through: 0, sent_max: 0 };
        let hello = ServerMsg::Connected { connection_id: &id, seq: io.reg.from, epoch: io.hub.epoch() }.text();
        if !io.send(hello).await {
            return;
        }
        let client = q.client.chars().take(MAX_CLIENT_NAME).collect::<String>();
        // Without `since`, a client that acknowledged before resumes from its last ack.
        let acked = auth.user.as_ref().and_then(|u| io.hub.last_ack(u.id, &client)).map(|s| (s, None));
        let proto = JsonProtocol {
            user: auth.user,
            client,
            pending_since: q.since.map(|s| (s, q.epoch)).or(acked),
            subs_rate: RateLimit::new(10.0, 10.0),
            signal_rate: RateLimit::new(10.0, 20.0),
            chatter_rate: RateLimit::new(20.0, 40.0),
            next_view: 1,
        };
        socket::run(io, proto).await;
    })
}

struct JsonProtocol {
    user: Option<User>,
    /// The `?client=` name ("" when absent): acks are remembered per user and client.
    client: String,
    /// `?since=` of the connection: replayed right after the first subscribe message.
    pending_since: Option<(i64, Option<String>)>,
    subs_rate: RateLimit,
    signal_rate: RateLimit,
    /// Acks and application pings: cheap, but not free for the hub.
    chatter_rate: RateLimit,
    next_view: u64,
}

type Flow = ControlFlow<()>;
const GO: Flow = ControlFlow::Continue(());
const STOP: Flow = ControlFlow::Break(());

fn flow(sent: bool) -> Flow {
    if sent { GO } else { STOP }
}

const SIGN_IN: &str = "sign in (session cookie or ?token=) to subscribe";
const NOT_A_MEMBER: &str = "you are not a member of this board";

impl JsonProtocol {
    async fn subscribe_patterns(&mut self, raw: Vec<String>, io: &mut Io) -> Flow {
        let Some(user) = self.user.clone() else { return flow(io.error("AUTH_REQUIRED", SIGN_IN).await) };
        let mut new = Vec::new();
        for r in &raw {
            let p = match Pattern::parse(r) {
                Ok(p) => p,
                Err(why) => return flow(io.error("INVALID_PATTERN", format!("{r:?}: {why}")).await),
            };
            match &p {
                Pattern::All if !user.is_admin => {
                    return flow(io.error("FORBIDDEN", "only admins can subscribe to \"*\"").await);
                }
                Pattern::Record(c, id) => {
                    if let Ok(Some(b)) = io.state.reads.board_of(*c, *id).await
                        && io.state.reads.require_member(b, user.id).await.is_err()
                    {
                        return flow(io.error("FORBIDDEN", format!("you may not see {r}")).await);
                    }
                }
                // The hub checks every message too; this refuses early what could never arrive.
                Pattern::Channel(ch, Some(id)) => match ch.access() {
                    Access::OneUser if *id != user.id.0 => {
                        return flow(io.error("FORBIDDEN", format!("{r} is another user's channel")).await);
                    }
                    Access::BoardMembers if io.state.reads.require_member(BoardId(*id), user.id).await.is_err() => {
                        return flow(io.error("FORBIDDEN", format!("you may not see {r}")).await);
                    }
                    _ => {}
                },
                _ => {}
            }
            new.push(p);
        }
        let Ok(upto) = io.hub.subscribe(io.reg.key, new).await else {
            return flow(
                io.error("LIMIT_REACHED", format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection")).await,
            );
        };
        for r in &raw {
            if !io.send_msg(ServerMsg::Subscribed(Subscribed::Pattern { pattern: r })).await {
                return STOP;
            }
        }
        if let Some((since, epoch)) = self.pending_since.take() {
            return self.replay(since, epoch.as_deref(), upto, io).await;
        }
        GO
    }

    /// Sends every event in `(since, upto]` this connection wants and may see, then lets live events follow.
    async fn replay(&mut self, since: i64, epoch: Option<&str>, upto: i64, io: &mut Io) -> Flow {
        let events = match socket::replay_range(&io.state, since, epoch, upto, MAX_REPLAY).await {
            Ok(events) => events,
            Err(gap) => return self.resync_required(upto, gap.as_str(), io).await,
        };
        let Some(user) = self.user.clone() else { return GO };
        let subs = io.hub.subscriptions(io.reg.key).await;
        let boards = io.state.reads.memberships_of(user.id).await.unwrap_or_default();
        // Events already sent live are not sent twice.
        let texts: Vec<Utf8Bytes> = events
            .iter()
            .filter(|e| wants(&subs, &boards, &user, e) && !subs.already_sent(e, io.sent_max))
            .map(|e| ServerMsg::record_event(e).text())
            .collect();
        io.hub.settle(io.reg.key, Settled::ReplayedFrom(since));
        for text in texts {
            if !io.send(text).await {
                return STOP;
            }
        }
        io.skip_through = io.skip_through.max(upto);
        io.sent_max = io.sent_max.max(upto);
        GO
    }

    async fn resync_required(&mut self, seq: i64, reason: &str, io: &mut Io) -> Flow {
        io.state.metrics.resyncs.inc();
        let msg = ServerMsg::ResyncRequired { seq, epoch: io.hub.epoch(), reason }.text();
        if !io.send(msg).await {
            return STOP;
        }
        io.skip_through = io.skip_through.max(seq);
        // Events up to `seq` may have been dropped: a later resume must not take them as sent.
        io.hub.settle(io.reg.key, Settled::ResyncedAt(seq));
        GO
    }

    async fn subscribe_view(
        &mut self,
        name: String,
        board: Option<i64>,
        filter: Option<Value>,
        since: Option<(i64, Option<String>)>,
        io: &mut Io,
    ) -> Flow {
        let Some(user) = self.user.clone() else { return flow(io.error("AUTH_REQUIRED", SIGN_IN).await) };
        let Some(board) = board.map(BoardId) else {
            return flow(io.error("INVALID_FILTER", "a view subscription needs board_id").await);
        };
        let params: ViewParams = match filter.map(serde_json::from_value).transpose() {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => return flow(io.error("INVALID_FILTER", format!("filter: {e}")).await),
        };
        let view = match View::named(&name, user.id, &params) {
            Ok(v) => v,
            Err(e) => return flow(io.error("INVALID_FILTER", e.to_string()).await),
        };
        if io.state.reads.require_member(board, user.id).await.is_err() {
            return flow(io.error("FORBIDDEN", NOT_A_MEMBER).await);
        }
        let id: Arc<str> = format!("v{}", self.next_view).into();
        self.next_view += 1;
        let sub = ViewSub { board, view, name, after: 0 };
        // A resume replays the view's transitions; when it can't, the client gets a fresh snapshot.
        // So does a resume from before the user joined the board: what came before is not theirs.
        let joined = io.state.reads.member_since(board, user.id).await.ok().flatten().unwrap_or(i64::MAX);
        if let Some((since, epoch)) = since.filter(|(since, _)| *since >= joined) {
            let resumed = ViewSub { after: since, ..sub.clone() };
            let Ok(upto) = io.hub.subscribe_view(io.reg.key, id.clone(), resumed).await else {
                return self.limit_reached(io).await;
            };
            if let Ok(events) = socket::replay_range(&io.state, since, epoch.as_deref(), upto, MAX_REPLAY).await {
                let ack = Subscribed::View {
                    subscription: &id,
                    view: &sub.name,
                    board_id: board,
                    seq: since,
                    initial: None,
                    resumed: Some(true),
                };
                if !io.send_msg(ServerMsg::Subscribed(ack)).await {
                    return STOP;
                }
                return send_view_events(&events, &sub, &id, io).await;
            }
            io.hub.unsubscribe_view(io.reg.key, id.clone()).await;
        }
        self.send_initial(&id, &sub, true, io).await
    }

    async fn limit_reached(&mut self, io: &mut Io) -> Flow {
        flow(io.error("LIMIT_REACHED", format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection")).await)
    }

    /// `subscribed` with the view's cards as of the snapshot's seq S, then the view events after S.
    /// With `subscribe`, the hub subscription starts after the snapshot is read at a position H: the
    /// events in (S, H] are replayed from the log, and live ones at or before S are skipped by the
    /// hub (the snapshot may be newer than what it has routed): no gap, no duplicate.
    async fn send_initial(&mut self, id: &Arc<str>, sub: &ViewSub, subscribe: bool, io: &mut Io) -> Flow {
        let Some(user) = &self.user else { return GO };
        let Ok(snap) = io.state.reads.snapshot(sub.board, user.id).await else {
            if !subscribe {
                io.hub.unsubscribe_view(io.reg.key, id.clone()).await;
            }
            return flow(io.error("FORBIDDEN", NOT_A_MEMBER).await);
        };
        let upto = if subscribe {
            // Live events up to the snapshot are in it already: the hub skips them (`ViewSub::after`).
            let from_snapshot = ViewSub { after: snap.seq, ..sub.clone() };
            match io.hub.subscribe_view(io.reg.key, id.clone(), from_snapshot).await {
                Ok(upto) => upto,
                Err(_) => return self.limit_reached(io).await,
            }
        } else {
            snap.seq
        };
        let ctx = BoardCtx { done_column: snap.board.done_column_id };
        let initial: Vec<&Card> = snap.cards.iter().filter(|c| sub.view.matches(c, &ctx)).collect();
        let msg = Subscribed::View {
            subscription: id,
            view: &sub.name,
            board_id: sub.board,
            seq: snap.seq,
            initial: Some(initial),
            resumed: None,
        };
        if !io.send_msg(ServerMsg::Subscribed(msg)).await {
            return STOP;
        }
        match socket::replay_range(&io.state, snap.seq, None, upto, MAX_REPLAY).await {
            Ok(events) => send_view_events(&events, sub, id, io).await,
            Err(_) => GO,
        }
    }

    async fn unsubscribe(&mut self, pattern: Option<String>, subscription: Option<String>, io: &mut Io) -> Flow {
        if let Some(id) = subscription {
            let id: Arc<str> = id.into();
            if io.hub.unsubscribe_view(io.reg.key, id.clone()).await {
                return flow(io.send_msg(ServerMsg::Unsubscribed(Unsubscribed::View { subscription: &id })).await);
            }
            return flow(io.error("NOT_SUBSCRIBED", format!("no subscription {id:?}")).await);
        }
        let Some(raw) = pattern else {
            return flow(io.error("BAD_MESSAGE", "unsubscribe needs a pattern or a subscription").await);
        };
        if raw == "*" {
            // "*" removes every pattern and view of this connection.
            io.hub.unsubscribe(io.reg.key, None).await;
            let views: Vec<Arc<str>> = io.hub.subscriptions(io.reg.key).await.views.into_keys().collect();
            for id in views {
                io.hub.unsubscribe_view(io.reg.key, id).await;
            }
        } else {
            match Pattern::parse(&raw) {
                Ok(p) => io.hub.unsubscribe(io.reg.key, Some(p)).await,
                Err(why) => return flow(io.error("INVALID_PATTERN", format!("{raw:?}: {why}")).await),
            }
        }
        flow(io.send_msg(ServerMsg::Unsubscribed(Unsubscribed::Pattern { pattern: &raw })).await)
    }

    async fn subscribe_presence(&mut self, board: i64, io: &mut Io) -> Flow {
        let Some(user) = self.user.clone() else {
            return flow(io.error("AUTH_REQUIRED", "sign in to see presence").await);
        };
        let board = BoardId(board);
        if io.state.reads.require_member(board, user.id).await.is_err() {
            return flow(io.error("FORBIDDEN", NOT_A_MEMBER).await);
        }
        match io.hub.subscribe_presence(io.reg.key, board).await {
            // The hub queued the current state; it goes out after this acknowledgement.
            Ok(true) => flow(io.send_msg(ServerMsg::Subscribed(Subscribed::Presence { presence: board })).await),
            Ok(false) => GO,
            Err(_) => self.limit_reached(io).await,
        }
    }
}

/// Whether a replayed event is one this connection's patterns select and its user may see now:
/// a member sees a board's events from the one that made them a member.
fn wants(subs: &Subscriptions, boards: &HashMap<BoardId, i64>, user: &User, e: &Event) -> bool {
    let member = boards.get(&e.board_id).is_some_and(|since| e.seq >= *since);
    subs.selects(e).is_some_and(|through_all| may_see(user, through_all, member))
}

/// The view events of `events` for one view subscription.
async fn send_view_events(events: &[Arc<Event>], sub: &ViewSub, id: &str, io: &mut Io) -> Flow {
    let done_column = io.state.reads.done_column(sub.board).await.unwrap_or_default();
    let ctx = BoardCtx { done_column };
    let frames: Vec<Utf8Bytes> = events
        .iter()
        .filter(|e| e.board_id == sub.board)
        .filter_map(|e| render::JsonViewEvents::new(e, ctx).for_view(&sub.view, id))
        .collect();
    for f in frames {
        if !io.send(f).await {
            return STOP;
        }
    }
    GO
}

impl Protocol for JsonProtocol {
    async fn on_text(&mut self, text: Utf8Bytes, io: &mut Io) -> Flow {
        let msg: ClientMsg = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => return flow(io.error("BAD_MESSAGE", format!("not a message this server knows: {e}")).await),
        };
        if let Some((board, signal)) = msg.signal() {
            if self.user.is_none() {
                return flow(io.error("AUTH_REQUIRED", "sign in first").await);
            }
            if !self.signal_rate.allow() {
                return flow(io.error("RATE_LIMITED", "too many presence signals; slow down").await);
            }
            io.hub.signal(io.reg.key, board, signal);
            return GO;
        }
        match msg {
            ClientMsg::Ping { .. } | ClientMsg::Ack { .. } if !self.chatter_rate.allow() => {
                flow(io.error("RATE_LIMITED", "too many pings and acks; slow down").await)
            }
            ClientMsg::Ping { timestamp } => flow(io.send_msg(ServerMsg::Pong { timestamp }).await),
            ClientMsg::Subscribe { .. } | ClientMsg::Unsubscribe { .. } if !self.subs_rate.allow() => {
                flow(io.error("RATE_LIMITED", "at most 10 subscribe/unsubscribe requests per second").await)
            }
            ClientMsg::Subscribe { pattern, patterns, view, board_id, filter, presence, since, epoch } => {
                if let Some(view) = view {
                    return self.subscribe_view(view, board_id, filter, since.map(|s| (s, epoch)), io).await;
                }
                if let Some(b) = presence {
                    return self.subscribe_presence(b, io).await;
                }
                let raw: Vec<String> = pattern.into_iter().chain(patterns.unwrap_or_default()).collect();
                if raw.is_empty() {
                    return flow(
                        io.error("BAD_MESSAGE", "subscribe needs a pattern, patterns, a view or presence").await,
                    );
                }
                self.subscribe_patterns(raw, io).await
            }
            ClientMsg::Unsubscribe { pattern, subscription, presence } => {
                if let Some(b) = presence {
                    io.hub.unsubscribe_presence(io.reg.key, BoardId(b)).await;
                    return flow(io.send_msg(ServerMsg::Unsubscribed(Unsubscribed::Presence { presence: b })).await);
                }
                self.unsubscribe(pattern, subscription, io).await
            }
            ClientMsg::Resume { since, epoch } => {
                if io.hub.subscriptions(io.reg.key).await.patterns.is_empty() {
                    self.pending_since = Some((since, epoch));
                    return GO;
                }
                let upto = io.hub.dispatched();
                self.replay(since, epoch.as_deref(), upto, io).await
            }
            ClientMsg::Ack { seq } => {
                if let Some(user) = &self.user {
                    io.hub.remember_ack(user.id, &self.client, seq);
                }
                io.hub.ack(io.reg.key, seq);
                GO
            }
            // Signals were handled above.
            ClientMsg::Editing { .. }
            | ClientMsg::EditingStop { .. }
            | ClientMsg::Typing { .. }
            | ClientMsg::TypingStop { .. } => GO,
        }
    }

    async fn on_resync(&mut self, seq: i64, reason: &'static str, io: &mut Io) -> Flow {
        if self.resync_required(seq, reason, io).await.is_break() {
            return STOP;
        }
        // View subscriptions get a fresh snapshot instead of a gap.
        let views = io.hub.subscriptions(io.reg.key).await.views;
        for (id, sub) in views {
            if self.send_initial(&id, &sub, false, io).await.is_break() {
                return STOP;
            }
        }
        GO
    }
}
