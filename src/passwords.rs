//! Password hashing, bounded: handler (sign-up, log-in) → **hashing gate** → Argon2id on a blocking thread.
//!
//! One Argon2id hash holds ~19 MiB and a core for tens of milliseconds. Unbounded, a burst of
//! log-ins starts one blocking thread per request (tokio allows 512) and memory follows. So at most
//! `running` hashes run at once, at most `queue` callers wait for one, and anyone beyond is told to
//! come back (503 with `Retry-After`) before any work is done for them.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    domain::Password,
    error::{Error, Result},
};

/// The gate every password hash or check goes through. One per app (tests run several apps at once).
pub struct Hashing {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

/// Counts a caller as waiting until it has its permit (or gives up).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hashing {
    /// At most `running` hashes at once and `queue` callers waiting.
    pub fn new(running: usize, queue: usize) -> Self {
        Self { running: Arc::new(Semaphore::new(running.max(1))), waiting: AtomicUsize::new(0), queue }
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit> {
        if let Ok(p) = self.running.clone().try_acquire_owned() {
            return Ok(p);
        }
        let _waiting = Waiting(&self.waiting);
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            return Err(Error::Busy {
                message: "The server is busy checking passwords; try again in a moment",
                retry_after: 1,
            });
        }
        self.running.clone().acquire_owned().await.map_err(|e| Error::Other(e.into()))
    }

    /// Hashes a new password with Argon2id.
    pub async fn hash(&self, password: Password) -> Result<String> {
        let permit = self.permit().await?;
        // The permit moves into the blocking task: it is held until the hash is done, even if the
        // request that asked for it has gone away.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_now(&password)
        })
        .await
        .map_err(anyhow::Error::from)?
    }

    /// Checks a password against a stored hash. Unknown users (`None`) are checked against a dummy
    /// hash, so the answer takes as long as for a real one.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default().hash_password(b"not a real password", &salt).expect("dummy hash").to_string()
        });
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| DUMMY.clone());
            let ok = PasswordHash::new(&hash)
                .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false);
            known && ok
        })
        .await
        .map_err(|e| Error::Other(e.into()))
    }
}

/// Hashes on the current thread: for operators' commands, which run one at a time.
pub fn hash_now(password: &Password) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Other(anyhow::anyhow!("hashing failed: {e}")))
}
