//! `RequestCode`: the numbers of Apache RocketMQ's `RequestCode.java` (develop / 5.3.x),
//! plus the ACL 1.0 codes removed in 5.3.3.

code_table! {
    /// Request codes (`RequestCode.java`), the `code` of a request `RemotingCommand`.
    ///
    /// Names are the Java constant names, typos included. The ACL 1.0 codes 50-54 are kept
    /// although Java 5.3.3 dropped them, so older tools still get a named answer.
    pub mod request_code: i32 {
        // ---- Producer ----
        /// Producer: send a message with long header field names.
        SEND_MESSAGE = 10,
        /// Producer: send a message with the short (`a`..`n`) header field names.
        SEND_MESSAGE_V2 = 310,
        /// Producer: send a batch of messages packed into one body.
        SEND_BATCH_MESSAGE = 320,
        /// Producer: commit or roll back a half (transactional) message.
        END_TRANSACTION = 37,
        /// Broker to producer: ask the local state of a pending transaction.
        CHECK_TRANSACTION_STATE = 39,
        /// Request-reply: send a reply message (long header field names).
        SEND_REPLY_MESSAGE = 324,
        /// Request-reply: send a reply message (short header field names).
        SEND_REPLY_MESSAGE_V2 = 325,
        /// Broker to requester: push a reply message to the waiting client.
        PUSH_REPLY_MESSAGE_TO_CLIENT = 326,
        /// Producer: recall a delayed (timer) message before it is delivered.
        RECALL_MESSAGE = 370,

        // ---- Consumer: pull, offsets, rebalance ----
        /// Consumer: pull messages from a queue.
        PULL_MESSAGE = 11,
        /// Lite pull consumer: pull messages (served by its own executor).
        LITE_PULL_MESSAGE = 361,
        /// Consumer: read a group's committed offset of a queue.
        QUERY_CONSUMER_OFFSET = 14,
        /// Consumer: commit a group's offset of a queue.
        UPDATE_CONSUMER_OFFSET = 15,
        /// Consumer: send a failed message back for retry (or to the DLQ).
        CONSUMER_SEND_MSG_BACK = 36,
        /// Consumer: list the client ids of a consumer group.
        GET_CONSUMER_LIST_BY_GROUP = 38,
        /// Broker to consumer: the group's membership changed, rebalance now.
        NOTIFY_CONSUMER_IDS_CHANGED = 40,
        /// Orderly consumer: lock a batch of queues for this client.
        LOCK_BATCH_MQ = 41,
        /// Orderly consumer: release locked queues.
        UNLOCK_BATCH_MQ = 42,
        /// Consumer: ask the broker for its queue assignment (server-side rebalance).
        QUERY_ASSIGNMENT = 400,
        /// Consumer/admin: set the pull or pop request mode of a group on a topic.
        SET_MESSAGE_REQUEST_MODE = 401,

        // ---- Client management ----
        /// Client: heartbeat with its producer and consumer groups and subscriptions.
        HEART_BEAT = 34,
        /// Client: unregister a producer or consumer group on shutdown.
        UNREGISTER_CLIENT = 35,
        /// Consumer: validate a subscription (filter expression) before starting.
        CHECK_CLIENT_CONFIG = 46,
        /// Client: get client config (declared in Java, not used there).
        GET_CLIENT_CONFIG = 47,

        // ---- Broker to client (admin actions relayed through the broker) ----
        /// Broker to consumer: reset the consumer's offsets to the given values.
        RESET_CONSUMER_CLIENT_OFFSET = 220,
        /// Broker to consumer: report the consumer's offsets of a topic.
        GET_CONSUMER_STATUS_FROM_CLIENT = 221,
        /// Admin to broker: reset a group's offsets by timestamp and tell its clients.
        INVOKE_BROKER_TO_RESET_OFFSET = 222,
        /// Admin to broker: collect a group's offset status from its clients.
        INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223,
        /// Admin to consumer (via broker): the consumer's runtime info.
        GET_CONSUMER_RUNNING_INFO = 307,
        /// Admin to consumer (via broker): consume one given message directly.
        CONSUME_MESSAGE_DIRECTLY = 309,

        // ---- POP consumption ----
        /// POP consumer: pop messages, making them invisible for a while.
        POP_MESSAGE = 200050,
        /// POP consumer: acknowledge a popped message.
        ACK_MESSAGE = 200051,
        /// POP consumer: acknowledge several popped messages at once.
        BATCH_ACK_MESSAGE = 200151,
        /// POP consumer: read messages without popping them.
        PEEK_MESSAGE = 200052,
        /// POP consumer: change the invisible time of a popped message.
        CHANGE_MESSAGE_INVISIBLETIME = 200053,
        /// POP consumer: long-poll until a queue has messages.
        NOTIFICATION = 200054,
        /// POP: number of long-polling requests pending on a queue.
        POLLING_INFO = 200055,
        /// Admin: move POP consumption state from RocksDB back to the file store.
        POP_ROLLBACK = 200056,

        // ---- Query and offsets ----
        /// Query messages by key (or unique key) in a time range.
        QUERY_MESSAGE = 12,
        /// Query the broker's offset (declared in Java, not used there).
        QUERY_BROKER_OFFSET = 13,
        /// Find a queue offset by store timestamp.
        SEARCH_OFFSET_BY_TIMESTAMP = 29,
        /// Max offset of a queue.
        GET_MAX_OFFSET = 30,
        /// Min offset of a queue.
        GET_MIN_OFFSET = 31,
        /// Store time of a queue's earliest message.
        GET_EARLIEST_MSG_STORETIME = 32,
        /// Look a message up by its offset message id (commit log offset).
        VIEW_MESSAGE_BY_ID = 33,
        /// Read raw consume queue entries of a queue (debugging).
        QUERY_CONSUME_QUEUE = 321,

        // ---- Timer (delayed messages) ----
        /// Slave sync / admin: the timer wheel's checkpoint.
        GET_TIMER_CHECK_POINT = 60,
        /// Slave sync / admin: timer metrics per topic.
        GET_TIMER_METRICS = 61,

        // ---- ACL 1.0 (removed in 5.3.3) ----
        /// ACL 1.0: create or update a plain ACL account. Removed in 5.3.3.
        UPDATE_AND_CREATE_ACL_CONFIG = 50,
        /// ACL 1.0: delete a plain ACL account. Removed in 5.3.3.
        DELETE_ACL_CONFIG = 51,
        /// ACL 1.0: the broker's ACL version info. Removed in 5.3.3.
        GET_BROKER_CLUSTER_ACL_INFO = 52,
        /// ACL 1.0: update the global white address list. Removed in 5.3.3.
        UPDATE_GLOBAL_WHITE_ADDRS_CONFIG = 53,
        /// ACL 1.0: the broker's full ACL config (deprecated). Removed in 5.3.3.
        GET_BROKER_CLUSTER_ACL_CONFIG = 54,

        // ---- NameServer ----
        /// NameServer: put a namespaced KV config entry.
        PUT_KV_CONFIG = 100,
        /// NameServer: get a namespaced KV config entry.
        GET_KV_CONFIG = 101,
        /// NameServer: delete a namespaced KV config entry.
        DELETE_KV_CONFIG = 102,
        /// Broker to NameServer: register (or refresh) the broker and its topics.
        REGISTER_BROKER = 103,
        /// Broker to NameServer: unregister the broker.
        UNREGISTER_BROKER = 104,
        /// NameServer: route data (queues and brokers) of a topic.
        GET_ROUTEINFO_BY_TOPIC = 105,
        /// NameServer: cluster and broker address tables.
        GET_BROKER_CLUSTER_INFO = 106,
        /// NameServer: remove the write permission of a broker's topics.
        WIPE_WRITE_PERM_OF_BROKER = 205,
        /// NameServer: names of all topics.
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
        /// NameServer: delete a topic's route.
        DELETE_TOPIC_IN_NAMESRV = 216,
        /// NameServer: register a topic's route.
        REGISTER_TOPIC_IN_NAMESRV = 217,
        /// NameServer: all KV config entries of a namespace.
        GET_KVLIST_BY_NAMESPACE = 219,
        /// NameServer: topics of a cluster.
        GET_TOPICS_BY_CLUSTER = 224,
        /// NameServer: system topics (cluster and broker names).
        GET_SYSTEM_TOPIC_LIST_FROM_NS = 304,
        /// NameServer: unit topics.
        GET_UNIT_TOPIC_LIST = 311,
        /// NameServer: topics with unit subscriptions.
        GET_HAS_UNIT_SUB_TOPIC_LIST = 312,
        /// NameServer: non-unit topics with unit subscriptions.
        GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST = 313,
        /// NameServer: update the NameServer's config.
        UPDATE_NAMESRV_CONFIG = 318,
        /// NameServer: the NameServer's config.
        GET_NAMESRV_CONFIG = 319,
        /// Broker to NameServer: has my topic config data version changed?
        QUERY_DATA_VERSION = 322,
        /// NameServer: restore the write permission of a broker's topics.
        ADD_WRITE_PERM_OF_BROKER = 327,
        /// Broker to NameServer: the members (ids and addresses) of a broker group.
        GET_BROKER_MEMBER_GROUP = 901,
        /// Broker to NameServer/controller: lightweight liveness heartbeat.
        BROKER_HEARTBEAT = 904,
        /// NameServer to broker: the group's minimum broker id changed.
        NOTIFY_MIN_BROKER_ID_CHANGE = 905,

        // ---- Admin: topics and subscription groups ----
        /// Admin: create or update a topic on a broker.
        UPDATE_AND_CREATE_TOPIC = 17,
        /// Admin: create or update several topics on a broker.
        UPDATE_AND_CREATE_TOPIC_LIST = 18,
        /// Admin / slave sync: all topic configs of a broker.
        GET_ALL_TOPIC_CONFIG = 21,
        /// Admin: topic config list (declared in Java, not used there).
        GET_TOPIC_CONFIG_LIST = 22,
        /// Admin: topic name list (declared in Java, not used there).
        GET_TOPIC_NAME_LIST = 23,
        /// Admin: delete a topic on a broker.
        DELETE_TOPIC_IN_BROKER = 215,
        /// Admin: the config of one topic.
        GET_TOPIC_CONFIG = 351,
        /// Admin: create or update a static (logical queue) topic.
        UPDATE_AND_CREATE_STATIC_TOPIC = 513,
        /// Admin: per-queue min/max offsets of a topic.
        GET_TOPIC_STATS_INFO = 202,
        /// Admin: system topics held by a broker.
        GET_SYSTEM_TOPIC_LIST_FROM_BROKER = 305,
        /// Admin: delete topics no longer in use.
        CLEAN_UNUSED_TOPIC = 316,
        /// Admin: create or update a subscription group.
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
        /// Admin: create or update several subscription groups.
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST = 225,
        /// Admin / slave sync: all subscription group configs.
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201,
        /// Admin: delete a subscription group.
        DELETE_SUBSCRIPTIONGROUP = 207,
        /// Admin: the config of one subscription group.
        GET_SUBSCRIPTIONGROUP_CONFIG = 352,
        /// Admin: forbid (or read the ban of) a group on a topic.
        UPDATE_AND_GET_GROUP_FORBIDDEN = 353,

        // ---- Admin: consumers and producers ----
        /// Admin / slave sync: all consumer offsets of a broker.
        GET_ALL_CONSUMER_OFFSET = 43,
        /// Admin / slave sync: all delay-level offsets of a broker.
        GET_ALL_DELAY_OFFSET = 45,
        /// Slave sync: all message request modes of the master.
        GET_ALL_MESSAGE_REQUEST_MODE = 402,
        /// Admin: connections of a consumer group.
        GET_CONSUMER_CONNECTION_LIST = 203,
        /// Admin: connections of a producer group.
        GET_PRODUCER_CONNECTION_LIST = 204,
        /// Admin: all producers connected to a broker.
        GET_ALL_PRODUCER_INFO = 328,
        /// Admin: consume progress (offsets and lag) of a group.
        GET_CONSUME_STATS = 208,
        /// Admin: suspend a consumer (declared in Java, not used there).
        SUSPEND_CONSUMER = 209,
        /// Admin: resume a consumer (declared in Java, not used there).
        RESUME_CONSUMER = 210,
        /// Admin: reset consumer offsets in the consumer (not used in Java).
        RESET_CONSUMER_OFFSET_IN_CONSUMER = 211,
        /// Admin: reset consumer offsets in the broker (not used in Java).
        RESET_CONSUMER_OFFSET_IN_BROKER = 212,
        /// Admin: resize a consumer's thread pool (not used in Java).
        ADJUST_CONSUMER_THREAD_POOL = 213,
        /// Admin: which groups consumed a message (not used in Java).
        WHO_CONSUME_THE_MESSAGE = 214,
        /// Admin: groups consuming a topic.
        QUERY_TOPIC_CONSUME_BY_WHO = 300,
        /// Admin: topics a group consumes.
        QUERY_TOPICS_BY_CONSUMER = 343,
        /// Admin: a group's subscription of a topic.
        QUERY_SUBSCRIPTION_BY_CONSUMER = 345,
        /// Admin: time span (min/max store time) of a group's consumption.
        QUERY_CONSUME_TIME_SPAN = 303,
        /// Admin: offsets a group may safely be corrected to.
        QUERY_CORRECTION_OFFSET = 308,
        /// Admin: copy one group's offsets to another group.
        CLONE_GROUP_OFFSET = 314,
        /// Admin: consume stats of every group on a broker.
        GET_BROKER_CONSUME_STATS = 317,

        // ---- Admin: filter server (legacy) ----
        /// Filter server: register with a broker (legacy, not used in Java).
        REGISTER_FILTER_SERVER = 301,
        /// Filter server: register a filter class (legacy, not used in Java).
        REGISTER_MESSAGE_FILTER_CLASS = 302,

        // ---- Admin: broker ----
        /// Admin: update broker config properties.
        UPDATE_BROKER_CONFIG = 25,
        /// Admin: the broker's config properties.
        GET_BROKER_CONFIG = 26,
        /// Admin: trigger file deletion (declared in Java, not used there).
        TRIGGER_DELETE_FILES = 27,
        /// Admin: the broker's runtime statistics.
        GET_BROKER_RUNTIME_INFO = 28,
        /// Admin: clean consume queues whose commit log is gone.
        CLEAN_EXPIRED_CONSUMEQUEUE = 306,
        /// Admin: a broker stats item (e.g. TOPIC_PUT_NUMS) by key.
        VIEW_BROKER_STATS_DATA = 315,
        /// Admin: resume checking half messages parked in the max-check-times topic.
        RESUME_CHECK_HALF_MESSAGE = 323,
        /// Admin: delete expired commit log files now.
        DELETE_EXPIRED_COMMITLOG = 329,
        /// Admin: check the RocksDB consume queue's write progress.
        CHECK_ROCKSDB_CQ_WRITE_PROGRESS = 354,
        /// Admin: export RocksDB-stored configs to JSON files.
        EXPORT_ROCKSDB_CONFIG_TO_JSON = 355,
        /// Admin: update the cold data flow control config.
        UPDATE_COLD_DATA_FLOW_CTR_CONFIG = 2001,
        /// Admin: remove a group from the cold data flow control config.
        REMOVE_COLD_DATA_FLOW_CTR_CONFIG = 2002,
        /// Admin: cold data flow control info.
        GET_COLD_DATA_FLOW_CTR_INFO = 2003,
        /// Admin: set the commit log read mode (cold data).
        SET_COMMITLOG_READ_MODE = 2004,

        // ---- Broker container ----
        /// Admin to broker container: start a broker from a config file.
        ADD_BROKER = 902,
        /// Admin to broker container: stop and remove a broker.
        REMOVE_BROKER = 903,

        // ---- HA ----
        /// Broker to broker: exchange HA address and master flush offset.
        EXCHANGE_BROKER_HA_INFO = 906,
        /// Admin: the broker's HA (replication) status.
        GET_BROKER_HA_STATUS = 907,
        /// Admin: reset the master's flush offset.
        RESET_MASTER_FLUSH_OFFSET = 908,

        // ---- Controller ----
        /// Controller: alter a broker group's sync state set.
        CONTROLLER_ALTER_SYNC_STATE_SET = 1001,
        /// Controller: elect a master for a broker group.
        CONTROLLER_ELECT_MASTER = 1002,
        /// Controller: register a broker.
        CONTROLLER_REGISTER_BROKER = 1003,
        /// Controller: master and sync state set of a broker group.
        CONTROLLER_GET_REPLICA_INFO = 1004,
        /// Controller: the controller group's metadata (leader, peers).
        CONTROLLER_GET_METADATA_INFO = 1005,
        /// Controller: sync state data of broker groups.
        CONTROLLER_GET_SYNC_STATE_DATA = 1006,
        /// Admin to broker: the broker's epoch cache.
        GET_BROKER_EPOCH_CACHE = 1007,
        /// Controller to broker: the broker's role changed.
        NOTIFY_BROKER_ROLE_CHANGED = 1008,
        /// Controller: update the controller's config.
        UPDATE_CONTROLLER_CONFIG = 1009,
        /// Controller: the controller's config.
        GET_CONTROLLER_CONFIG = 1010,
        /// Controller: clean a broker group's metadata.
        CLEAN_BROKER_DATA = 1011,
        /// Controller: the next broker id of a group.
        CONTROLLER_GET_NEXT_BROKER_ID = 1012,
        /// Controller: apply for a broker id.
        CONTROLLER_APPLY_BROKER_ID = 1013,
        /// JRaft controller (internal): a broker's channel closed.
        BROKER_CLOSE_CHANNEL_REQUEST = 1014,
        /// JRaft controller (internal): scan for inactive brokers.
        CHECK_NOT_ACTIVE_BROKER_REQUEST = 1015,
        /// JRaft controller (internal): a broker's live info.
        GET_BROKER_LIVE_INFO_REQUEST = 1016,
        /// JRaft controller (internal): sync state data (not used in Java).
        GET_SYNC_STATE_DATA_REQUEST = 1017,
        /// JRaft controller (internal): a broker heartbeat event.
        RAFT_BROKER_HEART_BEAT_EVENT_REQUEST = 1018,

        // ---- ACL 2.0 (users and policies) ----
        /// Auth: create a user.
        AUTH_CREATE_USER = 3001,
        /// Auth: update a user.
        AUTH_UPDATE_USER = 3002,
        /// Auth: delete a user.
        AUTH_DELETE_USER = 3003,
        /// Auth: get a user.
        AUTH_GET_USER = 3004,
        /// Auth: list users.
        AUTH_LIST_USER = 3005,
        /// Auth: create an ACL policy.
        AUTH_CREATE_ACL = 3006,
        /// Auth: update an ACL policy.
        AUTH_UPDATE_ACL = 3007,
        /// Auth: delete an ACL policy.
        AUTH_DELETE_ACL = 3008,
        /// Auth: get an ACL policy.
        AUTH_GET_ACL = 3009,
        /// Auth: list ACL policies.
        AUTH_LIST_ACL = 3010,
    }
}

#[cfg(test)]
mod tests {
    use super::request_code::*;

    #[test]
    fn golden_values_match_java() {
        let golden: &[(i32, i32)] = &[
            (SEND_MESSAGE, 10),
            (PULL_MESSAGE, 11),
            (QUERY_MESSAGE, 12),
            (QUERY_CONSUMER_OFFSET, 14),
            (UPDATE_CONSUMER_OFFSET, 15),
            (UPDATE_AND_CREATE_TOPIC, 17),
            (GET_MAX_OFFSET, 30),
            (HEART_BEAT, 34),
            (UNREGISTER_CLIENT, 35),
            (CONSUMER_SEND_MSG_BACK, 36),
            (END_TRANSACTION, 37),
            (GET_CONSUMER_LIST_BY_GROUP, 38),
            (LOCK_BATCH_MQ, 41),
            (UPDATE_AND_CREATE_ACL_CONFIG, 50),
            (GET_BROKER_CLUSTER_ACL_CONFIG, 54),
            (GET_TIMER_CHECK_POINT, 60),
            (PUT_KV_CONFIG, 100),
            (REGISTER_BROKER, 103),
            (UNREGISTER_BROKER, 104),
            (GET_ROUTEINFO_BY_TOPIC, 105),
            (GET_BROKER_CLUSTER_INFO, 106),
            (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 200),
            (GET_ALL_TOPIC_LIST_FROM_NAMESERVER, 206),
            (GET_KVLIST_BY_NAMESPACE, 219),
            (GET_TOPICS_BY_CLUSTER, 224),
            (SEND_MESSAGE_V2, 310),
            (SEND_BATCH_MESSAGE, 320),
            (QUERY_DATA_VERSION, 322),
            (SEND_REPLY_MESSAGE_V2, 325),
            (GET_ALL_PRODUCER_INFO, 328),
            (LITE_PULL_MESSAGE, 361),
            (RECALL_MESSAGE, 370),
            (QUERY_ASSIGNMENT, 400),
            (UPDATE_AND_CREATE_STATIC_TOPIC, 513),
            (BROKER_HEARTBEAT, 904),
            (CONTROLLER_ALTER_SYNC_STATE_SET, 1001),
            (RAFT_BROKER_HEART_BEAT_EVENT_REQUEST, 1018),
            (SET_COMMITLOG_READ_MODE, 2004),
            (AUTH_CREATE_USER, 3001),
            (AUTH_LIST_ACL, 3010),
            (POP_MESSAGE, 200050),
            (ACK_MESSAGE, 200051),
            (CHANGE_MESSAGE_INVISIBLETIME, 200053),
            (POP_ROLLBACK, 200056),
            (BATCH_ACK_MESSAGE, 200151),
        ];
        for &(got, want) in golden {
            assert_eq!(got, want);
        }
        assert_eq!(ALL.len(), 163);
    }

    #[test]
    fn name_lookup() {
        assert_eq!(name(10), Some("SEND_MESSAGE"));
        assert_eq!(name(200050), Some("POP_MESSAGE"));
        assert_eq!(name(-12345), None);
    }
}
