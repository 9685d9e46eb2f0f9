//! What the transport calls with each request: a [`RequestHandler`], usually a
//! [`Router`] from request codes to processors.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use soyuz_remoting::{response_code, RemotingCommand};

use crate::channel::Channel;
use crate::responder::Responder;

/// Work that answers through a [`Responder`], started on the connection's reader.
pub type Deferred = Box<dyn FnOnce(Responder) + Send>;

/// How a handler answers: at once (run on the connection's reader, no task spawned),
/// later (run on its own task, holding an in-flight permit until done), or from
/// wherever the work finishes (through a [`Responder`], holding the permit until then).
pub enum Handled {
    /// The answer is ready; `None` for no response.
    Now(Option<RemotingCommand>),
    /// The answer needs waiting for (long polling, disk, another server).
    Later(BoxFuture<'static, Option<RemotingCommand>>),
    /// The answer comes from another thread: the transport runs this at once with the
    /// request's [`Responder`].
    Deferred(Deferred),
}

/// Processes requests arriving on connections. The transport sets the response's opaque
/// and flag, and drops the response of a oneway request.
pub trait RequestHandler: Send + Sync + 'static {
    /// Handles one request from `channel`.
    fn handle(&self, channel: &Channel, request: RemotingCommand) -> Handled;

    /// Called once when a connection has closed, for whatever reason.
    fn on_channel_closed(&self, _channel: &Channel) {}
}

type SyncProcessor =
    Arc<dyn Fn(&Channel, &RemotingCommand) -> Option<RemotingCommand> + Send + Sync>;
type AsyncProcessor = Arc<
    dyn Fn(Channel, RemotingCommand) -> BoxFuture<'static, Option<RemotingCommand>> + Send + Sync,
>;
type DeferredProcessor = Arc<dyn Fn(&Channel, RemotingCommand, Responder) + Send + Sync>;
type CloseHook = Arc<dyn Fn(&Channel) + Send + Sync>;

enum Processor {
    Sync(SyncProcessor),
    Async(AsyncProcessor),
    Deferred(DeferredProcessor),
}

/// Dispatches requests by code. Unknown codes get REQUEST_CODE_NOT_SUPPORTED with the
/// Java server's remark.
#[derive(Default)]
pub struct Router {
    routes: HashMap<i32, Processor>,
    close_hooks: Vec<CloseHook>,
}

impl Router {
    /// An empty router: every code is unsupported.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `code` to a processor that answers without waiting.
    pub fn route_sync<F>(mut self, code: i32, processor: F) -> Self
    where
        F: Fn(&Channel, &RemotingCommand) -> Option<RemotingCommand> + Send + Sync + 'static,
    {
        self.routes
            .insert(code, Processor::Sync(Arc::new(processor)));
        self
    }

    /// Routes `code` to a processor that may wait.
    pub fn route_async<F, Fut>(mut self, code: i32, processor: F) -> Self
    where
        F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<RemotingCommand>> + Send + 'static,
    {
        let boxed: AsyncProcessor =
            Arc::new(move |channel, request| processor(channel, request).boxed());
        self.routes.insert(code, Processor::Async(boxed));
        self
    }

    /// Routes `code` to a processor that hands its work to another thread and answers
    /// from there through the [`Responder`].
    pub fn route_deferred<F>(mut self, code: i32, processor: F) -> Self
    where
        F: Fn(&Channel, RemotingCommand, Responder) + Send + Sync + 'static,
    {
        self.routes
            .insert(code, Processor::Deferred(Arc::new(processor)));
        self
    }

    /// Runs `hook` whenever a connection closes.
    pub fn on_close<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Channel) + Send + Sync + 'static,
    {
        self.close_hooks.push(Arc::new(hook));
        self
    }

    /// Whether `code` has a processor.
    pub fn handles(&self, code: i32) -> bool {
        self.routes.contains_key(&code)
    }
}

/// The response to a request whose code nobody handles.
pub fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::error(
        request,
        response_code::REQUEST_CODE_NOT_SUPPORTED,
        format!(" request type {} not supported", request.code),
    )
}

impl RequestHandler for Router {
    fn handle(&self, channel: &Channel, request: RemotingCommand) -> Handled {
        match self.routes.get(&request.code) {
            None => Handled::Now(Some(not_supported(&request))),
            Some(Processor::Sync(processor)) => Handled::Now(processor(channel, &request)),
            Some(Processor::Async(processor)) => {
                Handled::Later(processor(channel.clone(), request))
            }
            Some(Processor::Deferred(processor)) => {
                let (processor, channel) = (processor.clone(), channel.clone());
                Handled::Deferred(Box::new(move |responder| {
                    processor(&channel, request, responder);
                }))
            }
        }
    }

    fn on_channel_closed(&self, channel: &Channel) {
        for hook in &self.close_hooks {
            hook(channel);
        }
    }
}

/// A handler for clients that serve no requests of their own.
pub struct NoRequests;

impl RequestHandler for NoRequests {
    fn handle(&self, _channel: &Channel, request: RemotingCommand) -> Handled {
        Handled::Now(Some(not_supported(&request)))
    }
}
