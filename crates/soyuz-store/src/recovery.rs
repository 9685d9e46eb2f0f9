//! Finding where the CommitLog's valid data ends after a restart.
//!
//! The contract: every record below the checkpoint's `flushedOffset` was acknowledged
//! as durable, so damage there is never repaired silently — the store refuses to start
//! and names the file and offset. Damage at or past it is a torn tail from the crash and
//! is cut off, unless a valid record follows the damage (interior corruption), which is
//! refused as well.
//!
//! The scan starts at the segment holding the checkpoint's dispatched offset (everything
//! before it is known good and indexed) and checks every record's structure and, with
//! `checkCRCOnRecover`, its body CRC.

use soyuz_model::names::validate_topic;
use soyuz_model::record::{
    check_record, verify_properties_crc, view_record, RecordCheck, RecordRef, BLANK_MAGIC_CODE,
    MESSAGE_MAGIC_CODE, MESSAGE_MAGIC_CODE_V2, MIN_RECORD_SIZE,
};

use crate::checkpoint::Checkpoint;
use crate::commit_log::CommitLog;
use crate::error::StoreError;

/// How far past a damaged record recovery looks for valid records before deciding the
/// damage is a torn tail: a crash can leave at most the unflushed tail damaged, and one
/// maximal record plus the flush backlog fits well inside this.
const INTERIOR_SEARCH_WINDOW: u64 = 16 * 1024 * 1024;
const READ_CHUNK: u64 = 4 * 1024 * 1024;

/// What recovery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Where the scan started.
    pub scan_start: u64,
    /// Where re-dispatch must start: the checkpoint's dispatched offset when the scan
    /// found a record boundary there, else the scan start.
    pub dispatch_from: u64,
    /// The end of valid data.
    pub end: u64,
    /// Whether a torn tail was cut off (never after a clean shutdown).
    pub torn_tail: bool,
}

/// Why the scan stopped at an offset.
enum Stop {
    /// Zeros where the next record's size should be: the normal end of data.
    Clean,
    /// A record that is not valid.
    Damaged(String),
}

/// Scans the CommitLog and truncates it at the end of valid data.
pub fn recover_commit_log(
    commit_log: &CommitLog,
    checkpoint: &Checkpoint,
    check_crc: bool,
) -> Result<Recovered, StoreError> {
    let segments = commit_log.segments();
    let Some(first) = segments.min_base() else {
        if checkpoint.flushed_offset > 0 {
            return Err(StoreError::Corrupt {
                file: segments.dir().to_owned(),
                detail: format!(
                    "no CommitLog files, but the checkpoint says {} bytes were durable",
                    checkpoint.flushed_offset
                ),
            });
        }
        commit_log.set_end(0);
        return Ok(Recovered {
            scan_start: 0,
            dispatch_from: 0,
            end: 0,
            torn_tail: false,
        });
    };
    let last_base = segments.last().map_or(first, |s| s.base);
    let hint = checkpoint.dispatched_offset.min(checkpoint.flushed_offset);
    let scan_start = segments.base_of(hint).clamp(first, last_base);

    let mut hint_is_boundary = false;
    let (stop_at, stop) = scan(
        commit_log,
        scan_start,
        check_crc,
        hint,
        &mut hint_is_boundary,
    )?;
    // Everything before the dispatched offset is in the ConsumeQueues and the index
    // already; re-dispatching it would only rewrite the same units.
    let dispatch_from = if hint_is_boundary { hint } else { scan_start };
    let data_after = valid_record_after(commit_log, stop_at)?;
    let dir = segments.dir().to_owned();
    let file = segments
        .segment_containing(stop_at)
        .map_or(dir.clone(), |s| s.path.clone());
    match (&stop, data_after) {
        (Stop::Damaged(reason), _) if stop_at < checkpoint.flushed_offset => {
            return Err(StoreError::Corrupt {
                file,
                detail: format!(
                    "damaged record at CommitLog offset {stop_at} ({reason}), below the durable offset {}; \
                     refusing to start rather than drop acknowledged messages",
                    checkpoint.flushed_offset
                ),
            })
        }
        (Stop::Clean, _) if stop_at < checkpoint.flushed_offset => {
            return Err(StoreError::Corrupt {
                file,
                detail: format!(
                    "CommitLog data ends at offset {stop_at}, but {} bytes were durable; \
                     refusing to start rather than drop acknowledged messages",
                    checkpoint.flushed_offset
                ),
            })
        }
        (_, Some(valid)) => {
            let reason = match &stop {
                Stop::Clean => "zeros".to_owned(),
                Stop::Damaged(reason) => reason.clone(),
            };
            return Err(StoreError::Corrupt {
                file,
                detail: format!(
                    "interior damage: the record at CommitLog offset {stop_at} is invalid ({reason}) \
                     but a valid record follows at offset {valid}; refusing to start"
                ),
            });
        }
        _ => {}
    }
    let torn = matches!(stop, Stop::Damaged(_));
    if let Stop::Damaged(reason) = &stop {
        tracing::warn!(offset = stop_at, %reason, "cutting off a torn CommitLog tail");
    }
    segments.truncate_from(stop_at)?;
    commit_log.set_end(stop_at);
    Ok(Recovered {
        scan_start,
        dispatch_from,
        end: stop_at,
        torn_tail: torn,
    })
}

/// Reads the CommitLog in large chunks and hands out record-sized slices of them.
struct ChunkReader<'a> {
    commit_log: &'a CommitLog,
    start: u64,
    bytes: Vec<u8>,
}

impl ChunkReader<'_> {
    /// `len` bytes at `pos`, which must lie inside one segment.
    fn get(&mut self, pos: u64, len: usize) -> Result<&[u8], StoreError> {
        let end = pos + len as u64;
        if pos < self.start || end > self.start + self.bytes.len() as u64 {
            let segments = self.commit_log.segments();
            let segment_end = segments.base_of(pos) + segments.segment_size();
            let want = (len as u64).max(READ_CHUNK).min(segment_end - pos) as usize;
            self.bytes = segments.read_at(pos, want)?.unwrap_or_default();
            self.start = pos;
        }
        let at = (pos - self.start) as usize;
        Ok(self.bytes.get(at..at + len).unwrap_or(&[]))
    }
}

/// Walks records from `from` until the data stops; returns where and why. Sets
/// `probe_hit` when a record starts at `probe` (or the data ends there).
fn scan(
    commit_log: &CommitLog,
    from: u64,
    check_crc: bool,
    probe: u64,
    probe_hit: &mut bool,
) -> Result<(u64, Stop), StoreError> {
    let segments = commit_log.segments();
    let segment_size = segments.segment_size();
    let mut reader = ChunkReader {
        commit_log,
        start: 0,
        bytes: Vec::new(),
    };
    let mut pos = from;
    loop {
        if pos == probe {
            *probe_hit = true;
        }
        if segments.segment_containing(pos).is_none() {
            return Ok((pos, Stop::Clean));
        }
        let segment_end = segments.base_of(pos) + segment_size;
        if segment_end - pos < 8 {
            return Ok((
                pos,
                Stop::Damaged("no room for a record before the segment end".into()),
            ));
        }
        let head = reader.get(pos, 8)?;
        if head.len() < 8 {
            return Ok((pos, Stop::Damaged("unreadable record header".into())));
        }
        let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if size == 0 && magic == 0 {
            return Ok((pos, Stop::Clean));
        }
        if magic == BLANK_MAGIC_CODE {
            if size > 0 && pos + size as u64 == segment_end {
                pos = segment_end;
                continue;
            }
            return Ok((
                pos,
                Stop::Damaged(format!(
                    "end-of-segment marker of size {size} does not reach the segment end"
                )),
            ));
        }
        if size <= 8 || pos + size as u64 > segment_end {
            return Ok((
                pos,
                Stop::Damaged(format!(
                    "record size {size} does not fit before the segment end"
                )),
            ));
        }
        let record = reader.get(pos, size as usize)?;
        match check_record(record, check_crc) {
            RecordCheck::Message { size: checked } if checked == size as usize => {
                if let Some(problem) = deeper_check(record, pos, check_crc) {
                    return Ok((pos, Stop::Damaged(problem)));
                }
                pos += size as u64;
            }
            RecordCheck::Corrupt(e) => return Ok((pos, Stop::Damaged(e.to_string()))),
            other => return Ok((pos, Stop::Damaged(format!("invalid record: {other:?}")))),
        }
    }
}

/// Checks the body CRC cannot: the `__CRC32#` property over the whole record, when the
/// record has one, and that the topic and properties are text a producer could have sent
/// (a torn write leaves zeros there, which the size fields alone do not reveal).
fn deeper_check(record: &[u8], position: u64, check_crc: bool) -> Option<String> {
    if check_crc && verify_properties_crc(record) == Some(false) {
        return Some("the __CRC32# property does not match the record".into());
    }
    let Ok(RecordRef::Message(view)) = view_record(record, false) else {
        return Some("record does not parse".into());
    };
    if view.physical_offset != position as i64 {
        return Some(format!(
            "the record says it is at offset {}, but it is at {position}",
            view.physical_offset
        ));
    }
    // A queue cannot have had more messages than the CommitLog had room for before this
    // record; anything else is garbage that would send ConsumeQueue writes anywhere.
    let most_records_before = position / MIN_RECORD_SIZE as u64;
    if view.queue_offset < 0 || view.queue_offset as u64 > most_records_before {
        return Some(format!(
            "queue offset {} is impossible at offset {position}",
            view.queue_offset
        ));
    }
    let topic_ok = std::str::from_utf8(view.topic).is_ok_and(|t| validate_topic(t).is_ok());
    if !topic_ok {
        return Some("the topic is not a valid topic name".into());
    }
    if view.properties.contains(&0) {
        return Some("the properties contain NUL bytes".into());
    }
    None
}

/// Whether `bytes` start with a record that was written at `position` by a store: valid
/// structure and CRCs, and its own physical-offset field naming `position`. A record a
/// producer embedded in a message body fails the last test, so a torn message carrying
/// one is still a torn tail.
fn is_genuine_record(bytes: &[u8], position: u64) -> bool {
    match check_record(bytes, true) {
        RecordCheck::Message { size } => deeper_check(&bytes[..size], position, true).is_none(),
        _ => false,
    }
}

/// The offset of a CRC-valid record starting after `stop` (within the search window, or
/// at the start of any later segment), if there is one.
fn valid_record_after(commit_log: &CommitLog, stop: u64) -> Result<Option<u64>, StoreError> {
    let segments = commit_log.segments();
    let segment_size = segments.segment_size();
    for segment in segments.segments() {
        if segment.base > stop {
            let head = segment.read(0, 8)?;
            let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            if size > 8 && (size as u64) <= segment_size {
                let record = segment.read(0, size as usize)?;
                if is_genuine_record(&record, segment.base) {
                    return Ok(Some(segment.base));
                }
            }
        }
    }
    let Some(segment) = segments.segment_containing(stop) else {
        return Ok(None);
    };
    let segment_end = segment.base + segment_size;
    let window_end = segment_end.min(stop + INTERIOR_SEARCH_WINDOW);
    if window_end <= stop + 1 {
        return Ok(None);
    }
    let window = segment.read(stop - segment.base, (window_end - stop) as usize)?;
    for at in 1..window.len().saturating_sub(8) {
        let magic = i32::from_be_bytes([
            window[at + 4],
            window[at + 5],
            window[at + 6],
            window[at + 7],
        ]);
        if magic != MESSAGE_MAGIC_CODE && magic != MESSAGE_MAGIC_CODE_V2 {
            continue;
        }
        if is_genuine_record(&window[at..], stop + at as u64) {
            return Ok(Some(stop + at as u64));
        }
    }
    Ok(None)
}
