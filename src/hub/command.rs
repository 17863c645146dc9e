//! The hub's commands: what connections, handlers and the presence clock ask of the hub task, sent
//! over its one channel and carried out in order by `task.rs`.
//!
//! socket / handler → **command** → hub task.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{
    ConnInfo, ConnectionListing, Kind, LimitReached, Settled, queue,
    queue::Out,
    subscriptions::{Pattern, Subscriptions, ViewSub},
};
use crate::{channels::ChannelMsg, domain::*, protocol::Signal};

/// Which connections [`Hub`] closes.
#[derive(Debug)]
pub(super) enum CloseTarget {
    Session(String),
    Token(i64),
    User(UserId),
    All,
}

pub(super) enum Cmd {
    Register {
        key: u64,
        info: ConnInfo,
        kind: Kind,
        tx: mpsc::Sender<Out>,
        notify: Arc<queue::Overflow>,
        reply: oneshot::Sender<i64>,
    },
    Unregister {
        key: u64,
    },
    Subscribe {
        key: u64,
        patterns: Vec<Pattern>,
        reply: oneshot::Sender<Result<i64, LimitReached>>,
    },
    Unsubscribe {
        key: u64,
        pattern: Option<Pattern>,
        reply: oneshot::Sender<()>,
    },
    SubscribeView {
        key: u64,
        id: Arc<str>,
        sub: ViewSub,
        reply: oneshot::Sender<Result<i64, LimitReached>>,
    },
    UnsubscribeView {
        key: u64,
        id: Arc<str>,
        reply: oneshot::Sender<bool>,
    },
    SubscribePresence {
        key: u64,
        board: BoardId,
        reply: oneshot::Sender<Result<bool, LimitReached>>,
    },
    UnsubscribePresence {
        key: u64,
        board: BoardId,
        reply: oneshot::Sender<bool>,
    },
    Subscriptions {
        key: u64,
        reply: oneshot::Sender<Subscriptions>,
    },
    Settle {
        key: u64,
        settled: Settled,
    },
    Signal {
        key: u64,
        board: BoardId,
        signal: Signal,
    },
    Recover {
        key: u64,
        covered: i64,
    },
    Ack {
        key: u64,
        seq: i64,
    },
    /// A custom event to one connection (`to`) or every JSON connection; `html` also to board pages.
    Custom {
        to: Option<String>,
        data: Value,
        html: Option<Utf8Bytes>,
    },
    /// A message on an app channel.
    Channel(ChannelMsg),
    Users {
        reply: oneshot::Sender<Vec<(UserId, bool, Option<i64>)>>,
    },
    List {
        reply: oneshot::Sender<Vec<ConnectionListing>>,
    },
    Close {
        target: CloseTarget,
        code: u16,
        reason: &'static str,
    },
    ResyncAll,
}
