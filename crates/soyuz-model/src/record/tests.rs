use super::*;
use crate::properties::encode_properties;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// CRC32 golden values computed with Java 17 by a throwaway program:
/// `CRC32 c = new CRC32(); c.update(bytes, 0, bytes.length); (int) (c.getValue() & 0x7FFFFFFF)`
/// (exactly `UtilAll.crc32`), over the UTF-8 bytes of each string.
const JAVA_CRC_HELLO: i32 = 907_060_870; // "hello" -> 0x3610a686
const JAVA_CRC_123456789: i32 = 1_274_296_614; // "123456789" -> 0x4bf43926
const JAVA_CRC_HELLO_ROCKETMQ: i32 = 1_774_740_973; // "Hello RocketMQ" -> 0x69c865ed
const JAVA_CRC_0_TO_255: i32 = 688_229_491; // bytes 0x00..=0xFF -> 0x29058c73

#[test]
fn body_crc_matches_java() {
    assert_eq!(body_crc(b"hello"), JAVA_CRC_HELLO);
    assert_eq!(body_crc(b"123456789"), JAVA_CRC_123456789);
    assert_eq!(body_crc(b"Hello RocketMQ"), JAVA_CRC_HELLO_ROCKETMQ);
    let all: Vec<u8> = (0..=255u8).collect();
    assert_eq!(body_crc(&all), JAVA_CRC_0_TO_255);
    assert_eq!(body_crc(b""), 0);
}

#[test]
fn magic_codes_match_java_decimal_constants() {
    // MessageDecoder.MESSAGE_MAGIC_CODE, MESSAGE_MAGIC_CODE_V2, BLANK_MAGIC_CODE.
    assert_eq!(MESSAGE_MAGIC_CODE, -626_843_481);
    assert_eq!(MESSAGE_MAGIC_CODE_V2, -626_843_477);
    assert_eq!(BLANK_MAGIC_CODE, -875_286_124);
}

#[test]
fn field_offsets_match_java_positions() {
    // MessageDecoder: QUEUE_OFFSET_POSITION, PHY_POS_POSITION, SYSFLAG_POSITION,
    // MESSAGE_FLAG_POSITION, MESSAGE_STORE_TIMESTAMP_POSITION.
    assert_eq!(field_offset::QUEUE_OFFSET, 4 + 4 + 4 + 4 + 4);
    assert_eq!(field_offset::PHYSICAL_OFFSET, 4 + 4 + 4 + 4 + 4 + 8);
    assert_eq!(field_offset::SYS_FLAG, 4 + 4 + 4 + 4 + 4 + 8 + 8);
    assert_eq!(field_offset::FLAG, 16);
    assert_eq!(store_timestamp_offset(0), 56);
    assert_eq!(store_timestamp_offset(sys_flag::BORNHOST_V6), 68);
    assert_eq!(store_host_offset(0), 64);
    assert_eq!(reconsume_times_offset(0), 72);
    assert_eq!(reconsume_times_offset(sys_flag::STOREHOSTADDRESS_V6), 84);
    assert_eq!(prepared_transaction_offset_offset(0), 76);
    assert_eq!(body_length_offset(0), 84);
    assert_eq!(
        body_length_offset(sys_flag::BORNHOST_V6 | sys_flag::STOREHOSTADDRESS_V6),
        108
    );
    assert_eq!(MIN_RECORD_SIZE, body_length_offset(0) + 4 + 1 + 2);
}

/// A V1 / IPv4 record written out byte by byte from the layout table in
/// `shared/reference/rocketmq.md` 4.2, independent of the encoder.
fn golden_v1_ipv4() -> Vec<u8> {
    let mut b: Vec<u8> = Vec::new();
    // 1 TOTALSIZE = 91 fixed + 5 body + 9 topic + 10 properties = 115
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x73]);
    // 2 MAGICCODE V1
    b.extend_from_slice(&[0xDA, 0xA3, 0x20, 0xA7]);
    // 3 BODYCRC of "hello" (Java: 907060870)
    b.extend_from_slice(&[0x36, 0x10, 0xA6, 0x86]);
    // 4 QUEUEID = 3
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x03]);
    // 5 FLAG = 7
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x07]);
    // 6 QUEUEOFFSET = 0x0102030405060708
    b.extend_from_slice(&[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
    // 7 PHYSICALOFFSET = 4096
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00]);
    // 8 SYSFLAG = TRANSACTION_COMMIT_TYPE (0x8), IPv4 hosts
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x08]);
    // 9 BORNTIMESTAMP = 1700000000000
    b.extend_from_slice(&[0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00]);
    // 10 BORNHOST = 192.168.0.10:51234
    b.extend_from_slice(&[192, 168, 0, 10, 0x00, 0x00, 0xC8, 0x22]);
    // 11 STORETIMESTAMP = 1700000000123
    b.extend_from_slice(&[0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B]);
    // 12 STOREHOSTADDRESS = 10.0.0.1:10911
    b.extend_from_slice(&[10, 0, 0, 1, 0x00, 0x00, 0x2A, 0x9F]);
    // 13 RECONSUMETIMES = 2
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x02]);
    // 14 PREPARED TRANSACTION OFFSET = 0x1122334455667788
    b.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    // 15 BODY: length 5, "hello"
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x05]);
    b.extend_from_slice(b"hello");
    // 16 TOPIC: 1-byte length 9, "TopicTest"
    b.push(0x09);
    b.extend_from_slice(b"TopicTest");
    // 17 PROPERTIES: 2-byte length 10, "TAGS\x01TagA\x02"
    b.extend_from_slice(&[0x00, 0x0A]);
    b.extend_from_slice(b"TAGS\x01TagA\x02");
    b
}

fn golden_v1_ipv4_record() -> MessageRecord {
    MessageRecord {
        topic: "TopicTest".to_owned(),
        queue_id: 3,
        flag: 7,
        queue_offset: 0x0102_0304_0506_0708,
        physical_offset: 4096,
        sys_flag: sys_flag::TRANSACTION_COMMIT_TYPE,
        born_timestamp: 1_700_000_000_000,
        born_host: SocketAddr::new(Ipv4Addr::new(192, 168, 0, 10).into(), 51234),
        store_timestamp: 1_700_000_000_123,
        store_host: SocketAddr::new(Ipv4Addr::new(10, 0, 0, 1).into(), 10911),
        reconsume_times: 2,
        prepared_transaction_offset: 0x1122_3344_5566_7788,
        body: Bytes::from_static(b"hello"),
        properties: "TAGS\u{1}TagA\u{2}".to_owned(),
    }
}

#[test]
fn golden_v1_ipv4_decodes() {
    let bytes = golden_v1_ipv4();
    assert_eq!(bytes.len(), 115);
    let decoded = decode_record(&bytes, true).expect("golden record decodes");
    assert_eq!(
        decoded,
        DecodedRecord::Message(golden_v1_ipv4_record(), 115)
    );
    assert_eq!(
        check_record(&bytes, true),
        RecordCheck::Message { size: 115 }
    );
    let RecordRef::Message(view) = view_record(&bytes, true).expect("golden record views") else {
        panic!("golden record is not a message");
    };
    assert_eq!(view.magic, MESSAGE_MAGIC_CODE);
    assert_eq!(view.body_crc, JAVA_CRC_HELLO);
    assert_eq!(view.topic, b"TopicTest");
}

#[test]
fn encoder_reproduces_golden_v1_ipv4() {
    let record = golden_v1_ipv4_record();
    assert_eq!(record.encoded_len(), 115);
    assert_eq!(record.encode(), golden_v1_ipv4());
}

/// A V2 record (topic of 128 bytes) with an IPv6 born host and an IPv6 store host,
/// written out field by field.
fn golden_v2_ipv6() -> Vec<u8> {
    let topic = vec![b'a'; 128];
    let born_ip: [u8; 16] = [
        0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    ];
    let store_ip: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
    // fixed 84 + 24 (two IPv6 hosts) = 108; + 4 + 0 body + 2 + 128 topic + 2 + 0 props
    let total: u32 = 108 + 4 + 2 + 128 + 2;
    let mut b: Vec<u8> = Vec::new();
    b.extend_from_slice(&total.to_be_bytes()); // 1 TOTALSIZE = 244
    b.extend_from_slice(&[0xDA, 0xA3, 0x20, 0xAB]); // 2 MAGICCODE V2
    b.extend_from_slice(&[0, 0, 0, 0]); // 3 BODYCRC of the empty body
    b.extend_from_slice(&[0, 0, 0, 0]); // 4 QUEUEID
    b.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]); // 5 FLAG = -1
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0x2A]); // 6 QUEUEOFFSET = 42
    b.extend_from_slice(&[0, 0, 0, 0, 0x40, 0, 0, 0]); // 7 PHYSICALOFFSET = 1 GiB
    b.extend_from_slice(&[0, 0, 0, 0x34]); // 8 SYSFLAG = 0x20 | 0x10 | PREPARED 0x4
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]); // 9 BORNTIMESTAMP = 1
    b.extend_from_slice(&born_ip); // 10 BORNHOST [2001:db8::1]:8080
    b.extend_from_slice(&[0, 0, 0x1F, 0x90]);
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2]); // 11 STORETIMESTAMP = 2 (offset 68)
    b.extend_from_slice(&store_ip); // 12 STOREHOSTADDRESS [::1]:10911
    b.extend_from_slice(&[0, 0, 0x2A, 0x9F]);
    b.extend_from_slice(&[0, 0, 0, 0]); // 13 RECONSUMETIMES
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // 14 PREPARED TRANSACTION OFFSET
    b.extend_from_slice(&[0, 0, 0, 0]); // 15 BODY length 0
    b.extend_from_slice(&[0x00, 0x80]); // 16 TOPIC: 2-byte length 128
    b.extend_from_slice(&topic);
    b.extend_from_slice(&[0x00, 0x00]); // 17 PROPERTIES: length 0
    b
}

fn golden_v2_ipv6_record() -> MessageRecord {
    MessageRecord {
        topic: "a".repeat(128),
        queue_id: 0,
        flag: -1,
        queue_offset: 42,
        physical_offset: 1 << 30,
        sys_flag: sys_flag::TRANSACTION_PREPARED_TYPE
            | sys_flag::BORNHOST_V6
            | sys_flag::STOREHOSTADDRESS_V6,
        born_timestamp: 1,
        born_host: SocketAddr::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into(), 8080),
        store_timestamp: 2,
        store_host: SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 10911),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::new(),
        properties: String::new(),
    }
}

#[test]
fn golden_v2_ipv6_decodes_and_encodes() {
    let bytes = golden_v2_ipv6();
    assert_eq!(bytes.len(), 244);
    let record = golden_v2_ipv6_record();
    assert_eq!(
        decode_record(&bytes, true).expect("golden V2 record decodes"),
        DecodedRecord::Message(record.clone(), 244)
    );
    assert!(record.is_v2());
    assert_eq!(record.encode(), bytes);
    let ts_at = store_timestamp_offset(record.written_sys_flag());
    assert_eq!(ts_at, 68);
    assert_eq!(bytes[ts_at..ts_at + 8], 2i64.to_be_bytes());
}

#[test]
fn topic_of_127_bytes_is_v1_and_128_is_v2() {
    let mut record = golden_v1_ipv4_record();
    record.topic = "t".repeat(127);
    assert_eq!(record.magic_code(), MESSAGE_MAGIC_CODE);
    let bytes = record.encode();
    assert_eq!(bytes[4..8], MESSAGE_MAGIC_CODE.to_be_bytes());
    record.topic = "t".repeat(128);
    assert_eq!(record.magic_code(), MESSAGE_MAGIC_CODE_V2);
    let bytes = record.encode();
    assert_eq!(bytes[4..8], MESSAGE_MAGIC_CODE_V2.to_be_bytes());
    assert_eq!(bytes.len(), record.encoded_len());
}

#[test]
fn encoder_sets_and_clears_host_family_bits() {
    let mut record = golden_v1_ipv4_record();
    // Claims IPv6 hosts but has IPv4 ones: the bits are cleared.
    record.sys_flag = sys_flag::BORNHOST_V6 | sys_flag::STOREHOSTADDRESS_V6 | sys_flag::COMPRESSED;
    assert_eq!(record.written_sys_flag(), sys_flag::COMPRESSED);
    // IPv6 store host with no bit set: the bit is set.
    record.store_host = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 1);
    assert_eq!(
        record.written_sys_flag(),
        sys_flag::COMPRESSED | sys_flag::STOREHOSTADDRESS_V6
    );
    let bytes = record.encode();
    let flag = i32::from_be_bytes(
        bytes[field_offset::SYS_FLAG..field_offset::SYS_FLAG + 4]
            .try_into()
            .expect("4 bytes"),
    );
    assert_eq!(flag, record.written_sys_flag());
    let DecodedRecord::Message(decoded, _) = decode_record(&bytes, true).expect("decodes") else {
        panic!("not a message");
    };
    assert_eq!(decoded.sys_flag, record.written_sys_flag());
    assert_eq!(decoded.store_host, record.store_host);
}

#[test]
fn encode_into_appends() {
    let record = golden_v1_ipv4_record();
    let mut buf = vec![0xEE; 3];
    record.encode_into(&mut buf);
    assert_eq!(buf[..3], [0xEE; 3]);
    assert_eq!(buf[3..], golden_v1_ipv4()[..]);
}

#[test]
fn records_back_to_back_decode_one_at_a_time() {
    let mut buf = golden_v1_ipv4();
    buf.extend_from_slice(&golden_v2_ipv6());
    let DecodedRecord::Message(first, n) = decode_record(&buf, true).expect("first") else {
        panic!("not a message");
    };
    assert_eq!(first, golden_v1_ipv4_record());
    let DecodedRecord::Message(second, m) = decode_record(&buf[n..], true).expect("second") else {
        panic!("not a message");
    };
    assert_eq!(second, golden_v2_ipv6_record());
    assert_eq!(n + m, buf.len());
}

#[test]
fn shared_decode_slices_the_input() {
    let buf = Bytes::from(golden_v1_ipv4());
    let DecodedRecord::Message(record, _) = decode_record_shared(&buf, true).expect("decodes")
    else {
        panic!("not a message");
    };
    assert_eq!(record, golden_v1_ipv4_record());
    let range = buf.as_ptr_range();
    assert!(range.contains(&record.body.as_ptr()));
}

fn set_i32(buf: &mut [u8], at: usize, v: i32) {
    buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn corrupt(buf: &[u8]) -> RecordError {
    let err = decode_record(buf, true).expect_err("record should be rejected");
    assert_eq!(check_record(buf, true), RecordCheck::Corrupt(err.clone()));
    err
}

#[test]
fn rejects_bad_magic() {
    let mut b = golden_v1_ipv4();
    set_i32(&mut b, 4, 0x1234_5678);
    assert_eq!(
        corrupt(&b),
        RecordError::BadMagic {
            offset: 4,
            magic: 0x1234_5678
        }
    );
}

#[test]
fn rejects_sizes_below_the_minimum() {
    let zeros = [0u8; 200];
    assert_eq!(
        corrupt(&zeros),
        RecordError::BadTotalSize { offset: 0, size: 0 }
    );
    let mut b = golden_v1_ipv4();
    set_i32(&mut b, 0, -5);
    assert_eq!(
        corrupt(&b),
        RecordError::BadTotalSize {
            offset: 0,
            size: -5
        }
    );
    set_i32(&mut b, 0, 90);
    assert_eq!(
        corrupt(&b),
        RecordError::BadTotalSize {
            offset: 0,
            size: 90
        }
    );
    // 91 is enough for V1 IPv4 but not once the sysflag claims an IPv6 born host.
    let mut b = golden_v1_ipv4();
    set_i32(&mut b, 0, 91);
    set_i32(&mut b, field_offset::SYS_FLAG, sys_flag::BORNHOST_V6);
    assert_eq!(
        corrupt(&b),
        RecordError::BadTotalSize {
            offset: 0,
            size: 91
        }
    );
}

#[test]
fn rejects_inconsistent_lengths() {
    let body_len_at = body_length_offset(0);
    // Body length negative, and past the record.
    let mut b = golden_v1_ipv4();
    set_i32(&mut b, body_len_at, -1);
    assert_eq!(
        corrupt(&b),
        RecordError::BadBodyLength {
            offset: body_len_at,
            len: -1
        }
    );
    set_i32(&mut b, body_len_at, 1000);
    assert_eq!(
        corrupt(&b),
        RecordError::BadBodyLength {
            offset: body_len_at,
            len: 1000
        }
    );
    // Topic length byte 0x80 reads as -128 in Java.
    let topic_len_at = body_len_at + 4 + 5;
    let mut b = golden_v1_ipv4();
    b[topic_len_at] = 0x80;
    assert_eq!(
        corrupt(&b),
        RecordError::BadTopicLength {
            offset: topic_len_at,
            len: -128
        }
    );
    b[topic_len_at] = 100;
    assert_eq!(
        corrupt(&b),
        RecordError::BadTopicLength {
            offset: topic_len_at,
            len: 100
        }
    );
    // Properties length negative, and past the record.
    let props_len_at = topic_len_at + 1 + 9;
    let mut b = golden_v1_ipv4();
    b[props_len_at..props_len_at + 2].copy_from_slice(&(-2i16).to_be_bytes());
    assert_eq!(
        corrupt(&b),
        RecordError::BadPropertiesLength {
            offset: props_len_at,
            len: -2
        }
    );
    b[props_len_at..props_len_at + 2].copy_from_slice(&11i16.to_be_bytes());
    assert_eq!(
        corrupt(&b),
        RecordError::BadPropertiesLength {
            offset: props_len_at,
            len: 11
        }
    );
    // Declared size larger than the fields: Java's "[BUG]read total count not equals".
    let mut b = golden_v1_ipv4();
    b.push(0);
    set_i32(&mut b, 0, 116);
    assert_eq!(
        corrupt(&b),
        RecordError::LengthMismatch {
            offset: 115,
            declared: 116
        }
    );
}

#[test]
fn rejects_ports_java_cannot_represent() {
    let mut b = golden_v1_ipv4();
    set_i32(&mut b, field_offset::BORN_HOST + 4, 65536);
    assert_eq!(
        corrupt(&b),
        RecordError::BadPort {
            offset: 52,
            port: 65536
        }
    );
    let mut b = golden_v1_ipv4();
    set_i32(&mut b, store_host_offset(0) + 4, -1);
    assert_eq!(
        corrupt(&b),
        RecordError::BadPort {
            offset: 68,
            port: -1
        }
    );
}

#[test]
fn crc_is_checked_only_when_asked_and_only_for_non_empty_bodies() {
    let mut b = golden_v1_ipv4();
    set_i32(&mut b, field_offset::BODY_CRC, 1);
    assert_eq!(
        corrupt(&b),
        RecordError::BodyCrcMismatch {
            offset: 8,
            stored: 1,
            computed: JAVA_CRC_HELLO
        }
    );
    assert!(matches!(
        decode_record(&b, false),
        Ok(DecodedRecord::Message(_, 115))
    ));
    assert_eq!(check_record(&b, false), RecordCheck::Message { size: 115 });
    // Java skips the CRC check for an empty body.
    let mut b = golden_v2_ipv6();
    set_i32(&mut b, field_offset::BODY_CRC, 12345);
    assert_eq!(check_record(&b, true), RecordCheck::Message { size: 244 });
}

#[test]
fn blank_records() {
    let mut file_tail = blank_header(64).to_vec();
    file_tail.resize(64, 0);
    assert_eq!(
        decode_record(&file_tail, true),
        Ok(DecodedRecord::Blank(64))
    );
    assert_eq!(
        check_record(&file_tail, true),
        RecordCheck::Blank { size: 64 }
    );
    // The declared blank covers more than the buffer holds.
    assert_eq!(
        check_record(&file_tail[..63], true),
        RecordCheck::Incomplete
    );
    assert_eq!(
        decode_record(&file_tail[..8], true),
        Err(RecordError::Incomplete {
            needed: 64,
            available: 8
        })
    );
    // The minimum blank is 8 bytes.
    let exact = blank_header(8);
    assert_eq!(check_record(&exact, true), RecordCheck::Blank { size: 8 });
    let too_small = blank_header(7);
    assert_eq!(
        check_record(&too_small, true),
        RecordCheck::Corrupt(RecordError::BadTotalSize { offset: 0, size: 7 })
    );
}

#[test]
fn every_truncation_of_golden_records_is_incomplete() {
    for bytes in [golden_v1_ipv4(), golden_v2_ipv6()] {
        for n in 0..bytes.len() {
            assert!(
                matches!(
                    decode_record(&bytes[..n], true),
                    Err(RecordError::Incomplete { .. })
                ),
                "prefix of {n} bytes"
            );
            assert_eq!(check_record(&bytes[..n], true), RecordCheck::Incomplete);
        }
    }
}

#[test]
fn invalid_utf8_is_replaced_like_java() {
    let mut b = golden_v1_ipv4();
    let topic_at = body_length_offset(0) + 4 + 5 + 1;
    b[topic_at] = 0xFF;
    assert_eq!(check_record(&b, true), RecordCheck::Message { size: 115 });
    let DecodedRecord::Message(record, _) = decode_record(&b, true).expect("decodes") else {
        panic!("not a message");
    };
    assert_eq!(record.topic, "\u{FFFD}opicTest");
}

#[test]
fn validate_limits() {
    let mut record = golden_v1_ipv4_record();
    assert_eq!(record.validate(4 * 1024 * 1024), Ok(()));
    assert_eq!(record.validate(5), Ok(()));
    assert_eq!(
        record.validate(4),
        Err(RecordError::BodyTooLarge { len: 5, max: 4 })
    );

    record.properties = "p".repeat(MAX_PROPERTIES_LEN);
    assert_eq!(record.validate(1000), Ok(()));
    record.properties.push('p');
    assert_eq!(
        record.validate(1000),
        Err(RecordError::PropertiesTooLong {
            len: MAX_PROPERTIES_LEN + 1,
            max: MAX_PROPERTIES_LEN
        })
    );
    record.properties.clear();

    record.topic = "t".repeat(MAX_TOPIC_LEN);
    assert_eq!(record.validate(1000), Ok(()));
    record.topic.push('t');
    assert_eq!(
        record.validate(1000),
        Err(RecordError::TopicTooLong {
            len: MAX_TOPIC_LEN + 1,
            max: MAX_TOPIC_LEN
        })
    );

    // The whole record may exceed max_message_size by up to 64 KiB, as in Java.
    record.topic = "t".repeat(MAX_TOPIC_LEN);
    record.properties = "p".repeat(MAX_PROPERTIES_LEN);
    let len = record.encoded_len();
    assert_eq!(
        len,
        MIN_RECORD_SIZE + 1 + 5 + MAX_TOPIC_LEN + MAX_PROPERTIES_LEN
    );
    let max_body = len - RECORD_OVERHEAD_ALLOWANCE;
    assert_eq!(record.validate(max_body), Ok(()));
    assert_eq!(
        record.validate(max_body - 1),
        Err(RecordError::RecordTooLarge { len, max: len - 1 })
    );
}

#[test]
#[should_panic(expected = "does not fit")]
fn encoding_an_overlong_topic_panics() {
    let mut record = golden_v1_ipv4_record();
    record.topic = "t".repeat(MAX_TOPIC_LEN + 1);
    let _ = record.encode();
}

// ---------------------------------------------------------------------------------------
// Property tests

fn arb_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip.into(), port)),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip.into(), port)),
    ]
}

fn arb_topic() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_%|-]{0,20}",
        "[A-Za-z0-9_%|-]{120,300}",
        // Multi-byte characters: the V1/V2 choice counts bytes.
        "\\PC{0,80}",
    ]
}

fn arb_properties() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::btree_map("[A-Za-z_]{1,12}", "[ -~]{0,20}", 0..6)
            .prop_map(|m| encode_properties(&m)),
        "\\PC{0,64}",
    ]
}

fn arb_record_with_body(
    body: impl Strategy<Value = Vec<u8>>,
) -> impl Strategy<Value = MessageRecord> {
    (
        (
            arb_topic(),
            any::<i32>(),
            any::<i32>(),
            any::<i64>(),
            any::<i64>(),
            any::<i32>(),
        ),
        (
            any::<i64>(),
            arb_addr(),
            any::<i64>(),
            arb_addr(),
            any::<i32>(),
            any::<i64>(),
        ),
        (body, arb_properties()),
    )
        .prop_map(
            |(
                (topic, queue_id, flag, queue_offset, physical_offset, sys_flag),
                (born_timestamp, born_host, store_timestamp, store_host, reconsume_times, prepared),
                (body, properties),
            )| MessageRecord {
                topic,
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
                prepared_transaction_offset: prepared,
                body: Bytes::from(body),
                properties,
            },
        )
}

fn arb_record() -> impl Strategy<Value = MessageRecord> {
    arb_record_with_body(proptest::collection::vec(any::<u8>(), 0..512))
}

/// What decoding an encoded record gives back: the host-family bits follow the addresses.
fn normalized(record: &MessageRecord) -> MessageRecord {
    MessageRecord {
        sys_flag: record.written_sys_flag(),
        ..record.clone()
    }
}

/// `check_record` and `decode_record` must tell the same story.
fn assert_agree(buf: &[u8], check_crc: bool) -> Result<(), TestCaseError> {
    let check = check_record(buf, check_crc);
    match decode_record(buf, check_crc) {
        Ok(DecodedRecord::Message(_, size)) => {
            prop_assert_eq!(check, RecordCheck::Message { size })
        }
        Ok(DecodedRecord::Blank(size)) => prop_assert_eq!(check, RecordCheck::Blank { size }),
        Err(RecordError::Incomplete { .. }) => prop_assert_eq!(check, RecordCheck::Incomplete),
        Err(e) => prop_assert_eq!(check, RecordCheck::Corrupt(e)),
    }
    Ok(())
}

proptest! {
    #[test]
    fn round_trips(record in arb_record(), trailing in proptest::collection::vec(any::<u8>(), 0..16)) {
        prop_assert_eq!(record.validate(4 * 1024 * 1024), Ok(()));
        let mut bytes = record.encode();
        let len = bytes.len();
        prop_assert_eq!(len, record.encoded_len());
        let magic = i32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes"));
        prop_assert_eq!(magic == MESSAGE_MAGIC_CODE_V2, record.topic.len() > 127);
        // Bytes after the record (the next record) are not its business.
        bytes.extend_from_slice(&trailing);
        let expected = normalized(&record);
        prop_assert_eq!(
            decode_record(&bytes, true),
            Ok(DecodedRecord::Message(expected.clone(), len))
        );
        prop_assert_eq!(
            decode_record_shared(&Bytes::from(bytes.clone()), true),
            Ok(DecodedRecord::Message(expected, len))
        );
        prop_assert_eq!(check_record(&bytes, true), RecordCheck::Message { size: len });
    }

    #[test]
    fn fixed_offsets_point_at_their_fields(record in arb_record()) {
        let bytes = record.encode();
        let flag = record.written_sys_flag();
        let i64_at = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let i32_at = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        prop_assert_eq!(i32_at(field_offset::QUEUE_ID), record.queue_id);
        prop_assert_eq!(i32_at(field_offset::FLAG), record.flag);
        prop_assert_eq!(i64_at(field_offset::QUEUE_OFFSET), record.queue_offset);
        prop_assert_eq!(i64_at(field_offset::PHYSICAL_OFFSET), record.physical_offset);
        prop_assert_eq!(i32_at(field_offset::SYS_FLAG), flag);
        prop_assert_eq!(i64_at(field_offset::BORN_TIMESTAMP), record.born_timestamp);
        prop_assert_eq!(i64_at(store_timestamp_offset(flag)), record.store_timestamp);
        prop_assert_eq!(i32_at(reconsume_times_offset(flag)), record.reconsume_times);
        prop_assert_eq!(
            i64_at(prepared_transaction_offset_offset(flag)),
            record.prepared_transaction_offset
        );
        prop_assert_eq!(i32_at(body_length_offset(flag)), record.body.len() as i32);
    }

    #[test]
    fn patching_in_place_is_seen_by_the_decoder(record in arb_record(), phys in any::<i64>(), qo in any::<i64>(), ts in any::<i64>()) {
        let mut bytes = record.encode();
        let flag = record.written_sys_flag();
        bytes[field_offset::PHYSICAL_OFFSET..][..8].copy_from_slice(&phys.to_be_bytes());
        bytes[field_offset::QUEUE_OFFSET..][..8].copy_from_slice(&qo.to_be_bytes());
        bytes[store_timestamp_offset(flag)..][..8].copy_from_slice(&ts.to_be_bytes());
        let expected = MessageRecord {
            physical_offset: phys,
            queue_offset: qo,
            store_timestamp: ts,
            ..normalized(&record)
        };
        prop_assert_eq!(
            decode_record(&bytes, true),
            Ok(DecodedRecord::Message(expected, bytes.len()))
        );
    }

    #[test]
    fn every_truncation_is_incomplete(record in arb_record()) {
        let bytes = record.encode();
        for n in 0..bytes.len() {
            let decoded = decode_record(&bytes[..n], true);
            prop_assert!(
                matches!(decoded, Err(RecordError::Incomplete { .. })),
                "prefix of {} bytes: {:?}", n, decoded
            );
            prop_assert_eq!(check_record(&bytes[..n], true), RecordCheck::Incomplete);
        }
    }

    #[test]
    fn a_bit_flip_in_the_body_fails_the_crc(
        record in arb_record_with_body(proptest::collection::vec(any::<u8>(), 1..512)),
        pick in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut bytes = record.encode();
        let flag = record.written_sys_flag();
        let body_at = body_length_offset(flag) + 4;
        let at = body_at + pick.index(record.body.len());
        bytes[at] ^= 1 << bit;
        let decoded = decode_record(&bytes, true);
        let Err(RecordError::BodyCrcMismatch { offset, stored, computed }) = decoded else {
            return Err(TestCaseError::fail(format!("expected a CRC error, got {decoded:?}")));
        };
        prop_assert_eq!(offset, field_offset::BODY_CRC);
        prop_assert_eq!(stored, record.body_crc());
        prop_assert_eq!(computed, body_crc(&bytes[body_at..body_at + record.body.len()]));
        assert_agree(&bytes, true)?;
        // Without the CRC check the flipped body comes back as is.
        let Ok(DecodedRecord::Message(flipped, _)) = decode_record(&bytes, false) else {
            return Err(TestCaseError::fail("decodes without CRC check"));
        };
        prop_assert_eq!(&flipped.body[..], &bytes[body_at..body_at + record.body.len()]);
    }

    #[test]
    fn check_agrees_with_decode_on_mutated_records(
        record in arb_record(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        check_crc in any::<bool>(),
    ) {
        let mut bytes = record.encode();
        let len = bytes.len();
        for (at, value) in edits {
            bytes[at.index(len)] = value;
        }
        assert_agree(&bytes, check_crc)?;
    }

    #[test]
    fn check_agrees_with_decode_on_garbage(
        magic in prop_oneof![
            Just(MESSAGE_MAGIC_CODE),
            Just(MESSAGE_MAGIC_CODE_V2),
            Just(BLANK_MAGIC_CODE),
            any::<i32>(),
        ],
        size in prop_oneof![0i32..400, any::<i32>()],
        rest in proptest::collection::vec(any::<u8>(), 0..400),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(&magic.to_be_bytes());
        bytes.extend_from_slice(&rest);
        let cut = cut.index(bytes.len() + 1);
        assert_agree(&bytes[..cut], true)?;
        assert_agree(&bytes[..cut], false)?;
    }

    #[test]
    fn decoding_anything_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        assert_agree(&bytes, true)?;
        let _ = decode_batch(&Bytes::from(bytes));
    }
}

// ---------------------------------------------------------------------------------------
// Batch bodies

/// Two batch items written byte by byte from `MessageDecoder.encodeMessage`.
fn golden_batch() -> Vec<u8> {
    let mut b: Vec<u8> = Vec::new();
    // Item 1: flag 0, body "a", properties "UNIQ_KEY\x01ID1\x02" (13 bytes); 22 + 1 + 13 = 36.
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x24]); // TOTALSIZE 36
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // MAGICCODE 0
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // BODYCRC 0
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // FLAG 0
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x01]); // BODY length 1
    b.push(b'a');
    b.extend_from_slice(&[0x00, 0x0D]); // properties length 13
    b.extend_from_slice(b"UNIQ_KEY\x01ID1\x02");
    // Item 2: flag 5, empty body, empty properties; 22 bytes.
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x16]); // TOTALSIZE 22
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // MAGICCODE 0
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // BODYCRC 0
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x05]); // FLAG 5
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // BODY length 0
    b.extend_from_slice(&[0x00, 0x00]); // properties length 0
    b
}

fn golden_batch_items() -> Vec<BatchItem> {
    vec![
        BatchItem {
            flag: 0,
            body: Bytes::from_static(b"a"),
            properties: "UNIQ_KEY\u{1}ID1\u{2}".to_owned(),
        },
        BatchItem {
            flag: 5,
            body: Bytes::new(),
            properties: String::new(),
        },
    ]
}

#[test]
fn golden_batch_decodes_and_encodes() {
    let bytes = Bytes::from(golden_batch());
    assert_eq!(bytes.len(), 58);
    let items = decode_batch(&bytes).expect("golden batch decodes");
    assert_eq!(items, golden_batch_items());
    assert!(bytes.as_ptr_range().contains(&items[0].body.as_ptr()));
    assert_eq!(encode_batch(&golden_batch_items()), golden_batch());
    assert_eq!(decode_batch(&Bytes::new()), Ok(Vec::new()));
}

#[test]
fn batch_ignores_magic_and_crc_like_java() {
    let mut b = golden_batch();
    set_i32(&mut b, 4, MESSAGE_MAGIC_CODE);
    set_i32(&mut b, 8, 12345);
    assert_eq!(decode_batch(&Bytes::from(b)), Ok(golden_batch_items()));
}

#[test]
fn batch_errors() {
    let good = golden_batch();
    // Every cut that is not an item boundary is truncated.
    for n in 1..good.len() {
        let result = decode_batch(&Bytes::copy_from_slice(&good[..n]));
        if n == 36 {
            assert_eq!(result.expect("boundary").len(), 1);
        } else {
            assert!(
                matches!(result, Err(RecordError::BatchTruncated { .. })),
                "cut at {n}: {result:?}"
            );
        }
    }
    let mut b = good.clone();
    set_i32(&mut b, 0, 35);
    assert_eq!(
        decode_batch(&Bytes::from(b)),
        Err(RecordError::BatchSizeMismatch {
            offset: 0,
            declared: 35,
            computed: 36
        })
    );
    let mut b = good.clone();
    set_i32(&mut b, 36 + 16, -1);
    assert_eq!(
        decode_batch(&Bytes::from(b)),
        Err(RecordError::BadBodyLength {
            offset: 52,
            len: -1
        })
    );
    let mut b = good.clone();
    b[21..23].copy_from_slice(&(-1i16).to_be_bytes());
    assert_eq!(
        decode_batch(&Bytes::from(b)),
        Err(RecordError::BadPropertiesLength {
            offset: 21,
            len: -1
        })
    );
    let mut b = good;
    set_i32(&mut b, 16, 1000);
    assert!(matches!(
        decode_batch(&Bytes::from(b)),
        Err(RecordError::BatchTruncated { offset: 0, .. })
    ));
}

fn arb_batch_item() -> impl Strategy<Value = BatchItem> {
    (
        any::<i32>(),
        proptest::collection::vec(any::<u8>(), 0..200),
        arb_properties(),
    )
        .prop_map(|(flag, body, properties)| BatchItem {
            flag,
            body: Bytes::from(body),
            properties,
        })
}

proptest! {
    #[test]
    fn batch_round_trips(items in proptest::collection::vec(arb_batch_item(), 0..6)) {
        let encoded = encode_batch(&items);
        prop_assert_eq!(encoded.len(), items.iter().map(BatchItem::encoded_len).sum::<usize>());
        prop_assert_eq!(decode_batch(&Bytes::from(encoded)), Ok(items));
    }
}

#[test]
fn store_timestamp_is_peeked_for_both_host_sizes() {
    let v4 = golden_v1_ipv4();
    assert_eq!(
        peek_store_timestamp(&v4),
        Some(golden_v1_ipv4_record().store_timestamp)
    );
    // With an IPv6 born host the field sits at 68, past a 64-byte prefix.
    let v6 = golden_v2_ipv6();
    assert_eq!(
        peek_store_timestamp(&v6),
        Some(golden_v2_ipv6_record().store_timestamp)
    );
    assert_eq!(
        peek_store_timestamp(&v6[..70]),
        None,
        "too short to hold the field"
    );
    assert_eq!(peek_store_timestamp(&blank_header(64)), None);
}
