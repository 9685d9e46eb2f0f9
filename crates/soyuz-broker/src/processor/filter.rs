//! What a pull delivers: everything, messages with one of some tags, or messages whose
//! properties satisfy a SQL92 expression (`enablePropertyFilter`). Tags are checked by
//! hash in the ConsumeQueue first and then exactly; SQL92 is evaluated on each message's
//! properties.

use std::collections::HashSet;

use soyuz_filter::Expression;
use soyuz_model::java_hash::java_string_hash;
use soyuz_model::properties::{find_property_in_bytes, keys};
use soyuz_model::record::{view_record, RecordRef};
use soyuz_remoting::body::SubscriptionData;
use soyuz_remoting::{response_code, RemotingCommand};
use soyuz_store::TagFilter;

use crate::state::BrokerState;

/// A compiled subscription.
pub enum MessageFilter {
    /// `*`.
    All,
    /// One of these tags (trimmed from the expression, never the client's code set:
    /// some clients hash untrimmed tags, the C++ client sends `atoi(tag)`).
    Tags(HashSet<String>),
    /// A SQL92 expression over the message's properties.
    Sql(Expression),
}

impl MessageFilter {
    /// Compiles `subscription`, or answers as Java does: SYSTEM_ERROR when SQL92 is off,
    /// SUBSCRIPTION_PARSE_FAILED for a bad expression.
    pub fn compile(
        state: &BrokerState,
        request: &RemotingCommand,
        subscription: &SubscriptionData,
    ) -> Result<Self, RemotingCommand> {
        if subscription.is_sql92() {
            return sql(state, request, &subscription.sub_string).map(MessageFilter::Sql);
        }
        if subscription.is_all() {
            return Ok(MessageFilter::All);
        }
        Ok(MessageFilter::Tags(
            subscription.trimmed_tags().into_iter().collect(),
        ))
    }

    /// The filter the ConsumeQueue can apply by tag hash.
    pub fn store_filter(&self) -> TagFilter {
        match self {
            MessageFilter::Tags(tags) => TagFilter::Codes(
                tags.iter()
                    .map(|tag| i64::from(java_string_hash(tag)))
                    .collect(),
            ),
            MessageFilter::All | MessageFilter::Sql(_) => TagFilter::All,
        }
    }

    /// Whether a returned record passes the exact check.
    pub fn matches(&self, record: &[u8]) -> bool {
        if matches!(self, MessageFilter::All) {
            return true;
        }
        let Ok(RecordRef::Message(view)) = view_record(record, false) else {
            return false;
        };
        match self {
            MessageFilter::All => true,
            MessageFilter::Tags(tags) => find_property_in_bytes(view.properties, keys::TAGS)
                .is_some_and(|tag| tags.contains(tag)),
            MessageFilter::Sql(expression) => {
                expression.matches(&|name| find_property_in_bytes(view.properties, name))
            }
        }
    }

    /// Whether anything is filtered at all.
    pub fn is_all(&self) -> bool {
        matches!(self, MessageFilter::All)
    }
}

/// Parses a SQL92 expression for `request`, if the broker allows SQL92.
pub fn sql(
    state: &BrokerState,
    request: &RemotingCommand,
    text: &str,
) -> Result<Expression, RemotingCommand> {
    if !state.config.enable_property_filter {
        return Err(RemotingCommand::error(
            request,
            response_code::SYSTEM_ERROR,
            "The broker does not support consumer to filter message by SQL92",
        ));
    }
    Expression::parse(text).map_err(|e| {
        RemotingCommand::error(
            request,
            response_code::SUBSCRIPTION_PARSE_FAILED,
            format!("Parse the consumer's subscription[{text}] failed: {e}"),
        )
    })
}
