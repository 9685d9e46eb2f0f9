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
