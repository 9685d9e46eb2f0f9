//! Dispatch ("reput"): reading committed CommitLog records and building the
//! ConsumeQueues and the IndexFile from them. The background dispatcher and recovery run
//! the same code, and re-dispatching a range is harmless: units land at their queue
//! offsets and the index skips offsets it already holds.

use std::collections::HashMap;

use soyuz_model::java_string_hash;
use soyuz_model::properties::{find_properties_in_bytes, keys};
use soyuz_model::record::{view_record, RecordError, RecordRef, BLANK_MAGIC_CODE};
use soyuz_model::sys_flag;

use crate::commit_log::CommitLog;
use crate::consume_queue::CqUnit;
use crate::error::StoreError;
use crate::index::{push_message_keys, IndexService};
use crate::queue_table::QueueTable;

/// Bytes read from the CommitLog per dispatch step.
const CHUNK: u64 = 1024 * 1024;

/// What one dispatch step did.
#[derive(Debug, Default)]
pub struct DispatchStep {
    /// The new dispatched offset.
    pub dispatched: u64,
    /// `(topic, queue id, new max offset)` for each queue that grew.
    pub arrivals: Vec<(String, i32, i64)>,
    /// Store time of the last record dispatched.
    pub last_store_timestamp: i64,
}

/// The tag hash a ConsumeQueue unit carries (`tagsString2tagsCode`): Java's hash of the
/// TAGS property, 0 without tags.
pub fn tags_code(properties: &std::collections::BTreeMap<String, String>) -> i64 {
    tag_hash(properties.get(keys::TAGS).map(String::as_str))
}

/// [`tags_code`] of a TAGS value.
pub fn tag_hash(tag: Option<&str>) -> i64 {
    tag.filter(|t| !t.is_empty())
        .map_or(0, |t| i64::from(java_string_hash(t)))
}

/// Dispatches records from `from` up to at most `to`, one chunk at most. Returns how far
/// it got; stops early at a record that is not complete yet.
pub fn dispatch_step(
    commit_log: &CommitLog,
    queues: &QueueTable,
    index: Option<&IndexService>,
    from: u64,
    to: u64,
) -> Result<DispatchStep, StoreError> {
    let mut step = DispatchStep {
        dispatched: from,
        ..DispatchStep::default()
    };
    if from >= to {
        return Ok(step);
    }
    let segment_size = commit_log.segments().segment_size();
    let segment_end = commit_log.segments().base_of(from) + segment_size;
    let mut want = (to.min(segment_end) - from).min(CHUNK) as usize;
    let chunk = loop {
        let Some(chunk) = commit_log.segments().read_at(from, want)? else {
            return Ok(step);
        };
        // A record larger than the chunk: read exactly that record.
        if chunk.len() >= 8 {
            let size = i32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]).max(0) as usize;
            let magic = i32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            if magic != BLANK_MAGIC_CODE
                && size > chunk.len()
                && (from + size as u64) <= to
                && size > want
            {
                want = size;
                continue;
            }
        }
        break chunk;
    };
    let mut batches: HashMap<(String, i32), (i64, Vec<CqUnit>)> = HashMap::new();
    // Every message's index keys, written together after the scan.
    let mut index_keys = Vec::new();
    let mut pos = 0usize;
    while pos + 8 <= chunk.len() {
        let offset = from + pos as u64;
        if offset >= to {
            break;
        }
        let magic = i32::from_be_bytes([
            chunk[pos + 4],
            chunk[pos + 5],
            chunk[pos + 6],
            chunk[pos + 7],
        ]);
        if magic == BLANK_MAGIC_CODE {
            // End of this segment: continue at the next one.
            step.dispatched = segment_end;
            break;
        }
        let record = match view_record(&chunk[pos..], false) {
            Ok(RecordRef::Message(record)) => record,
            Ok(RecordRef::Blank(_)) => {
                step.dispatched = segment_end;
                break;
            }
            Err(RecordError::Incomplete { .. }) => break,
            Err(e) => {
                return Err(StoreError::Corrupt {
                    file: commit_log.segments().dir().to_owned(),
                    detail: format!("undispatchable record at CommitLog offset {offset}: {e}"),
                })
            }
        };
        let topic = String::from_utf8_lossy(record.topic).into_owned();
        let [tags, key_text, unique] = find_properties_in_bytes(
            record.properties,
            [keys::TAGS, keys::KEYS, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX],
        );
        let tran_type = sys_flag::transaction_value(record.sys_flag);
        if tran_type == sys_flag::TRANSACTION_NOT_TYPE
            || tran_type == sys_flag::TRANSACTION_COMMIT_TYPE
        {
            let unit = CqUnit {
                commit_log_offset: offset,
                size: record.size as i32,
                tags_code: tag_hash(tags),
            };
            let entry = batches
                .entry((topic.clone(), record.queue_id))
                .or_insert_with(|| (record.queue_offset, Vec::new()));
            if entry.0.checked_add(entry.1.len() as i64) != Some(record.queue_offset) {
                // Not contiguous with the batch (only after odd recovery): write what we
                // have and start a new batch at this unit.
                let (first, units) = std::mem::replace(entry, (record.queue_offset, Vec::new()));
                queues
                    .get_or_open(&topic, record.queue_id)?
                    .put(first, &units)?;
            }
            entry.1.push(unit);
        }
        if index.is_some() && tran_type != sys_flag::TRANSACTION_ROLLBACK_TYPE {
            let key_list: Vec<&str> = key_text
                .unwrap_or_default()
                .split(' ')
                .filter(|k| !k.is_empty())
                .collect();
            push_message_keys(
                &mut index_keys,
                &topic,
                &key_list,
                unique,
                offset,
                record.store_timestamp,
            );
        }
        step.last_store_timestamp = record.store_timestamp;
        pos += record.size;
        step.dispatched = from + pos as u64;
    }
    if let Some(index) = index {
        index.build_index_batch(index_keys)?;
    }
    for ((topic, queue_id), (first, units)) in batches {
        if units.is_empty() {
            continue;
        }
        let queue = queues.get_or_open(&topic, queue_id)?;
        queue.put(first, &units)?;
        step.arrivals.push((topic, queue_id, queue.max_offset()));
    }
    Ok(step)
}
