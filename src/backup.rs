//! Operators' backups, beside the app: `liveboard backup PATH` copies the live database while the
//! server runs; `liveboard restore PATH` puts a copy back while it is stopped.
//!
//! A restored database is an older past: its event log ends earlier than what open pages and scripts
//! have already seen. So a restore gives the stream a new epoch (every client that resumes with the
//! old one is told `resync_required` / `reset`, see `replay_range` in `src/realtime/socket.rs`), and,
//! when the replaced database can still be read, moves the sequence past everything it ever published
//! and marks all of that as pruned, so even a client that sends no epoch resyncs instead of replaying
//! into a gap.

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use anyhow::{Context, bail};
use sqlx::{
    Connection, SqliteConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode},
};

/// Writes a consistent copy of the database at `db` to `dest` (which must not exist yet).
///
/// `VACUUM INTO` reads one snapshot, so writes going on meanwhile are either wholly in the copy or
/// not at all, and the copy is compact and standalone (no `-wal` beside it). It is written under
/// `dest.partial` and renamed when complete, so `dest` never holds half a backup.
pub async fn backup(db: &Path, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        bail!("{} already exists; a backup never overwrites a file", dest.display());
    }
    let partial = with_suffix(dest, ".partial");
    let _ = std::fs::remove_file(&partial);
    let mut conn = open_live(db).await?;
    sqlx::query("vacuum into ?")
        .bind(partial.to_string_lossy().as_ref())
        .execute(&mut conn)
        .await
        .with_context(|| format!("backing up {} into {}", db.display(), partial.display()))?;
    conn.close().await?;
    std::fs::rename(&partial, dest)?;
    Ok(())
}

/// Replaces the database at `db` with the backup at `src`. The server must be stopped: a database
/// someone still has open is refused. `src` itself is only read.
///
/// Steps: make sure nobody holds the old database and note the last seq it published; copy the
/// backup beside it and check the copy; give the copy a new epoch (and a sequence past the old
/// database's); remove the old database with its stale `-wal` and `-shm`; rename the copy into place.
pub async fn restore(db: &Path, src: &Path) -> anyhow::Result<()> {
    if !src.exists() {
        bail!("{} does not exist", src.display());
    }
    // What the replaced database published last; `None` when there is none, and then the new
    // epoch alone tells clients to resync. (An unreadable database must be moved away by hand.)
    let old_latest = match db.exists() {
        false => None,
        true => {
            // Switching a WAL database to a rollback journal needs the only connection to it: this
            // fails while the server (or anyone) has it open, and otherwise checkpoints the WAL.
            let mut old = open_rollback_journal(db)
                .await
                .with_context(|| format!("{} is in use: stop the server before restoring", db.display()))?;
            let latest = crate::repo::events::latest_seq(&mut old).await?;
            old.close().await?;
            Some(latest)
        }
    };

    let staged = with_suffix(db, ".restoring");
    remove_with_sidecars(&staged)?;
    std::fs::copy(src, &staged).with_context(|| format!("copying {} to {}", src.display(), staged.display()))?;
    if let Err(e) = prepare(&staged, old_latest).await {
        let _ = remove_with_sidecars(&staged);
        return Err(e.context(format!("{} cannot be restored", src.display())));
    }
    remove_with_sidecars(db)?;
    std::fs::rename(&staged, db)?;
    Ok(())
}

/// Checks the staged copy and starts a new stream in it: a new epoch, and a sequence past `old_latest`.
async fn prepare(staged: &Path, old_latest: Option<i64>) -> anyhow::Result<()> {
    let mut conn = open_rollback_journal(staged).await?;
    let check: String = sqlx::query_scalar("pragma quick_check").fetch_one(&mut conn).await?;
    if check != "ok" {
        bail!("it is damaged: {check}");
    }
    sqlx::query("update stream set epoch = lower(hex(randomblob(8))) where id = 1")
        .execute(&mut conn)
        .await
        .context("it has no event stream: not a backup of this app")?;
    if let Some(old) = old_latest {
        // One past the old stream's last seq: every seq a client can hold is now below
        // `pruned_through`, which replay refuses (too_old), and new events never reuse one.
        let floor = old + 1;
        sqlx::query("update stream set pruned_through = max(pruned_through, ?) where id = 1")
            .bind(floor)
            .execute(&mut conn)
            .await?;
        sqlx::query(
            r#"insert into sqlite_sequence (name, seq)
               select 'events', 0 where not exists (select 1 from sqlite_sequence where name = 'events')"#,
        )
        .execute(&mut conn)
        .await?;
        sqlx::query("update sqlite_sequence set seq = max(seq, ?) where name = 'events'")
            .bind(floor)
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

/// One connection to the live database, waiting a little for the server's writer.
async fn open_live(path: &Path) -> anyhow::Result<SqliteConnection> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let options = SqliteConnectOptions::from_str("sqlite:")?.filename(path).busy_timeout(Duration::from_secs(5));
    Ok(SqliteConnection::connect_with(&options).await?)
}

/// A connection that switches the file to a rollback journal, so closing it leaves no `-wal`.
/// No busy timeout: a database in use is an answer, not something to wait for.
async fn open_rollback_journal(path: &Path) -> anyhow::Result<SqliteConnection> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .journal_mode(SqliteJournalMode::Delete)
        .busy_timeout(Duration::ZERO);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    // SQLite may keep the old mode instead of failing: ask.
    let mode: String = sqlx::query_scalar("pragma journal_mode").fetch_one(&mut conn).await?;
    if mode != "delete" {
        bail!("still in {mode} mode: another connection has it open");
    }
    Ok(conn)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Removes a database file and its `-wal` / `-shm` (a stale WAL beside a new file would be replayed into it).
fn remove_with_sidecars(path: &Path) -> anyhow::Result<()> {
    for p in [path.to_owned(), with_suffix(path, "-wal"), with_suffix(path, "-shm"), with_suffix(path, "-journal")] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", p.display())),
        }
    }
    Ok(())
}
