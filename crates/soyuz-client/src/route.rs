//! Turning a `TopicRouteData` into queue lists (`MQClientInstance.topicRouteData2*`), and
//! choosing a queue to send to (`TopicPublishInfo.selectOneMessageQueue`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

use soyuz_remoting::body::{perm, TopicRouteData};

use crate::message::MessageQueue;

/// Where a topic's messages can be sent: its writable queues on brokers with a master.
#[derive(Debug)]
pub struct TopicPublishInfo {
    /// Whether the topic's queues follow `orderTopicConf`.
    pub order_topic: bool,
    /// Whether the queues are borrowed from the auto-create topic (`TBW102`).
    pub from_default_topic: bool,
    /// The writable queues, by broker name then queue id.
    pub queues: Vec<MessageQueue>,
    /// The route they came from.
    pub route: TopicRouteData,
    next: AtomicU32,
}

impl TopicPublishInfo {
    /// The publish info of `topic` from its route (`topicRouteData2TopicPublishInfo`).
    ///
    /// With `orderTopicConf` (`broker-a:4;broker-b:4`) the queues are exactly those;
    /// otherwise each writable queue data of a broker that has a master gives
    /// `writeQueueNums` queues, brokers sorted by name.
    pub fn from_route(topic: &str, route: TopicRouteData, from_default_topic: bool) -> Self {
        let mut queues = Vec::new();
        let order_conf = route
            .order_topic_conf
            .as_deref()
            .filter(|c| !c.trim().is_empty());
        if let Some(conf) = order_conf {
            for item in conf.split(';') {
                if let Some((broker, nums)) = item.split_once(':') {
                    let nums: i32 = nums.trim().parse().unwrap_or(0);
                    for id in 0..nums {
                        queues.push(MessageQueue::new(topic, broker.trim(), id));
                    }
                }
            }
        } else {
            let mut datas = route.queue_datas.clone();
            datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for data in datas.iter().filter(|d| perm::is_writeable(d.perm)) {
                let has_master = route
                    .broker_datas
                    .iter()
                    .any(|b| b.broker_name == data.broker_name && b.master_addr().is_some());
                if !has_master {
                    continue;
                }
                for id in 0..data.write_queue_nums {
                    queues.push(MessageQueue::new(topic, &data.broker_name, id));
                }
            }
        }
        Self {
            order_topic: order_conf.is_some(),
            from_default_topic,
            queues,
            route,
            next: AtomicU32::new(random_seed()),
        }
    }

    /// Whether there is any queue to send to.
    pub fn ok(&self) -> bool {
        !self.queues.is_empty()
    }

    /// The next queue round-robin, avoiding `last_broker` (the broker that just failed)
    /// when another broker has queues.
    pub fn select_queue(&self, last_broker: Option<&str>) -> Option<MessageQueue> {
        if self.queues.is_empty() {
            return None;
        }
        let len = self.queues.len();
        if let Some(last) = last_broker {
            for _ in 0..len {
                let index = self.next.fetch_add(1, Ordering::Relaxed) as usize % len;
                let queue = &self.queues[index];
                if queue.broker_name != last {
                    return Some(queue.clone());
                }
            }
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed) as usize % len;
        Some(self.queues[index].clone())
    }
}

/// The queues consumers read: `readQueueNums` queues of each readable queue data
/// (`topicRouteData2TopicSubscribeInfo`).
pub fn subscribe_queues(topic: &str, route: &TopicRouteData) -> BTreeSet<MessageQueue> {
    route
        .queue_datas
        .iter()
        .filter(|d| perm::is_readable(d.perm))
        .flat_map(|d| {
            (0..d.read_queue_nums).map(move |id| MessageQueue::new(topic, &d.broker_name, id))
        })
        .collect()
}

/// The auto-create topic's route adjusted for a new topic: at most `queue_nums` queues
/// per broker (Java: `min(defaultTopicQueueNums, readQueueNums)`).
pub fn adjust_default_route(mut route: TopicRouteData, queue_nums: i32) -> TopicRouteData {
    for data in &mut route.queue_datas {
        let nums = queue_nums.min(data.read_queue_nums);
        data.read_queue_nums = nums;
        data.write_queue_nums = nums;
    }
    route
}

fn random_seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos.wrapping_mul(0x9E37_79B9) >> 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use soyuz_remoting::body::{BrokerData, QueueData};

    fn route() -> TopicRouteData {
        let broker = |name: &str, master: bool| BrokerData {
            cluster: "c".into(),
            broker_name: name.into(),
            broker_addrs: if master {
                [(0, format!("{name}:10911"))].into_iter().collect()
            } else {
                [(1, format!("{name}:10921"))].into_iter().collect()
            },
            ..Default::default()
        };
        let queue = |name: &str, read, write, perm| QueueData {
            broker_name: name.into(),
            read_queue_nums: read,
            write_queue_nums: write,
            perm,
            topic_sys_flag: 0,
        };
        TopicRouteData {
            queue_datas: vec![
                queue("b", 2, 2, 6),
                queue("a", 3, 2, 6),
                queue("ro", 2, 2, 4),
                queue("noMaster", 1, 1, 6),
            ],
            broker_datas: vec![
                broker("a", true),
                broker("b", true),
                broker("ro", true),
                broker("noMaster", false),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn publish_queues_are_writable_queues_of_brokers_with_a_master_sorted_by_broker() {
        let info = TopicPublishInfo::from_route("T", route(), false);
        assert_eq!(
            info.queues,
            vec![
                MessageQueue::new("T", "a", 0),
                MessageQueue::new("T", "a", 1),
                MessageQueue::new("T", "b", 0),
                MessageQueue::new("T", "b", 1),
            ]
        );
        assert!(!info.order_topic);
    }

    #[test]
    fn order_topic_conf_decides_the_queues() {
        let mut r = route();
        r.order_topic_conf = Some("b:2;a:1".into());
        let info = TopicPublishInfo::from_route("T", r, false);
        assert!(info.order_topic);
        assert_eq!(
            info.queues,
            vec![
                MessageQueue::new("T", "b", 0),
                MessageQueue::new("T", "b", 1),
                MessageQueue::new("T", "a", 0),
            ]
        );
    }

    #[test]
    fn subscribe_queues_are_readable_read_queues() {
        let queues = subscribe_queues("T", &route());
        assert_eq!(queues.len(), 3 + 2 + 2 + 1);
        assert!(queues.contains(&MessageQueue::new("T", "a", 2)));
        assert!(queues.contains(&MessageQueue::new("T", "ro", 1)));
    }

    #[test]
    fn round_robin_covers_every_queue_and_avoids_the_failed_broker() {
        let info = TopicPublishInfo::from_route("T", route(), false);
        let picked: BTreeSet<_> = (0..4).filter_map(|_| info.select_queue(None)).collect();
        assert_eq!(picked.len(), 4);
        for _ in 0..10 {
            let q = info.select_queue(Some("a")).expect("a queue");
            assert_eq!(q.broker_name, "b");
        }
    }

    #[test]
    fn default_route_is_capped_at_the_requested_queue_count() {
        let adjusted = adjust_default_route(route(), 2);
        let a = adjusted
            .queue_datas
            .iter()
            .find(|d| d.broker_name == "a")
            .expect("a");
        assert_eq!((a.read_queue_nums, a.write_queue_nums), (2, 2));
        let info = TopicPublishInfo::from_route("New", adjust_default_route(route(), 1), true);
        assert_eq!(info.queues.len(), 2);
        assert!(info.from_default_topic);
    }
}
