//! The wire messages of both WebSocket protocols, as typed serde structs: every message of
//! docs/PROTOCOL.md is here, so the document and the code can be read side by side.
//!
//! hub and sockets → **protocol messages** → WebSocket text frames.

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    domain::{BoardId, Card, CardId},
    events::{Action, Collection, Event, Record},
};

// ---- client → server ----

/// A message from a `/realtime/subscribe` client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
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

/// A message from a board page on `/boards/{id}/live` (the board is the socket's own).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BoardClientMsg {
    Ping { timestamp: Option<Value> },
    Editing { card_id: i64 },
    EditingStop { card_id: i64 },
    Typing { card_id: i64 },
    TypingStop { card_id: i64 },
}

/// A presence signal from a client. The hub stamps it with the connection's user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Editing(CardId),
    EditingStop(CardId),
    Typing(CardId),
    TypingStop(CardId),
}

impl ClientMsg {
    /// The presence signal this message carries, with its board, if it is one.
    pub fn signal(&self) -> Option<(BoardId, Signal)> {
        let (b, s) = match *self {
            Self::Editing { board_id, card_id } => (board_id, Signal::Editing(CardId(card_id))),
            Self::EditingStop { board_id, card_id } => (board_id, Signal::EditingStop(CardId(card_id))),
            Self::Typing { board_id, card_id } => (board_id, Signal::Typing(CardId(card_id))),
            Self::TypingStop { board_id, card_id } => (board_id, Signal::TypingStop(CardId(card_id))),
            _ => return None,
        };
        Some((BoardId(b), s))
    }
}

impl BoardClientMsg {
    /// The presence signal this message carries, if it is one.
    pub fn signal(&self) -> Option<Signal> {
        Some(match *self {
            Self::Editing { card_id } => Signal::Editing(CardId(card_id)),
            Self::EditingStop { card_id } => Signal::EditingStop(CardId(card_id)),
            Self::Typing { card_id } => Signal::Typing(CardId(card_id)),
            Self::TypingStop { card_id } => Signal::TypingStop(CardId(card_id)),
            Self::Ping { .. } => return None,
        })
    }
}

// ---- server → client ----

/// A message from the server. Board pages get only `pong` and `error` as JSON; the rest of what
/// they receive is HTML fragments (see `crate::render`).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg<'a> {
    Connected {
        connection_id: &'a str,
        seq: i64,
        epoch: &'a str,
    },
    Subscribed(Subscribed<'a>),
    Unsubscribed(Unsubscribed<'a>),
    /// One committed change to a record a pattern selects.
    RecordEvent {
        collection: Collection,
        action: Action,
        record: RecordBody<'a>,
        timestamp: Option<String>,
        seq: i64,
        /// The change in words, actor first, as the activity shows it; absent when it has none.
        #[serde(skip_serializing_if = "Option::is_none")]
        summary: Option<&'a str>,
    },
    /// One change as a view subscription sees it.
    Event {
        subscription: &'a str,
        operation: ViewOp,
        data: Option<&'a Record>,
        seq: i64,
    },
    /// A custom event: on an app channel (`collection` is the channel, `id` its board or user id
    /// when it has one), or to everyone / one connection (`collection` null).
    CustomEvent {
        collection: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<i64>,
        data: &'a Value,
    },
    ResyncRequired {
        seq: i64,
        epoch: &'a str,
        reason: &'a str,
    },
    Pong {
        timestamp: Option<Value>,
    },
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        board_id: Option<BoardId>,
    },
    PresenceState {
        board_id: BoardId,
        users: &'a [String],
        editing: Vec<CardUser<'a>>,
        typing: Vec<CardUser<'a>>,
    },
    Presence {
        board_id: BoardId,
        event: PresenceEvent,
        user: &'a str,
        card_id: Option<CardId>,
    },
}

/// The forms of `subscribed`: to a pattern, a view, or a board's presence.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Subscribed<'a> {
    Pattern {
        pattern: &'a str,
    },
    View {
        subscription: &'a str,
        view: &'a str,
        board_id: BoardId,
        seq: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        initial: Option<Vec<&'a Card>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        resumed: Option<bool>,
    },
    Presence {
        presence: BoardId,
    },
}

/// The forms of `unsubscribed`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Unsubscribed<'a> {
    Pattern { pattern: &'a str },
    View { subscription: &'a str },
    Presence { presence: i64 },
}

/// A `record_event`'s record: the whole record, or only its id for a delete.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RecordBody<'a> {
    Whole(Option<&'a Record>),
    Id { id: i64 },
}

/// How a change looks from a view subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewOp {
    Insert,
    Update,
    Delete,
}

/// What happened to someone's presence on a board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceEvent {
    Join,
    Leave,
    Editing,
    EditingStop,
    Typing,
    TypingStop,
}

/// Someone editing or typing in a card.
#[derive(Debug, Serialize)]
pub struct CardUser<'a> {
    pub card_id: CardId,
    pub user: &'a str,
}

impl ServerMsg<'_> {
    /// The message as a text frame.
    pub fn text(&self) -> Utf8Bytes {
        // Every field is a plain value or a record that serialized into the event log already.
        Utf8Bytes::from(serde_json::to_string(self).expect("protocol messages serialize"))
    }

    /// The `record_event` message of a committed event.
    pub fn record_event(e: &Event) -> ServerMsg<'_> {
        ServerMsg::RecordEvent {
            collection: e.collection,
            action: e.action,
            record: match e.action {
                Action::Delete => RecordBody::Id { id: e.record_id },
                _ => RecordBody::Whole(e.after.as_ref()),
            },
            timestamp: e.at.format(&time::format_description::well_known::Rfc3339).ok(),
            seq: e.seq,
            summary: e.summary.as_deref().filter(|s| !s.is_empty()),
        }
    }

    /// An `error`; the connection stays open.
    pub fn error<'a>(code: &'a str, message: &'a str) -> ServerMsg<'a> {
        ServerMsg::Error { code, message, board_id: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../docs/PROTOCOL.md");

    /// One of each server message. The match makes a new variant fail to compile until it has a sample.
    fn samples() -> Vec<ServerMsg<'static>> {
        static DATA: Value = Value::Null;
        let all = vec![
            ServerMsg::Connected { connection_id: "c", seq: 1, epoch: "e" },
            ServerMsg::Subscribed(Subscribed::Pattern { pattern: "cards.*" }),
            ServerMsg::Unsubscribed(Unsubscribed::Pattern { pattern: "cards.*" }),
            ServerMsg::RecordEvent {
                collection: Collection::Cards,
                action: Action::Delete,
                record: RecordBody::Id { id: 1 },
                timestamp: None,
                seq: 1,
                summary: None,
            },
            ServerMsg::Event { subscription: "v1", operation: ViewOp::Insert, data: None, seq: 1 },
            ServerMsg::CustomEvent { collection: None, id: None, data: &DATA },
            ServerMsg::ResyncRequired { seq: 1, epoch: "e", reason: "too_old" },
            ServerMsg::Pong { timestamp: None },
            ServerMsg::error("BAD_MESSAGE", "m"),
            ServerMsg::PresenceState { board_id: BoardId(1), users: &[], editing: vec![], typing: vec![] },
            ServerMsg::Presence { board_id: BoardId(1), event: PresenceEvent::Join, user: "u", card_id: None },
        ];
        for m in &all {
            match m {
                ServerMsg::Connected { .. }
                | ServerMsg::Subscribed(_)
                | ServerMsg::Unsubscribed(_)
                | ServerMsg::RecordEvent { .. }
                | ServerMsg::Event { .. }
                | ServerMsg::CustomEvent { .. }
                | ServerMsg::ResyncRequired { .. }
                | ServerMsg::Pong { .. }
                | ServerMsg::Error { .. }
                | ServerMsg::PresenceState { .. }
                | ServerMsg::Presence { .. } => {}
            }
        }
        all
    }

    fn type_of(m: &ServerMsg) -> String {
        serde_json::to_value(m).unwrap()["type"].as_str().unwrap().to_owned()
    }

    fn is_client_type(t: &str) -> bool {
        let known = |e: serde_json::Error| !e.to_string().contains("unknown variant");
        let v = serde_json::json!({ "type": t });
        serde_json::from_value::<ClientMsg>(v.clone()).map_or_else(known, |_| true)
            || serde_json::from_value::<BoardClientMsg>(v).map_or_else(known, |_| true)
    }

    #[test]
    fn every_server_message_is_documented_in_protocol_md() {
        for m in samples() {
            let t = type_of(&m);
            assert!(DOC.contains(&format!("\"type\":\"{t}\"")), "docs/PROTOCOL.md does not show {t:?}");
        }
    }

    #[test]
    fn every_message_type_protocol_md_shows_is_one_the_code_knows() {
        let server: Vec<String> = samples().iter().map(type_of).collect();
        for part in DOC.split("\"type\":\"").skip(1) {
            let t: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            assert!(
                server.contains(&t) || is_client_type(&t),
                "docs/PROTOCOL.md shows {t:?}, which the code does not know"
            );
        }
    }
}
