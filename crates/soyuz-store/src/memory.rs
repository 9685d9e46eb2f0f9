//! `MemoryStore`: the whole [`MessageStore`] contract held in memory.
//!
//! It exists as the reference model for the conformance suite (`tests/conformance.rs`
//! runs every behaviour test against it and against [`DefaultMessageStore`]) and as a
//! fast, file-free store for unit tests of the broker. It is not a production store:
//! nothing is persisted, nothing is ever deleted, and the whole store sits behind one
//! lock.
//!
//! What it keeps the same as the file store, so tests written against it hold for the
//! real one:
//!
//! - queue offsets are assigned per topic-queue from 0; PREPARED and ROLLBACK transaction
//!   records get queue offset 0 and no ConsumeQueue unit (they are invisible to
//!   [`MessageStore::get`], though PREPARED ones can be found by key);
//! - every record is stored as the exact bytes [`MessageRecord::encode`] produces, with
//!   physical offset, queue offset and store time filled in, so reads return what a
//!   client parses and [`MessageStore::message_at`] finds a record at the physical offset
//!   its put returned;
//! - reads follow the file store's `GetStatus` rules, limits and tag filtering (by
//!   [`tags_code`] of the `TAGS` property), including stopping at the end of a
//!   ConsumeQueue file (see [`MemoryStore::with_consume_queue_file_size`]);
//! - `query_by_key` matches a `KEYS` token or the `UNIQ_KEY` of a message of the topic
//!   (ROLLBACK records are not indexed), newest first, at most `max_num` and never more
//!   than the index's 64 per query;
//! - validation refuses the same messages with the same [`StoreError`] variants;
//! - after [`MessageStore::shutdown`], `put` and `get` answer [`StoreError::ShutDown`].
//!
//! What differs: physical offsets are contiguous (the file store skips to the next
//! segment, leaving a BLANK record, when a record does not fit), there is no retention
//! (the minimum queue offset is always 0 and the CommitLog minimum always 0), and the
//! arrival listener is called synchronously at the end of each put (once per queue that
//! grew) rather than by the dispatcher thread, which may report several puts at once.
//! After shutdown, the other fallible calls (`offset_by_time`, `earliest_store_time`,
//! `message_at`, `query_by_key`) answer [`StoreError::ShutDown`] too, as the trait's
//! "refuses work afterwards" says; the file store still answers them from its files.
//! `query_by_key` compares exact store times with the range, while the file store's
//! IndexFile keeps times in whole seconds from each index file's first entry (as Java
//! does), so a range end that falls inside a second can include or exclude differently.
//!
//! [`DefaultMessageStore`]: crate::DefaultMessageStore

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use soyuz_model::names::validate_topic;
use soyuz_model::properties::{decode_properties, keys};
use soyuz_model::record::MessageRecord;
use soyuz_model::{sys_flag, Clock};

use crate::api::*;
use crate::consume_queue::CQ_UNIT_SIZE;
use crate::dispatch::tags_code;
use crate::error::StoreError;
use crate::index::MAX_MSGS_NUM_BATCH;

/// The file store's default ConsumeQueue file size (`mappedFileSizeConsumeQueue`).
const DEFAULT_CONSUME_QUEUE_FILE_SIZE: u64 = 300_000 * CQ_UNIT_SIZE;

/// One ConsumeQueue unit, with the store time kept alongside for time searches.
#[derive(Debug, Clone, Copy)]
struct Unit {
    commit_log_offset: u64,
    size: usize,
    tags_code: i64,
    store_timestamp: i64,
}

/// One stored record and what the index would hold for it.
struct Stored {
    offset: u64,
    bytes: Bytes,
    topic: String,
    store_timestamp: i64,
    /// The KEYS tokens and the unique key; `None` when the record is not indexed
    /// (ROLLBACK records are not).
    index_keys: Option<(Vec<String>, Option<String>)>,
}

#[derive(Default)]
struct State {
    /// Records in physical-offset order.
    log: Vec<Stored>,
    /// The next physical offset.
    end: u64,
    /// ConsumeQueues; a queue exists once a visible message was stored in it.
    queues: HashMap<(String, i32), Vec<Unit>>,
    /// Store time and physical offset of the last record indexed.
    index_last_update: (i64, i64),
}

/// A [`MessageStore`] held entirely in memory; see the [module docs](self).
pub struct MemoryStore {
    max_message_size: usize,
    units_per_cq_file: u64,
    clock: Arc<dyn Clock>,
    state: RwLock<State>,
    arrival: RwLock<Option<ArrivalListener>>,
    shutdown: AtomicBool,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.read();
        f.debug_struct("MemoryStore")
            .field("max_message_size", &self.max_message_size)
            .field("records", &state.log.len())
            .field("end", &state.end)
            .field("queues", &state.queues.len())
            .field("shut_down", &self.shutdown.load(Ordering::Acquire))
            .finish()
    }
}

impl MemoryStore {
    /// An empty store refusing bodies over `max_message_size` (`maxMessageSize`), giving
    /// messages store times from `clock`.
    pub fn new(max_message_size: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            max_message_size,
            units_per_cq_file: DEFAULT_CONSUME_QUEUE_FILE_SIZE / CQ_UNIT_SIZE,
            clock,
            state: RwLock::new(State::default()),
            arrival: RwLock::new(None),
            shutdown: AtomicBool::new(false),
        }
    }

    /// Makes reads stop at the same ConsumeQueue file ends as a file store configured
    /// with `mappedFileSizeConsumeQueue = bytes` (a read never spans two files, so it may
    /// return fewer than `max_count` messages). The default is the file store's default,
    /// 300,000 units. `bytes` is rounded down to whole 20-byte units, at least one.
    pub fn with_consume_queue_file_size(mut self, bytes: u64) -> Self {
        self.units_per_cq_file = (bytes / CQ_UNIT_SIZE).max(1);
        self
    }

    fn check_running(&self) -> Result<(), StoreError> {
        if self.shutdown.load(Ordering::Acquire) {
            Err(StoreError::ShutDown)
        } else {
            Ok(())
        }
    }

    fn validate(&self, message: &MessageRecord) -> Result<(), StoreError> {
        validate_topic(&message.topic).map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
        if message.queue_id < 0 {
            return Err(StoreError::MessageIllegal(format!(
                "queue id {} is negative",
                message.queue_id
            )));
        }
        message
            .validate(self.max_message_size)
            .map_err(|e| StoreError::MessageIllegal(e.to_string()))
    }
}

/// Whether a record with this sysflag gets a ConsumeQueue unit (and a queue offset).
fn is_visible(sys_flag_value: i32) -> bool {
    let tran = sys_flag::transaction_value(sys_flag_value);
    tran == sys_flag::TRANSACTION_NOT_TYPE || tran == sys_flag::TRANSACTION_COMMIT_TYPE
}

impl MessageStore for MemoryStore {
    fn put(&self, mut messages: Vec<MessageRecord>) -> Result<PutResult, StoreError> {
        self.check_running()?;
        if messages.is_empty() {
            return Err(StoreError::MessageIllegal("no messages to store".into()));
        }
        for message in &messages {
            self.validate(message)?;
        }
        let store_timestamp = self.clock.now_millis();
        let mut grown: Vec<(String, i32)> = Vec::new();
        let mut arrivals = Vec::new();
        let result = {
            let mut state = self.state.write();
            let state = &mut *state;
            let mut first_physical = None;
            let mut first_queue_offset = None;
            let mut wrote_bytes = 0u64;
            for message in messages.iter_mut() {
                let visible = is_visible(message.sys_flag);
                let key = (message.topic.clone(), message.queue_id);
                let next = state.queues.get(&key).map_or(0, |q| q.len() as i64);
                message.queue_offset = if visible { next } else { 0 };
                message.physical_offset = state.end as i64;
                message.store_timestamp = store_timestamp;
                first_physical.get_or_insert(state.end);
                first_queue_offset.get_or_insert(message.queue_offset);
                let bytes = Bytes::from(message.encode());
                let size = bytes.len();
                let properties = decode_properties(&message.properties);
                if visible {
                    state.queues.entry(key.clone()).or_default().push(Unit {
                        commit_log_offset: state.end,
                        size,
                        tags_code: tags_code(&properties),
                        store_timestamp,
                    });
                    if !grown.contains(&key) {
                        grown.push(key);
                    }
                }
                let tran = sys_flag::transaction_value(message.sys_flag);
                let index_keys = (tran != sys_flag::TRANSACTION_ROLLBACK_TYPE).then(|| {
                    let tokens: Vec<String> = properties
                        .get(keys::KEYS)
                        .map(|k| {
                            k.split(' ')
                                .filter(|t| !t.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    let unique = properties
                        .get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                        .filter(|u| !u.is_empty())
                        .cloned();
                    (tokens, unique)
                });
                if index_keys
                    .as_ref()
                    .is_some_and(|(tokens, unique)| !tokens.is_empty() || unique.is_some())
                {
                    state.index_last_update = (store_timestamp, state.end as i64);
                }
                state.log.push(Stored {
                    offset: state.end,
                    bytes,
                    topic: message.topic.clone(),
                    store_timestamp,
                    index_keys,
                });
                state.end += size as u64;
                wrote_bytes += size as u64;
            }
            for (topic, queue_id) in grown {
                let max = state
                    .queues
                    .get(&(topic.clone(), queue_id))
                    .map_or(0, |q| q.len() as i64);
                arrivals.push((topic, queue_id, max));
            }
            PutResult {
                status: PutStatus::PutOk,
                physical_offset: first_physical.unwrap_or(0),
                queue_offset: first_queue_offset.unwrap_or(0),
                count: messages.len(),
                wrote_bytes,
                store_timestamp,
                physical_offsets: messages.iter().map(|m| m.physical_offset as u64).collect(),
                queue_offsets: messages.iter().map(|m| m.queue_offset).collect(),
                sizes: messages.iter().map(|m| m.encoded_len() as u32).collect(),
            }
        };
        let listener = self.arrival.read().clone();
        if let Some(listener) = listener {
            for (topic, queue_id, max) in &arrivals {
                listener(topic, *queue_id, *max);
            }
        }
        Ok(result)
    }

    fn get(&self, request: &GetRequest) -> Result<GetResult, StoreError> {
        self.check_running()?;
        let offset = request.offset;
        let state = self.state.read();
        let Some(queue) = state.queues.get(&(request.topic.clone(), request.queue_id)) else {
            return Ok(GetResult::empty(GetStatus::NoMatchedLogicQueue, 0, 0, 0));
        };
        let (min, max) = (0i64, queue.len() as i64);
        if let Some(answer) = GetResult::out_of_range(offset, min, max) {
            return Ok(answer);
        }
        let scan = filter_scan_window(request.max_count) as u64;
        // A read never crosses the end of a ConsumeQueue file.
        let to_file_end = self.units_per_cq_file - offset as u64 % self.units_per_cq_file;
        let count = scan.min(to_file_end).min((max - offset) as u64) as usize;
        let units = &queue[offset as usize..offset as usize + count];
        let mut messages = Vec::new();
        let mut queue_offsets = Vec::new();
        let mut bytes = 0usize;
        let mut next = offset;
        for (i, unit) in units.iter().enumerate() {
            let queue_offset = offset + i as i64;
            if !messages.is_empty()
                && (messages.len() >= request.max_count || bytes + unit.size > request.max_bytes)
            {
                break;
            }
            next = queue_offset + 1;
            if !request.filter.accepts(unit.tags_code) {
                continue;
            }
            let at = state
                .log
                .binary_search_by_key(&unit.commit_log_offset, |s| s.offset)
                .expect("every unit points at a stored record");
            messages.push(state.log[at].bytes.clone());
            queue_offsets.push(queue_offset);
            bytes += unit.size;
        }
        let status = if messages.is_empty() {
            GetStatus::NoMatchedMessage
        } else {
            GetStatus::Found
        };
        Ok(GetResult {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages,
            queue_offsets,
        })
    }

    fn min_offset(&self, _topic: &str, _queue_id: i32) -> i64 {
        0
    }

    fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.state
            .read()
            .queues
            .get(&(topic.to_owned(), queue_id))
            .map_or(0, |q| q.len() as i64)
    }

    fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        boundary: Boundary,
    ) -> Result<i64, StoreError> {
        self.check_running()?;
        let state = self.state.read();
        let Some(queue) = state.queues.get(&(topic.to_owned(), queue_id)) else {
            return Ok(0);
        };
        // Both stores assume store times do not decrease along a queue (a clock that
        // does not run backwards), and search them the same way.
        Ok(match boundary {
            // The first offset stored at or after `timestamp`, or the max if none is.
            Boundary::Lower => queue.partition_point(|u| u.store_timestamp < timestamp) as i64,
            // The last offset stored at or before `timestamp`, or the min if none is.
            Boundary::Upper => {
                (queue.partition_point(|u| u.store_timestamp <= timestamp) as i64 - 1).max(0)
            }
        })
    }

    fn earliest_store_time(&self, topic: &str, queue_id: i32) -> Result<Option<i64>, StoreError> {
        self.check_running()?;
        Ok(self
            .state
            .read()
            .queues
            .get(&(topic.to_owned(), queue_id))
            .and_then(|q| q.first())
            .map(|u| u.store_timestamp))
    }

    fn message_at(&self, commit_log_offset: u64) -> Result<Option<Bytes>, StoreError> {
        self.check_running()?;
        let state = self.state.read();
        Ok(state
            .log
            .binary_search_by_key(&commit_log_offset, |s| s.offset)
            .ok()
            .map(|at| state.log[at].bytes.clone()))
    }

    fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> Result<QueryResult, StoreError> {
        self.check_running()?;
        let state = self.state.read();
        let messages = state
            .log
            .iter()
            .rev()
            .filter(|s| {
                s.topic == topic
                    && s.store_timestamp >= begin
                    && s.store_timestamp <= end
                    && s.index_keys.as_ref().is_some_and(|(tokens, unique)| {
                        unique.as_deref() == Some(key) || tokens.iter().any(|t| t == key)
                    })
            })
            .take(max_num.min(MAX_MSGS_NUM_BATCH))
            .map(|s| s.bytes.clone())
            .collect();
        Ok(QueryResult {
            messages,
            index_last_update_timestamp: state.index_last_update.0,
            index_last_update_phyoffset: state.index_last_update.1,
        })
    }

    fn commit_log_min_offset(&self) -> u64 {
        0
    }

    fn commit_log_max_offset(&self) -> u64 {
        self.state.read().end
    }

    fn set_arrival_listener(&self, listener: ArrivalListener) {
        *self.arrival.write() = Some(listener);
    }

    fn shutdown(&self) -> Result<(), StoreError> {
        self.shutdown.store(true, Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soyuz_model::ManualClock;
    use std::net::SocketAddr;

    fn message(topic: &str, queue_id: i32, body: &str, properties: &str) -> MessageRecord {
        let host: SocketAddr = "127.0.0.1:10911".parse().expect("addr");
        MessageRecord {
            topic: topic.into(),
            queue_id,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(body.to_owned()),
            properties: properties.to_owned(),
        }
    }

    fn request(offset: i64, max_count: usize) -> GetRequest {
        GetRequest {
            topic: "T".into(),
            queue_id: 0,
            offset,
            max_count,
            max_bytes: usize::MAX,
            filter: TagFilter::All,
        }
    }

    #[test]
    fn reads_stop_at_the_consume_queue_file_end() {
        let store = MemoryStore::new(1024, Arc::new(ManualClock::new(1)))
            .with_consume_queue_file_size(5 * CQ_UNIT_SIZE);
        for i in 0..12 {
            store
                .put(vec![message("T", 0, &i.to_string(), "")])
                .expect("put");
        }
        let first = store.get(&request(3, 32)).expect("get");
        assert_eq!(first.queue_offsets, vec![3, 4]);
        assert_eq!(first.next_begin_offset, 5);
        let second = store.get(&request(5, 32)).expect("get");
        assert_eq!(second.queue_offsets, vec![5, 6, 7, 8, 9]);
    }

    #[test]
    fn stored_bytes_are_the_encoded_record() {
        let clock = ManualClock::new(42);
        let store = MemoryStore::new(1024, Arc::new(clock));
        store.put(vec![message("T", 0, "a", "")]).expect("put");
        let put = store
            .put(vec![message("T", 0, "b", "TAGS\u{1}x\u{2}")])
            .expect("put");
        let mut expected = message("T", 0, "b", "TAGS\u{1}x\u{2}");
        expected.queue_offset = 1;
        expected.physical_offset = put.physical_offset as i64;
        expected.store_timestamp = 42;
        let stored = store
            .message_at(put.physical_offset)
            .expect("read")
            .expect("present");
        assert_eq!(stored.as_ref(), expected.encode().as_slice());
        assert_eq!(
            store.commit_log_max_offset(),
            put.physical_offset + put.wrote_bytes
        );
    }
}
