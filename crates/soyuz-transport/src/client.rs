//! [`RemotingClient`]: one connection per address, sync / async / oneway calls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use soyuz_remoting::RemotingCommand;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::channel::Channel;
use crate::config::ClientConfig;
use crate::connection;
use crate::error::TransportError;
use crate::handler::{NoRequests, RequestHandler};

type Slot = Arc<tokio::sync::Mutex<Option<Channel>>>;

/// A pool of connections keyed by `host:port`, created on first use and replaced when
/// they close. Requests the servers send back (e.g. NOTIFY_CONSUMER_IDS_CHANGED) go to
/// the client's handler.
pub struct RemotingClient {
    config: ClientConfig,
    handler: Arc<dyn RequestHandler>,
    slots: Mutex<HashMap<String, Slot>>,
    stop: CancellationToken,
}

impl RemotingClient {
    /// A client that answers server-initiated requests with `handler`.
    pub fn new(config: ClientConfig, handler: Arc<dyn RequestHandler>) -> Self {
        Self {
            config,
            handler,
            slots: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
        }
    }

    /// A client that serves no requests of its own.
    pub fn with_defaults() -> Self {
        Self::new(ClientConfig::default(), Arc::new(NoRequests))
    }

    /// The open connection to `addr`, connecting if there is none.
    pub async fn channel(&self, addr: &str) -> Result<Channel, TransportError> {
        let slot = self
            .slots
            .lock()
            .entry(addr.to_owned())
            .or_default()
            .clone();
        // One connect per address at a time; callers for other addresses are not held up.
        let mut guard = slot.lock().await;
        if let Some(channel) = guard.as_ref().filter(|c| !c.is_closed()) {
            return Ok(channel.clone());
        }
        let channel = self.connect(addr).await?;
        *guard = Some(channel.clone());
        Ok(channel)
    }

    async fn connect(&self, addr: &str) -> Result<Channel, TransportError> {
        let timeout = self.config.connect_timeout;
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| TransportError::ConnectTimeout {
                addr: addr.to_owned(),
                timeout,
            })?
            .map_err(|source| TransportError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        let (channel, _task) = connection::spawn(
            stream,
            self.config.connection.clone(),
            self.handler.clone(),
            None,
            self.stop.clone(),
            Duration::from_millis(100),
        )
        .map_err(|source| TransportError::Connect {
            addr: addr.to_owned(),
            source,
        })?;
        Ok(channel)
    }

    /// Sends `request` to `addr` and waits up to `timeout` for the response
    /// (`invokeSync`). The timeout covers connecting too.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, TransportError> {
        let started = tokio::time::Instant::now();
        let channel = tokio::time::timeout(timeout, self.channel(addr))
            .await
            .map_err(|_| TransportError::Timeout {
                addr: addr.to_owned(),
                timeout,
            })??;
        let remaining = timeout.saturating_sub(started.elapsed());
        let result = channel.invoke(request, remaining).await;
        if matches!(result, Err(TransportError::ConnectionClosed { .. })) {
            self.forget(addr, &channel);
        }
        result
    }

    /// Sends `request` and calls `callback` with the outcome from a task
    /// (`invokeAsync`).
    pub fn invoke_async<F>(
        self: &Arc<Self>,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
        callback: F,
    ) where
        F: FnOnce(Result<RemotingCommand, TransportError>) + Send + 'static,
    {
        let client = self.clone();
        let addr = addr.to_owned();
        tokio::spawn(async move {
            callback(client.invoke(&addr, request, timeout).await);
        });
    }

    /// Sends `request` marked oneway (`invokeOneway`).
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), TransportError> {
        let channel = self.channel(addr).await?;
        channel.invoke_oneway(request).await
    }

    /// Closes the connection to `addr`, if open.
    pub fn close_channel(&self, addr: &str) {
        if let Some(slot) = self.slots.lock().remove(addr) {
            if let Ok(guard) = slot.try_lock() {
                if let Some(channel) = guard.as_ref() {
                    channel.close();
                }
            }
        }
    }

    fn forget(&self, addr: &str, channel: &Channel) {
        channel.close();
        let mut slots = self.slots.lock();
        let stale = slots
            .get(addr)
            .and_then(|slot| slot.try_lock().ok().map(|g| g.as_ref().map(Channel::id)))
            .flatten()
            == Some(channel.id());
        if stale {
            slots.remove(addr);
        }
    }

    /// Closes every connection.
    pub fn shutdown(&self) {
        self.stop.cancel();
        self.slots.lock().clear();
    }
}

impl Drop for RemotingClient {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
