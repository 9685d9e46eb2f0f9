//! Reading answers: typed headers, stored records, offsets.

use std::collections::BTreeMap;

use soyuz_model::properties::decode_properties;
use soyuz_model::record::{decode_record, DecodedRecord, MessageRecord};
use soyuz_remoting::body::{decode_json, ConsumerListByGroupResponseBody};
use soyuz_remoting::headers::consumer::PullMessageResponseHeader;
use soyuz_remoting::headers::producer::SendMessageResponseHeader;
use soyuz_remoting::{response_code, RemotingCommand};

use super::assert_code;

/// A send answer's header.
pub fn send_header(response: &RemotingCommand) -> SendMessageResponseHeader {
    response.decode_header().expect("send response header")
}

/// A pull answer's header.
pub fn pull_header(response: &RemotingCommand) -> PullMessageResponseHeader {
    response.decode_header().expect("pull response header")
}

/// The `offset` field of an offset answer.
pub fn offset_of(response: &RemotingCommand) -> i64 {
    assert_code(response, response_code::SUCCESS);
    response
        .ext("offset")
        .expect("an offset field")
        .parse()
        .expect("a number")
}

/// The stored records in a pull or query answer body, back to back.
pub fn records(body: &[u8]) -> Vec<MessageRecord> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        match decode_record(rest, true).expect("a stored record") {
            DecodedRecord::Message(record, size) => {
                out.push(record);
                rest = &rest[size..];
            }
            DecodedRecord::Blank(_) => panic!("a blank record in an answer"),
        }
    }
    out
}

/// The one record in a VIEW_MESSAGE_BY_ID answer.
pub fn one_record(response: &RemotingCommand) -> MessageRecord {
    assert_code(response, response_code::SUCCESS);
    let mut all = records(&response.body);
    assert_eq!(all.len(), 1, "one record expected");
    all.remove(0)
}

/// The bodies of the records in an answer, as text.
pub fn bodies(response: &RemotingCommand) -> Vec<String> {
    records(&response.body)
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// A record's properties.
pub fn properties(record: &MessageRecord) -> BTreeMap<String, String> {
    decode_properties(&record.properties)
}

/// The client ids in a GET_CONSUMER_LIST_BY_GROUP answer, sorted.
pub fn consumer_ids(response: &RemotingCommand) -> Vec<String> {
    assert_code(response, response_code::SUCCESS);
    let body: ConsumerListByGroupResponseBody =
        decode_json(&response.body).expect("consumer list body");
    let mut ids = body.consumer_id_list;
    ids.sort();
    ids
}

/// Removes `field` from a request's header fields.
pub fn without_field(mut request: RemotingCommand, field: &str) -> RemotingCommand {
    assert!(
        request.ext_fields.remove(field).is_some(),
        "{field} was set"
    );
    request
}
