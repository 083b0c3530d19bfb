//! Accepting connections, with what keeps one client from starving the others: at most
//! `max_connections` served at once (further ones wait in the listen queue until a slot
//! frees), and hyper's header read timeout, so a client that opens a connection and never
//! finishes its headers — or idles on a keep-alive one — is cut off.
//!
//! `axum::serve` offers neither (it gives hyper no timer, so no header timeout), hence this
//! loop over hyper's own HTTP/1 connection builder.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::{SHUTDOWN_GRACE, Shared, router};

/// How much of the server one client may hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once (at least 1).
    pub max_connections: usize,
    /// The time a client has to send a request's headers, and to start the next one on a
    /// kept-alive connection.
    pub header_timeout: Duration,
}

/// How long to wait before accepting again after the system refused (out of file
/// descriptors, …): retrying at once would spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serve until `shutdown` resolves; then stop accepting, let in-flight requests finish for at
/// most [`SHUTDOWN_GRACE`], and return.
pub async fn serve(
    listener: TcpListener,
    state: Shared,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        // A slot first, then the connection: while all are taken, new clients wait in the
        // kernel's listen queue rather than being accepted and left unanswered.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(Body::new))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {peer}: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!(
                "requests still running {}s after shutdown began; exiting anyway",
                SHUTDOWN_GRACE.as_secs()
            );
        }
    }
    Ok(())
}
