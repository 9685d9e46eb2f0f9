//! File I/O behind a small trait, so tests can inject faults (failed fsync, short disk,
//! a crash that loses unsynced writes) without touching the store's logic.
//!
//! The store uses positioned reads and writes (`pread` / `pwrite`) on files created at
//! their full segment size, not memory maps: an I/O error stays an error value instead of
//! a SIGBUS, no `unsafe` is needed, and the measured append rate is within reach of the
//! raw disk (see ARCHITECTURE.md).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod faults;
mod os;

pub use faults::{FaultConfig, FaultyFs};
pub use os::OsFs;

/// One open file.
pub trait StoreFile: Send + Sync {
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Fills `buf` from `offset`; bytes past the end of the file read as zeros.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Makes written data durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Truncates or extends the file; extension reads as zeros.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// The file's length.
    fn len(&self) -> io::Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// The file system the store lives on.
pub trait StoreFs: Send + Sync {
    /// Opens `path` for reading and writing, creating it if `create`.
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn StoreFile>>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// The files directly in `dir` (none if it does not exist).
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Makes a directory's entries (created, removed, renamed files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;
    /// Atomically replaces `path` with `bytes` (write a temporary file, sync, rename).
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Reads a whole small file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// How full (in percent) the file system holding `path` is.
    fn disk_used_percent(&self, path: &Path) -> io::Result<u32>;
}
