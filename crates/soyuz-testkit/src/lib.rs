//! Helpers shared by the test suites of several crates. Tests wait for conditions by
//! polling with a deadline, never by sleeping a fixed time.

use std::future::Future;
use std::time::Duration;

use soyuz_model::record::MessageRecord;

/// A fuzz seed: its file and its bytes.
pub struct Seed {
    /// The `.hex` file.
    pub path: std::path::PathBuf,
    /// The decoded bytes.
    pub data: Vec<u8>,
}

/// The seeds of cargo-fuzz target `target` (`fuzz/seeds/<target>/*.hex`, hex digits with
/// any whitespace), sorted by file name. Fails the test on an unreadable or malformed
/// seed, so a seed that stopped being one is noticed.
pub fn fuzz_seeds(target: &str) -> Vec<Seed> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "hex"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let data = decode_hex(&path, &text);
            Seed { path, data }
        })
        .collect()
}

fn decode_hex(path: &std::path::Path, text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(
        digits.len().is_multiple_of(2),
        "{}: odd number of hex digits",
        path.display()
    );
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("hex digits are ASCII");
            u8::from_str_radix(pair, 16)
                .unwrap_or_else(|_| panic!("{}: {pair:?} is not hex", path.display()))
        })
        .collect()
}

/// A message for `queue_id` of `topic` with `body` and encoded `properties`, born and
/// stored at 127.0.0.1:10911; offsets and times are left for the store to assign.
pub fn record(topic: &str, queue_id: i32, body: &str, properties: &str) -> MessageRecord {
    let host = std::net::SocketAddr::from(([127, 0, 0, 1], 10911));
    MessageRecord {
        topic: topic.into(),
        queue_id,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: host,
        store_timestamp: 0,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: bytes::Bytes::from(body.to_owned()),
        properties: properties.to_owned(),
    }
}

/// Polls `probe` every 20 ms until it yields a value; fails the test after `deadline`,
/// naming `what` it waited for.
pub async fn eventually_within<T, F, Fut>(deadline: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_the_first_value_the_probe_yields() {
        let calls = AtomicU32::new(0);
        let value = eventually_within(Duration::from_secs(5), "the third call", || async {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            (n == 3).then_some(n)
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out")]
    async fn fails_the_test_at_the_deadline() {
        eventually_within(Duration::from_millis(50), "never", || async { None::<()> }).await;
    }
}
