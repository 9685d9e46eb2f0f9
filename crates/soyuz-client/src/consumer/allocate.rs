//! Queue allocation among a group's consumers (`AllocateMessageQueueStrategy`).

use crate::message::MessageQueue;

/// Decides which of a topic's queues a consumer takes. Every member runs it over the
/// same sorted inputs, so the members agree without talking.
pub trait AllocateStrategy: Send + Sync {
    /// The queues `current` takes; `all_queues` and `all_consumers` are sorted.
    fn allocate(
        &self,
        group: &str,
        current: &str,
        all_queues: &[MessageQueue],
        all_consumers: &[String],
    ) -> Vec<MessageQueue>;

    /// The strategy's name (`AVG`, ...).
    fn name(&self) -> &str;
}

/// Consecutive ranges of nearly equal size, the first `queues % consumers` members
/// taking one more (`AllocateMessageQueueAveragely`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateAveragely;

impl AllocateStrategy for AllocateAveragely {
    fn allocate(
        &self,
        _group: &str,
        current: &str,
        all_queues: &[MessageQueue],
        all_consumers: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = all_consumers.iter().position(|c| c == current) else {
            return Vec::new();
        };
        let (queues, consumers) = (all_queues.len(), all_consumers.len());
        if queues == 0 {
            return Vec::new();
        }
        let modulo = queues % consumers;
        let average = if queues <= consumers {
            1
        } else if modulo > 0 && index < modulo {
            queues / consumers + 1
        } else {
            queues / consumers
        };
        let start = if modulo > 0 && index < modulo {
            index * average
        } else {
            index * average + modulo
        };
        let range = average.min(queues.saturating_sub(start));
        all_queues.iter().skip(start).take(range).cloned().collect()
    }

    fn name(&self) -> &str {
        "AVG"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn allocation(q: i32, c: usize) -> Vec<Vec<i32>> {
        let (qs, cs) = (queues(q), ids(c));
        cs.iter()
            .map(|me| {
                AllocateAveragely
                    .allocate("g", me, &qs, &cs)
                    .iter()
                    .map(|mq| mq.queue_id)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn matches_java_for_uneven_splits() {
        assert_eq!(
            allocation(8, 3),
            vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]
        );
        assert_eq!(allocation(4, 2), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(allocation(5, 2), vec![vec![0, 1, 2], vec![3, 4]]);
        assert_eq!(allocation(2, 4), vec![vec![0], vec![1], vec![], vec![]]);
        assert_eq!(allocation(4, 1), vec![vec![0, 1, 2, 3]]);
        assert_eq!(allocation(0, 2), vec![Vec::<i32>::new(), vec![]]);
    }

    #[test]
    fn every_queue_goes_to_exactly_one_member() {
        for q in 0..20 {
            for c in 1..8 {
                let all: Vec<i32> = allocation(q, c).into_iter().flatten().collect();
                let unique: BTreeSet<i32> = all.iter().copied().collect();
                assert_eq!(all.len(), q as usize, "{q} queues, {c} consumers");
                assert_eq!(unique.len(), q as usize);
            }
        }
    }

    #[test]
    fn a_stranger_gets_nothing() {
        assert!(AllocateAveragely
            .allocate("g", "nobody", &queues(4), &ids(2))
            .is_empty());
    }
}
