//! Transport errors.

use std::time::Duration;

use thiserror::Error;

/// Why a call over the transport failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Could not connect to the peer.
    #[error("connect to {addr} failed: {source}")]
    Connect {
        /// The address dialled.
        addr: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The connect did not finish in time.
    #[error("connect to {addr} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The address dialled.
        addr: String,
        /// The limit.
        timeout: Duration,
    },
    /// No response arrived in time.
    #[error("request to {addr} timed out after {timeout:?}")]
    Timeout {
        /// The peer.
        addr: String,
        /// The limit.
        timeout: Duration,
    },
    /// The connection closed before the response arrived, or was already closed.
    #[error("connection to {addr} is closed")]
    ConnectionClosed {
        /// The peer.
        addr: String,
    },
}
