//! NameServer request and response headers (`header/namesrv/*.java`).

use crate::command_header;

command_header! {
    /// REGISTER_BROKER (103) request; the body is a `RegisterBrokerBody`.
    pub struct RegisterBrokerRequestHeader {
        /// Replica-group name.
        req broker_name: String = "brokerName",
        /// `ip:port` clients reach the broker at.
        req broker_addr: String = "brokerAddr",
        /// Cluster name.
        req cluster_name: String = "clusterName",
        /// `ip:haPort` slaves replicate from.
        req ha_server_addr: String = "haServerAddr",
        /// 0 for a master, above 0 for a slave.
        req broker_id: i64 = "brokerId",
        /// How long the registration lives without a refresh (default 120 s).
        opt heartbeat_timeout_millis: i64 = "heartbeatTimeoutMillis",
        /// Whether a slave may act as master while the master is away.
        opt enable_acting_master: bool = "enableActingMaster",
        /// Whether the body is the zlib-compressed registration form.
        opt compressed: bool = "compressed",
        /// CRC32 & 0x7FFFFFFF of the body; 0 skips the check.
        opt body_crc32: i32 = "bodyCrc32",
    }
}

command_header! {
    /// REGISTER_BROKER (103) response: how a slave finds its master.
    pub struct RegisterBrokerResponseHeader {
        /// HA address of the master.
        opt ha_server_addr: String = "haServerAddr",
        /// Address of broker id 0 in the same broker name.
        opt master_addr: String = "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER (104) request.
    pub struct UnRegisterBrokerRequestHeader {
        /// Replica-group name.
        req broker_name: String = "brokerName",
        /// The broker's address.
        req broker_addr: String = "brokerAddr",
        /// Cluster name.
        req cluster_name: String = "clusterName",
        /// Broker id.
        req broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// BROKER_HEARTBEAT (904) request.
    pub struct BrokerHeartbeatRequestHeader {
        /// Cluster name.
        req cluster_name: String = "clusterName",
        /// The broker's address.
        req broker_addr: String = "brokerAddr",
        /// Replica-group name.
        req broker_name: String = "brokerName",
        /// Broker id.
        opt broker_id: i64 = "brokerId",
        /// Controller epoch.
        opt epoch: i32 = "epoch",
        /// Max CommitLog offset.
        opt max_offset: i64 = "maxOffset",
        /// Confirmed (replicated) offset.
        opt confirm_offset: i64 = "confirmOffset",
        /// Registration lifetime.
        opt heartbeat_timeout_mills: i64 = "heartbeatTimeoutMills",
        /// Election priority.
        opt election_priority: i32 = "electionPriority",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) request; the body is the broker's `DataVersion`.
    pub struct QueryDataVersionRequestHeader {
        /// Replica-group name.
        req broker_name: String = "brokerName",
        /// The broker's address.
        req broker_addr: String = "brokerAddr",
        /// Cluster name.
        req cluster_name: String = "clusterName",
        /// Broker id.
        req broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) response.
    pub struct QueryDataVersionResponseHeader {
        /// Whether the NameServer's copy differs, so the broker must register in full.
        req changed: bool = "changed",
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) request.
    pub struct GetRouteInfoRequestHeader {
        /// The topic.
        req topic: String = "topic",
        /// Ask for standard JSON (quoted map keys).
        opt accept_standard_json_only: bool = "acceptStandardJsonOnly",
    }
}

command_header! {
    /// PUT_KV_CONFIG (100) request.
    pub struct PutKvConfigRequestHeader {
        /// Namespace of the key.
        req namespace: String = "namespace",
        /// The key.
        req key: String = "key",
        /// The value.
        req value: String = "value",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102) request.
    pub struct KvConfigKeyRequestHeader {
        /// Namespace of the key.
        req namespace: String = "namespace",
        /// The key.
        req key: String = "key",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) response.
    pub struct GetKvConfigResponseHeader {
        /// The value, when found.
        opt value: String = "value",
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219) request.
    pub struct GetKvListByNamespaceRequestHeader {
        /// The namespace.
        req namespace: String = "namespace",
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224) request.
    pub struct GetTopicsByClusterRequestHeader {
        /// Cluster name.
        req cluster: String = "cluster",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216) request.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        /// The topic.
        req topic: String = "topic",
        /// Limit the deletion to one cluster's brokers.
        opt cluster_name: String = "clusterName",
    }
}

command_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217) request; the body is a `TopicRouteData`.
    pub struct RegisterTopicRequestHeader {
        /// The topic.
        req topic: String = "topic",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327) request.
    pub struct BrokerNameRequestHeader {
        /// Replica-group name.
        req broker_name: String = "brokerName",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        /// How many topics lost write permission.
        req wipe_topic_count: i32 = "wipeTopicCount",
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) response.
    pub struct AddWritePermOfBrokerResponseHeader {
        /// How many topics regained write permission.
        req add_topic_count: i32 = "addTopicCount",
    }
}

command_header! {
    /// GET_BROKER_MEMBER_GROUP (901) request.
    pub struct GetBrokerMemberGroupRequestHeader {
        /// Cluster name.
        req cluster_name: String = "clusterName",
        /// Replica-group name.
        req broker_name: String = "brokerName",
    }
}
