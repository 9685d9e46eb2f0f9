//! The broker's topic table (`TopicConfigManager`): system topics, auto-creation from
//! TBW102 on first send, retry topics for consumer groups, admin changes, and
//! persistence in `config/topics.json`. Every change bumps the data version, which is how
//! the NameServer tells a changed registration from a refresh.

use std::collections::BTreeMap;
use std::path::PathBuf;

use parking_lot::RwLock;
use soyuz_model::names::AUTO_CREATE_TOPIC_KEY;
use soyuz_remoting::body::{perm, DataVersion, TopicConfig, TopicConfigSerializeWrapper};

use crate::config::BrokerConfig;
use crate::persist;

/// RocketMQ's self-test topic.
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// Where Java publishes offset-moved events.
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";

/// The topic table.
pub struct TopicConfigManager {
    path: Option<PathBuf>,
    state: RwLock<TopicTable>,
}

#[derive(Default)]
struct TopicTable {
    topics: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
}

impl TopicTable {
    fn next_version(&mut self, now: i64) {
        self.data_version.counter += 1;
        self.data_version.timestamp = now;
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn topic(name: &str, queues: i32, perm_bits: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: perm_bits,
        ..TopicConfig::default()
    }
}

/// The topics every broker has from the start (`TopicConfigManager`'s constructor).
fn system_topics(config: &BrokerConfig) -> Vec<TopicConfig> {
    let read_write = perm::READ | perm::WRITE;
    let mut topics = vec![
        topic(SELF_TEST_TOPIC, 1, read_write),
        topic(OFFSET_MOVED_EVENT, 1, read_write),
        topic(
            crate::schedule::SCHEDULE_TOPIC,
            config.delay_levels().len() as i32,
            read_write,
        ),
    ];
    if config.auto_create_topic_enable {
        topics.push(topic(
            AUTO_CREATE_TOPIC_KEY,
            config.default_topic_queue_nums,
            perm::INHERIT | read_write,
        ));
    }
    if config.cluster_topic_enable {
        topics.push(topic(
            &config.broker_cluster_name,
            16,
            perm::INHERIT | read_write,
        ));
    }
    if config.broker_topic_enable {
        topics.push(topic(&config.broker_name, 1, perm::INHERIT | read_write));
    }
    topics
}

impl TopicConfigManager {
    /// Loads `config/topics.json` under the store root (if any) and adds the system
    /// topics.
    pub fn load(config: &BrokerConfig) -> std::io::Result<Self> {
        let path = persist::config_dir(&config.store.store_path_root_dir).join("topics.json");
        let saved: Option<TopicConfigSerializeWrapper> = persist::load(&path)?;
        let mut table = TopicTable::default();
        if let Some(saved) = saved {
            table.topics = saved.topic_config_table;
            table.data_version = saved.data_version;
        }
        for system in system_topics(config) {
            table.topics.insert(system.topic_name.clone(), system);
        }
        if !config.auto_create_topic_enable {
            table.topics.remove(AUTO_CREATE_TOPIC_KEY);
        }
        table.next_version(now_millis());
        let manager = Self {
            path: Some(path),
            state: RwLock::new(table),
        };
        manager.persist();
        Ok(manager)
    }

    /// A table in memory only, with the system topics.
    pub fn in_memory(config: &BrokerConfig) -> Self {
        let mut table = TopicTable::default();
        for system in system_topics(config) {
            table.topics.insert(system.topic_name.clone(), system);
        }
        Self {
            path: None,
            state: RwLock::new(table),
        }
    }

    /// A topic's config.
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.state.read().topics.get(topic).cloned()
    }

    /// The whole table with its version, as registration and GET_ALL_TOPIC_CONFIG send it.
    pub fn snapshot(&self) -> TopicConfigSerializeWrapper {
        let state = self.state.read();
        TopicConfigSerializeWrapper {
            topic_config_table: state.topics.clone(),
            data_version: state.data_version.clone(),
            ..TopicConfigSerializeWrapper::default()
        }
    }

    /// Topic names.
    pub fn names(&self) -> Vec<String> {
        self.state.read().topics.keys().cloned().collect()
    }

    /// Creates `topic` from `default_topic` on a send to an unknown topic
    /// (`createTopicInSendMessageMethod`): only when the default topic may be inherited,
    /// with `min(client_queue_nums, default's write queues)` queues. Returns the new
    /// config, or `None` when the topic may not be created.
    pub fn create_on_send(
        &self,
        topic_name: &str,
        default_topic: &str,
        client_queue_nums: i32,
        topic_sys_flag: i32,
    ) -> Option<(TopicConfig, bool)> {
        let mut state = self.state.write();
        if let Some(existing) = state.topics.get(topic_name) {
            return Some((existing.clone(), false));
        }
        let template = state.topics.get(default_topic)?;
        if template.perm & perm::INHERIT == 0 {
            tracing::warn!(
                topic = topic_name,
                default_topic,
                "default topic may not be inherited; not creating the topic"
            );
            return None;
        }
        let queues = client_queue_nums.min(template.write_queue_nums).max(0);
        let created = TopicConfig {
            topic_name: topic_name.to_owned(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: template.perm & !perm::INHERIT,
            topic_filter_type: template.topic_filter_type.clone(),
            topic_sys_flag,
            ..TopicConfig::default()
        };
        state.topics.insert(topic_name.to_owned(), created.clone());
        state.next_version(now_millis());
        drop(state);
        tracing::info!(
            topic = topic_name,
            queues,
            "topic created from {default_topic}"
        );
        self.persist();
        Some((created, true))
    }

    /// Returns `topic`, creating it with `queues` queues and `perm_bits` if missing
    /// (`createTopicInSendMessageBackMethod`, used for retry and DLQ topics). The flag
    /// says whether it was created.
    pub fn get_or_create(
        &self,
        topic_name: &str,
        queues: i32,
        perm_bits: i32,
        topic_sys_flag: i32,
    ) -> (TopicConfig, bool) {
        if let Some(existing) = self.get(topic_name) {
            return (existing, false);
        }
        let mut state = self.state.write();
        if let Some(existing) = state.topics.get(topic_name) {
            return (existing.clone(), false);
        }
        let mut created = topic(topic_name, queues, perm_bits);
        created.topic_sys_flag = topic_sys_flag;
        state.topics.insert(topic_name.to_owned(), created.clone());
        state.next_version(now_millis());
        drop(state);
        tracing::info!(topic = topic_name, queues, "topic created");
        self.persist();
        (created, true)
    }

    /// Creates or replaces a topic (UPDATE_AND_CREATE_TOPIC).
    pub fn upsert(&self, config: TopicConfig) {
        let mut state = self.state.write();
        state.topics.insert(config.topic_name.clone(), config);
        state.next_version(now_millis());
        drop(state);
        self.persist();
    }

    /// Deletes a topic; whether it existed.
    pub fn delete(&self, topic_name: &str) -> bool {
        let mut state = self.state.write();
        let existed = state.topics.remove(topic_name).is_some();
        if existed {
            state.next_version(now_millis());
        }
        drop(state);
        if existed {
            self.persist();
        }
        existed
    }

    fn persist(&self) {
        let Some(path) = &self.path else { return };
        let snapshot = self.snapshot();
        if let Err(e) = persist::store(path, &snapshot) {
            tracing::error!(path = %path.display(), error = %e, "cannot persist the topic table");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(root: &std::path::Path) -> BrokerConfig {
        let mut config = BrokerConfig {
            broker_name: "broker-a".to_owned(),
            ..BrokerConfig::default()
        };
        config.store.store_path_root_dir = root.to_owned();
        config
    }

    #[test]
    fn send_creates_from_tbw102_with_the_smaller_queue_count_and_survives_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config(dir.path());
        let manager = TopicConfigManager::load(&config).expect("load");
        let before = manager.snapshot().data_version;
        let (created, new) = manager
            .create_on_send("Orders", AUTO_CREATE_TOPIC_KEY, 4, 0)
            .expect("created");
        assert!(new);
        assert_eq!((created.read_queue_nums, created.write_queue_nums), (4, 4));
        assert_eq!(created.perm, perm::READ | perm::WRITE);
        assert!(manager.snapshot().data_version.counter > before.counter);
        let (_, again) = manager
            .create_on_send("Orders", AUTO_CREATE_TOPIC_KEY, 4, 0)
            .expect("exists");
        assert!(!again);
        let (wide, _) = manager
            .create_on_send("Wide", AUTO_CREATE_TOPIC_KEY, 64, 0)
            .expect("created");
        assert_eq!(wide.write_queue_nums, 8, "capped by TBW102's queues");

        let reloaded = TopicConfigManager::load(&config).expect("reload");
        assert_eq!(reloaded.get("Orders"), Some(created));
    }

    #[test]
    fn without_auto_create_there_is_no_template() {
        let config = BrokerConfig {
            auto_create_topic_enable: false,
            ..BrokerConfig::default()
        };
        let manager = TopicConfigManager::in_memory(&config);
        assert!(manager.get(AUTO_CREATE_TOPIC_KEY).is_none());
        assert!(manager
            .create_on_send("Orders", AUTO_CREATE_TOPIC_KEY, 4, 0)
            .is_none());
        // A topic without INHERIT is no template either.
        assert!(manager
            .create_on_send("Orders", SELF_TEST_TOPIC, 4, 0)
            .is_none());
    }
}
