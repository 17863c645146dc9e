//! What one connection subscribed to: record patterns, JSON views, presence, or one board page.
//! This is the only copy; the JSON protocol asks the hub for it when it replays.
//!
//! socket → hub command → **subscriptions** (indexed by the registry) → dispatch.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use crate::{channels::Channel, domain::BoardId, events::Collection, events::Event, views::View};

/// A subscription pattern of the JSON protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Every record event (channels are not included: subscribe to them by name).
    All,
    Collection(Collection),
    Record(Collection, i64),
    /// An app channel: `news.*` (`None`: every message the user may receive) or `news.7`.
    Channel(Channel, Option<i64>),
}

impl Pattern {
    /// `*`, `cards.*`, `cards.42`, `news.*` or `board_notices.3`.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s == "*" {
            return Ok(Self::All);
        }
        let (c, rest) = s.split_once('.').ok_or("a pattern is \"*\", \"collection.*\" or \"collection.id\"")?;
        let id = match rest {
            "*" => None,
            id => Some(id.parse::<i64>().map_err(|_| "an id is a number")?),
        };
        if let Some(ch) = Channel::parse(c) {
            return Ok(Self::Channel(ch, id));
        }
        let c = Collection::parse(c).ok_or("unknown collection or channel")?;
        Ok(match id {
            None => Self::Collection(c),
            Some(id) => Self::Record(c, id),
        })
    }

    /// Whether this pattern selects `e` (before any access check).
    pub fn matches(&self, e: &Event) -> bool {
        match self {
            Self::All => true,
            Self::Collection(c) => *c == e.collection,
            Self::Record(c, id) => *c == e.collection && *id == e.record_id,
            Self::Channel(..) => false,
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Collection(c) => write!(f, "{c}.*"),
            Self::Record(c, id) => write!(f, "{c}.{id}"),
            Self::Channel(c, None) => write!(f, "{c}.*"),
            Self::Channel(c, Some(id)) => write!(f, "{c}.{id}"),
        }
    }
}

/// A view subscription of a JSON connection.
#[derive(Clone, Debug)]
pub struct ViewSub {
    pub board: BoardId,
    pub view: View,
    /// The name the client subscribed with (`active_cards`), echoed in `subscribed`.
    pub name: String,
    /// The seq the client's cards are as of (its snapshot, or the `since` it resumed from): the hub
    /// skips live events at or before it, which the client has already. A snapshot can be read
    /// before the hub has routed its last events, so without this they would come twice.
    pub after: i64,
}

/// Everything one connection is subscribed to.
#[derive(Clone, Debug, Default)]
pub struct Subscriptions {
    /// Each pattern, with the seq after which every event it selects was sent (live or replayed):
    /// a replay skips those, so a `resume` after live events neither repeats nor loses one.
    pub patterns: HashMap<Pattern, i64>,
    /// JSON view subscriptions by id (`v1`).
    pub views: HashMap<Arc<str>, ViewSub>,
    /// Boards whose presence a JSON connection follows.
    pub presence: HashSet<BoardId>,
    /// The one board and view of a `/boards/{id}/live` connection.
    pub board: Option<(BoardId, View)>,
}

/// Subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 100;

impl Subscriptions {
    pub fn count(&self) -> usize {
        self.patterns.len() + self.views.len() + self.presence.len() + usize::from(self.board.is_some())
    }

    /// Whether any pattern selects `e`, and through `*` (admins see every board through it).
    pub fn selects(&self, e: &Event) -> Option<bool> {
        if self.patterns.contains_key(&Pattern::All) {
            return Some(true);
        }
        self.patterns.keys().any(|p| p.matches(e)).then_some(false)
    }

    /// Whether `e` already went out on this socket: a pattern selecting it was live before it was
    /// routed, and the socket has sent events up to `sent_max`.
    pub fn already_sent(&self, e: &Event, sent_max: i64) -> bool {
        e.seq <= sent_max && self.patterns.iter().any(|(p, after)| e.seq > *after && p.matches(e))
    }

    /// Whether this connection follows `board` in any way (for revoking access).
    pub fn touches(&self, board: BoardId) -> bool {
        self.board.as_ref().is_some_and(|(b, _)| *b == board)
            || self.presence.contains(&board)
            || self.views.values().any(|v| v.board == board)
    }

    /// How the connection listing names each subscription.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.patterns.keys().map(Pattern::to_string).collect();
        out.extend(self.views.iter().map(|(id, v)| format!("view:{id}@board:{}", v.board)));
        out.extend(self.presence.iter().map(|b| format!("presence:{b}")));
        if let Some((b, _)) = &self.board {
            out.push(format!("board:{b}"));
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_and_print_the_same() {
        for s in ["*", "cards.*", "cards.42", "members.7", "news.*", "notifications.*", "board_notices.3"] {
            assert_eq!(Pattern::parse(s).unwrap().to_string(), s);
        }
        assert!(Pattern::parse("cards").is_err());
        assert!(Pattern::parse("nope.*").is_err());
        assert!(Pattern::parse("cards.x").is_err());
        assert!(Pattern::parse("news.x").is_err());
        assert!(Pattern::parse("newz.*").is_err());
    }
}
