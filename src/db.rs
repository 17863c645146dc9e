//! Storage: SQLite pools and the write transaction through which every change and its event row pass.
//!
//! One writer connection behind a lock, plus a read pool: SQLite allows one writer at a time anyway,
//! and taking the lock in-process means no write ever waits on SQLITE_BUSY. Holding the lock from
//! `BEGIN IMMEDIATE` until after the publish is also what keeps the bus in sequence order.

use std::{path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    Sqlite, SqliteConnection, SqlitePool, Transaction,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{
    domain::UserId,
    error::Result,
    events::{Action, Event, EventBus, Record},
};

/// Handles to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    /// Readers (and the session store's single-statement writes).
    pub read: SqlitePool,
    writer: SqlitePool,
    write_lock: Arc<Mutex<()>>,
    bus: EventBus,
}

impl Db {
    /// Opens (creating file and folder when missing) and migrates the database.
    pub async fn open(path: &Path, bus: EventBus) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(anyhow::Error::from)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("temp_store", "memory");
        let writer =
            SqlitePoolOptions::new().max_connections(1).min_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations").run(&writer).await.map_err(anyhow::Error::from)?;
        let read = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        Ok(Self { read, writer, write_lock: Arc::new(Mutex::new(())), bus })
    }

    /// Starts a write: waits for the writer, then `BEGIN IMMEDIATE`. `actor` is stamped on every event.
    pub async fn write(&self, actor: Option<UserId>) -> Result<WriteTx> {
        let (lock, writer) = (self.write_lock.clone(), self.writer.clone());
        // Begun in a task of its own: a caller cancelled in the middle (a client that went away) must
        // not strand the one writer connection inside a transaction nobody will end. If the caller is
        // gone, the task's result is dropped, which rolls back and releases the lock.
        let (guard, tx) = tokio::spawn(async move {
            let guard = lock.lock_owned().await;
            let tx = writer.begin_with("BEGIN IMMEDIATE").await?;
            Ok::<_, sqlx::Error>((guard, tx))
        })
        .await
        .map_err(anyhow::Error::from)??;
        Ok(WriteTx { tx, _guard: guard, events: Vec::new(), bus: self.bus.clone(), actor })
    }

    /// Closes both pools, every clone of them included: what `restore` needs of a stopped server.
    pub async fn close(&self) {
        self.writer.close().await;
        self.read.close().await;
    }

    /// The bus events are published on after commit.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }
}

/// A write in progress. Record changes with [`WriteTx::record`]; nothing is published unless
/// [`WriteTx::commit`] succeeds, and dropping it rolls back.
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _guard: OwnedMutexGuard<()>,
    events: Vec<Event>,
    bus: EventBus,
    actor: Option<UserId>,
}

impl WriteTx {
    /// The connection, for the change's own statements.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    /// Writes the event row for a change of `R` in this transaction. Call it once per changed record.
    pub async fn record<R: Record>(&mut self, action: Action, before: Option<&R>, after: Option<&R>) -> Result<()> {
        let subject = after.or(before).expect("an event describes a record");
        let event = Event::new(
            action,
            R::COLLECTION,
            subject.record_id(),
            subject.board_id(),
            self.actor,
            before.map(serde_json::to_value).transpose().map_err(anyhow::Error::from)?,
            after.map(serde_json::to_value).transpose().map_err(anyhow::Error::from)?,
        );
        let seq: i64 = sqlx::query_scalar(
            r#"insert into events (board_id, collection, action, record_id, actor_id, before, after, created_at)
               values (?, ?, ?, ?, ?, ?, ?, ?) returning seq"#,
        )
        .bind(event.board_id)
        .bind(&*event.collection)
        .bind(event.action.as_str())
        .bind(event.record_id)
        .bind(event.actor_id)
        .bind(event.before.as_ref().map(|v| v.to_string()))
        .bind(event.after.as_ref().map(|v| v.to_string()))
        .bind(event.at)
        .fetch_one(&mut *self.tx)
        .await?;
        self.events.push(Event { seq, ..event });
        Ok(())
    }

    /// Commits, then publishes this transaction's events in sequence order.
    pub async fn commit(self) -> Result<Vec<Arc<Event>>> {
        let Self { tx, _guard, events, bus, .. } = self;
        tx.commit().await?;
        let events: Vec<Arc<Event>> = events.into_iter().map(Arc::new).collect();
        for e in &events {
            bus.publish(e.clone());
        }
        Ok(events)
    }
}
