//! What travels on a connection's bounded queue: shared frames and rare control messages.
//!
//! hub → **per-connection queue** → socket loop.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Notify;

/// The hub's word to a connection's task that its queue overflowed and nothing more is queued until
/// it asks to recover. A flag, checked after each read, and a wake-up: the task may have drained
/// the queue and gone to sleep between the hub's failed send and the flag, and would never read
/// again.
#[derive(Debug, Default)]
pub struct Overflow {
    flag: AtomicBool,
    wake: Notify,
}

impl Overflow {
    /// Called by the hub.
    pub fn raise(&self) {
        self.flag.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether the queue overflowed since the last call.
    pub fn take(&self) -> bool {
        self.flag.swap(false, Ordering::AcqRel)
    }

    /// Resolves when [`Overflow::raise`] was called (or had been, since the last wait).
    pub async fn raised(&self) {
        self.wake.notified().await
    }
}

/// A ready message, built once and shared by `Arc` with every connection it goes to.
#[derive(Debug)]
pub struct Frame {
    /// The event the frame carries (0 for presence and control messages).
    pub seq: i64,
    pub text: Utf8Bytes,
}

impl Frame {
    pub fn new(seq: i64, text: Utf8Bytes) -> Arc<Self> {
        Arc::new(Self { seq, text })
    }
}

/// What a connection's socket writer is given. Two words: every idle socket's queue holds room for
/// a block of these, so their size is memory per connection.
#[derive(Debug)]
pub enum Out {
    Frame(Arc<Frame>),
    /// Rare, so boxed.
    Control(Box<Control>),
}

/// Messages that change the connection rather than carry data.
#[derive(Debug)]
pub enum Control {
    /// The connection missed events (its queue overflowed, or its view changed shape): resync from `seq`.
    Resync { seq: i64, reason: &'static str },
    /// Close the socket with this code.
    Close { code: u16, reason: &'static str },
}

impl Out {
    pub fn resync(seq: i64, reason: &'static str) -> Self {
        Self::Control(Box::new(Control::Resync { seq, reason }))
    }
    pub fn close(code: u16, reason: &'static str) -> Self {
        Self::Control(Box::new(Control::Close { code, reason }))
    }
}
