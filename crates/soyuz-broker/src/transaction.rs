//! Transactional messages (`TransactionalMessageServiceImpl`, `EndTransactionProcessor`,
//! `TransactionalMessageCheckService`).
//!
//! * A half message is stored in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 with its real topic
//!   and queue in properties, so no consumer sees it.
//! * END_TRANSACTION commits it (stored again on its real topic and queue) or rolls it
//!   back; either way an op record with the half message's queue offset goes to
//!   `RMQ_SYS_TRANS_OP_HALF_TOPIC`, which marks it resolved.
//! * The checker walks the half queue from its progress offset; a half message older
//!   than `transactionTimeOut` and still unresolved is stored again with one more check
//!   count and its producer group is asked CHECK_TRANSACTION_STATE. After
//!   `transactionCheckMax` checks it is discarded to `TRANS_CHECK_MAX_TIME_TOPIC`, and the
//!   log says so.
//!
//! Progress (the first unresolved half offset, and where op records start to matter) is
//! kept as the offsets of group `CID_RMQ_SYS_TRANS`, so a restart resumes where it was.

use std::collections::BTreeSet;

use parking_lot::Mutex;
use soyuz_model::properties::{decode_properties, encode_properties, find_property, keys};
use soyuz_model::record::{decode_record_shared, DecodedRecord, MessageRecord};
use soyuz_model::sys_flag;
use soyuz_store::{GetRequest, GetStatus, MessageStore, StoreError, TagFilter};

use crate::consumer_offset_manager::ConsumerOffsetManager;

/// Where half messages wait.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Where resolutions are recorded.
pub const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Where half messages checked too often end up.
pub const CHECK_MAX_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// The group whose offsets record the checker's progress.
pub const SYSTEM_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// How many times a half message has been checked.
pub const CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// The transaction id property of a half message.
pub const TRANSACTION_ID: &str = "__transactionId__";
/// A producer-chosen first-check delay, in seconds.
pub const CHECK_IMMUNITY: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// The tag of op records.
const OP_TAG: &str = "d";

/// Turns a prepared message into its half message.
pub fn to_half(record: &mut MessageRecord) {
    let mut properties = decode_properties(&record.properties);
    properties.insert(keys::REAL_TOPIC.to_owned(), record.topic.clone());
    properties.insert(keys::REAL_QUEUE_ID.to_owned(), record.queue_id.to_string());
    if let Some(id) = properties.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).cloned() {
        properties.insert(TRANSACTION_ID.to_owned(), id);
    }
    record.properties = encode_properties(&properties);
    record.sys_flag =
        sys_flag::reset_transaction_value(record.sys_flag, sys_flag::TRANSACTION_NOT_TYPE);
    record.topic = HALF_TOPIC.to_owned();
    record.queue_id = 0;
}

/// The committed message: back on its real topic and queue, marked committed.
pub fn to_committed(half: &MessageRecord) -> Option<MessageRecord> {
    let mut properties = decode_properties(&half.properties);
    let topic = properties.remove(keys::REAL_TOPIC)?;
    let queue_id = properties.remove(keys::REAL_QUEUE_ID)?.parse().ok()?;
    properties.remove("__CRC32#");
    let mut committed = half.clone();
    committed.topic = topic;
    committed.queue_id = queue_id;
    committed.prepared_transaction_offset = half.physical_offset;
    committed.sys_flag =
        sys_flag::reset_transaction_value(half.sys_flag, sys_flag::TRANSACTION_COMMIT_TYPE);
    committed.properties = encode_properties(&properties);
    Some(committed)
}

/// The half message as the producer's checker sees it: its real topic and queue.
pub fn as_checked(half: &MessageRecord) -> MessageRecord {
    let mut shown = half.clone();
    if let Some(topic) = find_property(&half.properties, keys::REAL_TOPIC) {
        shown.topic = topic.to_owned();
    }
    if let Some(queue) =
        find_property(&half.properties, keys::REAL_QUEUE_ID).and_then(|q| q.parse().ok())
    {
        shown.queue_id = queue;
    }
    shown
}

/// An op record marking half offset `half_offset` resolved.
pub fn op_record(template: &MessageRecord, half_offset: i64) -> MessageRecord {
    let mut op = template.clone();
    op.topic = OP_TOPIC.to_owned();
    op.queue_id = 0;
    op.sys_flag = 0;
    op.body = bytes::Bytes::from(half_offset.to_string());
    op.properties = format!("{}\u{1}{OP_TAG}\u{2}WAIT\u{1}false\u{2}", keys::TAGS);
    op
}

/// What one check of a half message decided.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckAction {
    /// Ask the producer group; the half message was stored again at this record.
    Ask(MessageRecord),
    /// Checked too often: discarded.
    Discarded,
}

/// Resolution bookkeeping.
#[derive(Default)]
pub struct TransactionState {
    inner: Mutex<Progress>,
}

#[derive(Default)]
struct Progress {
    /// Half offsets at or past `half_progress` that are resolved.
    resolved: BTreeSet<i64>,
    /// The first half offset that may be unresolved.
    half_progress: i64,
    loaded: bool,
}

fn read(
    store: &dyn MessageStore,
    topic: &str,
    offset: i64,
) -> Result<Vec<(i64, MessageRecord)>, StoreError> {
    let got = store.get(&GetRequest {
        topic: topic.to_owned(),
        queue_id: 0,
        offset,
        max_count: 32,
        max_bytes: 1 << 20,
        filter: TagFilter::All,
    })?;
    if got.status != GetStatus::Found {
        return Ok(Vec::new());
    }
    Ok(got
        .messages
        .iter()
        .zip(got.queue_offsets)
        .filter_map(|(raw, offset)| match decode_record_shared(raw, false) {
            Ok(DecodedRecord::Message(record, _)) => Some((offset, record)),
            _ => None,
        })
        .collect())
}

impl TransactionState {
    /// Records a resolution made by END_TRANSACTION.
    pub fn resolved(&self, half_offset: i64) {
        let mut progress = self.inner.lock();
        if half_offset >= progress.half_progress {
            progress.resolved.insert(half_offset);
        }
    }

    /// Whether `half_offset` was resolved.
    pub fn is_resolved(&self, half_offset: i64) -> bool {
        let progress = self.inner.lock();
        half_offset < progress.half_progress || progress.resolved.contains(&half_offset)
    }

    /// Reads the progress offsets and the op records written since (once).
    fn load(
        &self,
        store: &dyn MessageStore,
        offsets: &ConsumerOffsetManager,
    ) -> Result<(), StoreError> {
        if self.inner.lock().loaded {
            return Ok(());
        }
        let half_progress = offsets.query(SYSTEM_GROUP, HALF_TOPIC, 0).unwrap_or(0);
        let mut op_offset = offsets.query(SYSTEM_GROUP, OP_TOPIC, 0).unwrap_or(0);
        let mut resolved = BTreeSet::new();
        loop {
            let batch = read(store, OP_TOPIC, op_offset)?;
            let Some((last, _)) = batch.last() else { break };
            op_offset = last + 1;
            for (_, op) in batch {
                for half in String::from_utf8_lossy(&op.body).split(',') {
                    if let Ok(half) = half.trim().parse::<i64>() {
                        if half >= half_progress {
                            resolved.insert(half);
                        }
                    }
                }
            }
        }
        let mut progress = self.inner.lock();
        progress.half_progress = half_progress;
        progress.resolved.extend(resolved);
        progress.loaded = true;
        Ok(())
    }

    /// One check round: every unresolved half message older than `timeout_ms` (or its
    /// own immunity) is stored again with one more check count and handed to `ask`, or
    /// discarded after `check_max` checks. Returns how many were asked about.
    pub fn check_round(
        &self,
        store: &dyn MessageStore,
        offsets: &ConsumerOffsetManager,
        now: i64,
        timeout_ms: i64,
        check_max: i32,
        mut ask: impl FnMut(CheckAction),
    ) -> Result<usize, StoreError> {
        self.load(store, offsets)?;
        let mut offset = self.inner.lock().half_progress;
        let mut asked = 0;
        'scan: loop {
            let batch = read(store, HALF_TOPIC, offset)?;
            if batch.is_empty() {
                break;
            }
            for (half_offset, half) in batch {
                offset = half_offset + 1;
                if self.is_resolved(half_offset) {
                    continue;
                }
                let immunity = find_property(&half.properties, CHECK_IMMUNITY)
                    .and_then(|s| s.parse::<i64>().ok())
                    .map_or(timeout_ms, |s| s * 1000);
                if half.store_timestamp + immunity > now {
                    // Younger messages follow; they are checked in a later round.
                    break 'scan;
                }
                let checks: i32 = find_property(&half.properties, CHECK_TIMES)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if checks >= check_max {
                    tracing::warn!(
                        half_offset,
                        checks,
                        msg_id = find_property(&half.properties, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).unwrap_or(""),
                        "transaction checked {check_max} times without an answer: half message discarded to {CHECK_MAX_TOPIC}"
                    );
                    let mut discarded = half.clone();
                    discarded.topic = CHECK_MAX_TOPIC.to_owned();
                    discarded.queue_id = 0;
                    store.put(vec![discarded, op_record(&half, half_offset)])?;
                    self.resolved(half_offset);
                    ask(CheckAction::Discarded);
                    continue;
                }
                let mut again = half.clone();
                let mut properties = decode_properties(&again.properties);
                properties.insert(CHECK_TIMES.to_owned(), (checks + 1).to_string());
                properties.remove(CHECK_IMMUNITY);
                properties.remove("__CRC32#");
                again.properties = encode_properties(&properties);
                let put = store.put(vec![again.clone(), op_record(&half, half_offset)])?;
                self.resolved(half_offset);
                again.physical_offset = put.physical_offsets[0] as i64;
                again.queue_offset = put.queue_offsets[0];
                again.store_timestamp = put.store_timestamp;
                ask(CheckAction::Ask(again));
                asked += 1;
            }
        }
        self.advance(store, offsets);
        Ok(asked)
    }

    /// Moves the progress over resolved offsets and records it. When nothing past the
    /// progress is resolved, every op record so far is behind it, and the next start need
    /// not read them.
    fn advance(&self, store: &dyn MessageStore, offsets: &ConsumerOffsetManager) {
        let mut progress = self.inner.lock();
        loop {
            let next = progress.half_progress;
            if !progress.resolved.remove(&next) {
                break;
            }
            progress.half_progress += 1;
        }
        offsets.commit(SYSTEM_GROUP, HALF_TOPIC, 0, progress.half_progress);
        if progress.resolved.is_empty() {
            offsets.commit(SYSTEM_GROUP, OP_TOPIC, 0, store.max_offset(OP_TOPIC, 0));
        }
    }
}
