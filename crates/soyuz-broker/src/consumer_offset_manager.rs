//! Committed consumer offsets (`ConsumerOffsetManager`): `topic@group` → queue → offset,
//! kept in memory and written to `config/consumerOffset.json` every
//! `flushConsumerOffsetInterval` and at shutdown, in Java's file format so an existing
//! store directory keeps its offsets.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::persist;

/// `consumerOffset.json`: Java's `ConsumerOffsetManager` as fastjson writes it.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// The offset table.
pub struct ConsumerOffsetManager {
    path: Option<PathBuf>,
    table: Mutex<OffsetTable>,
}

#[derive(Default)]
struct OffsetTable {
    offsets: HashMap<String, BTreeMap<i32, i64>>,
    dirty: bool,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl ConsumerOffsetManager {
    /// Loads `config/consumerOffset.json` under `store_root`.
    pub fn load(store_root: &std::path::Path) -> std::io::Result<Self> {
        let path = persist::config_dir(store_root).join("consumerOffset.json");
        let saved: Option<OffsetFile> = persist::load(&path)?;
        let offsets = saved
            .map(|file| file.offset_table.into_iter().collect())
            .unwrap_or_default();
        Ok(Self {
            path: Some(path),
            table: Mutex::new(OffsetTable {
                offsets,
                dirty: false,
            }),
        })
    }

    /// A table in memory only.
    pub fn in_memory() -> Self {
        Self {
            path: None,
            table: Mutex::new(OffsetTable::default()),
        }
    }

    /// Records `group`'s offset in a queue.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let mut table = self.table.lock();
        table
            .offsets
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        table.dirty = true;
    }

    /// `group`'s committed offset in a queue, if it has one.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table
            .lock()
            .offsets
            .get(&key(topic, group))
            .and_then(|queues| queues.get(&queue_id).copied())
    }

    /// Every queue offset `group` committed on `topic`.
    pub fn query_all(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.table
            .lock()
            .offsets
            .get(&key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// The groups with committed offsets on `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let prefix = format!("{topic}@");
        let mut groups: Vec<String> = self
            .table
            .lock()
            .offsets
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        groups.sort();
        groups
    }

    /// Writes the table if it changed since the last write.
    pub fn persist(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = {
            let mut table = self.table.lock();
            if !table.dirty {
                return Ok(());
            }
            table.dirty = false;
            OffsetFile {
                offset_table: table
                    .offsets
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }
        };
        let result = persist::store(path, &file);
        if result.is_err() {
            self.table.lock().dirty = true;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_survive_a_reload_and_read_javas_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let offsets = ConsumerOffsetManager::load(dir.path()).expect("load");
        assert_eq!(offsets.query("g", "T", 0), None);
        offsets.commit("g", "T", 0, 12);
        offsets.commit("g", "T", 3, 7);
        offsets.commit("other", "T", 0, 1);
        offsets.persist().expect("persist");
        let reloaded = ConsumerOffsetManager::load(dir.path()).expect("reload");
        assert_eq!(reloaded.query("g", "T", 0), Some(12));
        assert_eq!(
            reloaded.query_all("g", "T"),
            BTreeMap::from([(0, 12), (3, 7)])
        );
        assert_eq!(reloaded.groups_of_topic("T"), vec!["g", "other"]);

        // fastjson writes integer map keys bare.
        let java = br#"{"dataVersion":{"counter":3,"timestamp":1},"offsetTable":{"TopicTest@please_rename_unique_group_name":{0:250,1:249}}}"#;
        std::fs::write(dir.path().join("config/consumerOffset.json"), java).expect("write");
        let from_java = ConsumerOffsetManager::load(dir.path()).expect("load java");
        assert_eq!(
            from_java.query("please_rename_unique_group_name", "TopicTest", 1),
            Some(249)
        );
    }
}
