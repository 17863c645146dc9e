//! Storage: the SQLite read pool, and the writer through which every change and its event row pass.
//!
//! Reads go through sqlx's pool. Writes go to one writer thread ([`writer`]) that owns the only
//! writing connection: SQLite allows one writer at a time anyway, so no write ever waits on
//! SQLITE_BUSY from another of ours, and one thread committing and then publishing is what keeps
//! the bus in sequence order.

pub mod point;
pub mod writer;

use std::{
    path::Path,
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::{domain::UserId, error::Result, events::EventBus};
pub use writer::{FromRow, WriteTx};

/// Handles to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    /// Readers (and the session store's single-statement writes).
    pub read: SqlitePool,
    /// Reads made on every request, on the caller's thread (see [`point`]).
    pub point: Arc<point::PointReads>,
    writer: writer::Writer,
    bus: EventBus,
    /// The last COMMIT that failed, until a later one succeeds: what `/health` reports.
    commit_failure: writer::CommitFailure,
    /// Where channel messages queued in a write go after its commit (see [`Db::on_commit_broadcast`]).
    broadcaster: writer::Broadcaster,
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
        // Migrations run once, on a connection of their own, before the writer thread starts.
        let migrator = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations").run(&migrator).await.map_err(anyhow::Error::from)?;
        migrator.close().await;
        let read = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        let commit_failure = writer::CommitFailure::default();
        let broadcaster = writer::Broadcaster::default();
        let writer = writer::Writer::start(path, bus.clone(), commit_failure.clone(), broadcaster.clone())?;
        Ok(Self {
            read,
            point: Arc::new(point::PointReads::new(path.to_owned())),
            writer,
            bus,
            commit_failure,
            broadcaster,
            last_probe: Default::default(),
            max_cards_per_board: crate::domain::MAX_CARDS_PER_BOARD,
        })
    }

    /// Whether a write can be made now, and if not why: `/health` asks. Runs a trial write on the
    /// writer (within `within`) that makes room for a 64 KiB row (so a full database or a page limit
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
        let probe = self.write(None, |w| {
            w.exec(
                "insert into events (collection, action, record_id, before, created_at) values ('health', 'create', 0, zeroblob(65536), '')",
                [],
            )?;
            // Nothing is kept and nothing is published.
            w.discard();
            Ok(())
        });
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

    /// Runs `change` on the writer thread in its own savepoint of the current batch: its statements
    /// and its event rows commit together or not at all, and its events are published (in `seq`
    /// order) before this returns. `actor` is stamped on every event.
    pub async fn write<T, F>(&self, actor: Option<UserId>, change: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T> + Send + 'static,
    {
        self.writer.write(actor, change).await
    }

    /// Closes the read pool (every clone of it included) and stops the writer thread: what
    /// `restore` needs of a stopped server.
    pub async fn close(&self) {
        self.writer.stop().await;
        self.point.close();
        self.read.close().await;
    }

    /// Sets, once, where channel messages queued by [`WriteTx::broadcast`] go after their commit (the
    /// app points it at the hub). False if it was set already.
    pub fn on_commit_broadcast(&self, send: impl Fn(crate::channels::ChannelMsg) + Send + Sync + 'static) -> bool {
        self.broadcaster.set(Box::new(send)).is_ok()
    }

    /// The bus events are published on after commit.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }
}

/// A time as stored in every `*_at` column: RFC 3339 text, as sqlx writes it, so rows written by
/// either side compare and parse alike.
pub struct Ts(pub OffsetDateTime);

impl rusqlite::ToSql for Ts {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        let s = self
            .0
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(s.into())
    }
}

impl rusqlite::types::FromSql for Ts {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(Ts)
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

/// What went wrong with a write, in words fit for an operator (no SQL, no paths).
pub(crate) fn storage_reason(e: &crate::error::Error) -> String {
    use crate::error::Error;
    match (e.sqlite_code(), e) {
        _ if e.is_storage_full() => "database or disk is full".into(),
        (Some(5 | 6), _) => "database is locked".into(),
        (Some(8), _) => "database is read-only".into(),
        (Some(10), _) => "disk I/O error".into(),
        (Some(11 | 26), _) => "database file is damaged".into(),
        (Some(c), _) => format!("SQLite error {c}"),
        (None, Error::Sqlx(sqlx::Error::Database(_))) => "database error".into(),
        (None, Error::Sqlx(e)) => format!("connection error ({})", sqlx_kind(e)),
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
