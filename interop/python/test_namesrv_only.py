"""Against a NameServer with no broker: the client must fail cleanly, not crash or hang.
This one passes before the broker exists (it runs `soyuz namesrv`)."""

import time
import unittest

from soyuz_harness import SoyuzTestCase, message, remoting_call, unique

from rocketmq.exceptions import ProducerSendSyncFailed


class NoBrokerTest(SoyuzTestCase):
    WITH_BROKER = False

    def test_send_without_route_fails_with_no_route(self):
        producer = self.producer(timeout_ms=3000)
        topic = unique("NoRoute")
        started = time.monotonic()
        with self.assertRaises(ProducerSendSyncFailed) as caught:
            producer.send_sync(message(topic, "k1", "body", tags="TagA"))
        elapsed = time.monotonic() - started
        text = str(caught.exception)
        # librocketmq: "No route info of this topic: <topic>" (DefaultMQProducer.cpp).
        self.assertIn("No route info", text)
        self.assertIn(topic, text)
        self.assertLess(elapsed, 30, "the failure took too long: %.1f s" % elapsed)

    def test_namesrv_answers_topic_not_exist(self):
        # GET_ROUTEINFO_BY_TOPIC (105) for an unknown topic: TOPIC_NOT_EXIST (17), which
        # librocketmq maps to "no route" without reading the body.
        code, _, remark, _ = remoting_call(self.soyuz.namesrv_addr, 105, {"topic": unique("None")})
        self.assertEqual(code, 17, remark)


if __name__ == "__main__":
    unittest.main()
