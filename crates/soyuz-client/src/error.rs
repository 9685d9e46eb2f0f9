//! The one error type of the client.

use soyuz_remoting::body::BodyError;
use soyuz_remoting::HeaderError;
use soyuz_transport::TransportError;
use thiserror::Error;

/// Why a client call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The network call failed: connect, timeout, or a closed connection.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The broker or NameServer answered with an error code (`MQBrokerException`).
    #[error("code {code}: {remark}")]
    Broker {
        /// The response code (`soyuz_remoting::response_code`).
        code: i32,
        /// The server's explanation.
        remark: String,
    },
    /// No NameServer knows a route for the topic, nor for the auto-create topic.
    #[error("no route info of topic {0}")]
    NoRoute(String),
    /// The route names a broker whose master address is unknown.
    #[error("the address of broker {0} is not known")]
    NoBrokerAddr(String),
    /// No NameServer address is configured.
    #[error("no NameServer address is configured")]
    NoNamesrv,
    /// The message or an argument is unacceptable (checked before sending).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A response header could not be read.
    #[error("bad response header: {0}")]
    Header(#[from] HeaderError),
    /// A response body could not be read.
    #[error("bad response body: {0}")]
    Body(#[from] BodyError),
    /// Pulled message records could not be decoded.
    #[error("bad message records: {0}")]
    Decode(String),
    /// The producer or consumer is not running.
    #[error("the client is not running (call start first, or it was shut down)")]
    NotRunning,
    /// Reading or writing the local offset file failed.
    #[error("local offset store: {0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The broker's response code, if the server answered with an error.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn broker(response: &soyuz_remoting::RemotingCommand) -> Self {
        ClientError::Broker {
            code: response.code,
            remark: response.remark.as_deref().unwrap_or_default().to_owned(),
        }
    }
}

/// Results of client calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
