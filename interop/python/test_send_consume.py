"""Send with the C++ client (sync, oneway, compressed), consume with a clustering push
consumer, and check that every field survives the broker.

Topics are not created beforehand in any test here: the first send creates them from
TBW102 (autoCreateTopicEnable), as with a stock broker, and the test waits for the
NameServer to know the topic before it starts a consumer."""

import unittest

from soyuz_harness import SendStatus, SoyuzTestCase, Collector, message, unique, wait_for_route

PROP = "soyuz_seq"


class SendConsumeTest(SoyuzTestCase):

    def test_sync_send_1000_then_clustering_consumer_gets_all_intact(self):
        topic = unique("Sync")
        producer = self.producer()
        run = unique("r")
        sent = {}
        for i in range(1000):
            key = "%s-%04d" % (run, i)
            tags = "Tag%d" % (i % 3)
            body = "body %d \u00e9\u2713 %s" % (i, "x" * (i % 50))
            result = producer.send_sync(message(topic, key, body, tags=tags, props={PROP: str(i)}))
            self.assertEqual(result.status, SendStatus.OK, key)
            self.assertTrue(result.msg_id, "empty msg id for %s" % key)
            self.assertGreaterEqual(result.offset, 0)
            sent[key] = (tags, body.encode("utf-8"), str(i), result.msg_id)
        self.assertEqual(len(set(v[3] for v in sent.values())), 1000, "message ids repeat")

        wait_for_route(self.soyuz.namesrv_addr, topic)
        got = Collector("clustering", prop_names=[PROP])
        self.push_consumer(unique("CG"), topic, got)
        got.wait_for_keys(sent, timeout=60)

        first = {}
        for rec in got.snapshot():
            first.setdefault(rec.keys, rec)
        self.assertEqual(set(first), set(sent), "keys that were never sent arrived")
        for key, (tags, body, seq, msg_id) in sent.items():
            rec = first[key]
            self.assertEqual(rec.topic, topic, key)
            self.assertEqual(rec.tags, tags, key)
            self.assertEqual(rec.body, body, key)
            self.assertEqual(rec.props[PROP], seq, key)
            # The client-made unique id (UNIQ_KEY property) is both the send result's id
            # and the received message's id.
            self.assertEqual(rec.msg_id, msg_id, key)
            self.assertGreaterEqual(rec.queue_offset, 0)
        extra = len(got.snapshot()) - len(sent)
        self.assertLessEqual(extra, 50, "%d redeliveries for 1000 messages" % extra)

    def test_oneway_send_then_consume(self):
        topic = unique("Oneway")
        producer = self.producer()
        run = unique("r")
        keys = ["%s-%03d" % (run, i) for i in range(200)]
        for i, key in enumerate(keys):
            producer.send_oneway(message(topic, key, "oneway %d" % i, tags="One"))
        wait_for_route(self.soyuz.namesrv_addr, topic)
        got = Collector("oneway")
        self.push_consumer(unique("CG"), topic, got)
        got.wait_for_keys(keys, timeout=60)
        bodies = dict((r.keys, r.body) for r in got.snapshot())
        for i, key in enumerate(keys):
            self.assertEqual(bodies[key], ("oneway %d" % i).encode(), key)

    def test_large_body_is_compressed_by_client_and_arrives_intact(self):
        # librocketmq deflates bodies of 4 KiB or more and sets sysFlag bit 0; the broker
        # must store and return that flag so the consumer inflates the body again.
        topic = unique("Big")
        producer = self.producer()
        run = unique("r")
        bodies = {}
        for i, size in enumerate((4095, 4096, 20000, 100000)):
            key = "%s-%d" % (run, i)
            body = ("%d:" % i + "abcdefghij" * (size // 10 + 1))[:size]
            self.assertEqual(producer.send_sync(message(topic, key, body)).status, SendStatus.OK)
            bodies[key] = body.encode()
        wait_for_route(self.soyuz.namesrv_addr, topic)
        got = Collector("big")
        self.push_consumer(unique("CG"), topic, got)
        got.wait_for_keys(bodies, timeout=60)
        for rec in got.snapshot():
            self.assertEqual(len(rec.body), len(bodies[rec.keys]), rec.keys)
            self.assertEqual(rec.body, bodies[rec.keys], rec.keys)


if __name__ == "__main__":
    unittest.main()
