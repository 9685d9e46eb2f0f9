//! The `soyuz` binary as a user runs it: start, wait for the boot line, answer a real
//! request, stop cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use soyuz_remoting::headers::namesrv::GetRouteInfoRequestHeader;
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::RemotingClient;

struct Running {
    child: Child,
    port: u16,
}

/// Starts the binary and waits (without a fixed sleep) for the line naming the address
/// it bound.
fn start(args: &[&str], dir: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soyuz"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn soyuz");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("The Name Server boot success") {
                let port = line.rsplit(':').next().and_then(|p| {
                    p.trim()
                        .trim_end_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .ok()
                });
                let _ = tx.send(port);
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("boot line within 20 s")
        .expect("port in boot line");
    Running { child, port }
}

fn stop(mut running: Running) {
    let pid = running.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = running.child.try_wait().expect("wait") {
            assert!(status.success(), "soyuz exited with {status}");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "soyuz did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn query_route(port: u16) -> RemotingCommand {
    query_route_of(port, "TopicTest")
}

fn query_route_of(port: u16, topic: &str) -> RemotingCommand {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = RemotingClient::with_defaults();
        let header = GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        };
        client
            .invoke(
                &format!("127.0.0.1:{port}"),
                RemotingCommand::request_with_header(request_code::GET_ROUTEINFO_BY_TOPIC, &header),
                Duration::from_secs(5),
            )
            .await
            .expect("answered")
    })
}

#[test]
fn namesrv_starts_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(
        &conf,
        format!("kvConfigPath={}/kv.json\n", dir.path().display()),
    )
    .expect("conf");
    let running = start(
        &[
            "namesrv",
            "-c",
            conf.to_str().expect("utf8"),
            "-p",
            "0",
            "--bind",
            "127.0.0.1",
        ],
        dir.path(),
    );
    assert_eq!(
        query_route(running.port).code,
        response_code::TOPIC_NOT_EXIST
    );
    stop(running);
}

#[test]
fn standalone_starts_with_its_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = start(
        &[
            "standalone",
            "--namesrv-port",
            "0",
            "--broker-port",
            "0",
            "--bind",
            "127.0.0.1",
        ],
        dir.path(),
    );
    assert!(dir.path().join("soyuz-data").is_dir());
    assert_eq!(
        query_route(running.port).code,
        response_code::TOPIC_NOT_EXIST
    );
    // The broker of the same process registers TBW102 with the NameServer.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while query_route_of(running.port, "TBW102").code != response_code::SUCCESS {
        assert!(
            std::time::Instant::now() < deadline,
            "the broker did not register within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dir
        .path()
        .join("soyuz-data/store/config/topics.json")
        .is_file());
    stop(running);
}

/// Runs `soyuz <args>` to completion (killed after 30 s) and returns its stdout.
fn run_to_end(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soyuz"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn soyuz");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("soyuz {args:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    assert!(output.status.success(), "soyuz {args:?} failed");
    String::from_utf8(output.stdout).expect("utf8")
}

#[test]
fn produce_then_consume_through_standalone() {
    let dir = tempfile::tempdir().expect("tempdir");
    // About the binary, not this machine's disk: CI disks have been seen 95% full, where a
    // broker refuses writes at diskSpaceWarningLevelRatio (90 by default).
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "diskSpaceWarningLevelRatio=99\ndiskSpaceCleanForciblyRatio=99\n",
    )
    .expect("broker.conf");
    let running = start(
        &[
            "standalone",
            "--namesrv-port",
            "0",
            "--broker-port",
            "0",
            "--bind",
            "127.0.0.1",
            "-c",
            conf.to_str().expect("utf8 path"),
        ],
        dir.path(),
    );
    let namesrv = format!("127.0.0.1:{}", running.port);
    let sent = run_to_end(&[
        "produce", "-n", &namesrv, "-t", "CliTopic", "--tags", "T1", "-k", "k1", "first", "second",
    ]);
    assert_eq!(sent.matches("SendOk").count(), 2, "{sent}");
    let received = run_to_end(&[
        "consume",
        "-n",
        &namesrv,
        "-t",
        "CliTopic",
        "--from-first",
        "-c",
        "2",
    ]);
    for body in ["body=first", "body=second"] {
        assert!(received.contains(body), "{received}");
    }
    assert!(received.contains("tags=T1 keys=k1"), "{received}");
    stop(running);
}
