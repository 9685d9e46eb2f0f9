//! Topic and group name rules (`TopicValidator`, `KeyBuilder`, `MixAll`).
//!
//! Names reach file paths (ConsumeQueue directories, config files), so these checks are a
//! security boundary as much as a compatibility rule: CVE-2019-17572 was a topic named
//! `../../x`.

use thiserror::Error;

/// Longest ordinary topic name.
pub const TOPIC_MAX_LEN: usize = 127;
/// Longest retry or DLQ topic name (the group name is embedded in it).
pub const RETRY_OR_DLQ_TOPIC_MAX_LEN: usize = 255;
/// Longest consumer or producer group name.
pub const GROUP_MAX_LEN: usize = 120;
/// Prefix of a consumer group's retry topic.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// Prefix that marks system topics.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
/// The auto-create template topic.
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty or blank.
    #[error("the {kind} name is blank")]
    Blank {
        /// "topic" or "group".
        kind: &'static str,
    },
    /// The name is longer than allowed.
    #[error("the {kind} name is longer than {max} characters")]
    TooLong {
        /// "topic" or "group".
        kind: &'static str,
        /// The limit.
        max: usize,
    },
    /// The name has a character outside `[%|a-zA-Z0-9_-]`.
    #[error(
        "the {kind} name [{name}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
    )]
    IllegalCharacters {
        /// "topic" or "group".
        kind: &'static str,
        /// The name as given.
        name: String,
    },
}

fn is_legal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

fn validate(kind: &'static str, name: &str, max: usize) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Blank { kind });
    }
    if !name.chars().all(is_legal_char) {
        return Err(NameError::IllegalCharacters {
            kind,
            name: name.to_owned(),
        });
    }
    if name.len() > max {
        return Err(NameError::TooLong { kind, max });
    }
    Ok(())
}

/// Checks a topic name the way the Java broker does before creating or using it.
pub fn validate_topic(topic: &str) -> Result<(), NameError> {
    let max = if is_retry_or_dlq_topic(topic) {
        RETRY_OR_DLQ_TOPIC_MAX_LEN
    } else {
        TOPIC_MAX_LEN
    };
    validate("topic", topic, max)
}

/// Checks a consumer or producer group name.
pub fn validate_group(group: &str) -> Result<(), NameError> {
    validate("group", group, GROUP_MAX_LEN)
}

/// Whether `topic` is a `%RETRY%` or `%DLQ%` topic.
pub fn is_retry_or_dlq_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

/// The retry topic of a consumer group.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// The dead-letter topic of a consumer group.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// Whether `topic` is one of RocketMQ's built-in system topics.
pub fn is_system_topic(topic: &str) -> bool {
    const SYSTEM_TOPICS: &[&str] = &[
        AUTO_CREATE_TOPIC_KEY,
        "SCHEDULE_TOPIC_XXXX",
        "RMQ_SYS_TRANS_HALF_TOPIC",
        "RMQ_SYS_TRANS_OP_HALF_TOPIC",
        "TRANS_CHECK_MAX_TIME_TOPIC",
        "RMQ_SYS_TRACE_TOPIC",
        "SELF_TEST_TOPIC",
        "OFFSET_MOVED_EVENT",
        "BenchmarkTest",
        "CHECKPOINT_TOPIC",
    ];
    topic.starts_with(SYSTEM_TOPIC_PREFIX) || SYSTEM_TOPICS.contains(&topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_retry_names() {
        assert_eq!(validate_topic("TopicTest"), Ok(()));
        assert_eq!(validate_topic("%RETRY%group_1"), Ok(()));
        assert_eq!(validate_topic("a|b-c_d"), Ok(()));
        assert_eq!(validate_group("please_rename_unique_group_name"), Ok(()));
    }

    #[test]
    fn refuses_path_traversal_and_blank_names() {
        assert!(matches!(
            validate_topic("../../etc"),
            Err(NameError::IllegalCharacters { .. })
        ));
        assert!(matches!(
            validate_topic("a/b"),
            Err(NameError::IllegalCharacters { .. })
        ));
        assert!(matches!(validate_topic("  "), Err(NameError::Blank { .. })));
        assert!(matches!(validate_topic(""), Err(NameError::Blank { .. })));
    }

    #[test]
    fn enforces_length_limits() {
        assert_eq!(validate_topic(&"t".repeat(127)), Ok(()));
        assert!(matches!(
            validate_topic(&"t".repeat(128)),
            Err(NameError::TooLong { max: 127, .. })
        ));
        assert_eq!(
            validate_topic(&format!("%RETRY%{}", "g".repeat(200))),
            Ok(())
        );
        assert!(matches!(
            validate_group(&"g".repeat(121)),
            Err(NameError::TooLong { max: 120, .. })
        ));
    }

    #[test]
    fn recognises_system_topics() {
        assert!(is_system_topic("TBW102"));
        assert!(is_system_topic("rmq_sys_wheel_timer"));
        assert!(!is_system_topic("orders"));
        assert_eq!(retry_topic("g"), "%RETRY%g");
        assert_eq!(dlq_topic("g"), "%DLQ%g");
    }
}
