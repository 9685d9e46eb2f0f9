//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320)
//! (`SendMessageProcessor`): check the topic and queue, auto-create the topic from its
//! default topic, complete the properties (UNIQ_KEY, CLUSTER), redirect retries that
//! ran out of attempts to the DLQ, store, and answer with the offset message id.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use soyuz_model::msg_id::encode_offset_msg_id;
use soyuz_model::names::{self, RETRY_GROUP_TOPIC_PREFIX};
use soyuz_model::properties::{
    decode_properties, encode_properties, find_properties, find_property, keys,
    NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR,
};
use soyuz_model::record::{decode_batch, MessageRecord};
use soyuz_model::uniq_id::UniqIdGenerator;
use soyuz_remoting::body::{perm, TopicConfig};
use soyuz_remoting::headers::producer::{SendMessageRequestHeader, SendMessageResponseHeader};
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_store::{PutResult, PutStatus};
use soyuz_transport::{Channel, Responder};

use super::store_error;
use crate::state::BrokerState;
use crate::timer;

/// Topics no client may send to (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
const NOT_ALLOWED_SEND_TOPICS: &[&str] = &[
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Queues of a DLQ topic (`MixAll.DLQ_NUMS_PER_GROUP`).
const DLQ_QUEUES: i32 = 1;

fn uniq_ids() -> &'static UniqIdGenerator {
    static IDS: OnceLock<UniqIdGenerator> = OnceLock::new();
    IDS.get_or_init(|| UniqIdGenerator::new(std::net::Ipv4Addr::LOCALHOST))
}

/// Where a checked send goes.
struct Target {
    topic: String,
    queue_id: i32,
    /// Properties every stored message gets on top of its own.
    extra_properties: BTreeMap<String, String>,
}

/// Handles the three send codes: checks and builds the records on the connection's
/// reader, then hands them to the put thread, which answers when they are stored.
pub fn send_message(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: RemotingCommand,
    responder: Responder,
) {
    let (records, target, uniq_key) = match prepare(state, channel, &request) {
        Ok(prepared) => prepared,
        Err(error) => return responder.respond(Some(error)),
    };
    let state_for_answer = state.clone();
    state.appender.submit(
        records,
        Box::new(move |stored| {
            let response = match stored {
                Ok(put) => respond(&state_for_answer, &request, &target, &put, uniq_key),
                Err(e) => store_error(&request, &e),
            };
            responder.respond(Some(response));
        }),
    );
}

/// Everything before the store: the header, the checks, the records and where they
/// wait, and the unique key a single message's answer carries.
fn prepare(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
) -> Result<(Vec<MessageRecord>, Target, Option<String>), RemotingCommand> {
    let header = match SendMessageRequestHeader::parse(request.code, &request.ext_fields) {
        Ok(Some(header)) => header,
        Ok(None) => unreachable_code(request)?,
        Err(e) => {
            return Err(RemotingCommand::error(
                request,
                response_code::SYSTEM_ERROR,
                e.to_string(),
            ))
        }
    };
    let topic_config = check_message(state, channel, request, &header)?;
    let target = choose_target(state, request, &header, &topic_config)?;
    let mut records = build_records(state, channel, request, &header, &target)?;
    let uniq_key = (records.len() == 1)
        .then(|| property(&records[0].properties, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX))
        .flatten();
    park(state, request, &mut records)?;
    Ok((records, target, uniq_key))
}

fn unreachable_code(
    request: &RemotingCommand,
) -> Result<SendMessageRequestHeader, RemotingCommand> {
    Err(RemotingCommand::error(
        request,
        response_code::REQUEST_CODE_NOT_SUPPORTED,
        format!(" request type {} not supported", request.code),
    ))
}

/// `AbstractSendMessageProcessor.msgCheck`: broker permission, topic name, topic
/// existence (creating it from the default topic when allowed), queue id.
fn check_message(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, RemotingCommand> {
    let error = |code, remark: String| RemotingCommand::error(request, code, remark);
    super::check_writeable(state, request)?;
    if let Err(e) = names::validate_topic(&header.topic) {
        return Err(error(response_code::INVALID_PARAMETER, e.to_string()));
    }
    if NOT_ALLOWED_SEND_TOPICS.contains(&header.topic.as_str()) {
        return Err(error(
            response_code::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", header.topic),
        ));
    }
    let topic_config = match state.topics.get(&header.topic) {
        Some(config) => config,
        None => create_topic(state, channel, request, header)?,
    };
    let valid_ids = topic_config
        .write_queue_nums
        .max(topic_config.read_queue_nums);
    if header.queue_id >= valid_ids {
        return Err(error(
            response_code::INVALID_PARAMETER,
            format!(
                "request queueId[{}] is illegal, topic {} has {} queues, producer: {}",
                header.queue_id,
                header.topic,
                valid_ids,
                channel.remote_addr()
            ),
        ));
    }
    Ok(topic_config)
}

fn create_topic(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, RemotingCommand> {
    tracing::warn!(topic = %header.topic, producer = %channel.remote_addr(), "the topic does not exist");
    let created = state
        .topics
        .create_on_send(
            &header.topic,
            &header.default_topic,
            header.default_topic_queue_nums,
            0,
        )
        .or_else(|| {
            header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX).then(|| {
                state
                    .topics
                    .get_or_create(&header.topic, 1, perm::READ | perm::WRITE, 0)
            })
        });
    match created {
        Some((config, new)) => {
            if new {
                state.topics_changed();
            }
            Ok(config)
        }
        None => Err(RemotingCommand::error(
            request,
            response_code::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", header.topic),
        )),
    }
}

/// Picks the queue, and sends retries that used up their attempts to the group's DLQ
/// (`handleRetryAndDLQ`).
fn choose_target(
    state: &Arc<BrokerState>,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
    topic_config: &TopicConfig,
) -> Result<Target, RemotingCommand> {
    let mut target = Target {
        topic: header.topic.clone(),
        queue_id: if header.queue_id < 0 {
            random_queue(topic_config.write_queue_nums)
        } else {
            header.queue_id
        },
        extra_properties: BTreeMap::new(),
    };
    let Some(group) = header.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
        return Ok(target);
    };
    let Some(group_config) = state.groups.find_or_create(group) else {
        return Err(RemotingCommand::error(
            request,
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {group}"),
        ));
    };
    let max_reconsume_times = header
        .max_reconsume_times
        .unwrap_or(group_config.retry_max_times);
    // A group still consuming in order must not see a retry out of order: Java sends it
    // to the DLQ at once.
    let orderly_locked = !state.locks.all_expired(group, state.clock.now_millis());
    if header.reconsume_times_or_zero() > max_reconsume_times || orderly_locked {
        let dlq = names::dlq_topic(group);
        let (_, created) =
            state
                .topics
                .get_or_create(&dlq, DLQ_QUEUES, perm::READ | perm::WRITE, 0);
        if created {
            state.topics_changed();
        }
        tracing::info!(group, "retry attempts used up, message goes to {dlq}");
        target.topic = dlq;
        target.queue_id = random_queue(DLQ_QUEUES);
        target
            .extra_properties
            .insert(keys::DELAY_TIME_LEVEL.to_owned(), "-1".to_owned());
    }
    Ok(target)
}

fn random_queue(queues: i32) -> i32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(0x9E37_79B9, Ordering::Relaxed);
    (n % queues.max(1) as u32) as i32
}

/// The records to store: one, or each message of a batch.
fn build_records(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
    target: &Target,
) -> Result<Vec<MessageRecord>, RemotingCommand> {
    let body = request.body.clone();
    let template = MessageRecord {
        topic: target.topic.clone(),
        queue_id: target.queue_id,
        flag: header.flag,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: channel.remote_addr(),
        store_timestamp: 0,
        store_host: state.addr(),
        reconsume_times: header.reconsume_times_or_zero(),
        prepared_transaction_offset: 0,
        body: Bytes::new(),
        properties: String::new(),
    };
    let outer = header.properties.as_deref().unwrap_or_default();
    if request.code == request_code::SEND_BATCH_MESSAGE {
        let items = decode_batch(&body).map_err(|e| {
            RemotingCommand::error(request, response_code::MESSAGE_ILLEGAL, e.to_string())
        })?;
        if items.is_empty() {
            return Err(RemotingCommand::error(
                request,
                response_code::MESSAGE_ILLEGAL,
                "the batch holds no messages",
            ));
        }
        items
            .into_iter()
            .map(|item| {
                let mut record = template.clone();
                record.flag = item.flag;
                record.body = item.body;
                record.properties =
                    complete_properties(state, request, &item.properties, outer, target)?;
                Ok(record)
            })
            .collect()
    } else {
        let mut record = template;
        record.body = body;
        record.properties = complete_properties(state, request, outer, "", target)?;
        Ok(vec![record])
    }
}

/// The message's properties with the batch-level ones, a UNIQ_KEY if the client sent
/// none, and the cluster name.
fn complete_properties(
    state: &BrokerState,
    request: &RemotingCommand,
    own: &str,
    outer: &str,
    target: &Target,
) -> Result<String, RemotingCommand> {
    // One pass over each string for every key this needs; the message's own value wins.
    let wanted = [
        keys::TRANSACTION_PREPARED,
        timer::TIMER_DELIVER_MS,
        timer::TIMER_DELAY_SEC,
        timer::TIMER_DELAY_MS,
        keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
    ];
    let mine = find_properties(own, wanted);
    let [prepared, deliver_ms, delay_sec, delay_ms, _] = if outer.is_empty() {
        mine
    } else {
        let batch = find_properties(outer, wanted);
        std::array::from_fn(|i| mine[i].or(batch[i]))
    };
    if state.config.reject_transaction_message
        && prepared.is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(RemotingCommand::error(
            request,
            response_code::NO_PERMISSION,
            format!(
                "the broker[{}] sending transaction message is forbidden",
                state.addr().ip()
            ),
        ));
    }
    if !state.config.timer_wheel_enable
        && (deliver_ms.is_some() || delay_sec.is_some() || delay_ms.is_some())
    {
        return Err(RemotingCommand::error(
            request,
            response_code::SYSTEM_ERROR,
            "accurate timer message is not enabled, timerWheelEnable is false",
        ));
    }
    let cluster = &state.config.broker_cluster_name;
    if outer.is_empty() && target.extra_properties.is_empty() {
        // The common case, without building a map: a later duplicate wins when the
        // string is read, so appending CLUSTER overrides one the client sent.
        let mut properties = String::with_capacity(own.len() + cluster.len() + 48);
        properties.push_str(own);
        if !properties.is_empty() && !properties.ends_with(PROPERTY_SEPARATOR) {
            properties.push(PROPERTY_SEPARATOR);
        }
        if mine[4].is_none_or(str::is_empty) {
            push_property(
                &mut properties,
                keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                &uniq_ids().next_id(),
            );
        }
        push_property(&mut properties, keys::CLUSTER, cluster);
        return Ok(properties);
    }
    let mut properties = decode_properties(own);
    for (key, value) in decode_properties(outer) {
        properties.entry(key).or_insert(value);
    }
    properties.extend(target.extra_properties.clone());
    if properties
        .get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .is_none_or(String::is_empty)
    {
        properties.insert(
            keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX.to_owned(),
            uniq_ids().next_id(),
        );
    }
    properties.insert(keys::CLUSTER.to_owned(), cluster.clone());
    Ok(encode_properties(&properties))
}

/// Where a message waits before consumers may see it.
enum Parking {
    /// Nowhere: it is stored on its topic.
    Visible,
    /// A prepared transactional message: the half topic, until END_TRANSACTION.
    Half,
    /// A delay level: the schedule topic.
    Delay(i32),
    /// A 5.x timer: the timer topic, until this time (epoch ms).
    Timer(i64),
}

/// Decides, from one pass over the properties, where `record` waits. Java's order: a
/// prepared message is a half message (unless it is a client-side retry with a delay);
/// then a delay level; then a timer. Half messages are never delayed (Java's producer
/// drops the level).
fn parking(state: &BrokerState, record: &MessageRecord) -> Result<Parking, String> {
    let [prepared, delay, deliver_ms, delay_sec, delay_ms] = find_properties(
        &record.properties,
        [
            keys::TRANSACTION_PREPARED,
            keys::DELAY_TIME_LEVEL,
            timer::TIMER_DELIVER_MS,
            timer::TIMER_DELAY_SEC,
            timer::TIMER_DELAY_MS,
        ],
    );
    let level = delay
        .and_then(|l| l.trim().parse::<i32>().ok())
        .unwrap_or(0);
    let prepared = prepared.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if prepared && !(record.reconsume_times > 0 && level > 0) {
        return Ok(Parking::Half);
    }
    if level > 0 {
        return Ok(Parking::Delay(level));
    }
    if delay.is_some() {
        return Ok(Parking::Visible);
    }
    let request = timer::TimerRequest {
        deliver_ms,
        delay_sec,
        delay_ms,
    };
    if !request.is_timer() {
        return Ok(Parking::Visible);
    }
    let due = timer::due_time(
        request,
        state.clock.now_millis(),
        state.config.timer_precision_ms,
        state.config.timer_max_delay_sec.saturating_mul(1000),
    )?;
    Ok(due.map_or(Parking::Visible, Parking::Timer))
}

/// Moves each record that must wait to where it waits; a timer too far ahead is
/// MESSAGE_ILLEGAL.
fn park(
    state: &BrokerState,
    request: &RemotingCommand,
    records: &mut [MessageRecord],
) -> Result<(), RemotingCommand> {
    for record in records {
        let parking = parking(state, record).map_err(|reason| {
            RemotingCommand::error(request, response_code::MESSAGE_ILLEGAL, reason)
        })?;
        match parking {
            Parking::Visible => {}
            Parking::Half => crate::transaction::to_half(record),
            Parking::Delay(level) => state.schedule.park(record, level),
            Parking::Timer(due) => timer::park(record, due),
        }
    }
    Ok(())
}

fn push_property(properties: &mut String, name: &str, value: &str) {
    properties.push_str(name);
    properties.push(NAME_VALUE_SEPARATOR);
    properties.push_str(value);
    properties.push(PROPERTY_SEPARATOR);
}

fn property(encoded: &str, key: &str) -> Option<String> {
    find_property(encoded, key).map(str::to_owned)
}

/// `handlePutMessageResult`: the offset message id(s), queue and offset, the region and
/// trace switch.
fn respond(
    state: &BrokerState,
    request: &RemotingCommand,
    target: &Target,
    put: &PutResult,
    uniq_key: Option<String>,
) -> RemotingCommand {
    let store_host = state.addr();
    let msg_id = put
        .physical_offsets
        .iter()
        .map(|&offset| encode_offset_msg_id(store_host, offset as i64))
        .collect::<Vec<_>>()
        .join(",");
    let code = match put.status {
        PutStatus::PutOk => response_code::SUCCESS,
        PutStatus::FlushDiskTimeout => response_code::FLUSH_DISK_TIMEOUT,
    };
    let header = SendMessageResponseHeader {
        msg_id,
        queue_id: target.queue_id,
        queue_offset: put.queue_offset,
        transaction_id: uniq_key,
        batch_uniq_id: None,
        recall_handle: None,
        msg_region: Some(state.config.region_id.clone()),
        trace_on: Some(state.config.trace_on),
    };
    RemotingCommand::response_to(request, code, None).with_header(&header)
}
