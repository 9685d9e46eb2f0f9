//! Consumer groups (`ConsumerManager`, `ConsumerGroupInfo`): members, subscriptions and
//! consumption settings, as the latest heartbeats describe them. A change in a group's
//! membership is reported to the caller, who tells the members
//! (NOTIFY_CONSUMER_IDS_CHANGED) so they rebalance.

use std::collections::{BTreeMap, HashMap};

use parking_lot::RwLock;
use soyuz_remoting::body::SubscriptionData;

use super::ClientChannel;

/// A consumer group's live state.
#[derive(Clone, Default)]
pub struct ConsumerGroupInfo {
    /// Members by channel id.
    pub channels: HashMap<u64, ClientChannel>,
    /// Subscriptions by topic.
    pub subscriptions: HashMap<String, SubscriptionData>,
    /// `CONSUME_ACTIVELY` / `CONSUME_PASSIVELY` / `CONSUME_POP`.
    pub consume_type: String,
    /// `CLUSTERING` / `BROADCASTING`.
    pub message_model: String,
    /// Where a new member starts.
    pub consume_from_where: String,
}

impl ConsumerGroupInfo {
    /// Members' client ids, sorted.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .channels
            .values()
            .map(|m| m.client_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// What a consumer heartbeat says about one group.
pub struct ConsumerRegistration {
    /// The group.
    pub group: String,
    /// The member.
    pub member: ClientChannel,
    /// Consume type.
    pub consume_type: String,
    /// Message model.
    pub message_model: String,
    /// Consume-from-where.
    pub consume_from_where: String,
    /// Its subscriptions; `None` when a heartbeat-v2 left them out as unchanged.
    pub subscriptions: Option<Vec<SubscriptionData>>,
}

/// Consumer group → state.
#[derive(Default)]
pub struct ConsumerManager {
    groups: RwLock<BTreeMap<String, ConsumerGroupInfo>>,
}

impl ConsumerManager {
    /// Applies a heartbeat. Returns whether the group's membership changed (a new
    /// member), and whether its subscriptions changed.
    pub fn register(&self, registration: ConsumerRegistration) -> (bool, bool) {
        let mut groups = self.groups.write();
        let info = groups.entry(registration.group.clone()).or_default();
        info.consume_type = registration.consume_type;
        info.message_model = registration.message_model;
        info.consume_from_where = registration.consume_from_where;
        let channel_id = registration.member.channel.id();
        let joined = match info.channels.get_mut(&channel_id) {
            Some(existing) => {
                existing.last_update = registration.member.last_update;
                false
            }
            None => {
                info.channels.insert(channel_id, registration.member);
                true
            }
        };
        let mut subscriptions_changed = false;
        if let Some(subscriptions) = registration.subscriptions {
            for subscription in &subscriptions {
                // Java keeps the newer version of a topic's subscription; a new topic or
                // a new expression is a change the group must hear about.
                let (replace, changed) = match info.subscriptions.get(&subscription.topic) {
                    None => (true, true),
                    Some(old) => (
                        old.sub_version < subscription.sub_version,
                        old.sub_version < subscription.sub_version
                            && old.sub_string != subscription.sub_string,
                    ),
                };
                if replace {
                    subscriptions_changed |= changed;
                    info.subscriptions
                        .insert(subscription.topic.clone(), subscription.clone());
                }
            }
            let before = info.subscriptions.len();
            info.subscriptions
                .retain(|topic, _| subscriptions.iter().any(|s| &s.topic == topic));
            subscriptions_changed |= info.subscriptions.len() != before;
        }
        (joined, subscriptions_changed)
    }

    /// Removes a member from a group (UNREGISTER_CLIENT); whether it was there.
    pub fn unregister(&self, group: &str, channel_id: u64) -> bool {
        let mut groups = self.groups.write();
        let Some(info) = groups.get_mut(group) else {
            return false;
        };
        let removed = info.channels.remove(&channel_id).is_some();
        if info.channels.is_empty() {
            groups.remove(group);
        }
        removed
    }

    /// Removes a closed channel everywhere; returns the groups it left that still have
    /// members (to be told).
    pub fn on_channel_closed(&self, channel_id: u64) -> Vec<String> {
        let mut left = Vec::new();
        self.groups.write().retain(|group, info| {
            if info.channels.remove(&channel_id).is_some() && !info.channels.is_empty() {
                left.push(group.clone());
            }
            !info.channels.is_empty()
        });
        left
    }

    /// Drops members whose last heartbeat is older than `expire_before`, closing their
    /// channels; returns the groups that lost members and still have some.
    pub fn expire(&self, expire_before: i64) -> Vec<String> {
        let mut changed = Vec::new();
        self.groups.write().retain(|group, info| {
            let before = info.channels.len();
            info.channels.retain(|_, member| {
                let alive = member.last_update >= expire_before;
                if !alive {
                    tracing::info!(group, client = %member.client_id, "consumer channel expired");
                    member.channel.close();
                }
                alive
            });
            if info.channels.len() != before && !info.channels.is_empty() {
                changed.push(group.clone());
            }
            !info.channels.is_empty()
        });
        changed
    }

    /// A group's state.
    pub fn group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.groups.read().get(group).cloned()
    }

    /// A group's subscription to a topic.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.groups
            .read()
            .get(group)
            .and_then(|info| info.subscriptions.get(topic).cloned())
    }

    /// Names of the groups with live members.
    pub fn group_names(&self) -> Vec<String> {
        self.groups.read().keys().cloned().collect()
    }
}
