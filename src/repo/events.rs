//! The event log's own SQL: its newest seq, ranges for replay, the stream's epoch, and pruning.
//!
//! repository → **event log** (rows written by [`crate::db::WriteTx::record`]) → replay on the sockets.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use time::OffsetDateTime;

use crate::{
    db::Db,
    domain::{BoardId, UserId},
    error::Result,
    events::{Action, Collection, Event, Record},
};

/// The identity and replay window of the event log.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

/// One row of the event log as stored: what replays decode, and what the writer relays to Redis
/// and hands to edges (so both ends decode it with [`EventRow::decode`]).
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub board_id: Option<i64>,
    pub collection: String,
    pub action: String,
    pub record_id: i64,
    pub actor_id: Option<i64>,
    pub before: Option<String>,
    pub after: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Absent in rows relayed by an older build.
    #[serde(default)]
    pub summary: Option<String>,
}

impl EventRow {
    /// The typed event; rows of a collection or action this build does not know (a newer schema)
    /// are skipped, with a log.
    pub fn decode(self) -> Option<Arc<Event>> {
        let EventRow { seq, board_id, collection, action, record_id, actor_id, before, after, created_at, summary } =
            self;
        let (Some(collection), Some(action)) = (Collection::parse(&collection), Action::parse(&action)) else {
            tracing::warn!(seq, collection, action, "event of an unknown kind skipped");
            return None;
        };
        let parse = |s: Option<String>| {
            s.and_then(|s| {
                Record::from_json(collection, &s)
                    .inspect_err(|e| tracing::warn!(seq, error = %e, "undecodable event record"))
                    .ok()
            })
        };
        Some(Arc::new(Event {
            seq,
            action,
            collection,
            record_id,
            board_id: BoardId(board_id.unwrap_or(0)),
            actor_id: actor_id.map(UserId),
            before: parse(before),
            after: parse(after),
            at: created_at,
            summary,
        }))
    }
}

/// Rows with `after < seq <= upto`, in order, as stored.
pub async fn load_rows(pool: &SqlitePool, after: i64, upto: i64) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        r#"select seq, board_id, collection, action, record_id, actor_id, before, after, created_at, summary
           from events where seq > ? and seq <= ? order by seq"#,
    )
    .bind(after)
    .bind(upto)
    .fetch_all(pool)
    .await?)
}

/// Events with `after < seq <= upto`, in order: the replay of what a client missed.
pub async fn load_range(pool: &SqlitePool, after: i64, upto: i64) -> Result<Vec<Arc<Event>>> {
    Ok(load_rows(pool, after, upto).await?.into_iter().filter_map(EventRow::decode).collect())
}

/// Deletes events beyond the retention (by count and by age) and moves `pruned_through` up.
pub async fn prune(db: &Db, keep: i64, max_age: std::time::Duration) -> Result<u64> {
    let cutoff = OffsetDateTime::now_utc() - max_age;
    db.write(None, move |w| {
        let (by_count,): (i64,) = w.one("select coalesce(max(seq), 0) - ? from events", [keep])?;
        let (by_age,): (i64,) =
            w.one("select coalesce(max(seq), 0) from events where created_at < ?", [crate::db::Ts(cutoff)])?;
        let through = by_count.max(by_age);
        if through <= 0 {
            return Ok(0);
        }
        let deleted = w.exec("delete from events where seq <= ?", [through])?;
        w.exec("update stream set pruned_through = max(pruned_through, ?) where id = 1", [through])?;
        Ok(deleted as u64)
    })
    .await
}
