//! Storage: the writer thread. Every change and its event rows run here, as one job each, and the
//! jobs waiting at a moment commit together (group commit); events publish after the commit, in
//! `seq` order.
//!
//! handler → repository → **writer thread** → event bus (and, for channel messages, the hub).
//!
//! Why a thread of its own, with rusqlite, when the rest of the app reads through sqlx: a write is
//! several statements, and through sqlx each one is a hand-off to the connection's worker thread
//! and back to a tokio task that must then wait its turn behind every other request. Profiled, that
//! was most of the server's CPU (task switches and wake-ups); SQLite itself was under 1 %. Here a
//! job runs its statements back to back on the thread that owns the connection, so a write costs
//! one hand-off in and one answer out, whatever its statements, and the answers of a whole batch
//! go out after one COMMIT.
//!
//! Each job runs inside a savepoint: a job that fails rolls back alone and publishes nothing, the
//! others of its batch still commit. When SQLite ends the transaction itself (SQLITE_FULL, an I/O
//! error) the jobs already run in it lose their writes and are told so; the rest run in a new one.
//! A job runs to the end even when the request that sent it has gone away.

use std::{
    collections::VecDeque,
    path::{Path, PathBuf},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use rusqlite::{Connection, OpenFlags, Params, Row};

use crate::{
    channels::{Channel, ChannelMsg},
    domain::UserId,
    error::{Error, Result},
    events::{Action, Event, EventBus, Record},
};

/// Jobs committed together at most: enough to take a burst in a few commits, few enough that an
/// answer never waits long behind its batch.
const MAX_BATCH: usize = 64;

/// A change in progress on the writer thread. Read and write through [`WriteTx::conn`] (or the
/// helpers), record each changed record with [`WriteTx::record`]; return `Err` to roll back.
pub struct WriteTx<'c> {
    conn: &'c Connection,
    actor: Option<UserId>,
    events: Vec<Event>,
    messages: Vec<ChannelMsg>,
    discard: bool,
}

/// Where channel messages queued by [`WriteTx::broadcast`] go once their batch has committed: set
/// once by the app (to the hub), so the database does not import the hub. Unset, they are dropped.
pub type Broadcaster = Arc<std::sync::OnceLock<Box<dyn Fn(ChannelMsg) + Send + Sync>>>;

/// Reads a typed value out of a row: what [`WriteTx::one`], [`WriteTx::opt`] and [`WriteTx::all`] return.
pub trait FromRow: Sized {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: rusqlite::types::FromSql),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> { Ok(($(row.get($i)?,)+)) }
        }
    };
}
tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);

/// The first row `sql` returns on `conn`, if any (a cached prepared statement).
pub fn first_row<T: FromRow>(conn: &Connection, sql: &str, params: impl Params) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    Ok(match rows.next()? {
        Some(row) => Some(T::from_row(row)?),
        None => None,
    })
}

impl<'c> WriteTx<'c> {
    /// The writer's connection, inside this job's savepoint.
    pub fn conn(&self) -> &'c Connection {
        self.conn
    }

    /// The one row `sql` returns; [`Error::NotFound`] when there is none.
    pub fn one<T: FromRow>(&self, sql: &str, params: impl Params) -> Result<T> {
        self.opt(sql, params)?.ok_or(Error::NotFound)
    }

    /// The first row `sql` returns, if any.
    pub fn opt<T: FromRow>(&self, sql: &str, params: impl Params) -> Result<Option<T>> {
        first_row(self.conn, sql, params)
    }

    /// Every row `sql` returns.
    pub fn all<T: FromRow>(&self, sql: &str, params: impl Params) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, T::from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub fn exec(&self, sql: &str, params: impl Params) -> Result<usize> {
        Ok(self.conn.prepare_cached(sql)?.execute(params)?)
    }

    /// Writes the event row for a change of one record in this transaction. Call it once per changed record.
    pub fn record<R: Clone + Into<Record>>(
        &mut self,
        action: Action,
        before: Option<&R>,
        after: Option<&R>,
    ) -> Result<()> {
        let mut event = Event::new(action, self.actor, before.cloned().map(Into::into), after.cloned().map(Into::into));
        // Worded now, inside the transaction, so the names are those of this moment.
        event.summary = Some(crate::activity::summary(&event, &Names(self.conn)));
        // A card deleted or brought back with its comments and checklist items is one sentence: the
        // parts recorded before the card's event (in this job) are silenced now, those after it at once.
        for part in self.events.iter_mut().filter(|p| crate::activity::part_of(p, &event)) {
            part.summary = Some(String::new());
            self.conn.prepare_cached("update events set summary = '' where seq = ?")?.execute([part.seq])?;
        }
        if self.events.iter().any(|card| crate::activity::part_of(&event, card)) {
            event.summary = Some(String::new());
        }
        let json = |r: &Option<Record>| r.as_ref().map(serde_json::to_string).transpose();
        let (before, after) =
            (json(&event.before).map_err(anyhow::Error::from)?, json(&event.after).map_err(anyhow::Error::from)?);
        let (seq,): (i64,) = self.one(
            r#"insert into events (board_id, collection, action, record_id, actor_id, before, after, created_at, summary)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning seq"#,
            rusqlite::params![
                event.board_id,
                event.collection.as_str(),
                event.action.as_str(),
                event.record_id,
                event.actor_id,
                before,
                after,
                crate::db::Ts(event.at),
                event.summary,
            ],
        )?;
        self.events.push(Event { seq, ..event });
        Ok(())
    }

    /// The `seq` of the last event this job recorded, if it recorded one: what a caller hands back so
    /// the change can be undone (`POST /api/events/{seq}/undo`).
    pub fn last_seq(&self) -> Option<i64> {
        self.events.last().map(|e| e.seq)
    }

    /// Queues a message on an app channel, sent only after this job's batch has committed (and
    /// never if the job fails or the commit does): a notification is delivered only when its row is
    /// there. Addressed like [`crate::hub::Hub::broadcast`]: a board or user channel needs an `id`.
    pub fn broadcast(&mut self, channel: Channel, id: Option<i64>, data: serde_json::Value) -> Result<()> {
        let msg = ChannelMsg::new(channel, id, data).map_err(|e| anyhow::anyhow!("{e}"))?;
        self.messages.push(msg);
        Ok(())
    }

    /// Rolls this job back even though it succeeds: the health probe's trial write.
    pub(crate) fn discard(&mut self) {
        self.discard = true;
    }
}

/// The names an event's sentence needs, read on the writer's connection inside the job.
struct Names<'c>(&'c Connection);

impl Names<'_> {
    fn name(&self, sql: &str, id: i64) -> Option<String> {
        first_row::<(String,)>(self.0, sql, [id]).ok().flatten().map(|(s,)| s)
    }
}

impl crate::activity::Names for Names<'_> {
    fn column(&self, id: crate::domain::ColumnId) -> Option<String> {
        self.name("select name from columns where id = ?", id.0)
    }
    fn card(&self, id: crate::domain::CardId) -> Option<String> {
        self.name("select title from cards where id = ?", id.0)
    }
    fn user(&self, id: UserId) -> Option<String> {
        self.name("select username from users where id = ?", id.0)
    }
}

/// A job's answer, held until its batch has committed (or failed to).
type Answer = Box<dyn FnOnce(Option<Error>) + Send>;

/// A change given its transaction (or, when it cannot run, the reason): whether it succeeded, and
/// its answer.
type Change = Box<dyn for<'t, 'c> FnOnce(std::result::Result<&'t mut WriteTx<'c>, Error>) -> (bool, Answer) + Send>;

/// One change to run: who makes it, and the change itself, which hands back whether it succeeded
/// and how to answer once the batch is settled. Given an error instead of a transaction, it does
/// not run and answers with that error.
struct Job {
    actor: Option<UserId>,
    run: Change,
}

/// What the writer thread is sent.
enum Msg {
    Job(Job),
    /// Close the connection and end the thread, then say so.
    Stop(tokio::sync::oneshot::Sender<()>),
}

/// The handle to the writer thread: cheap to clone, every clone feeding the same thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Msg>,
}

/// The last COMMIT that failed, until a later one succeeds: what `/health` reports.
pub type CommitFailure = Arc<std::sync::Mutex<Option<(Instant, String)>>>;

impl Writer {
    /// Opens the writer's connection to `path` (already created and migrated) and starts its thread.
    pub fn start(path: &Path, bus: EventBus, commit_failure: CommitFailure, broadcaster: Broadcaster) -> Result<Self> {
        let path = path.to_owned();
        let conn = open(&path)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || Thread { conn, path, bus, commit_failure, broadcaster }.run(rx))
            .map_err(anyhow::Error::from)?;
        Ok(Self { tx })
    }

    /// Runs `change` as one job on the writer thread and waits for its answer, which comes after
    /// its batch has committed and its events are published. `actor` is stamped on every event.
    pub async fn write<T, F>(&self, actor: Option<UserId>, change: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let run = Box::new(move |w: std::result::Result<&mut WriteTx<'_>, Error>| {
            let result = w.and_then(change);
            let ok = result.is_ok();
            let answer: Answer = Box::new(move |lost: Option<Error>| {
                // A change that succeeded but whose batch did not commit gets the reason it was lost.
                let _ = reply.send(match lost {
                    Some(e) if ok => Err(e),
                    _ => result,
                });
            });
            (ok, answer)
        });
        self.tx.send(Msg::Job(Job { actor, run })).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stops the thread once the jobs sent before have run, and waits until its connection is closed.
    pub async fn stop(&self) {
        let (done, closed) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Stop(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

fn stopped() -> Error {
    Error::Other(anyhow::anyhow!("the database writer has stopped"))
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(
        "pragma journal_mode = wal; pragma synchronous = normal; pragma foreign_keys = on; pragma temp_store = memory;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// The writer thread's own state.
struct Thread {
    conn: Connection,
    path: PathBuf,
    bus: EventBus,
    commit_failure: CommitFailure,
    broadcaster: Broadcaster,
}

/// A job that has run in the open transaction, with its answer, the events it recorded and the
/// channel messages it queued.
struct Ran {
    answer: Answer,
    events: Vec<Event>,
    messages: Vec<ChannelMsg>,
}

impl Thread {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        let mut queue = VecDeque::new();
        while let Ok(msg) = rx.recv() {
            let mut stop = None;
            for msg in std::iter::once(msg).chain(rx.try_iter()) {
                match msg {
                    Msg::Job(job) => queue.push_back(job),
                    Msg::Stop(done) => stop = Some(done),
                }
            }
            while !queue.is_empty() {
                self.batch(&mut queue);
            }
            if let Some(done) = stop {
                // The connection closes before the caller hears back: a restore needs it gone.
                drop(self);
                let _ = done.send(());
                return;
            }
        }
    }

    /// Runs up to [`MAX_BATCH`] jobs from the front of `queue` in one transaction, then answers them.
    fn batch(&mut self, queue: &mut VecDeque<Job>) {
        if let Err(e) = self.conn.execute_batch("begin immediate") {
            let e = Error::from(e);
            tracing::warn!(error = %e, "the writer could not begin a transaction");
            // Nothing has run: every waiting job is told, none is lost silently.
            let n = queue.len().min(MAX_BATCH);
            for job in queue.drain(..n) {
                let (_, answer) = refuse(job, copy(&e));
                answer(None);
            }
            self.recover();
            return;
        }
        let mut ran: Vec<Ran> = Vec::new();
        while ran.len() < MAX_BATCH {
            let Some(job) = queue.pop_front() else { break };
            match self.one(job) {
                Ok(r) => ran.push(r),
                Err((answer, lost)) => {
                    // SQLite rolled the whole transaction back: this job failed, and the ones before
                    // it in the batch lost their writes. The rest of the queue starts a new one.
                    answer(None);
                    for r in ran {
                        (r.answer)(Some(copy(&lost)));
                    }
                    self.recover();
                    return;
                }
            }
        }
        match self.conn.execute_batch("commit") {
            Ok(()) => {
                self.commit_failure.lock().expect("commit failure lock").take();
                for r in &mut ran {
                    for e in r.events.drain(..) {
                        self.bus.publish(Arc::new(e));
                    }
                }
                // After the events: a message about a change follows the change itself.
                if let Some(send) = self.broadcaster.get() {
                    for r in &mut ran {
                        r.messages.drain(..).for_each(send);
                    }
                }
                for r in ran {
                    (r.answer)(None);
                }
            }
            Err(e) => {
                let e = Error::from(e);
                tracing::warn!(error = %e, "a commit failed");
                *self.commit_failure.lock().expect("commit failure lock") =
                    Some((Instant::now(), crate::db::storage_reason(&e)));
                for r in ran {
                    (r.answer)(Some(copy(&e)));
                }
                self.recover();
            }
        }
    }

    /// Runs one job in a savepoint. `Err` means SQLite ended the transaction under it: the job's
    /// answer (already its failure) and the reason, for the jobs that ran before it.
    fn one(&mut self, job: Job) -> std::result::Result<Ran, (Answer, Error)> {
        if let Err(e) = self.run_cached("savepoint job") {
            let e = Error::from(e);
            let (_, answer) = refuse(job, copy(&e));
            return Err((answer, e));
        }
        let mut w =
            WriteTx { conn: &self.conn, actor: job.actor, events: Vec::new(), messages: Vec::new(), discard: false };
        let (ok, answer) = (job.run)(Ok(&mut w));
        let (events, messages, discard) = (std::mem::take(&mut w.events), std::mem::take(&mut w.messages), w.discard);
        if self.conn.is_autocommit() {
            return Err((answer, Error::Other(anyhow::anyhow!("the write transaction was rolled back by SQLite"))));
        }
        let keep = ok && !discard;
        let end = if keep {
            self.run_cached("release job")
        } else {
            self.run_cached("rollback to job").and_then(|()| self.run_cached("release job"))
        };
        if let Err(e) = end {
            return Err((answer, Error::from(e)));
        }
        let (events, messages) = if keep { (events, messages) } else { Default::default() };
        Ok(Ran { answer, events, messages })
    }

    /// A transaction-control statement, prepared once: they run twice per job.
    fn run_cached(&self, sql: &str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(sql)?.execute([]).map(|_| ())
    }

    /// After a failed BEGIN, COMMIT or savepoint: make sure no transaction is left open, and open a
    /// fresh connection if the old one cannot get out of one.
    fn recover(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("rollback");
        }
        if !self.conn.is_autocommit() {
            tracing::warn!("the writer connection is stuck in a transaction; reopening it");
            match open(&self.path) {
                Ok(conn) => self.conn = conn,
                Err(e) => tracing::error!(error = %e, "could not reopen the writer connection"),
            }
        }
    }
}

/// Answers a job that never ran with `e`.
fn refuse(job: Job, e: Error) -> (bool, Answer) {
    (job.run)(Err(e))
}

/// The same error again, for each job of a batch that failed as one.
fn copy(e: &Error) -> Error {
    match e {
        Error::Sqlite(rusqlite::Error::SqliteFailure(code, msg)) => {
            Error::Sqlite(rusqlite::Error::SqliteFailure(*code, msg.clone()))
        }
        e => Error::Other(anyhow::anyhow!("{e}")),
    }
}
