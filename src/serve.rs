//! Serving connections: TCP listener → **hyper (HTTP/1, timeouts, a connection cap)** → the router.
//!
//! `axum::serve` sets no header read timeout, so a client that sends `GET /hea` and stops holds its
//! connection (and a file descriptor) for ever, and a few hundred of them stop the server
//! accepting anyone. This loop is axum's, plus: a header read timeout (which on HTTP/1 also bounds
//! how long an idle keep-alive connection waits for its next request), a cap on open HTTP
//! connections, TCP_NODELAY, and the client's address in each request (`ConnectInfo`). A connection
//! upgraded to a WebSocket is handed to its socket task and leaves the cap at once, so sockets are
//! limited by `WS_MAX_TOTAL` and never crowd out page loads, nor page loads sockets.

use std::{future::Future, net::SocketAddr, pin::pin, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
};
use tower::ServiceExt;

/// What each connection is held to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request's head must arrive within this long of the connection opening or of the previous response.
    pub header_timeout: Duration,
    /// Open HTTP connections at most; the accept loop waits for one to close beyond that.
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Connection tasks watch `stop`; each holds a `done` receiver, so `done_tx.closed()` is "all finished".
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Live frames are small and latency matters: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let service = router.clone().map_request(move |mut req: axum::http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            req.map(Body::new)
        });
        let (mut stop, done) = (stop_rx.clone(), done_rx.clone());
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            // A lingering close: the last bytes written (a close frame, a 413) reach the peer (see `net`).
            let io = TokioIo::new(crate::net::Conn::new(tcp));
            let conn = http.serve_connection(io, TowerToHyperService::new(service)).with_upgrades();
            let mut conn = pin!(conn);
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = async { stop.wait_for(|s| *s).await.map(|_| ()) } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop((slot, done));
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}
