//! `DefaultMessageStore`: the file store, tying the CommitLog, ConsumeQueues, IndexFile,
//! flusher, dispatcher, checkpoint and retention together behind [`MessageStore`].
//!
//! Threads (plain OS threads: the store's API is synchronous and never runs on an async
//! runtime): the CommitLog flusher, the dispatcher, the logics flusher (ConsumeQueues,
//! index, checkpoint) and the cleaner (retention).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex, RwLock};
use soyuz_model::names::validate_topic;
use soyuz_model::properties::{decode_properties, keys};
use soyuz_model::record::{peek_store_timestamp, MessageRecord, PROPERTY_CRC32_PLACEHOLDER};
use soyuz_model::{sys_flag, Clock, SystemClock};

use crate::api::*;
use crate::checkpoint::{Checkpoint, StoreFiles};
use crate::commit_log::{CommitLog, CommitLogWriter};
use crate::config::{FlushDiskType, MessageStoreConfig};
use crate::consume_queue::ConsumeQueue;
use crate::dispatch::dispatch_step;
use crate::error::StoreError;
use crate::flush::{FlushWait, Flusher};
use crate::index::IndexService;
use crate::io::{OsFs, StoreFs};
use crate::queue_table::QueueTable;
use crate::recovery::{recover_commit_log, Recovered};
use crate::retention::{self, RetentionReport};

struct PutState {
    writer: CommitLogWriter,
    /// Next queue offset per topic, then per queue id (looked up by `&str`, no allocation
    /// on the hot path).
    queue_offsets: HashMap<String, HashMap<i32, i64>>,
}

pub(crate) struct Inner {
    pub(crate) config: MessageStoreConfig,
    pub(crate) fs: Arc<dyn StoreFs>,
    pub(crate) files: StoreFiles,
    pub(crate) commit_log: Arc<CommitLog>,
    pub(crate) queues: QueueTable,
    pub(crate) index: Option<IndexService>,
    pub(crate) clock: Arc<dyn Clock>,
    put: Mutex<PutState>,
    flusher: Flusher,
    dispatched: AtomicU64,
    dispatch_signal: Mutex<bool>,
    /// Set while the dispatcher waits for new bytes.
    dispatcher_idle: AtomicBool,
    dispatch_wake: Condvar,
    dispatch_done: Condvar,
    last_dispatched_timestamp: AtomicI64,
    last_flushed_timestamp: AtomicI64,
    arrival: RwLock<Option<ArrivalListener>>,
    disk_full: AtomicBool,
    shutdown: AtomicBool,
    stop_lock: Mutex<bool>,
    stop_signal: Condvar,
}

/// Ends `properties` with the `__CRC32#` placeholder the CommitLog fills in, dropping
/// any `__CRC32#` a client sent (as Java does).
fn append_crc_placeholder(properties: &mut String) {
    if properties.contains("__CRC32#") {
        let mut map = decode_properties(properties);
        map.remove("__CRC32#");
        *properties = soyuz_model::properties::encode_properties(&map);
    }
    if !properties.is_empty() && !properties.ends_with('\u{2}') {
        properties.push('\u{2}');
    }
    properties.push_str(PROPERTY_CRC32_PLACEHOLDER);
}

/// The file-backed store.
pub struct DefaultMessageStore {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    recovered: Recovered,
}

impl DefaultMessageStore {
    /// Opens (creating if needed) the store at `config.store_path_root_dir` on the real
    /// file system and clock, recovering after a crash, and starts its threads.
    pub fn open(config: MessageStoreConfig) -> Result<Self, StoreError> {
        Self::open_with(config, Arc::new(OsFs), Arc::new(SystemClock))
    }

    /// Opens the store on a given file system and clock (tests inject faults and time).
    pub fn open_with(
        config: MessageStoreConfig,
        fs: Arc<dyn StoreFs>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        config.validate()?;
        let root = config.store_path_root_dir.clone();
        let files = StoreFiles::lock(fs.clone(), &root)?;
        let abnormal = files.abort_marker_present();
        let checkpoint = files.read_checkpoint()?;
        let commit_log = Arc::new(CommitLog::open(
            fs.clone(),
            &config.commit_log_dir(),
            config.mapped_file_size_commit_log,
        )?);
        let recovered = recover_commit_log(&commit_log, &checkpoint, config.check_crc_on_recover)?;
        let queues = QueueTable::load(
            fs.clone(),
            &config.consume_queue_dir(),
            config.mapped_file_size_consume_queue,
        )?;
        let index = if config.message_index_enable {
            Some(IndexService::open(
                fs.clone(),
                &config.index_dir(),
                config.max_hash_slot_num,
                config.max_index_num,
            )?)
        } else {
            None
        };
        // ConsumeQueues never point past the CommitLog, nor below what it still holds.
        let commit_log_min = commit_log.min_offset();
        for queue in queues.all() {
            queue.truncate_to_commit_log(recovered.end)?;
            queue.correct_min_offset(commit_log_min)?;
        }
        // Rebuild queue and index units from the checkpoint's dispatched offset, provided
        // the ConsumeQueues really reach it (they may have been lost), else from the scan
        // start: re-dispatching what is there already is a no-op.
        let queues_reach = queues
            .all()
            .iter()
            .filter_map(|queue| {
                let last = queue.max_offset() - 1;
                (last >= 0)
                    .then(|| queue.unit(last as u64).ok().flatten())
                    .flatten()
                    .map(|unit| unit.end())
            })
            .max()
            .unwrap_or(0);
        let mut from = if queues_reach >= recovered.dispatch_from {
            recovered.dispatch_from
        } else {
            recovered.scan_start
        };
        while from < recovered.end {
            let step = dispatch_step(&commit_log, &queues, index.as_ref(), from, recovered.end)?;
            if step.dispatched <= from {
                break;
            }
            from = step.dispatched;
        }
        if abnormal || recovered.torn_tail {
            tracing::warn!(
                end = recovered.end,
                scan_start = recovered.scan_start,
                torn_tail = recovered.torn_tail,
                "store recovered after an unclean shutdown"
            );
        }
        files.create_abort_marker()?;
        let writer = commit_log.writer();
        let inner = Arc::new(Inner {
            flusher: Flusher::new(commit_log.clone(), &config),
            config,
            fs,
            files,
            commit_log,
            queues,
            index,
            clock,
            put: Mutex::new(PutState {
                writer,
                queue_offsets: HashMap::new(),
            }),
            dispatched: AtomicU64::new(recovered.end),
            dispatch_signal: Mutex::new(false),
            dispatcher_idle: AtomicBool::new(false),
            dispatch_wake: Condvar::new(),
            dispatch_done: Condvar::new(),
            last_dispatched_timestamp: AtomicI64::new(checkpoint.logics_msg_timestamp),
            last_flushed_timestamp: AtomicI64::new(checkpoint.physic_msg_timestamp),
            arrival: RwLock::new(None),
            disk_full: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            stop_lock: Mutex::new(false),
            stop_signal: Condvar::new(),
        });
        // The checkpoint is about to say everything up to the end is dispatched: the units
        // re-dispatched above must be on disk first, since the next recovery trusts it.
        inner.flush_logics()?;
        // A full disk refuses writes from the start, not from the first cleaner round.
        retention::check_disk(&inner);
        let store = Self {
            threads: Mutex::new(Vec::new()),
            inner,
            recovered,
        };
        store.start_threads();
        Ok(store)
    }

    fn start_threads(&self) {
        let mut threads = self.threads.lock();
        let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(body)
                .expect("the OS can start a thread")
        };
        let inner = self.inner.clone();
        threads.push(spawn("store-flush", Box::new(move || inner.flusher.run())));
        let inner = self.inner.clone();
        threads.push(spawn(
            "store-dispatch",
            Box::new(move || inner.run_dispatcher()),
        ));
        let inner = self.inner.clone();
        threads.push(spawn(
            "store-logics-flush",
            Box::new(move || inner.run_logics_flusher()),
        ));
        let inner = self.inner.clone();
        threads.push(spawn("store-clean", Box::new(move || inner.run_cleaner())));
    }

    /// What recovery found at open.
    pub fn recovered(&self) -> Recovered {
        self.recovered
    }

    /// CommitLog offset up to which ConsumeQueues and the index are built.
    pub fn dispatched_offset(&self) -> u64 {
        self.inner.dispatched.load(Ordering::Acquire)
    }

    /// Waits until dispatch has reached `commit_log_offset` (readers see the messages
    /// below it); false on timeout.
    pub fn wait_dispatched(&self, commit_log_offset: u64, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut signal = self.inner.dispatch_signal.lock();
        while self.dispatched_offset() < commit_log_offset {
            if self
                .inner
                .dispatch_done
                .wait_until(&mut signal, deadline)
                .timed_out()
            {
                return self.dispatched_offset() >= commit_log_offset;
            }
        }
        true
    }

    /// CommitLog bytes known durable.
    pub fn flushed_offset(&self) -> u64 {
        self.inner.commit_log.flushed()
    }

    /// CommitLog fsync rounds so far (group-commit statistics).
    pub fn flush_rounds(&self) -> u64 {
        self.inner.flusher.rounds()
    }

    /// Runs retention now, as the cleaner thread would at `now` (tests and admin).
    pub fn clean_expired_files(
        &self,
        now_millis: i64,
        force: bool,
    ) -> Result<RetentionReport, StoreError> {
        retention::run(&self.inner, now_millis, force)
    }

    /// Stops the store the way a crash would, for tests: threads stop, but nothing is
    /// dispatched, flushed or checkpointed, and the abort marker stays. Data already
    /// written stays in the OS page cache, as after `kill -9`.
    pub fn simulate_crash(self) {
        self.inner.shutdown.store(true, Ordering::Release);
        self.inner.flusher.shutdown();
        {
            let mut stopped = self.inner.stop_lock.lock();
            *stopped = true;
            self.inner.stop_signal.notify_all();
        }
        {
            let mut signal = self.inner.dispatch_signal.lock();
            *signal = true;
            self.inner.dispatch_wake.notify_all();
        }
        for thread in std::mem::take(&mut *self.threads.lock()) {
            let _ = thread.join();
        }
        // Drop sees the store already shut down and does nothing more.
    }

    /// Number of CommitLog segment files.
    pub fn inner_segments(&self) -> usize {
        self.inner.commit_log.segments().segments().len()
    }

    /// The store's configuration.
    pub fn config(&self) -> &MessageStoreConfig {
        &self.inner.config
    }
}

impl Inner {
    /// Sets whether writes are refused for lack of space; true if that changed.
    pub(crate) fn set_disk_full(&self, full: bool) -> bool {
        self.disk_full.swap(full, Ordering::AcqRel) != full
    }

    fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    fn ensure_running(&self) -> Result<(), StoreError> {
        if self.is_shut_down() {
            Err(StoreError::ShutDown)
        } else {
            Ok(())
        }
    }

    /// The counter for a topic-queue, created from its ConsumeQueue on first use.
    fn queue_counter<'a>(
        &self,
        state: &'a mut PutState,
        topic: &str,
        queue_id: i32,
    ) -> &'a mut i64 {
        if !state.queue_offsets.contains_key(topic) {
            state.queue_offsets.insert(topic.to_owned(), HashMap::new());
        }
        let queues = state
            .queue_offsets
            .get_mut(topic)
            .expect("inserted just above");
        queues.entry(queue_id).or_insert_with(|| {
            self.queues
                .get(topic, queue_id)
                .map_or(0, |q| q.max_offset())
        })
    }

    fn put(&self, mut messages: Vec<MessageRecord>) -> Result<PutResult, StoreError> {
        if self.is_shut_down() {
            return Err(StoreError::ShutDown);
        }
        if messages.is_empty() {
            return Err(StoreError::MessageIllegal("no messages to store".into()));
        }
        if self.disk_full.load(Ordering::Acquire) {
            return Err(StoreError::DiskFull);
        }
        for message in &messages {
            validate_topic(&message.topic)
                .map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
            if message.queue_id < 0 {
                return Err(StoreError::MessageIllegal(format!(
                    "queue id {} is negative",
                    message.queue_id
                )));
            }
            message
                .validate(self.config.max_message_size)
                .map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
        }
        // One message that wants durability makes the whole put wait (the broker merges
        // several requests into one put).
        let wait_for_disk = messages
            .iter()
            .any(|m| !m.properties.contains("WAIT\u{1}false"));
        if self.config.enabled_append_prop_crc {
            for message in &mut messages {
                append_crc_placeholder(&mut message.properties);
            }
        }
        let store_timestamp = self.clock.now_millis();
        let (appended, first_queue_offset) = {
            let mut state = self.put.lock();
            let mut first_queue_offset = None;
            // Counters move as offsets are assigned (a batch to one queue gets consecutive
            // offsets); if the append fails they are put back.
            let mut undo: Vec<(usize, i64)> = Vec::new();
            for (i, message) in messages.iter_mut().enumerate() {
                let tran = sys_flag::transaction_value(message.sys_flag);
                let counts = tran == sys_flag::TRANSACTION_NOT_TYPE
                    || tran == sys_flag::TRANSACTION_COMMIT_TYPE;
                let counter = self.queue_counter(&mut state, &message.topic, message.queue_id);
                message.queue_offset = if counts { *counter } else { 0 };
                if counts {
                    undo.push((i, *counter));
                    *counter += 1;
                }
                first_queue_offset.get_or_insert(message.queue_offset);
            }
            let state = &mut *state;
            let appended =
                match self
                    .commit_log
                    .append(&mut state.writer, &mut messages, store_timestamp)
                {
                    Ok(appended) => appended,
                    Err(error) => {
                        // Earliest first, so each queue ends at the first offset this put took.
                        for &(i, before) in undo.iter().rev() {
                            let message = &messages[i];
                            *self.queue_counter(state, &message.topic, message.queue_id) = before;
                        }
                        return Err(error);
                    }
                };
            (appended, first_queue_offset.unwrap_or(0))
        };
        // Wake the dispatcher only if it sleeps: a busy dispatcher finds the new bytes on
        // its own, and skipping the lock and futex wake keeps the put path short. The fence
        // pairs with the one in run_dispatcher, so one side always sees the other.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.dispatcher_idle.load(Ordering::SeqCst) {
            let mut signal = self.dispatch_signal.lock();
            *signal = true;
            self.dispatch_wake.notify_one();
        }
        let mut status = PutStatus::PutOk;
        let must_wait = self.config.flush_disk_type == FlushDiskType::Sync && wait_for_disk;
        if must_wait
            && self
                .flusher
                .wait_durable(appended.end_offset, self.config.sync_flush_wait())?
                == FlushWait::TimedOut
        {
            status = PutStatus::FlushDiskTimeout;
        }
        Ok(PutResult {
            status,
            physical_offset: appended.first_offset,
            queue_offset: first_queue_offset,
            count: messages.len(),
            wrote_bytes: appended.wrote_bytes,
            store_timestamp,
            physical_offsets: messages.iter().map(|m| m.physical_offset as u64).collect(),
            queue_offsets: messages.iter().map(|m| m.queue_offset).collect(),
            sizes: messages.iter().map(|m| m.encoded_len() as u32).collect(),
        })
    }

    fn run_dispatcher(&self) {
        loop {
            let from = self.dispatched.load(Ordering::Acquire);
            let to = self.commit_log.written();
            if from >= to {
                let mut signal = self.dispatch_signal.lock();
                if self.is_shut_down() {
                    return;
                }
                self.dispatcher_idle.store(true, Ordering::SeqCst);
                std::sync::atomic::fence(Ordering::SeqCst);
                if !*signal && self.commit_log.written() <= from {
                    self.dispatch_wake
                        .wait_for(&mut signal, Duration::from_millis(500));
                }
                self.dispatcher_idle.store(false, Ordering::SeqCst);
                *signal = false;
                continue;
            }
            match dispatch_step(
                &self.commit_log,
                &self.queues,
                self.index.as_ref(),
                from,
                to,
            ) {
                Ok(step) => {
                    if step.dispatched > from {
                        self.dispatched.store(step.dispatched, Ordering::Release);
                        if step.last_store_timestamp > 0 {
                            self.last_dispatched_timestamp
                                .store(step.last_store_timestamp, Ordering::Release);
                        }
                        {
                            let _signal = self.dispatch_signal.lock();
                            self.dispatch_done.notify_all();
                        }
                        let listener = self.arrival.read().clone();
                        if let Some(listener) = listener {
                            for (topic, queue_id, max) in &step.arrivals {
                                listener(topic, *queue_id, *max);
                            }
                        }
                    } else if self.is_shut_down() {
                        return;
                    } else {
                        // The next record is not complete yet; wait for more.
                        std::thread::yield_now();
                    }
                }
                Err(error) => {
                    tracing::error!(%error, offset = from, "dispatch failed; retrying in 1 s");
                    // A failing step (a poisoned store, say) must not outlive shutdown:
                    // the wait returns at once once stopped, and retrying then would spin.
                    if self.sleep_unless_stopped(Duration::from_secs(1)) {
                        return;
                    }
                }
            }
        }
    }

    fn sleep_unless_stopped(&self, duration: Duration) -> bool {
        let mut stopped = self.stop_lock.lock();
        if !*stopped {
            self.stop_signal.wait_for(&mut stopped, duration);
        }
        *stopped
    }

    fn run_logics_flusher(&self) {
        let interval = Duration::from_millis(self.config.flush_interval_consume_queue.max(1));
        loop {
            let stopped = self.sleep_unless_stopped(interval);
            if let Err(error) = self.flush_logics() {
                tracing::error!(%error, "ConsumeQueue / index flush failed");
            }
            if stopped {
                return;
            }
        }
    }

    /// Flushes ConsumeQueues and the index, then records in the checkpoint how far the
    /// CommitLog is durable and dispatched.
    fn flush_logics(&self) -> Result<(), StoreError> {
        // Read the positions first: what they promise is made durable below.
        let dispatched = self.dispatched.load(Ordering::Acquire);
        for queue in self.queues.all() {
            queue.flush()?;
        }
        if let Some(index) = &self.index {
            index.flush()?;
        }
        self.last_flushed_timestamp.store(
            self.last_dispatched_timestamp.load(Ordering::Acquire),
            Ordering::Release,
        );
        self.write_checkpoint_at(dispatched)
    }

    fn write_checkpoint_at(&self, dispatched: u64) -> Result<(), StoreError> {
        let flushed = self.commit_log.flushed();
        let timestamp = self.last_flushed_timestamp.load(Ordering::Acquire);
        self.files.write_checkpoint(&Checkpoint {
            physic_msg_timestamp: timestamp,
            logics_msg_timestamp: timestamp,
            index_msg_timestamp: timestamp,
            master_flushed_offset: flushed as i64,
            confirm_phy_offset: 0,
            flushed_offset: flushed,
            dispatched_offset: dispatched.min(flushed),
        })
    }

    fn run_cleaner(&self) {
        let interval = Duration::from_millis(self.config.clean_resource_interval.max(1));
        loop {
            if self.sleep_unless_stopped(interval) {
                return;
            }
            if let Err(error) = retention::run(self, self.clock.now_millis(), false) {
                tracing::error!(%error, "retention failed");
            }
        }
    }

    fn queue_for_read(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.get(topic, queue_id)
    }

    fn get(&self, request: &GetRequest) -> Result<GetResult, StoreError> {
        self.ensure_running()?;
        let offset = request.offset;
        let Some(queue) = self.queue_for_read(&request.topic, request.queue_id) else {
            return Ok(GetResult::empty(GetStatus::NoMatchedLogicQueue, 0, 0, 0));
        };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        if let Some(answer) = GetResult::out_of_range(offset, min, max) {
            return Ok(answer);
        }
        let scan = filter_scan_window(request.max_count);
        let units = queue.units_from(offset, scan)?;
        if units.is_empty() {
            return Ok(GetResult::empty(
                GetStatus::OffsetFoundNull,
                offset + 1,
                min,
                max,
            ));
        }
        let commit_log_min = self.commit_log.min_offset();
        let mut wanted = Vec::new();
        let mut queue_offsets = Vec::new();
        let mut bytes = 0usize;
        let mut next = offset;
        let mut removed = 0usize;
        for (i, unit) in units.iter().enumerate() {
            let queue_offset = offset + i as i64;
            if !wanted.is_empty()
                && (wanted.len() >= request.max_count
                    || bytes + unit.size as usize > request.max_bytes)
            {
                break;
            }
            next = queue_offset + 1;
            if unit.commit_log_offset < commit_log_min {
                removed += 1;
                continue;
            }
            if !request.filter.accepts(unit.tags_code) {
                continue;
            }
            wanted.push((unit.commit_log_offset, unit.size as usize));
            queue_offsets.push(queue_offset);
            bytes += unit.size as usize;
        }
        let messages = self.commit_log.read_many(&wanted)?;
        let status = if !messages.is_empty() {
            GetStatus::Found
        } else if removed > 0 {
            GetStatus::MessageWasRemoving
        } else {
            GetStatus::NoMatchedMessage
        };
        queue_offsets.truncate(messages.len());
        if messages.len() < wanted.len() {
            // Part of the data was removed under us: resume at the first missing one.
            next = queue_offsets.last().map_or(offset, |o| o + 1);
        }
        Ok(GetResult {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages,
            queue_offsets,
        })
    }

    fn store_time_of(&self, commit_log_offset: u64, size: i32) -> Result<Option<i64>, StoreError> {
        let Some(record) = self
            .commit_log
            .read_exact(commit_log_offset, size as usize)?
        else {
            return Ok(None);
        };
        Ok(peek_store_timestamp(&record))
    }

    fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        boundary: Boundary,
    ) -> Result<i64, StoreError> {
        self.ensure_running()?;
        let Some(queue) = self.queue_for_read(topic, queue_id) else {
            return Ok(0);
        };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        let commit_log_min = self.commit_log.min_offset();
        let time_at = |index: i64| -> Result<Option<i64>, StoreError> {
            match queue.unit(index as u64)? {
                Some(unit) if unit.commit_log_offset >= commit_log_min => {
                    self.store_time_of(unit.commit_log_offset, unit.size)
                }
                _ => Ok(None),
            }
        };
        // Binary search over [min, max) for the boundary; store times rise with offsets.
        let (mut lo, mut hi) = (min, max);
        match boundary {
            Boundary::Lower => {
                // First offset whose time >= timestamp.
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    match time_at(mid)? {
                        Some(t) if t >= timestamp => hi = mid,
                        _ => lo = mid + 1,
                    }
                }
                Ok(lo)
            }
            Boundary::Upper => {
                // Last offset whose time <= timestamp.
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    match time_at(mid)? {
                        Some(t) if t <= timestamp => lo = mid + 1,
                        Some(_) => hi = mid,
                        None => lo = mid + 1,
                    }
                }
                Ok((lo - 1).max(min))
            }
        }
    }

    fn shutdown(&self, threads: Vec<JoinHandle<()>>) -> Result<(), StoreError> {
        if self.shutdown.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if self.commit_log.check_healthy().is_err() {
            // A poisoned store must not bless its state as clean: leave the abort marker
            // and let recovery look at everything.
            for thread in threads {
                let _ = thread.join();
            }
            return Err(StoreError::Poisoned("shutdown of a poisoned store".into()));
        }
        // Let writes in progress finish, then stop the threads.
        drop(self.put.lock());
        self.flusher.shutdown();
        {
            let mut stopped = self.stop_lock.lock();
            *stopped = true;
            self.stop_signal.notify_all();
        }
        {
            let mut signal = self.dispatch_signal.lock();
            *signal = true;
            self.dispatch_wake.notify_all();
        }
        for thread in threads {
            let _ = thread.join();
        }
        // Dispatch whatever is left, so the next start is a clean one.
        let end = self.commit_log.written();
        let mut from = self.dispatched.load(Ordering::Acquire);
        while from < end {
            let step = dispatch_step(
                &self.commit_log,
                &self.queues,
                self.index.as_ref(),
                from,
                end,
            )?;
            if step.dispatched <= from {
                break;
            }
            from = step.dispatched;
            self.dispatched.store(from, Ordering::Release);
        }
        self.commit_log.flush()?;
        self.flush_logics()?;
        self.files.remove_abort_marker()
    }
}

impl MessageStore for DefaultMessageStore {
    fn put(&self, messages: Vec<MessageRecord>) -> Result<PutResult, StoreError> {
        self.inner.put(messages)
    }

    fn get(&self, request: &GetRequest) -> Result<GetResult, StoreError> {
        self.inner.get(request)
    }

    fn min_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .queue_for_read(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .queue_for_read(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        boundary: Boundary,
    ) -> Result<i64, StoreError> {
        self.inner
            .offset_by_time(topic, queue_id, timestamp, boundary)
    }

    fn earliest_store_time(&self, topic: &str, queue_id: i32) -> Result<Option<i64>, StoreError> {
        self.inner.ensure_running()?;
        let Some(queue) = self.inner.queue_for_read(topic, queue_id) else {
            return Ok(None);
        };
        match queue.unit(queue.min_offset().max(0) as u64)? {
            Some(unit) => self.inner.store_time_of(unit.commit_log_offset, unit.size),
            None => Ok(None),
        }
    }

    fn message_at(&self, commit_log_offset: u64) -> Result<Option<Bytes>, StoreError> {
        self.inner.ensure_running()?;
        if commit_log_offset < self.inner.commit_log.min_offset() {
            return Ok(None);
        }
        self.inner.commit_log.read_record(commit_log_offset)
    }

    fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> Result<QueryResult, StoreError> {
        self.inner.ensure_running()?;
        let Some(index) = &self.inner.index else {
            return Ok(QueryResult::default());
        };
        let found = index.query(topic, key, max_num, begin, end)?;
        let mut messages = Vec::new();
        for offset in found.phy_offsets {
            let Some(record) = self.message_at(offset)? else {
                continue;
            };
            // The index may hold entries for data recovery cut off: check the record.
            if let Ok(soyuz_model::record::RecordRef::Message(view)) =
                soyuz_model::record::view_record(&record, false)
            {
                let properties = decode_properties(&String::from_utf8_lossy(view.properties));
                let matches_key = properties
                    .get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                    .is_some_and(|k| k == key)
                    || properties
                        .get(keys::KEYS)
                        .is_some_and(|k| k.split(' ').any(|t| t == key));
                if view.topic == topic.as_bytes() && matches_key {
                    messages.push(record);
                }
            }
        }
        Ok(QueryResult {
            messages,
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phyoffset: found.index_last_update_phyoffset,
        })
    }

    fn commit_log_min_offset(&self) -> u64 {
        self.inner.commit_log.min_offset()
    }

    fn commit_log_max_offset(&self) -> u64 {
        self.inner.commit_log.written()
    }

    fn set_arrival_listener(&self, listener: ArrivalListener) {
        *self.inner.arrival.write() = Some(listener);
    }

    fn shutdown(&self) -> Result<(), StoreError> {
        let threads = std::mem::take(&mut *self.threads.lock());
        self.inner.shutdown(threads)
    }
}

impl Drop for DefaultMessageStore {
    fn drop(&mut self) {
        if let Err(error) = MessageStore::shutdown(self) {
            tracing::error!(%error, "store shutdown failed");
        }
    }
}
