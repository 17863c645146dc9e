//! Sessions: the cookie's record, stored in the SQLite file (tower-sessions-sqlx-store) and kept in
//! memory in front of it, so a request reads its session without a database round trip.
//!
//! request → session layer → **session store** → SQLite (on sign-in, sign-out and expiry only).
//!
//! Every change is written through to SQLite before the cache, so a restart loses nothing and
//! the cache never holds a session the database does not. A session ended elsewhere (a user
//! deleted or given a new password from the command line) still ends at once: its user is read
//! fresh on every request (`auth::session_user`), and a missing user or a session generation the
//! user has moved past flushes the session from both.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use time::OffsetDateTime;
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store,
};
use tower_sessions_sqlx_store::SqliteStore;

/// Sessions kept in memory at most; past it, expired ones go first, then the cache starts over
/// (each session is then read from SQLite once more).
const MAX_CACHED: usize = 100_000;

/// The session store: SQLite, with an in-memory copy of the sessions in use.
#[derive(Clone, Debug)]
pub struct CachedStore {
    db: SqliteStore,
    cache: Arc<Mutex<HashMap<Id, Record>>>,
}

impl CachedStore {
    pub fn new(db: SqliteStore) -> Self {
        Self { db, cache: Default::default() }
    }

    fn remember(&self, record: &Record) {
        let mut cache = self.cache.lock().expect("session cache lock");
        if cache.len() >= MAX_CACHED && !cache.contains_key(&record.id) {
            let now = OffsetDateTime::now_utc();
            cache.retain(|_, r| r.expiry_date > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(record.id, record.clone());
    }
}

#[async_trait::async_trait]
impl SessionStore for CachedStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.db.create(record).await?;
        self.remember(record);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.db.save(record).await?;
        self.remember(record);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let cached = self.cache.lock().expect("session cache lock").get(id).cloned();
        if let Some(record) = cached {
            return Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record));
        }
        let record = self.db.load(id).await?;
        if let Some(r) = &record {
            self.remember(r);
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.db.delete(id).await?;
        self.cache.lock().expect("session cache lock").remove(id);
        Ok(())
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for CachedStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.db.delete_expired().await?;
        let now = OffsetDateTime::now_utc();
        self.cache.lock().expect("session cache lock").retain(|_, r| r.expiry_date > now);
        Ok(())
    }
}
