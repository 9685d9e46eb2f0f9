"""Consumer offsets: a clustering consumer commits what it consumed (librocketmq sends
UPDATE_CONSUMER_OFFSET oneway, every 5 s and at shutdown), and a restarted consumer of
the same group resumes from there. RocketMQ is at-least-once: the test asserts that
everything arrives and that redeliveries are few, not that there are none."""

import unittest

from soyuz_harness import (
    SendStatus, SoyuzTestCase, Collector, message, query_consumer_offset, unique, wait_for_route,
    wait_until, write_queue_count,
)


class OffsetResumeTest(SoyuzTestCase):

    def committed(self, group, topic):
        total = 0
        for q in range(write_queue_count(self.soyuz.namesrv_addr, topic)):
            off = query_consumer_offset(self.soyuz.broker_addr, group, topic, q)
            total += off or 0
        return total

    def send(self, producer, topic, keys):
        for key in keys:
            self.assertEqual(producer.send_sync(message(topic, key, "v-" + key, tags="Off")).status,
                             SendStatus.OK)

    def test_restarted_consumer_resumes_from_committed_offsets(self):
        topic = unique("Resume")
        group = unique("RG")
        producer = self.producer()
        run = unique("r")
        first = ["%s-a-%03d" % (run, i) for i in range(200)]
        second = ["%s-b-%03d" % (run, i) for i in range(200)]

        self.send(producer, topic, first)  # creates the topic
        wait_for_route(self.soyuz.namesrv_addr, topic)
        before = Collector("before")
        consumer = self.push_consumer(group, topic, before)
        before.wait_for_keys(first, timeout=60)
        # The periodic (5 s) commit reaches the broker: every consumed offset is there.
        wait_until(lambda: self.committed(group, topic) == len(first), 30, 0.25,
                   what="the group's committed offsets to reach %d" % len(first))
        consumer.shutdown()

        self.send(producer, topic, second)
        after = Collector("after")
        self.push_consumer(group, topic, after)
        after.wait_for_keys(second, timeout=60)

        old = set(first)
        redelivered = [r.keys for r in after.snapshot() if r.keys in old]
        self.assertLessEqual(len(redelivered), len(first) // 20,
                             "%d of the first %d messages came again after the restart: %s"
                             % (len(redelivered), len(first), sorted(set(redelivered))[:10]))
        wait_until(lambda: self.committed(group, topic) == len(first) + len(second), 30, 0.25,
                   what="the committed offsets to cover both batches")

    def test_new_group_starts_from_the_beginning(self):
        # A group the broker has never seen, on queues whose first message is still
        # stored: QUERY_CONSUMER_OFFSET answers 0 (Java's rule), so the consumer, which
        # defaults to CONSUME_FROM_LAST_OFFSET, still reads the earlier messages.
        topic = unique("Fresh")
        producer = self.producer()
        keys = ["%s-%03d" % (unique("r"), i) for i in range(40)]
        self.send(producer, topic, keys)
        wait_for_route(self.soyuz.namesrv_addr, topic)
        got = Collector("fresh")
        self.push_consumer(unique("FG"), topic, got)
        got.wait_for_keys(keys, timeout=60)


if __name__ == "__main__":
    unittest.main()
