//! The TCP layer under every HTTP request and WebSocket: an accepted connection closes with a
//! linger, so the last thing the server wrote (a close frame, a 413) reaches the peer.
//!
//! accept (`serve`) → **lingering connection** → hyper (HTTP, upgrades) → handlers and sockets.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::TcpStream,
};

/// Longest a closed connection keeps reading what the peer still sends.
const LINGER: Duration = Duration::from_secs(2);

/// An accepted connection. Dropped, it does not close at once: closing a socket with unread input
/// makes the kernel answer with a reset, and the peer's kernel may then discard what we sent last
/// and it has not read yet (a client still sending an oversized WebSocket message or request body
/// would see a reset instead of close 1009 or 413). So it sends FIN, then reads and discards until
/// the peer closes too, for [`LINGER`] at most.
pub struct Conn {
    /// Only `None` while being dropped.
    tcp: Option<TcpStream>,
}

impl Conn {
    pub fn new(tcp: TcpStream) -> Self {
        Self { tcp: Some(tcp) }
    }

    fn tcp(self: Pin<&mut Self>) -> Pin<&mut TcpStream> {
        Pin::new(self.get_mut().tcp.as_mut().expect("taken only on drop"))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(tcp) = self.tcp.take() else { return };
        // Outside a runtime (never, in practice) the socket just closes.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(linger(tcp));
        }
    }
}

async fn linger(mut tcp: TcpStream) {
    let _ = tcp.shutdown().await;
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(LINGER, async { while let Ok(1..) = tcp.read(&mut sink).await {} }).await;
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.tcp().poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.tcp().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.tcp().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.as_ref().is_some_and(|t| t.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tcp().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tcp().poll_shutdown(cx)
    }
}
