use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::codes::LanguageCode;
use crate::command::ExtFields;

/// A frame put together by hand from the layout in the reference, not by our encoder.
fn hand_built_frame(serialize_type: u8, header: &[u8], body: &[u8]) -> BytesMut {
    let mut frame = BytesMut::new();
    frame.put_i32((4 + header.len() + body.len()) as i32);
    frame.put_u32((u32::from(serialize_type) << 24) | header.len() as u32);
    frame.put_slice(header);
    frame.put_slice(body);
    frame
}

#[test]
fn decodes_a_java_json_frame() {
    let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let mut buf = hand_built_frame(0, header, b"");
    let command = decode_frame(&mut buf, MAX_FRAME_LEN)
        .expect("valid")
        .expect("complete");
    assert!(buf.is_empty());
    assert_eq!(command.code, 105);
    assert_eq!(command.language, LanguageCode::JAVA);
    assert_eq!(command.version, 479);
    assert_eq!(command.opaque, 42);
    assert_eq!(command.flag, 0);
    assert_eq!(command.remark, None);
    assert_eq!(command.ext("topic"), Some("TopicTest"));
    assert_eq!(command.serialize_type, SerializeType::Json);
    assert!(command.body.is_empty());
}

#[test]
fn decodes_a_hand_built_rocketmq_binary_frame() {
    let mut header = BytesMut::new();
    header.put_i16(310); // code
    header.put_u8(9); // GO
    header.put_i16(401); // version
    header.put_i32(-7); // opaque
    header.put_i32(1); // flag: response
    header.put_i32(2);
    header.put_slice(b"ok");
    let mut ext = BytesMut::new();
    for (k, v) in [("a", "PG"), ("b", "TopicTest")] {
        ext.put_i16(k.len() as i16);
        ext.put_slice(k.as_bytes());
        ext.put_i32(v.len() as i32);
        ext.put_slice(v.as_bytes());
    }
    header.put_i32(ext.len() as i32);
    header.put_slice(&ext);
    let mut buf = hand_built_frame(1, &header, b"hello");
    let command = decode_frame(&mut buf, MAX_FRAME_LEN)
        .expect("valid")
        .expect("complete");
    assert_eq!(command.code, 310);
    assert_eq!(command.language, LanguageCode::GO);
    assert_eq!(command.version, 401);
    assert_eq!(command.opaque, -7);
    assert!(command.is_response());
    assert_eq!(command.remark.as_deref(), Some("ok"));
    assert_eq!(command.ext("a"), Some("PG"));
    assert_eq!(command.ext("b"), Some("TopicTest"));
    assert_eq!(command.body, Bytes::from_static(b"hello"));
    assert_eq!(command.serialize_type, SerializeType::RocketMq);
}

#[test]
fn json_header_is_written_like_fastjson() {
    let mut command = RemotingCommand::request(105);
    command.language = LanguageCode::JAVA;
    command.opaque = 3;
    command.ext_fields.insert("topic", "T\"1");
    let frame = encode_to_bytes(&command);
    let header = &frame[8..];
    assert_eq!(
        std::str::from_utf8(header).expect("utf8"),
        r#"{"code":105,"extFields":{"topic":"T\"1"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":479}"#
    );
}

#[test]
fn accepts_numeric_language_and_non_string_ext_values() {
    let header = br#"{"code":34,"language":9,"opaque":1,"flag":0,"version":0,"extFields":{"n":5,"b":true,"z":null}}"#;
    let mut buf = hand_built_frame(0, header, b"");
    let command = decode_frame(&mut buf, MAX_FRAME_LEN)
        .expect("valid")
        .expect("complete");
    assert_eq!(command.language, LanguageCode::GO);
    assert_eq!(command.ext("n"), Some("5"));
    assert_eq!(command.ext("b"), Some("true"));
    assert_eq!(command.ext("z"), None);
}

#[test]
fn every_strict_prefix_is_incomplete_and_consumes_nothing() {
    let mut command = RemotingCommand::request(10);
    command.ext_fields.insert("topic", "T");
    command.body = Bytes::from_static(b"body bytes");
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        command.serialize_type = serialize_type;
        let frame = encode_to_bytes(&command);
        for cut in 0..frame.len() {
            let mut buf = BytesMut::from(&frame[..cut]);
            assert_eq!(
                decode_frame(&mut buf, MAX_FRAME_LEN),
                Ok(None),
                "cut at {cut}"
            );
            assert_eq!(&buf[..], &frame[..cut], "cut at {cut} consumed bytes");
        }
    }
}

#[test]
fn decodes_back_to_back_frames_one_at_a_time() {
    let first = RemotingCommand::request(1);
    let second = RemotingCommand::request(2).with_body(&b"x"[..]);
    let mut buf = encode_to_bytes(&first);
    buf.extend_from_slice(&encode_to_bytes(&second));
    buf.extend_from_slice(&[0, 0]); // start of a third frame
    assert_eq!(
        decode_frame(&mut buf, MAX_FRAME_LEN)
            .expect("ok")
            .map(|c| c.code),
        Some(1)
    );
    assert_eq!(
        decode_frame(&mut buf, MAX_FRAME_LEN)
            .expect("ok")
            .map(|c| c.code),
        Some(2)
    );
    assert_eq!(decode_frame(&mut buf, MAX_FRAME_LEN), Ok(None));
    assert_eq!(buf.len(), 2);
}

#[test]
fn refuses_oversized_frames_from_the_prefix_alone() {
    let mut buf = BytesMut::new();
    buf.put_i32(17 * 1024 * 1024);
    assert!(matches!(
        decode_frame(&mut buf, MAX_FRAME_LEN),
        Err(DecodeError::FrameTooLarge { .. })
    ));
}

#[test]
fn refuses_invalid_lengths_and_types() {
    let mut negative = BytesMut::from(&(-1i32).to_be_bytes()[..]);
    assert_eq!(
        decode_frame(&mut negative, MAX_FRAME_LEN),
        Err(DecodeError::InvalidLength(-1))
    );

    let mut overrun = BytesMut::new();
    overrun.put_i32(8);
    overrun.put_u32(100);
    overrun.put_u32(0);
    assert!(matches!(
        decode_frame(&mut overrun, MAX_FRAME_LEN),
        Err(DecodeError::HeaderOverrun { .. })
    ));

    let mut unknown = hand_built_frame(7, b"{}", b"");
    assert_eq!(
        decode_frame(&mut unknown, MAX_FRAME_LEN),
        Err(DecodeError::UnknownSerializeType(7))
    );

    let mut garbage = hand_built_frame(0, b"{not json", b"");
    assert!(matches!(
        decode_frame(&mut garbage, MAX_FRAME_LEN),
        Err(DecodeError::MalformedHeader {
            encoding: "JSON",
            ..
        })
    ));
}

#[test]
fn refuses_binary_headers_whose_lengths_lie() {
    let mut header = BytesMut::new();
    header.put_i16(10);
    header.put_u8(0);
    header.put_i16(0);
    header.put_i32(1);
    header.put_i32(0);
    header.put_i32(1000); // remark longer than the header
    let mut buf = hand_built_frame(1, &header, b"");
    assert!(matches!(
        decode_frame(&mut buf, MAX_FRAME_LEN),
        Err(DecodeError::MalformedHeader {
            encoding: "ROCKETMQ",
            ..
        })
    ));

    let mut header = BytesMut::new();
    header.put_slice(&[0; 13]);
    header.put_i32(0); // no remark
    header.put_i32(6); // ext block of 6 bytes holding an entry that claims more
    header.put_i16(1);
    header.put_u8(b'k');
    header.put_slice(&[0, 0, 0]);
    let mut buf = hand_built_frame(1, &header, b"");
    assert!(decode_frame(&mut buf, MAX_FRAME_LEN).is_err());
}

fn arb_command() -> impl Strategy<Value = RemotingCommand> {
    let ext = proptest::collection::btree_map("[a-zA-Z]{1,8}", "\\PC{1,16}", 0..6);
    (
        any::<i16>(),
        any::<u8>(),
        any::<i16>(),
        any::<i32>(),
        0..4i32,
        proptest::option::of("\\PC{1,20}"),
        ext,
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    )
        .prop_map(
            |(code, language, version, opaque, flag, remark, ext, body, binary)| {
                RemotingCommand {
                    code: i32::from(code),
                    // JSON carries the language by name, so only known codes round-trip there.
                    language: if binary {
                        LanguageCode(language)
                    } else {
                        LanguageCode(language % 14)
                    },
                    version: i32::from(version),
                    opaque,
                    flag,
                    remark: remark.map(String::into_boxed_str),
                    ext_fields: ext.into_iter().collect::<ExtFields>(),
                    body: Bytes::from(body),
                    serialize_type: if binary {
                        SerializeType::RocketMq
                    } else {
                        SerializeType::Json
                    },
                }
            },
        )
}

proptest! {
    #[test]
    fn frames_round_trip_through_both_encodings(command in arb_command()) {
        let mut buf = encode_to_bytes(&command);
        let decoded = decode_frame(&mut buf, MAX_FRAME_LEN).expect("valid").expect("complete");
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, command);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let before = buf.len();
        if let Ok(None) = decode_frame(&mut buf, MAX_FRAME_LEN) {
            prop_assert_eq!(buf.len(), before);
        }
    }
}
