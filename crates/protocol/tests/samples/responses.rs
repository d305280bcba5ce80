//! Every response the client decodes: a decoder picked by api key and version, and small
//! valid sample responses (each array with one element) at every version we can decode.
//! Shared by `tests/bounded_decode.rs`, the `response` fuzz target and the
//! `fuzz_seeds` example (which writes the fuzz target's seed corpus), through `#[path]`.
#![allow(dead_code)]

use bytes::Bytes;
pub use nkafka_protocol::kafka_protocol::messages::ApiKey;
use nkafka_protocol::kafka_protocol::messages::*;
use nkafka_protocol::kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};

/// The responses the client reads, with the versions the generated decoders accept.
pub const APIS: &[(ApiKey, i16, i16)] = &[
    (
        ApiKey::Produce,
        ProduceResponse::VERSIONS.min,
        ProduceResponse::VERSIONS.max,
    ),
    (ApiKey::Fetch, FetchResponse::VERSIONS.min, FetchResponse::VERSIONS.max),
    (
        ApiKey::ListOffsets,
        ListOffsetsResponse::VERSIONS.min,
        ListOffsetsResponse::VERSIONS.max,
    ),
    (
        ApiKey::Metadata,
        MetadataResponse::VERSIONS.min,
        MetadataResponse::VERSIONS.max,
    ),
    (
        ApiKey::OffsetCommit,
        OffsetCommitResponse::VERSIONS.min,
        OffsetCommitResponse::VERSIONS.max,
    ),
    (
        ApiKey::OffsetFetch,
        OffsetFetchResponse::VERSIONS.min,
        OffsetFetchResponse::VERSIONS.max,
    ),
    (
        ApiKey::FindCoordinator,
        FindCoordinatorResponse::VERSIONS.min,
        FindCoordinatorResponse::VERSIONS.max,
    ),
    (
        ApiKey::JoinGroup,
        JoinGroupResponse::VERSIONS.min,
        JoinGroupResponse::VERSIONS.max,
    ),
    (
        ApiKey::Heartbeat,
        HeartbeatResponse::VERSIONS.min,
        HeartbeatResponse::VERSIONS.max,
    ),
    (
        ApiKey::LeaveGroup,
        LeaveGroupResponse::VERSIONS.min,
        LeaveGroupResponse::VERSIONS.max,
    ),
    (
        ApiKey::SyncGroup,
        SyncGroupResponse::VERSIONS.min,
        SyncGroupResponse::VERSIONS.max,
    ),
    (
        ApiKey::SaslHandshake,
        SaslHandshakeResponse::VERSIONS.min,
        SaslHandshakeResponse::VERSIONS.max,
    ),
    (
        ApiKey::ApiVersions,
        ApiVersionsResponse::VERSIONS.min,
        ApiVersionsResponse::VERSIONS.max,
    ),
    (
        ApiKey::CreateTopics,
        CreateTopicsResponse::VERSIONS.min,
        CreateTopicsResponse::VERSIONS.max,
    ),
    (
        ApiKey::DeleteTopics,
        DeleteTopicsResponse::VERSIONS.min,
        DeleteTopicsResponse::VERSIONS.max,
    ),
    (
        ApiKey::InitProducerId,
        InitProducerIdResponse::VERSIONS.min,
        InitProducerIdResponse::VERSIONS.max,
    ),
    (
        ApiKey::AddPartitionsToTxn,
        AddPartitionsToTxnResponse::VERSIONS.min,
        AddPartitionsToTxnResponse::VERSIONS.max,
    ),
    (
        ApiKey::AddOffsetsToTxn,
        AddOffsetsToTxnResponse::VERSIONS.min,
        AddOffsetsToTxnResponse::VERSIONS.max,
    ),
    (
        ApiKey::EndTxn,
        EndTxnResponse::VERSIONS.min,
        EndTxnResponse::VERSIONS.max,
    ),
    (
        ApiKey::TxnOffsetCommit,
        TxnOffsetCommitResponse::VERSIONS.min,
        TxnOffsetCommitResponse::VERSIONS.max,
    ),
    (
        ApiKey::SaslAuthenticate,
        SaslAuthenticateResponse::VERSIONS.min,
        SaslAuthenticateResponse::VERSIONS.max,
    ), // The admin client and the KIP-848 consumer group protocol.
    (
        ApiKey::DescribeConfigs,
        DescribeConfigsResponse::VERSIONS.min,
        DescribeConfigsResponse::VERSIONS.max,
    ),
    (
        ApiKey::IncrementalAlterConfigs,
        IncrementalAlterConfigsResponse::VERSIONS.min,
        IncrementalAlterConfigsResponse::VERSIONS.max,
    ),
    (
        ApiKey::DescribeCluster,
        DescribeClusterResponse::VERSIONS.min,
        DescribeClusterResponse::VERSIONS.max,
    ),
    (
        ApiKey::DescribeLogDirs,
        DescribeLogDirsResponse::VERSIONS.min,
        DescribeLogDirsResponse::VERSIONS.max,
    ),
    (
        ApiKey::AlterPartitionReassignments,
        AlterPartitionReassignmentsResponse::VERSIONS.min,
        AlterPartitionReassignmentsResponse::VERSIONS.max,
    ),
    (
        ApiKey::ListPartitionReassignments,
        ListPartitionReassignmentsResponse::VERSIONS.min,
        ListPartitionReassignmentsResponse::VERSIONS.max,
    ),
    (
        ApiKey::ElectLeaders,
        ElectLeadersResponse::VERSIONS.min,
        ElectLeadersResponse::VERSIONS.max,
    ),
    (
        ApiKey::CreatePartitions,
        CreatePartitionsResponse::VERSIONS.min,
        CreatePartitionsResponse::VERSIONS.max,
    ),
    (
        ApiKey::DeleteRecords,
        DeleteRecordsResponse::VERSIONS.min,
        DeleteRecordsResponse::VERSIONS.max,
    ),
    (
        ApiKey::ListGroups,
        ListGroupsResponse::VERSIONS.min,
        ListGroupsResponse::VERSIONS.max,
    ),
    (
        ApiKey::DescribeGroups,
        DescribeGroupsResponse::VERSIONS.min,
        DescribeGroupsResponse::VERSIONS.max,
    ),
    (
        ApiKey::DeleteGroups,
        DeleteGroupsResponse::VERSIONS.min,
        DeleteGroupsResponse::VERSIONS.max,
    ),
    (
        ApiKey::OffsetDelete,
        OffsetDeleteResponse::VERSIONS.min,
        OffsetDeleteResponse::VERSIONS.max,
    ),
    (
        ApiKey::ConsumerGroupDescribe,
        ConsumerGroupDescribeResponse::VERSIONS.min,
        ConsumerGroupDescribeResponse::VERSIONS.max,
    ),
    (
        ApiKey::ConsumerGroupHeartbeat,
        ConsumerGroupHeartbeatResponse::VERSIONS.min,
        ConsumerGroupHeartbeatResponse::VERSIONS.max,
    ),
    (
        ApiKey::ShareGroupHeartbeat,
        ShareGroupHeartbeatResponse::VERSIONS.min,
        ShareGroupHeartbeatResponse::VERSIONS.max,
    ),
    (
        ApiKey::ShareFetch,
        ShareFetchResponse::VERSIONS.min,
        ShareFetchResponse::VERSIONS.max,
    ),
    (
        ApiKey::ShareAcknowledge,
        ShareAcknowledgeResponse::VERSIONS.min,
        ShareAcknowledgeResponse::VERSIONS.max,
    ),
    (
        ApiKey::DescribeAcls,
        DescribeAclsResponse::VERSIONS.min,
        DescribeAclsResponse::VERSIONS.max,
    ),
    (
        ApiKey::CreateAcls,
        CreateAclsResponse::VERSIONS.min,
        CreateAclsResponse::VERSIONS.max,
    ),
    (
        ApiKey::DeleteAcls,
        DeleteAclsResponse::VERSIONS.min,
        DeleteAclsResponse::VERSIONS.max,
    ),
    (
        ApiKey::DescribeUserScramCredentials,
        DescribeUserScramCredentialsResponse::VERSIONS.min,
        DescribeUserScramCredentialsResponse::VERSIONS.max,
    ),
    (
        ApiKey::AlterUserScramCredentials,
        AlterUserScramCredentialsResponse::VERSIONS.min,
        AlterUserScramCredentialsResponse::VERSIONS.max,
    ),
    (
        ApiKey::DescribeClientQuotas,
        DescribeClientQuotasResponse::VERSIONS.min,
        DescribeClientQuotasResponse::VERSIONS.max,
    ),
    (
        ApiKey::AlterClientQuotas,
        AlterClientQuotasResponse::VERSIONS.min,
        AlterClientQuotasResponse::VERSIONS.max,
    ),
];

fn run<R: Decodable>(mut body: Bytes, version: i16) -> Result<(), String> {
    R::decode(&mut body, version).map(drop).map_err(|e| e.to_string())
}

/// Decodes `body` as the response of `api` at `version`; the value is dropped.
pub fn decode(api: ApiKey, version: i16, body: Bytes) -> Result<(), String> {
    match api {
        ApiKey::Produce => run::<ProduceResponse>(body, version),
        ApiKey::Fetch => run::<FetchResponse>(body, version),
        ApiKey::ListOffsets => run::<ListOffsetsResponse>(body, version),
        ApiKey::Metadata => run::<MetadataResponse>(body, version),
        ApiKey::OffsetCommit => run::<OffsetCommitResponse>(body, version),
        ApiKey::OffsetFetch => run::<OffsetFetchResponse>(body, version),
        ApiKey::FindCoordinator => run::<FindCoordinatorResponse>(body, version),
        ApiKey::JoinGroup => run::<JoinGroupResponse>(body, version),
        ApiKey::Heartbeat => run::<HeartbeatResponse>(body, version),
        ApiKey::LeaveGroup => run::<LeaveGroupResponse>(body, version),
        ApiKey::SyncGroup => run::<SyncGroupResponse>(body, version),
        ApiKey::SaslHandshake => run::<SaslHandshakeResponse>(body, version),
        ApiKey::ApiVersions => run::<ApiVersionsResponse>(body, version),
        ApiKey::CreateTopics => run::<CreateTopicsResponse>(body, version),
        ApiKey::DeleteTopics => run::<DeleteTopicsResponse>(body, version),
        ApiKey::InitProducerId => run::<InitProducerIdResponse>(body, version),
        ApiKey::AddPartitionsToTxn => run::<AddPartitionsToTxnResponse>(body, version),
        ApiKey::AddOffsetsToTxn => run::<AddOffsetsToTxnResponse>(body, version),
        ApiKey::EndTxn => run::<EndTxnResponse>(body, version),
        ApiKey::TxnOffsetCommit => run::<TxnOffsetCommitResponse>(body, version),
        ApiKey::SaslAuthenticate => run::<SaslAuthenticateResponse>(body, version),
        ApiKey::DescribeConfigs => run::<DescribeConfigsResponse>(body, version),
        ApiKey::IncrementalAlterConfigs => run::<IncrementalAlterConfigsResponse>(body, version),
        ApiKey::DescribeCluster => run::<DescribeClusterResponse>(body, version),
        ApiKey::DescribeLogDirs => run::<DescribeLogDirsResponse>(body, version),
        ApiKey::AlterPartitionReassignments => run::<AlterPartitionReassignmentsResponse>(body, version),
        ApiKey::ListPartitionReassignments => run::<ListPartitionReassignmentsResponse>(body, version),
        ApiKey::ElectLeaders => run::<ElectLeadersResponse>(body, version),
        ApiKey::CreatePartitions => run::<CreatePartitionsResponse>(body, version),
        ApiKey::DeleteRecords => run::<DeleteRecordsResponse>(body, version),
        ApiKey::ListGroups => run::<ListGroupsResponse>(body, version),
        ApiKey::DescribeGroups => run::<DescribeGroupsResponse>(body, version),
        ApiKey::DeleteGroups => run::<DeleteGroupsResponse>(body, version),
        ApiKey::OffsetDelete => run::<OffsetDeleteResponse>(body, version),
        ApiKey::ConsumerGroupDescribe => run::<ConsumerGroupDescribeResponse>(body, version),
        ApiKey::ConsumerGroupHeartbeat => run::<ConsumerGroupHeartbeatResponse>(body, version),
        ApiKey::ShareGroupHeartbeat => run::<ShareGroupHeartbeatResponse>(body, version),
        ApiKey::ShareFetch => run::<ShareFetchResponse>(body, version),
        ApiKey::ShareAcknowledge => run::<ShareAcknowledgeResponse>(body, version),
        ApiKey::DescribeAcls => run::<DescribeAclsResponse>(body, version),
        ApiKey::CreateAcls => run::<CreateAclsResponse>(body, version),
        ApiKey::DeleteAcls => run::<DeleteAclsResponse>(body, version),
        ApiKey::DescribeUserScramCredentials => run::<DescribeUserScramCredentialsResponse>(body, version),
        ApiKey::AlterUserScramCredentials => run::<AlterUserScramCredentialsResponse>(body, version),
        ApiKey::DescribeClientQuotas => run::<DescribeClientQuotasResponse>(body, version),
        ApiKey::AlterClientQuotas => run::<AlterClientQuotasResponse>(body, version),
        other => Err(format!("{other:?} is not a response the client reads")),
    }
}

fn s(v: &'static str) -> StrBytes {
    StrBytes::from_static_str(v)
}

/// Encodes each candidate at `version`, keeping those valid there (a field set that the
/// version lacks is an encode error).
fn encoded<R: Encodable>(version: i16, candidates: Vec<R>) -> Vec<Bytes> {
    candidates
        .into_iter()
        .filter_map(|r| {
            let mut buf = bytes::BytesMut::new();
            r.encode(&mut buf, version).ok().map(|_| buf.freeze())
        })
        .collect()
}

fn produce(version: i16) -> Vec<Bytes> {
    let partition = |errors: bool| {
        let p = produce_response::PartitionProduceResponse::default()
            .with_index(0)
            .with_base_offset(7);
        if errors {
            p.with_record_errors(vec![produce_response::BatchIndexAndErrorMessage::default()
                .with_batch_index(1)
                .with_batch_index_error_message(Some(s("bad")))])
                .with_error_message(Some(s("oops")))
        } else {
            p
        }
    };
    let topic = |errors: bool| {
        produce_response::TopicProduceResponse::default()
            .with_name(TopicName(s("t")))
            .with_partition_responses(vec![partition(errors)])
    };
    encoded(
        version,
        vec![
            ProduceResponse::default()
                .with_responses(vec![topic(true)])
                .with_node_endpoints(vec![produce_response::NodeEndpoint::default().with_host(s("h"))]),
            ProduceResponse::default().with_responses(vec![topic(true)]),
            ProduceResponse::default().with_responses(vec![topic(false)]),
        ],
    )
}

fn fetch(version: i16) -> Vec<Bytes> {
    let partition = fetch_response::PartitionData::default()
        .with_partition_index(0)
        .with_high_watermark(10)
        .with_aborted_transactions(Some(vec![fetch_response::AbortedTransaction::default()
            .with_producer_id(ProducerId(3))
            .with_first_offset(1)]))
        .with_records(Some(Bytes::from_static(&[0; 12])));
    let topic = |v: i16| {
        let t = fetch_response::FetchableTopicResponse::default().with_partitions(vec![partition.clone()]);
        // v13+ name topics by id (the nil id here).
        if v >= 13 {
            t
        } else {
            t.with_topic(TopicName(s("t")))
        }
    };
    encoded(
        version,
        vec![
            FetchResponse::default()
                .with_responses(vec![topic(version)])
                .with_node_endpoints(vec![fetch_response::NodeEndpoint::default().with_host(s("h"))]),
            FetchResponse::default().with_responses(vec![topic(version)]),
        ],
    )
}

fn list_offsets(version: i16) -> Vec<Bytes> {
    let topic = list_offsets_response::ListOffsetsTopicResponse::default()
        .with_name(TopicName(s("t")))
        .with_partitions(vec![list_offsets_response::ListOffsetsPartitionResponse::default()
            .with_partition_index(0)
            .with_offset(5)]);
    encoded(version, vec![ListOffsetsResponse::default().with_topics(vec![topic])])
}

fn metadata(version: i16) -> Vec<Bytes> {
    let partition = metadata_response::MetadataResponsePartition::default()
        .with_leader_id(BrokerId(1))
        .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
        .with_isr_nodes(vec![BrokerId(1)]);
    let topic = metadata_response::MetadataResponseTopic::default()
        .with_name(Some(TopicName(s("t"))))
        .with_partitions(vec![partition.clone().with_offline_replicas(vec![BrokerId(2)])]);
    let plain_topic = metadata_response::MetadataResponseTopic::default()
        .with_name(Some(TopicName(s("t"))))
        .with_partitions(vec![partition]);
    let broker = metadata_response::MetadataResponseBroker::default()
        .with_node_id(BrokerId(1))
        .with_host(s("localhost"))
        .with_port(9092);
    encoded(
        version,
        vec![
            MetadataResponse::default()
                .with_brokers(vec![broker.clone()])
                .with_topics(vec![topic]),
            MetadataResponse::default()
                .with_brokers(vec![broker])
                .with_topics(vec![plain_topic]),
        ],
    )
}

fn offset_commit(version: i16) -> Vec<Bytes> {
    let topic = offset_commit_response::OffsetCommitResponseTopic::default()
        .with_name(TopicName(s("t")))
        .with_partitions(vec![offset_commit_response::OffsetCommitResponsePartition::default()]);
    encoded(version, vec![OffsetCommitResponse::default().with_topics(vec![topic])])
}

fn offset_fetch(version: i16) -> Vec<Bytes> {
    let old =
        OffsetFetchResponse::default().with_topics(vec![offset_fetch_response::OffsetFetchResponseTopic::default()
            .with_name(TopicName(s("t")))
            .with_partitions(vec![offset_fetch_response::OffsetFetchResponsePartition::default()
                .with_committed_offset(3)
                .with_metadata(Some(s("m")))])]);
    let new =
        OffsetFetchResponse::default().with_groups(vec![offset_fetch_response::OffsetFetchResponseGroup::default()
            .with_group_id(GroupId(s("g")))
            .with_topics(vec![offset_fetch_response::OffsetFetchResponseTopics::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![
                    offset_fetch_response::OffsetFetchResponsePartitions::default()
                        .with_committed_offset(3)
                        .with_metadata(Some(s("m"))),
                ])])]);
    // v10 names topics by id (the nil id here).
    let newest =
        OffsetFetchResponse::default().with_groups(vec![offset_fetch_response::OffsetFetchResponseGroup::default()
            .with_group_id(GroupId(s("g")))
            .with_topics(vec![offset_fetch_response::OffsetFetchResponseTopics::default()
                .with_partitions(vec![
                    offset_fetch_response::OffsetFetchResponsePartitions::default()
                        .with_committed_offset(3)
                        .with_metadata(Some(s("m"))),
                ])])]);
    encoded(version, vec![old, new, newest])
}

fn find_coordinator(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![
            FindCoordinatorResponse::default().with_coordinators(vec![
                find_coordinator_response::Coordinator::default()
                    .with_key(s("g"))
                    .with_node_id(BrokerId(1))
                    .with_host(s("h"))
                    .with_port(9092),
            ]),
            FindCoordinatorResponse::default()
                .with_node_id(BrokerId(1))
                .with_host(s("h"))
                .with_port(9092),
        ],
    )
}

fn join_group(version: i16) -> Vec<Bytes> {
    let member = join_group_response::JoinGroupResponseMember::default()
        .with_member_id(s("m"))
        .with_metadata(Bytes::from_static(b"\0\x01\0\0\0\x01\0\x01t"));
    encoded(
        version,
        vec![JoinGroupResponse::default()
            .with_generation_id(1)
            .with_protocol_name(Some(s("range")))
            .with_leader(s("m"))
            .with_member_id(s("m"))
            .with_members(vec![member])],
    )
}

fn sync_group(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![
            SyncGroupResponse::default()
                .with_protocol_type(Some(s("consumer")))
                .with_protocol_name(Some(s("range")))
                .with_assignment(Bytes::from_static(b"\0\x01\0\0\0\x01")),
            SyncGroupResponse::default().with_assignment(Bytes::from_static(b"\0\x01\0\0\0\x01")),
        ],
    )
}

fn api_versions(version: i16) -> Vec<Bytes> {
    let keys = vec![
        api_versions_response::ApiVersion::default()
            .with_api_key(0)
            .with_max_version(12),
        api_versions_response::ApiVersion::default()
            .with_api_key(18)
            .with_max_version(4),
    ];
    encoded(
        version,
        vec![
            ApiVersionsResponse::default()
                .with_api_keys(keys.clone())
                .with_supported_features(vec![api_versions_response::SupportedFeatureKey::default()
                    .with_name(s("f"))
                    .with_max_version(1)])
                .with_finalized_features(vec![api_versions_response::FinalizedFeatureKey::default()
                    .with_name(s("f"))
                    .with_max_version_level(1)]),
            ApiVersionsResponse::default().with_api_keys(keys),
        ],
    )
}

fn create_topics(version: i16) -> Vec<Bytes> {
    let topic = create_topics_response::CreatableTopicResult::default()
        .with_name(TopicName(s("t")))
        .with_num_partitions(3)
        .with_replication_factor(1);
    encoded(
        version,
        vec![
            CreateTopicsResponse::default().with_topics(vec![topic.clone().with_configs(Some(vec![
                create_topics_response::CreatableTopicConfigs::default()
                    .with_name(s("k"))
                    .with_value(Some(s("v"))),
            ]))]),
            CreateTopicsResponse::default().with_topics(vec![topic]),
        ],
    )
}

fn delete_topics(version: i16) -> Vec<Bytes> {
    let result = delete_topics_response::DeletableTopicResult::default();
    encoded(
        version,
        vec![
            DeleteTopicsResponse::default().with_responses(vec![result.clone().with_name(Some(TopicName(s("t"))))]),
            DeleteTopicsResponse::default().with_responses(vec![result]),
        ],
    )
}

fn add_partitions_to_txn(version: i16) -> Vec<Bytes> {
    let topic = add_partitions_to_txn_response::AddPartitionsToTxnTopicResult::default()
        .with_name(TopicName(s("t")))
        .with_results_by_partition(vec![
            add_partitions_to_txn_response::AddPartitionsToTxnPartitionResult::default(),
        ]);
    encoded(
        version,
        vec![
            AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(vec![topic.clone()]),
            AddPartitionsToTxnResponse::default().with_results_by_transaction(vec![
                add_partitions_to_txn_response::AddPartitionsToTxnResult::default()
                    .with_transactional_id(TransactionalId(s("x")))
                    .with_topic_results(vec![topic]),
            ]),
        ],
    )
}

fn txn_offset_commit(version: i16) -> Vec<Bytes> {
    let topic = txn_offset_commit_response::TxnOffsetCommitResponseTopic::default()
        .with_name(TopicName(s("t")))
        .with_partitions(vec![
            txn_offset_commit_response::TxnOffsetCommitResponsePartition::default(),
        ]);
    encoded(
        version,
        vec![TxnOffsetCommitResponse::default().with_topics(vec![topic])],
    )
}

fn describe_configs(version: i16) -> Vec<Bytes> {
    let config = describe_configs_response::DescribeConfigsResourceResult::default()
        .with_name(s("retention.ms"))
        .with_value(Some(s("1000")))
        .with_synonyms(vec![describe_configs_response::DescribeConfigsSynonym::default()
            .with_name(s("log.retention.ms"))
            .with_value(Some(s("1000")))])
        .with_documentation(Some(s("doc")));
    encoded(
        version,
        vec![DescribeConfigsResponse::default().with_results(vec![
            describe_configs_response::DescribeConfigsResult::default()
                .with_error_message(Some(s("e")))
                .with_resource_type(2)
                .with_resource_name(s("t"))
                .with_configs(vec![config]),
        ])],
    )
}

fn incremental_alter_configs(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![IncrementalAlterConfigsResponse::default().with_responses(vec![
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_message(Some(s("e")))
                .with_resource_type(2)
                .with_resource_name(s("t")),
        ])],
    )
}

fn describe_cluster(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![DescribeClusterResponse::default()
            .with_error_message(Some(s("e")))
            .with_cluster_id(s("c"))
            .with_controller_id(BrokerId(1))
            .with_brokers(vec![describe_cluster_response::DescribeClusterBroker::default()
                .with_broker_id(BrokerId(1))
                .with_host(s("h"))
                .with_port(9092)
                .with_rack(Some(s("r")))])],
    )
}

fn describe_log_dirs(version: i16) -> Vec<Bytes> {
    let topic = describe_log_dirs_response::DescribeLogDirsTopic::default()
        .with_name(TopicName(s("t")))
        .with_partitions(vec![
            describe_log_dirs_response::DescribeLogDirsPartition::default().with_partition_size(100)
        ]);
    encoded(
        version,
        vec![DescribeLogDirsResponse::default().with_results(vec![
            describe_log_dirs_response::DescribeLogDirsResult::default()
                .with_log_dir(s("/d"))
                .with_topics(vec![topic]),
        ])],
    )
}

fn alter_partition_reassignments(version: i16) -> Vec<Bytes> {
    let topic = alter_partition_reassignments_response::ReassignableTopicResponse::default()
        .with_name(TopicName(s("t")))
        .with_partitions(vec![
            alter_partition_reassignments_response::ReassignablePartitionResponse::default()
                .with_error_message(Some(s("e"))),
        ]);
    encoded(
        version,
        vec![AlterPartitionReassignmentsResponse::default()
            .with_error_message(Some(s("e")))
            .with_responses(vec![topic])],
    )
}

fn list_partition_reassignments(version: i16) -> Vec<Bytes> {
    let partition = list_partition_reassignments_response::OngoingPartitionReassignment::default()
        .with_replicas(vec![BrokerId(1), BrokerId(2)])
        .with_adding_replicas(vec![BrokerId(2)])
        .with_removing_replicas(vec![BrokerId(3)]);
    encoded(
        version,
        vec![ListPartitionReassignmentsResponse::default()
            .with_error_message(Some(s("e")))
            .with_topics(vec![
                list_partition_reassignments_response::OngoingTopicReassignment::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![partition]),
            ])],
    )
}

fn elect_leaders(version: i16) -> Vec<Bytes> {
    let result = elect_leaders_response::ReplicaElectionResult::default()
        .with_topic(TopicName(s("t")))
        .with_partition_result(vec![
            elect_leaders_response::PartitionResult::default().with_error_message(Some(s("e")))
        ]);
    encoded(
        version,
        vec![ElectLeadersResponse::default().with_replica_election_results(vec![result])],
    )
}

fn create_partitions(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![CreatePartitionsResponse::default().with_results(vec![
            create_partitions_response::CreatePartitionsTopicResult::default()
                .with_name(TopicName(s("t")))
                .with_error_message(Some(s("e"))),
        ])],
    )
}

fn delete_records(version: i16) -> Vec<Bytes> {
    let topic = delete_records_response::DeleteRecordsTopicResult::default()
        .with_name(TopicName(s("t")))
        .with_partitions(vec![
            delete_records_response::DeleteRecordsPartitionResult::default().with_low_watermark(5)
        ]);
    encoded(version, vec![DeleteRecordsResponse::default().with_topics(vec![topic])])
}

fn list_groups(version: i16) -> Vec<Bytes> {
    // group_state (v4+) and group_type (v5+) are dropped by older versions' encoders.
    encoded(
        version,
        vec![
            ListGroupsResponse::default().with_groups(vec![list_groups_response::ListedGroup::default()
                .with_group_id(GroupId(s("g")))
                .with_protocol_type(s("consumer"))
                .with_group_state(s("Stable"))
                .with_group_type(s("classic"))]),
        ],
    )
}

fn describe_groups(version: i16) -> Vec<Bytes> {
    // These fields are an encode error where the version lacks them.
    let member = describe_groups_response::DescribedGroupMember::default()
        .with_member_id(s("m"))
        .with_group_instance_id((version >= 4).then(|| s("i")))
        .with_client_id(s("c"))
        .with_client_host(s("/127.0.0.1"))
        .with_member_metadata(Bytes::from_static(b"\0\x01\0\0\0\x01\0\x01t"))
        .with_member_assignment(Bytes::from_static(b"\0\x01\0\0\0\x01"));
    let group = describe_groups_response::DescribedGroup::default()
        .with_error_message((version >= 6).then(|| s("e")))
        .with_group_id(GroupId(s("g")))
        .with_group_state(s("Stable"))
        .with_protocol_type(s("consumer"))
        .with_protocol_data(s("range"))
        .with_members(vec![member]);
    encoded(
        version,
        vec![DescribeGroupsResponse::default().with_groups(vec![group])],
    )
}

fn delete_groups(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![DeleteGroupsResponse::default().with_results(vec![
            delete_groups_response::DeletableGroupResult::default().with_group_id(GroupId(s("g"))),
        ])],
    )
}

fn offset_delete(version: i16) -> Vec<Bytes> {
    let topic = offset_delete_response::OffsetDeleteResponseTopic::default()
        .with_name(TopicName(s("t")))
        .with_partitions(vec![offset_delete_response::OffsetDeleteResponsePartition::default()]);
    encoded(version, vec![OffsetDeleteResponse::default().with_topics(vec![topic])])
}

fn consumer_group_describe(version: i16) -> Vec<Bytes> {
    let assignment = consumer_group_describe_response::Assignment::default().with_topic_partitions(vec![
        consumer_group_describe_response::TopicPartitions::default()
            .with_topic_name(TopicName(s("t")))
            .with_partitions(vec![0, 1]),
    ]);
    let member = consumer_group_describe_response::Member::default()
        .with_member_id(s("m"))
        .with_instance_id(Some(s("i")))
        .with_rack_id(Some(s("r")))
        .with_client_id(s("c"))
        .with_client_host(s("/127.0.0.1"))
        .with_subscribed_topic_names(vec![TopicName(s("t"))])
        .with_subscribed_topic_regex(Some(s("t.*")))
        .with_assignment(assignment.clone())
        .with_target_assignment(assignment);
    let group = consumer_group_describe_response::DescribedGroup::default()
        .with_error_message(Some(s("e")))
        .with_group_id(GroupId(s("g")))
        .with_group_state(s("Stable"))
        .with_assignor_name(s("uniform"))
        .with_members(vec![member]);
    encoded(
        version,
        vec![ConsumerGroupDescribeResponse::default().with_groups(vec![group])],
    )
}

fn consumer_group_heartbeat(version: i16) -> Vec<Bytes> {
    let assignment = consumer_group_heartbeat_response::Assignment::default().with_topic_partitions(vec![
        consumer_group_heartbeat_response::TopicPartitions::default().with_partitions(vec![0, 1]),
    ]);
    let response = ConsumerGroupHeartbeatResponse::default()
        .with_error_message(Some(s("e")))
        .with_member_id(Some(s("m")))
        .with_member_epoch(1);
    encoded(
        version,
        vec![
            response.clone().with_assignment(Some(assignment)),
            // The usual heartbeat answer: no new assignment.
            response,
        ],
    )
}

fn share_group_heartbeat(version: i16) -> Vec<Bytes> {
    let assignment = share_group_heartbeat_response::Assignment::default().with_topic_partitions(vec![
        share_group_heartbeat_response::TopicPartitions::default().with_partitions(vec![0, 1]),
    ]);
    let response = ShareGroupHeartbeatResponse::default()
        .with_error_message(Some(s("e")))
        .with_member_id(Some(s("m")))
        .with_member_epoch(1)
        .with_heartbeat_interval_ms(1000);
    encoded(
        version,
        vec![response.clone().with_assignment(Some(assignment)), response],
    )
}

fn share_fetch(version: i16) -> Vec<Bytes> {
    let partition = share_fetch_response::PartitionData::default()
        .with_error_message(Some(s("e")))
        .with_acknowledge_error_message(Some(s("e")))
        .with_records(Some(Bytes::from_static(b"records")))
        .with_acquired_records(vec![share_fetch_response::AcquiredRecords::default()
            .with_first_offset(0)
            .with_last_offset(9)
            .with_delivery_count(1)]);
    let response = ShareFetchResponse::default()
        .with_error_message(Some(s("e")))
        .with_acquisition_lock_timeout_ms(30_000)
        .with_responses(vec![
            share_fetch_response::ShareFetchableTopicResponse::default().with_partitions(vec![partition])
        ])
        .with_node_endpoints(vec![share_fetch_response::NodeEndpoint::default()
            .with_host(s("h"))
            .with_rack(Some(s("r")))]);
    encoded(version, vec![response])
}

fn share_acknowledge(version: i16) -> Vec<Bytes> {
    let response = ShareAcknowledgeResponse::default()
        .with_error_message(Some(s("e")))
        .with_acquisition_lock_timeout_ms(30_000)
        .with_responses(vec![
            share_acknowledge_response::ShareAcknowledgeTopicResponse::default().with_partitions(vec![
                share_acknowledge_response::PartitionData::default().with_error_message(Some(s("e"))),
            ]),
        ])
        .with_node_endpoints(vec![
            share_acknowledge_response::NodeEndpoint::default().with_host(s("h"))
        ]);
    encoded(version, vec![response])
}

fn describe_acls(version: i16) -> Vec<Bytes> {
    let resource = describe_acls_response::DescribeAclsResource::default()
        .with_resource_type(2)
        .with_resource_name(s("t"))
        .with_pattern_type(3)
        .with_acls(vec![describe_acls_response::AclDescription::default()
            .with_principal(s("User:a"))
            .with_host(s("*"))
            .with_operation(3)
            .with_permission_type(3)]);
    encoded(
        version,
        vec![DescribeAclsResponse::default()
            .with_error_message(Some(s("e")))
            .with_resources(vec![resource])],
    )
}

fn create_acls(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![CreateAclsResponse::default().with_results(vec![
            create_acls_response::AclCreationResult::default().with_error_message(Some(s("e")))
        ])],
    )
}

fn delete_acls(version: i16) -> Vec<Bytes> {
    let matching = delete_acls_response::DeleteAclsMatchingAcl::default()
        .with_error_message(Some(s("e")))
        .with_resource_type(2)
        .with_resource_name(s("t"))
        .with_pattern_type(3)
        .with_principal(s("User:a"))
        .with_host(s("*"))
        .with_operation(3)
        .with_permission_type(3);
    encoded(
        version,
        vec![DeleteAclsResponse::default().with_filter_results(vec![
            delete_acls_response::DeleteAclsFilterResult::default()
                .with_error_message(Some(s("e")))
                .with_matching_acls(vec![matching]),
        ])],
    )
}

fn describe_user_scram_credentials(version: i16) -> Vec<Bytes> {
    let result = describe_user_scram_credentials_response::DescribeUserScramCredentialsResult::default()
        .with_user(s("u"))
        .with_error_message(Some(s("e")))
        .with_credential_infos(vec![describe_user_scram_credentials_response::CredentialInfo::default(
        )
        .with_mechanism(1)
        .with_iterations(4096)]);
    encoded(
        version,
        vec![DescribeUserScramCredentialsResponse::default()
            .with_error_message(Some(s("e")))
            .with_results(vec![result])],
    )
}

fn alter_user_scram_credentials(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![AlterUserScramCredentialsResponse::default().with_results(vec![
            alter_user_scram_credentials_response::AlterUserScramCredentialsResult::default()
                .with_user(s("u"))
                .with_error_message(Some(s("e"))),
        ])],
    )
}

fn describe_client_quotas(version: i16) -> Vec<Bytes> {
    let entry = describe_client_quotas_response::EntryData::default()
        .with_entity(vec![describe_client_quotas_response::EntityData::default()
            .with_entity_type(s("user"))
            .with_entity_name(Some(s("u")))])
        .with_values(vec![describe_client_quotas_response::ValueData::default()
            .with_key(s("producer_byte_rate"))
            .with_value(1024.0)]);
    encoded(
        version,
        vec![DescribeClientQuotasResponse::default()
            .with_error_message(Some(s("e")))
            .with_entries(Some(vec![entry]))],
    )
}

fn alter_client_quotas(version: i16) -> Vec<Bytes> {
    encoded(
        version,
        vec![AlterClientQuotasResponse::default().with_entries(vec![
            alter_client_quotas_response::EntryData::default()
                .with_error_message(Some(s("e")))
                .with_entity(vec![alter_client_quotas_response::EntityData::default()
                    .with_entity_type(s("user"))
                    .with_entity_name(Some(s("u")))]),
        ])],
    )
}

/// Valid sample bodies of `api` at `version` (possibly none for an odd version).
pub fn samples(api: ApiKey, version: i16) -> Vec<Bytes> {
    match api {
        ApiKey::Produce => produce(version),
        ApiKey::Fetch => fetch(version),
        ApiKey::ListOffsets => list_offsets(version),
        ApiKey::Metadata => metadata(version),
        ApiKey::OffsetCommit => offset_commit(version),
        ApiKey::OffsetFetch => offset_fetch(version),
        ApiKey::FindCoordinator => find_coordinator(version),
        ApiKey::JoinGroup => join_group(version),
        ApiKey::Heartbeat => encoded(version, vec![HeartbeatResponse::default()]),
        ApiKey::LeaveGroup => encoded(
            version,
            vec![
                LeaveGroupResponse::default().with_members(vec![
                    leave_group_response::MemberResponse::default().with_member_id(s("m"))
                ]),
                LeaveGroupResponse::default(),
            ],
        ),
        ApiKey::SyncGroup => sync_group(version),
        ApiKey::SaslHandshake => encoded(
            version,
            vec![SaslHandshakeResponse::default().with_mechanisms(vec![s("PLAIN"), s("SCRAM-SHA-256")])],
        ),
        ApiKey::ApiVersions => api_versions(version),
        ApiKey::CreateTopics => create_topics(version),
        ApiKey::DeleteTopics => delete_topics(version),
        ApiKey::InitProducerId => encoded(
            version,
            vec![InitProducerIdResponse::default()
                .with_producer_id(ProducerId(9))
                .with_producer_epoch(1)],
        ),
        ApiKey::AddPartitionsToTxn => add_partitions_to_txn(version),
        ApiKey::AddOffsetsToTxn => encoded(version, vec![AddOffsetsToTxnResponse::default()]),
        ApiKey::EndTxn => encoded(version, vec![EndTxnResponse::default()]),
        ApiKey::TxnOffsetCommit => txn_offset_commit(version),
        ApiKey::SaslAuthenticate => encoded(
            version,
            vec![SaslAuthenticateResponse::default()
                .with_auth_bytes(Bytes::from_static(b"server-first"))
                .with_session_lifetime_ms(1000)],
        ),
        ApiKey::DescribeConfigs => describe_configs(version),
        ApiKey::IncrementalAlterConfigs => incremental_alter_configs(version),
        ApiKey::DescribeCluster => describe_cluster(version),
        ApiKey::DescribeLogDirs => describe_log_dirs(version),
        ApiKey::AlterPartitionReassignments => alter_partition_reassignments(version),
        ApiKey::ListPartitionReassignments => list_partition_reassignments(version),
        ApiKey::ElectLeaders => elect_leaders(version),
        ApiKey::CreatePartitions => create_partitions(version),
        ApiKey::DeleteRecords => delete_records(version),
        ApiKey::ListGroups => list_groups(version),
        ApiKey::DescribeGroups => describe_groups(version),
        ApiKey::DeleteGroups => delete_groups(version),
        ApiKey::OffsetDelete => offset_delete(version),
        ApiKey::ConsumerGroupDescribe => consumer_group_describe(version),
        ApiKey::ConsumerGroupHeartbeat => consumer_group_heartbeat(version),
        ApiKey::ShareGroupHeartbeat => share_group_heartbeat(version),
        ApiKey::ShareFetch => share_fetch(version),
        ApiKey::ShareAcknowledge => share_acknowledge(version),
        ApiKey::DescribeAcls => describe_acls(version),
        ApiKey::CreateAcls => create_acls(version),
        ApiKey::DeleteAcls => delete_acls(version),
        ApiKey::DescribeUserScramCredentials => describe_user_scram_credentials(version),
        ApiKey::AlterUserScramCredentials => alter_user_scram_credentials(version),
        ApiKey::DescribeClientQuotas => describe_client_quotas(version),
        ApiKey::AlterClientQuotas => alter_client_quotas(version),
        _ => Vec::new(),
    }
}

/// A fuzz input: api key, version (both big-endian i16) and the response body.
pub fn fuzz_input(api: ApiKey, version: i16, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + body.len());
    v.extend_from_slice(&(api as i16).to_be_bytes());
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// Splits a fuzz input into the api (one of `APIS`, chosen by the first two bytes), a
/// version in its range (the next two) and the body.
pub fn split_fuzz_input(data: &[u8]) -> Option<(ApiKey, i16, Bytes)> {
    if data.len() < 4 {
        return None;
    }
    let key = i16::from_be_bytes([data[0], data[1]]);
    let &(api, min, max) = APIS
        .iter()
        .find(|(k, _, _)| *k as i16 == key)
        .unwrap_or(&APIS[key.unsigned_abs() as usize % APIS.len()]);
    let v = i16::from_be_bytes([data[2], data[3]]);
    let version = if (min..=max).contains(&v) {
        v
    } else {
        min + (v.unsigned_abs() as i16 % (max - min + 1))
    };
    Some((api, version, Bytes::copy_from_slice(&data[4..])))
}
