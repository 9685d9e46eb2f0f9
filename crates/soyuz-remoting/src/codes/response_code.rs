//! `ResponseCode`: the numbers of Apache RocketMQ's `RemotingSysResponseCode.java` and
//! `ResponseCode.java` (develop / 5.3.x).

code_table! {
    /// Response codes (`RemotingSysResponseCode.java` then `ResponseCode.java`), the `code`
    /// of a response `RemotingCommand`.
    ///
    /// Names are the Java constant names, typos included. The client-side-only codes
    /// (`RPC_UNKNOWN` -1000, `RPC_ADDR_IS_NULL` -1002, `RPC_SEND_TO_CHANNEL_FAILED` -1004,
    /// `RPC_TIME_OUT` -1006) never travel on the wire and are left out.
    pub mod response_code: i32 {
        // ---- Remoting system codes (RemotingSysResponseCode) ----
        /// The request succeeded.
        SUCCESS = 0,
        /// Unexpected server-side error; details in the remark.
        SYSTEM_ERROR = 1,
        /// The server is overloaded (e.g. a full request queue); retry later.
        SYSTEM_BUSY = 2,
        /// The server has no processor for this request code.
        REQUEST_CODE_NOT_SUPPORTED = 3,
        /// A transaction operation failed.
        TRANSACTION_FAILED = 4,

        // ---- Store and send ----
        /// Sync flush to disk timed out; the message is stored but maybe not durable.
        FLUSH_DISK_TIMEOUT = 10,
        /// Sync replication: no slave is available.
        SLAVE_NOT_AVAILABLE = 11,
        /// Sync replication to the slave timed out.
        FLUSH_SLAVE_TIMEOUT = 12,
        /// The message is invalid (too large, bad properties, ...).
        MESSAGE_ILLEGAL = 13,
        /// The service is not available (e.g. a slave, or a store shutting down).
        SERVICE_NOT_AVAILABLE = 14,
        /// The client version is not supported.
        VERSION_NOT_SUPPORTED = 15,
        /// The broker or topic denies this operation (permission).
        NO_PERMISSION = 16,
        /// The topic does not exist.
        TOPIC_NOT_EXIST = 17,
        /// The topic already exists.
        TOPIC_EXIST_ALREADY = 18,

        // ---- Pull and query ----
        /// Pull: no new message found (yet).
        PULL_NOT_FOUND = 19,
        /// Pull: retry the pull immediately.
        PULL_RETRY_IMMEDIATELY = 20,
        /// Pull: the requested offset is illegal; use the suggested next offset.
        PULL_OFFSET_MOVED = 21,
        /// Query: nothing found (message, offset, config...).
        QUERY_NOT_FOUND = 22,

        // ---- Subscription and filter ----
        /// The subscription expression could not be parsed.
        SUBSCRIPTION_PARSE_FAILED = 23,
        /// The broker has no subscription for this group and topic.
        SUBSCRIPTION_NOT_EXIST = 24,
        /// The client's subscription is older than the broker's.
        SUBSCRIPTION_NOT_LATEST = 25,
        /// The subscription group does not exist.
        SUBSCRIPTION_GROUP_NOT_EXIST = 26,
        /// The filter data (e.g. SQL92 bloom data) does not exist.
        FILTER_DATA_NOT_EXIST = 27,
        /// The filter data is older than the subscription.
        FILTER_DATA_NOT_LATEST = 28,
        /// A request parameter is invalid.
        INVALID_PARAMETER = 29,

        // ---- Transaction ----
        /// Transaction check: the transaction should be committed.
        TRANSACTION_SHOULD_COMMIT = 200,
        /// Transaction check: the transaction should be rolled back.
        TRANSACTION_SHOULD_ROLLBACK = 201,
        /// Transaction check: the state is still unknown.
        TRANSACTION_STATE_UNKNOW = 202,
        /// Transaction check: the producer group is wrong.
        TRANSACTION_STATE_GROUP_WRONG = 203,

        // ---- Unit / client ----
        /// Unit routing: the message has no buyer id.
        NO_BUYER_ID = 204,
        /// Unit routing: not in the current unit.
        NOT_IN_CURRENT_UNIT = 205,
        /// The consumer is not online.
        CONSUMER_NOT_ONLINE = 206,
        /// Consuming the message directly timed out.
        CONSUME_MSG_TIMEOUT = 207,

        // ---- POP and long polling ----
        /// POP: no message to pop.
        NO_MESSAGE = 208,
        /// Long polling: too many polling requests are pending.
        POLLING_FULL = 209,
        /// Long polling: the poll timed out.
        POLLING_TIMEOUT = 210,
        /// The target broker does not exist.
        BROKER_NOT_EXIST = 211,
        /// The broker has not finished dispatching (consume queue building).
        BROKER_DISPATCH_NOT_COMPLETE = 212,
        /// The group consumes in broadcast mode (no broker-side offsets).
        BROADCAST_CONSUMPTION = 213,
        /// Flow control: the request was throttled.
        FLOW_CONTROL = 215,

        // ---- Static topic / misc ----
        /// Static topic: this broker is not the leader of the logical queue.
        NOT_LEADER_FOR_QUEUE = 501,
        /// The operation is illegal in this state.
        ILLEGAL_OPERATION = 604,
        /// The server (proxy) is shutting down; reconnect elsewhere.
        GO_AWAY = 1500,

        // ---- Controller ----
        /// Controller: the master epoch is fenced (stale).
        CONTROLLER_FENCED_MASTER_EPOCH = 2000,
        /// Controller: the sync state set epoch is fenced (stale).
        CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH = 2001,
        /// Controller: the master is invalid.
        CONTROLLER_INVALID_MASTER = 2002,
        /// Controller: the replicas are invalid.
        CONTROLLER_INVALID_REPLICAS = 2003,
        /// Controller: no master is available.
        CONTROLLER_MASTER_NOT_AVAILABLE = 2004,
        /// Controller: the request is invalid.
        CONTROLLER_INVALID_REQUEST = 2005,
        /// Controller: the broker is not alive.
        CONTROLLER_BROKER_NOT_ALIVE = 2006,
        /// Controller: this controller is not the leader.
        CONTROLLER_NOT_LEADER = 2007,
        /// Controller: the broker's metadata does not exist.
        CONTROLLER_BROKER_METADATA_NOT_EXIST = 2008,
        /// Controller: invalid request to clean broker metadata.
        CONTROLLER_INVALID_CLEAN_BROKER_METADATA = 2009,
        /// Controller: the broker must register first.
        CONTROLLER_BROKER_NEED_TO_BE_REGISTERED = 2010,
        /// Controller: a master still exists.
        CONTROLLER_MASTER_STILL_EXIST = 2011,
        /// Controller: master election failed.
        CONTROLLER_ELECT_MASTER_FAILED = 2012,
        /// Controller: altering the sync state set failed.
        CONTROLLER_ALTER_SYNC_STATE_SET_FAILED = 2013,
        /// Controller: the broker id is invalid.
        CONTROLLER_BROKER_ID_INVALID = 2014,
        /// Controller: internal JRaft error.
        CONTROLLER_JRAFT_INTERNAL_ERROR = 2015,
        /// Controller: the broker's live info does not exist.
        CONTROLLER_BROKER_LIVE_INFO_NOT_EXISTS = 2016,

        // ---- ACL 2.0 ----
        /// Auth: the user does not exist.
        USER_NOT_EXIST = 3001,
        /// Auth: the ACL policy does not exist.
        POLICY_NOT_EXIST = 3002,
    }
}

#[cfg(test)]
mod tests {
    use super::response_code::*;

    #[test]
    fn golden_values_match_java() {
        let golden: &[(i32, i32)] = &[
            (SUCCESS, 0),
            (SYSTEM_ERROR, 1),
            (SYSTEM_BUSY, 2),
            (REQUEST_CODE_NOT_SUPPORTED, 3),
            (TRANSACTION_FAILED, 4),
            (FLUSH_DISK_TIMEOUT, 10),
            (SLAVE_NOT_AVAILABLE, 11),
            (FLUSH_SLAVE_TIMEOUT, 12),
            (MESSAGE_ILLEGAL, 13),
            (SERVICE_NOT_AVAILABLE, 14),
            (NO_PERMISSION, 16),
            (TOPIC_NOT_EXIST, 17),
            (TOPIC_EXIST_ALREADY, 18),
            (PULL_NOT_FOUND, 19),
            (PULL_RETRY_IMMEDIATELY, 20),
            (PULL_OFFSET_MOVED, 21),
            (QUERY_NOT_FOUND, 22),
            (SUBSCRIPTION_PARSE_FAILED, 23),
            (SUBSCRIPTION_NOT_EXIST, 24),
            (SUBSCRIPTION_GROUP_NOT_EXIST, 26),
            (INVALID_PARAMETER, 29),
            (TRANSACTION_STATE_UNKNOW, 202),
            (NO_MESSAGE, 208),
            (POLLING_FULL, 209),
            (POLLING_TIMEOUT, 210),
            (BROKER_NOT_EXIST, 211),
            (FLOW_CONTROL, 215),
            (NOT_LEADER_FOR_QUEUE, 501),
            (ILLEGAL_OPERATION, 604),
            (GO_AWAY, 1500),
            (CONTROLLER_FENCED_MASTER_EPOCH, 2000),
            (CONTROLLER_NOT_LEADER, 2007),
            (CONTROLLER_BROKER_LIVE_INFO_NOT_EXISTS, 2016),
            (USER_NOT_EXIST, 3001),
            (POLICY_NOT_EXIST, 3002),
        ];
        for &(got, want) in golden {
            assert_eq!(got, want);
        }
        assert_eq!(ALL.len(), 62);
    }

    #[test]
    fn client_side_codes_are_absent() {
        for code in [-1000, -1002, -1004, -1006] {
            assert_eq!(name(code), None);
        }
    }

    #[test]
    fn name_lookup() {
        assert_eq!(name(0), Some("SUCCESS"));
        assert_eq!(name(17), Some("TOPIC_NOT_EXIST"));
        assert_eq!(name(-12345), None);
    }
}
