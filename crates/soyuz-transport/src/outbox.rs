//! [`Outbox`]: a connection's socket write side, shared so that an answer finished on
//! any thread goes straight to the socket.
//!
//! The broker's put thread finishes most answers. Handing each one to the connection's
//! writer task cost a task wake-up, and usually a runtime worker's wake-up, per put;
//! writing from the put thread costs only the write. Frames never interleave: every
//! write happens under the outbox's lock, and bytes the socket did not take wait in
//! `unsent`, ahead of anything written later, for the writer task to finish when the
//! socket has room.

use std::io;

use bytes::{Buf, BytesMut};
use parking_lot::Mutex;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

/// Unsent bytes beyond which direct writers wait for the peer to read: a peer that
/// stops reading slows its own requests instead of growing our memory.
pub(crate) const UNSENT_HIGH_WATER: usize = 4 * 1024 * 1024;

pub(crate) struct Outbox {
    socket: OwnedWriteHalf,
    state: Mutex<State>,
    /// Told when bytes are left in `unsent`: the writer task must finish them.
    drain_needed: Notify,
    /// Told when `unsent` empties, for writers waiting below the high-water mark.
    room: Notify,
}

struct State {
    unsent: BytesMut,
    /// The write side is shut or broken: later bytes are dropped, nobody reads them.
    shut: bool,
}

impl Outbox {
    pub(crate) fn new(socket: OwnedWriteHalf) -> Self {
        Self {
            socket,
            state: Mutex::new(State {
                unsent: BytesMut::new(),
                shut: false,
            }),
            drain_needed: Notify::new(),
            room: Notify::new(),
        }
    }

    /// Writes `bytes` now, as far as the socket takes them without waiting, and keeps
    /// the rest for the writer task. False (and nothing written) when more than the
    /// high-water mark is already waiting; a shut outbox swallows the bytes.
    pub(crate) fn try_write(&self, bytes: &[u8]) -> bool {
        let mut state = self.state.lock();
        if !state.shut && state.unsent.len() > UNSENT_HIGH_WATER {
            return false;
        }
        self.write_locked(&mut state, bytes);
        true
    }

    /// Writes `bytes` now or keeps them, whatever is waiting already. The writer task
    /// uses it: it drains before taking more, which is its own limit.
    pub(crate) fn write_queued(&self, bytes: &[u8]) {
        let mut state = self.state.lock();
        self.write_locked(&mut state, bytes);
    }

    /// Like [`Outbox::try_write`], but waits for room instead of refusing.
    pub(crate) async fn write_when_room(&self, bytes: &[u8]) {
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if self.try_write(bytes) {
                return;
            }
            room.await;
        }
    }

    fn write_locked(&self, state: &mut State, mut bytes: &[u8]) {
        if state.shut {
            return;
        }
        if !state.unsent.is_empty() {
            state.unsent.extend_from_slice(bytes);
            return;
        }
        while !bytes.is_empty() {
            match self.socket.try_write(bytes) {
                Ok(written) => bytes = &bytes[written..],
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // The writer task sees it on its next drain, closes the
                    // connection and wakes anyone waiting for room.
                    state.shut = true;
                    state.unsent.clear();
                    self.drain_needed.notify_one();
                    return;
                }
            }
        }
        if !bytes.is_empty() {
            state.unsent.extend_from_slice(bytes);
            self.drain_needed.notify_one();
        }
    }

    /// Resolves when a direct writer left bytes for the writer task.
    pub(crate) async fn drain_needed(&self) {
        self.drain_needed.notified().await;
    }

    /// Writes everything waiting, waiting for the socket as needed. Fails when the
    /// socket does, or when the outbox is shut; the caller then calls [`Outbox::shut`].
    pub(crate) async fn drain(&self) -> io::Result<()> {
        loop {
            {
                let mut state = self.state.lock();
                if state.shut {
                    return Err(io::ErrorKind::BrokenPipe.into());
                }
                loop {
                    if state.unsent.is_empty() {
                        // Reuse the allocation unless a burst grew it large.
                        if state.unsent.capacity() > UNSENT_HIGH_WATER {
                            state.unsent = BytesMut::new();
                        }
                        drop(state);
                        self.room.notify_waiters();
                        return Ok(());
                    }
                    match self.socket.try_write(&state.unsent) {
                        Ok(written) => state.unsent.advance(written),
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                        Err(error) => {
                            state.shut = true;
                            return Err(error);
                        }
                    }
                }
            }
            self.socket.writable().await?;
        }
    }

    /// Ends the stream (FIN) and drops whatever is written later.
    pub(crate) fn shut(&self) {
        let mut state = self.state.lock();
        state.shut = true;
        state.unsent = BytesMut::new();
        drop(state);
        self.room.notify_waiters();
        let _ = socket2::SockRef::from(self.socket.as_ref()).shutdown(std::net::Shutdown::Write);
    }
}
