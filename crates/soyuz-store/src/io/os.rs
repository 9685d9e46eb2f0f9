//! The real file system.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{StoreFile, StoreFs};

/// `std::fs` with positioned I/O.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFs;

struct OsFile(File);

impl StoreFile for OsFile {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.0.read_at(&mut buf[filled..], offset + filled as u64)?;
            if n == 0 {
                buf[filled..].fill(0);
                break;
            }
            filled += n;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl StoreFs for OsFs {
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn StoreFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        Ok(Arc::new(OsFile(file)))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .map(|e| e.map(|e| e.path()))
                .collect::<io::Result<Vec<_>>>(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = path.with_extension("tmp");
        {
            let file = File::create(&tmp)?;
            file.write_all_at(bytes, 0)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            self.sync_dir(dir)?;
        }
        Ok(())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn disk_used_percent(&self, path: &Path) -> io::Result<u32> {
        let stat = rustix::fs::statvfs(path).map_err(io::Error::from)?;
        Ok(used_percent(
            stat.f_blocks.saturating_mul(stat.f_frsize),
            stat.f_bfree.saturating_mul(stat.f_frsize),
            stat.f_bavail.saturating_mul(stat.f_frsize),
        ))
    }
}

/// Java's `UtilAll.getDiskPartitionSpaceUsedPercent` (and df's Use%): the used bytes as
/// a share of the bytes an unprivileged writer could ever hold (used plus available),
/// rounded up. Blocks reserved for root count as neither, so on a file system with 5%
/// reserved, 88% of the raw size in use reads as 93% here, never as "88% of the total".
fn used_percent(total: u64, free: u64, available: u64) -> u32 {
    let used = total.saturating_sub(free);
    let usable = used.saturating_add(available);
    if total == 0 || usable == 0 {
        return 0;
    }
    let scaled = used.saturating_mul(100);
    (scaled / usable + u64::from(!scaled.is_multiple_of(usable))).min(100) as u32
}

#[cfg(test)]
mod tests {
    use super::used_percent;

    #[test]
    fn usage_counts_what_unprivileged_writers_can_use_as_java_and_df_do() {
        // 252 GiB in all, 61 GiB used, 31 GiB available (160 GiB reserved or
        // otherwise unusable): df says 67%; 100 - 31/252 would claim 88%.
        let gib = 1u64 << 30;
        assert_eq!(used_percent(252 * gib, 191 * gib, 31 * gib), 67);
        assert_eq!(used_percent(100, 50, 50), 50);
        assert_eq!(used_percent(100, 49, 44), 54, "rounded up, as Java rounds");
        assert_eq!(used_percent(100, 0, 0), 100);
        assert_eq!(used_percent(0, 0, 0), 0);
    }
}
