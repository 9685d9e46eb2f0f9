//! Java-properties configuration semantics (`MixAll.properties2Object`), shared by every
//! config struct that reads RocketMQ's `.conf` / `.properties` keys.
//!
//! Java applies each key to the setter of the same name: strings are trimmed, numbers and
//! booleans are not; a number that does not parse is silently ignored (the default stays);
//! a boolean is `true` only for "true" in any case; unknown keys are ignored. We keep
//! those semantics so existing files load the same way, but report every ignored key or
//! value so the binary can log it instead of staying silent.

use std::collections::BTreeMap;

/// What happened to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOutcome {
    /// The value was applied.
    Applied,
    /// No such key; ignored.
    UnknownKey,
    /// The value does not parse as the key's type; the old value stays.
    BadValue {
        /// The type the key wants.
        expected: &'static str,
    },
}

/// A config struct settable by RocketMQ key names.
pub trait PropertiesConfig {
    /// Applies `value` to `key` with Java's conversions.
    fn set_property(&mut self, key: &str, value: &str) -> SetOutcome;

    /// Every key with its current value, as `GET_*_CONFIG` reports them.
    fn to_properties(&self) -> BTreeMap<String, String>;
}

/// A key or value that [`apply_properties`] passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredProperty {
    /// The key.
    pub key: String,
    /// The value given.
    pub value: String,
    /// Why it was ignored.
    pub reason: SetOutcome,
}

/// Applies every entry; returns the ones that were ignored, for the caller to log.
pub fn apply_properties<'a>(
    config: &mut impl PropertiesConfig,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<IgnoredProperty> {
    let mut ignored = Vec::new();
    for (key, value) in entries {
        let outcome = config.set_property(key, value);
        if outcome != SetOutcome::Applied {
            ignored.push(IgnoredProperty {
                key: key.to_owned(),
                value: value.to_owned(),
                reason: outcome,
            });
        }
    }
    ignored
}

/// Sets a string field: trimmed, as Java does for `String` setters.
pub fn set_string(field: &mut String, value: &str) -> SetOutcome {
    *field = value.trim().to_owned();
    SetOutcome::Applied
}

/// Sets a boolean field: `true` only for "true" in any case (`Boolean.parseBoolean`).
pub fn set_bool(field: &mut bool, value: &str) -> SetOutcome {
    *field = value.eq_ignore_ascii_case("true");
    SetOutcome::Applied
}

/// Sets a numeric field; an untrimmed parse like `Integer.parseInt`, ignored on failure.
pub fn set_number<T: std::str::FromStr>(field: &mut T, value: &str) -> SetOutcome {
    match value.parse() {
        Ok(parsed) => {
            *field = parsed;
            SetOutcome::Applied
        }
        Err(_) => SetOutcome::BadValue {
            expected: std::any::type_name::<T>(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Sample {
        name: String,
        port: u16,
        enabled: bool,
    }

    impl PropertiesConfig for Sample {
        fn set_property(&mut self, key: &str, value: &str) -> SetOutcome {
            match key {
                "name" => set_string(&mut self.name, value),
                "port" => set_number(&mut self.port, value),
                "enabled" => set_bool(&mut self.enabled, value),
                _ => SetOutcome::UnknownKey,
            }
        }

        fn to_properties(&self) -> BTreeMap<String, String> {
            BTreeMap::from([
                ("name".to_owned(), self.name.clone()),
                ("port".to_owned(), self.port.to_string()),
                ("enabled".to_owned(), self.enabled.to_string()),
            ])
        }
    }

    #[test]
    fn follows_java_properties2object() {
        let mut sample = Sample {
            port: 9876,
            ..Sample::default()
        };
        let ignored = apply_properties(
            &mut sample,
            [
                ("name", "  broker-a "),
                ("port", " 10911"),
                ("enabled", "TRUE"),
                ("nope", "1"),
            ],
        );
        assert_eq!(sample.name, "broker-a");
        assert_eq!(sample.port, 9876, "untrimmed number is ignored like Java");
        assert!(sample.enabled);
        let keys: Vec<_> = ignored.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["port", "nope"]);
        assert_eq!(sample.to_properties()["name"], "broker-a");
    }
}
