//! The live board: `GET /boards/{id}/live`, server-rendered HTML fragments over WebSocket for one
//! board through one view. The page gives the `since` it was rendered at, so nothing falls between.
//!
//! hub → renderer → **board socket** → the browser (assets/board.js applies the fragments).

use std::ops::ControlFlow;

use axum::{
    Router,
    extract::{State, WebSocketUpgrade, ws::Utf8Bytes},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use super::socket::{self, Io, Protocol, RateLimit};
use crate::{
    auth::Caller,
    domain::*,
    error::{Error, Path, Query},
    hub::{ConnInfo, Kind},
    protocol::{BoardClientMsg, ServerMsg},
    render,
    state::AppState,
    views::{BoardCtx, PageFilter, View},
};

/// Longest gap replayed event by event; past it the board is re-rendered instead.
const MAX_REPLAY: i64 = 1000;

pub fn router() -> Router<AppState> {
    Router::new().route("/boards/{id}/live", get(live))
}

#[derive(Deserialize)]
struct LiveQuery {
    since: Option<String>,
    epoch: Option<String>,
    #[serde(flatten)]
    filter: PageFilter,
}

async fn live(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Path(board): Path<i64>,
    headers: HeaderMap,
    auth: Caller,
    Query(q): Query<LiveQuery>,
) -> Response {
    if let Err(e) = socket::check_origin(&headers, &state) {
        return e.into_response();
    }
    let board = BoardId(board);
    let Some(user) = auth.user.clone() else { return Error::Unauthorized.into_response() };
    if let Err(e) = state.reads.require_member(board, user.id).await {
        return e.into_response();
    }
    let members = match state.reads.members(board).await {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let view =
        q.filter.view(user.id, |name| members.iter().find(|m| m.username.eq_ignore_ascii_case(name)).map(|m| m.id));
    let view = match view {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let slot = match state.hub.reserve(Some(user.id)) {
        Ok(s) => s,
        Err(why) => return Error::TooMany(why).into_response(),
    };
    let since = q.since.as_deref().and_then(|s| s.parse::<i64>().ok());
    socket::configure(ws, &state).on_upgrade(move |ws| async move {
        let _slot = slot;
        let info = ConnInfo {
            id: uuid::Uuid::new_v4().to_string().into(),
            user: Some(user.clone()),
            session: auth.session,
            token: auth.token,
            session_generation: auth.session_generation,
            connected_at: time::OffsetDateTime::now_utc(),
        };
        if let Some(since) = since {
            socket::caught_up(&state, since).await;
        }
        let (hub, user_id) = (state.hub.clone(), user.id);
        let reg = hub.register(info, Kind::Board { board, view: view.clone() }).await;
        let mut io = Io { ws, reg, hub, state: state.clone(), skip_through: 0, sent_max: 0 };
        let mut proto = BoardLive { board, view, filter: q.filter, user, signals: RateLimit::new(10.0, 20.0) };
        // Boxed for the same reason as the protocol handlers in socket::run: it runs once, then its
        // (large) future would otherwise stay part of the connection's task.
        if Box::pin(proto.catch_up(&mut io, since, q.epoch.as_deref())).await.is_break() {
            return;
        }
        socket::run(io, proto).await;
        seen_live(&state, board, user_id).await;
    })
}

/// What a page showed live is not news at the next visit: remember it when the socket closes. An
/// edge has no database of its own (its page loads, on the writer, remember visits there).
async fn seen_live(state: &AppState, board: BoardId, user: UserId) {
    if state.node.role == crate::cluster::Role::Edge {
        return;
    }
    if let Err(e) = crate::repo::activity::mark_seen(&state.db, board, user, state.hub.dispatched()).await {
        tracing::debug!(error = %e, "could not remember a live visit");
    }
}

struct BoardLive {
    board: BoardId,
    view: View,
    filter: PageFilter,
    user: User,
    signals: RateLimit,
}

impl BoardLive {
    /// Sends what happened since the page was rendered, or re-renders the board when that can't be replayed.
    async fn catch_up(&mut self, io: &mut Io, since: Option<i64>, epoch: Option<&str>) -> ControlFlow<()> {
        let upto = io.reg.from;
        // Checked again now that the hub routes to us: a removal committed between the handshake's
        // check and the registration revoked no socket of ours, and the replay below reads the log directly.
        if io.state.reads.require_member(self.board, self.user.id).await.is_err() {
            io.send(render::revoked_frame(&io.state.metrics)).await;
            io.close(4403, "access to this board ended").await;
            return ControlFlow::Break(());
        }
        let Some(since) = since else { return self.reset(io).await };
        // A page claiming a seq from before the user joined the board is re-rendered, not replayed:
        // the log before that is not theirs to read.
        let joined = io.state.reads.member_since(self.board, self.user.id).await.ok().flatten();
        if joined.is_none_or(|joined| since < joined) {
            return self.reset(io).await;
        }
        let events = match socket::replay_range(&io.state, since, epoch, upto, MAX_REPLAY).await {
            Ok(events) => events,
            Err(_) => return self.reset(io).await,
        };
        let reads = &io.state.reads;
        let (done_column, members) = match (reads.done_column(self.board).await, reads.members(self.board).await) {
            (Ok(d), Ok(m)) => (d, m),
            _ => return self.reset(io).await,
        };
        let ctx = BoardCtx { done_column };
        let mut frames = Vec::new();
        for e in events.iter().filter(|e| e.board_id == self.board) {
            let mut f = render::Fragments::new(e, ctx, &members, &io.state.metrics);
            if f.changes_view_shape() {
                return self.reset(io).await;
            }
            frames.extend(f.for_view(&self.view));
        }
        for f in frames {
            if !io.send(f).await {
                return ControlFlow::Break(());
            }
        }
        io.skip_through = upto;
        ControlFlow::Continue(())
    }

    /// Re-renders the whole board in place (the page morphs it, keeping what the user is typing).
    async fn reset(&mut self, io: &mut Io) -> ControlFlow<()> {
        let snap = match io.state.reads.snapshot(self.board, self.user.id).await {
            Ok(s) => s,
            Err(_) => {
                io.close(4403, "access to this board ended").await;
                return ControlFlow::Break(());
            }
        };
        let markup = render::board(&snap, &self.view, &self.filter, io.hub.epoch(), &self.user.username, None);
        let frame = render::reset_frame(markup, &io.state.metrics);
        io.skip_through = io.skip_through.max(snap.seq);
        if io.send(frame).await { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
    }
}

impl Protocol for BoardLive {
    async fn on_text(&mut self, text: Utf8Bytes, io: &mut Io) -> ControlFlow<()> {
        let msg: BoardClientMsg = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                io.error("BAD_MESSAGE", e.to_string()).await;
                return ControlFlow::Continue(());
            }
        };
        let Some(signal) = msg.signal() else {
            let BoardClientMsg::Ping { timestamp } = msg else { return ControlFlow::Continue(()) };
            if self.signals.allow() {
                io.send_msg(ServerMsg::Pong { timestamp }).await;
            } else {
                io.error("RATE_LIMITED", "too many messages; slow down").await;
            }
            return ControlFlow::Continue(());
        };
        if self.signals.allow() {
            io.hub.signal(io.reg.key, self.board, signal);
        } else {
            io.error("RATE_LIMITED", "too many presence signals; slow down").await;
        }
        ControlFlow::Continue(())
    }

    async fn on_resync(&mut self, _seq: i64, _reason: &'static str, io: &mut Io) -> ControlFlow<()> {
        self.reset(io).await
    }
}
