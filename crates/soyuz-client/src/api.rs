//! The consumer-side broker calls (`MQClientAPIImpl`): consumer lists, offsets, pulls and
//! sending failed messages back.

use std::time::Duration;

use soyuz_remoting::body::{
    decode_json, encode_json, ConsumerListByGroupResponseBody, LockBatchRequestBody,
    LockBatchResponseBody, UnlockBatchRequestBody,
};
use soyuz_remoting::headers::consumer::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader,
    SearchOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use soyuz_remoting::{request_code, response_code, RemotingCommand};

use crate::consumer::pull_result::{PullResult, PullStatus};
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::{decode_messages, MessageExt, MessageQueue};

impl ClientInstance {
    /// The client ids of `group`'s members, asked of a broker serving `topic`
    /// (`findConsumerIdList`).
    pub async fn consumer_id_list(&self, topic: &str, group: &str) -> Result<Vec<String>> {
        let addr = match self.any_broker_of(topic) {
            Some(addr) => addr,
            None => {
                self.update_route(topic).await?;
                self.any_broker_of(topic)
                    .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))?
            }
        };
        let header = GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_owned(),
        };
        let request =
            RemotingCommand::request_with_header(request_code::GET_CONSUMER_LIST_BY_GROUP, &header);
        let response = self.invoke_ok(&addr, request).await?;
        let body: ConsumerListByGroupResponseBody = decode_json(&response.body)?;
        Ok(body.consumer_id_list)
    }

    /// The group's committed offset of `queue`; `None` when the broker has none
    /// (QUERY_NOT_FOUND).
    pub async fn query_consumer_offset(
        &self,
        group: &str,
        queue: &MessageQueue,
    ) -> Result<Option<i64>> {
        let addr = self.master_addr_for(queue).await?;
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            set_zero_if_not_found: None,
            bname: Some(queue.broker_name.clone()),
        };
        let request =
            RemotingCommand::request_with_header(request_code::QUERY_CONSUMER_OFFSET, &header);
        let response = self
            .invoke(&addr, request, self.config().request_timeout)
            .await?;
        match response.code {
            response_code::SUCCESS => {
                let header: QueryConsumerOffsetResponseHeader = response.decode_header()?;
                Ok(Some(header.offset))
            }
            response_code::QUERY_NOT_FOUND => Ok(None),
            _ => Err(ClientError::broker(&response)),
        }
    }

    /// Commits the group's offset of `queue`, oneway as Java does.
    pub async fn update_consumer_offset_oneway(
        &self,
        group: &str,
        queue: &MessageQueue,
        offset: i64,
    ) -> Result<()> {
        let addr = self.master_addr_for(queue).await?;
        let request = RemotingCommand::request_with_header(
            request_code::UPDATE_CONSUMER_OFFSET,
            &update_offset_header(group, queue, offset),
        );
        Ok(self.remoting().invoke_oneway(&addr, request).await?)
    }

    /// Commits the group's offset of `queue` and waits for the broker.
    pub async fn update_consumer_offset(
        &self,
        group: &str,
        queue: &MessageQueue,
        offset: i64,
    ) -> Result<()> {
        let addr = self.master_addr_for(queue).await?;
        let request = RemotingCommand::request_with_header(
            request_code::UPDATE_CONSUMER_OFFSET,
            &update_offset_header(group, queue, offset),
        );
        self.invoke_ok(&addr, request).await.map(|_| ())
    }

    /// The next offset to be written in `queue` (GET_MAX_OFFSET).
    pub async fn max_offset(&self, queue: &MessageQueue) -> Result<i64> {
        let addr = self.master_addr_for(queue).await?;
        let header = GetMaxOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            committed: None,
            bname: Some(queue.broker_name.clone()),
        };
        let request = RemotingCommand::request_with_header(request_code::GET_MAX_OFFSET, &header);
        let response = self.invoke_ok(&addr, request).await?;
        Ok(response
            .decode_header::<GetMaxOffsetResponseHeader>()?
            .offset)
    }

    /// The smallest offset still readable in `queue` (GET_MIN_OFFSET).
    pub async fn min_offset(&self, queue: &MessageQueue) -> Result<i64> {
        let addr = self.master_addr_for(queue).await?;
        let header = GetMinOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            bname: Some(queue.broker_name.clone()),
        };
        let request = RemotingCommand::request_with_header(request_code::GET_MIN_OFFSET, &header);
        let response = self.invoke_ok(&addr, request).await?;
        Ok(response
            .decode_header::<GetMinOffsetResponseHeader>()?
            .offset)
    }

    /// The first offset of `queue` stored at or after `timestamp` ms
    /// (SEARCH_OFFSET_BY_TIMESTAMP, lower boundary).
    pub async fn search_offset(&self, queue: &MessageQueue, timestamp: i64) -> Result<i64> {
        let addr = self.master_addr_for(queue).await?;
        let header = SearchOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            timestamp,
            boundary_type: Some("lower".to_owned()),
            bname: Some(queue.broker_name.clone()),
        };
        let request =
            RemotingCommand::request_with_header(request_code::SEARCH_OFFSET_BY_TIMESTAMP, &header);
        let response = self.invoke_ok(&addr, request).await?;
        Ok(response
            .decode_header::<SearchOffsetResponseHeader>()?
            .offset)
    }

    /// Sends a failed message back to its broker for a later retry
    /// (CONSUMER_SEND_MSG_BACK).
    pub(crate) async fn consumer_send_msg_back(
        &self,
        message: &MessageExt,
        group: &str,
        delay_level: i32,
        max_reconsume_times: i32,
    ) -> Result<()> {
        let addr = match self.master_addr(&message.broker_name) {
            Some(addr) => addr,
            None => message.store_host.to_string(),
        };
        let header = ConsumerSendMsgBackRequestHeader {
            offset: message.commit_log_offset,
            group: group.to_owned(),
            delay_level,
            origin_msg_id: Some(message.msg_id()),
            origin_topic: Some(message.topic.clone()),
            unit_mode: Some(false),
            max_reconsume_times: Some(max_reconsume_times),
            bname: Some(message.broker_name.clone()),
        };
        let request =
            RemotingCommand::request_with_header(request_code::CONSUMER_SEND_MSG_BACK, &header);
        self.invoke_ok(&addr, request).await.map(|_| ())
    }

    /// One PULL_MESSAGE / LITE_PULL_MESSAGE exchange. Messages are decoded but not yet
    /// filtered (`PullAPIWrapper.processPullResult` does that).
    pub(crate) async fn pull_message(
        &self,
        queue: &MessageQueue,
        code: i32,
        header: PullMessageRequestHeader,
        timeout: Duration,
    ) -> Result<PullResult> {
        let addr = self.master_addr_for(queue).await?;
        let request = RemotingCommand::request_with_header(code, &header);
        let response = self.invoke(&addr, request, timeout).await?;
        let status = match response.code {
            response_code::SUCCESS => PullStatus::Found,
            response_code::PULL_NOT_FOUND => PullStatus::NoNewMsg,
            response_code::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
            response_code::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
            _ => return Err(ClientError::broker(&response)),
        };
        let header: PullMessageResponseHeader = response.decode_header()?;
        let messages = if status == PullStatus::Found {
            decode_messages(&response.body, &queue.broker_name).map_err(ClientError::Decode)?
        } else {
            Vec::new()
        };
        Ok(PullResult {
            status,
            next_begin_offset: header.next_begin_offset,
            min_offset: header.min_offset,
            max_offset: header.max_offset,
            messages,
        })
    }
}

fn update_offset_header(
    group: &str,
    queue: &MessageQueue,
    offset: i64,
) -> UpdateConsumerOffsetRequestHeader {
    UpdateConsumerOffsetRequestHeader {
        consumer_group: group.to_owned(),
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        commit_offset: offset,
        bname: Some(queue.broker_name.clone()),
    }
}

impl ClientInstance {
    /// Locks `queues` of one broker for `group` (LOCK_BATCH_MQ); returns the queues this
    /// client now holds (`lockBatchMQ`).
    pub(crate) async fn lock_batch_mq(
        &self,
        addr: &str,
        group: &str,
        queues: Vec<MessageQueue>,
    ) -> Result<Vec<MessageQueue>> {
        let body = LockBatchRequestBody {
            consumer_group: group.to_owned(),
            client_id: self.client_id().to_owned(),
            only_this_broker: false,
            mq_set: queues,
        };
        let request =
            RemotingCommand::request(request_code::LOCK_BATCH_MQ).with_body(encode_json(&body));
        let response = self.invoke_ok(addr, request).await?;
        let body: LockBatchResponseBody = decode_json(&response.body)?;
        Ok(body.lock_ok_mq_set)
    }

    /// Releases `queues` of one broker for `group` (UNLOCK_BATCH_MQ).
    pub(crate) async fn unlock_batch_mq(
        &self,
        addr: &str,
        group: &str,
        queues: Vec<MessageQueue>,
    ) -> Result<()> {
        let body = UnlockBatchRequestBody {
            consumer_group: group.to_owned(),
            client_id: self.client_id().to_owned(),
            only_this_broker: false,
            mq_set: queues,
        };
        let request =
            RemotingCommand::request(request_code::UNLOCK_BATCH_MQ).with_body(encode_json(&body));
        self.invoke_ok(addr, request).await.map(|_| ())
    }
}
