//! Long polling (`PullRequestHoldService`): a pull that finds nothing new waits here until
//! the store reports that its queue grew, or its suspend time runs out. Waking is driven
//! by the store's dispatch (the arrival listener), never by a polling timer, so a held
//! pull answers as soon as the message it waits for is readable.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// Pulls waiting for messages, by topic and queue.
#[derive(Default)]
pub struct PullHoldService {
    waiting: Mutex<HashMap<String, HashMap<i32, Vec<Waiter>>>>,
}

struct Waiter {
    /// The offset the pull asked for: it wakes once the queue's end passes it.
    offset: i64,
    wake: oneshot::Sender<()>,
}

impl PullHoldService {
    /// Registers a pull at `offset` of a queue; the receiver completes when the queue's
    /// max offset moves past `offset`. Dropping the receiver abandons the wait.
    pub fn hold(&self, topic: &str, queue_id: i32, offset: i64) -> oneshot::Receiver<()> {
        let (wake, woken) = oneshot::channel();
        let mut waiting = self.waiting.lock();
        let queue = waiting
            .entry(topic.to_owned())
            .or_default()
            .entry(queue_id)
            .or_default();
        // Waits that timed out left their sender behind; drop them here rather than on
        // a timer.
        queue.retain(|w| !w.wake.is_closed());
        queue.push(Waiter { offset, wake });
        woken
    }

    /// Called when a queue's max offset becomes `max_offset`: wakes every pull waiting
    /// below it.
    pub fn on_arrival(&self, topic: &str, queue_id: i32, max_offset: i64) {
        let mut waiting = self.waiting.lock();
        let Some(queues) = waiting.get_mut(topic) else {
            return;
        };
        let Some(queue) = queues.get_mut(&queue_id) else {
            return;
        };
        let mut index = 0;
        while index < queue.len() {
            if queue[index].offset < max_offset || queue[index].wake.is_closed() {
                let waiter = queue.swap_remove(index);
                // The puller may have timed out meanwhile; nothing to do then.
                let _ = waiter.wake.send(());
            } else {
                index += 1;
            }
        }
        if queue.is_empty() {
            queues.remove(&queue_id);
            if queues.is_empty() {
                waiting.remove(topic);
            }
        }
    }

    /// Pulls waiting now (for tests and metrics).
    pub fn waiting(&self) -> usize {
        self.waiting
            .lock()
            .values()
            .flat_map(HashMap::values)
            .map(|queue| queue.iter().filter(|w| !w.wake.is_closed()).count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_only_pulls_below_the_new_end_of_their_queue() {
        let service = PullHoldService::default();
        let mut at_5 = service.hold("T", 0, 5);
        let mut at_7 = service.hold("T", 0, 7);
        let mut other_queue = service.hold("T", 1, 0);
        assert_eq!(service.waiting(), 3);
        service.on_arrival("T", 0, 6);
        assert_eq!(at_5.try_recv(), Ok(()));
        assert!(at_7.try_recv().is_err());
        assert!(other_queue.try_recv().is_err());
        service.on_arrival("T", 0, 8);
        assert_eq!(at_7.try_recv(), Ok(()));
        drop(other_queue);
        assert_eq!(service.waiting(), 0);
    }
}
