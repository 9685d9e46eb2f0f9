//! Delay levels (`ScheduleMessageService`): a message sent with `DELAY=n` is stored in
//! `SCHEDULE_TOPIC_XXXX`, queue `n - 1`, with its real topic and queue in `REAL_TOPIC` /
//! `REAL_QID`; it is invisible to consumers there. One thread walks each level's queue in
//! order and, once a message's store time plus the level's delay has passed, stores it
//! again under its real topic and queue, where consumers see it. Every level's queue has
//! a fixed delay, so its messages fall due in queue order. The next offset of each level
//! is kept in `config/delayOffset.json` (Java's format), so a restart neither loses nor
//! repeats deliveries beyond the last offset write.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use soyuz_model::properties::{decode_properties, encode_properties, keys};
use soyuz_model::record::{decode_record_shared, DecodedRecord, MessageRecord};
use soyuz_model::Clock;
use soyuz_store::{GetRequest, GetStatus, MessageStore, TagFilter};

use crate::persist;
use crate::repeated_error::RepeatedError;

/// The topic delayed messages wait in.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// How often the levels are looked at: delivery is at most this late (plus the put).
const TICK: Duration = Duration::from_millis(100);

/// Parses `messageDelayLevel` (`1s 5s 10s 30s 1m ... 2h`; units s, m, h, d) into the
/// delay of each level in milliseconds, level 1 first. `None` if any entry is malformed.
pub fn parse_delay_levels(text: &str) -> Option<Vec<i64>> {
    let levels: Option<Vec<i64>> = text
        .split_whitespace()
        .map(|entry| {
            let (number, unit) = entry.split_at(entry.len().checked_sub(1)?);
            let unit_ms = match unit {
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return None,
            };
            number
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(|n| n * unit_ms)
        })
        .collect();
    levels.filter(|l| !l.is_empty())
}

/// `delayOffset.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    offset_table: BTreeMap<i32, i64>,
}

/// The delay-level service.
pub struct ScheduleService {
    levels: Vec<i64>,
    offsets: Mutex<BTreeMap<i32, i64>>,
    path: PathBuf,
    stop: AtomicBool,
}

impl ScheduleService {
    /// Loads the level offsets from `config/delayOffset.json` under `store_root`.
    pub fn load(store_root: &std::path::Path, levels: Vec<i64>) -> std::io::Result<Self> {
        let path = persist::config_dir(store_root).join("delayOffset.json");
        let saved: Option<OffsetFile> = persist::load(&path)?;
        Ok(Self {
            levels,
            offsets: Mutex::new(saved.map(|f| f.offset_table).unwrap_or_default()),
            path,
            stop: AtomicBool::new(false),
        })
    }

    /// The highest level.
    pub fn max_level(&self) -> i32 {
        self.levels.len() as i32
    }

    /// Where a message sent with `level` waits: the schedule topic's queue for the level
    /// (clamped to the highest), with its real topic and queue remembered.
    pub fn park(&self, record: &mut MessageRecord, level: i32) {
        let level = level.clamp(1, self.max_level());
        let mut properties = decode_properties(&record.properties);
        properties.insert(keys::REAL_TOPIC.to_owned(), record.topic.clone());
        properties.insert(keys::REAL_QUEUE_ID.to_owned(), record.queue_id.to_string());
        properties.insert(keys::DELAY_TIME_LEVEL.to_owned(), level.to_string());
        record.properties = encode_properties(&properties);
        record.topic = SCHEDULE_TOPIC.to_owned();
        record.queue_id = level - 1;
    }

    /// Runs until [`ScheduleService::stop`]: delivers every due message.
    pub fn run(&self, store: &dyn MessageStore, clock: &dyn Clock) {
        let mut since_persist = Duration::ZERO;
        let mut errors: Vec<RepeatedError> = (0..self.max_level())
            .map(|_| RepeatedError::default())
            .collect();
        while !self.stop.load(Ordering::Acquire) {
            let mut moved = false;
            for (level, errors) in (1..).zip(&mut errors) {
                let outcome = self
                    .deliver_due(store, clock, level)
                    .map(|n| moved |= n > 0);
                errors.observe(format_args!("delay level {level} delivery"), outcome);
            }
            since_persist += TICK;
            if moved && since_persist >= Duration::from_secs(1) {
                self.persist();
                since_persist = Duration::ZERO;
            }
            if !moved {
                std::thread::sleep(TICK);
            }
        }
        self.persist();
    }

    /// Asks [`ScheduleService::run`] to return.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Delivers the due messages at the head of one level's queue; how many.
    fn deliver_due(
        &self,
        store: &dyn MessageStore,
        clock: &dyn Clock,
        level: i32,
    ) -> Result<usize, soyuz_store::StoreError> {
        let queue_id = level - 1;
        let delay = self.levels[queue_id as usize];
        let start = self.offsets.lock().get(&level).copied().unwrap_or(0);
        let got = store.get(&GetRequest {
            topic: SCHEDULE_TOPIC.to_owned(),
            queue_id,
            offset: start,
            max_count: 32,
            max_bytes: 1 << 20,
            filter: TagFilter::All,
        })?;
        if got.status != GetStatus::Found {
            if got.next_begin_offset > start && got.status != GetStatus::OffsetOverflowOne {
                // Retention removed messages, or the offset was reset: skip ahead.
                self.offsets.lock().insert(level, got.next_begin_offset);
            }
            return Ok(0);
        }
        let now = clock.now_millis();
        let mut delivered = 0;
        for (raw, offset) in got.messages.iter().zip(&got.queue_offsets) {
            let Ok(DecodedRecord::Message(parked, _)) = decode_record_shared(raw, false) else {
                tracing::error!(level, offset, "unreadable delayed message skipped");
                self.offsets.lock().insert(level, offset + 1);
                continue;
            };
            if parked.store_timestamp + delay > now {
                break;
            }
            if let Some(real) = unpark(parked) {
                store.put(vec![real])?;
            }
            self.offsets.lock().insert(level, offset + 1);
            delivered += 1;
        }
        Ok(delivered)
    }

    fn persist(&self) {
        let file = OffsetFile {
            offset_table: self.offsets.lock().clone(),
        };
        if let Err(e) = persist::store(&self.path, &file) {
            tracing::error!(error = %e, "cannot write delay offsets");
        }
    }
}

/// The message as it is delivered: its real topic and queue back, the delay level gone.
fn unpark(mut record: MessageRecord) -> Option<MessageRecord> {
    let mut properties = decode_properties(&record.properties);
    let topic = properties.get(keys::REAL_TOPIC)?.clone();
    let queue_id = properties.get(keys::REAL_QUEUE_ID)?.parse().ok()?;
    properties.remove(keys::DELAY_TIME_LEVEL);
    properties.remove("__CRC32#");
    // Already durable once; the delivery does not wait for the disk (Java: waitStoreMsgOK
    // false).
    properties.insert(keys::WAIT_STORE_MSG_OK.to_owned(), "false".to_owned());
    record.topic = topic;
    record.queue_id = queue_id;
    record.properties = encode_properties(&properties);
    Some(record)
}

/// Starts the delivery thread.
pub fn spawn(
    service: Arc<ScheduleService>,
    store: Arc<dyn MessageStore>,
    clock: Arc<dyn Clock>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("soyuz-schedule".into())
        .spawn(move || service.run(&*store, &*clock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmqs_default_levels() {
        let levels =
            parse_delay_levels("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h")
                .expect("parses");
        assert_eq!(levels.len(), 18);
        assert_eq!(levels[2], 10_000);
        assert_eq!(levels[17], 7_200_000);
        assert_eq!(parse_delay_levels("1s 2d"), Some(vec![1_000, 172_800_000]));
        assert_eq!(parse_delay_levels("1x"), None);
        assert_eq!(parse_delay_levels(""), None);
    }
}

#[cfg(test)]
mod delivery_tests {
    use super::*;
    use soyuz_model::ManualClock;
    use soyuz_store::MemoryStore;

    fn record(topic: &str, queue_id: i32, body: &str) -> MessageRecord {
        soyuz_testkit::record(topic, queue_id, body, "KEYS\u{1}k\u{2}DELAY\u{1}3\u{2}")
    }

    #[test]
    fn a_parked_message_reaches_its_topic_only_when_due() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(ManualClock::new(1_000_000));
        let store = MemoryStore::new(4 * 1024 * 1024, clock.clone());
        let levels = parse_delay_levels("1s 5s 10s").expect("levels");
        let service = ScheduleService::load(dir.path(), levels.clone()).expect("load");
        let mut parked = record("Orders", 2, "later");
        service.park(&mut parked, 3);
        assert_eq!(
            (parked.topic.as_str(), parked.queue_id),
            (SCHEDULE_TOPIC, 2)
        );
        store.put(vec![parked]).expect("put");

        clock.advance(9_999);
        assert_eq!(service.deliver_due(&store, &*clock, 3).expect("tick"), 0);
        assert_eq!(store.max_offset("Orders", 2), 0, "not before its time");
        clock.advance(1);
        assert_eq!(service.deliver_due(&store, &*clock, 3).expect("tick"), 1);
        let got = store
            .get(&GetRequest {
                topic: "Orders".into(),
                queue_id: 2,
                offset: 0,
                max_count: 1,
                max_bytes: 1 << 20,
                filter: TagFilter::All,
            })
            .expect("get");
        let Ok(DecodedRecord::Message(delivered, _)) =
            decode_record_shared(&got.messages[0], false)
        else {
            panic!("delivered record");
        };
        assert_eq!(delivered.body.as_ref(), b"later");
        let properties = decode_properties(&delivered.properties);
        assert_eq!(properties.get("KEYS").map(String::as_str), Some("k"));
        assert!(!properties.contains_key("DELAY"));
        assert_eq!(
            properties.get("REAL_TOPIC").map(String::as_str),
            Some("Orders")
        );
        // Delivered once: the level's offset moved on, and survives a reload.
        assert_eq!(service.deliver_due(&store, &*clock, 3).expect("tick"), 0);
        service.persist();
        let reloaded = ScheduleService::load(dir.path(), levels).expect("reload");
        assert_eq!(reloaded.offsets.lock().get(&3), Some(&1));
    }
}
