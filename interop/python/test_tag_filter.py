"""Tag subscriptions. librocketmq asks the broker to filter (the pull request carries the
expression and the subscription flag) and then filters again by tag name itself, so this
test sees a broker that filters out too much (e.g. one trusting the heartbeat's codeSet,
which this client fills with atoi(tag), not the tag's hash), not one that filters out
too little."""

import unittest

from soyuz_harness import SendStatus, SoyuzTestCase, Collector, message, unique, wait_for_route


class TagFilterTest(SoyuzTestCase):

    def test_subscribers_receive_only_their_tags(self):
        topic = unique("Tags")
        producer = self.producer()
        run = unique("r")
        by_tag = {"TagA": [], "TagB": [], "TagC": []}
        for i in range(180):
            tag = ("TagA", "TagB", "TagC")[i % 3]
            key = "%s-%s-%03d" % (run, tag, i)
            self.assertEqual(producer.send_sync(message(topic, key, "b%d" % i, tags=tag)).status,
                             SendStatus.OK)
            by_tag[tag].append(key)

        wait_for_route(self.soyuz.namesrv_addr, topic)
        only_a = Collector("TagA")
        b_or_c = Collector("TagB||TagC")
        self.push_consumer(unique("CGA"), topic, only_a, expression="TagA")
        self.push_consumer(unique("CGBC"), topic, b_or_c, expression="TagB || TagC")

        only_a.wait_for_keys(by_tag["TagA"], timeout=60)
        b_or_c.wait_for_keys(by_tag["TagB"] + by_tag["TagC"], timeout=60)
        # Each queue is read in order and the TagB/TagC messages were interleaved with
        # the TagA ones, so any wrongly delivered message has arrived by now.
        self.assertEqual(set(r.tags for r in only_a.snapshot()), {"TagA"})
        self.assertEqual(set(r.tags for r in b_or_c.snapshot()), {"TagB", "TagC"})
        self.assertEqual(only_a.keys(), set(by_tag["TagA"]))


if __name__ == "__main__":
    unittest.main()
