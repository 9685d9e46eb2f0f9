"""Broadcasting: every consumer of the group gets every message.

A broadcasting consumer keeps its offsets in a local file; with none yet, librocketmq
starts at the queue's max offset (GET_MAX_OFFSET) when it first rebalances. So the test
creates the topic with a first probe message, starts the consumers, sends more probes
until each consumer has seen one from every queue (it is then reading them all), and
only then sends the messages it counts."""

import time
import unittest

from soyuz_harness import (
    MessageModel, SendStatus, SoyuzTestCase, Collector, message, unique, wait_for_route,
    wait_until, write_queue_count,
)


class BroadcastTest(SoyuzTestCase):

    def test_every_broadcasting_consumer_receives_all(self):
        topic = unique("Bcast")
        producer = self.producer()
        run = unique("r")
        producer.send_sync(message(topic, "%s-probe-first" % run, "probe", tags="probe"))
        wait_for_route(self.soyuz.namesrv_addr, topic)
        queues = write_queue_count(self.soyuz.namesrv_addr, topic)

        group = unique("BG")
        consumers = [Collector("bcast-%d" % i) for i in range(2)]
        for i, col in enumerate(consumers):
            # Same group, distinct client ids (instance names).
            self.push_consumer(group, topic, col, model=MessageModel.BROADCASTING,
                               instance=unique("b%d" % i))

        def all_probed():
            # A probe from each queue: every queue's start offset is set.
            return all(len(set(r.queue_id for r in c.snapshot() if r.tags == "probe")) >= queues
                       for c in consumers)

        deadline = time.monotonic() + 60
        n = 0
        while not all_probed():
            self.assertLess(time.monotonic(), deadline, "no probe reached every consumer in 60 s")
            producer.send_sync(message(topic, "%s-probe-%d" % (run, n), "probe", tags="probe"))
            n += 1
            try:
                wait_until(all_probed, 1.0, what="probes")
            except AssertionError:
                pass  # not reading yet: send another probe

        keys = ["%s-%03d" % (run, i) for i in range(200)]
        for i, key in enumerate(keys):
            self.assertEqual(producer.send_sync(message(topic, key, "m%d" % i, tags="real")).status,
                             SendStatus.OK)
        for c in consumers:
            c.wait_for_keys(keys, timeout=60)
            real = [r for r in c.snapshot() if r.tags == "real"]
            self.assertEqual(set(r.keys for r in real), set(keys), c.name)
            self.assertLessEqual(len(real) - len(keys), 10, "%s: too many redeliveries" % c.name)


if __name__ == "__main__":
    unittest.main()
