//! Encode and decode cost of the two hottest frames: a SEND_MESSAGE_V2 request with a
//! 1 KiB body as a Java producer sends it, and a PULL_MESSAGE response header.
//!
//! Each group also times `baseline_copy`, a plain copy of the encoded frame, so figures
//! can be read as ratios to a memory copy measured in the same run.
//!
//! Run with `cargo bench -p soyuz-remoting --bench codec`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use soyuz_remoting::frame::{encode_frame, encode_to_bytes};
use soyuz_remoting::headers::consumer::PullMessageResponseHeader;
use soyuz_remoting::headers::producer::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use soyuz_remoting::{decode_frame, request_code, CommandHeader, RemotingCommand, SerializeType};
use soyuz_remoting::{LanguageCode, MAX_FRAME_LEN};

fn send_request(serialize_type: SerializeType) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        a: "please_rename_unique_group_name".into(),
        b: "BenchmarkTest".into(),
        c: "TBW102".into(),
        d: 4,
        e: 3,
        f: 0,
        g: 1_700_000_000_000,
        h: 0,
        i: Some("TAGS\u{1}TagA\u{2}KEYS\u{1}order-10086\u{2}UNIQ_KEY\u{1}7F0000010B2C18B4AAC27B2E8FBE0000\u{2}WAIT\u{1}true\u{2}".into()),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
        n: Some("broker-a".into()),
    };
    let mut command = RemotingCommand::request_with_header(request_code::SEND_MESSAGE_V2, &header)
        .with_body(Bytes::from(vec![b'x'; 1024]));
    command.language = LanguageCode::JAVA;
    command.opaque = 123_456;
    command.serialize_type = serialize_type;
    command
}

fn pull_response(serialize_type: SerializeType) -> RemotingCommand {
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: 1_000_032,
        min_offset: 0,
        max_offset: 2_000_000,
        ..PullMessageResponseHeader::default()
    };
    let mut request = RemotingCommand::request(request_code::PULL_MESSAGE);
    request.serialize_type = serialize_type;
    RemotingCommand::success(&request).with_header(&header)
}

fn bench_frame(c: &mut Criterion, name: &str, command: &RemotingCommand) {
    let encoded = encode_to_bytes(command);
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode", |b| {
        let mut dst = BytesMut::with_capacity(4096);
        b.iter(|| {
            dst.clear();
            encode_frame(black_box(command), &mut dst);
        });
    });
    // The floor for decode: copying the frame's bytes, which decode also does first.
    group.bench_function("baseline_copy", |b| {
        b.iter(|| black_box(BytesMut::from(black_box(&encoded[..]))));
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut src = BytesMut::from(&encoded[..]);
            black_box(decode_frame(&mut src, MAX_FRAME_LEN).ok().flatten())
        });
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    for (label, serialize_type) in [
        ("json", SerializeType::Json),
        ("rocketmq", SerializeType::RocketMq),
    ] {
        bench_frame(
            c,
            &format!("send_v2_1k/{label}"),
            &send_request(serialize_type),
        );
        bench_frame(
            c,
            &format!("pull_response_header/{label}"),
            &pull_response(serialize_type),
        );
    }
    let command = send_request(SerializeType::Json);
    c.bench_function("send_v2_header/typed_decode", |b| {
        b.iter(|| {
            let v2 = SendMessageRequestHeaderV2::from_ext_fields(black_box(&command.ext_fields));
            v2.map(SendMessageRequestHeader::from)
        });
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
