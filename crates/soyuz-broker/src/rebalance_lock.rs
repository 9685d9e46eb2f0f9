//! Queue locks for orderly consumers (`RebalanceLockManager`): a consumer group member
//! locks the queues it consumes in order, so two members never consume one queue at once.
//! A lock lasts 60 s from its holder's last renewal (`rocketmq.broker.rebalance.
//! lockMaxLiveTime`); an orderly consumer that crashes loses its queues when its locks
//! expire, and another member takes them over.

use std::collections::HashMap;

use parking_lot::Mutex;
use soyuz_remoting::body::MessageQueue;

/// How long a lock lives without renewal (ms).
pub const LOCK_MAX_LIVE_TIME_MS: i64 = 60_000;

struct LockEntry {
    client_id: String,
    last_update: i64,
}

impl LockEntry {
    fn expired(&self, now: i64) -> bool {
        now - self.last_update > LOCK_MAX_LIVE_TIME_MS
    }
}

/// Group → queue → holder.
#[derive(Default)]
pub struct RebalanceLockManager {
    groups: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl RebalanceLockManager {
    /// Locks (or renews) every queue of `queues` that is free, expired, or already held
    /// by `client_id`; returns the queues `client_id` now holds.
    pub fn try_lock_batch(
        &self,
        group: &str,
        queues: &[MessageQueue],
        client_id: &str,
        now: i64,
    ) -> Vec<MessageQueue> {
        let mut groups = self.groups.lock();
        let locks = groups.entry(group.to_owned()).or_default();
        let mut locked = Vec::new();
        for queue in queues {
            match locks.get_mut(queue) {
                Some(entry) if entry.client_id == client_id => {
                    entry.last_update = now;
                    locked.push(queue.clone());
                }
                Some(entry) if !entry.expired(now) => {
                    tracing::debug!(group, ?queue, holder = %entry.client_id, asker = client_id, "queue locked by another client");
                }
                Some(entry) => {
                    tracing::warn!(group, ?queue, old = %entry.client_id, new = client_id, "expired queue lock taken over");
                    entry.client_id = client_id.to_owned();
                    entry.last_update = now;
                    locked.push(queue.clone());
                }
                None => {
                    locks.insert(
                        queue.clone(),
                        LockEntry {
                            client_id: client_id.to_owned(),
                            last_update: now,
                        },
                    );
                    locked.push(queue.clone());
                }
            }
        }
        locked
    }

    /// Releases the queues of `queues` that `client_id` holds.
    pub fn unlock_batch(&self, group: &str, queues: &[MessageQueue], client_id: &str) {
        let mut groups = self.groups.lock();
        let Some(locks) = groups.get_mut(group) else {
            return;
        };
        for queue in queues {
            if locks.get(queue).is_some_and(|e| e.client_id == client_id) {
                locks.remove(queue);
            }
        }
        if locks.is_empty() {
            groups.remove(group);
        }
    }

    /// Whether every lock of `group` has expired (`isLockAllExpired`): retries of a
    /// group still consuming in order go to the DLQ rather than break the order.
    pub fn all_expired(&self, group: &str, now: i64) -> bool {
        self.groups
            .lock()
            .get(group)
            .is_none_or(|locks| locks.values().all(|e| e.expired(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(id: i32) -> MessageQueue {
        MessageQueue::new("T", "broker-a", id)
    }

    #[test]
    fn one_holder_per_queue_until_the_lock_expires() {
        let locks = RebalanceLockManager::default();
        let both = [queue(0), queue(1)];
        assert_eq!(locks.try_lock_batch("g", &both, "a", 0), both);
        assert!(locks.try_lock_batch("g", &both, "b", 1_000).is_empty());
        // Renewal keeps a's locks alive past the first 60 s.
        assert_eq!(
            locks.try_lock_batch("g", &both[..1], "a", 50_000),
            [queue(0)]
        );
        assert_eq!(locks.try_lock_batch("g", &both, "b", 60_500), [queue(1)]);
        assert!(!locks.all_expired("g", 60_500));
        // Another group is independent.
        assert_eq!(locks.try_lock_batch("h", &both, "b", 0), both);
    }

    #[test]
    fn only_the_holder_unlocks() {
        let locks = RebalanceLockManager::default();
        locks.try_lock_batch("g", &[queue(0)], "a", 0);
        locks.unlock_batch("g", &[queue(0)], "b");
        assert!(locks.try_lock_batch("g", &[queue(0)], "b", 1).is_empty());
        locks.unlock_batch("g", &[queue(0)], "a");
        assert_eq!(locks.try_lock_batch("g", &[queue(0)], "b", 2), [queue(0)]);
        assert!(locks.all_expired("never-locked", 0));
    }
}
