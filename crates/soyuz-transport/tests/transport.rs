//! The transport against real sockets on 127.0.0.1: correlation, oneway, bad input,
//! overload, idle expiry, connection caps and graceful shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use soyuz_remoting::frame::encode_to_bytes;
use soyuz_remoting::{decode_frame, response_code, RemotingCommand, MAX_FRAME_LEN};
use soyuz_transport::{server, Channel, ClientConfig, RemotingClient, Router, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};

const ECHO: i32 = 1000;
const SLOW: i32 = 1001;
const ONEWAY_COUNT: i32 = 1002;
const CALL_BACK: i32 = 1003;
const PANIC: i32 = 1004;
const NEVER: i32 = 1005;

const TIMEOUT: Duration = Duration::from_secs(5);

struct TestServer {
    addr: String,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
    oneways: Arc<AtomicUsize>,
    release: Arc<Notify>,
}

impl TestServer {
    async fn start(config: ServerConfig) -> Self {
        let oneways = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Notify::new());
        let counted = oneways.clone();
        let gate = release.clone();
        let router = Router::new()
            .route_sync(ECHO, |_, req| {
                Some(RemotingCommand::success(req).with_body(req.body.clone()))
            })
            .route_sync(ONEWAY_COUNT, move |_, req| {
                counted.fetch_add(1, Ordering::SeqCst);
                Some(RemotingCommand::success(req))
            })
            .route_async(SLOW, move |_, req| {
                let gate = gate.clone();
                async move {
                    gate.notified().await;
                    Some(RemotingCommand::success(&req).with_body(&b"slow done"[..]))
                }
            })
            .route_async(CALL_BACK, |channel: Channel, req| async move {
                // Ask the client something on the same connection, answer with its reply.
                let question = RemotingCommand::request(ECHO).with_body(&b"ping"[..]);
                let reply = channel.invoke(question, TIMEOUT).await.ok()?;
                Some(RemotingCommand::success(&req).with_body(reply.body))
            })
            .route_sync(PANIC, |_, _| panic!("handler bug"))
            .route_async(NEVER, |_, _| futures::future::pending());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server::run(listener, Arc::new(router), config, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            done,
            oneways,
            release,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .expect("server stops in time")
            .expect("server task")
            .expect("server result");
    }
}

fn echo_request(body: &'static [u8]) -> RemotingCommand {
    RemotingCommand::request(ECHO).with_body(body)
}

async fn assert_echo_works(addr: &str) {
    let client = RemotingClient::with_defaults();
    let response = client
        .invoke(addr, echo_request(b"still here"), TIMEOUT)
        .await
        .expect("echo");
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(&response.body[..], b"still here");
}

/// Reads frames from a raw socket until one decodes or the peer closes.
async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<RemotingCommand> {
    loop {
        if let Some(command) = decode_frame(buf, MAX_FRAME_LEN).expect("server sends valid frames")
        {
            return Some(command);
        }
        let read = tokio::time::timeout(TIMEOUT, stream.read_buf(buf))
            .await
            .expect("no hang");
        if read.expect("read") == 0 {
            return None;
        }
    }
}

/// Whether the server closed the raw connection (EOF or reset) within the timeout.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut scratch = [0u8; 64];
    matches!(
        tokio::time::timeout(TIMEOUT, stream.read(&mut scratch)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn concurrent_requests_get_their_own_responses() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = Arc::new(RemotingClient::with_defaults());
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let client = client.clone();
        let addr = server.addr.clone();
        tasks.push(tokio::spawn(async move {
            let body = i.to_be_bytes().to_vec();
            let response = client
                .invoke(
                    &addr,
                    RemotingCommand::request(ECHO).with_body(body.clone()),
                    TIMEOUT,
                )
                .await
                .expect("echo");
            assert_eq!(response.body.to_vec(), body);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    server.stop().await;
}

#[tokio::test]
async fn unknown_code_is_answered_not_supported() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = RemotingClient::with_defaults();
    let response = client
        .invoke(&server.addr, RemotingCommand::request(4242), TIMEOUT)
        .await
        .expect("answered");
    assert_eq!(response.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        response.remark.as_deref(),
        Some(" request type 4242 not supported")
    );
    assert!(response.is_response());
    server.stop().await;
}

#[tokio::test]
async fn oneway_requests_are_processed_but_never_answered() {
    let server = TestServer::start(ServerConfig::default()).await;
    let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
    let mut oneway = RemotingCommand::request(ONEWAY_COUNT);
    oneway.opaque = 1;
    oneway.mark_oneway();
    let mut echo = echo_request(b"after");
    echo.opaque = 2;
    let mut bytes = encode_to_bytes(&oneway);
    bytes.extend_from_slice(&encode_to_bytes(&echo));
    stream.write_all(&bytes).await.expect("write");
    let mut buf = BytesMut::new();
    let first = read_frame(&mut stream, &mut buf).await.expect("a response");
    assert_eq!(
        first.opaque, 2,
        "the first frame back answers the echo, not the oneway"
    );
    assert_eq!(server.oneways.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test]
async fn garbage_closes_only_that_connection() {
    let server = TestServer::start(ServerConfig::default()).await;
    let mut bad = TcpStream::connect(&server.addr).await.expect("connect");
    // A plausible length followed by a header that is not JSON.
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&20i32.to_be_bytes());
    frame.extend_from_slice(&16u32.to_be_bytes());
    frame.extend_from_slice(b"{this is not js}");
    bad.write_all(&frame).await.expect("write");
    assert!(closed_by_server(&mut bad).await);
    assert_echo_works(&server.addr).await;

    let mut noise = TcpStream::connect(&server.addr).await.expect("connect");
    noise
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    assert!(closed_by_server(&mut noise).await);
    assert_echo_works(&server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_length_closes_the_connection_before_buffering() {
    let server = TestServer::start(ServerConfig::default()).await;
    let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
    stream
        .write_all(&(17 * 1024 * 1024i32).to_be_bytes())
        .await
        .expect("write");
    assert!(closed_by_server(&mut stream).await);
    assert_echo_works(&server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn a_truncated_frame_then_hangup_leaves_the_server_serving() {
    let server = TestServer::start(ServerConfig::default()).await;
    let frame = encode_to_bytes(&echo_request(b"cut short"));
    let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
    stream
        .write_all(&frame[..frame.len() - 3])
        .await
        .expect("write");
    drop(stream);
    assert_echo_works(&server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn server_can_call_the_client_on_the_same_connection() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client_router = Router::new().route_sync(ECHO, |_, req| {
        Some(RemotingCommand::success(req).with_body(format!("pong to {}", req.body.len())))
    });
    let client = RemotingClient::new(ClientConfig::default(), Arc::new(client_router));
    let response = client
        .invoke(&server.addr, RemotingCommand::request(CALL_BACK), TIMEOUT)
        .await
        .expect("answered");
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(&response.body[..], b"pong to 4");
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_gets_system_error_and_the_server_lives() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = RemotingClient::with_defaults();
    let response = client
        .invoke(&server.addr, RemotingCommand::request(PANIC), TIMEOUT)
        .await
        .expect("answered");
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert_echo_works(&server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_get_system_busy() {
    let config = ServerConfig {
        max_in_flight_requests: 1,
        ..ServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let client = Arc::new(RemotingClient::with_defaults());
    let slow = {
        let client = client.clone();
        let addr = server.addr.clone();
        tokio::spawn(async move {
            client
                .invoke(&addr, RemotingCommand::request(SLOW), TIMEOUT)
                .await
        })
    };
    // Once the slow request holds the only permit, any other request is refused.
    let busy = loop {
        let response = client
            .invoke(&server.addr, echo_request(b"x"), TIMEOUT)
            .await
            .expect("answered");
        if response.code == response_code::SYSTEM_BUSY {
            break response;
        }
    };
    assert!(busy
        .remark
        .as_deref()
        .unwrap_or_default()
        .starts_with("[OVERLOAD]"));
    server.release.notify_one();
    let slow = slow.await.expect("task").expect("slow answered");
    assert_eq!(&slow.body[..], b"slow done");
    server.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let mut config = ServerConfig::default();
    config.connection.idle_timeout = Duration::from_millis(200);
    let server = TestServer::start(config).await;
    let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
    assert!(closed_by_server(&mut stream).await);
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_refused() {
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let client = RemotingClient::with_defaults();
    client
        .invoke(&server.addr, echo_request(b"1"), TIMEOUT)
        .await
        .expect("first connection");
    let mut second = TcpStream::connect(&server.addr).await.expect("tcp accepts");
    assert!(closed_by_server(&mut second).await);
    client
        .invoke(&server.addr, echo_request(b"2"), TIMEOUT)
        .await
        .expect("first still works");
    server.stop().await;
}

#[tokio::test]
async fn client_times_out_when_no_answer_comes() {
    // The unanswered request stays in flight, so keep the shutdown grace short.
    let config = ServerConfig {
        shutdown_grace: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let server = TestServer::start(config).await;
    let client = RemotingClient::with_defaults();
    let error = client
        .invoke(
            &server.addr,
            RemotingCommand::request(NEVER),
            Duration::from_millis(100),
        )
        .await
        .expect_err("no answer");
    assert!(
        matches!(error, soyuz_transport::TransportError::Timeout { .. }),
        "{error}"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_answer_first() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = Arc::new(RemotingClient::with_defaults());
    let slow = {
        let client = client.clone();
        let addr = server.addr.clone();
        tokio::spawn(async move {
            client
                .invoke(&addr, RemotingCommand::request(SLOW), TIMEOUT)
                .await
        })
    };
    // Make sure the slow request has reached the server before shutting down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let release = server.release.clone();
    let addr = server.addr.clone();
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.notify_one();
    let response = slow.await.expect("task").expect("answered during shutdown");
    assert_eq!(&response.body[..], b"slow done");
    stopping.await.expect("stopped");
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "listener is closed after shutdown"
    );
}

#[tokio::test]
async fn async_and_oneway_client_calls_work() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = Arc::new(RemotingClient::with_defaults());
    let (tx, rx) = oneshot::channel();
    client.invoke_async(
        &server.addr,
        echo_request(b"async"),
        TIMEOUT,
        move |result| {
            let _ = tx.send(result.map(|r| r.body));
        },
    );
    assert_eq!(&rx.await.expect("callback").expect("ok")[..], b"async");
    client
        .invoke_oneway(&server.addr, RemotingCommand::request(ONEWAY_COUNT))
        .await
        .expect("sent");
    // The oneway is processed before the echo that follows it on the same connection.
    assert_echo_works(&server.addr).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while server.oneways.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.oneways.load(Ordering::SeqCst), 1);
    server.stop().await;
}
