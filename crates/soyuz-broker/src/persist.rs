//! The broker's JSON config files under `<storePathRootDir>/config/` (`topics.json`,
//! `subscriptionGroup.json`, `consumerOffset.json`), written the way Java's
//! `ConfigManager` writes them: the old file kept as `<name>.bak`, the new one written to
//! a temporary file, synced and renamed into place, so a crash leaves one whole version.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use soyuz_remoting::body::{decode_json, encode_json};

/// Where the broker's config files live for a store rooted at `store_root`.
pub fn config_dir(store_root: &Path) -> PathBuf {
    store_root.join("config")
}

/// Reads `path`, falling back to `<path>.bak` when the file is missing or unreadable
/// (Java's `ConfigManager.load`). `Ok(None)` when neither exists.
pub fn load<T: DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    let backup = backup_path(path);
    for candidate in [path, backup.as_path()] {
        match fs::read(candidate) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(bytes) => match decode_json(&bytes) {
                Ok(value) => return Ok(Some(value)),
                Err(e) => {
                    tracing::warn!(path = %candidate.display(), error = %e, "unreadable config file, trying the backup");
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if path.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} and its backup are unreadable", path.display()),
        ));
    }
    Ok(None)
}

/// Writes `value` as JSON to `path` atomically, keeping the previous version as `.bak`.
pub fn store<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let json = encode_json(value);
    let temporary = path.with_extension("tmp");
    {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(&json)?;
        file.sync_all()?;
    }
    if path.exists() {
        fs::copy(path, backup_path(path))?;
    }
    fs::rename(&temporary, path)?;
    Ok(())
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn stores_loads_and_falls_back_to_the_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = config_dir(dir.path()).join("sample.json");
        assert_eq!(load::<BTreeMap<String, i32>>(&path).expect("load"), None);
        let first = BTreeMap::from([("a".to_owned(), 1)]);
        let second = BTreeMap::from([("a".to_owned(), 2)]);
        store(&path, &first).expect("store");
        store(&path, &second).expect("store");
        assert_eq!(load(&path).expect("load"), Some(second));
        fs::write(&path, b"{torn").expect("tear");
        assert_eq!(load(&path).expect("load"), Some(first));
    }
}
