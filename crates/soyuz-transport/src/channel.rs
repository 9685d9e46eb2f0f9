//! [`Channel`]: a handle on one open connection, for either side to send requests and
//! responses through.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use soyuz_remoting::command::FLAG_RESPONSE;
use soyuz_remoting::RemotingCommand;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::error::TransportError;
use crate::outbox::Outbox;

static NEXT_CHANNEL_ID: AtomicU64 = AtomicU64::new(1);

/// A cheap, clonable handle on one connection. Dropping handles does not close the
/// connection; [`Channel::close`] or the peer does.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<ChannelInner>,
}

struct ChannelInner {
    id: u64,
    remote_addr: SocketAddr,
    local_addr: SocketAddr,
    outgoing: mpsc::Sender<RemotingCommand>,
    outbox: Arc<Outbox>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_opaque: AtomicI32,
    closing: CancellationToken,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.inner.id)
            .field("remote_addr", &self.inner.remote_addr)
            .finish()
    }
}

impl Channel {
    pub(crate) fn new(
        remote_addr: SocketAddr,
        local_addr: SocketAddr,
        outgoing: mpsc::Sender<RemotingCommand>,
        outbox: Arc<Outbox>,
        closing: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(ChannelInner {
                id: NEXT_CHANNEL_ID.fetch_add(1, Ordering::Relaxed),
                remote_addr,
                local_addr,
                outgoing,
                outbox,
                pending: Mutex::new(HashMap::new()),
                next_opaque: AtomicI32::new(1),
                closing,
            }),
        }
    }

    /// A process-unique id for this connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote_addr
    }

    /// Our end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Sends `request` and waits up to `timeout` for its response.
    pub async fn invoke(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, TransportError> {
        let opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        request.flag &= !FLAG_RESPONSE;
        let (tx, rx) = oneshot::channel();
        self.inner.pending.lock().insert(opaque, tx);
        let exchange = async {
            self.send(request).await?;
            rx.await.map_err(|_| self.closed_error())
        };
        let outcome = tokio::time::timeout(timeout, exchange).await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                self.inner.pending.lock().remove(&opaque);
                Err(TransportError::Timeout {
                    addr: self.inner.remote_addr.to_string(),
                    timeout,
                })
            }
        }
    }

    /// Sends `request` marked oneway; the peer will not answer.
    pub async fn invoke_oneway(&self, mut request: RemotingCommand) -> Result<(), TransportError> {
        request.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.flag &= !FLAG_RESPONSE;
        request.mark_oneway();
        self.send(request).await
    }

    /// Queues a frame for the writer.
    pub(crate) async fn send(&self, command: RemotingCommand) -> Result<(), TransportError> {
        // Not refused while merely "closing": a graceful close still writes the answers
        // of requests in flight. The queue itself closes when the writer is done.
        self.inner
            .outgoing
            .send(command)
            .await
            .map_err(|_| self.closed_error())
    }

    /// Queues a frame without waiting; false if the queue is full or closed.
    pub(crate) fn try_send(&self, command: RemotingCommand) -> bool {
        self.inner.outgoing.try_send(command).is_ok()
    }

    /// The socket's write side, for answers written straight from other threads.
    pub(crate) fn outbox(&self) -> &Arc<Outbox> {
        &self.inner.outbox
    }

    /// Hands a response to the request waiting for it, if any still is.
    pub(crate) fn complete(&self, response: RemotingCommand) -> bool {
        let waiter = self.inner.pending.lock().remove(&response.opaque);
        match waiter {
            Some(tx) => tx.send(response).is_ok(),
            None => false,
        }
    }

    /// Fails every request still waiting for a response.
    pub(crate) fn fail_pending(&self) {
        self.inner.pending.lock().clear();
    }

    /// Asks the connection to close: it stops reading, lets in-flight work finish
    /// writing, then closes the socket.
    pub fn close(&self) {
        self.inner.closing.cancel();
    }

    /// Whether the connection is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.inner.closing.is_cancelled() || self.inner.outgoing.is_closed()
    }

    pub(crate) fn closing_token(&self) -> &CancellationToken {
        &self.inner.closing
    }

    fn closed_error(&self) -> TransportError {
        TransportError::ConnectionClosed {
            addr: self.inner.remote_addr.to_string(),
        }
    }
}
