//! A file system wrapper that fails on command, for crash and fault tests.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::{StoreFile, StoreFs};

/// What to break. Shared by every file the wrapper opens; change it at any time.
#[derive(Debug, Default)]
pub struct FaultConfig {
    /// Every `sync_data` fails with EIO.
    pub fail_sync: AtomicBool,
    /// Every write fails with ENOSPC.
    pub fail_writes: AtomicBool,
    /// Writes succeed until this many more bytes have been written, then fail
    /// (`u64::MAX` = never). The write that crosses the limit is applied only up to it,
    /// like a torn write.
    pub write_budget: AtomicU64,
    /// Counts successful `sync_data` calls.
    pub syncs: AtomicU64,
    /// Reported disk use in percent instead of the real one (`u32::MAX` = real).
    pub disk_used_percent: std::sync::atomic::AtomicU32,
}

impl FaultConfig {
    /// A config that breaks nothing.
    pub fn healthy() -> Arc<Self> {
        let config = Self::default();
        config.write_budget.store(u64::MAX, Ordering::SeqCst);
        config.disk_used_percent.store(u32::MAX, Ordering::SeqCst);
        Arc::new(config)
    }
}

/// Wraps another [`StoreFs`] and injects the faults its [`FaultConfig`] asks for.
pub struct FaultyFs<F> {
    inner: F,
    faults: Arc<FaultConfig>,
}

impl<F: StoreFs> FaultyFs<F> {
    /// Wraps `inner`.
    pub fn new(inner: F, faults: Arc<FaultConfig>) -> Self {
        Self { inner, faults }
    }
}

struct FaultyFile {
    inner: Arc<dyn StoreFile>,
    faults: Arc<FaultConfig>,
}

fn injected(kind: io::ErrorKind, what: &str) -> io::Error {
    io::Error::new(kind, format!("injected fault: {what}"))
}

impl StoreFile for FaultyFile {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if self.faults.fail_writes.load(Ordering::SeqCst) {
            return Err(injected(io::ErrorKind::StorageFull, "write refused"));
        }
        let budget = self.faults.write_budget.load(Ordering::SeqCst);
        if budget != u64::MAX {
            let allowed = budget.min(buf.len() as u64) as usize;
            self.faults
                .write_budget
                .store(budget - allowed as u64, Ordering::SeqCst);
            if allowed < buf.len() {
                self.inner.write_all_at(&buf[..allowed], offset)?;
                return Err(injected(
                    io::ErrorKind::StorageFull,
                    "write budget exhausted",
                ));
            }
        }
        self.inner.write_all_at(buf, offset)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        if self.faults.fail_sync.load(Ordering::SeqCst) {
            return Err(injected(io::ErrorKind::Other, "fsync failed"));
        }
        self.inner.sync_data()?;
        self.faults.syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}

impl<F: StoreFs> StoreFs for FaultyFs<F> {
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn StoreFile>> {
        Ok(Arc::new(FaultyFile {
            inner: self.inner.open(path, create)?,
            faults: self.faults.clone(),
        }))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.list(dir)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.faults.fail_sync.load(Ordering::SeqCst) {
            return Err(injected(io::ErrorKind::Other, "directory fsync failed"));
        }
        self.inner.sync_dir(dir)
    }

    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if self.faults.fail_writes.load(Ordering::SeqCst) {
            return Err(injected(io::ErrorKind::StorageFull, "write refused"));
        }
        self.inner.write_atomic(path, bytes)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.inner.read(path)
    }

    fn disk_used_percent(&self, path: &Path) -> io::Result<u32> {
        match self.faults.disk_used_percent.load(Ordering::SeqCst) {
            u32::MAX => self.inner.disk_used_percent(path),
            fake => Ok(fake),
        }
    }
}
