//! [`Responder`]: the right to answer one request, from any thread.
//!
//! A handler that finishes its work off the async runtime (the broker's put thread, for
//! one) answers through a `Responder` instead of returning a future: the answer is
//! written straight to the socket from the answering thread, with no task spawned or
//! woken per request. Answers given inside [`answer_together`] are gathered per
//! connection and leave in one write each.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::BytesMut;
use soyuz_remoting::frame::encode_frame;
use soyuz_remoting::{response_code, RemotingCommand};
use tokio::runtime::Handle;
use tokio::sync::OwnedSemaphorePermit;

use crate::channel::Channel;
use crate::connection::finish;
use crate::outbox::Outbox;

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

    fn queue(&self, response: Option<RemotingCommand>, mut permits: Option<Permits>) {
        let Some(response) = response.filter(|_| !self.oneway) else {
            return;
        };
        let response = finish(response, self.opaque);
        // `try_with`: a responder dropped while its thread exits still answers, directly.
        let gathered = GATHERING.try_with(|gathering| {
            let mut gathering = gathering.borrow_mut();
            let batches = gathering.as_mut()?;
            let outbox = self.channel.outbox();
            let index = match batches.iter().position(|b| Arc::ptr_eq(&b.outbox, outbox)) {
                Some(index) => index,
                None => {
                    batches.push(Batch {
                        outbox: outbox.clone(),
                        runtime: self.runtime.clone(),
                        bytes: BytesMut::new(),
                        permits: Vec::new(),
                    });
                    batches.len() - 1
                }
            };
            let batch = &mut batches[index];
            encode_frame(&response, &mut batch.bytes);
            batch.permits.extend(permits.take());
            Some(())
        });
        if gathered.ok().flatten().is_none() {
            let mut bytes = BytesMut::new();
            encode_frame(&response, &mut bytes);
            Batch {
                outbox: self.channel.outbox().clone(),
                runtime: self.runtime.clone(),
                bytes,
                permits: permits.into_iter().collect(),
            }
            .write();
        }
    }
}

thread_local! {
    /// The answers gathered on this thread inside [`answer_together`], one batch per
    /// connection; `None` outside it.
    static GATHERING: RefCell<Option<Vec<Batch>>> = const { RefCell::new(None) };
}

/// Encoded answers for one connection, and the permits they release once written.
struct Batch {
    outbox: Arc<Outbox>,
    runtime: Handle,
    bytes: BytesMut,
    permits: Vec<Permits>,
}

impl Batch {
    /// Writes now, or, when the peer already has too much unread, on a task that waits
    /// for room (holding the permits, so the peer's further requests are refused busy).
    fn write(self) {
        if self.outbox.try_write(&self.bytes) {
            return;
        }
        let Batch {
            outbox,
            runtime,
            bytes,
            permits,
        } = self;
        runtime.spawn(async move {
            outbox.write_when_room(&bytes).await;
            drop(permits);
        });
    }
}

/// Runs `work`, holding back the answers it gives through responders on this thread
/// until it returns (or unwinds), then writes each connection's answers at once: one
/// write per connection instead of one per answer. Nested calls join the outer one.
pub fn answer_together<R>(work: impl FnOnce() -> R) -> R {
    let outermost = GATHERING.with(|gathering| {
        let mut gathering = gathering.borrow_mut();
        gathering.is_none() && {
            *gathering = Some(Vec::new());
            true
        }
    });
    if !outermost {
        return work();
    }
    /// Writes what was gathered even if `work` unwinds.
    struct WriteGathered;
    impl Drop for WriteGathered {
        fn drop(&mut self) {
            let batches = GATHERING.with(|gathering| gathering.borrow_mut().take());
            for batch in batches.into_iter().flatten() {
                batch.write();
            }
        }
    }
    let _write = WriteGathered;
    work()
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
