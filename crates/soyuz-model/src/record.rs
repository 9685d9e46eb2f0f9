//! The CommitLog record: the exact bytes RocketMQ stores each message in
//! (`MessageExtEncoder.encode`, read back by `MessageDecoder.decode` and
//! `CommitLog.checkMessageAndReturnSize`).
//!
//! The same bytes are the body of PULL_MESSAGE responses (records back to back),
//! VIEW_MESSAGE_BY_ID responses and CHECK_TRANSACTION_STATE requests, so clients parse
//! this layout directly. Every integer is big-endian.
//!
//! ```text
//! offset        field                         size
//!  0            TOTALSIZE                     i32, the whole record incl. this field
//!  4            MAGICCODE                     i32, V1 0xDAA320A7 / V2 0xDAA320AB
//!  8            BODYCRC                       i32, CRC32(body) & 0x7FFFFFFF
//! 12            QUEUEID                       i32
//! 16            FLAG                          i32, the producer's flag
//! 20            QUEUEOFFSET                   i64
//! 28            PHYSICALOFFSET                i64, this record's CommitLog offset
//! 36            SYSFLAG                       i32, see sys_flag
//! 40            BORNTIMESTAMP                 i64, ms
//! 48            BORNHOST                      4 or 16 address bytes + i32 port
//! 56 / 68       STORETIMESTAMP                i64, ms
//! 64 / 76 ...   STOREHOSTADDRESS              4 or 16 address bytes + i32 port
//! ...           RECONSUMETIMES                i32
//! ...           PREPARED TRANSACTION OFFSET   i64
//! ...           BODY                          i32 length + bytes
//! ...           TOPIC                         V1: i8 length, V2: i16 length + UTF-8 bytes
//! ...           PROPERTIES                    i16 length + UTF-8 bytes (properties.rs)
//! ```
//!
//! The host fields are 8 bytes for IPv4 and 20 for IPv6, chosen by the
//! [`BORNHOST_V6`](crate::sys_flag::BORNHOST_V6) and
//! [`STOREHOSTADDRESS_V6`](crate::sys_flag::STOREHOSTADDRESS_V6) bits of the record's own
//! sysflag. A file ends with a blank record: `[i32 size][i32 BLANK_MAGIC_CODE]` whose size
//! covers the rest of the file.
//!
//! Java reads the topic and properties lengths as *signed* (`ByteBuffer.get`,
//! `getShort`): a V1 topic is at most 127 bytes, a V2 topic and the properties at most
//! 32767. This module writes and accepts nothing a Java reader would misread.
//!
//! The module also holds the SEND_BATCH_MESSAGE body codec ([`decode_batch`],
//! [`encode_batch`]), whose items are a cut-down form of the same record.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use thiserror::Error;

use crate::properties::MAX_PROPERTIES_LEN;
use crate::sys_flag;

/// Magic code of a V1 record: 1-byte topic length (`MESSAGE_MAGIC_CODE`, -626843481).
pub const MESSAGE_MAGIC_CODE: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic code of a V2 record: 2-byte topic length (`MESSAGE_MAGIC_CODE_V2`, -626843477).
/// Java's broker writes V2 only when the topic is longer than 127.
pub const MESSAGE_MAGIC_CODE_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic code of the blank record that fills the end of a CommitLog file
/// (`BLANK_MAGIC_CODE`, -875286124).
pub const BLANK_MAGIC_CODE: i32 = 0xCBD4_3194_u32 as i32;

/// The smallest message record: V1, IPv4 hosts, empty body, topic and properties.
pub const MIN_RECORD_SIZE: usize = 91;
/// The smallest blank record (`END_FILE_MIN_BLANK_LENGTH`): size and magic.
pub const END_FILE_MIN_BLANK_LENGTH: usize = 8;
/// The longest topic a V1 record can carry (`Byte.MAX_VALUE`); longer topics use V2.
pub const MAX_TOPIC_LEN_V1: usize = i8::MAX as usize;
/// The longest topic any record can carry. The V2 length field is two bytes, but Java
/// reads it as a signed `short`, so 32767 is the most a Java reader accepts.
pub const MAX_TOPIC_LEN: usize = i16::MAX as usize;
/// Room Java's encoder allows for everything but the body (`64 * 1024`): a record may be
/// up to `maxMessageSize + 64 KiB` long while its body is at most `maxMessageSize`.
pub const RECORD_OVERHEAD_ALLOWANCE: usize = 64 * 1024;
/// Fixed bytes of one SEND_BATCH_MESSAGE item besides its body and properties.
pub const BATCH_ITEM_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// Byte offsets of the fixed-position fields of a record, for reading or patching a
/// record in place. Fields after the born host move with the host sizes; see
/// [`store_timestamp_offset`] and its siblings.
pub mod field_offset {
    /// TOTALSIZE, `i32`.
    pub const TOTAL_SIZE: usize = 0;
    /// MAGICCODE, `i32` (`MESSAGE_MAGIC_CODE_POSITION`).
    pub const MAGIC_CODE: usize = 4;
    /// BODYCRC, `i32`.
    pub const BODY_CRC: usize = 8;
    /// QUEUEID, `i32`.
    pub const QUEUE_ID: usize = 12;
    /// FLAG, `i32` (`MESSAGE_FLAG_POSITION`).
    pub const FLAG: usize = 16;
    /// QUEUEOFFSET, `i64` (`QUEUE_OFFSET_POSITION`).
    pub const QUEUE_OFFSET: usize = 20;
    /// PHYSICALOFFSET, `i64` (`MESSAGE_PHYSIC_OFFSET_POSITION`).
    pub const PHYSICAL_OFFSET: usize = 28;
    /// SYSFLAG, `i32` (`SYSFLAG_POSITION`).
    pub const SYS_FLAG: usize = 36;
    /// BORNTIMESTAMP, `i64`.
    pub const BORN_TIMESTAMP: usize = 40;
    /// BORNHOST: address bytes then an `i32` port.
    pub const BORN_HOST: usize = 48;
}

/// Offset of STORETIMESTAMP (`i64`) in a record with this sysflag: 56 with an IPv4 born
/// host (Java's `MESSAGE_STORE_TIMESTAMP_POSITION`), 68 with an IPv6 one.
pub fn store_timestamp_offset(sys_flag: i32) -> usize {
    field_offset::BORN_HOST + sys_flag::born_host_len(sys_flag)
}

/// Offset of STOREHOSTADDRESS (address bytes then an `i32` port).
pub fn store_host_offset(sys_flag: i32) -> usize {
    store_timestamp_offset(sys_flag) + 8
}

/// Offset of RECONSUMETIMES (`i32`).
pub fn reconsume_times_offset(sys_flag: i32) -> usize {
    store_host_offset(sys_flag) + sys_flag::store_host_len(sys_flag)
}

/// Offset of PREPARED TRANSACTION OFFSET (`i64`).
pub fn prepared_transaction_offset_offset(sys_flag: i32) -> usize {
    reconsume_times_offset(sys_flag) + 4
}

/// Offset of the body length (`i32`); the body follows it.
pub fn body_length_offset(sys_flag: i32) -> usize {
    prepared_transaction_offset_offset(sys_flag) + 8
}

/// The body CRC RocketMQ stores: CRC32 (IEEE, as `java.util.zip.CRC32`) `& 0x7FFFFFFF`
/// (`UtilAll.crc32`).
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// The store timestamp of the encoded message record at the start of `bytes`, read in
/// place (the field's position depends on the born-host size in the sysflag); `None` for
/// a blank record or bytes too short to hold the field.
pub fn peek_store_timestamp(bytes: &[u8]) -> Option<i64> {
    let magic = be_i32(bytes, field_offset::MAGIC_CODE)?;
    if magic == BLANK_MAGIC_CODE || be_i32(bytes, field_offset::TOTAL_SIZE)? <= 0 {
        return None;
    }
    let at = store_timestamp_offset(be_i32(bytes, field_offset::SYS_FLAG)?);
    Some(i64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// The 8 bytes that start a blank end-of-file record covering `size` bytes. Java writes
/// only these 8 bytes; the rest of the blank is whatever the file held.
pub fn blank_header(size: i32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&size.to_be_bytes());
    out[4..].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
    out
}

/// Why bytes are not a valid record or batch, or a record may not be written.
///
/// Offsets are byte offsets within the record (for batch decoding: within the batch
/// body) of the field found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The buffer ends before the record does: more bytes may complete it.
    #[error("record incomplete: {needed} bytes needed, {available} available")]
    Incomplete {
        /// Bytes the record needs (its declared size once that is known).
        needed: usize,
        /// Bytes the buffer holds.
        available: usize,
    },
    /// TOTALSIZE is negative or smaller than the smallest record its magic code, sysflag
    /// and version allow.
    #[error("bad total size {size} at offset {offset}")]
    BadTotalSize {
        /// Offset of the size field.
        offset: usize,
        /// The declared size.
        size: i32,
    },
    /// The magic code is neither V1, V2 nor blank.
    #[error("bad magic code {magic:#010x} at offset {offset}")]
    BadMagic {
        /// Offset of the magic code.
        offset: usize,
        /// The magic code found.
        magic: i32,
    },
    /// The body length is negative or runs past the end of the record.
    #[error("bad body length {len} at offset {offset}")]
    BadBodyLength {
        /// Offset of the length field.
        offset: usize,
        /// The declared length.
        len: i32,
    },
    /// The topic length is negative or runs past the end of the record.
    #[error("bad topic length {len} at offset {offset}")]
    BadTopicLength {
        /// Offset of the length field.
        offset: usize,
        /// The declared length.
        len: i32,
    },
    /// The properties length is negative or runs past the end of the record.
    #[error("bad properties length {len} at offset {offset}")]
    BadPropertiesLength {
        /// Offset of the length field.
        offset: usize,
        /// The declared length.
        len: i32,
    },
    /// The fields end before TOTALSIZE says the record does.
    #[error("record fields end at offset {offset} but the declared size is {declared}")]
    LengthMismatch {
        /// Where the last field ends.
        offset: usize,
        /// TOTALSIZE.
        declared: usize,
    },
    /// A host port is outside 0..=65535 (Java's `InetSocketAddress` refuses it).
    #[error("bad port {port} at offset {offset}")]
    BadPort {
        /// Offset of the port field.
        offset: usize,
        /// The port found.
        port: i32,
    },
    /// The body does not match BODYCRC.
    #[error("body CRC mismatch at offset {offset}: stored {stored}, computed {computed}")]
    BodyCrcMismatch {
        /// Offset of the BODYCRC field.
        offset: usize,
        /// The stored CRC.
        stored: i32,
        /// The CRC of the body.
        computed: i32,
    },
    /// The topic is longer than [`MAX_TOPIC_LEN`] bytes.
    #[error("topic is {len} bytes; at most {max} can be stored")]
    TopicTooLong {
        /// The topic's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The encoded properties are longer than 32767 bytes (PROPERTIES_SIZE_EXCEEDED).
    #[error("properties are {len} bytes; at most {max} can be stored")]
    PropertiesTooLong {
        /// The properties' length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The body is larger than `maxMessageSize` (MESSAGE_ILLEGAL).
    #[error("body is {len} bytes; at most {max} allowed")]
    BodyTooLarge {
        /// The body's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The whole record is larger than `maxMessageSize` + 64 KiB (MESSAGE_ILLEGAL), or
    /// than `i32::MAX`.
    #[error("record is {len} bytes; at most {max} allowed")]
    RecordTooLarge {
        /// The record's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A batch item runs past the end of the batch body.
    #[error("batch item at offset {offset} needs {needed} bytes, {available} left")]
    BatchTruncated {
        /// Offset of the item in the batch body.
        offset: usize,
        /// Bytes the item needs as far as its fields say.
        needed: usize,
        /// Bytes left in the body from the item's start.
        available: usize,
    },
    /// A batch item's TOTALSIZE disagrees with its body and properties lengths.
    #[error(
        "batch item at offset {offset} declares {declared} bytes but its fields take {computed}"
    )]
    BatchSizeMismatch {
        /// Offset of the item in the batch body.
        offset: usize,
        /// The item's TOTALSIZE.
        declared: i32,
        /// What its lengths add up to.
        computed: usize,
    },
}

/// One message as stored in the CommitLog.
///
/// `properties` is the encoded properties string (see [`crate::properties`]). The body CRC
/// and the magic code are not fields: the encoder derives them from `body` and `topic`.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    /// The topic (UTF-8).
    pub topic: String,
    /// The queue within the topic.
    pub queue_id: i32,
    /// The producer's flag.
    pub flag: i32,
    /// Logical offset in the consume queue.
    pub queue_offset: i64,
    /// The record's own offset in the CommitLog.
    pub physical_offset: i64,
    /// The sysflag ([`crate::sys_flag`]). The encoder overrides the two host-family bits.
    pub sys_flag: i32,
    /// When the producer created the message, in ms since the epoch.
    pub born_timestamp: i64,
    /// The producer's address.
    pub born_host: SocketAddr,
    /// When the broker stored the message, in ms since the epoch.
    pub store_timestamp: i64,
    /// The storing broker's address.
    pub store_host: SocketAddr,
    /// How many times the message was redelivered for retry.
    pub reconsume_times: i32,
    /// For commit / rollback records, the CommitLog offset of the half message.
    pub prepared_transaction_offset: i64,
    /// The stored body (compressed if the sysflag says so).
    pub body: Bytes,
    /// The encoded properties string.
    pub properties: String,
}

impl MessageRecord {
    /// Whether this record is written as V2 (2-byte topic length): exactly when the topic
    /// is longer than 127 bytes. Java decides on `topic.length()` in UTF-16 units; for the
    /// ASCII topic names RocketMQ allows the two agree, and counting bytes never writes a
    /// V1 length byte that Java would read as negative.
    pub fn is_v2(&self) -> bool {
        self.topic.len() > MAX_TOPIC_LEN_V1
    }

    /// The magic code this record is written with.
    pub fn magic_code(&self) -> i32 {
        if self.is_v2() {
            MESSAGE_MAGIC_CODE_V2
        } else {
            MESSAGE_MAGIC_CODE
        }
    }

    /// The sysflag as written: `sys_flag` with [`BORNHOST_V6`](sys_flag::BORNHOST_V6) and
    /// [`STOREHOSTADDRESS_V6`](sys_flag::STOREHOSTADDRESS_V6) set or cleared to match the
    /// address families of `born_host` and `store_host` (Java's `CommitLog.putMessage`
    /// sets them the same way before encoding). Decoding an encoded record yields this
    /// value.
    pub fn written_sys_flag(&self) -> i32 {
        let mut flag = self.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOSTADDRESS_V6);
        if self.born_host.is_ipv6() {
            flag |= sys_flag::BORNHOST_V6;
        }
        if self.store_host.is_ipv6() {
            flag |= sys_flag::STOREHOSTADDRESS_V6;
        }
        flag
    }

    /// The body CRC the encoder writes.
    pub fn body_crc(&self) -> i32 {
        body_crc(&self.body)
    }

    /// The length of the encoded record (`MessageExtEncoder.calMsgLength`).
    pub fn encoded_len(&self) -> usize {
        let sys_flag = self.written_sys_flag();
        let topic_len_size = if self.is_v2() { 2 } else { 1 };
        body_length_offset(sys_flag)
            + 4
            + self.body.len()
            + topic_len_size
            + self.topic.len()
            + 2
            + self.properties.len()
    }

    /// Checks that the record may be stored, as Java's encoder does before writing:
    /// the topic fits a V2 record ([`MAX_TOPIC_LEN`]), the properties fit their `i16`
    /// length (PROPERTIES_SIZE_EXCEEDED in Java), the body is at most
    /// `max_message_size` and the whole record at most `max_message_size` + 64 KiB
    /// (both MESSAGE_ILLEGAL in Java) and at most `i32::MAX`.
    pub fn validate(&self, max_message_size: usize) -> Result<(), RecordError> {
        if self.topic.len() > MAX_TOPIC_LEN {
            return Err(RecordError::TopicTooLong {
                len: self.topic.len(),
                max: MAX_TOPIC_LEN,
            });
        }
        if self.properties.len() > MAX_PROPERTIES_LEN {
            return Err(RecordError::PropertiesTooLong {
                len: self.properties.len(),
                max: MAX_PROPERTIES_LEN,
            });
        }
        if self.body.len() > max_message_size {
            return Err(RecordError::BodyTooLarge {
                len: self.body.len(),
                max: max_message_size,
            });
        }
        let max_record = max_message_size
            .saturating_add(RECORD_OVERHEAD_ALLOWANCE)
            .min(i32::MAX as usize);
        let len = self.encoded_len();
        if len > max_record {
            return Err(RecordError::RecordTooLarge {
                len,
                max: max_record,
            });
        }
        Ok(())
    }

    /// Appends the encoded record to `dst`.
    ///
    /// Writes magic V2 when the topic is longer than 127 bytes (else V1), the body CRC
    /// computed from `body`, and [`written_sys_flag`](Self::written_sys_flag) as the
    /// sysflag: the encoder SETS or CLEARS the two host-family bits to match the
    /// addresses, whatever `sys_flag` says, so the host field sizes always agree with the
    /// flag. IPv6 flow info and scope ids are not stored.
    ///
    /// # Panics
    ///
    /// If the topic, the properties or the whole record are too long for their length
    /// fields (the limits [`validate`](Self::validate) checks whatever the
    /// `max_message_size`); call `validate` first. Writing a record that Java would
    /// misread is never silently done.
    pub fn encode_into(&self, dst: &mut Vec<u8>) {
        assert!(
            self.topic.len() <= MAX_TOPIC_LEN,
            "topic of {} bytes does not fit a record",
            self.topic.len()
        );
        assert!(
            self.properties.len() <= MAX_PROPERTIES_LEN,
            "properties of {} bytes do not fit a record",
            self.properties.len()
        );
        let len = self.encoded_len();
        assert!(
            len <= i32::MAX as usize,
            "record of {len} bytes does not fit"
        );
        let sys_flag = self.written_sys_flag();
        dst.reserve(len);
        let start = dst.len();
        dst.extend_from_slice(&(len as i32).to_be_bytes());
        dst.extend_from_slice(&self.magic_code().to_be_bytes());
        dst.extend_from_slice(&self.body_crc().to_be_bytes());
        dst.extend_from_slice(&self.queue_id.to_be_bytes());
        dst.extend_from_slice(&self.flag.to_be_bytes());
        dst.extend_from_slice(&self.queue_offset.to_be_bytes());
        dst.extend_from_slice(&self.physical_offset.to_be_bytes());
        dst.extend_from_slice(&sys_flag.to_be_bytes());
        dst.extend_from_slice(&self.born_timestamp.to_be_bytes());
        put_host(dst, self.born_host);
        dst.extend_from_slice(&self.store_timestamp.to_be_bytes());
        put_host(dst, self.store_host);
        dst.extend_from_slice(&self.reconsume_times.to_be_bytes());
        dst.extend_from_slice(&self.prepared_transaction_offset.to_be_bytes());
        // Lengths below are bounded by the asserts above.
        dst.extend_from_slice(&(self.body.len() as i32).to_be_bytes());
        dst.extend_from_slice(&self.body);
        if self.is_v2() {
            dst.extend_from_slice(&(self.topic.len() as i16).to_be_bytes());
        } else {
            dst.push(self.topic.len() as u8);
        }
        dst.extend_from_slice(self.topic.as_bytes());
        dst.extend_from_slice(&(self.properties.len() as i16).to_be_bytes());
        dst.extend_from_slice(self.properties.as_bytes());
        debug_assert_eq!(dst.len() - start, len);
    }

    /// The encoded record in a new buffer; see [`encode_into`](Self::encode_into).
    ///
    /// # Panics
    ///
    /// As [`encode_into`](Self::encode_into).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }
}

fn put_host(dst: &mut Vec<u8>, addr: SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => dst.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => dst.extend_from_slice(&ip.octets()),
    }
    dst.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
}

/// A record parsed in place: the fixed fields, and borrowed slices of the body, topic and
/// properties. Produced by [`view_record`] without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// TOTALSIZE: the record's length in bytes.
    pub size: usize,
    /// The magic code ([`MESSAGE_MAGIC_CODE`] or [`MESSAGE_MAGIC_CODE_V2`]).
    pub magic: i32,
    /// BODYCRC as stored.
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG.
    pub flag: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub physical_offset: i64,
    /// SYSFLAG.
    pub sys_flag: i32,
    /// BORNTIMESTAMP.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP.
    pub store_timestamp: i64,
    /// STOREHOSTADDRESS.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED TRANSACTION OFFSET.
    pub prepared_transaction_offset: i64,
    /// The body bytes.
    pub body: &'a [u8],
    /// The topic bytes (UTF-8 if written by a RocketMQ encoder; not checked).
    pub topic: &'a [u8],
    /// The properties bytes (UTF-8 if written by a RocketMQ encoder; not checked).
    pub properties: &'a [u8],
}

impl RecordView<'_> {
    /// An owned record, copying the body. Topic and properties are converted like Java's
    /// `new String(bytes, UTF_8)`: invalid UTF-8 becomes U+FFFD rather than an error.
    pub fn to_record(self) -> MessageRecord {
        self.to_record_with_body(Bytes::copy_from_slice(self.body))
    }

    fn to_record_with_body(self, body: Bytes) -> MessageRecord {
        MessageRecord {
            topic: String::from_utf8_lossy(self.topic).into_owned(),
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            physical_offset: self.physical_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body,
            properties: String::from_utf8_lossy(self.properties).into_owned(),
        }
    }
}

/// What [`view_record`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRef<'a> {
    /// A message record.
    Message(RecordView<'a>),
    /// A blank end-of-file record of this many bytes: the rest of the file is unused.
    Blank(usize),
}

/// What [`decode_record`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodedRecord {
    /// A message record and its length in bytes.
    Message(MessageRecord, usize),
    /// A blank end-of-file record of this many bytes.
    Blank(usize),
}

/// The verdict of [`check_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordCheck {
    /// A valid message record of `size` bytes.
    Message {
        /// The record's length.
        size: usize,
    },
    /// A blank end-of-file record of `size` bytes.
    Blank {
        /// The blank's length (the rest of the file).
        size: usize,
    },
    /// The buffer ends inside the record (a torn write at the end of the log).
    Incomplete,
    /// The bytes are not a valid record.
    Corrupt(RecordError),
}

/// Parses the record at the start of `buf` without allocating or copying.
///
/// Checks, in order: a size field is present and at least 8; the magic code is V1, V2 or
/// blank; a blank fits in `buf`; a message's size is at least the smallest record its
/// version and sysflag allow and fits in `buf`; the body, topic and properties lengths
/// are non-negative and stay inside the record; the fields end exactly at the declared
/// size; both ports are in 0..=65535; and, if `check_crc`, the body matches BODYCRC
/// (skipped for an empty body, as Java does). A buffer that ends before the record does
/// is [`RecordError::Incomplete`]. Never panics.
///
/// Bytes after the record are ignored; topic and properties are not checked for UTF-8.
pub fn view_record(buf: &[u8], check_crc: bool) -> Result<RecordRef<'_>, RecordError> {
    let available = buf.len();
    let Some(size_field) = be_i32(buf, field_offset::TOTAL_SIZE) else {
        return Err(RecordError::Incomplete {
            needed: 4,
            available,
        });
    };
    let bad_size = RecordError::BadTotalSize {
        offset: field_offset::TOTAL_SIZE,
        size: size_field,
    };
    let size = match usize::try_from(size_field) {
        Ok(size) if size >= END_FILE_MIN_BLANK_LENGTH => size,
        _ => return Err(bad_size),
    };
    let Some(magic) = be_i32(buf, field_offset::MAGIC_CODE) else {
        return Err(RecordError::Incomplete {
            needed: size,
            available,
        });
    };
    let topic_len_size = match magic {
        MESSAGE_MAGIC_CODE => 1,
        MESSAGE_MAGIC_CODE_V2 => 2,
        BLANK_MAGIC_CODE => {
            return if size > available {
                Err(RecordError::Incomplete {
                    needed: size,
                    available,
                })
            } else {
                Ok(RecordRef::Blank(size))
            };
        }
        _ => {
            return Err(RecordError::BadMagic {
                offset: field_offset::MAGIC_CODE,
                magic,
            })
        }
    };
    if size < MIN_RECORD_SIZE + topic_len_size - 1 {
        return Err(bad_size);
    }
    if size > available {
        return Err(RecordError::Incomplete {
            needed: size,
            available,
        });
    }
    let rec = buf.get(..size).ok_or(bad_size.clone())?;

    // SYSFLAG lies within MIN_RECORD_SIZE; it fixes where everything after the born
    // host is.
    let sys_flag = be_i32(rec, field_offset::SYS_FLAG).ok_or(bad_size.clone())?;
    let body_len_at = body_length_offset(sys_flag);
    if size < body_len_at + 4 + topic_len_size + 2 {
        return Err(bad_size);
    }
    // Every fixed field below ends at or before body_len_at + 4 <= size.
    let field_i32 = |at| be_i32(rec, at).ok_or(bad_size.clone());
    let field_i64 = |at| be_i64(rec, at).ok_or(bad_size.clone());
    let body_crc_stored = field_i32(field_offset::BODY_CRC)?;
    let queue_id = field_i32(field_offset::QUEUE_ID)?;
    let flag = field_i32(field_offset::FLAG)?;
    let queue_offset = field_i64(field_offset::QUEUE_OFFSET)?;
    let physical_offset = field_i64(field_offset::PHYSICAL_OFFSET)?;
    let born_timestamp = field_i64(field_offset::BORN_TIMESTAMP)?;
    let store_timestamp = field_i64(store_timestamp_offset(sys_flag))?;
    let reconsume_times = field_i32(reconsume_times_offset(sys_flag))?;
    let prepared_transaction_offset = field_i64(prepared_transaction_offset_offset(sys_flag))?;

    // Variable part: body, topic, properties, each checked to stay inside the record
    // with room for the length fields that follow it.
    let body_len = field_i32(body_len_at)?;
    let body_start = body_len_at + 4;
    let body_end = match usize::try_from(body_len) {
        Ok(n) if n <= size - body_start - topic_len_size - 2 => body_start + n,
        _ => {
            return Err(RecordError::BadBodyLength {
                offset: body_len_at,
                len: body_len,
            })
        }
    };
    let topic_len_at = body_end;
    let topic_len = if topic_len_size == 1 {
        rec.get(topic_len_at).map(|&b| i32::from(b as i8))
    } else {
        be_i16(rec, topic_len_at).map(i32::from)
    }
    .ok_or(bad_size.clone())?;
    let topic_start = topic_len_at + topic_len_size;
    let topic_end = match usize::try_from(topic_len) {
        Ok(n) if n <= size - topic_start - 2 => topic_start + n,
        _ => {
            return Err(RecordError::BadTopicLength {
                offset: topic_len_at,
                len: topic_len,
            })
        }
    };
    let props_len_at = topic_end;
    let props_len = be_i16(rec, props_len_at)
        .map(i32::from)
        .ok_or(bad_size.clone())?;
    let props_start = props_len_at + 2;
    let props_end = match usize::try_from(props_len) {
        Ok(n) if n <= size - props_start => props_start + n,
        _ => {
            return Err(RecordError::BadPropertiesLength {
                offset: props_len_at,
                len: props_len,
            })
        }
    };
    if props_end != size {
        return Err(RecordError::LengthMismatch {
            offset: props_end,
            declared: size,
        });
    }

    let born_host = read_host(
        rec,
        field_offset::BORN_HOST,
        sys_flag::born_host_v6(sys_flag),
    )
    .ok_or(bad_size.clone())??;
    let store_host = read_host(
        rec,
        store_host_offset(sys_flag),
        sys_flag::store_host_v6(sys_flag),
    )
    .ok_or(bad_size.clone())??;

    let body = rec.get(body_start..body_end).ok_or(bad_size.clone())?;
    let topic = rec.get(topic_start..topic_end).ok_or(bad_size.clone())?;
    let properties = rec.get(props_start..props_end).ok_or(bad_size)?;

    if check_crc && !body.is_empty() {
        let computed = body_crc(body);
        if computed != body_crc_stored {
            return Err(RecordError::BodyCrcMismatch {
                offset: field_offset::BODY_CRC,
                stored: body_crc_stored,
                computed,
            });
        }
    }

    Ok(RecordRef::Message(RecordView {
        size,
        magic,
        body_crc: body_crc_stored,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    }))
}

/// Decodes the record at the start of `buf`, copying its body. Validation is that of
/// [`view_record`]; topic and properties are converted to strings like Java does
/// (invalid UTF-8 becomes U+FFFD). Never panics.
pub fn decode_record(buf: &[u8], check_crc: bool) -> Result<DecodedRecord, RecordError> {
    Ok(match view_record(buf, check_crc)? {
        RecordRef::Message(view) => DecodedRecord::Message(view.to_record(), view.size),
        RecordRef::Blank(size) => DecodedRecord::Blank(size),
    })
}

/// As [`decode_record`], but the body is a zero-copy slice of `buf`.
pub fn decode_record_shared(buf: &Bytes, check_crc: bool) -> Result<DecodedRecord, RecordError> {
    Ok(match view_record(buf, check_crc)? {
        RecordRef::Message(view) => {
            let body = if view.body.is_empty() {
                Bytes::new()
            } else {
                buf.slice_ref(view.body)
            };
            DecodedRecord::Message(view.to_record_with_body(body), view.size)
        }
        RecordRef::Blank(size) => DecodedRecord::Blank(size),
    })
}

/// Validates the record at the start of `buf` without allocating: what crash recovery
/// calls on every record. The checks are those of [`view_record`]; a buffer that ends
/// inside the record is [`RecordCheck::Incomplete`], anything else wrong is
/// [`RecordCheck::Corrupt`]. Unwritten (zeroed) space reads as
/// `Corrupt(BadTotalSize { size: 0, .. })`. `Incomplete` says only that `buf` ends
/// before the declared size; whether that is a torn tail or a corrupt size field is for
/// the caller to judge from where the log's written data ends. Agrees with
/// [`decode_record`]: `Message` exactly when it decodes a message of that size. Never
/// panics.
pub fn check_record(buf: &[u8], check_crc: bool) -> RecordCheck {
    match view_record(buf, check_crc) {
        Ok(RecordRef::Message(view)) => RecordCheck::Message { size: view.size },
        Ok(RecordRef::Blank(size)) => RecordCheck::Blank { size },
        Err(RecordError::Incomplete { .. }) => RecordCheck::Incomplete,
        Err(e) => RecordCheck::Corrupt(e),
    }
}

/// Reads a host field: `Some(Err)` for a bad port, `None` if the bytes are missing.
fn read_host(rec: &[u8], at: usize, v6: bool) -> Option<Result<SocketAddr, RecordError>> {
    let (ip, port_at) = if v6 {
        let octets: [u8; 16] = rec.get(at..at + 16)?.try_into().ok()?;
        (IpAddr::from(octets), at + 16)
    } else {
        let octets: [u8; 4] = rec.get(at..at + 4)?.try_into().ok()?;
        (IpAddr::from(octets), at + 4)
    };
    let port = be_i32(rec, port_at)?;
    Some(match u16::try_from(port) {
        Ok(p) => Ok(SocketAddr::new(ip, p)),
        Err(_) => Err(RecordError::BadPort {
            offset: port_at,
            port,
        }),
    })
}

fn be_i16(b: &[u8], at: usize) -> Option<i16> {
    let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(i16::from_be_bytes(bytes))
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(i32::from_be_bytes(bytes))
}

fn be_i64(b: &[u8], at: usize) -> Option<i64> {
    let bytes: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(i64::from_be_bytes(bytes))
}

/// One message of a SEND_BATCH_MESSAGE body (`MessageDecoder.encodeMessage` /
/// `decodeMessage`): only flag, body and properties travel per message; topic, queue
/// and the rest come from the request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// The producer's flag.
    pub flag: i32,
    /// The body.
    pub body: Bytes,
    /// The encoded properties string; each message carries its own `UNIQ_KEY`.
    pub properties: String,
}

impl BatchItem {
    /// The item's encoded length: [`BATCH_ITEM_OVERHEAD`] + body + properties.
    pub fn encoded_len(&self) -> usize {
        BATCH_ITEM_OVERHEAD + self.body.len() + self.properties.len()
    }
}

/// Decodes a SEND_BATCH_MESSAGE body: items back to back, each
/// `[i32 totalSize][i32 magic][i32 bodyCRC][i32 flag][i32 bodyLen][body][i16 propsLen][props]`.
///
/// Like Java, magic and bodyCRC are ignored (clients write 0). Stricter than Java, which
/// skips totalSize: it must equal the item's length, as the Java, Go and C++ clients
/// write it. Negative lengths and items running past the end are errors (Java throws
/// on them too). Bodies are zero-copy slices of `body`; properties are converted like
/// Java's `new String(bytes, UTF_8)`. An empty body decodes to no items. Never panics.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>, RecordError> {
    let buf: &[u8] = body;
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let available = buf.len() - pos;
        let truncated = |needed| RecordError::BatchTruncated {
            offset: pos,
            needed,
            available,
        };
        // The fixed fields before the body; an item is at least BATCH_ITEM_OVERHEAD long.
        let header_len = BATCH_ITEM_OVERHEAD - 2;
        if available < BATCH_ITEM_OVERHEAD {
            return Err(truncated(BATCH_ITEM_OVERHEAD));
        }
        let total = be_i32(buf, pos).ok_or(truncated(header_len))?;
        let flag = be_i32(buf, pos + 12).ok_or(truncated(header_len))?;
        let body_len = be_i32(buf, pos + 16).ok_or(truncated(header_len))?;
        let body_len = usize::try_from(body_len).map_err(|_| RecordError::BadBodyLength {
            offset: pos + 16,
            len: body_len,
        })?;
        let body_start = pos + header_len;
        if body_len > available - header_len - 2 {
            return Err(truncated(header_len + 2 + body_len));
        }
        let body_end = body_start + body_len;
        let props_len = be_i16(buf, body_end).ok_or(truncated(header_len + 2 + body_len))?;
        let props_len =
            usize::try_from(props_len).map_err(|_| RecordError::BadPropertiesLength {
                offset: body_end,
                len: i32::from(props_len),
            })?;
        let props_start = body_end + 2;
        let computed = BATCH_ITEM_OVERHEAD + body_len + props_len;
        if computed > available {
            return Err(truncated(computed));
        }
        if usize::try_from(total) != Ok(computed) {
            return Err(RecordError::BatchSizeMismatch {
                offset: pos,
                declared: total,
                computed,
            });
        }
        let props = buf
            .get(props_start..props_start + props_len)
            .ok_or(truncated(computed))?;
        items.push(BatchItem {
            flag,
            body: body.slice(body_start..body_end),
            properties: String::from_utf8_lossy(props).into_owned(),
        });
        pos += computed;
    }
    Ok(items)
}

/// Encodes a SEND_BATCH_MESSAGE body as the Java client does (`encodeMessages`): magic
/// and bodyCRC written as 0.
///
/// # Panics
///
/// If an item's properties exceed 32767 bytes or an item exceeds `i32::MAX` bytes.
pub fn encode_batch(items: &[BatchItem]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(BatchItem::encoded_len).sum());
    for item in items {
        let total = item.encoded_len();
        assert!(
            item.properties.len() <= MAX_PROPERTIES_LEN,
            "batch item properties of {} bytes do not fit",
            item.properties.len()
        );
        assert!(
            total <= i32::MAX as usize,
            "batch item of {total} bytes does not fit"
        );
        out.extend_from_slice(&(total as i32).to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&item.flag.to_be_bytes());
        out.extend_from_slice(&(item.body.len() as i32).to_be_bytes());
        out.extend_from_slice(&item.body);
        out.extend_from_slice(&(item.properties.len() as i16).to_be_bytes());
        out.extend_from_slice(item.properties.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests;

/// The `__CRC32#` property RocketMQ appends when `enabledAppendPropCRC` is on, with its
/// ten digits still zero: `__CRC32#` `\x01` ten digits `\x02`.
pub const PROPERTY_CRC32_PLACEHOLDER: &str = "__CRC32#\u{1}0000000000\u{2}";

/// Bytes the `__CRC32#` property takes at the end of a record (`CRC32_RESERVED_LEN`).
pub const PROPERTY_CRC32_LEN: usize = 20;

/// The fixed bytes of the `__CRC32#` property: the name, the separator after it, and the
/// property separator that ends it.
const CRC_TAIL_FIXED: &[u8; 9] = b"__CRC32#\x01";

/// How an encoded record's last 20 bytes relate to a `__CRC32#` property.
enum CrcTail<'a> {
    /// No such property.
    Absent,
    /// The property, intact in shape.
    Present(&'a [u8]),
    /// Most of the property's fixed bytes are there but not all: the property was
    /// damaged, which must not pass as "no property".
    Damaged,
}

fn crc_tail(record: &[u8]) -> CrcTail<'_> {
    let Some(tail) = record
        .len()
        .checked_sub(PROPERTY_CRC32_LEN)
        .and_then(|start| record.get(start..))
    else {
        return CrcTail::Absent;
    };
    let matching = tail[..9]
        .iter()
        .zip(CRC_TAIL_FIXED)
        .filter(|(a, b)| a == b)
        .count()
        + usize::from(tail[PROPERTY_CRC32_LEN - 1] == 0x02);
    match matching {
        10 => CrcTail::Present(tail),
        // A few flipped bits leave most of the ten fixed bytes in place; properties that
        // merely end similarly by chance are vanishingly rare.
        7..=9 => CrcTail::Damaged,
        _ => CrcTail::Absent,
    }
}

/// Fills in the `__CRC32#` property of an encoded record: CRC32 (masked to 31 bits) of
/// every byte before the property, written as ten decimal digits least significant first,
/// exactly as Java's `MessageDecoder.createCrc32` does. Does nothing to a record without
/// the placeholder.
pub fn write_properties_crc(record: &mut [u8]) {
    if !matches!(crc_tail(record), CrcTail::Present(_)) {
        return;
    }
    let covered = record.len() - PROPERTY_CRC32_LEN;
    let mut crc = (crc32fast::hash(&record[..covered]) & 0x7FFF_FFFF) as i32;
    let digits = &mut record[covered + 9..covered + 19];
    for digit in digits.iter_mut() {
        *digit = b'0' + (crc % 10) as u8;
        crc /= 10;
    }
}

/// Checks the `__CRC32#` property of an encoded record: `None` when the record has none,
/// otherwise whether it matches the record's bytes (`forceVerifyPropCRC`). A property
/// whose own name or separators are damaged counts as a mismatch.
pub fn verify_properties_crc(record: &[u8]) -> Option<bool> {
    let tail = match crc_tail(record) {
        CrcTail::Absent => return None,
        CrcTail::Damaged => return Some(false),
        CrcTail::Present(tail) => tail,
    };
    let mut expected: i64 = 0;
    for &digit in tail[9..19].iter().rev() {
        if !digit.is_ascii_digit() {
            return Some(false);
        }
        expected = expected * 10 + i64::from(digit - b'0');
    }
    let covered = record.len() - PROPERTY_CRC32_LEN;
    let actual = i64::from(crc32fast::hash(&record[..covered]) & 0x7FFF_FFFF);
    Some(actual == expected)
}

#[cfg(test)]
mod crc_property_tests {
    use super::*;

    #[test]
    fn the_crc_property_covers_every_byte_before_it() {
        let mut record = b"some record bytes TAGS\x01A\x02".to_vec();
        record.extend_from_slice(PROPERTY_CRC32_PLACEHOLDER.as_bytes());
        assert_eq!(
            verify_properties_crc(&record),
            Some(false),
            "zeros are not the CRC"
        );
        write_properties_crc(&mut record);
        assert_eq!(verify_properties_crc(&record), Some(true));
        let expected = crc32fast::hash(&record[..record.len() - 20]) & 0x7FFF_FFFF;
        let digits: String = record[record.len() - 11..record.len() - 1]
            .iter()
            .rev()
            .map(|&b| char::from(b))
            .collect();
        assert_eq!(
            digits.parse::<u32>().expect("digits"),
            expected,
            "least significant digit first"
        );
        record[3] ^= 0x10;
        assert_eq!(verify_properties_crc(&record), Some(false));
        record[3] ^= 0x10;
        for at in [
            record.len() - 20,
            record.len() - 14,
            record.len() - 12,
            record.len() - 1,
        ] {
            let mut damaged = record.clone();
            damaged[at] ^= 0x04;
            assert_eq!(verify_properties_crc(&damaged), Some(false), "flip at {at}");
        }
        assert_eq!(
            verify_properties_crc(b"no tail here at all, twenty bytes+"),
            None
        );
        assert_eq!(verify_properties_crc(b"short"), None);
    }
}
