//! Unique message ids (`UNIQ_KEY`), as Java's `MessageClientIDSetter` makes them:
//! uppercase hex of
//!
//! ```text
//! ip(4) | pid(u16) | instance hash(i32) | ms since the start of this month (i32) | counter(u16)
//! ```
//!
//! 32 characters. Admin tools read the time part to narrow a by-id query, so it must be
//! real time; the rest only has to make ids unique per process.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Makes unique ids for one process.
pub struct UniqIdGenerator {
    /// The fixed first 10 bytes: ip, pid, instance hash.
    prefix: String,
    counter: AtomicU32,
}

impl UniqIdGenerator {
    /// A generator for a process at `ip`; the instance hash tells apart generators in
    /// one process.
    pub fn new(ip: Ipv4Addr) -> Self {
        static INSTANCES: AtomicU32 = AtomicU32::new(0);
        let mut fixed = Vec::with_capacity(10);
        fixed.extend_from_slice(&ip.octets());
        // Java writes the pid's low 16 bits.
        fixed.extend_from_slice(&(std::process::id() as u16).to_be_bytes());
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        fixed.extend_from_slice(&(nanos ^ instance.rotate_left(16)).to_be_bytes());
        Self {
            prefix: hex(&fixed),
            counter: AtomicU32::new(0),
        }
    }

    /// The next id.
    pub fn next_id(&self) -> String {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed) as u16;
        let since_month = millis_since_month_start();
        let mut tail = Vec::with_capacity(6);
        tail.extend_from_slice(&since_month.to_be_bytes());
        tail.extend_from_slice(&counter.to_be_bytes());
        let mut id = String::with_capacity(32);
        id.push_str(&self.prefix);
        id.push_str(&hex(&tail));
        id
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

/// Milliseconds since 00:00 UTC on the first day of the current month (Java uses the
/// local zone; UTC keeps ids independent of the machine's settings).
fn millis_since_month_start() -> i32 {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let days = now_ms.div_euclid(86_400_000);
    let (_, _, day_of_month) = civil_from_days(days);
    let month_start_ms = (days - i64::from(day_of_month - 1)) * 86_400_000;
    (now_ms - month_start_ms) as i32
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_chars_unique_and_carry_the_ip() {
        let generator = UniqIdGenerator::new(Ipv4Addr::new(127, 0, 0, 1));
        let a = generator.next_id();
        let b = generator.next_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.starts_with("7F000001"));
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2026-11-22 is day 20,779.
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
