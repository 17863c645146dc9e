//! Events: the record of every committed change, and the bus they are published on after commit.
//!
//! repository → **event bus** → hub (subscriptions) → renderer → socket. A row in `events` is
//! written in the same transaction as the change it describes; [`crate::db::WriteTx::commit`]
//! publishes it here in sequence order. Both wire protocols read these events and their `seq`.

use std::{
    borrow::Cow,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicI64, Ordering},
    },
};

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use sqlx::SqlitePool;
use time::OffsetDateTime;
use tokio::sync::broadcast;

use crate::{domain::*, error::Result};

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
    fn parse(s: &str) -> Self {
        match s {
            "create" => Self::Create,
            "delete" => Self::Delete,
            _ => Self::Update,
        }
    }
}

/// A record that lives on a board and is published when it changes.
///
/// Implement this (three lines) and call [`crate::db::WriteTx::record`] in the repository, and the new
/// collection flows to `/realtime/subscribe` with replay, authorization and metrics for free.
pub trait Record: Serialize + DeserializeOwned {
    /// The collection name clients subscribe to (`cards.*`).
    const COLLECTION: &'static str;
    /// The id clients subscribe to (`cards.42`).
    fn record_id(&self) -> i64;
    /// The board whose members may see this record.
    fn board_id(&self) -> BoardId;
}

impl Record for Board {
    const COLLECTION: &'static str = "boards";
    fn record_id(&self) -> i64 {
        self.id.0
    }
    fn board_id(&self) -> BoardId {
        self.id
    }
}
impl Record for Column {
    const COLLECTION: &'static str = "columns";
    fn record_id(&self) -> i64 {
        self.id.0
    }
    fn board_id(&self) -> BoardId {
        self.board_id
    }
}
impl Record for Card {
    const COLLECTION: &'static str = "cards";
    fn record_id(&self) -> i64 {
        self.id.0
    }
    fn board_id(&self) -> BoardId {
        self.board_id
    }
}
impl Record for Member {
    const COLLECTION: &'static str = "members";
    fn record_id(&self) -> i64 {
        self.user_id.0
    }
    fn board_id(&self) -> BoardId {
        self.board_id
    }
}
impl Record for Comment {
    const COLLECTION: &'static str = "comments";
    fn record_id(&self) -> i64 {
        self.id.0
    }
    fn board_id(&self) -> BoardId {
        self.board_id
    }
}

/// One committed change. Immutable once published; shared by `Arc` with every subscriber.
#[derive(Debug)]
pub struct Event {
    pub seq: i64,
    pub action: Action,
    pub collection: Cow<'static, str>,
    pub record_id: i64,
    pub board_id: BoardId,
    pub actor_id: Option<UserId>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub at: OffsetDateTime,
    /// The JSON protocol's `record_event` message, serialized once on first use.
    pub(crate) wire_json: OnceLock<Option<Utf8Bytes>>,
}

impl Event {
    pub(crate) fn new(
        action: Action,
        collection: &'static str,
        record_id: i64,
        board_id: BoardId,
        actor_id: Option<UserId>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Self {
            seq: 0,
            action,
            collection: Cow::Borrowed(collection),
            record_id,
            board_id,
            actor_id,
            before,
            after,
            at: OffsetDateTime::now_utc(),
            wire_json: OnceLock::new(),
        }
    }

    /// The record before the change, typed (`None` for creates, or for another collection).
    pub fn before<R: Record>(&self) -> Option<R> {
        self.typed(self.before.as_ref())
    }

    /// The record after the change, typed (`None` for deletes, or for another collection).
    pub fn after<R: Record>(&self) -> Option<R> {
        self.typed(self.after.as_ref())
    }

    fn typed<R: Record>(&self, v: Option<&Value>) -> Option<R> {
        if self.collection != R::COLLECTION {
            return None;
        }
        R::deserialize(v?).inspect_err(|e| tracing::warn!(seq = self.seq, error = %e, "undecodable event record")).ok()
    }

    /// The `record_event` message of `/realtime/subscribe`, serialized once and shared.
    /// `None` if the record cannot be serialized: it is logged and skipped, other events go on.
    pub fn json_message(&self) -> Option<Utf8Bytes> {
        self.wire_json
            .get_or_init(|| {
                let record = match self.action {
                    Action::Delete => serde_json::json!({ "id": self.record_id }),
                    _ => self.after.clone().unwrap_or(Value::Null),
                };
                let msg = serde_json::json!({
                    "type": "record_event",
                    "collection": self.collection,
                    "action": self.action,
                    "record": record,
                    "timestamp": self.at.format(&time::format_description::well_known::Rfc3339).ok(),
                    "seq": self.seq,
                });
                match serde_json::to_string(&msg) {
                    Ok(s) => Some(Utf8Bytes::from(s)),
                    Err(e) => {
                        tracing::error!(seq = self.seq, error = %e, "event cannot be serialized; skipped");
                        None
                    }
                }
            })
            .clone()
    }
}

/// The in-process bus: a tokio broadcast of committed events, plus the newest published `seq`.
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

/// The identity and replay window of the event log.
#[derive(Clone, Debug, Serialize)]
pub struct StreamInfo {
    pub epoch: String,
    pub pruned_through: i64,
}

/// Reads the stream's epoch and the lowest seq a replay can start after.
pub async fn stream_info(pool: &SqlitePool) -> Result<StreamInfo> {
    let (epoch, pruned_through): (String, i64) =
        sqlx::query_as("select epoch, pruned_through from stream where id = 1").fetch_one(pool).await?;
    Ok(StreamInfo { epoch, pruned_through })
}

/// The newest committed sequence number.
pub async fn latest_seq<'e>(db: impl sqlx::SqliteExecutor<'e>) -> Result<i64> {
    // sqlite_sequence remembers the last seq even when retention deleted every row.
    Ok(sqlx::query_scalar("select coalesce((select seq from sqlite_sequence where name = 'events'), 0)")
        .fetch_one(db)
        .await?)
}

/// Events with `after < seq <= upto`, in order: the replay of what a client missed.
pub async fn load_range(pool: &SqlitePool, after: i64, upto: i64) -> Result<Vec<Arc<Event>>> {
    type Row = (i64, Option<i64>, String, String, i64, Option<i64>, Option<String>, Option<String>, OffsetDateTime);
    let rows: Vec<Row> = sqlx::query_as(
        r#"select seq, board_id, collection, action, record_id, actor_id, before, after, created_at
           from events where seq > ? and seq <= ? order by seq"#,
    )
    .bind(after)
    .bind(upto)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, board_id, collection, action, record_id, actor_id, before, after, at)| {
            let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
            Arc::new(Event {
                seq,
                action: Action::parse(&action),
                collection: Cow::Owned(collection),
                record_id,
                board_id: BoardId(board_id.unwrap_or(0)),
                actor_id: actor_id.map(UserId),
                before: parse(before),
                after: parse(after),
                at,
                wire_json: OnceLock::new(),
            })
        })
        .collect())
}

/// Deletes events beyond the retention (by count and by age) and moves `pruned_through` up.
pub async fn prune(db: &crate::db::Db, keep: i64, max_age: std::time::Duration) -> Result<u64> {
    let cutoff = OffsetDateTime::now_utc() - max_age;
    let mut w = db.write(None).await?;
    let by_count: i64 =
        sqlx::query_scalar("select coalesce(max(seq), 0) - ? from events").bind(keep).fetch_one(w.conn()).await?;
    let by_age: i64 = sqlx::query_scalar("select coalesce(max(seq), 0) from events where created_at < ?")
        .bind(cutoff)
        .fetch_one(w.conn())
        .await?;
    let through = by_count.max(by_age);
    let mut deleted = 0;
    if through > 0 {
        deleted =
            sqlx::query("delete from events where seq <= ?").bind(through).execute(w.conn()).await?.rows_affected();
        sqlx::query("update stream set pruned_through = max(pruned_through, ?) where id = 1")
            .bind(through)
            .execute(w.conn())
            .await?;
    }
    w.commit().await?;
    Ok(deleted)
}
