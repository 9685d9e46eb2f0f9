//! The message `sysFlag` bits (`MessageSysFlag`), an `i32` stored in every CommitLog
//! record and sent in send / pull headers.
//!
//! ```text
//! bit     7            6            5          4         3..2         1           0
//! byte 1  INNER_BATCH  NEED_UNWRAP  STOREHOST  BORNHOST  TRANSACTION  MULTI_TAGS  COMPRESSED
//! byte 2  (bits 8..10) COMPRESSION_TYPE: 1 LZ4, 2 ZSTD, 3 ZLIB; 0 = ZLIB for old clients
//! ```
//!
//! The functions mirror the static helpers of the Java class, with the same names in
//! snake case.

/// The stored body is compressed (`COMPRESSED_FLAG`); the compression type bits say how.
pub const COMPRESSED: i32 = 0x1;
/// Legacy multi-tag marker (`MULTI_TAGS_FLAG`); selects `TopicFilterType.MULTI_TAG`.
pub const MULTI_TAGS: i32 = 0x1 << 1;
/// Not a transactional message (transaction bits `0b00`).
pub const TRANSACTION_NOT_TYPE: i32 = 0;
/// A prepared (half) transactional message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x1 << 2;
/// A committed transactional message.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x2 << 2;
/// A rolled-back transactional message. Also the mask of the two transaction bits.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x3 << 2;
/// The mask of the two transaction-type bits (`0xC`); the same value as
/// [`TRANSACTION_ROLLBACK_TYPE`], which Java uses as the mask.
pub const TRANSACTION_MASK: i32 = TRANSACTION_ROLLBACK_TYPE;
/// The born host is IPv6: 16 address bytes instead of 4 in the record (`BORNHOST_V6_FLAG`).
pub const BORNHOST_V6: i32 = 0x1 << 4;
/// The store host is IPv6: 16 address bytes instead of 4 (`STOREHOSTADDRESS_V6_FLAG`).
pub const STOREHOSTADDRESS_V6: i32 = 0x1 << 5;
/// The body is a batch that the broker must unwrap (`NEED_UNWRAP_FLAG`).
pub const NEED_UNWRAP: i32 = 0x1 << 6;
/// The record is an inner batch for a BatchConsumeQueue topic (`INNER_BATCH_FLAG`).
pub const INNER_BATCH: i32 = 0x1 << 7;

/// Compression type bits for LZ4 (`COMPRESSION_LZ4_TYPE`).
pub const COMPRESSION_LZ4_TYPE: i32 = 0x1 << 8;
/// Compression type bits for ZSTD (`COMPRESSION_ZSTD_TYPE`).
pub const COMPRESSION_ZSTD_TYPE: i32 = 0x2 << 8;
/// Compression type bits for ZLIB (`COMPRESSION_ZLIB_TYPE`).
pub const COMPRESSION_ZLIB_TYPE: i32 = 0x3 << 8;
/// The mask of the three compression type bits (`COMPRESSION_TYPE_COMPARATOR`, `0x700`).
pub const COMPRESSION_TYPE_MASK: i32 = 0x7 << 8;

/// A body compression algorithm (`CompressionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionType {
    /// LZ4 (type value 1).
    Lz4,
    /// Zstandard (type value 2).
    Zstd,
    /// zlib (type value 3, and 0 for clients older than the type bits).
    Zlib,
}

impl CompressionType {
    /// The value stored in bits 8..10 (`getValue`).
    pub fn value(self) -> i32 {
        match self {
            Self::Lz4 => 1,
            Self::Zstd => 2,
            Self::Zlib => 3,
        }
    }

    /// The sysflag bits for this type (`getCompressionFlag`).
    pub fn flag_bits(self) -> i32 {
        self.value() << 8
    }

    /// Maps a type value to a type (`findByValue`): 0 means zlib, for compatibility with
    /// clients that predate the type bits; 4..=7 are unknown (Java throws).
    pub fn from_value(value: i32) -> Option<Self> {
        match value {
            1 => Some(Self::Lz4),
            2 => Some(Self::Zstd),
            0 | 3 => Some(Self::Zlib),
            _ => None,
        }
    }
}

/// The transaction type bits of `flag` (`getTransactionValue`): one of
/// [`TRANSACTION_NOT_TYPE`], [`TRANSACTION_PREPARED_TYPE`], [`TRANSACTION_COMMIT_TYPE`],
/// [`TRANSACTION_ROLLBACK_TYPE`].
pub fn transaction_value(flag: i32) -> i32 {
    flag & TRANSACTION_MASK
}

/// `flag` with its transaction bits replaced by `transaction_type` (`resetTransactionValue`).
/// Like Java, `transaction_type` is OR-ed in unmasked.
pub fn reset_transaction_value(flag: i32, transaction_type: i32) -> i32 {
    (flag & !TRANSACTION_MASK) | transaction_type
}

/// `flag` without [`COMPRESSED`] (`clearCompressedFlag`). The type bits are kept, as in Java.
pub fn clear_compressed_flag(flag: i32) -> i32 {
    flag & !COMPRESSED
}

/// The compression type named by bits 8..10 of `flag` (`getCompressionType`); only
/// meaningful when [`COMPRESSED`] is set. `None` for the unknown values 4..=7.
pub fn compression_type(flag: i32) -> Option<CompressionType> {
    CompressionType::from_value((flag & COMPRESSION_TYPE_MASK) >> 8)
}

/// Whether any bit of `expected` is set in `flag` (`check`).
pub fn check(flag: i32, expected: i32) -> bool {
    flag & expected != 0
}

/// Whether the born host is stored as IPv6 (20 bytes instead of 8).
pub fn born_host_v6(flag: i32) -> bool {
    check(flag, BORNHOST_V6)
}

/// Whether the store host is stored as IPv6 (20 bytes instead of 8).
pub fn store_host_v6(flag: i32) -> bool {
    check(flag, STOREHOSTADDRESS_V6)
}

/// The length of the born host field in a record: 8 (IPv4 + port) or 20 (IPv6 + port).
pub fn born_host_len(flag: i32) -> usize {
    if born_host_v6(flag) {
        20
    } else {
        8
    }
}

/// The length of the store host field in a record: 8 (IPv4 + port) or 20 (IPv6 + port).
pub fn store_host_len(flag: i32) -> usize {
    if store_host_v6(flag) {
        20
    } else {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_java() {
        assert_eq!(COMPRESSED, 0x1);
        assert_eq!(MULTI_TAGS, 0x2);
        assert_eq!(TRANSACTION_PREPARED_TYPE, 0x4);
        assert_eq!(TRANSACTION_COMMIT_TYPE, 0x8);
        assert_eq!(TRANSACTION_ROLLBACK_TYPE, 0xC);
        assert_eq!(BORNHOST_V6, 0x10);
        assert_eq!(STOREHOSTADDRESS_V6, 0x20);
        assert_eq!(NEED_UNWRAP, 0x40);
        assert_eq!(INNER_BATCH, 0x80);
        assert_eq!(COMPRESSION_LZ4_TYPE, 0x100);
        assert_eq!(COMPRESSION_ZSTD_TYPE, 0x200);
        assert_eq!(COMPRESSION_ZLIB_TYPE, 0x300);
        assert_eq!(COMPRESSION_TYPE_MASK, 0x700);
    }

    #[test]
    fn transaction_bits() {
        let flag = COMPRESSED | BORNHOST_V6 | TRANSACTION_PREPARED_TYPE;
        assert_eq!(transaction_value(flag), TRANSACTION_PREPARED_TYPE);
        let committed = reset_transaction_value(flag, TRANSACTION_COMMIT_TYPE);
        assert_eq!(transaction_value(committed), TRANSACTION_COMMIT_TYPE);
        assert_eq!(committed & !TRANSACTION_MASK, COMPRESSED | BORNHOST_V6);
        assert_eq!(
            transaction_value(reset_transaction_value(committed, TRANSACTION_NOT_TYPE)),
            TRANSACTION_NOT_TYPE
        );
    }

    #[test]
    fn compression_type_bits() {
        assert_eq!(compression_type(COMPRESSED), Some(CompressionType::Zlib));
        assert_eq!(
            compression_type(COMPRESSED | COMPRESSION_LZ4_TYPE),
            Some(CompressionType::Lz4)
        );
        assert_eq!(
            compression_type(COMPRESSED | COMPRESSION_ZSTD_TYPE),
            Some(CompressionType::Zstd)
        );
        assert_eq!(
            compression_type(COMPRESSION_ZLIB_TYPE),
            Some(CompressionType::Zlib)
        );
        assert_eq!(compression_type(0x4 << 8), None);
        for t in [
            CompressionType::Lz4,
            CompressionType::Zstd,
            CompressionType::Zlib,
        ] {
            assert_eq!(compression_type(t.flag_bits()), Some(t));
        }
        assert_eq!(
            clear_compressed_flag(COMPRESSED | COMPRESSION_ZSTD_TYPE),
            COMPRESSION_ZSTD_TYPE
        );
    }

    #[test]
    fn host_lengths() {
        assert_eq!(born_host_len(0), 8);
        assert_eq!(born_host_len(BORNHOST_V6), 20);
        assert_eq!(store_host_len(BORNHOST_V6), 8);
        assert_eq!(store_host_len(STOREHOSTADDRESS_V6), 20);
    }
}
