//! Requests answered from another thread through a `Responder`, against real sockets on
//! 127.0.0.1: the answer arrives, a lost or panicking one still gets SYSTEM_ERROR, a
//! oneway one gets none, answers gathered with `answer_together` and written straight
//! from other threads never tear each other's frames or the writer task's, and answers
//! find room even when the peer reads nothing for a while.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use soyuz_remoting::frame::encode_to_bytes;
use soyuz_remoting::{decode_frame, response_code, RemotingCommand, MAX_FRAME_LEN};
use soyuz_transport::{
    answer_together, server, ConnectionConfig, RemotingClient, Responder, Router, ServerConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Echoes the body from a freshly spawned OS thread.
const FROM_THREAD: i32 = 2000;
/// Drops the responder on another thread without answering.
const LOST: i32 = 2001;
/// Panics before answering.
const PANICS: i32 = 2002;
/// Counts the request, answers from a thread (the transport must drop it if oneway).
const COUNTED: i32 = 2003;
/// Answers ECHO-style with a body of the size the request body names (4 bytes, BE).
const BIG: i32 = 2004;
/// Echoes the body from one answering thread that gathers whatever requests are waiting
/// and answers them together, as the broker's put thread does.
const GATHERED: i32 = 2005;
/// Echoes the body at once, through the connection's writer task.
const INLINE: i32 = 2006;

const TIMEOUT: Duration = Duration::from_secs(5);

struct Server {
    addr: String,
    counted: Arc<AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

async fn start(config: ServerConfig) -> Server {
    let counted = Arc::new(AtomicUsize::new(0));
    let count = counted.clone();
    let (gather, gathered) = std::sync::mpsc::channel::<(RemotingCommand, Responder)>();
    std::thread::spawn(move || {
        while let Ok(first) = gathered.recv() {
            let mut batch = vec![first];
            batch.extend(gathered.try_iter());
            answer_together(|| {
                for (request, responder) in batch {
                    let body = request.body.clone();
                    responder.respond(Some(RemotingCommand::success(&request).with_body(body)));
                }
            });
        }
    });
    let gather = std::sync::Mutex::new(gather);
    let router = Router::new()
        .route_deferred(GATHERED, move |_, request, responder| {
            let _ = gather.lock().expect("lock").send((request, responder));
        })
        .route_sync(INLINE, |_, request| {
            Some(RemotingCommand::success(request).with_body(request.body.clone()))
        })
        .route_deferred(FROM_THREAD, |_, request, responder| {
            std::thread::spawn(move || {
                let body = request.body.clone();
                responder.respond(Some(RemotingCommand::success(&request).with_body(body)));
            });
        })
        .route_deferred(LOST, |_, _, responder| {
            std::thread::spawn(move || drop(responder));
        })
        .route_deferred(PANICS, |_, _, _| panic!("deferred handler bug"))
        .route_deferred(COUNTED, move |_, request, responder| {
            let count = count.clone();
            std::thread::spawn(move || {
                count.fetch_add(1, Ordering::SeqCst);
                responder.respond(Some(RemotingCommand::success(&request)));
            });
        })
        .route_deferred(BIG, |_, request, responder| {
            let size = u32::from_be_bytes(request.body[..4].try_into().expect("4 bytes"));
            let body = vec![7u8; size as usize];
            responder.respond(Some(RemotingCommand::success(&request).with_body(body)));
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::run(listener, Arc::new(router), config, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        counted,
        _stop: stop,
    }
}

async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<RemotingCommand> {
    loop {
        if let Some(command) = decode_frame(buf, MAX_FRAME_LEN).expect("valid frames") {
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

#[tokio::test]
async fn answers_from_other_threads_reach_their_own_requests() {
    let server = start(ServerConfig::default()).await;
    let client = Arc::new(RemotingClient::with_defaults());
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let (client, addr) = (client.clone(), server.addr.clone());
        tasks.push(tokio::spawn(async move {
            let body = i.to_be_bytes().to_vec();
            let request = RemotingCommand::request(FROM_THREAD).with_body(body.clone());
            let response = client
                .invoke(&addr, request, TIMEOUT)
                .await
                .expect("answer");
            assert_eq!(response.code, response_code::SUCCESS);
            assert_eq!(response.body.to_vec(), body);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gathered_answers_and_queued_answers_never_tear_each_others_frames() {
    // Bodies far larger than a socket write takes at once, so direct writes leave bytes
    // for the writer task while it is also writing inline answers.
    let server = start(ServerConfig::default()).await;
    let client = Arc::new(RemotingClient::with_defaults());
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let (client, addr) = (client.clone(), server.addr.clone());
        tasks.push(tokio::spawn(async move {
            let code = if i % 3 == 0 { INLINE } else { GATHERED };
            let len = 1 + (i as usize * 7919) % (256 * 1024);
            let body: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            let request = RemotingCommand::request(code).with_body(body.clone());
            let response = client
                .invoke(&addr, request, TIMEOUT)
                .await
                .expect("answer");
            assert_eq!(response.code, response_code::SUCCESS);
            assert!(response.body.to_vec() == body, "request {i}'s own body");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
}

#[tokio::test]
async fn a_responder_dropped_unanswered_answers_system_error() {
    let server = start(ServerConfig::default()).await;
    let client = RemotingClient::with_defaults();
    let response = client
        .invoke(&server.addr, RemotingCommand::request(LOST), TIMEOUT)
        .await
        .expect("answered, not timed out");
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert!(response
        .remark
        .as_deref()
        .unwrap_or_default()
        .contains("dropped before it was answered"));
}

#[tokio::test]
async fn a_panicking_deferred_handler_answers_system_error_and_the_server_lives() {
    let server = start(ServerConfig::default()).await;
    let client = RemotingClient::with_defaults();
    let response = client
        .invoke(&server.addr, RemotingCommand::request(PANICS), TIMEOUT)
        .await
        .expect("answered");
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    let after = client
        .invoke(
            &server.addr,
            RemotingCommand::request(FROM_THREAD).with_body(&b"alive"[..]),
            TIMEOUT,
        )
        .await
        .expect("still serving");
    assert_eq!(&after.body[..], b"alive");
}

#[tokio::test]
async fn a_oneway_request_answered_through_a_responder_sends_nothing_back() {
    let server = start(ServerConfig::default()).await;
    let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
    let mut oneway = RemotingCommand::request(COUNTED);
    oneway.opaque = 1;
    oneway.mark_oneway();
    let mut lost = RemotingCommand::request(LOST);
    lost.opaque = 2;
    lost.mark_oneway();
    let mut normal = RemotingCommand::request(FROM_THREAD).with_body(&b"after"[..]);
    normal.opaque = 3;
    let mut bytes = encode_to_bytes(&oneway);
    bytes.extend_from_slice(&encode_to_bytes(&lost));
    // Let the oneway ones finish before the last request, so its answer comes last.
    stream.write_all(&bytes).await.expect("write");
    for _ in 0..500 {
        if server.counted.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.counted.load(Ordering::SeqCst), 1, "the oneway ran");
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream
        .write_all(&encode_to_bytes(&normal))
        .await
        .expect("write");
    let mut buf = BytesMut::new();
    let first = read_frame(&mut stream, &mut buf).await.expect("a response");
    assert_eq!(first.opaque, 3, "neither oneway request was answered");
}

#[tokio::test]
async fn answers_wait_for_room_while_the_peer_reads_nothing() {
    // Answers far larger than the socket buffers: while the client reads nothing, the
    // unsent bytes pass the outbox's high-water mark (and the one-frame write queue is
    // full), so later answers must wait on the runtime instead of being lost.
    let config = ServerConfig {
        connection: ConnectionConfig {
            write_queue_len: 1,
            ..ConnectionConfig::default()
        },
        ..ServerConfig::default()
    };
    let server = start(config).await;
    let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
    const ANSWERS: i32 = 12;
    const SIZE: u32 = 2 * 1024 * 1024;
    let mut bytes = BytesMut::new();
    for opaque in 1..=ANSWERS {
        let mut request = RemotingCommand::request(BIG).with_body(SIZE.to_be_bytes().to_vec());
        request.opaque = opaque;
        bytes.extend_from_slice(&encode_to_bytes(&request));
    }
    stream.write_all(&bytes).await.expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut buf = BytesMut::new();
    let mut seen = Vec::new();
    for _ in 0..ANSWERS {
        let response = read_frame(&mut stream, &mut buf).await.expect("an answer");
        assert_eq!(response.body.len(), SIZE as usize);
        seen.push(response.opaque);
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=ANSWERS).collect::<Vec<_>>());
}
