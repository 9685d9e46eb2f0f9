//! Load generators behind `soyuz bench`. Figures are meant to be read as ratios: run
//! `soyuz bench echo` with the same connections, concurrency and payload on the same
//! machine in the same session, and state broker figures relative to it.
//!
//! * [`echo`]: a trivial Remoting echo server and a client driving it, the raw loopback
//!   baseline;
//! * [`stats`]: latency histograms and the TPS / p50 / p99 / p999 / max report.

pub mod consumer;
pub mod echo;
pub mod producer;
pub mod route;
pub mod stats;

/// Why a bench could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A call failed on the transport.
    #[error(transparent)]
    Transport(#[from] soyuz_transport::TransportError),
    /// The server refused a request.
    #[error("refused with code {code}: {remark}")]
    Refused {
        /// Response code.
        code: i32,
        /// Its remark.
        remark: String,
    },
    /// The topic has no route.
    #[error("no route for topic {0}")]
    NoRoute(String),
    /// An answer did not make sense.
    #[error("{0}")]
    Protocol(String),
}
