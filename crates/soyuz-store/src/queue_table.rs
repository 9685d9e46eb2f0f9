//! Every topic-queue's ConsumeQueue, opened on first use.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::consume_queue::ConsumeQueue;
use crate::error::{IoContext, StoreError};
use crate::io::StoreFs;

/// The ConsumeQueues under `consumequeue/`.
pub struct QueueTable {
    fs: Arc<dyn StoreFs>,
    root: PathBuf,
    file_size: u64,
    queues: RwLock<HashMap<(String, i32), Arc<ConsumeQueue>>>,
}

impl QueueTable {
    /// Opens every ConsumeQueue already on disk.
    pub fn load(fs: Arc<dyn StoreFs>, root: &Path, file_size: u64) -> Result<Self, StoreError> {
        let table = Self {
            fs: fs.clone(),
            root: root.to_owned(),
            file_size,
            queues: RwLock::new(HashMap::new()),
        };
        for topic_dir in fs.list(root).io_context("list consume queues", root)? {
            let Some(topic) = topic_dir
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
            else {
                continue;
            };
            for queue_dir in fs
                .list(&topic_dir)
                .io_context("list consume queues", &topic_dir)?
            {
                let Some(queue_id) = queue_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse::<i32>().ok())
                else {
                    continue;
                };
                table.get_or_open(&topic, queue_id)?;
            }
        }
        Ok(table)
    }

    /// The queue, if it exists.
    pub fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .get(&(topic.to_owned(), queue_id))
            .cloned()
    }

    /// The queue, opened (and so created on first write) if needed. Topic names reach
    /// paths here, so callers must have validated them.
    pub fn get_or_open(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(queue) = self.get(topic, queue_id) {
            return Ok(queue);
        }
        let mut queues = self.queues.write();
        if let Some(queue) = queues.get(&(topic.to_owned(), queue_id)) {
            return Ok(queue.clone());
        }
        let queue = Arc::new(ConsumeQueue::open(
            self.fs.clone(),
            &self.root,
            topic,
            queue_id,
            self.file_size,
        )?);
        queues.insert((topic.to_owned(), queue_id), queue.clone());
        Ok(queue)
    }

    /// Every queue.
    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues.read().values().cloned().collect()
    }
}
