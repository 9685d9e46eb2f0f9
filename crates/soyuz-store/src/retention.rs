//! Retention (`CleanCommitLogService`): deleting CommitLog segments older than
//! `fileReservedTime` at the hours `deleteWhen` names, or at any hour once the disk is
//! fuller than `diskMaxUsedSpaceRatio`, and even unexpired ones above
//! `diskSpaceCleanForciblyRatio`. ConsumeQueues and the index then drop what pointed into
//! the deleted segments, and their minimum offsets move up.
//!
//! A segment's age is the store time of the first record of the segment after it (the
//! newest a record in it can be); the last segment, being written, is never deleted.

use soyuz_model::record::peek_store_timestamp;

use crate::error::StoreError;
use crate::store::Inner;

/// What a retention round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Bases of the CommitLog segments deleted.
    pub deleted_segments: Vec<u64>,
    /// Disk use in percent when the round ran.
    pub disk_used_percent: u32,
    /// Whether writes are now refused for lack of space.
    pub disk_full: bool,
}

/// Reads how full the disk is and refuses writes at `diskSpaceWarningLevelRatio` or
/// above (resuming them below it); returns the use in percent and whether it is full.
/// Runs at open and on every retention round.
pub(crate) fn check_disk(inner: &Inner) -> (u32, bool) {
    let usage = inner
        .fs
        .disk_used_percent(&inner.config.store_path_root_dir)
        .unwrap_or(0);
    let limit = inner.config.disk_space_warning_level_ratio;
    let full = usage >= limit;
    if inner.set_disk_full(full) {
        if full {
            tracing::error!(
                usage_percent = usage,
                limit_percent = limit,
                "disk full: messages are refused until space is freed (diskSpaceWarningLevelRatio)"
            );
        } else {
            tracing::warn!(
                usage_percent = usage,
                "disk space freed: messages are accepted again"
            );
        }
    }
    (usage, full)
}

/// One round at `now`; `force` deletes expired or not, up to the batch limit.
pub(crate) fn run(inner: &Inner, now: i64, force: bool) -> Result<RetentionReport, StoreError> {
    let config = &inner.config;
    let (usage, disk_full) = check_disk(inner);
    let mut report = RetentionReport {
        disk_used_percent: usage,
        disk_full,
        ..RetentionReport::default()
    };
    // Java reads the local hour; the store runs on UTC so tests do not depend on a zone.
    let hour = ((now.max(0) / 3_600_000) % 24) as u32;
    let at_delete_hour = config
        .delete_when_hours()
        .unwrap_or_default()
        .contains(&hour);
    let space_pressure = usage > config.disk_max_used_space_ratio;
    let clean_forcibly = force || usage > config.disk_space_clean_forcibly_ratio;
    if !(at_delete_hour || space_pressure || clean_forcibly) {
        return Ok(report);
    }
    let reserved_millis = config.file_reserved_time as i64 * 3_600_000;
    let segments = inner.commit_log.segments();
    for _ in 0..config.delete_file_batch_max.max(1) {
        let all = segments.segments();
        let (Some(first), Some(next)) = (all.first(), all.get(1)) else {
            break;
        };
        let newest_in_first = first_store_timestamp(next)?;
        let expired = newest_in_first.is_some_and(|t| t + reserved_millis < now);
        if !expired && !clean_forcibly {
            break;
        }
        let base = first.base;
        if segments.delete_first_if(|s| s.base != base)?.is_none() {
            break;
        }
        tracing::info!(base, expired, clean_forcibly, "deleted CommitLog segment");
        report.deleted_segments.push(base);
        fail::fail_point!("retention::after_segment_delete", |_| Err(StoreError::Io {
            context: "failpoint",
            path: segments.dir().to_owned(),
            source: std::io::Error::other("injected by a failure point"),
        }));
    }
    if !report.deleted_segments.is_empty() {
        let min = inner.commit_log.min_offset();
        for queue in inner.queues.all() {
            queue.correct_min_offset(min)?;
        }
        if let Some(index) = &inner.index {
            index.delete_files_below(min)?;
        }
    }
    Ok(report)
}

/// Store time of a segment's first record, if it holds one.
fn first_store_timestamp(segment: &crate::segment::Segment) -> Result<Option<i64>, StoreError> {
    Ok(peek_store_timestamp(&segment.read(0, 80)?))
}
