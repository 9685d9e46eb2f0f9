//! Reading RocketMQ `.conf` / `.properties` files with Java's grammar (escapes, line
//! continuations, `:` or `=` separators, ISO-8859-1) and `properties2Object` semantics.

use std::path::Path;

use anyhow::Context;
use soyuz_model::properties_config::{apply_properties, PropertiesConfig, SetOutcome};
use tracing::warn;

/// Loads `path` into `config`, logging every key or value Java would silently ignore.
pub fn load_into(config: &mut impl PropertiesConfig, path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open config file {}", path.display()))?;
    let entries = java_properties::read(std::io::BufReader::new(file))
        .with_context(|| format!("cannot parse config file {}", path.display()))?;
    let ignored = apply_properties(
        config,
        entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    for item in ignored {
        match item.reason {
            SetOutcome::UnknownKey => {
                warn!(key = %item.key, file = %path.display(), "unknown config key ignored");
            }
            SetOutcome::BadValue { expected } => warn!(
                key = %item.key,
                value = %item.value,
                expected,
                file = %path.display(),
                "config value does not parse; the default stays"
            ),
            SetOutcome::Applied => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use soyuz_namesrv::NamesrvConfig;

    #[test]
    fn reads_a_namesrv_conf_with_java_grammar() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("namesrv.conf");
        std::fs::write(
            &path,
            "# comment\nlistenPort = 19876\norderMessageEnable:TRUE\nkvConfigPath=/data/\\\n  kv.json\nnotAKey=1\n",
        )
        .expect("write");
        let mut config = NamesrvConfig::default();
        load_into(&mut config, &path).expect("loads");
        assert_eq!(config.listen_port, 19876);
        assert!(config.order_message_enable);
        assert_eq!(
            config.kv_config_path,
            std::path::PathBuf::from("/data/kv.json")
        );
    }
}
