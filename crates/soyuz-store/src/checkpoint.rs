//! The `checkpoint` file (RocketMQ's `StoreCheckpoint`), the `abort` marker and the
//! `lock` file.
//!
//! ```text
//! checkpoint, 4096 bytes, big-endian i64 fields:
//!   @0  physicMsgTimestamp    store time of the last flushed CommitLog record  (RocketMQ)
//!   @8  logicsMsgTimestamp    store time of the last flushed ConsumeQueue unit (RocketMQ)
//!   @16 indexMsgTimestamp     store time of the last flushed index entry       (RocketMQ)
//!   @24 masterFlushedOffset                                                    (RocketMQ)
//!   @32 confirmPhyOffset                                                       (RocketMQ)
//!   @40 flushedOffset         CommitLog bytes known durable           (Soyuz; Java ignores)
//!   @48 dispatchedOffset      CommitLog bytes whose CQ/index units are durable (Soyuz)
//! ```
//! Java reads only the first five fields, so a RocketMQ store directory stays readable
//! by both. The two Soyuz fields let recovery tell a torn tail (damage at or past
//! `flushedOffset`, truncated) from damage to acknowledged data (refused).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{IoContext, StoreError};
use crate::io::StoreFs;

const CHECKPOINT_SIZE: usize = 4096;

/// The checkpoint's fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Store time of the last flushed CommitLog record.
    pub physic_msg_timestamp: i64,
    /// Store time of the last flushed ConsumeQueue unit.
    pub logics_msg_timestamp: i64,
    /// Store time of the last flushed index entry.
    pub index_msg_timestamp: i64,
    /// A master's flushed offset (HA).
    pub master_flushed_offset: i64,
    /// Offset confirmed by replicas (controller mode).
    pub confirm_phy_offset: i64,
    /// CommitLog bytes known durable.
    pub flushed_offset: u64,
    /// CommitLog bytes whose ConsumeQueue and index units are durable.
    pub dispatched_offset: u64,
}

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut buf = vec![0u8; CHECKPOINT_SIZE];
        let fields = [
            self.physic_msg_timestamp,
            self.logics_msg_timestamp,
            self.index_msg_timestamp,
            self.master_flushed_offset,
            self.confirm_phy_offset,
            self.flushed_offset as i64,
            self.dispatched_offset as i64,
        ];
        for (i, value) in fields.iter().enumerate() {
            buf[i * 8..i * 8 + 8].copy_from_slice(&value.to_be_bytes());
        }
        buf
    }

    fn decode(bytes: &[u8]) -> Self {
        let field = |i: usize| {
            bytes
                .get(i * 8..i * 8 + 8)
                .map(|b| i64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
                .unwrap_or(0)
        };
        Self {
            physic_msg_timestamp: field(0),
            logics_msg_timestamp: field(1),
            index_msg_timestamp: field(2),
            master_flushed_offset: field(3),
            confirm_phy_offset: field(4),
            flushed_offset: field(5).max(0) as u64,
            dispatched_offset: field(6).max(0) as u64,
        }
    }
}

/// Reads and writes the checkpoint, abort and lock files under the store root.
pub struct StoreFiles {
    fs: Arc<dyn StoreFs>,
    root: PathBuf,
    _lock: Option<std::fs::File>,
}

impl StoreFiles {
    /// Takes the store's `lock` file, so two processes never share one store.
    pub fn lock(fs: Arc<dyn StoreFs>, root: &Path) -> Result<Self, StoreError> {
        fs.create_dir_all(root)
            .io_context("create store directory", root)?;
        let lock_path = root.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .io_context("open lock file", &lock_path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(root.to_owned()))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).io_context("lock store", &lock_path)
            }
        }
        Ok(Self {
            fs,
            root: root.to_owned(),
            _lock: Some(file),
        })
    }

    fn checkpoint_path(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    fn abort_path(&self) -> PathBuf {
        self.root.join("abort")
    }

    /// The stored checkpoint; all zeros (recover from the beginning) when it is missing.
    pub fn read_checkpoint(&self) -> Result<Checkpoint, StoreError> {
        let path = self.checkpoint_path();
        if !self.fs.exists(&path) {
            return Ok(Checkpoint::default());
        }
        let bytes = self.fs.read(&path).io_context("read checkpoint", &path)?;
        Ok(Checkpoint::decode(&bytes))
    }

    /// Replaces the checkpoint durably.
    pub fn write_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let path = self.checkpoint_path();
        self.fs
            .write_atomic(&path, &checkpoint.encode())
            .io_context("write checkpoint", &path)
    }

    /// Whether the previous run ended without a clean shutdown.
    pub fn abort_marker_present(&self) -> bool {
        self.fs.exists(&self.abort_path())
    }

    /// Marks the store as running; a crash leaves the marker behind.
    pub fn create_abort_marker(&self) -> Result<(), StoreError> {
        let path = self.abort_path();
        self.fs
            .write_atomic(&path, b"")
            .io_context("create abort marker", &path)
    }

    /// Marks a clean shutdown.
    pub fn remove_abort_marker(&self) -> Result<(), StoreError> {
        let path = self.abort_path();
        if self.fs.exists(&path) {
            self.fs
                .remove_file(&path)
                .io_context("remove abort marker", &path)?;
            self.fs
                .sync_dir(&self.root)
                .io_context("fsync store directory", &self.root)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::OsFs;

    #[test]
    fn checkpoint_round_trips_and_keeps_java_field_positions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = StoreFiles::lock(Arc::new(OsFs), dir.path()).expect("lock");
        assert_eq!(
            files.read_checkpoint().expect("read"),
            Checkpoint::default()
        );
        let checkpoint = Checkpoint {
            physic_msg_timestamp: 1_700_000_000_123,
            logics_msg_timestamp: 2,
            index_msg_timestamp: 3,
            master_flushed_offset: 4,
            confirm_phy_offset: 5,
            flushed_offset: 6,
            dispatched_offset: 7,
        };
        files.write_checkpoint(&checkpoint).expect("write");
        let raw = std::fs::read(dir.path().join("checkpoint")).expect("raw");
        assert_eq!(raw.len(), 4096);
        assert_eq!(&raw[0..8], &1_700_000_000_123i64.to_be_bytes());
        assert_eq!(&raw[32..40], &5i64.to_be_bytes());
        assert_eq!(files.read_checkpoint().expect("read"), checkpoint);
    }

    #[test]
    fn the_lock_keeps_a_second_opener_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = StoreFiles::lock(Arc::new(OsFs), dir.path()).expect("lock");
        assert!(matches!(
            StoreFiles::lock(Arc::new(OsFs), dir.path()),
            Err(StoreError::Locked(_))
        ));
    }

    #[test]
    fn abort_marker_lifecycle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = StoreFiles::lock(Arc::new(OsFs), dir.path()).expect("lock");
        assert!(!files.abort_marker_present());
        files.create_abort_marker().expect("create");
        assert!(files.abort_marker_present());
        files.remove_abort_marker().expect("remove");
        assert!(!files.abort_marker_present());
    }
}
