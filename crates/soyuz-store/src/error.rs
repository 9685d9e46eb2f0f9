//! Store errors. Callers map them to response codes at the edge.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O call failed.
    #[error("{context} ({path}): {source}")]
    Io {
        /// What the store was doing.
        context: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A sync failed earlier; nothing more is acknowledged until restart and recovery.
    #[error("the store stopped accepting writes after a failed fsync: {0}")]
    Poisoned(String),
    /// Damage that recovery must not paper over: refuse to start and say where.
    #[error("corrupt {file}: {detail}")]
    Corrupt {
        /// Which file.
        file: PathBuf,
        /// What is wrong and where.
        detail: String,
    },
    /// The message cannot be stored as given.
    #[error("message refused: {0}")]
    MessageIllegal(String),
    /// The disk is fuller than `diskSpaceWarningLevelRatio` allows.
    #[error("disk is full: writes refused until retention frees space")]
    DiskFull,
    /// The store has been shut down.
    #[error("the store is shut down")]
    ShutDown,
    /// Another process holds the store's lock file.
    #[error("another process is using the store at {0}")]
    Locked(PathBuf),
    /// The configuration is unworkable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// A copy of an error for every caller that shared the failed operation (the broker
/// merges several requests into one put). An I/O error is copied as its kind and text.
impl Clone for StoreError {
    fn clone(&self) -> Self {
        match self {
            StoreError::Io {
                context,
                path,
                source,
            } => StoreError::Io {
                context,
                path: path.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            StoreError::Poisoned(reason) => StoreError::Poisoned(reason.clone()),
            StoreError::Corrupt { file, detail } => StoreError::Corrupt {
                file: file.clone(),
                detail: detail.clone(),
            },
            StoreError::MessageIllegal(reason) => StoreError::MessageIllegal(reason.clone()),
            StoreError::DiskFull => StoreError::DiskFull,
            StoreError::ShutDown => StoreError::ShutDown,
            StoreError::Locked(path) => StoreError::Locked(path.clone()),
            StoreError::Config(e) => StoreError::Config(e.clone()),
        }
    }
}

/// Adds a context and path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn io_context(self, context: &'static str, path: impl Into<PathBuf>) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn io_context(self, context: &'static str, path: impl Into<PathBuf>) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Io {
            context,
            path: path.into(),
            source,
        })
    }
}
