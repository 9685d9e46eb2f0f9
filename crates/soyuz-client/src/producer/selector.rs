//! Choosing the queue of an ordered send: [`MessageQueueSelector`] and the selectors Java
//! ships (`SelectMessageQueueByHash`, `SelectMessageQueueByRandom`).

use soyuz_model::java_string_hash;

use crate::message::{Message, MessageQueue};

/// Picks the queue for one message among the topic's writable queues, given the
/// caller's argument (`MessageQueueSelector`). Returning `None` fails the send.
///
/// Closures `Fn(&[MessageQueue], &Message, &A) -> Option<MessageQueue>` are selectors.
pub trait MessageQueueSelector<A: ?Sized>: Send + Sync {
    /// The queue for `message`.
    fn select(&self, queues: &[MessageQueue], message: &Message, arg: &A) -> Option<MessageQueue>;
}

impl<A: ?Sized, F> MessageQueueSelector<A> for F
where
    F: Fn(&[MessageQueue], &Message, &A) -> Option<MessageQueue> + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], message: &Message, arg: &A) -> Option<MessageQueue> {
        self(queues, message, arg)
    }
}

/// A value with Java's `hashCode()`, so that [`SelectMessageQueueByHash`] puts a key on
/// the same queue a Java producer would.
pub trait JavaHashCode {
    /// Java's `hashCode()` of the equivalent Java value.
    fn java_hash_code(&self) -> i32;
}

impl JavaHashCode for str {
    fn java_hash_code(&self) -> i32 {
        java_string_hash(self)
    }
}

impl JavaHashCode for String {
    fn java_hash_code(&self) -> i32 {
        java_string_hash(self)
    }
}

impl JavaHashCode for i32 {
    fn java_hash_code(&self) -> i32 {
        *self
    }
}

impl JavaHashCode for i64 {
    /// `Long.hashCode`: the two halves XOR-ed.
    fn java_hash_code(&self) -> i32 {
        (*self ^ ((*self as u64) >> 32) as i64) as i32
    }
}

impl JavaHashCode for u64 {
    fn java_hash_code(&self) -> i32 {
        (*self as i64).java_hash_code()
    }
}

/// Same key, same queue: `abs(hashCode(arg) % queueCount)` (`SelectMessageQueueByHash`).
/// Messages sharing a key are stored in order in one queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectMessageQueueByHash;

impl<A: JavaHashCode + ?Sized> MessageQueueSelector<A> for SelectMessageQueueByHash {
    fn select(&self, queues: &[MessageQueue], _message: &Message, arg: &A) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        let len = i32::try_from(queues.len()).unwrap_or(i32::MAX);
        let index = (arg.java_hash_code() % len).unsigned_abs() as usize;
        queues.get(index).cloned()
    }
}

/// Any queue (`SelectMessageQueueByRandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectMessageQueueByRandom;

impl<A: ?Sized> MessageQueueSelector<A> for SelectMessageQueueByRandom {
    fn select(
        &self,
        queues: &[MessageQueue],
        _message: &Message,
        _arg: &A,
    ) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        queues.get(crate::util::random_index(queues.len())).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    #[test]
    fn hash_selector_matches_java() {
        let m = Message::new("T", "x");
        let qs = queues(4);
        // "order-1".hashCode() = -1207111310 in Java; % 4 = -2, abs 2.
        assert_eq!(java_string_hash("order-1"), -1_207_111_310);
        assert_eq!(
            SelectMessageQueueByHash.select(&qs, &m, "order-1"),
            Some(qs[2].clone())
        );
        assert_eq!(
            SelectMessageQueueByHash.select(&qs, &m, &7i32),
            Some(qs[3].clone())
        );
        assert_eq!(
            SelectMessageQueueByHash.select(&qs, &m, &-5i32),
            Some(qs[1].clone())
        );
        // Long.hashCode(1L << 32) = 1
        assert_eq!((1i64 << 32).java_hash_code(), 1);
        assert_eq!(
            SelectMessageQueueByHash.select(&qs, &m, &(1i64 << 32)),
            Some(qs[1].clone())
        );
        assert_eq!(SelectMessageQueueByHash.select(&[], &m, "k"), None);
    }

    #[test]
    fn same_key_same_queue_and_closures_are_selectors() {
        let m = Message::new("T", "x");
        let qs = queues(8);
        let first = SelectMessageQueueByHash.select(&qs, &m, "user-42");
        for _ in 0..10 {
            assert_eq!(SelectMessageQueueByHash.select(&qs, &m, "user-42"), first);
        }
        let last = |qs: &[MessageQueue], _: &Message, _: &str| qs.last().cloned();
        assert_eq!(last.select(&qs, &m, "k"), Some(qs[7].clone()));
        let random = SelectMessageQueueByRandom
            .select(&qs, &m, "k")
            .expect("a queue");
        assert!(qs.contains(&random));
    }
}
