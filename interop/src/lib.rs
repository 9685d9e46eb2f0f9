//! Interoperability tests for Soyuz; this library is empty.
//!
//! The tests in `tests/` start the real `soyuz` binary (`$SOYUZ_BIN`, else
//! `../target/debug/soyuz`: run `cargo build -p soyuz` first, or `make interop`) and talk
//! to it with stock RocketMQ clients from crates.io:
//!
//! * `admin_json.rs`: `rocketmq-client-rust` 1.0.0's `DefaultMQAdminExt` with its default
//!   JSON headers queries routes, cluster info, the topic list and KV config.
//! * `admin_rocketmq_header.rs`: the route and cluster queries again with
//!   `ROCKETMQ_SERIALIZE_TYPE=ROCKETMQ` (the binary header). It is its own test binary
//!   because the client reads that variable once per process.
//!
//! The producer and consumer tests run `soyuz standalone` (NameServer and broker in one
//! process, `tests/common/standalone.rs`), each test on its own data directory and ports:
//!
//! * `produce_consume.rs`: 10,000 messages sent sync, async (callback), oneway and batch
//!   reach a clustering push consumer with body, key, tag and user properties intact, from
//!   the queue and offset each send result named.
//! * `consumer_groups.rs`: two clustering push consumers split the queues, and the
//!   survivor takes over when one leaves.
//! * `broadcast.rs`: two broadcasting push consumers both get everything.
//! * `lite_pull.rs`: a lite pull consumer gets everything, and a new one in the same
//!   group resumes from the committed offsets.
//! * `tag_filter.rs`: `TagA || TagB` (which the client hashes untrimmed) selects exactly
//!   the TagA and TagB messages, for a push and a lite pull consumer.
//! * `offsets.rs`: a group resumes after a consumer restart and after a broker restart.
//! * `durability.rs`: with SYNC_FLUSH, every send acknowledged with SEND_OK survives a
//!   `kill -9` of the broker.
//! * `bad_input.rs`: invalid topics, an out-of-range queue, an oversized body, refused
//!   pulls and junk bytes end in prompt errors, and the broker keeps serving.
//!
//! `RLOG=<EnvFilter>` (e.g. `RLOG=rocketmq_client_rust=debug`) prints the client's logs.
