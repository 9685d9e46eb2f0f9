//! The network layer: RocketMQ Remoting over tokio TCP, with no business logic.
//!
//! * [`server::run`] accepts connections on a listener the caller bound (tests bind port
//!   0), caps how many are open, and shuts down gracefully.
//! * Each connection ([`Channel`]) has one reader task and one writer task. The reader
//!   decodes frames, matches responses to pending requests by opaque, and hands requests
//!   to a [`RequestHandler`]: answered inline, on its own task so a long-polling request
//!   never blocks the ones behind it, or from another thread through a [`Responder`]
//!   (the broker's put thread answers sends this way, writing them straight to the
//!   socket). The writer task batches queued frames into few syscalls and finishes
//!   whatever a direct write left unsent.
//! * A frame that cannot be decoded closes its own connection and nothing else.
//! * Requests beyond the in-flight cap are answered SYSTEM_BUSY at once, so an
//!   overloaded server sheds load instead of queueing without bound.
//! * [`client::RemotingClient`] keeps one connection per address and offers sync, async
//!   and oneway calls with timeouts. Servers call clients over the same [`Channel`] type.

pub mod channel;
pub mod client;
pub mod config;
mod connection;
pub mod error;
pub mod handler;
mod outbox;
pub mod responder;
pub mod server;

pub use channel::Channel;
pub use client::RemotingClient;
pub use config::{ClientConfig, ConnectionConfig, ServerConfig};
pub use error::TransportError;
pub use handler::{RequestHandler, Router};
pub use responder::{answer_together, Responder};
