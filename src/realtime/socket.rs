//! Socket plumbing shared by both wire protocols: handshake checks, limits, the per-connection loop
//! (client messages, the hub's queue, heartbeats, overflow), and replay from the event log.
//!
//! hub → per-connection queue → **socket loop** → WebSocket.

use std::{future::Future, ops::ControlFlow, sync::Arc, time::Instant};

use axum::{
    extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code},
    http::HeaderMap,
};
use futures_util::SinkExt;

use crate::{
    auth,
    error::Error,
    events::Event,
    hub::{
        Hub, Registration,
        queue::{Control, Frame, Out},
    },
    protocol::ServerMsg,
    state::AppState,
};

/// Sets the message limits and small per-connection buffers (memory matters at 10k+ sockets).
pub fn configure(ws: WebSocketUpgrade, state: &AppState) -> WebSocketUpgrade {
    let max = state.config.ws_max_message;
    ws.max_message_size(max)
        .max_frame_size(max)
        // Client messages are small; tungstenite allocates (and zero-fills) this buffer eagerly per socket
        // and grows it on demand for a larger message, so 1 KiB saves 3 KiB on every idle connection.
        .read_buffer_size(256)
        // Frames are fed in batches and flushed once (see `write_frames`); the buffer grows only when used.
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(MAX_OUTGOING_BYTES)
}

/// What one socket's write buffer may hold: a whole frame must fit, and the largest the server sends
/// is a view's snapshot (`subscribed` with `initial`) or a board page's `reset` of a full board,
/// about 0.4 KiB per card of plain text (2,000 cards: under 1 MiB). A frame over the cap would end
/// the connection, so the cap is far above any realistic board; the buffer only grows when used,
/// and the per-socket queue (`WS_QUEUE`) bounds what waits behind it.
const MAX_OUTGOING_BYTES: usize = 32 * 1024 * 1024;

/// The handshake's Origin check: a browser on another site gets 403 and no upgrade.
pub fn check_origin(headers: &HeaderMap, state: &AppState) -> Result<(), Error> {
    if auth::same_origin(headers, &state.config.allowed_origins) {
        Ok(())
    } else {
        Err(Error::Forbidden("origin not allowed"))
    }
}

/// A token bucket: `per_sec` refills per second, bursts up to `burst`.
pub struct RateLimit {
    burst: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    pub fn new(per_sec: f64, burst: f64) -> Self {
        Self { burst, per_sec, tokens: burst, last: Instant::now() }
    }
    /// Takes a token if there is one.
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_sec).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One connection's socket and its place in the hub.
pub struct Io {
    pub ws: WebSocket,
    pub reg: Registration,
    pub hub: Hub,
    pub state: AppState,
    /// Frames carrying events up to this seq are already reflected on the client (after a replay or reset).
    pub skip_through: i64,
    /// The highest event seq sent on this socket.
    pub sent_max: i64,
}

impl Io {
    /// Sends one text message now (bypassing the queue; used for replies and replays).
    pub async fn send(&mut self, text: impl Into<Utf8Bytes>) -> bool {
        self.ws.send(Message::Text(text.into())).await.is_ok()
    }

    /// Sends one protocol message now.
    pub async fn send_msg(&mut self, msg: ServerMsg<'_>) -> bool {
        self.send(msg.text()).await
    }

    /// A protocol error; the connection stays open.
    pub async fn error(&mut self, code: &str, message: impl AsRef<str>) -> bool {
        self.state.metrics.protocol_errors.inc();
        self.send_msg(ServerMsg::error(code, message.as_ref())).await
    }

    pub async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame { code, reason: reason.into() };
        let _ = self.ws.send(Message::Close(Some(frame))).await;
    }
}

/// What a wire protocol does with client messages and resyncs; the loop does the rest.
pub trait Protocol: Send {
    /// A text message from the client.
    fn on_text(&mut self, text: Utf8Bytes, io: &mut Io) -> impl Future<Output = ControlFlow<()>> + Send;
    /// The connection missed events: bring the client back to a whole state.
    fn on_resync(
        &mut self,
        seq: i64,
        reason: &'static str,
        io: &mut Io,
    ) -> impl Future<Output = ControlFlow<()>> + Send;
}

/// The connection loop: client messages, queued frames, heartbeats and overflow, until either side closes.
pub async fn run<P: Protocol>(mut io: Io, mut proto: P) {
    let cfg = io.state.config.clone();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + cfg.ws_ping_interval, cfg.ws_ping_interval);
    let mut last_seen = Instant::now();
    loop {
        tokio::select! {
            msg = io.ws.recv() => {
                match msg {
                    Some(Ok(Message::Text(t))) => {
                        last_seen = Instant::now();
                        // Boxed: a handler's future (replays, snapshots) is large and rare; inline, its
                        // space would sit in every idle connection's task for the socket's whole life.
                        if Box::pin(proto.on_text(t, &mut io)).await.is_break() { break; }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        last_seen = Instant::now();
                        io.error("BAD_MESSAGE", "send JSON text messages").await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => last_seen = Instant::now(),
                    Some(Ok(Message::Close(_))) => {
                        // tungstenite has queued its answer (the echo, or 1002 for a close code that is
                        // not allowed on the wire); it goes out on the next write, so flush it now.
                        let _ = io.ws.flush().await;
                        break;
                    }
                    None => break,
                    Some(Err(e)) => {
                        // The stream ends after a read error, but the sink still writes: tell the client why.
                        if let Some((code, reason)) = close_for(e) {
                            io.close(code, reason).await;
                        }
                        break;
                    }
                }
            }
            out = io.reg.rx.recv() => {
                // Frames already queued go out together: one write and one flush, not one per frame.
                let out = match out {
                    Some(Out::Frame(first)) => match write_frames(&mut io, first).await {
                        Ok(next) => next,
                        Err(()) => break,
                    },
                    other => other,
                };
                match out.map(|o| match o { Out::Control(c) => Some(*c), Out::Frame(_) => None }) {
                    None | Some(None) => {}
                    Some(Some(Control::Resync { seq, reason })) => {
                        if Box::pin(proto.on_resync(seq, reason, &mut io)).await.is_break() { break; }
                    }
                    Some(Some(Control::Close { code, reason })) => {
                        io.close(code, reason).await;
                        break;
                    }
                }
                recover_if_overflowed(&mut io);
                if io.reg.rx.is_closed() && io.reg.rx.is_empty() { break; }
            }
            _ = io.reg.overflow.raised() => recover_if_overflowed(&mut io),
            _ = ping.tick() => {
                if last_seen.elapsed() > cfg.ws_timeout {
                    io.close(close_code::AWAY, "no answer to ping").await;
                    break;
                }
                if io.ws.send(Message::Ping(Default::default())).await.is_err() { break; }
            }
        }
    }
}

/// When the hub found our queue full and stopped filling it: drop what is queued, ask to resume.
fn recover_if_overflowed(io: &mut Io) {
    if io.reg.overflow.take() {
        while io.reg.rx.try_recv().is_ok() {}
        io.hub.recover(io.reg.key, io.skip_through);
    }
}

/// The close code RFC 6455 asks for after a read error, or `None` when the peer is gone (nothing to tell).
fn close_for(e: axum::Error) -> Option<(u16, &'static str)> {
    use tungstenite::error::{Error as WsError, ProtocolError};
    let e = e.into_inner().downcast::<WsError>().ok()?;
    match *e {
        WsError::Capacity(_) => Some((close_code::SIZE, "message too big")),
        WsError::Utf8(_) => Some((close_code::INVALID, "invalid UTF-8")),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Protocol(_) => Some((close_code::PROTOCOL, "protocol error")),
        _ => None,
    }
}

/// Most frames written per flush: bounds the time one busy socket holds its task.
const MAX_BATCH: usize = 64;

/// Feeds `first` and whatever frames are already queued behind it, then flushes once.
/// Returns the control message that stopped the batch (resync or close), if any.
async fn write_frames(io: &mut Io, first: Arc<Frame>) -> Result<Option<Out>, ()> {
    let mut next = Some(Out::Frame(first));
    let mut written = 0;
    let stopped_by = loop {
        match next.take() {
            Some(Out::Frame(f)) => {
                if f.seq == 0 || f.seq > io.skip_through {
                    io.ws.feed(Message::Text(f.text.clone())).await.map_err(|_| ())?;
                    io.sent_max = io.sent_max.max(f.seq);
                    written += 1;
                }
                if written < MAX_BATCH {
                    next = io.reg.rx.try_recv().ok();
                }
            }
            other => break other,
        }
    };
    io.ws.flush().await.map_err(|_| ())?;
    Ok(stopped_by)
}

/// On an edge, the Redis stream may be a moment behind the writer that a client's `since` or a
/// snapshot is current to: wait briefly until this node's hub has routed `seq`, so the resume or
/// the snapshot's catch-up is a replay, not a resync. A single process never waits.
pub async fn caught_up(state: &AppState, seq: i64) {
    if state.reads.remote().is_none() {
        return;
    }
    state.hub.routed(seq, std::time::Duration::from_secs(2)).await;
}

/// Why a replay cannot be done and the client must resync instead.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplayGap {
    /// The client's seq is from another event stream (the database was reset).
    EpochChanged,
    /// Events after the client's seq were pruned by retention.
    TooOld,
    /// The client claims a seq we never published.
    FromTheFuture,
    /// More events than a replay is worth.
    TooMany,
}

impl ReplayGap {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::EpochChanged => "epoch_changed",
            Self::TooOld => "too_old",
            Self::FromTheFuture => "unknown_seq",
            Self::TooMany => "too_many",
        }
    }
}

/// Loads the events after `since` up to `upto`, or says why that would leave a gap.
pub async fn replay_range(
    state: &AppState,
    since: i64,
    epoch: Option<&str>,
    upto: i64,
    max: i64,
) -> Result<Vec<Arc<Event>>, ReplayGap> {
    if epoch.is_some_and(|e| e != state.hub.epoch()) {
        return Err(ReplayGap::EpochChanged);
    }
    if since > upto {
        return Err(ReplayGap::FromTheFuture);
    }
    if upto - since > max {
        return Err(ReplayGap::TooMany);
    }
    let info = state.reads.stream_info().await.map_err(|_| ReplayGap::TooOld)?;
    if since < info.pruned_through {
        return Err(ReplayGap::TooOld);
    }
    state.reads.load_range(since, upto).await.map_err(|_| ReplayGap::TooOld)
}
