//! One connection's life: a reader loop and a writer task around a [`Channel`].

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures::FutureExt;
use soyuz_remoting::command::FLAG_RESPONSE;
use soyuz_remoting::frame::encode_frame;
use soyuz_remoting::{decode_frame, response_code, RemotingCommand};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::channel::Channel;
use crate::config::ConnectionConfig;
use crate::handler::{Handled, RequestHandler};
use crate::outbox::Outbox;
use crate::responder::{Permits, RequestId, Responder};

/// Bytes the writer gathers from queued frames before one write.
const WRITE_BATCH_BYTES: usize = 256 * 1024;
/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;

/// Why the reader stopped, when it was asked to (close() or server shutdown).
const CLOSED_BY_US: &str = "closed";

/// Limits shared by all of a server's connections.
#[derive(Clone)]
pub(crate) struct SharedLimits {
    /// Requests in flight across the server.
    pub in_flight: Arc<Semaphore>,
}

/// Starts a connection's tasks and returns its channel. `stop` asks the connection to
/// wind down (server shutdown); `done` is cancelled once it has fully closed.
pub(crate) fn spawn(
    stream: TcpStream,
    config: ConnectionConfig,
    handler: Arc<dyn RequestHandler>,
    shared: Option<SharedLimits>,
    stop: CancellationToken,
    grace: Duration,
) -> std::io::Result<(Channel, tokio::task::JoinHandle<()>)> {
    let remote_addr = stream.peer_addr()?;
    let local_addr = stream.local_addr()?;
    stream.set_nodelay(true)?;
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(config.write_queue_len);
    let closing = stop.child_token();
    let outbox = Arc::new(Outbox::new(write_half));
    let channel = Channel::new(remote_addr, local_addr, tx, outbox.clone(), closing.clone());
    let activity = Arc::new(Activity::new());
    // The writer outlives the reader's "closing" so that in-flight requests can still
    // answer during a graceful close; the reader stops it once they are done.
    let stop_writing = CancellationToken::new();
    let writer = tokio::spawn(write_loop(
        outbox,
        rx,
        stop_writing.clone(),
        closing.clone(),
        activity.clone(),
    ));
    let reader = Reader {
        channel: channel.clone(),
        handler,
        local_in_flight: Arc::new(Semaphore::new(config.max_in_flight_per_connection)),
        max_local: config.max_in_flight_per_connection,
        shared,
        activity,
        config,
    };
    let task = tokio::spawn(async move {
        reader.run(read_half, grace, writer, stop_writing).await;
    });
    Ok((channel, task))
}

/// When the connection last moved bytes, for idle expiry.
struct Activity {
    start: Instant,
    last_millis: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_millis: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let millis = self.start.elapsed().as_millis() as u64;
        self.last_millis.store(millis, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

struct Reader {
    channel: Channel,
    handler: Arc<dyn RequestHandler>,
    local_in_flight: Arc<Semaphore>,
    max_local: usize,
    shared: Option<SharedLimits>,
    activity: Arc<Activity>,
    config: ConnectionConfig,
}

impl Reader {
    async fn run(
        self,
        mut read_half: OwnedReadHalf,
        grace: Duration,
        writer: tokio::task::JoinHandle<()>,
        stop_writing: CancellationToken,
    ) {
        let reason = self.read_loop(&mut read_half).await;
        debug!(peer = %self.channel.remote_addr(), reason, "connection closing");
        self.channel.close();
        if reason == CLOSED_BY_US {
            // A graceful close: let requests already being processed write their
            // responses. After a bad frame or the peer's close there is no one to answer.
            let all = u32::try_from(self.max_local).unwrap_or(u32::MAX);
            let _ = tokio::time::timeout(grace, self.local_in_flight.acquire_many(all)).await;
        }
        stop_writing.cancel();
        let _ = writer.await;
        self.channel.fail_pending();
        self.handler.on_channel_closed(&self.channel);
    }

    async fn read_loop(&self, read_half: &mut OwnedReadHalf) -> &'static str {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        // One idle timer and one cancellation wait for the connection's life, not one
        // registered per read: the timer is only looked at (and moved) when it fires.
        let idle_timeout = self.config.idle_timeout;
        let idle_check = tokio::time::sleep(idle_timeout);
        tokio::pin!(idle_check);
        let closing = self.channel.closing_token().clone();
        let closed = closing.cancelled();
        tokio::pin!(closed);
        loop {
            loop {
                match decode_frame(&mut buf, self.config.max_frame_len) {
                    Ok(Some(command)) => self.dispatch(command).await,
                    Ok(None) => break,
                    Err(error) => {
                        warn!(peer = %self.channel.remote_addr(), %error, "closing connection after an undecodable frame");
                        return "bad frame";
                    }
                }
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(READ_CHUNK);
            }
            tokio::select! {
                read = read_half.read_buf(&mut buf) => match read {
                    Ok(0) => return "peer closed",
                    Ok(_) => self.activity.touch(),
                    Err(error) => {
                        debug!(peer = %self.channel.remote_addr(), %error, "read failed");
                        return "read error";
                    }
                },
                () = &mut idle_check => {
                    let busy = self.local_in_flight.available_permits() < self.max_local;
                    if !busy && self.activity.idle_for() >= idle_timeout {
                        return "idle";
                    }
                    if busy {
                        // Work in flight (e.g. a long poll) counts as activity.
                        self.activity.touch();
                    }
                    let left = idle_timeout.saturating_sub(self.activity.idle_for());
                    idle_check.as_mut().reset(Instant::now() + left);
                }
                () = &mut closed => return CLOSED_BY_US,
            }
        }
    }

    async fn dispatch(&self, command: RemotingCommand) {
        if command.is_response() {
            if !self.channel.complete(command) {
                debug!(peer = %self.channel.remote_addr(), "response for a request no longer waiting");
            }
            return;
        }
        let opaque = command.opaque;
        let oneway = command.is_oneway();
        let code = command.code;
        let permits = match self.acquire_permits() {
            Some(permits) => permits,
            None => {
                if !oneway {
                    let busy = RemotingCommand::error(
                        &command,
                        response_code::SYSTEM_BUSY,
                        "[OVERLOAD]system busy, too many requests in flight, try later",
                    );
                    // Never block the reader on a busy answer: if even the write queue
                    // is full, the peer learns by timing out.
                    self.channel.try_send(busy);
                }
                return;
            }
        };
        let handled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.handler.handle(&self.channel, command)
        }))
        .unwrap_or_else(|_| Handled::Now(Some(panic_response(code, opaque))));
        match handled {
            Handled::Now(response) => {
                drop(permits);
                if let (Some(response), false) = (response, oneway) {
                    let _ = self.channel.send(finish(response, opaque)).await;
                }
            }
            Handled::Deferred(work) => {
                let responder = Responder::new(
                    self.channel.clone(),
                    RequestId {
                        opaque,
                        code,
                        oneway,
                    },
                    tokio::runtime::Handle::current(),
                    permits,
                );
                // A panic unwinds through the responder, which then answers SYSTEM_ERROR.
                if std::panic::catch_unwind(AssertUnwindSafe(|| work(responder))).is_err() {
                    warn!(code, "request handler panicked");
                }
            }
            Handled::Later(future) => {
                let channel = self.channel.clone();
                tokio::spawn(async move {
                    let response = AssertUnwindSafe(future)
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| Some(panic_response(code, opaque)));
                    if let (Some(response), false) = (response, oneway) {
                        let _ = channel.send(finish(response, opaque)).await;
                    }
                    drop(permits);
                });
            }
        }
    }

    fn acquire_permits(&self) -> Option<Permits> {
        let local = self.local_in_flight.clone().try_acquire_owned().ok()?;
        let global = match &self.shared {
            Some(shared) => Some(shared.in_flight.clone().try_acquire_owned().ok()?),
            None => None,
        };
        Some((local, global))
    }
}

/// Marks `response` as the answer to the request with `opaque`.
pub(crate) fn finish(mut response: RemotingCommand, opaque: i32) -> RemotingCommand {
    response.opaque = opaque;
    response.flag |= FLAG_RESPONSE;
    response
}

fn panic_response(code: i32, opaque: i32) -> RemotingCommand {
    warn!(code, "request handler panicked");
    let request = RemotingCommand {
        opaque,
        ..RemotingCommand::default()
    };
    RemotingCommand::error(
        &request,
        response_code::SYSTEM_ERROR,
        format!("internal error while processing request code {code}"),
    )
}

/// Writes the queued frames, batching what is waiting into one write, and finishes what
/// direct writers (see [`Outbox`]) left unsent. It drains before taking more from the
/// queue, so a peer that stops reading fills the queue and its senders wait.
async fn write_loop(
    outbox: Arc<Outbox>,
    mut rx: mpsc::Receiver<RemotingCommand>,
    stop: CancellationToken,
    closing: CancellationToken,
    activity: Arc<Activity>,
) {
    let mut buf = BytesMut::with_capacity(WRITE_BATCH_BYTES);
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    loop {
        let queued = tokio::select! {
            biased;
            command = rx.recv() => match command {
                Some(command) => Some(command),
                None => break,
            },
            () = outbox.drain_needed() => None,
            () = &mut stopped => break,
        };
        if let Some(first) = queued {
            encode_frame(&first, &mut buf);
            while buf.len() < WRITE_BATCH_BYTES {
                match rx.try_recv() {
                    Ok(command) => encode_frame(&command, &mut buf),
                    Err(_) => break,
                }
            }
            outbox.write_queued(&buf);
            buf.clear();
            if buf.capacity() > 4 * WRITE_BATCH_BYTES {
                buf = BytesMut::with_capacity(WRITE_BATCH_BYTES);
            }
        }
        if outbox.drain().await.is_err() {
            closing.cancel();
            outbox.shut();
            return;
        }
        activity.touch();
    }
    // Closing: write whatever responses are already queued, then end the stream.
    rx.close();
    while let Ok(command) = rx.try_recv() {
        encode_frame(&command, &mut buf);
    }
    outbox.write_queued(&buf);
    let _ = outbox.drain().await;
    outbox.shut();
}
