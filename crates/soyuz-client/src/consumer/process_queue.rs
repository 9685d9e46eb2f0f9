//! [`ProcessQueue`]: the messages of one queue pulled but not yet consumed, and the
//! offset that is safe to commit (`ProcessQueue`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use parking_lot::Mutex;

use crate::message::MessageExt;

/// Pulled, not yet consumed messages of one queue, by queue offset.
///
/// The committable offset is the smallest offset still being consumed, or one past the
/// largest offset ever pulled when nothing is: a message that failed and is retried
/// holds the offset back, so a restart never skips it.
#[derive(Debug, Default)]
pub struct ProcessQueue {
    state: Mutex<State>,
    dropped: AtomicBool,
    last_pull_millis: AtomicI64,
}

#[derive(Debug, Default)]
struct State {
    messages: BTreeMap<i64, MessageExt>,
    bytes: usize,
    queue_offset_max: i64,
}

impl ProcessQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds pulled messages (`putMessage`); returns how many were new.
    pub fn put(&self, messages: &[MessageExt]) -> usize {
        let mut state = self.state.lock();
        let mut added = 0;
        for message in messages {
            if state
                .messages
                .insert(message.queue_offset, message.clone())
                .is_none()
            {
                added += 1;
                state.bytes += message.body.len();
            }
            state.queue_offset_max = state.queue_offset_max.max(message.queue_offset);
        }
        added
    }

    /// Removes consumed messages (`removeMessage`) and returns the offset to commit:
    /// the smallest offset still held, else one past the largest ever pulled; -1 when
    /// the queue was already empty.
    pub fn remove(&self, offsets: impl IntoIterator<Item = i64>) -> i64 {
        let mut state = self.state.lock();
        if state.messages.is_empty() {
            return -1;
        }
        for offset in offsets {
            if let Some(message) = state.messages.remove(&offset) {
                state.bytes -= message.body.len();
            }
        }
        match state.messages.keys().next() {
            Some(first) => *first,
            None => state.queue_offset_max + 1,
        }
    }

    /// Messages held.
    pub fn count(&self) -> usize {
        self.state.lock().messages.len()
    }

    /// Body bytes held.
    pub fn bytes(&self) -> usize {
        self.state.lock().bytes
    }

    /// Offsets between the first and last message held (`getMaxSpan`).
    pub fn span(&self) -> i64 {
        let state = self.state.lock();
        match (
            state.messages.keys().next(),
            state.messages.keys().next_back(),
        ) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// Forgets every message (the queue is being dropped or reset).
    pub fn clear(&self) {
        let mut state = self.state.lock();
        state.messages.clear();
        state.bytes = 0;
    }

    /// Marks the queue dropped: its pull loop stops and its results are ignored.
    pub fn set_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    /// Whether the queue was dropped.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    /// Records a pull at `now` ms.
    pub fn touch_pull(&self, now: i64) {
        self.last_pull_millis.store(now, Ordering::Relaxed);
    }

    /// When the queue was last pulled (ms).
    pub fn last_pull_millis(&self) -> i64 {
        self.last_pull_millis.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn message(offset: i64) -> MessageExt {
        let addr = "127.0.0.1:1".parse().expect("addr");
        MessageExt {
            topic: "T".into(),
            flag: 0,
            body: Bytes::from(vec![0u8; 10]),
            properties: Default::default(),
            broker_name: "b".into(),
            queue_id: 0,
            queue_offset: offset,
            commit_log_offset: 0,
            store_size: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: addr,
            store_timestamp: 0,
            store_host: addr,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body_crc: 0,
        }
    }

    #[test]
    fn commit_offset_is_the_smallest_unconsumed() {
        let pq = ProcessQueue::new();
        assert_eq!(pq.put(&(10..15).map(message).collect::<Vec<_>>()), 5);
        assert_eq!((pq.count(), pq.bytes(), pq.span()), (5, 50, 4));
        // 11 and 13 done first: 10 still held.
        assert_eq!(pq.remove([11, 13]), 10);
        // 10 done: 12 is the smallest held.
        assert_eq!(pq.remove([10]), 12);
        // all done: one past the largest pulled.
        assert_eq!(pq.remove([12, 14]), 15);
        assert_eq!(pq.count(), 0);
        // Already empty: nothing to commit.
        assert_eq!(pq.remove([14]), -1);
    }

    #[test]
    fn duplicates_are_not_counted_twice_and_max_survives_removal() {
        let pq = ProcessQueue::new();
        pq.put(&[message(3), message(4)]);
        assert_eq!(pq.put(&[message(4)]), 0);
        assert_eq!(pq.count(), 2);
        assert_eq!(pq.remove([3, 4]), 5);
        pq.put(&[message(5)]);
        assert_eq!(pq.remove([5]), 6);
        pq.set_dropped();
        assert!(pq.is_dropped());
    }
}
