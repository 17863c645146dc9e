//! Password hashing, bounded: handler (sign-up, log-in) → **hashing gate** → Argon2id on a blocking thread.
//!
//! One Argon2id hash holds ~19 MiB and a core for tens of milliseconds. Unbounded, a burst of
//! log-ins starts one blocking thread per request (tokio allows 512) and memory follows. So at most
//! `running` hashes run at once, at most `queue` callers wait for one, and anyone beyond is told to
//! come back (503 with `Retry-After`) before any work is done for them.
//!
//! Each running hash works in one of `running` memory areas allocated once and reused: allocating
//! 19 MiB per hash leaves the allocator holding freed areas per thread, so memory grew with the
//! number of hashes (hundreds of MiB after a few dozen) even with the number at once bounded.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, SaltString, rand_core::OsRng},
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
    /// Argon2 working memory, one area per permit, allocated on first use and then reused.
    memory: Arc<std::sync::Mutex<Vec<Vec<Block>>>>,
}

/// A memory area lent to one hash; goes back to the pool when dropped.
struct Memory {
    blocks: Vec<Block>,
    pool: Arc<std::sync::Mutex<Vec<Vec<Block>>>>,
}

impl Memory {
    fn take(pool: &Arc<std::sync::Mutex<Vec<Vec<Block>>>>) -> Self {
        let blocks = pool.lock().expect("memory pool").pop();
        let blocks = blocks.unwrap_or_else(|| vec![Block::default(); Params::DEFAULT.block_count()]);
        Self { blocks, pool: pool.clone() }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        self.pool.lock().expect("memory pool").push(std::mem::take(&mut self.blocks));
    }
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
        Self {
            running: Arc::new(Semaphore::new(running.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            memory: Default::default(),
        }
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
        let memory = self.memory.clone();
        // The permit moves into the blocking task: it is held until the hash is done, even if the
        // request that asked for it has gone away.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_in(&mut Memory::take(&memory).blocks, &password)
        })
        .await
        .map_err(anyhow::Error::from)?
    }

    /// Checks a password against a stored hash. Unknown users (`None`) are checked against a dummy
    /// hash, so the answer takes as long as for a real one.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let mut blocks = vec![Block::default(); Params::DEFAULT.block_count()];
            hash_in(&mut blocks, &Password::parse("not a real password").expect("a valid password"))
                .expect("dummy hash")
        });
        let permit = self.permit().await?;
        let memory = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| DUMMY.clone());
            let ok = verify_in(&mut Memory::take(&memory).blocks, password.as_bytes(), &hash);
            known && ok
        })
        .await
        .map_err(|e| Error::Other(e.into()))
    }
}

/// Hashes on the current thread: for operators' commands, which run one at a time.
pub fn hash_now(password: &Password) -> Result<String> {
    hash_in(&mut vec![Block::default(); Params::DEFAULT.block_count()], password)
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::Other(anyhow::anyhow!("password hashing failed: {e}"))
}

/// Argon2id with the crate's default parameters, in `memory`, as a PHC string.
fn hash_in(memory: &mut [Block], password: &Password) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(failed)?;
    let params = Params::DEFAULT;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.expose().as_bytes(), salt_bytes, &mut out, memory)
        .map_err(failed)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(failed)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`, computed in `memory` (or in a fresh area if
/// the stored hash asks for more than the defaults). `Output`'s comparison is constant-time.
fn verify_in(memory: &mut [Block], password: &[u8], stored: &str) -> bool {
    let check = || -> Option<bool> {
        let h = PasswordHash::new(stored).ok()?;
        let params = Params::try_from(&h).ok()?;
        let algorithm = Algorithm::try_from(h.algorithm).ok()?;
        let version = h.version.map_or(Some(Version::V0x13), |v| Version::try_from(v).ok())?;
        let (expected, salt) = (h.hash?, h.salt?);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).ok()?;
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut own;
        let memory = if params.block_count() <= memory.len() {
            memory
        } else {
            own = vec![Block::default(); params.block_count()];
            own.as_mut_slice()
        };
        argon.hash_password_into_with_memory(password, salt_bytes, &mut out, memory).ok()?;
        Some(Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_made_here_verifies_with_the_argon2_crate_and_the_other_way_round() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let pw = Password::parse("correct horse").unwrap();
        let ours = hash_now(&pw).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"correct horse", &salt).unwrap();
        let mut memory = vec![Block::default(); Params::DEFAULT.block_count()];
        assert!(verify_in(&mut memory, b"correct horse", &theirs.to_string()));
        assert!(!verify_in(&mut memory, b"wrong horse", &theirs.to_string()));
        assert!(!verify_in(&mut memory, b"correct horse", "not a hash"));
    }
}
