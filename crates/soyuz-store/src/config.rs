//! `MessageStoreConfig`: the store's settings under RocketMQ's key names, so the store
//! section of an existing `broker.conf` applies unchanged.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use soyuz_model::properties_config::{
    set_bool, set_number, set_string, PropertiesConfig, SetOutcome,
};
use thiserror::Error;

/// When an append is acknowledged relative to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// Acknowledge once written to the OS; a background flusher syncs (`ASYNC_FLUSH`).
    Async,
    /// Acknowledge only once synced to disk, many appends sharing one fsync (`SYNC_FLUSH`).
    Sync,
}

impl FlushDiskType {
    fn name(self) -> &'static str {
        match self {
            FlushDiskType::Async => "ASYNC_FLUSH",
            FlushDiskType::Sync => "SYNC_FLUSH",
        }
    }
}

/// A config value outside what the store can work with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid store config: {key} = {value}: {reason}")]
pub struct ConfigError {
    /// The key.
    pub key: &'static str,
    /// Its value.
    pub value: String,
    /// Why it is refused.
    pub reason: &'static str,
}

/// Store settings with RocketMQ's defaults (`MessageStoreConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageStoreConfig {
    /// Root of all store files (`storePathRootDir`, default `~/store`).
    pub store_path_root_dir: PathBuf,
    /// CommitLog directory (`storePathCommitLog`, default `<root>/commitlog`).
    pub store_path_commit_log: Option<PathBuf>,
    /// CommitLog segment size (`mappedFileSizeCommitLog`, 1 GiB).
    pub mapped_file_size_commit_log: u64,
    /// ConsumeQueue file size (`mappedFileSizeConsumeQueue`, 300,000 units of 20 bytes).
    pub mapped_file_size_consume_queue: u64,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// Async flush period (`flushIntervalCommitLog`, ms).
    pub flush_interval_commit_log: u64,
    /// Dirty pages that trigger an async flush (`flushCommitLogLeastPages`).
    pub flush_commit_log_least_pages: u64,
    /// Period after which any dirty data is flushed (`flushCommitLogThoroughInterval`, ms).
    pub flush_commit_log_thorough_interval: u64,
    /// How long a SYNC_FLUSH append waits before FLUSH_DISK_TIMEOUT (`syncFlushTimeout`, ms).
    pub sync_flush_timeout: u64,
    /// ConsumeQueue flush period (`flushIntervalConsumeQueue`, ms).
    pub flush_interval_consume_queue: u64,
    /// Hours a CommitLog segment is kept (`fileReservedTime`).
    pub file_reserved_time: u64,
    /// Hours of the day deletion runs, `;`-separated (`deleteWhen`, "04").
    pub delete_when: String,
    /// Disk use (%) above which expired files go at any hour (`diskMaxUsedSpaceRatio`).
    pub disk_max_used_space_ratio: u32,
    /// Disk use (%) above which files go even if not expired (`diskSpaceCleanForciblyRatio`).
    pub disk_space_clean_forcibly_ratio: u32,
    /// Disk use (%) above which writes are refused (`diskSpaceWarningLevelRatio`).
    pub disk_space_warning_level_ratio: u32,
    /// How often retention runs (`cleanResourceInterval`, ms).
    pub clean_resource_interval: u64,
    /// Segments deleted per retention round (`deleteFileBatchMax`).
    pub delete_file_batch_max: usize,
    /// Largest record accepted (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Check each record's body CRC during recovery (`checkCRCOnRecover`).
    pub check_crc_on_recover: bool,
    /// End every record with a `__CRC32#` property covering the whole record
    /// (`enabledAppendPropCRC`). Java defaults to false; Soyuz defaults to true, because the
    /// body CRC alone cannot see damage to a record's topic, properties or offsets, and
    /// recovery needs to.
    pub enabled_append_prop_crc: bool,
    /// Build the IndexFile (`messageIndexEnable`).
    pub message_index_enable: bool,
    /// Hash slots per IndexFile (`maxHashSlotNum`).
    pub max_hash_slot_num: u32,
    /// Entries per IndexFile (`maxIndexNum`).
    pub max_index_num: u32,
}

const GIB: u64 = 1024 * 1024 * 1024;

impl Default for MessageStoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        Self {
            store_path_root_dir: home.join("store"),
            store_path_commit_log: None,
            mapped_file_size_commit_log: GIB,
            mapped_file_size_consume_queue: 300_000 * 20,
            flush_disk_type: FlushDiskType::Async,
            flush_interval_commit_log: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            sync_flush_timeout: 5_000,
            flush_interval_consume_queue: 1_000,
            file_reserved_time: 72,
            delete_when: "04".to_owned(),
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            disk_space_warning_level_ratio: 90,
            clean_resource_interval: 10_000,
            delete_file_batch_max: 10,
            max_message_size: 4 * 1024 * 1024,
            check_crc_on_recover: true,
            enabled_append_prop_crc: true,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
        }
    }
}

impl MessageStoreConfig {
    /// A config rooted at `root` with RocketMQ's defaults otherwise.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        Self {
            store_path_root_dir: root.into(),
            ..Self::default()
        }
    }

    /// The CommitLog directory.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_commit_log
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("commitlog"))
    }

    /// The ConsumeQueue root directory.
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    /// The IndexFile directory.
    pub fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    /// Async flush period.
    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.flush_interval_commit_log.max(1))
    }

    /// SYNC_FLUSH wait limit.
    pub fn sync_flush_wait(&self) -> Duration {
        Duration::from_millis(self.sync_flush_timeout.max(1))
    }

    /// Refuses values the store cannot run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key, value: String, reason| Err(ConfigError { key, value, reason });
        if self.mapped_file_size_commit_log < 4096 {
            return err(
                "mappedFileSizeCommitLog",
                self.mapped_file_size_commit_log.to_string(),
                "must be at least 4096 bytes",
            );
        }
        if self.mapped_file_size_consume_queue < 20
            || !self.mapped_file_size_consume_queue.is_multiple_of(20)
        {
            return err(
                "mappedFileSizeConsumeQueue",
                self.mapped_file_size_consume_queue.to_string(),
                "must be a positive multiple of the 20-byte unit",
            );
        }
        if (self.max_message_size as u64) + 8 > self.mapped_file_size_commit_log {
            return err(
                "maxMessageSize",
                self.max_message_size.to_string(),
                "a record plus the 8-byte end-of-file marker must fit in one CommitLog segment",
            );
        }
        if self.disk_max_used_space_ratio == 0 || self.disk_max_used_space_ratio > 95 {
            return err(
                "diskMaxUsedSpaceRatio",
                self.disk_max_used_space_ratio.to_string(),
                "must be between 1 and 95",
            );
        }
        if self.max_hash_slot_num == 0 || self.max_hash_slot_num > i32::MAX as u32 {
            return err(
                "maxHashSlotNum",
                self.max_hash_slot_num.to_string(),
                "must be 1 to 2^31-1",
            );
        }
        if self.max_index_num < 2 || self.max_index_num > i32::MAX as u32 {
            let reason = "must be 2 to 2^31-1 (entry 0 is never used)";
            return err("maxIndexNum", self.max_index_num.to_string(), reason);
        }
        if self.delete_when_hours().is_none() {
            return err(
                "deleteWhen",
                self.delete_when.clone(),
                "must be hours 00-23 separated by ';'",
            );
        }
        Ok(())
    }

    /// The hours `deleteWhen` names, or `None` if it does not parse.
    pub fn delete_when_hours(&self) -> Option<Vec<u32>> {
        self.delete_when
            .split(';')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| h.parse::<u32>().ok().filter(|h| *h < 24))
            .collect()
    }
}

impl PropertiesConfig for MessageStoreConfig {
    fn set_property(&mut self, key: &str, value: &str) -> SetOutcome {
        match key {
            "storePathRootDir" => {
                let mut s = String::new();
                let outcome = set_string(&mut s, value);
                self.store_path_root_dir = PathBuf::from(s);
                outcome
            }
            "storePathCommitLog" => {
                let mut s = String::new();
                let outcome = set_string(&mut s, value);
                self.store_path_commit_log = (!s.is_empty()).then(|| PathBuf::from(s));
                outcome
            }
            "mappedFileSizeCommitLog" => set_number(&mut self.mapped_file_size_commit_log, value),
            "mappedFileSizeConsumeQueue" => {
                set_number(&mut self.mapped_file_size_consume_queue, value)
            }
            "flushDiskType" => match value.trim() {
                "ASYNC_FLUSH" => {
                    self.flush_disk_type = FlushDiskType::Async;
                    SetOutcome::Applied
                }
                "SYNC_FLUSH" => {
                    self.flush_disk_type = FlushDiskType::Sync;
                    SetOutcome::Applied
                }
                _ => SetOutcome::BadValue {
                    expected: "ASYNC_FLUSH or SYNC_FLUSH",
                },
            },
            "flushIntervalCommitLog" => set_number(&mut self.flush_interval_commit_log, value),
            "flushCommitLogLeastPages" => set_number(&mut self.flush_commit_log_least_pages, value),
            "flushCommitLogThoroughInterval" => {
                set_number(&mut self.flush_commit_log_thorough_interval, value)
            }
            "syncFlushTimeout" => set_number(&mut self.sync_flush_timeout, value),
            "flushIntervalConsumeQueue" => {
                set_number(&mut self.flush_interval_consume_queue, value)
            }
            "fileReservedTime" => set_number(&mut self.file_reserved_time, value),
            "deleteWhen" => set_string(&mut self.delete_when, value),
            "diskMaxUsedSpaceRatio" => set_number(&mut self.disk_max_used_space_ratio, value),
            "diskSpaceCleanForciblyRatio" => {
                set_number(&mut self.disk_space_clean_forcibly_ratio, value)
            }
            "diskSpaceWarningLevelRatio" => {
                set_number(&mut self.disk_space_warning_level_ratio, value)
            }
            "cleanResourceInterval" => set_number(&mut self.clean_resource_interval, value),
            "deleteFileBatchMax" => set_number(&mut self.delete_file_batch_max, value),
            "maxMessageSize" => set_number(&mut self.max_message_size, value),
            "checkCRCOnRecover" => set_bool(&mut self.check_crc_on_recover, value),
            "enabledAppendPropCRC" => set_bool(&mut self.enabled_append_prop_crc, value),
            "messageIndexEnable" => set_bool(&mut self.message_index_enable, value),
            "maxHashSlotNum" => set_number(&mut self.max_hash_slot_num, value),
            "maxIndexNum" => set_number(&mut self.max_index_num, value),
            _ => SetOutcome::UnknownKey,
        }
    }

    fn to_properties(&self) -> BTreeMap<String, String> {
        let pairs: [(&str, String); 24] = [
            (
                "storePathRootDir",
                self.store_path_root_dir.display().to_string(),
            ),
            (
                "storePathCommitLog",
                self.commit_log_dir().display().to_string(),
            ),
            (
                "mappedFileSizeCommitLog",
                self.mapped_file_size_commit_log.to_string(),
            ),
            (
                "mappedFileSizeConsumeQueue",
                self.mapped_file_size_consume_queue.to_string(),
            ),
            ("flushDiskType", self.flush_disk_type.name().to_owned()),
            (
                "flushIntervalCommitLog",
                self.flush_interval_commit_log.to_string(),
            ),
            (
                "flushCommitLogLeastPages",
                self.flush_commit_log_least_pages.to_string(),
            ),
            (
                "flushCommitLogThoroughInterval",
                self.flush_commit_log_thorough_interval.to_string(),
            ),
            ("syncFlushTimeout", self.sync_flush_timeout.to_string()),
            (
                "flushIntervalConsumeQueue",
                self.flush_interval_consume_queue.to_string(),
            ),
            ("fileReservedTime", self.file_reserved_time.to_string()),
            ("deleteWhen", self.delete_when.clone()),
            (
                "diskMaxUsedSpaceRatio",
                self.disk_max_used_space_ratio.to_string(),
            ),
            (
                "diskSpaceCleanForciblyRatio",
                self.disk_space_clean_forcibly_ratio.to_string(),
            ),
            (
                "diskSpaceWarningLevelRatio",
                self.disk_space_warning_level_ratio.to_string(),
            ),
            (
                "cleanResourceInterval",
                self.clean_resource_interval.to_string(),
            ),
            ("deleteFileBatchMax", self.delete_file_batch_max.to_string()),
            ("maxMessageSize", self.max_message_size.to_string()),
            ("checkCRCOnRecover", self.check_crc_on_recover.to_string()),
            (
                "enabledAppendPropCRC",
                self.enabled_append_prop_crc.to_string(),
            ),
            ("messageIndexEnable", self.message_index_enable.to_string()),
            ("maxHashSlotNum", self.max_hash_slot_num.to_string()),
            ("maxIndexNum", self.max_index_num.to_string()),
            ("storeType", "default".to_owned()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soyuz_model::properties_config::apply_properties;

    #[test]
    fn reads_broker_conf_store_keys() {
        let mut config = MessageStoreConfig::default();
        let ignored = apply_properties(
            &mut config,
            [
                ("storePathRootDir", " /data/store "),
                ("flushDiskType", "SYNC_FLUSH"),
                ("mappedFileSizeCommitLog", "1048576"),
                ("maxMessageSize", "65536"),
                ("deleteWhen", "04;16"),
                ("fileReservedTime", "48"),
                ("brokerName", "broker-a"),
            ],
        );
        assert_eq!(config.store_path_root_dir, PathBuf::from("/data/store"));
        assert_eq!(
            config.commit_log_dir(),
            PathBuf::from("/data/store/commitlog")
        );
        assert_eq!(config.flush_disk_type, FlushDiskType::Sync);
        assert_eq!(config.mapped_file_size_commit_log, 1_048_576);
        assert_eq!(config.delete_when_hours(), Some(vec![4, 16]));
        assert_eq!(config.file_reserved_time, 48);
        assert_eq!(config.max_message_size, 65_536);
        assert_eq!(ignored.len(), 1, "brokerName belongs to another config");
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn refuses_unworkable_values() {
        let key_refused = |config: MessageStoreConfig| config.validate().map_err(|e| e.key);
        let cq = MessageStoreConfig {
            mapped_file_size_consume_queue: 30,
            ..MessageStoreConfig::default()
        };
        assert_eq!(key_refused(cq), Err("mappedFileSizeConsumeQueue"));
        let small = MessageStoreConfig {
            mapped_file_size_commit_log: 1024 * 1024,
            ..MessageStoreConfig::default()
        };
        assert_eq!(key_refused(small), Err("maxMessageSize"));
        let hour = MessageStoreConfig {
            delete_when: "25".into(),
            ..MessageStoreConfig::default()
        };
        assert_eq!(key_refused(hour), Err("deleteWhen"));
        let index = MessageStoreConfig {
            max_index_num: 1,
            ..MessageStoreConfig::default()
        };
        assert_eq!(key_refused(index), Err("maxIndexNum"));
    }
}
