//! 5.x timer messages: `TIMER_DELIVER_MS` (absolute epoch ms), `TIMER_DELAY_SEC` or
//! `TIMER_DELAY_MS` (relative) ask for delivery at an arbitrary time, at most
//! `timerMaxDelaySec` ahead, to `timerPrecisionMs`.
//!
//! A timer message is stored in `rmq_sys_wheel_timer` queue 0 with `TIMER_OUT_MS` (its
//! due time) and its real topic and queue, invisible to consumers. The CommitLog and that
//! queue are the durable timer log: the service reads the queue in order into an
//! in-memory queue ordered by due time, delivers each message when due by storing it
//! again on its real topic, and records as progress the first queue offset not yet
//! delivered (group `CID_RMQ_SYS_TIMER`). After a restart it reloads everything from the
//! progress offset, so nothing is lost; a message delivered just before a crash may be
//! delivered again (at-least-once, as everywhere in RocketMQ).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use soyuz_model::properties::{decode_properties, encode_properties, find_property, keys};
use soyuz_model::record::{decode_record_shared, DecodedRecord, MessageRecord};
use soyuz_model::Clock;
use soyuz_store::{GetRequest, GetStatus, MessageStore, StoreError, TagFilter};

use crate::consumer_offset_manager::ConsumerOffsetManager;
use crate::repeated_error::RepeatedError;

/// The topic timer messages wait in.
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// The group whose offset records delivery progress.
pub const TIMER_GROUP: &str = "CID_RMQ_SYS_TIMER";
/// Absolute delivery time (epoch ms).
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// Relative delay in seconds.
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
/// Relative delay in milliseconds.
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// The due time the broker computed.
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";

/// How often due messages are looked for.
const TICK: Duration = Duration::from_millis(50);

/// A message's timer properties, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimerRequest<'a> {
    /// `TIMER_DELIVER_MS`.
    pub deliver_ms: Option<&'a str>,
    /// `TIMER_DELAY_SEC`.
    pub delay_sec: Option<&'a str>,
    /// `TIMER_DELAY_MS`.
    pub delay_ms: Option<&'a str>,
}

impl TimerRequest<'_> {
    /// Whether the message asks for a timer at all.
    pub fn is_timer(&self) -> bool {
        self.deliver_ms.is_some() || self.delay_sec.is_some() || self.delay_ms.is_some()
    }
}

/// When a message asks to be delivered: `Ok(None)` when it is not a timer message or
/// is due already, `Err` when the time is malformed or too far ahead.
pub fn due_time(
    request: TimerRequest<'_>,
    now: i64,
    precision_ms: i64,
    max_delay_ms: i64,
) -> Result<Option<i64>, String> {
    let parse = |key: &str, value: Option<&str>| -> Result<Option<i64>, String> {
        value
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{key} [{v}] is not a number"))
            })
            .transpose()
    };
    let due = if let Some(at) = parse(TIMER_DELIVER_MS, request.deliver_ms)? {
        at
    } else if let Some(seconds) = parse(TIMER_DELAY_SEC, request.delay_sec)? {
        now.saturating_add(seconds.saturating_mul(1000))
    } else if let Some(millis) = parse(TIMER_DELAY_MS, request.delay_ms)? {
        now.saturating_add(millis)
    } else {
        return Ok(None);
    };
    if due - now > max_delay_ms {
        return Err(format!(
            "timer message illegal: delivery {} ms ahead is beyond timerMaxDelaySec",
            due - now
        ));
    }
    let due = due - due.rem_euclid(precision_ms.max(1));
    Ok((due > now).then_some(due))
}

/// Parks a timer message due at `due`.
pub fn park(record: &mut MessageRecord, due: i64) {
    let mut properties = decode_properties(&record.properties);
    properties.insert(keys::REAL_TOPIC.to_owned(), record.topic.clone());
    properties.insert(keys::REAL_QUEUE_ID.to_owned(), record.queue_id.to_string());
    properties.insert(TIMER_OUT_MS.to_owned(), due.to_string());
    record.properties = encode_properties(&properties);
    record.topic = TIMER_TOPIC.to_owned();
    record.queue_id = 0;
}

/// The message as delivered: real topic and queue, the timer requests gone.
fn unpark(mut record: MessageRecord) -> Option<MessageRecord> {
    let mut properties = decode_properties(&record.properties);
    record.topic = properties.get(keys::REAL_TOPIC)?.clone();
    record.queue_id = properties.get(keys::REAL_QUEUE_ID)?.parse().ok()?;
    for key in [
        TIMER_DELIVER_MS,
        TIMER_DELAY_SEC,
        TIMER_DELAY_MS,
        "__CRC32#",
    ] {
        properties.remove(key);
    }
    properties.insert(keys::WAIT_STORE_MSG_OK.to_owned(), "false".to_owned());
    record.properties = encode_properties(&properties);
    Some(record)
}

/// The timer service.
#[derive(Default)]
pub struct TimerService {
    state: Mutex<Pending>,
    stop: AtomicBool,
}

#[derive(Default)]
struct Pending {
    loaded: bool,
    /// Next timer-queue offset to read.
    read_offset: i64,
    /// First timer-queue offset not yet delivered.
    progress: i64,
    /// (due, queue offset, CommitLog offset), earliest first.
    due: BinaryHeap<Reverse<(i64, i64, u64)>>,
    /// Delivered offsets at or past `progress`.
    delivered: BTreeSet<i64>,
}

impl TimerService {
    /// Runs until [`TimerService::stop`].
    pub fn run(
        &self,
        store: &dyn MessageStore,
        clock: &dyn Clock,
        offsets: &ConsumerOffsetManager,
    ) {
        let mut errors = RepeatedError::default();
        while !self.stop.load(Ordering::Acquire) {
            errors.observe(
                "timer delivery",
                self.tick(store, clock.now_millis(), offsets).map(drop),
            );
            std::thread::sleep(TICK);
        }
    }

    /// Asks [`TimerService::run`] to return.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Loads newly parked messages and delivers the due ones; how many were delivered.
    pub fn tick(
        &self,
        store: &dyn MessageStore,
        now: i64,
        offsets: &ConsumerOffsetManager,
    ) -> Result<usize, StoreError> {
        let mut pending = self.state.lock();
        if !pending.loaded {
            let progress = offsets.query(TIMER_GROUP, TIMER_TOPIC, 0).unwrap_or(0);
            pending.progress = progress;
            pending.read_offset = progress;
            pending.loaded = true;
        }
        loop {
            let got = store.get(&GetRequest {
                topic: TIMER_TOPIC.to_owned(),
                queue_id: 0,
                offset: pending.read_offset,
                max_count: 256,
                max_bytes: 4 << 20,
                filter: TagFilter::All,
            })?;
            if got.status != GetStatus::Found {
                if got.next_begin_offset > pending.read_offset {
                    pending.read_offset = got.next_begin_offset;
                    continue;
                }
                break;
            }
            for (raw, offset) in got.messages.iter().zip(&got.queue_offsets) {
                let due = match decode_record_shared(raw, false) {
                    Ok(DecodedRecord::Message(record, _)) => {
                        find_property(&record.properties, TIMER_OUT_MS)
                            .and_then(|d| d.parse::<i64>().ok())
                            .map(|due| (due, record.physical_offset as u64))
                    }
                    _ => None,
                };
                match due {
                    Some((due, physical)) => pending.due.push(Reverse((due, *offset, physical))),
                    None => {
                        tracing::error!(offset, "unreadable timer message skipped");
                        pending.delivered.insert(*offset);
                    }
                }
                pending.read_offset = offset + 1;
            }
        }
        let mut delivered = 0;
        while let Some(Reverse((due, offset, physical))) = pending.due.peek().copied() {
            if due > now {
                break;
            }
            pending.due.pop();
            if let Some(raw) = store.message_at(physical)? {
                if let Ok(DecodedRecord::Message(parked, _)) = decode_record_shared(&raw, false) {
                    if let Some(real) = unpark(parked) {
                        store.put(vec![real])?;
                        delivered += 1;
                    }
                }
            }
            pending.delivered.insert(offset);
        }
        loop {
            let next = pending.progress;
            if !pending.delivered.remove(&next) {
                break;
            }
            pending.progress += 1;
        }
        if delivered > 0 {
            offsets.commit(TIMER_GROUP, TIMER_TOPIC, 0, pending.progress);
        }
        Ok(delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due_time(
        properties: &str,
        now: i64,
        precision_ms: i64,
        max_delay_ms: i64,
    ) -> Result<Option<i64>, String> {
        let [deliver_ms, delay_sec, delay_ms] = soyuz_model::properties::find_properties(
            properties,
            [TIMER_DELIVER_MS, TIMER_DELAY_SEC, TIMER_DELAY_MS],
        );
        let request = TimerRequest {
            deliver_ms,
            delay_sec,
            delay_ms,
        };
        super::due_time(request, now, precision_ms, max_delay_ms)
    }

    #[test]
    fn due_times_follow_the_three_properties_and_the_limits() {
        let day = 86_400_000;
        let now = 1_000_500;
        assert_eq!(due_time("", now, 1000, day), Ok(None));
        assert_eq!(
            due_time("TIMER_DELAY_SEC\u{1}5\u{2}", now, 1000, day),
            Ok(Some(1_005_000))
        );
        assert_eq!(
            due_time("TIMER_DELAY_MS\u{1}2600\u{2}", now, 1000, day),
            Ok(Some(1_003_000))
        );
        assert_eq!(
            due_time("TIMER_DELIVER_MS\u{1}2000000\u{2}", now, 1000, day),
            Ok(Some(2_000_000))
        );
        assert_eq!(
            due_time("TIMER_DELIVER_MS\u{1}10\u{2}", now, 1000, day),
            Ok(None),
            "past: now"
        );
        assert!(due_time("TIMER_DELAY_SEC\u{1}x\u{2}", now, 1000, day).is_err());
        assert!(due_time("TIMER_DELAY_MS\u{1}86400001\u{2}", now, 1000, day).is_err());
    }
}
