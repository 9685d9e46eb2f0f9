//! The accept loop.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::ServerConfig;
use crate::connection::{self, SharedLimits};
use crate::handler::RequestHandler;

/// Serves connections on `listener` with `handler` until `shutdown` completes, then
/// stops accepting, lets in-flight requests answer (up to `shutdown_grace`), closes every
/// connection and returns.
pub async fn run(
    listener: TcpListener,
    handler: Arc<dyn RequestHandler>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local_addr = listener.local_addr()?;
    let connection_slots = Arc::new(Semaphore::new(config.max_connections));
    let shared = SharedLimits {
        in_flight: Arc::new(Semaphore::new(config.max_in_flight_requests)),
    };
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    tokio::pin!(shutdown);
    info!(%local_addr, "remoting server listening");
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Running out of file descriptors and the like: back off, keep serving.
                warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = connection_slots.clone().try_acquire_owned() else {
            warn!(%peer, max = config.max_connections, "connection limit reached, refusing");
            drop(stream);
            continue;
        };
        match connection::spawn(
            stream,
            config.connection.clone(),
            handler.clone(),
            Some(shared.clone()),
            stop.clone(),
            config.shutdown_grace,
        ) {
            Ok((_channel, task)) => {
                tracker.spawn(async move {
                    let _ = task.await;
                    drop(slot);
                });
            }
            Err(error) => warn!(%peer, %error, "could not set up connection"),
        }
    }
    info!(%local_addr, "remoting server shutting down");
    drop(listener);
    stop.cancel();
    tracker.close();
    tracker.wait().await;
    Ok(())
}
