//! The put thread: every send's records go through one dedicated thread that takes
//! whatever requests are waiting and stores them with a single `put` (one lock, one
//! write, one dispatcher wake-up, and under SYNC_FLUSH one group commit), then answers
//! each request with its own part of the result. The async runtime never touches the
//! disk, and under load a thread hand-off is paid per batch, not per message.
//!
//! A request's answer is a callback run on the put thread ([`Appender::submit`]): the
//! send processor's callback builds the response and hands it to the connection's
//! responder. Inside `answer_together` the answers of one put are gathered per
//! connection and written straight to each socket from this thread, in one write each,
//! without a task or runtime worker woken per put.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::Arc;

use soyuz_model::names::validate_topic;
use soyuz_model::record::MessageRecord;
use soyuz_store::{MessageStore, PutResult, StoreError};
use tokio::sync::oneshot;

/// Most records merged into one put.
const MAX_MERGED_RECORDS: usize = 1024;

/// What the put thread calls with a request's result. It runs on the put thread, so it
/// must not block.
pub type OnStored = Box<dyn FnOnce(Result<PutResult, StoreError>) + Send>;

struct Job {
    records: Vec<MessageRecord>,
    reply: OnStored,
}

enum Task {
    Put(Job),
    Stop,
}

/// The handle senders use. [`Appender::stop`] ends the thread, which then lets go of
/// the store.
pub struct Appender {
    jobs: mpsc::Sender<Task>,
    thread: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
    max_message_size: usize,
}

impl Appender {
    /// Starts the put thread over `store`.
    pub fn start(store: Arc<dyn MessageStore>, max_message_size: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("soyuz-put".into())
            .spawn(move || run(&*store, &queue))?;
        Ok(Self {
            jobs,
            thread: parking_lot::Mutex::new(Some(thread)),
            max_message_size,
        })
    }

    /// Stores what is queued, then stops the thread and waits for it; later puts fail
    /// with `ShutDown`. Blocks: call it off the async runtime.
    pub fn stop(&self) {
        let _ = self.jobs.send(Task::Stop);
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }

    /// Stores `records` (one request's messages) and returns where they landed.
    pub async fn put(&self, records: Vec<MessageRecord>) -> Result<PutResult, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(
            records,
            Box::new(move |result| {
                let _ = reply.send(result);
            }),
        );
        answer.await.map_err(|_| StoreError::ShutDown)?
    }

    /// Stores `records` (one request's messages) and calls `on_stored` with where they
    /// landed: on the put thread, or at once on this one when they fail the checks or
    /// the thread has stopped. Records are checked here, so one bad request never fails
    /// the others it is merged with.
    pub fn submit(&self, records: Vec<MessageRecord>, on_stored: OnStored) {
        if let Err(error) = check(&records, self.max_message_size) {
            return on_stored(Err(error));
        }
        let job = Job {
            records,
            reply: on_stored,
        };
        if let Err(mpsc::SendError(Task::Put(job))) = self.jobs.send(Task::Put(job)) {
            (job.reply)(Err(StoreError::ShutDown));
        }
    }
}

/// The store's own checks, made before merging.
fn check(records: &[MessageRecord], max_message_size: usize) -> Result<(), StoreError> {
    if records.is_empty() {
        return Err(StoreError::MessageIllegal("no messages to store".into()));
    }
    for record in records {
        validate_topic(&record.topic).map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
        if record.queue_id < 0 {
            return Err(StoreError::MessageIllegal(format!(
                "queue id {} is negative",
                record.queue_id
            )));
        }
        record
            .validate(max_message_size)
            .map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
    }
    Ok(())
}

fn run(store: &dyn MessageStore, queue: &mpsc::Receiver<Task>) {
    let mut stopping = false;
    while !stopping {
        let Ok(Task::Put(first)) = queue.recv() else {
            return;
        };
        let mut jobs = vec![first];
        let mut merged = jobs[0].records.len();
        while merged < MAX_MERGED_RECORDS {
            match queue.try_recv() {
                Ok(Task::Put(job)) => {
                    merged += job.records.len();
                    jobs.push(job);
                }
                Ok(Task::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        // The answers of one put leave in one write per connection.
        soyuz_transport::answer_together(|| put_and_answer(store, jobs));
    }
}

/// Stores the jobs' records with one put and calls each job's callback with its share.
fn put_and_answer(store: &dyn MessageStore, mut jobs: Vec<Job>) {
    if jobs.len() == 1 {
        let job = jobs.pop().expect("one job");
        answer(job.reply, store.put(job.records));
        return;
    }
    let counts: Vec<usize> = jobs.iter().map(|job| job.records.len()).collect();
    let (records, replies): (Vec<_>, Vec<_>) =
        jobs.into_iter().map(|job| (job.records, job.reply)).unzip();
    match store.put(records.into_iter().flatten().collect()) {
        Ok(result) => {
            for (part, reply) in split(&result, &counts).into_iter().zip(replies) {
                answer(reply, Ok(part));
            }
        }
        Err(error) => {
            for reply in replies {
                answer(reply, Err(error.clone()));
            }
        }
    }
}

/// Runs one request's callback. A panicking callback costs that request its answer (its
/// responder answers SYSTEM_ERROR as it unwinds), never the put thread.
fn answer(reply: OnStored, result: Result<PutResult, StoreError>) {
    if std::panic::catch_unwind(AssertUnwindSafe(|| reply(result))).is_err() {
        tracing::error!("a send's completion panicked on the put thread");
    }
}

/// Cuts a merged put's result into each request's share.
fn split(result: &PutResult, counts: &[usize]) -> Vec<PutResult> {
    let mut parts = Vec::with_capacity(counts.len());
    let mut start = 0;
    for &count in counts {
        let range = start..start + count;
        parts.push(PutResult {
            status: result.status,
            physical_offset: result.physical_offsets[start],
            queue_offset: result.queue_offsets[start],
            count,
            wrote_bytes: result.sizes[range.clone()]
                .iter()
                .map(|&s| u64::from(s))
                .sum(),
            store_timestamp: result.store_timestamp,
            physical_offsets: result.physical_offsets[range.clone()].to_vec(),
            queue_offsets: result.queue_offsets[range.clone()].to_vec(),
            sizes: result.sizes[range].to_vec(),
        });
        start += count;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use soyuz_store::PutStatus;

    #[test]
    fn a_merged_result_is_split_per_request() {
        let merged = PutResult {
            status: PutStatus::PutOk,
            physical_offset: 100,
            queue_offset: 7,
            count: 3,
            wrote_bytes: 60,
            store_timestamp: 5,
            physical_offsets: vec![100, 120, 140],
            queue_offsets: vec![7, 0, 8],
            sizes: vec![20, 20, 20],
        };
        let parts = split(&merged, &[1, 2]);
        assert_eq!(parts[0].physical_offsets, [100]);
        assert_eq!((parts[1].physical_offset, parts[1].queue_offset), (120, 0));
        assert_eq!(parts[1].queue_offsets, [0, 8]);
        assert_eq!((parts[0].wrote_bytes, parts[1].wrote_bytes), (20, 40));
    }
}
