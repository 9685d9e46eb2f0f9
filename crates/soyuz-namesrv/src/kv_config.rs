//! KV config: namespaced string pairs, persisted as Java's `KVConfigSerializeWrapper`
//! JSON (`{"configTable":{namespace:{key:value}}}`) so a Java NameServer's file loads.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::warn;

/// Namespace whose entries give ordered topics' `orderTopicConf`.
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct KvConfigFile {
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

/// The KV table and where it persists.
#[derive(Debug)]
pub struct KvConfig {
    table: BTreeMap<String, BTreeMap<String, String>>,
    path: Option<PathBuf>,
}

impl KvConfig {
    /// An empty table that is never persisted (tests, embedded use).
    pub fn in_memory() -> Self {
        Self {
            table: BTreeMap::new(),
            path: None,
        }
    }

    /// Loads the table from `path`; a missing file is an empty table, an unreadable one
    /// an error (better to stop than to overwrite an operator's config on the next put).
    pub fn load(path: &Path) -> io::Result<Self> {
        let table = match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => BTreeMap::new(),
            Ok(bytes) => {
                let file: KvConfigFile = soyuz_remoting::body::decode_json(&bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                file.config_table
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Self {
            table,
            path: Some(path.to_owned()),
        })
    }

    /// Sets a value and persists.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) {
        self.table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        self.persist();
    }

    /// One value.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.table.get(namespace)?.get(key).map(String::as_str)
    }

    /// Removes a value and persists.
    pub fn delete(&mut self, namespace: &str, key: &str) {
        let removed = self.table.get_mut(namespace).and_then(|ns| ns.remove(key));
        if removed.is_some() {
            if self.table.get(namespace).is_some_and(BTreeMap::is_empty) {
                self.table.remove(namespace);
            }
            self.persist();
        }
    }

    /// Every pair of a namespace, if it has any.
    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.table.get(namespace).filter(|ns| !ns.is_empty())
    }

    fn persist(&self) {
        let Some(path) = &self.path else { return };
        let file = KvConfigFile {
            config_table: self.table.clone(),
        };
        if let Err(error) =
            write_atomically(path, &serde_json::to_vec_pretty(&file).unwrap_or_default())
        {
            // The in-memory table stays authoritative; the next put tries again.
            warn!(path = %path.display(), %error, "could not persist KV config");
        }
    }
}

/// Writes via a temporary file and a rename, so a crash leaves the old or the new file.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_and_reloads_in_java_format() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("namesrv").join("kvConfig.json");
        let mut kv = KvConfig::load(&path).expect("missing file is empty");
        kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "Orders", "broker-a:4");
        kv.put("ns", "k", "v");
        kv.delete("ns", "k");
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.contains("\"configTable\""));
        let reloaded = KvConfig::load(&path).expect("reloads");
        assert_eq!(
            reloaded.get(NAMESPACE_ORDER_TOPIC_CONFIG, "Orders"),
            Some("broker-a:4")
        );
        assert_eq!(reloaded.namespace("ns"), None);
    }

    #[test]
    fn refuses_a_corrupt_file_rather_than_overwriting_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kvConfig.json");
        std::fs::write(&path, "{ not json").expect("write");
        assert!(KvConfig::load(&path).is_err());
    }
}
