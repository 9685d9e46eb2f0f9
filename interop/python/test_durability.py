"""Restarts on the same data directory: acknowledged messages survive a SIGKILL of the
whole process (the page cache outlives the process, so this holds with async flush too),
and committed consumer offsets survive a clean stop."""

import signal
import unittest

from soyuz_harness import (
    SendStatus, SoyuzTestCase, Collector, message, query_consumer_offset, unique, wait_for_route,
    wait_until, write_queue_count,
)


class DurabilityTest(SoyuzTestCase):

    def test_acknowledged_messages_survive_sigkill(self):
        topic = unique("Crash")
        producer = self.producer()
        run = unique("r")
        before = ["%s-a-%03d" % (run, i) for i in range(300)]
        for key in before:
            self.assertEqual(producer.send_sync(message(topic, key, "v-" + key)).status, SendStatus.OK)
        producer.shutdown()
        wait_for_route(self.soyuz.namesrv_addr, topic)

        self.soyuz.restart(signal.SIGKILL)
        # The NameServer restarted empty; the broker registers its topics again.
        wait_for_route(self.soyuz.namesrv_addr, topic)

        producer = self.producer()
        after = ["%s-b-%03d" % (run, i) for i in range(100)]
        for key in after:
            self.assertEqual(producer.send_sync(message(topic, key, "v-" + key)).status, SendStatus.OK)

        got = Collector("after-crash")
        self.push_consumer(unique("DG"), topic, got)
        got.wait_for_keys(before + after, timeout=90)
        bodies = dict((r.keys, r.body) for r in got.snapshot())
        for key in before + after:
            self.assertEqual(bodies[key], ("v-" + key).encode(), key)
        offsets = dict((r.keys, (r.queue_id, r.queue_offset)) for r in got.snapshot())
        self.assertEqual(len(set(offsets.values())), len(before) + len(after),
                         "two messages share a queue offset after the restart")

    def test_committed_offsets_survive_clean_restart(self):
        topic = unique("Clean")
        group = unique("CG")
        producer = self.producer()
        keys = ["%s-%03d" % (unique("r"), i) for i in range(120)]
        for key in keys:
            self.assertEqual(producer.send_sync(message(topic, key, "v")).status, SendStatus.OK)
        producer.shutdown()
        wait_for_route(self.soyuz.namesrv_addr, topic)
        queues = write_queue_count(self.soyuz.namesrv_addr, topic)
        got = Collector("clean")
        consumer = self.push_consumer(group, topic, got)
        got.wait_for_keys(keys, timeout=60)

        def committed():
            return [query_consumer_offset(self.soyuz.broker_addr, group, topic, q) or 0
                    for q in range(queues)]

        wait_until(lambda: sum(committed()) == len(keys), 30, 0.25, what="committed offsets")
        consumer.shutdown()
        expected = committed()

        self.soyuz.restart(signal.SIGTERM)
        self.assertEqual(committed(), expected, "committed offsets changed across a clean restart")


if __name__ == "__main__":
    unittest.main()
