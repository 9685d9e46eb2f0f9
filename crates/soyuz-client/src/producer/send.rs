//! The send path shared by every producer call and by the consumer's retry fallback
//! (`DefaultMQProducerImpl.sendDefaultImpl` / `sendKernelImpl`, `MQClientAPIImpl.sendMessage`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use soyuz_model::names::{self, AUTO_CREATE_TOPIC_KEY, RETRY_GROUP_TOPIC_PREFIX};
use soyuz_model::properties::{encode_properties, keys};
use soyuz_model::sys_flag;
use soyuz_model::uniq_id::UniqIdGenerator;
use soyuz_remoting::headers::producer::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use tokio::time::Instant;

use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, DEFAULT_TOPIC_QUEUE_NUMS};
use crate::message::{deflate, property, Message, MessageQueue};

/// How a send completed (`SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored.
    SendOk,
    /// Stored, but the sync flush timed out.
    FlushDiskTimeout,
    /// Stored, but replication to the slave timed out.
    FlushSlaveTimeout,
    /// Stored, but no slave was available for sync replication.
    SlaveNotAvailable,
}

/// What a successful send returns (`SendResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// How the broker stored it.
    pub status: SendStatus,
    /// The message's unique key (`UNIQ_KEY`); for a batch, every key joined by commas.
    pub msg_id: String,
    /// The broker's offset message id(s), comma-joined for a batch.
    pub offset_msg_id: String,
    /// The queue the message went to.
    pub message_queue: MessageQueue,
    /// Its offset in that queue (the first one, for a batch).
    pub queue_offset: i64,
    /// The transaction id, when the broker reports one.
    pub transaction_id: Option<String>,
}

/// Response codes after which a send is tried again on another broker
/// (`DefaultMQProducer.retryResponseCodes`).
pub const RETRY_RESPONSE_CODES: &[i32] = &[
    response_code::TOPIC_NOT_EXIST,
    response_code::SERVICE_NOT_AVAILABLE,
    response_code::SYSTEM_ERROR,
    response_code::SYSTEM_BUSY,
    response_code::NO_PERMISSION,
    response_code::NO_BUYER_ID,
    response_code::NOT_IN_CURRENT_UNIT,
];

/// Whether a failed attempt may be retried on another queue.
pub(crate) fn retryable(error: &ClientError) -> bool {
    match error {
        ClientError::Broker { code, .. } => RETRY_RESPONSE_CODES.contains(code),
        ClientError::Transport(_) | ClientError::NoBrokerAddr(_) => true,
        _ => false,
    }
}

/// The process's `UNIQ_KEY` generator.
pub(crate) fn next_uniq_id() -> String {
    static IDS: OnceLock<UniqIdGenerator> = OnceLock::new();
    IDS.get_or_init(|| {
        let ip = match crate::config::local_ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(_) => Ipv4Addr::LOCALHOST,
        };
        UniqIdGenerator::new(ip)
    })
    .next_id()
}

/// How the kernel sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Wait for the broker's answer.
    Sync,
    /// Fire and forget.
    Oneway,
}

/// Settings the send path needs from the producer.
#[derive(Debug, Clone)]
pub(crate) struct SendSettings {
    pub group: String,
    pub timeout: Duration,
    pub compress_over: usize,
    pub max_message_size: usize,
}

/// A message ready for the wire: body possibly compressed, properties encoded.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub topic: String,
    pub body: Bytes,
    pub flag: i32,
    pub sys_flag: i32,
    pub properties: String,
    pub batch: bool,
    /// The UNIQ_KEY(s) reported as the SendResult's msg_id.
    pub msg_id: String,
    pub reconsume_times: Option<i32>,
    pub max_reconsume_times: Option<i32>,
}

/// Checks a message and prepares it (`Validators.checkMessage`, `setUniqID`, compression).
pub(crate) fn prepare(message: &mut Message, settings: &SendSettings) -> Result<Prepared> {
    check_topic(&message.topic)?;
    if message.body.is_empty() {
        return Err(ClientError::InvalidArgument(
            "the message body length is zero".into(),
        ));
    }
    if message.body.len() > settings.max_message_size {
        return Err(ClientError::InvalidArgument(format!(
            "the message body size over max value, MAX: {}",
            settings.max_message_size
        )));
    }
    let msg_id = message
        .properties
        .entry(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX.to_owned())
        .or_insert_with(next_uniq_id)
        .clone();
    let mut sys_flag = 0;
    let mut body = message.body.clone();
    if body.len() > settings.compress_over {
        let compressed = deflate(&body);
        if compressed.len() < body.len() {
            body = compressed;
            sys_flag |= sys_flag::COMPRESSED | sys_flag::COMPRESSION_ZLIB_TYPE;
        }
    }
    if message.property(keys::TRANSACTION_PREPARED) == Some("true") {
        sys_flag |= sys_flag::TRANSACTION_PREPARED_TYPE;
    }
    let retry = message.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
    let number = |key: &str| {
        retry
            .then(|| message.property(key).and_then(|v| v.parse::<i32>().ok()))
            .flatten()
    };
    Ok(Prepared {
        topic: message.topic.clone(),
        body,
        flag: message.flag,
        sys_flag,
        properties: encode_properties(&message.properties),
        batch: false,
        msg_id,
        reconsume_times: number(property::RECONSUME_TIME),
        max_reconsume_times: number(property::MAX_RECONSUME_TIMES),
    })
}

/// Prepares an encoded batch.
pub(crate) fn prepare_batch(messages: &mut [Message], settings: &SendSettings) -> Result<Prepared> {
    let batch = super::batch::encode(messages, next_uniq_id)?;
    check_topic(&batch.topic)?;
    if batch.body.len() > settings.max_message_size {
        return Err(ClientError::InvalidArgument(format!(
            "the batch size over max value, MAX: {}",
            settings.max_message_size
        )));
    }
    let mut outer = BTreeMap::new();
    outer.insert(
        keys::WAIT_STORE_MSG_OK.to_owned(),
        batch.wait_store_msg_ok.to_string(),
    );
    Ok(Prepared {
        topic: batch.topic,
        body: batch.body,
        flag: 0,
        sys_flag: 0,
        properties: encode_properties(&outer),
        batch: true,
        msg_id: batch.uniq_keys.join(","),
        reconsume_times: None,
        max_reconsume_times: None,
    })
}

fn check_topic(topic: &str) -> Result<()> {
    names::validate_topic(topic).map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
    if topic == AUTO_CREATE_TOPIC_KEY {
        return Err(ClientError::InvalidArgument(format!(
            "the topic[{topic}] is conflict with AUTO_CREATE_TOPIC_KEY_TOPIC"
        )));
    }
    Ok(())
}

/// One attempt on one queue (`sendKernelImpl`). `Ok(None)` for oneway.
pub(crate) async fn send_kernel(
    instance: &ClientInstance,
    settings: &SendSettings,
    prepared: &Prepared,
    queue: &MessageQueue,
    mode: Mode,
    timeout: Duration,
) -> Result<Option<SendResult>> {
    let addr = instance.master_addr_for(queue).await?;
    let header = SendMessageRequestHeader {
        producer_group: settings.group.clone(),
        topic: prepared.topic.clone(),
        default_topic: AUTO_CREATE_TOPIC_KEY.to_owned(),
        default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
        queue_id: queue.queue_id,
        sys_flag: prepared.sys_flag,
        born_timestamp: crate::util::now_millis(),
        flag: prepared.flag,
        properties: Some(prepared.properties.clone()),
        reconsume_times: Some(prepared.reconsume_times.unwrap_or(0)),
        unit_mode: Some(false),
        batch: Some(prepared.batch),
        max_reconsume_times: prepared.max_reconsume_times,
        bname: Some(queue.broker_name.clone()),
    };
    let code = if prepared.batch {
        request_code::SEND_BATCH_MESSAGE
    } else {
        request_code::SEND_MESSAGE_V2
    };
    let request =
        RemotingCommand::request_with_header(code, &SendMessageRequestHeaderV2::from(&header))
            .with_body(prepared.body.clone());
    if mode == Mode::Oneway {
        instance.remoting().invoke_oneway(&addr, request).await?;
        return Ok(None);
    }
    let response = instance.invoke(&addr, request, timeout).await?;
    let status = match response.code {
        response_code::SUCCESS => SendStatus::SendOk,
        response_code::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
        response_code::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
        response_code::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
        _ => return Err(ClientError::broker(&response)),
    };
    let header: SendMessageResponseHeader = response.decode_header()?;
    Ok(Some(SendResult {
        status,
        msg_id: prepared.msg_id.clone(),
        offset_msg_id: header.msg_id,
        message_queue: MessageQueue::new(
            prepared.topic.clone(),
            queue.broker_name.clone(),
            header.queue_id,
        ),
        queue_offset: header.queue_offset,
        transaction_id: header.transaction_id,
    }))
}

/// Sends with retries on other queues (`sendDefaultImpl`): up to `times` attempts,
/// avoiding the broker that just failed, within `settings.timeout` overall.
pub(crate) async fn send_with_retries(
    instance: &Arc<ClientInstance>,
    settings: &SendSettings,
    prepared: &Prepared,
    mode: Mode,
    times: u32,
) -> Result<Option<SendResult>> {
    let deadline = Instant::now() + settings.timeout;
    let info = instance.publish_info(&prepared.topic).await?;
    let mut last_broker: Option<String> = None;
    let mut last_error = ClientError::NoRoute(prepared.topic.clone());
    for attempt in 0..times.max(1) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        let Some(queue) = info.select_queue(last_broker.as_deref()) else {
            break;
        };
        match send_kernel(instance, settings, prepared, &queue, mode, remaining).await {
            Ok(result) => return Ok(result),
            Err(error) if retryable(&error) => {
                tracing::warn!(topic = %prepared.topic, broker = %queue.broker_name, attempt, %error, "send failed, trying another queue");
                last_broker = Some(queue.broker_name.clone());
                last_error = error;
            }
            Err(error) => return Err(error),
        }
    }
    Err(last_error)
}
