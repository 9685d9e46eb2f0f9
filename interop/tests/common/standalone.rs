//! A `soyuz standalone` subprocess (NameServer + broker) on free ports with its own data
//! directory, which survives restarts and `kill -9` so durability can be tested.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::soyuz_bin;

/// A running `soyuz standalone`.
pub struct Standalone {
    child: Option<Child>,
    /// `127.0.0.1:PORT` of the NameServer.
    pub namesrv: String,
    /// `127.0.0.1:PORT` of the broker.
    pub broker: String,
    dir: PathBuf,
    extra_conf: String,
}

/// The tests are about the broker, not about the disk of the machine they run on: CI
/// machines have been seen with their disk 95% full, where a broker rightly refuses
/// writes (`diskSpaceWarningLevelRatio`, 90 by default) and deletes CommitLog segments
/// early (`diskSpaceCleanForciblyRatio`, 85). Tests of those limits inject the disk's
/// use instead (the store's `FaultyFs`).
const HOST_DISK_TOLERANT: &str = "diskSpaceWarningLevelRatio=99\ndiskSpaceCleanForciblyRatio=99\n";

fn port_of(line: &str, after: &str) -> Option<u16> {
    let rest = &line[line.find(after)? + after.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl Standalone {
    /// Starts standalone with data under `dir`; `conf` is extra `broker.conf` text.
    pub fn start_in(dir: &Path, conf: &str) -> Self {
        Self::spawn(dir.to_owned(), conf.to_owned(), 0, 0)
    }

    fn spawn(dir: PathBuf, conf: String, namesrv_port: u16, broker_port: u16) -> Self {
        let conf_path = dir.join("broker.conf");
        std::fs::create_dir_all(&dir).expect("data dir");
        std::fs::write(
            &conf_path,
            format!("brokerName=broker-a\n{HOST_DISK_TOLERANT}{conf}\n"),
        )
        .expect("broker.conf");
        let mut child = Command::new(soyuz_bin())
            .args(["standalone", "--bind", "127.0.0.1"])
            .args(["--data-dir", dir.join("soyuz-data").to_str().expect("utf8")])
            .args(["--namesrv-port", &namesrv_port.to_string()])
            .args(["--broker-port", &broker_port.to_string()])
            .args(["-c", conf_path.to_str().expect("utf8")])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn soyuz standalone");
        let stdout = child.stdout.take().expect("stdout");
        let mut running = Self {
            child: Some(child),
            namesrv: String::new(),
            broker: String::new(),
            dir,
            extra_conf: conf,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("The Name Server boot success") {
                    let _ = tx.send(("namesrv", port_of(&line, "127.0.0.1:")));
                } else if line.contains("boot success") && line.contains("The broker[") {
                    let _ = tx.send(("broker", port_of(&line, ", 127.0.0.1:")));
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while running.namesrv.is_empty() || running.broker.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let (role, port) = rx.recv_timeout(left).expect("both boot lines within 30 s");
            let addr = format!("127.0.0.1:{}", port.expect("port in the boot line"));
            match role {
                "namesrv" => running.namesrv = addr,
                _ => running.broker = addr,
            }
        }
        running
    }

    /// The broker port, for a restart on the same address.
    fn ports(&self) -> (u16, u16) {
        let port = |addr: &str| {
            addr.rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("port")
        };
        (port(&self.namesrv), port(&self.broker))
    }

    /// SIGKILL, then start again on the same data and ports.
    pub fn kill_and_restart(mut self) -> Self {
        let (namesrv_port, broker_port) = self.ports();
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        Self::spawn(
            self.dir.clone(),
            self.extra_conf.clone(),
            namesrv_port,
            broker_port,
        )
    }

    /// SIGTERM, wait for a clean exit, then start again on the same data and ports.
    pub fn stop_and_restart(mut self) -> Self {
        let (namesrv_port, broker_port) = self.ports();
        self.terminate();
        Self::spawn(
            self.dir.clone(),
            self.extra_conf.clone(),
            namesrv_port,
            broker_port,
        )
    }

    fn terminate(&mut self) {
        let child = self.child.take().expect("running");
        super::terminate(child, Duration::from_secs(15));
    }

    /// Sends SIGTERM and checks the process exits cleanly.
    pub fn stop(mut self) {
        self.terminate();
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
