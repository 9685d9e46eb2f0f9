//! What any request code gets: REQUEST_CODE_NOT_SUPPORTED for codes the broker does not
//! serve, and a bad frame closes only its own connection.

mod common;

use std::time::Duration;

use common::*;
use soyuz_remoting::{request_code, response_code, RemotingCommand, SerializeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn unknown_request_code_is_request_code_not_supported() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    for code in [9_999, request_code::GET_ROUTEINFO_BY_TOPIC] {
        let response = env.ask(RemotingCommand::request(code)).await;
        assert_code(&response, response_code::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(
            response.remark.as_deref(),
            Some(format!(" request type {code} not supported").as_str())
        );
        env.assert_still_serving(connection).await;
    }
}

#[tokio::test]
async fn garbage_bytes_close_only_their_own_connection() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    for garbage in [
        &b"\x00\x00\x00\x10garbage-garbage!"[..],
        b"\x00\x00\x00\x08\x00\x00\x00\x20{\"code\"",
        b"\xff\xff\xff\xff",
        b"GET / HTTP/1.1\r\nHost: broker\r\n\r\n",
    ] {
        let mut stream = TcpStream::connect(&env.broker.addr).await.expect("connect");
        stream.write_all(garbage).await.expect("write");
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the broker closes the connection");
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "closed without an answer: {read:?}"
        );
        env.assert_still_serving(connection).await;
    }
}

#[tokio::test]
async fn rocketmq_binary_headers_are_answered_in_kind() {
    let env = Env::start().await;
    let mut send = Message::new("Binary", "bin").send_v2();
    send.serialize_type = SerializeType::RocketMq;
    let response = env.ask(send).await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(response.serialize_type, SerializeType::RocketMq);
    let header = send_header(&response);
    assert_eq!(header.queue_offset, 0);
    env.wait_max_offset("Binary", 0, 1).await;
    let mut pull = Pull::new("cg", "Binary", 0, 0).subscribe("*").request();
    pull.serialize_type = SerializeType::RocketMq;
    let response = env.ask(pull).await;
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(response.serialize_type, SerializeType::RocketMq);
    assert_eq!(bodies(&response), ["bin"]);
}
