"""A failed consume (the callback raises: RECONSUME_LATER) is sent back with
CONSUMER_SEND_MSG_BACK (delayLevel 0: the broker picks 3 + reconsumeTimes, 10 s on a
stock broker) and comes back through %RETRY%<group> with reconsumeTimes 1 and its
original topic. librocketmq acks the original either way, so a broker that refuses the
send-back loses the message: this test sees that.

rocketmq 0.4.4's subscribe() cannot make a delivery fail (an exception raised in the
callback escapes ctypes, which returns 0: CONSUME_SUCCESS), so the callback is
registered through the library's C API with an explicit status."""

import unittest

from soyuz_harness import SendStatus, SoyuzTestCase, Collector, message, unique, wait_for_route


class RetryTest(SoyuzTestCase):

    def test_failed_message_is_redelivered_through_retry_topic(self):
        topic = unique("Retry")
        producer = self.producer()
        run = unique("r")
        keys = ["%s-%d" % (run, i) for i in range(5)]
        for key in keys:
            self.assertEqual(producer.send_sync(message(topic, key, "body-" + key, tags="R")).status,
                             SendStatus.OK)

        wait_for_route(self.soyuz.namesrv_addr, topic)
        got = Collector("retry", fail=lambda rec: rec.reconsume_times == 0)
        self.push_consumer(unique("RG"), topic, got.consume, status_callback=True)

        def redelivered(deliveries):
            again = set(r.keys for r in deliveries if r.reconsume_times >= 1)
            return again >= set(keys)

        got.wait_for(redelivered, timeout=120, what="a second delivery of every message")
        for rec in got.snapshot():
            self.assertEqual(rec.topic, topic, "the client resets RETRY_TOPIC: %r" % rec)
            self.assertEqual(rec.body, ("body-" + rec.keys).encode(), rec.keys)
            self.assertEqual(rec.tags, "R", rec.keys)


if __name__ == "__main__":
    unittest.main()
