//! [`Responder`]: the right to answer one request, from any thread.
//!
//! A handler that finishes its work off the async runtime (the broker's put thread, for
//! one) answers through a `Responder` instead of returning a future: the answer goes
//! straight onto the connection's write queue, with no task spawned, woken and polled
//! per request, and answers finished together leave in one write.

use soyuz_remoting::{response_code, RemotingCommand};
use tokio::runtime::Handle;
use tokio::sync::OwnedSemaphorePermit;

use crate::channel::Channel;
use crate::connection::finish;

/// The in-flight permits a request holds until its answer is queued: the connection's
/// own, and the server-wide one when the server has a cap.
pub(crate) type Permits = (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>);

/// What a responder needs to know of its request.
pub(crate) struct RequestId {
    pub opaque: i32,
    pub code: i32,
    pub oneway: bool,
}

/// Answers one request once. Dropping it unanswered (the work panicked or was lost)
/// answers SYSTEM_ERROR, so the peer never waits for its timeout; a oneway request is
/// never answered.
pub struct Responder {
    channel: Channel,
    opaque: i32,
    code: i32,
    oneway: bool,
    runtime: Handle,
    permits: Option<Permits>,
}

impl Responder {
    pub(crate) fn new(
        channel: Channel,
        request: RequestId,
        runtime: Handle,
        permits: Permits,
    ) -> Self {
        Self {
            channel,
            opaque: request.opaque,
            code: request.code,
            oneway: request.oneway,
            runtime,
            permits: Some(permits),
        }
    }

    /// The connection the request came on.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Queues `response` as the answer (`None`: no answer). Never blocks: when the write
    /// queue is full, a task waits for room on the runtime.
    pub fn respond(mut self, response: Option<RemotingCommand>) {
        let permits = self.permits.take();
        self.queue(response, permits);
    }

    fn queue(&self, response: Option<RemotingCommand>, permits: Option<Permits>) {
        let Some(response) = response.filter(|_| !self.oneway) else {
            return;
        };
        let response = finish(response, self.opaque);
        if let Some(response) = self.channel.try_send_or_return(response) {
            let channel = self.channel.clone();
            self.runtime.spawn(async move {
                let _ = channel.send(response).await;
                drop(permits);
            });
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let Some(permits) = self.permits.take() else {
            return;
        };
        tracing::warn!(
            code = self.code,
            "a request was dropped before it was answered"
        );
        let request = RemotingCommand {
            opaque: self.opaque,
            ..RemotingCommand::default()
        };
        let error = RemotingCommand::error(
            &request,
            response_code::SYSTEM_ERROR,
            format!(
                "internal error: request code {} was dropped before it was answered",
                self.code
            ),
        );
        self.queue(Some(error), Some(permits));
    }
}
