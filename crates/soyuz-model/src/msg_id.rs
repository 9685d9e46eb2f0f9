//! The broker-assigned "offset message id": uppercase hex of the store host's address,
//! its port and the record's CommitLog offset (`MessageDecoder.createMessageId`).
//!
//! ```text
//! IPv4: ip(4) | port(i32) | commitLogOffset(i64)  -> 32 hex characters
//! IPv6: ip(16) | port(i32) | commitLogOffset(i64) -> 56 hex characters
//! ```
//! Clients decode it to find the broker and offset for END_TRANSACTION and
//! VIEW_MESSAGE_BY_ID, so it must agree with the real storage offset.

use std::net::{IpAddr, SocketAddr};
use thiserror::Error;

/// Why a string is not an offset message id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MsgIdError {
    /// Neither 32 (IPv4) nor 56 (IPv6) characters long.
    #[error("message id has {0} characters; an offset message id has 32 or 56")]
    BadLength(usize),
    /// A character is not a hex digit.
    #[error("message id is not hexadecimal")]
    NotHex,
}

/// A decoded offset message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetMsgId {
    /// The broker that stored the message.
    pub store_host: SocketAddr,
    /// The record's physical offset in the CommitLog.
    pub commit_log_offset: i64,
}

/// Builds the offset message id for a record stored by `store_host` at `commit_log_offset`.
pub fn encode_offset_msg_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut bytes = Vec::with_capacity(28);
    match store_host.ip() {
        IpAddr::V4(ip) => bytes.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => bytes.extend_from_slice(&ip.octets()),
    }
    bytes.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    bytes.extend_from_slice(&commit_log_offset.to_be_bytes());
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Decodes an offset message id (either case of hex digits).
pub fn decode_offset_msg_id(id: &str) -> Result<OffsetMsgId, MsgIdError> {
    let ip_len = match id.len() {
        32 => 4,
        56 => 16,
        n => return Err(MsgIdError::BadLength(n)),
    };
    let bytes = decode_hex(id)?;
    let (ip_bytes, rest) = bytes.split_at(ip_len);
    let ip = if ip_len == 4 {
        let octets: [u8; 4] = ip_bytes.try_into().map_err(|_| MsgIdError::NotHex)?;
        IpAddr::from(octets)
    } else {
        let octets: [u8; 16] = ip_bytes.try_into().map_err(|_| MsgIdError::NotHex)?;
        IpAddr::from(octets)
    };
    let port = i32::from_be_bytes(rest[..4].try_into().map_err(|_| MsgIdError::NotHex)?);
    let offset = i64::from_be_bytes(rest[4..12].try_into().map_err(|_| MsgIdError::NotHex)?);
    Ok(OffsetMsgId {
        // Ports outside u16 cannot come from a real broker; keep the low 16 bits like Java's
        // InetSocketAddress would refuse to, rather than failing a lookup over it.
        store_host: SocketAddr::new(ip, port as u16),
        commit_log_offset: offset,
    })
}

fn decode_hex(s: &str) -> Result<Vec<u8>, MsgIdError> {
    fn nibble(c: u8) -> Result<u8, MsgIdError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(MsgIdError::NotHex),
        }
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| Ok((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_java_for_ipv4() {
        let host: SocketAddr = "10.0.0.1:10911".parse().expect("addr");
        // 0A000001 | 00002A9F | 0000000000001000
        assert_eq!(
            encode_offset_msg_id(host, 4096),
            "0A00000100002A9F0000000000001000"
        );
    }

    #[test]
    fn round_trips_v4_and_v6() {
        for addr in ["127.0.0.1:10911", "[::1]:10911"] {
            let host: SocketAddr = addr.parse().expect("addr");
            let id = encode_offset_msg_id(host, 123_456_789_012);
            let decoded = decode_offset_msg_id(&id.to_lowercase()).expect("decodes");
            assert_eq!(decoded.store_host, host);
            assert_eq!(decoded.commit_log_offset, 123_456_789_012);
        }
    }

    #[test]
    fn refuses_wrong_length_and_non_hex() {
        assert_eq!(decode_offset_msg_id("ABC"), Err(MsgIdError::BadLength(3)));
        assert_eq!(
            decode_offset_msg_id("ZZ00000100002A9F0000000000001000"),
            Err(MsgIdError::NotHex)
        );
    }
}
