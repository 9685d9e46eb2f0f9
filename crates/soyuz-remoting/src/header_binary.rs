//! The ROCKETMQ binary header (serialize type 1, `RocketMQSerializable`).
//!
//! ```text
//! code i16 | language u8 | version i16 | opaque i32 | flag i32
//! | remarkLen i32 | remark (UTF-8)
//! | extLen i32 | extLen bytes of { keyLen i16 | key | valLen i32 | val }
//! ```
//! A zero-length string decodes as null, as Java's `readStr` does: a zero-length remark is
//! no remark, and an ext-field entry with a zero-length key or value is left out (Java
//! would hold a null there, which its header decoding treats as absent). Every entry is
//! written, as Java writes every non-null one.

use bytes::{BufMut, BytesMut};

use crate::codes::LanguageCode;
use crate::command::{ExtFields, RemotingCommand};
use crate::frame::DecodeError;

/// A cursor over the header that reports where it failed.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        match self.bytes.get(self.pos..self.pos.saturating_add(n)) {
            Some(slice) if self.pos.checked_add(n).is_some() => {
                self.pos += n;
                Ok(slice)
            }
            _ => Err(DecodeError::MalformedHeader {
                encoding: "ROCKETMQ",
                offset: self.pos,
                reason: format!(
                    "{what} needs {n} bytes, {} remain",
                    self.bytes.len() - self.pos
                ),
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn i16(&mut self, what: &str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    fn len(&mut self, raw: i64, what: &str) -> Result<usize, DecodeError> {
        usize::try_from(raw).map_err(|_| DecodeError::MalformedHeader {
            encoding: "ROCKETMQ",
            offset: self.pos,
            reason: format!("{what} length {raw} is negative"),
        })
    }

    fn string(&mut self, len: usize, what: &str) -> Result<String, DecodeError> {
        let at = self.pos;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::MalformedHeader {
            encoding: "ROCKETMQ",
            offset: at,
            reason: format!("{what} is not UTF-8"),
        })
    }
}

/// Decodes a binary header; the body and serialize type are left for the caller to set.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, DecodeError> {
    let mut r = Reader {
        bytes: header,
        pos: 0,
    };
    let code = i32::from(r.i16("code")?);
    let language = LanguageCode(r.array::<1>("language")?[0]);
    let version = i32::from(r.i16("version")?);
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.i32("remark length")?;
    let remark_len = r.len(i64::from(remark_len), "remark")?;
    let remark = if remark_len == 0 {
        None
    } else {
        Some(r.string(remark_len, "remark")?)
    };
    let ext_len = r.i32("extFields length")?;
    let ext_len = r.len(i64::from(ext_len), "extFields")?;
    let ext_start = r.pos;
    r.take(ext_len, "extFields")?;
    // Entries are read from a reader that ends with the block, so none can overrun it,
    // while offsets in errors stay relative to the whole header.
    let ext_fields = decode_ext_fields(Reader {
        bytes: &header[..ext_start + ext_len],
        pos: ext_start,
    })?;
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark: remark.map(String::into_boxed_str),
        ext_fields,
        ..RemotingCommand::default()
    })
}

fn decode_ext_fields(mut r: Reader<'_>) -> Result<ExtFields, DecodeError> {
    let mut fields = ExtFields::new();
    while r.pos < r.bytes.len() {
        let key_len = r.i16("key length")?;
        let key_len = r.len(i64::from(key_len), "key")?;
        let key = r.string(key_len, "key")?;
        let value_len = r.i32("value length")?;
        let value_len = r.len(i64::from(value_len), "value")?;
        let value = r.string(value_len, "value")?;
        if !key.is_empty() && !value.is_empty() {
            fields.insert(&key, &value);
        }
    }
    Ok(fields)
}

/// Appends the binary header of `command` to `dst`.
///
/// The binary form has 16-bit code and version fields; values outside that range are
/// truncated exactly as Java's `(short)` cast would, which is why POP codes (200050...)
/// only work over JSON headers, with Java peers as with us.
pub fn encode(command: &RemotingCommand, dst: &mut BytesMut) {
    dst.put_i16(command.code as i16);
    dst.put_u8(command.language.0);
    dst.put_i16(command.version as i16);
    dst.put_i32(command.opaque);
    dst.put_i32(command.flag);
    match &command.remark {
        Some(remark) if !remark.is_empty() => {
            dst.put_i32(remark.len() as i32);
            dst.put_slice(remark.as_bytes());
        }
        _ => dst.put_i32(0),
    }
    let ext_len_at = dst.len();
    dst.put_i32(0);
    for (key, value) in &command.ext_fields {
        dst.put_i16(key.len() as i16);
        dst.put_slice(key.as_bytes());
        dst.put_i32(value.len() as i32);
        dst.put_slice(value.as_bytes());
    }
    let ext_len = (dst.len() - ext_len_at - 4) as i32;
    dst[ext_len_at..ext_len_at + 4].copy_from_slice(&ext_len.to_be_bytes());
}
