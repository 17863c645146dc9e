//! Events: the record of every committed change, and the bus they are published on after commit.
//!
//! repository → **event bus** → hub (subscriptions) → renderer → socket. A row in `events` is
//! written in the same transaction as the change it describes; [`crate::db::WriteTx::commit`]
//! publishes it here in sequence order. Both wire protocols read these events and their `seq`.
//! The log's SQL (ranges, pruning, the stream's epoch) is in [`crate::repo::events`].

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::broadcast;

use crate::domain::*;

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// Declares the closed set of realtime collections: one line per record type. Adding a line makes
/// the compiler point at every `match` over [`Collection`] or [`Record`] that must learn the new one.
macro_rules! collections {
    ($($variant:ident($ty:ident) = $name:literal),* $(,)?) => {
        /// A collection clients subscribe to (`cards.*`): the kind of a [`Record`].
        // Serialized by its declared name, so `ChecklistItems` is "checklist_items" on the wire too.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Collection { $(#[serde(rename = $name)] $variant),* }

        impl Collection {
            /// Every collection, in declaration order.
            pub const ALL: &[Collection] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)* _ => None }
            }
        }

        /// A committed record, typed: what an event carries before and after the change.
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Record { $($variant($ty)),* }

        impl Record {
            pub fn collection(&self) -> Collection {
                match self { $(Self::$variant(_) => Collection::$variant),* }
            }

            /// Reads a record of `collection` back from its JSON in the event log.
            pub fn from_json(collection: Collection, json: &str) -> serde_json::Result<Self> {
                match collection { $(Collection::$variant => serde_json::from_str(json).map(Self::$variant)),* }
            }
        }

        $(
            impl From<$ty> for Record {
                fn from(r: $ty) -> Self { Self::$variant(r) }
            }
            impl<'a> TryFrom<&'a Record> for &'a $ty {
                type Error = ();
                fn try_from(r: &'a Record) -> Result<Self, ()> {
                    match r { Record::$variant(x) => Ok(x), #[allow(unreachable_patterns)] _ => Err(()) }
                }
            }
        )*
    };
}

collections! {
    Boards(Board) = "boards",
    Columns(Column) = "columns",
    Cards(Card) = "cards",
    Members(Member) = "members",
    Comments(Comment) = "comments",
    ChecklistItems(ChecklistItem) = "checklist_items",
}

impl std::fmt::Display for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Record {
    /// The id clients subscribe to (`cards.42`); a member's is their user id.
    pub fn id(&self) -> i64 {
        match self {
            Self::Boards(b) => b.id.0,
            Self::Columns(c) => c.id.0,
            Self::Cards(c) => c.id.0,
            Self::Members(m) => m.user_id.0,
            Self::Comments(c) => c.id.0,
            Self::ChecklistItems(i) => i.id.0,
        }
    }

    /// The board whose members may see this record.
    pub fn board_id(&self) -> BoardId {
        match self {
            Self::Boards(b) => b.id,
            Self::Columns(c) => c.board_id,
            Self::Cards(c) => c.board_id,
            Self::Members(m) => m.board_id,
            Self::Comments(c) => c.board_id,
            Self::ChecklistItems(i) => i.board_id,
        }
    }
}

/// One committed change. Immutable once published; shared by `Arc` with every subscriber.
#[derive(Debug)]
pub struct Event {
    pub seq: i64,
    pub action: Action,
    pub collection: Collection,
    pub record_id: i64,
    pub board_id: BoardId,
    pub actor_id: Option<UserId>,
    pub before: Option<Record>,
    pub after: Option<Record>,
    pub at: OffsetDateTime,
    /// The change in words, actor first (see [`crate::activity`]); `None` for rows logged before
    /// summaries were written, empty when the change shows nothing a person would notice.
    pub summary: Option<String>,
}

impl Event {
    /// The event for a change from `before` to `after` (at least one is present), not yet numbered.
    pub fn new(action: Action, actor_id: Option<UserId>, before: Option<Record>, after: Option<Record>) -> Self {
        let subject = after.as_ref().or(before.as_ref()).expect("an event describes a record");
        Self {
            seq: 0,
            action,
            collection: subject.collection(),
            record_id: subject.id(),
            board_id: subject.board_id(),
            actor_id,
            before,
            after,
            at: OffsetDateTime::now_utc(),
            summary: None,
        }
    }

    /// The record before and after the change as `R` (`None` when the event is of another collection).
    pub fn typed<'a, R>(&'a self) -> Option<(Option<&'a R>, Option<&'a R>)>
    where
        &'a R: TryFrom<&'a Record>,
    {
        let get = |r: &'a Option<Record>| r.as_ref().and_then(|r| <&R>::try_from(r).ok());
        let (b, a) = (get(&self.before), get(&self.after));
        (b.is_some() || a.is_some()).then_some((b, a))
    }

    /// The record after the change as `R`, if this is an event of `R`'s collection.
    pub fn after<'a, R>(&'a self) -> Option<&'a R>
    where
        &'a R: TryFrom<&'a Record>,
    {
        self.typed::<R>()?.1
    }

    /// The record before the change as `R`, if this is an event of `R`'s collection.
    pub fn before<'a, R>(&'a self) -> Option<&'a R>
    where
        &'a R: TryFrom<&'a Record>,
    {
        self.typed::<R>()?.0
    }
}

/// A record as a change left it, and the `seq` of the event that recorded the change: what a
/// repository hands back when its caller may offer to undo it (`POST /api/events/{seq}/undo`).
#[derive(Debug)]
pub struct Changed<T> {
    pub record: T,
    pub seq: i64,
}

/// Where the hub reads committed events from: the seam a broker plugs into. In one process it is
/// the in-process bus; an edge process would feed the same bus from a Redis stream.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    latest: Arc<AtomicI64>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        Self { tx: broadcast::channel(capacity).0, latest: Arc::new(AtomicI64::new(0)) }
    }

    /// Called only by [`crate::db::WriteTx::commit`], under the write lock, in `seq` order.
    pub(crate) fn publish(&self, e: Arc<Event>) {
        self.latest.store(e.seq, Ordering::Release);
        // No receiver is fine: nobody is listening yet.
        let _ = self.tx.send(e);
    }

    /// Subscribes to events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// The newest published sequence number.
    pub fn latest(&self) -> i64 {
        self.latest.load(Ordering::Acquire)
    }

    pub(crate) fn set_latest(&self, seq: i64) {
        self.latest.store(seq, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::Collection;

    #[test]
    fn every_collection_has_one_name_in_patterns_and_on_the_wire() {
        for c in Collection::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str(), "{c:?}");
            assert_eq!(Collection::parse(c.as_str()), Some(*c));
        }
    }
}
