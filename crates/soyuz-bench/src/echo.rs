//! The raw loopback baseline: a Remoting server that answers every request with its own
//! body, driven by the same client code path and concurrency as the broker benches.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use soyuz_remoting::RemotingCommand;
use soyuz_transport::handler::Handled;
use soyuz_transport::{server, Channel, RemotingClient, RequestHandler, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::stats::{Latencies, Report, WorkerLatencies};

/// Request code the echo client sends (any code works; the server echoes all).
const ECHO_CODE: i32 = 10;

struct Echo;

impl RequestHandler for Echo {
    fn handle(&self, _channel: &Channel, request: RemotingCommand) -> Handled {
        let body = request.body.clone();
        Handled::Now(Some(RemotingCommand::success(&request).with_body(body)))
    }
}

/// A running echo server; dropping it stops the server.
pub struct EchoServer {
    /// Where it listens.
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl EchoServer {
    /// Starts an echo server on 127.0.0.1, on a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) =
                server::run(listener, Arc::new(Echo), ServerConfig::default(), shutdown).await
            {
                tracing::error!(error = %e, "echo server failed");
            }
        });
        Ok(Self { addr, _stop: stop })
    }
}

/// Echo load settings.
#[derive(Debug, Clone)]
pub struct EchoOptions {
    /// Concurrent callers, each waiting for its answer before the next call.
    pub workers: usize,
    /// Connections the callers share (the broker benches use one per broker).
    pub connections: usize,
    /// Payload bytes.
    pub size: usize,
    /// How long to run.
    pub duration: Duration,
}

/// Runs the echo load against `addr` and reports round trips.
pub async fn run(addr: SocketAddr, options: &EchoOptions) -> Report {
    let clients: Vec<Arc<RemotingClient>> = (0..options.connections.max(1))
        .map(|_| Arc::new(RemotingClient::with_defaults()))
        .collect();
    let payload = Bytes::from(vec![b'x'; options.size]);
    let latencies = Arc::new(Latencies::default());
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + options.duration;
    let addr = addr.to_string();
    let mut workers = Vec::new();
    for worker in 0..options.workers.max(1) {
        let client = clients[worker % clients.len()].clone();
        let payload = payload.clone();
        let (latencies, done, errors, addr) = (
            latencies.clone(),
            done.clone(),
            errors.clone(),
            addr.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut mine = WorkerLatencies::default();
            while Instant::now() < deadline {
                let request = RemotingCommand::request(ECHO_CODE).with_body(payload.clone());
                let sent = Instant::now();
                match client.invoke(&addr, request, Duration::from_secs(5)).await {
                    Ok(_) => {
                        mine.record(sent.elapsed());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies.merge(mine);
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed();
    for client in clients {
        client.shutdown();
    }
    latencies.report(
        "echo",
        done.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        elapsed,
    )
}
