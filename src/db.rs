//! Storage: SQLite pools and the write transaction through which every change and its event row pass.
//!
//! One writer connection behind a lock, plus a read pool: SQLite allows one writer at a time anyway,
//! and taking the lock in-process means no write ever waits on SQLITE_BUSY. Holding the lock from
//! `BEGIN IMMEDIATE` until after the publish is also what keeps the bus in sequence order.
//!
//! The one writer must never be lost to a failed write. When SQLite rolls a transaction back on its
//! own (SQLITE_FULL, SQLITE_IOERR) sqlx still counts it as open; its `ROLLBACK` on drop then fails
//! and every later `BEGIN IMMEDIATE` is refused with `InvalidSavePointStatement`. So a connection
//! goes back to a pool only outside any transaction; otherwise it is closed and a fresh one opened.

use std::{
    path::Path,
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use sqlx::{
    Connection, Database, Sqlite, SqliteConnection, SqlitePool, Transaction, TransactionManager,
    pool::PoolConnectionMetadata,
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
    /// The last COMMIT that failed, until a later one succeeds: what `/health` reports.
    commit_failure: Arc<std::sync::Mutex<Option<(Instant, String)>>>,
    /// Cards a board may hold (0: no limit); repositories check it inside the write.
    pub max_cards_per_board: i64,
    /// The last writer probe and when it finished: callers who arrive while one runs share it, so
    /// a flood of `/health` requests takes the writer once at a time, not once each.
    last_probe: Arc<Mutex<Option<(Instant, Probe)>>>,
}

/// A writer probe's outcome: the reason it cannot write, if it cannot.
type Probe = std::result::Result<(), String>;

/// How long a failed COMMIT keeps `/health` unhealthy when no write has succeeded since.
const COMMIT_FAILURE_SHOWN: Duration = Duration::from_secs(60);

/// Whether a connection handed back to its pool is clean: outside any transaction, by sqlx's count.
/// A rollback queued by a dropped transaction runs first (the ping waits for it); a count still
/// above zero then means SQLite ended the transaction itself, and the connection is replaced.
async fn release_clean(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    let depth = |c: &SqliteConnection| <Sqlite as Database>::TransactionManager::get_transaction_depth(c);
    if depth(conn) == 0 {
        return Ok(true);
    }
    conn.ping().await?;
    if depth(conn) == 0 {
        return Ok(true);
    }
    tracing::warn!("a connection was left inside a transaction after a failed write; reopening it");
    Ok(false)
}

fn after_release(
    conn: &mut SqliteConnection,
    _: PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(release_clean(conn))
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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .after_release(after_release)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await.map_err(anyhow::Error::from)?;
        let read =
            SqlitePoolOptions::new().max_connections(8).after_release(after_release).connect_with(options).await?;
        Ok(Self {
            read,
            writer,
            write_lock: Arc::new(Mutex::new(())),
            bus,
            commit_failure: Default::default(),
            last_probe: Default::default(),
            max_cards_per_board: crate::domain::MAX_CARDS_PER_BOARD,
        })
    }

    /// Whether a write can be made now, and if not why: `/health` asks. Takes the writer (within
    /// `within`), begins `IMMEDIATE`, makes room for a 64 KiB row (so a full database or a page limit
    /// shows) and rolls back; a COMMIT that failed in the last minute, with none succeeding since,
    /// also counts.
    pub async fn check_writer(&self, within: Duration) -> std::result::Result<(), String> {
        let asked = Instant::now();
        let mut last = self.last_probe.lock().await;
        if let Some((at, result)) = &*last
            && *at >= asked
        {
            return result.clone();
        }
        let result = self.probe_writer(within).await;
        *last = Some((Instant::now(), result.clone()));
        result
    }

    async fn probe_writer(&self, within: Duration) -> std::result::Result<(), String> {
        let probe = async {
            let mut w = self.write(None).await?;
            sqlx::query(
                "insert into events (collection, action, record_id, before, created_at) values ('health', 'create', 0, zeroblob(65536), '')",
            )
            .execute(w.conn())
            .await?;
            // Dropping `w` rolls the probe back: nothing is kept and nothing is published.
            Ok::<_, crate::error::Error>(())
        };
        match tokio::time::timeout(within, probe).await {
            Err(_) => return Err(format!("the writer could not start a write within {} ms", within.as_millis())),
            Ok(Err(e)) => return Err(format!("the writer cannot write: {}", storage_reason(&e))),
            Ok(Ok(())) => {}
        }
        match &*self.commit_failure.lock().expect("commit failure lock") {
            Some((at, reason)) if at.elapsed() < COMMIT_FAILURE_SHOWN => {
                Err(format!("a commit failed {} s ago: {reason}", at.elapsed().as_secs()))
            }
            _ => Ok(()),
        }
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
        Ok(WriteTx {
            tx,
            _guard: guard,
            events: Vec::new(),
            bus: self.bus.clone(),
            actor,
            commit_failure: self.commit_failure.clone(),
        })
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
    commit_failure: Arc<std::sync::Mutex<Option<(Instant, String)>>>,
}

/// What went wrong with a write, in words fit for an operator (no SQL, no paths).
fn storage_reason(e: &crate::error::Error) -> String {
    use crate::error::Error;
    match e {
        e if e.is_storage_full() => "database or disk is full".into(),
        Error::Sqlx(sqlx::Error::Database(d)) => match d.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff) {
            Some(5 | 6) => "database is locked".into(),
            Some(8) => "database is read-only".into(),
            Some(10) => "disk I/O error".into(),
            Some(11 | 26) => "database file is damaged".into(),
            Some(c) => format!("SQLite error {c}"),
            None => "database error".into(),
        },
        Error::Sqlx(e) => format!("connection error ({})", sqlx_kind(e)),
        _ => "unexpected error".into(),
    }
}

fn sqlx_kind(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::PoolTimedOut => "pool timed out",
        sqlx::Error::PoolClosed => "pool closed",
        sqlx::Error::WorkerCrashed => "worker crashed",
        sqlx::Error::InvalidSavePointStatement => "connection stuck in a transaction",
        sqlx::Error::Io(_) => "I/O",
        _ => "other",
    }
}

impl WriteTx {
    /// The connection, for the change's own statements.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    /// Writes the event row for a change of one record in this transaction. Call it once per changed record.
    pub async fn record<R: Clone + Into<Record>>(
        &mut self,
        action: Action,
        before: Option<&R>,
        after: Option<&R>,
    ) -> Result<()> {
        let event = Event::new(action, self.actor, before.cloned().map(Into::into), after.cloned().map(Into::into));
        let json = |r: &Option<Record>| r.as_ref().map(serde_json::to_string).transpose();
        let (before, after) =
            (json(&event.before).map_err(anyhow::Error::from)?, json(&event.after).map_err(anyhow::Error::from)?);
        let seq: i64 = sqlx::query_scalar(
            r#"insert into events (board_id, collection, action, record_id, actor_id, before, after, created_at)
               values (?, ?, ?, ?, ?, ?, ?, ?) returning seq"#,
        )
        .bind(event.board_id)
        .bind(event.collection.as_str())
        .bind(event.action.as_str())
        .bind(event.record_id)
        .bind(event.actor_id)
        .bind(before)
        .bind(after)
        .bind(event.at)
        .fetch_one(&mut *self.tx)
        .await?;
        self.events.push(Event { seq, ..event });
        Ok(())
    }

    /// Commits, then publishes this transaction's events in sequence order.
    pub async fn commit(self) -> Result<Vec<Arc<Event>>> {
        let Self { tx, _guard, events, bus, commit_failure, .. } = self;
        if let Err(e) = tx.commit().await {
            let e = crate::error::Error::from(e);
            *commit_failure.lock().expect("commit failure lock") = Some((Instant::now(), storage_reason(&e)));
            return Err(e);
        }
        commit_failure.lock().expect("commit failure lock").take();
        let events: Vec<Arc<Event>> = events.into_iter().map(Arc::new).collect();
        for e in &events {
            bus.publish(e.clone());
        }
        Ok(events)
    }
}
