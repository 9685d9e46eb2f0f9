//! Producer groups (`ProducerManager`): which live channels belong to which group, so
//! transaction checks can find a producer.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;

use super::ClientChannel;

/// Producer group → channel id → member.
#[derive(Default)]
pub struct ProducerManager {
    groups: Mutex<BTreeMap<String, HashMap<u64, ClientChannel>>>,
}

impl ProducerManager {
    /// Records a heartbeat of a producer of `group`.
    pub fn register(&self, group: &str, member: ClientChannel) {
        self.groups
            .lock()
            .entry(group.to_owned())
            .or_default()
            .insert(member.channel.id(), member);
    }

    /// Removes a channel from a group (UNREGISTER_CLIENT).
    pub fn unregister(&self, group: &str, channel_id: u64) {
        let mut groups = self.groups.lock();
        if let Some(members) = groups.get_mut(group) {
            members.remove(&channel_id);
            if members.is_empty() {
                groups.remove(group);
            }
        }
    }

    /// Removes a closed channel from every group.
    pub fn on_channel_closed(&self, channel_id: u64) {
        self.groups.lock().retain(|_, members| {
            members.remove(&channel_id);
            !members.is_empty()
        });
    }

    /// Drops members whose last heartbeat is older than `expire_before`, closing their
    /// channels.
    pub fn expire(&self, expire_before: i64) {
        self.groups.lock().retain(|group, members| {
            members.retain(|_, member| {
                let alive = member.last_update >= expire_before;
                if !alive {
                    tracing::info!(group, client = %member.client_id, "producer channel expired");
                    member.channel.close();
                }
                alive
            });
            !members.is_empty()
        });
    }

    /// A live channel of `group`, if any (the transaction check target).
    pub fn any_channel(&self, group: &str) -> Option<ClientChannel> {
        self.groups
            .lock()
            .get(group)
            .and_then(|members| members.values().find(|m| !m.channel.is_closed()).cloned())
    }

    /// Every group with its members' client ids.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        self.groups
            .lock()
            .iter()
            .map(|(group, members)| {
                let mut ids: Vec<String> = members.values().map(|m| m.client_id.clone()).collect();
                ids.sort();
                (group.clone(), ids)
            })
            .collect()
    }
}
