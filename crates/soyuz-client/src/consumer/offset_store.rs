//! Where a consumer keeps its offsets: on the brokers for clustering consumers
//! (`RemoteBrokerOffsetStore`), in a local JSON file for broadcasting ones
//! (`LocalFileOffsetStore`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Deserialize;
use soyuz_remoting::body::{decode_json, encode_mq_keyed_map, mq_map};

use crate::error::Result;
use crate::instance::ClientInstance;
use crate::message::MessageQueue;

/// Where [`OffsetStore::read`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadOffsetType {
    /// Only the in-memory table.
    Memory,
    /// Only the backing store (broker or file), refreshing memory.
    Store,
}

/// A consumer group's offsets.
pub(crate) struct OffsetStore {
    group: String,
    table: Mutex<HashMap<MessageQueue, i64>>,
    backing: Backing,
}

enum Backing {
    Remote(Arc<ClientInstance>),
    Local(PathBuf),
}

/// The local file's shape (`OffsetSerializeWrapper`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    #[serde(deserialize_with = "mq_map::deserialize")]
    offset_table: Vec<(MessageQueue, i64)>,
}

impl OffsetStore {
    /// Offsets kept on the brokers.
    pub fn remote(instance: Arc<ClientInstance>, group: &str) -> Self {
        Self {
            group: group.to_owned(),
            table: Mutex::default(),
            backing: Backing::Remote(instance),
        }
    }

    /// Offsets kept in `<dir>/<client id>/<group>/offsets.json`, loaded now
    /// (`LocalFileOffsetStore.load`).
    pub fn local(dir: &Path, client_id: &str, group: &str) -> Result<Self> {
        let path = dir
            .join(sanitize(client_id))
            .join(group)
            .join("offsets.json");
        let store = Self {
            group: group.to_owned(),
            table: Mutex::default(),
            backing: Backing::Local(path),
        };
        let loaded = store.read_file()?;
        store.table.lock().extend(loaded);
        Ok(store)
    }

    fn read_file(&self) -> Result<HashMap<MessageQueue, i64>> {
        let Backing::Local(path) = &self.backing else {
            return Ok(HashMap::new());
        };
        for candidate in [path.clone(), path.with_extension("json.bak")] {
            match std::fs::read(&candidate) {
                Ok(bytes) => match decode_json::<OffsetFile>(&bytes) {
                    Ok(file) => return Ok(file.offset_table.into_iter().collect()),
                    Err(e) => {
                        tracing::warn!(path = %candidate.display(), error = %e, "unreadable offset file")
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(HashMap::new())
    }

    fn write_file(&self, path: &Path, queues: Option<&BTreeSet<MessageQueue>>) -> Result<()> {
        let mut entries: Vec<(MessageQueue, i64)> = self
            .table
            .lock()
            .iter()
            .filter(|(mq, _)| queues.is_none_or(|set| set.contains(*mq)))
            .map(|(mq, offset)| (mq.clone(), *offset))
            .collect();
        entries.sort();
        let text = format!(r#"{{"offsetTable":{}}}"#, encode_mq_keyed_map(&entries));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text.as_bytes())?;
        if path.exists() {
            let _ = std::fs::copy(path, path.with_extension("json.bak"));
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Records `offset` for `queue`; with `increase_only`, never moves it back.
    pub fn update(&self, queue: &MessageQueue, offset: i64, increase_only: bool) {
        let mut table = self.table.lock();
        let entry = table.entry(queue.clone()).or_insert(offset);
        if !increase_only || offset > *entry {
            *entry = offset;
        }
    }

    /// The offset of `queue`; `None` when neither memory nor the store has one.
    pub async fn read(&self, queue: &MessageQueue, kind: ReadOffsetType) -> Result<Option<i64>> {
        if kind == ReadOffsetType::Memory {
            return Ok(self.table.lock().get(queue).copied());
        }
        let stored = match &self.backing {
            Backing::Remote(instance) => instance.query_consumer_offset(&self.group, queue).await?,
            Backing::Local(_) => self.read_file()?.get(queue).copied(),
        };
        if let Some(offset) = stored {
            self.update(queue, offset, false);
        }
        Ok(stored)
    }

    /// Writes the offsets of `queues` to the backing store and forgets the others
    /// (`persistAll`).
    pub async fn persist_all(&self, queues: &BTreeSet<MessageQueue>) {
        match &self.backing {
            Backing::Remote(instance) => {
                let entries: Vec<(MessageQueue, i64)> = {
                    let mut table = self.table.lock();
                    table.retain(|mq, _| queues.contains(mq));
                    table.iter().map(|(q, o)| (q.clone(), *o)).collect()
                };
                for (queue, offset) in entries {
                    if let Err(e) = instance
                        .update_consumer_offset_oneway(&self.group, &queue, offset)
                        .await
                    {
                        tracing::debug!(?queue, error = %e, "offset commit failed");
                    }
                }
            }
            Backing::Local(path) => {
                if let Err(e) = self.write_file(path, Some(queues)) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write offsets");
                }
            }
        }
    }

    /// Writes the offset of one queue (`persist`).
    pub async fn persist(&self, queue: &MessageQueue) {
        let offset = self.table.lock().get(queue).copied();
        match (&self.backing, offset) {
            (Backing::Remote(instance), Some(offset)) => {
                if let Err(e) = instance
                    .update_consumer_offset_oneway(&self.group, queue, offset)
                    .await
                {
                    tracing::debug!(?queue, error = %e, "offset commit failed");
                }
            }
            (Backing::Local(path), Some(_)) => {
                if let Err(e) = self.write_file(path, None) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write offsets");
                }
            }
            (_, None) => {}
        }
    }

    /// Forgets `queue`'s offset in memory.
    pub fn remove(&self, queue: &MessageQueue) {
        self.table.lock().remove(queue);
    }

    /// A copy of the in-memory table.
    pub fn snapshot(&self) -> HashMap<MessageQueue, i64> {
        self.table.lock().clone()
    }
}

/// Client ids contain `@` and `#`, fine in file names, and `:` for IPv6, which is not
/// everywhere; keep the id readable but safe.
fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@#._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_store_round_trips_through_its_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = MessageQueue::new("T", "b", 0);
        let b = MessageQueue::new("T", "b", 1);
        let store = OffsetStore::local(dir.path(), "10.0.0.1@x", "g").expect("opens");
        assert_eq!(
            store.read(&a, ReadOffsetType::Store).await.expect("reads"),
            None
        );
        store.update(&a, 5, false);
        store.update(&a, 3, true);
        store.update(&b, 9, false);
        assert_eq!(
            store.read(&a, ReadOffsetType::Memory).await.expect("reads"),
            Some(5)
        );
        store
            .persist_all(&[a.clone(), b.clone()].into_iter().collect())
            .await;

        let path = dir.path().join("10.0.0.1@x").join("g").join("offsets.json");
        let text = std::fs::read_to_string(&path).expect("file written");
        assert!(
            text.starts_with(r#"{"offsetTable":{{"#),
            "fastjson's form: {text}"
        );

        let reopened = OffsetStore::local(dir.path(), "10.0.0.1@x", "g").expect("opens");
        assert_eq!(
            reopened
                .read(&a, ReadOffsetType::Store)
                .await
                .expect("reads"),
            Some(5)
        );
        assert_eq!(reopened.snapshot().get(&b), Some(&9));
        store.update(&b, 2, false);
        assert_eq!(
            store.snapshot().get(&b),
            Some(&2),
            "not increase-only moves back"
        );
    }
}
