//! Splitting a byte stream into [`RemotingCommand`]s, and writing them back.
//!
//! [`decode_frame`] looks at the front of a buffer: with less than a whole frame it
//! returns `Ok(None)` and leaves the buffer untouched; with a whole frame it removes
//! exactly that frame and returns the command; with a frame that can never be valid it
//! returns an error, after which the connection must be closed (as the Java server does).

use bytes::{Buf, BufMut, BytesMut};
use thiserror::Error;

use crate::command::{RemotingCommand, SerializeType};
use crate::{header_binary, header_json};

/// Largest frame accepted, counting the 4-byte length prefix
/// (`com.rocketmq.remoting.frameMaxLength`, 16 MiB).
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Why a frame cannot be decoded. Every variant means the stream is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The length prefix is below the 4 bytes the header-length word needs, or negative.
    #[error("frame length {0} is invalid")]
    InvalidLength(i64),
    /// The length prefix announces a frame over the limit.
    #[error("frame of {length} bytes exceeds the {max} byte limit")]
    FrameTooLarge {
        /// The announced frame size, prefix included.
        length: usize,
        /// The limit in force.
        max: usize,
    },
    /// The header length does not fit in the frame.
    #[error("header length {header_len} does not fit in a frame of {frame_len} bytes")]
    HeaderOverrun {
        /// Announced header length.
        header_len: usize,
        /// Bytes after the length prefix.
        frame_len: usize,
    },
    /// The serialize-type byte is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown header serialize type {0}")]
    UnknownSerializeType(u8),
    /// The header bytes are malformed.
    #[error("malformed {encoding} header at byte {offset}: {reason}")]
    MalformedHeader {
        /// "JSON" or "ROCKETMQ".
        encoding: &'static str,
        /// Byte offset inside the header where decoding failed.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
}

/// Decodes one frame from the front of `buf`, if a whole one is there.
///
/// `max_frame_len` bounds the whole frame (length prefix included); use [`MAX_FRAME_LEN`]
/// unless configured otherwise.
pub fn decode_frame(
    buf: &mut BytesMut,
    max_frame_len: usize,
) -> Result<Option<RemotingCommand>, DecodeError> {
    let Some(total_len) = announced_frame_len(buf, max_frame_len)? else {
        return Ok(None);
    };
    if buf.len() < total_len {
        buf.reserve(total_len - buf.len());
        return Ok(None);
    }
    let mut frame = buf.split_to(total_len);
    frame.advance(4);
    let header_word = frame.get_u32();
    let serialize_byte = (header_word >> 24) as u8;
    let header_len = (header_word & 0x00FF_FFFF) as usize;
    if header_len > frame.len() {
        return Err(DecodeError::HeaderOverrun {
            header_len,
            frame_len: frame.len() + 4,
        });
    }
    let header = frame.split_to(header_len);
    let serialize_type = SerializeType::from_code(serialize_byte)
        .ok_or(DecodeError::UnknownSerializeType(serialize_byte))?;
    let mut command = match serialize_type {
        SerializeType::Json => header_json::decode(&header)?,
        SerializeType::RocketMq => header_binary::decode(&header)?,
    };
    command.serialize_type = serialize_type;
    command.body = frame.freeze();
    Ok(Some(command))
}

/// The size of the frame at the front of `buf` (prefix included), once its prefix has
/// arrived; checks it against the limit before any of the frame is buffered.
fn announced_frame_len(buf: &BytesMut, max_frame_len: usize) -> Result<Option<usize>, DecodeError> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let length = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    if length < 4 {
        return Err(DecodeError::InvalidLength(i64::from(length)));
    }
    let total = length as usize + 4;
    if total > max_frame_len {
        return Err(DecodeError::FrameTooLarge {
            length: total,
            max: max_frame_len,
        });
    }
    Ok(Some(total))
}

/// Appends `command` to `dst` as one complete frame, header encoded per its
/// `serialize_type`.
pub fn encode_frame(command: &RemotingCommand, dst: &mut BytesMut) {
    let start = dst.len();
    dst.put_u32(0); // length, patched below
    dst.put_u32(0); // serialize type and header length, patched below
    let header_start = dst.len();
    match command.serialize_type {
        SerializeType::Json => header_json::encode(command, dst),
        SerializeType::RocketMq => header_binary::encode(command, dst),
    }
    let header_len = dst.len() - header_start;
    dst.extend_from_slice(&command.body);
    let length = (dst.len() - start - 4) as u32;
    let header_word =
        (u32::from(command.serialize_type.code()) << 24) | (header_len as u32 & 0x00FF_FFFF);
    dst[start..start + 4].copy_from_slice(&length.to_be_bytes());
    dst[start + 4..start + 8].copy_from_slice(&header_word.to_be_bytes());
}

/// Encodes `command` into a fresh buffer.
pub fn encode_to_bytes(command: &RemotingCommand) -> BytesMut {
    let mut dst = BytesMut::with_capacity(256 + command.body.len());
    encode_frame(command, &mut dst);
    dst
}

#[cfg(test)]
mod tests;
