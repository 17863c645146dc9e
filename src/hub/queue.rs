//! What travels on a connection's bounded queue: shared frames and rare control messages.
//!
//! hub → **per-connection queue** → socket loop.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;

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
