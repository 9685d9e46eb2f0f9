//! The queues a bench writes to or reads from, found the way a client finds them: the
//! topic's route from the NameServer, or TBW102's (at most 4 queues per broker) when the
//! topic does not exist yet and the broker will create it on the first send.

use std::time::Duration;

use soyuz_remoting::body::{decode_json, TopicRouteData};
use soyuz_remoting::headers::namesrv::GetRouteInfoRequestHeader;
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::RemotingClient;

use crate::BenchError;

/// One queue on one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchQueue {
    /// The master broker's address.
    pub broker_addr: String,
    /// Queue id.
    pub queue_id: i32,
}

async fn route(
    client: &RemotingClient,
    namesrv: &str,
    topic: &str,
) -> Result<Option<TopicRouteData>, BenchError> {
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: None,
    };
    let request =
        RemotingCommand::request_with_header(request_code::GET_ROUTEINFO_BY_TOPIC, &header);
    let response = client
        .invoke(namesrv, request, Duration::from_secs(5))
        .await?;
    match response.code {
        response_code::SUCCESS => Ok(Some(
            decode_json(&response.body).map_err(|e| BenchError::Protocol(e.to_string()))?,
        )),
        response_code::TOPIC_NOT_EXIST => Ok(None),
        code => Err(BenchError::Refused {
            code,
            remark: response.remark.as_deref().unwrap_or_default().to_owned(),
        }),
    }
}

/// The writable queues of `topic` (or of TBW102, capped at 4 per broker, when the topic
/// does not exist yet); `readable` picks read queues instead.
pub async fn queues(
    client: &RemotingClient,
    namesrv: &str,
    topic: &str,
    readable: bool,
) -> Result<Vec<BenchQueue>, BenchError> {
    let (data, cap) = match route(client, namesrv, topic).await? {
        Some(data) => (data, i32::MAX),
        None if !readable => match route(client, namesrv, "TBW102").await? {
            Some(data) => (data, 4),
            None => return Err(BenchError::NoRoute(topic.to_owned())),
        },
        None => return Err(BenchError::NoRoute(topic.to_owned())),
    };
    let mut queues = Vec::new();
    for queue_data in &data.queue_datas {
        let Some(addr) = data
            .broker_datas
            .iter()
            .find(|b| b.broker_name == queue_data.broker_name)
            .and_then(|b| b.broker_addrs.get(&0))
        else {
            continue;
        };
        let count = if readable {
            queue_data.read_queue_nums
        } else {
            queue_data.write_queue_nums
        };
        for queue_id in 0..count.min(cap) {
            queues.push(BenchQueue {
                broker_addr: addr.clone(),
                queue_id,
            });
        }
    }
    if queues.is_empty() {
        return Err(BenchError::NoRoute(topic.to_owned()));
    }
    Ok(queues)
}
