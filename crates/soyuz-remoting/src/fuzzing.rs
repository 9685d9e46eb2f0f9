//! Fuzz properties for the codecs, as plain functions over arbitrary bytes.
//!
//! These are shared by the cargo-fuzz targets in `fuzz/fuzz_targets/` and by the seed
//! replay test `tests/fuzz_seeds.rs`, which runs them on every seed under `fuzz/seeds/`
//! (crash inputs the fuzzer finds are added there as regression seeds). Each function
//! panics if, and only if, a property of the codec is broken; it never panics merely
//! because the input is malformed.

use bytes::BytesMut;

use crate::body;
use crate::codes::LanguageCode;
use crate::command::{RemotingCommand, SerializeType};
use crate::frame::{self, decode_frame, DecodeError};

/// The frame limit used while fuzzing: small, so that the fuzzer reaches it.
pub const FUZZ_MAX_FRAME_LEN: usize = 1024 * 1024;

/// The limit used to read back a re-encoded command: escaping may make a JSON header
/// larger than the frame it came from, so the re-encoded frame may exceed
/// [`FUZZ_MAX_FRAME_LEN`].
const REENCODED_MAX_FRAME_LEN: usize = usize::MAX;

/// How a stream decoding ended.
#[derive(Debug, PartialEq)]
enum End {
    /// `Ok(None)` with this many bytes still buffered.
    Incomplete(usize),
    /// The stream is unusable.
    Failed(DecodeError),
}

/// Decodes `data` as a byte stream that arrives in two chunks.
///
/// The first byte of `data` (if any) picks the split point in the rest. The first chunk is
/// decoded until `Ok(None)` or an error, the second chunk is appended and decoding goes
/// on. Checked along the way:
///
/// * `Ok(None)` consumes nothing;
/// * the commands and the final outcome do not depend on where the stream was split
///   (they equal those of decoding the whole stream at once);
/// * every decoded command survives a round trip through [`frame::encode_to_bytes`], see
///   [`check_round_trip`].
///
/// Returns how many commands were decoded (and so round-tripped), so that the seed
/// replay test can tell that its seeds reach the round-trip check.
pub fn frame_decode_in_two_chunks(data: &[u8]) -> usize {
    let (split, stream) = match data.split_first() {
        Some((&first, rest)) => ((usize::from(first) * (rest.len() + 1)) / 256, rest),
        None => (0, data),
    };
    let (first_chunk, second_chunk) = stream.split_at(split);

    let mut chunked = Vec::new();
    let mut buf = BytesMut::from(first_chunk);
    let end = match decode_all(&mut buf, &mut chunked) {
        End::Incomplete(_) => {
            buf.extend_from_slice(second_chunk);
            decode_all(&mut buf, &mut chunked)
        }
        failed @ End::Failed(_) => failed,
    };

    let mut whole = Vec::new();
    let whole_end = decode_all(&mut BytesMut::from(stream), &mut whole);
    assert_eq!(
        chunked, whole,
        "commands depend on where the stream was split"
    );
    assert_eq!(
        end, whole_end,
        "outcome depends on where the stream was split"
    );

    for command in &chunked {
        check_round_trip(command);
    }
    chunked.len()
}

/// Decodes frames from `buf` into `out` until `Ok(None)` or an error.
fn decode_all(buf: &mut BytesMut, out: &mut Vec<RemotingCommand>) -> End {
    loop {
        let before = buf.len();
        match decode_frame(buf, FUZZ_MAX_FRAME_LEN) {
            Ok(Some(command)) => {
                assert!(buf.len() < before, "a decoded frame consumed nothing");
                out.push(command);
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "an incomplete frame consumed bytes");
                return End::Incomplete(before);
            }
            Err(e) => return End::Failed(e),
        }
    }
}

/// What a decoded `command` must read back as after encoding.
///
/// The encodings are lossy in documented ways, so the expected value is the command with
/// those losses applied:
/// * JSON headers carry the language by name, and a code without a name is written as
///   `OTHER`;
/// * ROCKETMQ headers have 16-bit code and version fields (truncated like Java's
///   `(short)` cast), and an ext field whose key or value is empty decodes as absent.
fn expected_after_round_trip(command: &RemotingCommand) -> RemotingCommand {
    let mut expected = command.clone();
    match command.serialize_type {
        SerializeType::Json => {
            if expected.language.name().is_none() {
                expected.language = LanguageCode::OTHER;
            }
        }
        SerializeType::RocketMq => {
            expected.code = i32::from(command.code as i16);
            expected.version = i32::from(command.version as i16);
            expected
                .ext_fields
                .retain(|key, value| !key.is_empty() && !value.is_empty());
            if expected.remark.as_deref() == Some("") {
                expected.remark = None;
            }
        }
    }
    expected
}

/// Asserts that `command`, as it came out of [`decode_frame`], encodes to a frame that
/// decodes back to it (less the documented losses), and that encoding is then stable.
fn check_round_trip(command: &RemotingCommand) {
    let encoded = frame::encode_to_bytes(command);
    let mut buf = encoded.clone();
    let decoded = decode_frame(&mut buf, REENCODED_MAX_FRAME_LEN)
        .expect("a re-encoded command decodes")
        .expect("a re-encoded command is a whole frame");
    assert!(buf.is_empty(), "a re-encoded command is exactly one frame");
    assert_eq!(
        decoded,
        expected_after_round_trip(command),
        "decode(encode(command)) differs from the command"
    );
    assert_eq!(
        frame::encode_to_bytes(&decoded),
        encoded,
        "encoding is not stable after one round trip"
    );
}

/// Runs the body decoders on `data`; none may panic.
///
/// Also checks [`body::fastjson::to_standard_json`] against serde: standard JSON must pass
/// through unchanged in meaning, and rewriting is idempotent whenever it yields valid
/// JSON. Its output is not required to be valid JSON in general: the rewriter only
/// restructures keys and copies scalars and string contents unchecked (for instance
/// `{"a":abc}` comes back as it is), leaving validation to serde in
/// [`body::decode_json`].
pub fn body_decoders(data: &[u8]) {
    let rewritten = body::fastjson::to_standard_json(data);
    if let Ok(standard) = serde_json::from_slice::<serde_json::Value>(data) {
        let out = rewritten
            .as_ref()
            .expect("standard JSON is accepted by the fastjson rewriter");
        let reparsed: serde_json::Value =
            serde_json::from_slice(out).expect("rewritten standard JSON is still JSON");
        assert_eq!(
            reparsed, standard,
            "rewriting changed standard JSON's meaning"
        );
    }
    if let Ok(out) = &rewritten {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(out) {
            let again = body::fastjson::to_standard_json(out)
                .expect("the rewriter accepts its own valid output");
            let reparsed: serde_json::Value =
                serde_json::from_slice(&again).expect("rewriting valid JSON keeps it valid");
            assert_eq!(reparsed, value, "rewriting is not idempotent");
        }
    }

    let _ = body::decode_json::<body::TopicRouteData>(data);
    let _ = body::decode_json::<body::ClusterInfo>(data);
    let _ = body::decode_json::<body::HeartbeatData>(data);
    let _ = body::decode_json::<body::LockBatchRequestBody>(data);
    let _ = body::decode_json::<body::CheckClientConfigBody>(data);
    let _ = body::decode_json::<body::SubscriptionGroupWrapper>(data);
    let _ = body::decode_json::<body::ConsumerOffsetSerializeWrapper>(data);
    let _ = body::ResetOffsetBody::decode(data);
    let _ = body::ConsumeStats::decode(data);
    let _ = body::decode_register_broker_body(data, true, 0);
    let _ = body::decode_register_broker_body(data, false, 0);
}

/// The hand-written JSON header reader against the serde reader it replaced: wherever
/// one accepts a header the other accepts it too, with the same command. The one
/// difference allowed: serde reads a struct from a JSON array (`[310, ...]`), a shape no
/// RocketMQ peer sends, which the hand-written reader refuses.
///
/// Returns 1 if the header was accepted (for the seed replay's count).
pub fn json_header_matches_serde(data: &[u8]) -> usize {
    use crate::header_json::{decode, serde_reference};
    let fast = decode(data);
    let reference = serde_reference::decode(data);
    match (&fast, &reference) {
        (Ok(fast), Ok(reference)) => {
            assert_eq!(fast, reference, "the readers disagree on {data:?}");
            1
        }
        (Err(_), Err(_)) => 0,
        (Err(_), Ok(_)) if data.trim_ascii_start().starts_with(b"[") => 0,
        _ => panic!(
            "one reader accepts what the other refuses: {data:?}\nhand-written: {fast:?}\nserde: {reference:?}"
        ),
    }
}
