//! The JSON pub/sub protocol: `GET /realtime/subscribe`. Record patterns (`cards.*`, `cards.42`, `*`),
//! named views with an initial snapshot, presence, replay with `since`, acks. See docs/PROTOCOL.md.
//!
//! hub → **JSON socket** → scripts, apps, assets/realtime-client.js.

use std::{
    collections::{HashMap, HashSet},
    ops::ControlFlow,
    sync::Arc,
};

use axum::{
    Router,
    extract::{State, WebSocketUpgrade, ws::Utf8Bytes},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    hub::{ConnInfo, Kind, Pattern, Signal},
    socket::{self, Io, Protocol, RateLimit},
    views::{View, ViewParams},
};
use crate::{
    app::AppState,
    auth::SocketAuth,
    domain::*,
    error::{Error, Query},
    events::Event,
    render, repo,
};

/// Subscriptions one connection may hold.
const MAX_SUBSCRIPTIONS: usize = 100;
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
    auth: SocketAuth,
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
            connected_at: time::OffsetDateTime::now_utc(),
        };
        let hub = state.hub.clone();
        let reg = hub.register(info, Kind::Json).await;
        let epoch = state.hub.shared.epoch.clone();
        let mut io = Io { ws, reg, hub, state, skip_through: 0, sent_max: 0 };
        let hello = json!({"type": "connected", "connection_id": &*id, "seq": io.reg.from, "epoch": epoch});
        if !io.send_json(hello).await {
            return;
        }
        let client = q.client.chars().take(MAX_CLIENT_NAME).collect::<String>();
        // Without `since`, a client that acknowledged before resumes from its last ack.
        let acked = auth.user.as_ref().and_then(|u| io.hub.last_ack(u.id, &client)).map(|s| (s, None));
        let proto = JsonProtocol {
            user: auth.user,
            client,
            patterns: HashMap::new(),
            views: HashMap::new(),
            presence: HashSet::new(),
            pending_since: q.since.map(|s| (s, q.epoch)).or(acked),
            subs_rate: RateLimit::new(10.0, 10.0),
            signal_rate: RateLimit::new(10.0, 20.0),
            next_view: 1,
        };
        socket::run(io, proto).await;
    })
}

struct JsonProtocol {
    user: Option<User>,
    /// The `?client=` name ("" when absent): acks are remembered per user and client.
    client: String,
    /// Each pattern, with the seq after which every event it selects was sent (live or replayed):
    /// a replay skips those, so a `resume` after live events neither repeats nor loses one.
    patterns: HashMap<Pattern, i64>,
    views: HashMap<Arc<str>, (BoardId, View, String)>,
    presence: HashSet<BoardId>,
    /// `?since=` of the connection: replayed right after the first subscribe message.
    pending_since: Option<(i64, Option<String>)>,
    subs_rate: RateLimit,
    signal_rate: RateLimit,
    next_view: u64,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMsg {
    Subscribe {
        pattern: Option<String>,
        patterns: Option<Vec<String>>,
        view: Option<String>,
        board_id: Option<i64>,
        filter: Option<Value>,
        presence: Option<i64>,
        since: Option<i64>,
        epoch: Option<String>,
    },
    Unsubscribe {
        pattern: Option<String>,
        subscription: Option<String>,
        presence: Option<i64>,
    },
    Ping {
        timestamp: Option<Value>,
    },
    Resume {
        since: i64,
        epoch: Option<String>,
    },
    Ack {
        seq: i64,
    },
    Editing {
        board_id: i64,
        card_id: i64,
    },
    EditingStop {
        board_id: i64,
        card_id: i64,
    },
    Typing {
        board_id: i64,
        card_id: i64,
    },
    TypingStop {
        board_id: i64,
        card_id: i64,
    },
}

type Flow = ControlFlow<()>;
const GO: Flow = ControlFlow::Continue(());

impl JsonProtocol {
    fn count(&self) -> usize {
        self.patterns.len() + self.views.len() + self.presence.len()
    }

    /// Whether this connection's patterns select `e`, and its user may see it.
    fn wants(&self, e: &Event, io: &Io) -> bool {
        let Some(user) = &self.user else { return false };
        let all = user.is_admin && self.patterns.contains_key(&Pattern::All);
        let matched = all
            || self.patterns.contains_key(&Pattern::Collection(e.collection.to_string()))
            || self.patterns.contains_key(&Pattern::Record(e.collection.to_string(), e.record_id));
        matched && (all || io.state.hub.shared.boards.read().expect("boards lock").is_member(e.board_id, user.id))
    }

    /// Whether `e` already went out on this socket: a pattern selecting it was live before it was routed.
    fn already_sent(&self, e: &Event, io: &Io) -> bool {
        e.seq <= io.sent_max
            && self.patterns.iter().any(|(p, after)| {
                e.seq > *after
                    && match p {
                        Pattern::All => true,
                        Pattern::Collection(c) => *c == e.collection,
                        Pattern::Record(c, id) => *c == e.collection && *id == e.record_id,
                    }
            })
    }

    async fn subscribe_patterns(&mut self, raw: Vec<String>, io: &mut Io) -> Flow {
        let Some(user) = self.user.clone() else {
            io.error("AUTH_REQUIRED", "sign in (session cookie or ?token=) to subscribe").await;
            return GO;
        };
        let mut new = Vec::new();
        for r in &raw {
            let p = match Pattern::parse(r) {
                Ok(p) => p,
                Err(why) => {
                    io.error("INVALID_PATTERN", format!("{r:?}: {why}")).await;
                    return GO;
                }
            };
            match &p {
                Pattern::All if !user.is_admin => {
                    io.error("FORBIDDEN", "only admins can subscribe to \"*\"").await;
                    return GO;
                }
                Pattern::Record(c, id) => {
                    if let Ok(Some(b)) = repo::boards::board_of(&io.state.db.read, c, *id).await
                        && repo::require_member(&io.state.db.read, b, user.id).await.is_err()
                    {
                        io.error("FORBIDDEN", format!("you may not see {r}")).await;
                        return GO;
                    }
                }
                _ => {}
            }
            if !self.patterns.contains_key(&p) && !new.contains(&p) {
                new.push(p);
            }
        }
        if self.count() + new.len() > MAX_SUBSCRIPTIONS {
            io.error("LIMIT_REACHED", format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection")).await;
            return GO;
        }
        let upto = io.hub.subscribe(io.reg.key, new.clone()).await;
        self.patterns.extend(new.into_iter().map(|p| (p, upto)));
        for r in &raw {
            if !io.send_json(json!({"type": "subscribed", "pattern": r})).await {
                return ControlFlow::Break(());
            }
        }
        if let Some((since, epoch)) = self.pending_since.take() {
            return self.replay(since, epoch.as_deref(), upto, io).await;
        }
        GO
    }

    /// Sends every event in `(since, upto]` this connection wants, then lets live events follow.
    async fn replay(&mut self, since: i64, epoch: Option<&str>, upto: i64, io: &mut Io) -> Flow {
        match socket::replay_range(&io.state, since, epoch, upto, MAX_REPLAY).await {
            Ok(events) => {
                // Events already sent live are not sent twice.
                let texts: Vec<Utf8Bytes> = events
                    .iter()
                    .filter(|e| self.wants(e, io) && !self.already_sent(e, io))
                    .filter_map(|e| e.json_message())
                    .collect();
                for after in self.patterns.values_mut() {
                    *after = (*after).min(since);
                }
                for text in texts {
                    if !io.send(text).await {
                        return ControlFlow::Break(());
                    }
                }
                io.skip_through = io.skip_through.max(upto);
                io.sent_max = io.sent_max.max(upto);
                GO
            }
            Err(gap) => self.resync_required(upto, gap.as_str(), io).await,
        }
    }

    async fn resync_required(&mut self, seq: i64, reason: &str, io: &mut Io) -> Flow {
        io.state.metrics.resyncs.inc();
        let epoch = io.state.hub.shared.epoch.clone();
        if !io.send_json(json!({"type": "resync_required", "seq": seq, "epoch": epoch, "reason": reason})).await {
            return ControlFlow::Break(());
        }
        io.skip_through = io.skip_through.max(seq);
        // Events up to `seq` may have been dropped: a later resume must not take them as sent.
        for after in self.patterns.values_mut() {
            *after = (*after).max(seq);
        }
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
        let Some(user) = self.user.clone() else {
            io.error("AUTH_REQUIRED", "sign in (session cookie or ?token=) to subscribe").await;
            return GO;
        };
        let Some(board) = board.map(BoardId) else {
            io.error("INVALID_FILTER", "a view subscription needs board_id").await;
            return GO;
        };
        let params: ViewParams = match filter.map(serde_json::from_value).transpose() {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => {
                io.error("INVALID_FILTER", format!("filter: {e}")).await;
                return GO;
            }
        };
        let view = match View::named(&name, user.id, &params) {
            Ok(v) => v,
            Err(e) => {
                io.error("INVALID_FILTER", e.to_string()).await;
                return GO;
            }
        };
        if repo::require_member(&io.state.db.read, board, user.id).await.is_err() {
            io.error("FORBIDDEN", "you are not a member of this board").await;
            return GO;
        }
        if self.count() >= MAX_SUBSCRIPTIONS {
            io.error("LIMIT_REACHED", format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection")).await;
            return GO;
        }
        let sub: Arc<str> = format!("v{}", self.next_view).into();
        self.next_view += 1;
        self.views.insert(sub.clone(), (board, view.clone(), name.clone()));
        // A resume replays the view's transitions; when it can't, the client gets a fresh snapshot.
        if let Some((since, epoch)) = since {
            let upto = io.hub.subscribe_view(io.reg.key, sub.clone(), board, view.clone()).await;
            if let Ok(events) = socket::replay_range(&io.state, since, epoch.as_deref(), upto, MAX_REPLAY).await {
                let ack = json!({"type": "subscribed", "subscription": &*sub, "view": name, "board_id": board,
                    "seq": since, "resumed": true});
                if !io.send_json(ack).await {
                    return ControlFlow::Break(());
                }
                return self.send_view_events(&events, board, &view, &sub, io).await;
            }
            io.hub.unsubscribe_view(io.reg.key, sub.clone()).await;
        }
        self.send_initial(&sub, board, &view, &name, true, io).await
    }

    /// `subscribed` with the view's cards as of the snapshot's seq S, then the view events after S.
    /// With `subscribe`, the hub subscription starts after the snapshot is read, so S ≤ its start
    /// and the events in between are replayed from the log: no gap, no duplicate.
    async fn send_initial(
        &mut self,
        sub: &Arc<str>,
        board: BoardId,
        view: &View,
        name: &str,
        subscribe: bool,
        io: &mut Io,
    ) -> Flow {
        let Some(user) = &self.user else { return GO };
        let snap = match repo::boards::snapshot(&io.state.db.read, board, user.id).await {
            Ok(s) => s,
            Err(_) => {
                self.views.remove(sub);
                io.error("FORBIDDEN", "you are not a member of this board").await;
                return GO;
            }
        };
        let upto = if subscribe {
            io.hub.subscribe_view(io.reg.key, sub.clone(), board, view.clone()).await
        } else {
            snap.seq
        };
        let ctx = super::views::BoardCtx { done_column: snap.board.done_column_id };
        let initial: Vec<&Card> = snap.cards.iter().filter(|c| view.matches(c, &ctx)).collect();
        let msg = json!({"type": "subscribed", "subscription": &**sub, "view": name, "board_id": board,
            "seq": snap.seq, "initial": initial});
        if !io.send_json(msg).await {
            return ControlFlow::Break(());
        }
        match socket::replay_range(&io.state, snap.seq, None, upto, MAX_REPLAY).await {
            Ok(events) => self.send_view_events(&events, board, view, sub, io).await,
            Err(_) => GO,
        }
    }

    async fn send_view_events(
        &mut self,
        events: &[Arc<Event>],
        board: BoardId,
        view: &View,
        sub: &str,
        io: &mut Io,
    ) -> Flow {
        let ctx = io.state.hub.shared.boards.read().expect("boards lock").ctx(board);
        let frames: Vec<Utf8Bytes> = events
            .iter()
            .filter(|e| e.board_id == board)
            .filter_map(|e| render::JsonViewEvents::new(e, ctx).for_view(view, sub))
            .collect();
        for f in frames {
            if !io.send(f).await {
                return ControlFlow::Break(());
            }
        }
        GO
    }

    async fn unsubscribe(&mut self, pattern: Option<String>, subscription: Option<String>, io: &mut Io) -> Flow {
        if let Some(sub) = subscription {
            let sub: Arc<str> = sub.into();
            if self.views.remove(&sub).is_some() {
                io.hub.unsubscribe_view(io.reg.key, sub.clone()).await;
                io.send_json(json!({"type": "unsubscribed", "subscription": &*sub})).await;
            } else {
                io.error("NOT_SUBSCRIBED", format!("no subscription {sub:?}")).await;
            }
            return GO;
        }
        let Some(raw) = pattern else {
            io.error("BAD_MESSAGE", "unsubscribe needs a pattern or a subscription").await;
            return GO;
        };
        if raw == "*" {
            // "*" removes every pattern and view of this connection.
            self.patterns.clear();
            io.hub.unsubscribe(io.reg.key, None).await;
            for (sub, _) in self.views.drain() {
                io.hub.unsubscribe_view(io.reg.key, sub).await;
            }
        } else {
            match Pattern::parse(&raw) {
                Ok(p) => {
                    self.patterns.remove(&p);
                    io.hub.unsubscribe(io.reg.key, Some(p)).await;
                }
                Err(why) => {
                    io.error("INVALID_PATTERN", format!("{raw:?}: {why}")).await;
                    return GO;
                }
            }
        }
        io.send_json(json!({"type": "unsubscribed", "pattern": raw})).await;
        GO
    }

    async fn subscribe_presence(&mut self, board: i64, io: &mut Io) -> Flow {
        let Some(user) = self.user.clone() else {
            io.error("AUTH_REQUIRED", "sign in to see presence").await;
            return GO;
        };
        let board = BoardId(board);
        if repo::require_member(&io.state.db.read, board, user.id).await.is_err() {
            io.error("FORBIDDEN", "you are not a member of this board").await;
            return GO;
        }
        if self.presence.insert(board) {
            io.send_json(json!({"type": "subscribed", "presence": board})).await;
            io.hub.subscribe_presence(io.reg.key, board).await;
        }
        GO
    }
}

impl Protocol for JsonProtocol {
    async fn on_text(&mut self, text: Utf8Bytes, io: &mut Io) -> Flow {
        let msg: ClientMsg = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                io.error("BAD_MESSAGE", format!("not a message this server knows: {e}")).await;
                return GO;
            }
        };
        match msg {
            ClientMsg::Ping { timestamp } => {
                io.send_json(json!({"type": "pong", "timestamp": timestamp})).await;
            }
            ClientMsg::Subscribe { pattern, patterns, view, board_id, filter, presence, since, epoch } => {
                if !self.subs_rate.allow() {
                    io.error("RATE_LIMITED", "at most 10 subscribe/unsubscribe requests per second").await;
                    return GO;
                }
                if let Some(view) = view {
                    return self.subscribe_view(view, board_id, filter, since.map(|s| (s, epoch)), io).await;
                }
                if let Some(b) = presence {
                    return self.subscribe_presence(b, io).await;
                }
                let raw: Vec<String> = pattern.into_iter().chain(patterns.unwrap_or_default()).collect();
                if raw.is_empty() {
                    io.error("BAD_MESSAGE", "subscribe needs a pattern, patterns, a view or presence").await;
                    return GO;
                }
                return self.subscribe_patterns(raw, io).await;
            }
            ClientMsg::Unsubscribe { pattern, subscription, presence } => {
                if !self.subs_rate.allow() {
                    io.error("RATE_LIMITED", "at most 10 subscribe/unsubscribe requests per second").await;
                    return GO;
                }
                if let Some(b) = presence {
                    self.presence.remove(&BoardId(b));
                    io.send_json(json!({"type": "unsubscribed", "presence": b})).await;
                    return GO;
                }
                return self.unsubscribe(pattern, subscription, io).await;
            }
            ClientMsg::Resume { since, epoch } => {
                if self.patterns.is_empty() {
                    self.pending_since = Some((since, epoch));
                } else {
                    let upto = io.state.hub.shared.dispatched.load(std::sync::atomic::Ordering::Acquire);
                    return self.replay(since, epoch.as_deref(), upto, io).await;
                }
            }
            ClientMsg::Ack { seq } => {
                if let Some(user) = &self.user {
                    io.hub.remember_ack(user.id, &self.client, seq);
                }
                io.hub.ack(io.reg.key, seq);
            }
            ClientMsg::Editing { board_id, card_id }
            | ClientMsg::EditingStop { board_id, card_id }
            | ClientMsg::Typing { board_id, card_id }
            | ClientMsg::TypingStop { board_id, card_id } => {
                let Some(_) = &self.user else {
                    io.error("AUTH_REQUIRED", "sign in first").await;
                    return GO;
                };
                if !self.signal_rate.allow() {
                    io.error("RATE_LIMITED", "too many presence signals; slow down").await;
                    return GO;
                }
                let card = CardId(card_id);
                let signal = match serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["type"].as_str().map(str::to_owned))
                    .as_deref()
                {
                    Some("editing") => Signal::Editing(card),
                    Some("editing_stop") => Signal::EditingStop(card),
                    Some("typing") => Signal::Typing(card),
                    _ => Signal::TypingStop(card),
                };
                io.hub.signal(io.reg.key, BoardId(board_id), signal);
            }
        }
        GO
    }

    async fn on_resync(&mut self, seq: i64, reason: &'static str, io: &mut Io) -> Flow {
        if self.resync_required(seq, reason, io).await.is_break() {
            return ControlFlow::Break(());
        }
        // View subscriptions get a fresh snapshot instead of a gap.
        let views: Vec<(Arc<str>, BoardId, View, String)> =
            self.views.iter().map(|(s, (b, v, n))| (s.clone(), *b, v.clone(), n.clone())).collect();
        for (sub, board, view, name) in views {
            if self.send_initial(&sub, board, &view, &name, false, io).await.is_break() {
                return ControlFlow::Break(());
            }
        }
        GO
    }
}
