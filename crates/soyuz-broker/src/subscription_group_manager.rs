//! Consumer group configs (`SubscriptionGroupManager`): created on first use when
//! `autoCreateSubscriptionGroup` is on, changed by admin requests, and persisted in
//! `config/subscriptionGroup.json` in Java's format.

use std::collections::BTreeMap;
use std::path::PathBuf;

use parking_lot::RwLock;
use soyuz_remoting::body::{DataVersion, SubscriptionGroupConfig, SubscriptionGroupWrapper};

use crate::persist;

/// Groups every Java broker has from the start.
const SYSTEM_GROUPS: &[&str] = &[
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_RMQ_SYS_TRANS",
];

/// The group table.
pub struct SubscriptionGroupManager {
    path: Option<PathBuf>,
    auto_create: bool,
    state: RwLock<GroupTable>,
}

#[derive(Default)]
struct GroupTable {
    groups: BTreeMap<String, SubscriptionGroupConfig>,
    data_version: DataVersion,
}

impl SubscriptionGroupManager {
    /// Loads `config/subscriptionGroup.json` under `store_root`.
    pub fn load(store_root: &std::path::Path, auto_create: bool) -> std::io::Result<Self> {
        let path = persist::config_dir(store_root).join("subscriptionGroup.json");
        let saved: Option<SubscriptionGroupWrapper> = persist::load(&path)?;
        let mut manager = Self::in_memory(auto_create);
        manager.path = Some(path);
        if let Some(saved) = saved {
            let mut state = manager.state.write();
            state.groups.extend(saved.subscription_group_table);
            state.data_version = saved.data_version;
        }
        Ok(manager)
    }

    /// A table in memory only, with the system groups.
    pub fn in_memory(auto_create: bool) -> Self {
        let groups = SYSTEM_GROUPS
            .iter()
            .map(|name| ((*name).to_owned(), SubscriptionGroupConfig::new(*name)))
            .collect();
        Self {
            path: None,
            auto_create,
            state: RwLock::new(GroupTable {
                groups,
                data_version: DataVersion::default(),
            }),
        }
    }

    /// The group's config; created with Java's defaults when missing and auto-creation
    /// is on (`findSubscriptionGroupConfig`). `None` when it is missing and may not be
    /// created.
    pub fn find_or_create(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some(found) = self.get(group) {
            return Some(found);
        }
        // Names reach config files and retry-topic names: only valid ones are created.
        if !self.auto_create || soyuz_model::names::validate_group(group).is_err() {
            return None;
        }
        let created = SubscriptionGroupConfig::new(group);
        {
            let mut state = self.state.write();
            if let Some(raced) = state.groups.get(group) {
                return Some(raced.clone());
            }
            state.groups.insert(group.to_owned(), created.clone());
            state.data_version.counter += 1;
        }
        tracing::info!(group, "subscription group created");
        self.persist();
        Some(created)
    }

    /// The group's config, if it exists.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.state.read().groups.get(group).cloned()
    }

    /// Creates or replaces a group (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).
    pub fn upsert(&self, config: SubscriptionGroupConfig) {
        {
            let mut state = self.state.write();
            state.groups.insert(config.group_name.clone(), config);
            state.data_version.counter += 1;
        }
        self.persist();
    }

    /// Deletes a group; whether it existed.
    pub fn delete(&self, group: &str) -> bool {
        let existed = {
            let mut state = self.state.write();
            let existed = state.groups.remove(group).is_some();
            if existed {
                state.data_version.counter += 1;
            }
            existed
        };
        if existed {
            self.persist();
        }
        existed
    }

    /// The whole table, as GET_ALL_SUBSCRIPTIONGROUP_CONFIG sends it.
    pub fn snapshot(&self) -> SubscriptionGroupWrapper {
        let state = self.state.read();
        SubscriptionGroupWrapper {
            subscription_group_table: state.groups.clone(),
            data_version: state.data_version.clone(),
            ..SubscriptionGroupWrapper::default()
        }
    }

    fn persist(&self) {
        let Some(path) = &self.path else { return };
        if let Err(e) = persist::store(path, &self.snapshot()) {
            tracing::error!(path = %path.display(), error = %e, "cannot persist subscription groups");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_created_on_demand_only_when_allowed_and_persist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let manager = SubscriptionGroupManager::load(dir.path(), true).expect("load");
        let created = manager.find_or_create("orders").expect("created");
        assert!(created.consume_enable);
        assert_eq!(created.retry_max_times, 16);
        let reloaded = SubscriptionGroupManager::load(dir.path(), false).expect("reload");
        assert!(reloaded.get("orders").is_some());
        assert!(reloaded.find_or_create("unknown").is_none());
        assert!(reloaded.get("TOOLS_CONSUMER").is_some());
        assert!(manager.find_or_create("../../etc").is_none());
        assert!(manager.find_or_create("").is_none());
    }
}
