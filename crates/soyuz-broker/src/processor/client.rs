//! HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38) and
//! CHECK_CLIENT_CONFIG (46) (`ClientManageProcessor`, `ConsumerManageProcessor`), and
//! NOTIFY_CONSUMER_IDS_CHANGED (40), which the broker sends a group's members when the
//! group changes so they rebalance at once.

use std::sync::Arc;

use soyuz_model::names;
use soyuz_remoting::body::{
    decode_json, message_model, perm, CheckClientConfigBody, ConsumerListByGroupResponseBody,
    HeartbeatData,
};
use soyuz_remoting::headers::consumer::{
    GetConsumerListByGroupRequestHeader, NotifyConsumerIdsChangedRequestHeader,
};
use soyuz_remoting::headers::producer::UnregisterClientRequestHeader;
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::Channel;

use super::{header, json_response, Reply};
use crate::clients::{ClientChannel, ConsumerRegistration};
use crate::state::BrokerState;

/// HEART_BEAT: registers the client's producer and consumer groups. A consumer group
/// gets its `%RETRY%group` topic here, which registers its route with the NameServers.
pub fn heartbeat(state: &Arc<BrokerState>, channel: &Channel, request: &RemotingCommand) -> Reply {
    let data: HeartbeatData = decode_json(&request.body).map_err(|e| {
        RemotingCommand::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("bad heartbeat body: {e}"),
        )
    })?;
    let member = ClientChannel {
        channel: channel.clone(),
        client_id: data.client_id.clone(),
        language: request.language,
        version: request.version,
        last_update: state.clock.now_millis(),
    };
    for consumer in &data.consumer_data_set {
        if names::validate_group(&consumer.group_name).is_err() {
            tracing::warn!(group = %consumer.group_name, client = %data.client_id, "heartbeat with an invalid consumer group ignored");
            continue;
        }
        // A group that does not exist and may not be created is skipped, as in Java.
        let Some(group) = state.groups.find_or_create(&consumer.group_name) else {
            tracing::warn!(group = %consumer.group_name, client = %data.client_id, "heartbeat for an unknown consumer group ignored (autoCreateSubscriptionGroup=false)");
            continue;
        };
        let notify = group.notify_consumer_ids_changed_enable;
        let (_, created) = state.topics.get_or_create(
            &names::retry_topic(&consumer.group_name),
            group.retry_queue_nums,
            perm::READ | perm::WRITE,
            0,
        );
        if created {
            state.topics_changed();
        }
        let (joined, subscriptions_changed) = state.consumers.register(ConsumerRegistration {
            group: consumer.group_name.clone(),
            member: member.clone(),
            consume_type: consumer.consume_type.clone(),
            message_model: consumer.message_model.clone(),
            consume_from_where: consumer.consume_from_where.clone(),
            subscriptions: Some(consumer.subscription_data_set.clone()),
        });
        if joined {
            tracing::info!(group = %consumer.group_name, client = %data.client_id, "consumer joined");
        }
        if (joined || subscriptions_changed)
            && notify
            && consumer.message_model != message_model::BROADCASTING
        {
            notify_consumer_ids_changed(state, &consumer.group_name);
        }
    }
    for producer in &data.producer_data_set {
        state
            .producers
            .register(&producer.group_name, member.clone());
    }
    Ok(RemotingCommand::success(request))
}

/// UNREGISTER_CLIENT: the client leaves its groups; the remaining members of a consumer
/// group are told.
pub fn unregister_client(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let header: UnregisterClientRequestHeader = header(request)?;
    if let Some(group) = header.producer_group.as_deref().filter(|g| !g.is_empty()) {
        state.producers.unregister(group, channel.id());
    }
    if let Some(group) = header.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        if state.consumers.unregister(group, channel.id()) {
            tracing::info!(group, client = %header.client_id, "consumer left");
            notify_if_enabled(state, group);
        }
    }
    Ok(RemotingCommand::success(request))
}

/// GET_CONSUMER_LIST_BY_GROUP: the ids of the group's live members.
pub fn consumer_list_by_group(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let header: GetConsumerListByGroupRequestHeader = header(request)?;
    let ids = state
        .consumers
        .group(&header.consumer_group)
        .map(|info| info.client_ids())
        .unwrap_or_default();
    if ids.is_empty() {
        tracing::warn!(group = %header.consumer_group, asker = %channel.remote_addr(), "no consumer for this group");
        return Err(RemotingCommand::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("no consumer for this group, {}", header.consumer_group),
        ));
    }
    Ok(json_response(
        request,
        &ConsumerListByGroupResponseBody {
            consumer_id_list: ids,
        },
    ))
}

/// CHECK_CLIENT_CONFIG: whether a subscription's expression can be served. Tag
/// expressions always can; SQL92 needs `enablePropertyFilter`.
pub fn check_client_config(
    state: &Arc<BrokerState>,
    _channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let body: CheckClientConfigBody = decode_json(&request.body).map_err(|e| {
        RemotingCommand::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("bad body: {e}"),
        )
    })?;
    let Some(subscription) = body.subscription_data else {
        return Ok(RemotingCommand::success(request));
    };
    if subscription.is_tag_type() {
        return Ok(RemotingCommand::success(request));
    }
    if !subscription.is_sql92() {
        return Err(RemotingCommand::error(
            request,
            response_code::SYSTEM_ERROR,
            format!(
                "The broker does not support consumer to filter message by {}",
                subscription.expression_type
            ),
        ));
    }
    super::filter::sql(state, request, &subscription.sub_string)?;
    Ok(RemotingCommand::success(request))
}

/// A connection closed: it leaves every group, and consumer groups it left are told.
pub fn on_channel_closed(state: &Arc<BrokerState>, channel: &Channel) {
    state.producers.on_channel_closed(channel.id());
    for group in state.consumers.on_channel_closed(channel.id()) {
        tracing::info!(group, peer = %channel.remote_addr(), "consumer channel closed");
        notify_if_enabled(state, &group);
    }
}

/// Tells the group's members, unless the group turned notifications off.
pub fn notify_if_enabled(state: &Arc<BrokerState>, group: &str) {
    let enabled = state
        .groups
        .get(group)
        .is_none_or(|config| config.notify_consumer_ids_changed_enable);
    let broadcasting = state
        .consumers
        .group(group)
        .is_some_and(|info| info.message_model == message_model::BROADCASTING);
    if enabled && !broadcasting {
        notify_consumer_ids_changed(state, group);
    }
}

/// Sends NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every member of `group`.
pub fn notify_consumer_ids_changed(state: &Arc<BrokerState>, group: &str) {
    let Some(info) = state.consumers.group(group) else {
        return;
    };
    let header = NotifyConsumerIdsChangedRequestHeader {
        consumer_group: group.to_owned(),
    };
    for member in info.channels.into_values() {
        let request = RemotingCommand::request_with_header(
            request_code::NOTIFY_CONSUMER_IDS_CHANGED,
            &header,
        );
        tokio::spawn(async move {
            if let Err(e) = member.channel.invoke_oneway(request).await {
                tracing::debug!(client = %member.client_id, error = %e, "could not notify a consumer");
            }
        });
    }
}
