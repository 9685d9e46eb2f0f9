//! Making the CommitLog durable: a background flusher, and for SYNC_FLUSH a group commit
//! where every appender waits for a flush that covers its end offset. While one fsync
//! runs, the appends arriving behind it pile up and the next fsync covers them all, so
//! concurrent appenders share fsyncs without any timer in the append path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::commit_log::CommitLog;
use crate::config::{FlushDiskType, MessageStoreConfig};
use crate::error::StoreError;

/// How a SYNC_FLUSH wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushWait {
    /// The data is durable.
    Durable,
    /// `syncFlushTimeout` passed first (FLUSH_DISK_TIMEOUT).
    TimedOut,
}

#[derive(Default)]
struct State {
    /// Highest end offset an appender is waiting for.
    requested: u64,
    shutdown: bool,
    /// Number of fsync rounds completed (for the group-commit statistics).
    rounds: u64,
}

/// Coordinates appenders and the flusher thread.
pub struct Flusher {
    commit_log: Arc<CommitLog>,
    mode: FlushDiskType,
    interval: Duration,
    least_bytes: u64,
    thorough: Duration,
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
}

impl Flusher {
    /// A flusher for `commit_log` configured by `config`.
    pub fn new(commit_log: Arc<CommitLog>, config: &MessageStoreConfig) -> Self {
        Self {
            commit_log,
            mode: config.flush_disk_type,
            interval: config.flush_interval(),
            least_bytes: config.flush_commit_log_least_pages * 4096,
            thorough: Duration::from_millis(config.flush_commit_log_thorough_interval.max(1)),
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            done: Condvar::new(),
        }
    }

    /// Flush rounds (fsyncs of the CommitLog) so far.
    pub fn rounds(&self) -> u64 {
        self.state.lock().rounds
    }

    /// Waits until everything below `end_offset` is durable, or `timeout` passes.
    pub fn wait_durable(
        &self,
        end_offset: u64,
        timeout: Duration,
    ) -> Result<FlushWait, StoreError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock();
        if state.requested < end_offset {
            state.requested = end_offset;
            self.work.notify_one();
        }
        loop {
            self.commit_log.check_healthy()?;
            if self.commit_log.flushed() >= end_offset {
                return Ok(FlushWait::Durable);
            }
            if state.shutdown {
                return Err(StoreError::ShutDown);
            }
            if self.done.wait_until(&mut state, deadline).timed_out() {
                self.commit_log.check_healthy()?;
                return Ok(if self.commit_log.flushed() >= end_offset {
                    FlushWait::Durable
                } else {
                    FlushWait::TimedOut
                });
            }
        }
    }

    /// The flusher thread's body; returns at shutdown after a final flush.
    pub fn run(&self) {
        let mut last_thorough = Instant::now();
        loop {
            let shutdown = {
                let mut state = self.state.lock();
                match self.mode {
                    FlushDiskType::Sync => {
                        while !state.shutdown && state.requested <= self.commit_log.flushed() {
                            self.work.wait_for(&mut state, Duration::from_millis(100));
                            if self.commit_log.written() > self.commit_log.flushed()
                                && last_thorough.elapsed() >= self.thorough
                            {
                                break;
                            }
                        }
                    }
                    FlushDiskType::Async => {
                        if !state.shutdown {
                            self.work.wait_for(&mut state, self.interval);
                        }
                    }
                }
                state.shutdown
            };
            let dirty = self
                .commit_log
                .written()
                .saturating_sub(self.commit_log.flushed());
            let due = shutdown
                || self.mode == FlushDiskType::Sync
                || dirty >= self.least_bytes
                || (dirty > 0 && last_thorough.elapsed() >= self.thorough);
            if due && dirty > 0 {
                if let Err(error) = self.commit_log.flush() {
                    tracing::error!(%error, "CommitLog flush failed");
                }
                last_thorough = Instant::now();
            }
            {
                let mut state = self.state.lock();
                if due && dirty > 0 {
                    state.rounds += 1;
                }
                self.done.notify_all();
            }
            if shutdown {
                return;
            }
            if self.commit_log.check_healthy().is_err() {
                // Poisoned: wake waiters (they see the poison) and idle until shutdown.
                let mut state = self.state.lock();
                self.done.notify_all();
                while !state.shutdown {
                    self.work.wait_for(&mut state, Duration::from_millis(200));
                    self.done.notify_all();
                }
                return;
            }
        }
    }

    /// Asks the flusher to do a final flush and stop.
    pub fn shutdown(&self) {
        let mut state = self.state.lock();
        state.shutdown = true;
        self.work.notify_all();
        self.done.notify_all();
    }
}
