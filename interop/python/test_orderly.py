"""Ordered messages: `send_orderly` picks the queue from a sharding key (key % queues)
and an orderly push consumer (which locks its queues with LOCK_BATCH_MQ) must see each
key's messages in the order they were sent."""

import unittest

from soyuz_harness import (
    SendStatus, SoyuzTestCase, Collector, message, unique, wait_for_route, write_queue_count,
)

KEY_PROP = "order_key"
SEQ_PROP = "order_seq"


class OrderlyTest(SoyuzTestCase):

    def test_orderly_send_and_orderly_consume_keep_per_key_order(self):
        # The first send creates the topic: librocketmq then takes min(4, TBW102's queue
        # count) queues from TBW102's route, asks the broker for 4 (defaultTopicQueueNums)
        # and selects among those.
        topic = unique("Order")
        producer = self.producer()
        run = unique("r")
        shards, per_shard = 6, 50
        sent_offsets = dict((k, []) for k in range(shards))
        keys = []
        for seq in range(per_shard):
            for shard in range(shards):
                key = "%s-%d-%03d" % (run, shard, seq)
                msg = message(topic, key, "s%d #%d" % (shard, seq), tags="Ord",
                              props={KEY_PROP: str(shard), SEQ_PROP: str(seq)})
                result = producer.send_orderly(msg, shard)
                self.assertEqual(result.status, SendStatus.OK, key)
                sent_offsets[shard].append(result.offset)
                keys.append(key)
        for shard, offsets in sent_offsets.items():
            self.assertEqual(offsets, sorted(offsets), "shard %d: queue offsets not increasing" % shard)
            self.assertEqual(len(set(offsets)), len(offsets), "shard %d: repeated offsets" % shard)

        wait_for_route(self.soyuz.namesrv_addr, topic)
        queues = write_queue_count(self.soyuz.namesrv_addr, topic)
        got = Collector("orderly", prop_names=[KEY_PROP, SEQ_PROP])
        self.push_consumer(unique("OG"), topic, got, orderly=True)
        got.wait_for_keys(keys, timeout=90)

        seen = dict((k, []) for k in range(shards))
        queue_of = dict((k, set()) for k in range(shards))
        for rec in got.snapshot():
            shard = int(rec.props[KEY_PROP])
            seq = int(rec.props[SEQ_PROP])
            queue_of[shard].add(rec.queue_id)
            if seq not in seen[shard]:
                seen[shard].append(seq)
        for shard in range(shards):
            # python's default selector: arg % number of write queues.
            self.assertEqual(queue_of[shard], {shard % queues}, "shard %d spread over queues" % shard)
            self.assertEqual(seen[shard], list(range(per_shard)),
                             "shard %d consumed out of order" % shard)


if __name__ == "__main__":
    unittest.main()
