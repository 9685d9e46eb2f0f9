//! A log split into fixed-size files named by their first byte's offset
//! (`MappedFileQueue`): 20-digit zero-padded decimal names, every file created at its full
//! size (sparse), so unwritten space reads as zeros. CommitLog and ConsumeQueue both sit
//! on it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::{IoContext, StoreError};
use crate::io::{StoreFile, StoreFs};

/// One file of a [`SegmentedFile`].
pub struct Segment {
    /// Offset of the file's first byte in the whole log.
    pub base: u64,
    /// Its path.
    pub path: PathBuf,
    file: Arc<dyn StoreFile>,
}

impl Segment {
    /// Reads `len` bytes at `offset` within this segment.
    pub fn read(&self, offset_in_segment: u64, len: usize) -> Result<Vec<u8>, StoreError> {
        let mut buf = vec![0; len];
        self.file
            .read_exact_at(&mut buf, offset_in_segment)
            .io_context("read segment", &self.path)?;
        Ok(buf)
    }

    /// Fills `buf` from `offset_in_segment`.
    pub fn read_into(&self, buf: &mut [u8], offset_in_segment: u64) -> Result<(), StoreError> {
        self.file
            .read_exact_at(buf, offset_in_segment)
            .io_context("read segment", &self.path)
    }

    /// Writes `bytes` at `offset_in_segment`.
    pub fn write(&self, bytes: &[u8], offset_in_segment: u64) -> Result<(), StoreError> {
        self.file
            .write_all_at(bytes, offset_in_segment)
            .io_context("write segment", &self.path)
    }

    /// Syncs the file's data.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.file
            .sync_data()
            .io_context("fsync segment", &self.path)
    }
}

/// The error a failure point returns, as if the disk had failed there.
#[cfg_attr(not(feature = "failpoints"), allow(dead_code))] // only failure points use it
fn failpoint_error(path: &Path) -> StoreError {
    StoreError::Io {
        context: "failpoint",
        path: path.to_owned(),
        source: std::io::Error::other("injected by a failure point"),
    }
}

/// The segment file name for `base`.
pub fn segment_name(base: u64) -> String {
    format!("{base:020}")
}

/// A directory of equal-size segment files.
pub struct SegmentedFile {
    fs: Arc<dyn StoreFs>,
    dir: PathBuf,
    segment_size: u64,
    segments: RwLock<Vec<Arc<Segment>>>,
}

impl SegmentedFile {
    /// Opens the segments in `dir`, refusing files whose name is not an offset, whose size
    /// is not `segment_size`, or that leave a gap: each would mean the directory is not
    /// what the store wrote.
    pub fn open(fs: Arc<dyn StoreFs>, dir: &Path, segment_size: u64) -> Result<Self, StoreError> {
        let mut bases = Vec::new();
        for path in fs.list(dir).io_context("list segments", dir)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".tmp") {
                continue;
            }
            let base: u64 = name.parse().map_err(|_| StoreError::Corrupt {
                file: path.clone(),
                detail: "file name is not a 20-digit offset".into(),
            })?;
            bases.push((base, path));
        }
        bases.sort_by_key(|(base, _)| *base);
        let count = bases.len();
        let mut segments = Vec::with_capacity(bases.len());
        for (i, (base, path)) in bases.into_iter().enumerate() {
            let file = fs.open(&path, false).io_context("open segment", &path)?;
            let mut len = file.len().io_context("stat segment", &path)?;
            let is_last = i + 1 == count;
            if is_last && len < segment_size {
                // The newest file may have lost its tail (or its pre-sizing) in a crash:
                // restore its size; the missing part reads as zeros, which recovery treats
                // as the end of the data.
                tracing::warn!(path = %path.display(), len, "extending a short last segment");
                file.set_len(segment_size)
                    .io_context("size segment", &path)?;
                len = segment_size;
            }
            if len != segment_size {
                return Err(StoreError::Corrupt {
                    file: path,
                    detail: format!("length {len} differs from the segment size {segment_size}"),
                });
            }
            if base % segment_size != 0 {
                return Err(StoreError::Corrupt {
                    file: path,
                    detail: format!(
                        "offset {base} is not a multiple of the segment size {segment_size}"
                    ),
                });
            }
            if let Some(prev) = segments.last().map(|s: &Arc<Segment>| s.base) {
                if base != prev + segment_size {
                    return Err(StoreError::Corrupt {
                        file: path,
                        detail: format!(
                            "gap: the previous segment starts at {prev}, segment {i} at {base}"
                        ),
                    });
                }
            }
            segments.push(Arc::new(Segment { base, path, file }));
        }
        Ok(Self {
            fs,
            dir: dir.to_owned(),
            segment_size,
            segments: RwLock::new(segments),
        })
    }

    /// The size of every segment.
    pub fn segment_size(&self) -> u64 {
        self.segment_size
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every segment, oldest first.
    pub fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().clone()
    }

    /// The first segment's base, if any segment exists.
    pub fn min_base(&self) -> Option<u64> {
        self.segments.read().first().map(|s| s.base)
    }

    /// The last segment, if any.
    pub fn last(&self) -> Option<Arc<Segment>> {
        self.segments.read().last().cloned()
    }

    /// The base of the segment holding `offset`.
    pub fn base_of(&self, offset: u64) -> u64 {
        offset - offset % self.segment_size
    }

    /// The segment holding `offset`, if it exists.
    pub fn segment_containing(&self, offset: u64) -> Option<Arc<Segment>> {
        let segments = self.segments.read();
        let first = segments.first()?.base;
        if offset < first {
            return None;
        }
        let index = ((offset - first) / self.segment_size) as usize;
        segments.get(index).cloned()
    }

    /// The segment holding `offset`, created (with any missing ones before it) if needed.
    pub fn segment_for_write(&self, offset: u64) -> Result<Arc<Segment>, StoreError> {
        if let Some(segment) = self.segment_containing(offset) {
            return Ok(segment);
        }
        let base = self.base_of(offset);
        let mut segments = self.segments.write();
        if let Some(last) = segments.last() {
            if base != last.base + self.segment_size {
                return Err(StoreError::Corrupt {
                    file: self.dir.clone(),
                    detail: format!(
                        "write at {offset} would leave a gap after segment {}",
                        last.base
                    ),
                });
            }
        }
        self.fs
            .create_dir_all(&self.dir)
            .io_context("create directory", &self.dir)?;
        let path = self.dir.join(segment_name(base));
        let file = self
            .fs
            .open(&path, true)
            .io_context("create segment", &path)?;
        fail::fail_point!("segment::after_create", |_| Err(failpoint_error(&path)));
        file.set_len(self.segment_size)
            .io_context("size segment", &path)?;
        fail::fail_point!("segment::after_set_len", |_| Err(failpoint_error(&path)));
        // The new name must survive a crash before anything in the file is acknowledged.
        self.fs
            .sync_dir(&self.dir)
            .io_context("fsync directory", &self.dir)?;
        let segment = Arc::new(Segment { base, path, file });
        segments.push(segment.clone());
        Ok(segment)
    }

    /// Writes `bytes` at `offset`; they must fit inside one segment.
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let segment = self.segment_for_write(offset)?;
        debug_assert!(offset - segment.base + bytes.len() as u64 <= self.segment_size);
        segment.write(bytes, offset - segment.base)
    }

    /// Reads `len` bytes at `offset` from the segment holding it (not across segments).
    /// `None` if no segment holds `offset`.
    pub fn read_at(&self, offset: u64, len: usize) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(segment) = self.segment_containing(offset) else {
            return Ok(None);
        };
        let within = offset - segment.base;
        let len = len.min((self.segment_size - within) as usize);
        segment.read(within, len).map(Some)
    }

    /// Syncs every segment overlapping `[from, to)`.
    pub fn sync_range(&self, from: u64, to: u64) -> Result<(), StoreError> {
        if to <= from {
            return Ok(());
        }
        for segment in self.segments() {
            let end = segment.base + self.segment_size;
            if segment.base < to && end > from {
                segment.sync()?;
            }
        }
        Ok(())
    }

    /// Makes `offset` the end of the log: zeroes the rest of its segment (truncating the
    /// file and extending it again, which the file system does without writing) and
    /// deletes every later segment, so nothing stale can be mistaken for data later.
    pub fn truncate_from(&self, offset: u64) -> Result<(), StoreError> {
        let mut segments = self.segments.write();
        while segments.last().is_some_and(|last| last.base > offset) {
            let last = segments.pop().expect("checked non-empty");
            self.fs
                .remove_file(&last.path)
                .io_context("delete segment", &last.path)?;
        }
        if let Some(last) = segments.last() {
            if offset < last.base + self.segment_size {
                let within = offset.saturating_sub(last.base);
                last.file
                    .set_len(within)
                    .io_context("truncate segment", &last.path)?;
                last.file
                    .set_len(self.segment_size)
                    .io_context("size segment", &last.path)?;
                last.sync()?;
            }
        }
        self.fs
            .sync_dir(&self.dir)
            .io_context("fsync directory", &self.dir)?;
        Ok(())
    }

    /// Deletes the oldest segment if `keep` says so; returns its base if deleted.
    pub fn delete_first_if(
        &self,
        keep: impl Fn(&Segment) -> bool,
    ) -> Result<Option<u64>, StoreError> {
        let mut segments = self.segments.write();
        let Some(first) = segments.first() else {
            return Ok(None);
        };
        if keep(first) {
            return Ok(None);
        }
        let first = segments.remove(0);
        self.fs
            .remove_file(&first.path)
            .io_context("delete segment", &first.path)?;
        Ok(Some(first.base))
    }

    /// Deletes every segment and the directory's contents.
    pub fn delete_all(&self) -> Result<(), StoreError> {
        let mut segments = self.segments.write();
        for segment in segments.drain(..) {
            self.fs
                .remove_file(&segment.path)
                .io_context("delete segment", &segment.path)?;
        }
        Ok(())
    }
}
