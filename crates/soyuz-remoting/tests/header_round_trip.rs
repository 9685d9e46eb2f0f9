//! Typed headers survive the whole trip: header -> extFields -> frame in each encoding ->
//! bytes -> frame -> extFields -> header.

use std::fmt::Debug;

use proptest::prelude::*;
use soyuz_remoting::frame::encode_to_bytes;
use soyuz_remoting::headers::consumer::{PullMessageRequestHeader, PullMessageResponseHeader};
use soyuz_remoting::headers::namesrv::RegisterBrokerRequestHeader;
use soyuz_remoting::headers::producer::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use soyuz_remoting::{decode_frame, CommandHeader, RemotingCommand, SerializeType, MAX_FRAME_LEN};

/// Non-empty text: both encodings treat an empty value as absent, like Java.
fn text() -> impl Strategy<Value = String> {
    "\\PC{1,24}"
}

fn round_trips<H: CommandHeader + PartialEq + Debug>(header: &H) -> Result<(), TestCaseError> {
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let mut command = RemotingCommand::request_with_header(10, header);
        command.serialize_type = serialize_type;
        let mut bytes = encode_to_bytes(&command);
        let decoded = decode_frame(&mut bytes, MAX_FRAME_LEN)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .ok_or_else(|| TestCaseError::fail("incomplete"))?;
        let back: H = decoded
            .decode_header()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, header, "through {:?}", serialize_type);
    }
    Ok(())
}

prop_compose! {
    fn register_broker()(
        broker_name in text(), broker_addr in text(), cluster_name in text(),
        ha_server_addr in text(), broker_id in any::<i64>(),
        heartbeat_timeout_millis in any::<Option<i64>>(), enable_acting_master in any::<Option<bool>>(),
        compressed in any::<Option<bool>>(), body_crc32 in any::<Option<i32>>(),
    ) -> RegisterBrokerRequestHeader {
        RegisterBrokerRequestHeader {
            broker_name, broker_addr, cluster_name, ha_server_addr, broker_id,
            heartbeat_timeout_millis, enable_acting_master, compressed, body_crc32,
        }
    }
}

prop_compose! {
    fn send_v2()(
        a in text(), b in text(), c in text(), d in any::<i32>(), e in any::<i32>(), f in any::<i32>(),
        g in any::<i64>(), h in any::<i32>(), i in proptest::option::of(text()),
        j in any::<Option<i32>>(), k in any::<Option<bool>>(), l in any::<Option<i32>>(),
        m in any::<Option<bool>>(), n in proptest::option::of(text()),
    ) -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeaderV2 { a, b, c, d, e, f, g, h, i, j, k, l, m, n }
    }
}

prop_compose! {
    fn send_response()(
        msg_id in text(), queue_id in any::<i32>(), queue_offset in any::<i64>(),
        transaction_id in proptest::option::of(text()), batch_uniq_id in proptest::option::of(text()),
        recall_handle in proptest::option::of(text()), msg_region in proptest::option::of(text()),
        trace_on in any::<Option<bool>>(),
    ) -> SendMessageResponseHeader {
        SendMessageResponseHeader {
            msg_id, queue_id, queue_offset, transaction_id, batch_uniq_id, recall_handle,
            msg_region, trace_on,
        }
    }
}

prop_compose! {
    fn pull_request()(
        consumer_group in text(), topic in text(), queue_id in any::<i32>(), queue_offset in any::<i64>(),
        max_msg_nums in any::<i32>(), sys_flag in any::<i32>(), commit_offset in any::<i64>(),
        suspend_timeout_millis in any::<i64>(), subscription in proptest::option::of(text()),
        sub_version in any::<i64>(), expression_type in proptest::option::of(text()),
        max_msg_bytes in any::<Option<i32>>(), request_source in any::<Option<i32>>(),
        proxy_froward_client_id in proptest::option::of(text()), bname in proptest::option::of(text()),
    ) -> PullMessageRequestHeader {
        PullMessageRequestHeader {
            consumer_group, topic, queue_id, queue_offset, max_msg_nums, sys_flag, commit_offset,
            suspend_timeout_millis, subscription, sub_version, expression_type, max_msg_bytes,
            request_source, proxy_froward_client_id, bname,
        }
    }
}

prop_compose! {
    fn pull_response()(
        suggest_which_broker_id in any::<i64>(), next_begin_offset in any::<i64>(),
        min_offset in any::<i64>(), max_offset in any::<i64>(), offset_delta in any::<Option<i64>>(),
        topic_sys_flag in any::<Option<i32>>(), group_sys_flag in any::<Option<i32>>(),
        forbidden_type in any::<Option<i32>>(),
    ) -> PullMessageResponseHeader {
        PullMessageResponseHeader {
            suggest_which_broker_id, next_begin_offset, min_offset, max_offset, offset_delta,
            topic_sys_flag, group_sys_flag, forbidden_type,
        }
    }
}

proptest! {
    #[test]
    fn register_broker_header_round_trips(header in register_broker()) {
        round_trips(&header)?;
    }

    #[test]
    fn send_v2_header_round_trips(header in send_v2()) {
        round_trips(&header)?;
    }

    #[test]
    fn send_response_header_round_trips(header in send_response()) {
        round_trips(&header)?;
    }

    #[test]
    fn pull_request_header_round_trips(header in pull_request()) {
        round_trips(&header)?;
    }

    #[test]
    fn pull_response_header_round_trips(header in pull_response()) {
        round_trips(&header)?;
    }
}
