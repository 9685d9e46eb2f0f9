//! The JSON header (serialize type 0), as fastjson writes and reads it.
//!
//! Java emits the keys alphabetically plus a redundant `"serializeTypeCurrentRPC":"JSON"`,
//! the language as its enum name, and leaves out a null remark. Receivers ignore keys
//! they do not know. We accept a numeric language and non-string ext-field values from
//! other clients too, since fastjson would.

use bytes::{BufMut, BytesMut};

use crate::command::RemotingCommand;

mod reader;
mod scan;
#[doc(hidden)]
pub mod serde_reference;

pub use reader::decode;

/// Appends the JSON header of `command` to `dst`, keys in fastjson's order.
pub fn encode(command: &RemotingCommand, dst: &mut BytesMut) {
    dst.put_slice(b"{\"code\":");
    put_int(dst, i64::from(command.code));
    if !command.ext_fields.is_empty() {
        dst.put_slice(b",\"extFields\":{");
        for (i, (key, value)) in command.ext_fields.iter().enumerate() {
            if i > 0 {
                dst.put_u8(b',');
            }
            put_json_string(dst, key);
            dst.put_u8(b':');
            put_json_string(dst, value);
        }
        dst.put_u8(b'}');
    }
    dst.put_slice(b",\"flag\":");
    put_int(dst, i64::from(command.flag));
    dst.put_slice(b",\"language\":\"");
    dst.put_slice(command.language.name().unwrap_or("OTHER").as_bytes());
    dst.put_slice(b"\",\"opaque\":");
    put_int(dst, i64::from(command.opaque));
    if let Some(remark) = &command.remark {
        dst.put_slice(b",\"remark\":");
        put_json_string(dst, remark);
    }
    dst.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    put_int(dst, i64::from(command.version));
    dst.put_u8(b'}');
}

fn put_int(dst: &mut BytesMut, value: i64) {
    let mut buf = itoa_buf(value);
    dst.put_slice(buf.as_bytes_mut());
}

/// Formats an integer without allocating.
fn itoa_buf(value: i64) -> IntText {
    let mut out = IntText {
        bytes: [0; 20],
        start: 20,
    };
    let negative = value < 0;
    let mut magnitude = value.unsigned_abs();
    loop {
        out.start -= 1;
        out.bytes[out.start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if negative {
        out.start -= 1;
        out.bytes[out.start] = b'-';
    }
    out
}

struct IntText {
    bytes: [u8; 20],
    start: usize,
}

impl IntText {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// Writes `s` as a JSON string literal with the escapes JSON requires.
fn put_json_string(dst: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    dst.put_u8(b'"');
    let mut rest = s.as_bytes();
    loop {
        let clean = scan::first_special(rest);
        dst.put_slice(&rest[..clean]);
        let Some(&b) = rest.get(clean) else {
            break;
        };
        match b {
            b'"' => dst.put_slice(b"\\\""),
            b'\\' => dst.put_slice(b"\\\\"),
            b'\n' => dst.put_slice(b"\\n"),
            b'\r' => dst.put_slice(b"\\r"),
            b'\t' => dst.put_slice(b"\\t"),
            _ => {
                dst.put_slice(b"\\u00");
                dst.put_u8(HEX[usize::from(b >> 4)]);
                dst.put_u8(HEX[usize::from(b & 0xF)]);
            }
        }
        rest = &rest[clean + 1..];
    }
    dst.put_u8(b'"');
}

#[cfg(test)]
mod tests;
