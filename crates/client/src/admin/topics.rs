//! Topics: listing, describing, creating and deleting topics, adding partitions, deleting
//! records, and looking up offsets.
//!
//! Topic-level requests (CreateTopics, DeleteTopics, CreatePartitions, Metadata) go to any
//! live broker: in KRaft clusters every broker forwards the first three to the controller,
//! as the Java AdminClient relies on. Partition-level ones (ListOffsets, DeleteRecords) go
//! to each partition's leader, one request per leader.
//!
//! Every call here reports one outcome per item, in the caller's order. [`Admin::settle`]
//! runs the attempts: it keeps the items whose outcome is final and sends only the others
//! again (a moved leader or controller), through the one retry policy of
//! [`Admin::retry_until`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use kafka_protocol::messages::create_partitions_request::{CreatePartitionsAssignment, CreatePartitionsTopic};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_topic_partitions_request;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, ListOffsetsResponse, MetadataRequest,
    MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{authorized_operations, i64_string, timeout_ms, to_error, Admin, Answers, Target};
use crate::cluster::validate_topic_name;
use crate::error::{Error, Kind, Result};
use crate::offsets::{self, OffsetSpec, Query};

/// A call on many items with its options, as the binding receives it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsCall<I, O: Default> {
    /// The items (topics, partitions).
    pub items: Vec<I>,
    /// The call's options.
    #[serde(default)]
    pub options: O,
}

/// A topic to create. Give either counts (each defaults to the broker's setting) or a
/// replica assignment, not both.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTopic {
    /// Topic name.
    pub topic: String,
    /// Partitions; the broker's `num.partitions` when `None`.
    pub num_partitions: Option<i32>,
    /// Replication factor; the broker's `default.replication.factor` when `None`.
    pub replication_factor: Option<i16>,
    /// Topic configs (`cleanup.policy`, `retention.ms`, ...).
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
    /// Replica broker ids by partition (partitions 0..n-1; the first broker is preferred
    /// leader).
    pub replica_assignment: Option<BTreeMap<i32, Vec<i32>>>,
}

/// Options of `create_topics`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTopicsOptions {
    /// Only check whether the topics could be created.
    #[serde(default)]
    pub validate_only: bool,
    /// How long the controller may take, and then how long to wait for every new
    /// partition's leader; `requestTimeoutMs` when `None`.
    pub timeout_ms: Option<u64>,
}

/// One topic's outcome of `create_topics`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTopicResult {
    /// Topic name.
    pub topic: String,
    /// Why this topic was not created.
    pub error: Option<Error>,
    /// The new topic's id (Kafka's text form, as `kafka-topics.sh` prints it).
    pub topic_id: Option<String>,
    /// Partitions it has (or would have, validate-only); -1 on error.
    pub num_partitions: i32,
    /// Its replication factor; -1 on error.
    pub replication_factor: i16,
}

/// Options of `delete_topics`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteTopicsOptions {
    /// How long the controller may take; `requestTimeoutMs` when `None`.
    pub timeout_ms: Option<u64>,
}

/// One topic's outcome of `delete_topics` or `create_partitions`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicResult {
    /// Topic name.
    pub topic: String,
    /// Why the operation failed for this topic.
    pub error: Option<Error>,
}

/// Options of `list_topics`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListTopicsOptions {
    /// Also list internal topics (`__consumer_offsets`, `__transaction_state`).
    #[serde(default)]
    pub include_internal: bool,
}

/// Options of `describe_topics`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DescribeTopicsOptions {
    /// Also report which ACL operations this client may perform on each topic.
    #[serde(default)]
    pub include_authorized_operations: bool,
    /// Partitions per DescribeTopicPartitions response (the broker's page size; Java's
    /// `partitionSizeLimitPerResponse`); default 2000, as Java's.
    #[serde(default)]
    pub partition_size_limit_per_response: Option<i32>,
}

/// A topic as `describe_topics` reports it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicDescription {
    /// Topic name.
    pub topic: String,
    /// Why it could not be described (UNKNOWN_TOPIC_OR_PARTITION, ...).
    pub error: Option<Error>,
    /// Its id (Kafka's text form).
    pub topic_id: Option<String>,
    /// Internal topics (`__consumer_offsets`, ...).
    pub is_internal: bool,
    /// Partitions by index.
    pub partitions: Vec<TopicPartitionInfo>,
    /// ACL operations allowed on the topic (`READ`, `DESCRIBE`, ...), when asked for.
    pub authorized_operations: Option<Vec<String>>,
}

/// One partition of a described topic.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicPartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// Leader broker id, -1 when none.
    pub leader: i32,
    /// Leader epoch, -1 when unknown.
    pub leader_epoch: i32,
    /// Replica broker ids, the preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// Replicas on offline log dirs or brokers.
    pub offline_replicas: Vec<i32>,
}

/// Partitions to add to a topic.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPartitions {
    /// Topic name.
    pub topic: String,
    /// The partition count to grow to.
    pub count: i32,
    /// Replica broker ids of each new partition, in order; the broker places them when
    /// `None`.
    pub assignments: Option<Vec<Vec<i32>>>,
}

/// Options of `create_partitions`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePartitionsOptions {
    /// Only check whether the partitions could be added.
    #[serde(default)]
    pub validate_only: bool,
    /// How long the controller may take, and then how long to wait for the new
    /// partitions' leaders; `requestTimeoutMs` when `None`.
    pub timeout_ms: Option<u64>,
}

/// Records to delete: everything before `offset` in a partition.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordsToDelete {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The new log start offset; -1 for the high watermark (delete everything).
    #[serde(with = "i64_string")]
    pub offset: i64,
}

/// Options of `delete_records`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteRecordsOptions {
    /// How long the leader may wait for its followers; `requestTimeoutMs` when `None`.
    pub timeout_ms: Option<u64>,
}

/// One partition's outcome of `delete_records`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecords {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The partition's log start offset now; -1 on error.
    #[serde(with = "i64_string")]
    pub low_watermark: i64,
    /// Why the records were not deleted.
    pub error: Option<Error>,
}

/// One partition's offset to look up.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OffsetQuery {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Which offset: `"earliest"`, `"latest"`, `"max-timestamp"` or `{ "timestamp": ms }`.
    pub spec: OffsetSpec,
}

/// Which records a `latest` lookup counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum IsolationLevel {
    /// Up to the high watermark.
    #[default]
    #[serde(rename = "read_uncommitted")]
    ReadUncommitted,
    /// Up to the last stable offset: records of open transactions are not counted.
    #[serde(rename = "read_committed")]
    ReadCommitted,
}

/// Options of `list_offsets`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListOffsetsOptions {
    /// `read_uncommitted` (the default) or `read_committed`.
    #[serde(default)]
    pub isolation_level: IsolationLevel,
}

/// One partition's answer of `list_offsets`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedOffset {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The offset; -1 when no record matches a timestamp lookup, and on error.
    #[serde(with = "i64_string")]
    pub offset: i64,
    /// The record's timestamp for timestamp and max-timestamp lookups, else -1.
    pub timestamp: i64,
    /// Leader epoch of that record's batch, -1 when unknown.
    pub leader_epoch: i32,
    /// Why the offset could not be looked up.
    pub error: Option<Error>,
}

impl<'de> Deserialize<'de> for OffsetSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Spec {
            Name(String),
            At { timestamp: i64 },
        }
        match Spec::deserialize(d)? {
            Spec::Name(n) => match n.as_str() {
                "earliest" => Ok(OffsetSpec::Earliest),
                "latest" => Ok(OffsetSpec::Latest),
                "max-timestamp" => Ok(OffsetSpec::MaxTimestamp),
                other => Err(serde::de::Error::custom(format!(
                    "`{other}` is not an offset spec; expected 'earliest', 'latest', 'max-timestamp' or {{ timestamp }}"
                ))),
            },
            Spec::At { timestamp } => Ok(OffsetSpec::Timestamp(timestamp)),
        }
    }
}

/// A partition, as items are keyed.
type Tp = (Arc<str>, i32);

/// What CreateTopics reports for a created topic.
struct Created {
    topic_id: Option<String>,
    num_partitions: i32,
    replication_factor: i16,
}

/// An item error names its topic in the message, so that an aggregate error names them all.
fn on_topic(topic: &str, e: Error) -> Error {
    let message = format!("topic `{topic}`: {}", e.message);
    Error { message, ..e }.with_partition(&topic.into(), -1)
}

fn on_partition(topic: &Arc<str>, partition: i32, e: Error) -> Error {
    let message = format!("partition {topic}-{partition}: {}", e.message);
    Error { message, ..e }.with_partition(topic, partition)
}

/// Kafka's text form of a topic id (URL-safe base64 of its 16 bytes, as `Uuid.toString()`
/// in Kafka prints it); `None` for the zero id brokers send when there is none.
fn topic_id_text(bytes: &[u8]) -> Option<String> {
    bytes
        .iter()
        .any(|b| *b != 0)
        .then(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn brokers(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|b| BrokerId(*b)).collect()
}

/// Checks a replica list: not empty, no broker twice.
fn check_replicas(what: &str, ids: &[i32]) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::argument(what, "no broker ids"));
    }
    let mut seen = HashSet::new();
    if let Some(b) = ids.iter().find(|b| !seen.insert(**b)) {
        return Err(Error::argument(what, format!("broker {b} is listed twice")));
    }
    Ok(())
}

/// The CreateTopics entry for `t`, or why `t` cannot be sent.
fn creatable(t: &NewTopic) -> Result<CreatableTopic> {
    validate_topic_name(&t.topic)?;
    let mut c = CreatableTopic::default()
        .with_name(name(&t.topic))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_configs(
            t.configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_value(Some(StrBytes::from_string(v.clone())))
                })
                .collect(),
        );
    if let Some(a) = &t.replica_assignment {
        if t.num_partitions.is_some() || t.replication_factor.is_some() {
            return Err(Error::argument(
                "replicaAssignment",
                "give either numPartitions/replicationFactor or replicaAssignment, not both",
            ));
        }
        if a.is_empty() {
            return Err(Error::argument("replicaAssignment", "no partitions"));
        }
        let mut assignments = Vec::with_capacity(a.len());
        for (p, ids) in a {
            if *p < 0 {
                return Err(Error::argument(
                    "replicaAssignment",
                    format!("partition {p} is negative"),
                ));
            }
            check_replicas(&format!("replicaAssignment of partition {p}"), ids)?;
            assignments.push(
                CreatableReplicaAssignment::default()
                    .with_partition_index(*p)
                    .with_broker_ids(brokers(ids)),
            );
        }
        c = c.with_assignments(assignments);
    }
    if let Some(n) = t.num_partitions {
        if n <= 0 {
            return Err(Error::argument("numPartitions", format!("{n}; must be at least 1")));
        }
        c = c.with_num_partitions(n);
    }
    if let Some(r) = t.replication_factor {
        if r <= 0 {
            return Err(Error::argument("replicationFactor", format!("{r}; must be at least 1")));
        }
        c = c.with_replication_factor(r);
    }
    Ok(c)
}

/// The CreatePartitions entry for `p`, or why `p` cannot be sent.
fn partitions_to_add(p: &NewPartitions) -> Result<CreatePartitionsTopic> {
    validate_topic_name(&p.topic)?;
    if p.count <= 0 {
        return Err(Error::argument("count", format!("{}; must be at least 1", p.count)));
    }
    let assignments = match &p.assignments {
        None => None,
        Some(a) => {
            for (i, ids) in a.iter().enumerate() {
                check_replicas(&format!("assignments[{i}]"), ids)?;
            }
            Some(
                a.iter()
                    .map(|ids| CreatePartitionsAssignment::default().with_broker_ids(brokers(ids)))
                    .collect(),
            )
        }
    };
    Ok(CreatePartitionsTopic::default()
        .with_name(name(&p.topic))
        .with_count(p.count)
        .with_assignments(assignments))
}

/// Items keyed for sending: the first item of each key is sent; a later item with the same
/// key shares its answer when it asks the same (`same`), else it is an error. Returns the
/// keys to send, and per item its key or its error.
fn dedupe<K: Clone + Eq + Hash, V>(
    items: impl IntoIterator<Item = Result<(K, V)>>,
    same: impl Fn(&V, &V) -> bool,
) -> (Vec<(K, V)>, Vec<Result<K>>) {
    let mut first: HashMap<K, usize> = HashMap::new();
    let mut send: Vec<(K, V)> = Vec::new();
    let mut per_item = Vec::new();
    for it in items {
        per_item.push(match it {
            Err(e) => Err(e),
            Ok((k, v)) => match first.get(&k) {
                Some(&i) if same(&send[i].1, &v) => Ok(k),
                Some(_) => Err(Error::argument("items", "listed twice in one call")),
                None => {
                    first.insert(k.clone(), send.len());
                    send.push((k.clone(), v));
                    Ok(k)
                }
            },
        });
    }
    (send, per_item)
}

impl Admin {
    /// The deadline of a call the broker itself holds for up to `timeout`.
    fn held_deadline(&self, timeout: Duration) -> Instant {
        Instant::now() + timeout + self.cluster().config().request_timeout
    }

    fn timeout_or_default(&self, ms: Option<u64>) -> Duration {
        ms.map_or(self.cluster().config().request_timeout, Duration::from_millis)
    }

    /// Names of the cluster's topics, sorted.
    pub async fn list_topics(&self, options: &ListTopicsOptions) -> Result<Vec<String>> {
        let meta = self.cluster().refresh(None, false).await?;
        let mut names: Vec<String> = meta
            .topics
            .values()
            .filter(|t| t.error.is_ok() && (options.include_internal || !t.is_internal))
            .map(|t| t.name.clone())
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    /// Partitions, leaders, replicas, id and internal flag of each named topic (a
    /// Metadata request without auto-creation).
    pub async fn describe_topics(
        &self,
        names: &[String],
        options: &DescribeTopicsOptions,
    ) -> Result<Vec<TopicDescription>> {
        let (send, per_item) = dedupe(
            names.iter().map(|n| validate_topic_name(n).map(|()| (n.clone(), ()))),
            |_, _| true,
        );
        let ops = options.include_authorized_operations;
        let limit = options.partition_size_limit_per_response.unwrap_or(2000);
        if limit <= 0 {
            return Err(Error::argument(
                "partitionSizeLimitPerResponse",
                format!("{limit} is not a positive number of partitions"),
            ));
        }
        let keys = send.into_iter().map(|(k, ())| k).collect();
        let done = self
            .retry_each(
                "DescribeTopics",
                self.deadline(),
                keys,
                |names: Vec<String>, d| async move {
                    // DescribeTopicPartitions (KIP-966, Kafka 3.8+) pages large topics;
                    // Metadata where the broker has no such API.
                    match self.describe_topic_partitions(&names, limit, ops, d).await {
                        Err(e) if e.kind == Kind::UnsupportedVersion => {}
                        r => return r,
                    }
                    let (_, resp): (_, MetadataResponse) = self
                        .send(&Target::Any, ApiKey::Metadata, d, |v| {
                            if ops && v < 8 {
                                return Err(Error::new(
                                    Kind::UnsupportedVersion,
                                    format!("includeAuthorizedOperations needs Metadata v8 (the broker speaks v{v})"),
                                ));
                            }
                            Ok(MetadataRequest::default()
                                .with_topics(Some(
                                    names
                                        .iter()
                                        .map(|n| MetadataRequestTopic::default().with_name(Some(name(n))))
                                        .collect(),
                                ))
                                .with_allow_auto_topic_creation(false)
                                .with_include_topic_authorized_operations(ops))
                        })
                        .await?;
                    Ok(resp
                        .topics
                        .into_iter()
                        .filter_map(|t| {
                            let topic = t.name?.0.to_string();
                            let r = match to_error(t.error_code, None) {
                                Some(e) => Err(e),
                                None => {
                                    let mut partitions: Vec<TopicPartitionInfo> = t
                                        .partitions
                                        .into_iter()
                                        .map(|p| TopicPartitionInfo {
                                            partition: p.partition_index,
                                            leader: p.leader_id.0,
                                            leader_epoch: p.leader_epoch,
                                            replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                                            isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                                            offline_replicas: p.offline_replicas.iter().map(|b| b.0).collect(),
                                        })
                                        .collect();
                                    partitions.sort_by_key(|p| p.partition);
                                    Ok(TopicDescription {
                                        topic: topic.clone(),
                                        error: None,
                                        topic_id: topic_id_text(t.topic_id.as_bytes()),
                                        is_internal: t.is_internal,
                                        partitions,
                                        authorized_operations: if ops {
                                            authorized_operations(t.topic_authorized_operations)
                                        } else {
                                            None
                                        },
                                    })
                                }
                            };
                            Some((topic, r))
                        })
                        .collect())
                },
            )
            .await?;
        Ok(names
            .iter()
            .zip(per_item)
            .map(|(n, k)| {
                let r = k.and_then(|k| done.get(&k).cloned().unwrap_or_else(|| Err(missing(n))));
                r.unwrap_or_else(|e| TopicDescription {
                    topic: n.clone(),
                    error: Some(on_topic(n, e)),
                    topic_id: None,
                    is_internal: false,
                    partitions: Vec::new(),
                    authorized_operations: None,
                })
            })
            .collect())
    }

    /// One attempt of `describe_topics` with DescribeTopicPartitions: the broker answers
    /// at most `limit` partitions per response and a cursor (topic, partition) to go on
    /// from; the same topics are sent again with it until no cursor comes back. A topic
    /// may span pages: its partitions are gathered.
    async fn describe_topic_partitions(
        &self,
        names: &[String],
        limit: i32,
        ops: bool,
        d: Instant,
    ) -> Result<Answers<String, TopicDescription>> {
        let mut sorted: Vec<&String> = names.iter().collect();
        sorted.sort();
        let mut found: BTreeMap<String, Result<TopicDescription>> = BTreeMap::new();
        let mut cursor: Option<describe_topic_partitions_request::Cursor> = None;
        // Each page moves the cursor on; a broker that sends the same cursor back would
        // loop, so the pages are bounded by what the topics can hold.
        let mut pages = 0usize;
        loop {
            pages += 1;
            if pages > 100_000 {
                return Err(Error::new(
                    Kind::Protocol,
                    "DescribeTopicPartitions: the broker's cursor does not move on",
                ));
            }
            let sent_cursor = cursor.clone();
            let (_, resp): (_, DescribeTopicPartitionsResponse) = self
                .send(&Target::Any, ApiKey::DescribeTopicPartitions, d, |_| {
                    Ok(DescribeTopicPartitionsRequest::default()
                        .with_topics(
                            sorted
                                .iter()
                                .map(|n| describe_topic_partitions_request::TopicRequest::default().with_name(name(n)))
                                .collect(),
                        )
                        .with_response_partition_limit(limit)
                        .with_cursor(sent_cursor))
                })
                .await?;
            for t in resp.topics {
                let Some(topic) = t.name.map(|n| n.0.to_string()) else {
                    continue;
                };
                if let Some(e) = to_error(t.error_code, None) {
                    found.insert(topic, Err(e));
                    continue;
                }
                let entry = found.entry(topic.clone()).or_insert_with(|| {
                    Ok(TopicDescription {
                        topic: topic.clone(),
                        error: None,
                        topic_id: topic_id_text(t.topic_id.as_bytes()),
                        is_internal: t.is_internal,
                        partitions: Vec::new(),
                        authorized_operations: if ops {
                            authorized_operations(t.topic_authorized_operations)
                        } else {
                            None
                        },
                    })
                });
                if let Ok(desc) = entry {
                    desc.partitions
                        .extend(t.partitions.into_iter().map(|p| TopicPartitionInfo {
                            partition: p.partition_index,
                            leader: p.leader_id.0,
                            leader_epoch: p.leader_epoch,
                            replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                            isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                            offline_replicas: p.offline_replicas.iter().map(|b| b.0).collect(),
                        }));
                }
            }
            match resp.next_cursor {
                Some(next) => {
                    let next = describe_topic_partitions_request::Cursor::default()
                        .with_topic_name(next.topic_name)
                        .with_partition_index(next.partition_index);
                    if cursor.as_ref() == Some(&next) {
                        return Err(Error::new(
                            Kind::Protocol,
                            "DescribeTopicPartitions: the broker sent back the cursor it was given",
                        ));
                    }
                    cursor = Some(next);
                }
                None => break,
            }
        }
        Ok(found
            .into_iter()
            .map(|(topic, mut r)| {
                if let Ok(desc) = &mut r {
                    desc.partitions.sort_by_key(|p| p.partition);
                    desc.partitions.dedup_by_key(|p| p.partition);
                }
                (topic, r)
            })
            .collect())
    }

    /// Creates topics; unless validate-only, then waits until every partition of each new
    /// topic has a leader, so a producer can use it at once.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        options: &CreateTopicsOptions,
    ) -> Result<Vec<CreateTopicResult>> {
        let timeout = self.timeout_or_default(options.timeout_ms);
        // Two entries with one name are an error even when equal: the request cannot carry both.
        let (send, per_item) = dedupe(
            topics.iter().map(|t| creatable(t).map(|c| (t.topic.clone(), c))),
            |_, _| false,
        );
        let specs: HashMap<String, CreatableTopic> = send.iter().cloned().collect();
        let keys = send.into_iter().map(|(k, _)| k).collect();
        let specs = &specs;
        let validate_only = options.validate_only;
        let mut done = self
            .retry_each(
                "CreateTopics",
                self.held_deadline(timeout),
                keys,
                |names: Vec<String>, d| async move {
                    let req = CreateTopicsRequest::default()
                        .with_timeout_ms(timeout_ms(timeout))
                        .with_validate_only(validate_only)
                        .with_topics(names.iter().map(|n| specs[n].clone()).collect());
                    let (_, resp): (_, CreateTopicsResponse) =
                        self.send(&Target::Any, ApiKey::CreateTopics, d, |_| Ok(req)).await?;
                    Ok(resp
                        .topics
                        .into_iter()
                        .map(|t| {
                            let r = match to_error(t.error_code, t.error_message.as_deref()) {
                                Some(e) => Err(e),
                                None => Ok(Created {
                                    topic_id: topic_id_text(t.topic_id.as_bytes()),
                                    num_partitions: t.num_partitions,
                                    replication_factor: t.replication_factor,
                                }),
                            };
                            (t.name.0.to_string(), r)
                        })
                        .collect())
                },
            )
            .await?;
        if !validate_only {
            let created: Vec<(String, i32)> = done
                .iter()
                .filter_map(|(n, r)| r.as_ref().ok().map(|c| (n.clone(), c.num_partitions)))
                .collect();
            for (n, e) in self.wait_for_leaders(&created, timeout).await {
                done.insert(n, Err(e));
            }
        }
        Ok(topics
            .iter()
            .zip(per_item)
            .map(|(t, k)| {
                let r = k.and_then(|k| match done.get(&k) {
                    None => Err(missing(&t.topic)),
                    Some(Ok(c)) => Ok((c.topic_id.clone(), c.num_partitions, c.replication_factor)),
                    Some(Err(e)) => Err(e.clone()),
                });
                match r {
                    Ok((topic_id, num_partitions, replication_factor)) => CreateTopicResult {
                        topic: t.topic.clone(),
                        error: None,
                        topic_id,
                        num_partitions,
                        replication_factor,
                    },
                    Err(e) => CreateTopicResult {
                        topic: t.topic.clone(),
                        error: Some(on_topic(&t.topic, e)),
                        topic_id: None,
                        num_partitions: -1,
                        replication_factor: -1,
                    },
                }
            })
            .collect())
    }

    /// Waits until the metadata shows at least the given number of partitions of each
    /// topic (at least one for -1), each with a leader. Returns a TIMEOUT error for each
    /// topic not ready by `timeout`.
    async fn wait_for_leaders(&self, topics: &[(String, i32)], timeout: Duration) -> Vec<(String, Error)> {
        let deadline = Instant::now() + timeout;
        let mut waiting: Vec<(String, i32)> = topics.to_vec();
        let mut last_err = None;
        while !waiting.is_empty() {
            let names: Vec<String> = waiting.iter().map(|(n, _)| n.clone()).collect();
            match self.cluster().refresh(Some(&names), false).await {
                Ok(meta) => waiting.retain(|(n, count)| {
                    !meta.topics.get(n).is_some_and(|tm| {
                        tm.error.is_ok()
                            && !tm.partitions.is_empty()
                            && tm.partitions.len() >= (*count).max(1) as usize
                            && tm.partitions.iter().all(|p| p.leader >= 0)
                    })
                }),
                // Metadata may fail while the cluster settles: only the deadline ends the wait.
                Err(e) => last_err = Some(e),
            }
            if waiting.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                let cause = last_err
                    .map(|e| format!(" (last metadata error: {e})"))
                    .unwrap_or_default();
                return waiting
                    .into_iter()
                    .map(|(n, _)| {
                        let e = Error::new(
                            Kind::Timeout,
                            format!(
                                "done, but not every partition had a leader within {} ms{cause}",
                                timeout.as_millis()
                            ),
                        );
                        (n, e)
                    })
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Vec::new()
    }

    /// Deletes topics by name.
    pub async fn delete_topics(&self, names: &[String], options: &DeleteTopicsOptions) -> Result<Vec<TopicResult>> {
        let timeout = self.timeout_or_default(options.timeout_ms);
        let (send, per_item) = dedupe(
            names.iter().map(|n| validate_topic_name(n).map(|()| (n.clone(), ()))),
            |_, _| true,
        );
        let keys = send.into_iter().map(|(k, ())| k).collect();
        let done = self
            .retry_each(
                "DeleteTopics",
                self.held_deadline(timeout),
                keys,
                |names: Vec<String>, d| async move {
                    let build = |version: i16| {
                        let req = DeleteTopicsRequest::default().with_timeout_ms(timeout_ms(timeout));
                        Ok(if version >= 6 {
                            req.with_topics(
                                names
                                    .iter()
                                    .map(|n| DeleteTopicState::default().with_name(Some(name(n))))
                                    .collect(),
                            )
                        } else {
                            req.with_topic_names(names.iter().map(|n| name(n)).collect())
                        })
                    };
                    let (_, resp): (_, DeleteTopicsResponse) =
                        self.send(&Target::Any, ApiKey::DeleteTopics, d, build).await?;
                    Ok(resp
                        .responses
                        .into_iter()
                        .filter_map(|t| {
                            let r = match to_error(t.error_code, t.error_message.as_deref()) {
                                Some(e) => Err(e),
                                None => Ok(()),
                            };
                            Some((t.name?.0.to_string(), r))
                        })
                        .collect())
                },
            )
            .await?;
        Ok(topic_results(names, per_item, &done))
    }

    /// Grows topics to a new partition count; unless validate-only, then waits until every
    /// new partition has a leader.
    pub async fn create_partitions(
        &self,
        items: &[NewPartitions],
        options: &CreatePartitionsOptions,
    ) -> Result<Vec<TopicResult>> {
        let timeout = self.timeout_or_default(options.timeout_ms);
        let (send, per_item) = dedupe(
            items.iter().map(|p| partitions_to_add(p).map(|c| (p.topic.clone(), c))),
            |_, _| false,
        );
        let specs: HashMap<String, CreatePartitionsTopic> = send.iter().cloned().collect();
        let keys = send.into_iter().map(|(k, _)| k).collect();
        let specs = &specs;
        let validate_only = options.validate_only;
        let mut done = self
            .retry_each(
                "CreatePartitions",
                self.held_deadline(timeout),
                keys,
                |names: Vec<String>, d| async move {
                    let req = CreatePartitionsRequest::default()
                        .with_timeout_ms(timeout_ms(timeout))
                        .with_validate_only(validate_only)
                        .with_topics(names.iter().map(|n| specs[n].clone()).collect());
                    let (_, resp): (_, CreatePartitionsResponse) = self
                        .send(&Target::Any, ApiKey::CreatePartitions, d, |_| Ok(req))
                        .await?;
                    Ok(resp
                        .results
                        .into_iter()
                        .map(|t| {
                            let r = match to_error(t.error_code, t.error_message.as_deref()) {
                                Some(e) => Err(e),
                                None => Ok(()),
                            };
                            (t.name.0.to_string(), r)
                        })
                        .collect())
                },
            )
            .await?;
        if !validate_only {
            let grown: Vec<(String, i32)> = done
                .iter()
                .filter(|(_, r)| r.is_ok())
                .map(|(n, _)| (n.clone(), specs[n].count))
                .collect();
            for (n, e) in self.wait_for_leaders(&grown, timeout).await {
                done.insert(n, Err(e));
            }
        }
        let names: Vec<String> = items.iter().map(|p| p.topic.clone()).collect();
        Ok(topic_results(&names, per_item, &done))
    }

    /// The leader and leader epoch of each partition, from the cached metadata, refreshed
    /// once for the topics it does not know well enough. A partition the refreshed metadata
    /// does not have is UNKNOWN_TOPIC_OR_PARTITION; one without a leader, LEADER_NOT_AVAILABLE.
    async fn leaders(&self, partitions: &[Tp]) -> Result<HashMap<Tp, Result<(i32, i32)>>> {
        let usable = |meta: &crate::cluster::Metadata, (t, p): &Tp| {
            meta.topics
                .get(&**t)
                .is_some_and(|tm| tm.error.is_ok() && tm.partitions.iter().any(|pm| pm.id == *p && pm.leader >= 0))
        };
        let mut meta = self.cluster().metadata();
        let stale: Vec<String> = partitions
            .iter()
            .filter(|tp| !usable(&meta, tp))
            .map(|(t, _)| t.to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !stale.is_empty() {
            meta = self.cluster().refresh(Some(&stale), false).await?;
        }
        Ok(partitions
            .iter()
            .map(|(t, p)| {
                let r = match meta.topics.get(&**t) {
                    None => Err(Error::broker(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None)),
                    Some(tm) if !tm.error.is_ok() => Err(Error::broker(tm.error, None)),
                    Some(tm) => match tm.partitions.iter().find(|pm| pm.id == *p) {
                        None => Err(Error::broker(
                            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                            Some(&format!("topic `{t}` has {} partitions", tm.partitions.len())),
                        )),
                        Some(pm) if pm.leader < 0 => Err(Error::broker(ErrorCode::LEADER_NOT_AVAILABLE, None)),
                        Some(pm) => Ok((pm.leader, pm.leader_epoch)),
                    },
                };
                ((t.clone(), *p), r)
            })
            .collect())
    }

    /// One attempt on items of partitions (`tp` names an item's partition): routes them to
    /// their partitions' leaders and runs `ask` once per leader, all at once. A leader that
    /// cannot be asked fails its own items only.
    async fn per_leader<K, V, F, Fut>(&self, items: Vec<K>, tp: fn(&K) -> &Tp, ask: F) -> Result<Answers<K, V>>
    where
        K: Clone,
        F: Fn(i32, Vec<(K, i32)>) -> Fut,
        Fut: Future<Output = Result<Answers<K, V>>>,
    {
        let partitions: Vec<Tp> = items
            .iter()
            .map(|k| tp(k).clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let routes = self.leaders(&partitions).await?;
        let mut out = Vec::new();
        let mut by_leader: BTreeMap<i32, Vec<(K, i32)>> = BTreeMap::new();
        for k in items {
            match routes.get(tp(&k)) {
                Some(Ok((leader, epoch))) => by_leader.entry(*leader).or_default().push((k, *epoch)),
                Some(Err(e)) => out.push((k, Err(e.clone()))),
                None => out.push((k, Err(Error::new(Kind::Internal, "no route was looked up")))),
            }
        }
        let asks = by_leader.into_iter().map(|(leader, parts)| {
            let keys: Vec<K> = parts.iter().map(|(k, _)| k.clone()).collect();
            let answer = ask(leader, parts);
            async move {
                match answer.await {
                    Ok(a) => a,
                    Err(e) => {
                        let e = e.with_broker(&leader.to_string());
                        keys.into_iter().map(|k| (k, Err(e.clone()))).collect()
                    }
                }
            }
        });
        for a in futures_util::future::join_all(asks).await {
            out.extend(a);
        }
        Ok(out)
    }

    /// Offsets of partitions (earliest, latest, max-timestamp, by timestamp), asked of each
    /// partition's leader. One partition may be asked with several specs: a request carries
    /// a partition once, so each leader gets one request per spec of a partition.
    pub async fn list_offsets(&self, items: &[OffsetQuery], options: &ListOffsetsOptions) -> Result<Vec<ListedOffset>> {
        let (send, per_item) = dedupe(
            items.iter().map(|q| -> Result<((Tp, OffsetSpec), ())> {
                validate_topic_name(&q.topic)?;
                if q.partition < 0 {
                    return Err(Error::argument(
                        "partition",
                        format!("{}; must be at least 0", q.partition),
                    ));
                }
                if let OffsetSpec::Timestamp(t) = q.spec {
                    if t < 0 {
                        return Err(Error::argument("timestamp", format!("{t}; must be at least 0")));
                    }
                }
                Ok((((Arc::<str>::from(q.topic.as_str()), q.partition), q.spec), ()))
            }),
            |_, _| true,
        );
        let keys = send.into_iter().map(|(k, ())| k).collect();
        let read_committed = options.isolation_level == IsolationLevel::ReadCommitted;
        let timeout = self.cluster().config().request_timeout;
        let done = self
            .retry_each(
                "ListOffsets",
                self.deadline(),
                keys,
                |keys: Vec<(Tp, OffsetSpec)>, d| {
                    self.per_leader(
                        keys,
                        |k| &k.0,
                        move |leader, parts| async move {
                            // Round n holds the n-th spec asked of each partition.
                            let mut rounds: Vec<Vec<Query>> = Vec::new();
                            let mut seen: HashMap<Tp, usize> = HashMap::new();
                            for (((topic, partition), spec), leader_epoch) in parts {
                                let n = seen.entry((topic.clone(), partition)).or_default();
                                if rounds.len() <= *n {
                                    rounds.push(Vec::new());
                                }
                                rounds[*n].push(Query {
                                    topic,
                                    partition,
                                    leader_epoch,
                                    spec,
                                });
                                *n += 1;
                            }
                            let asks = rounds.into_iter().map(|queries| async move {
                                let (_, resp): (_, ListOffsetsResponse) = self
                                    .send(&Target::Broker(leader), ApiKey::ListOffsets, d, |v| {
                                        offsets::request(v, &queries, read_committed, timeout)
                                    })
                                    .await?;
                                let answers = offsets::answers(resp, &queries);
                                Ok::<_, Error>(
                                    queries
                                        .into_iter()
                                        .zip(answers)
                                        .map(|(q, a)| (((q.topic, q.partition), q.spec), a))
                                        .collect::<Vec<_>>(),
                                )
                            });
                            let mut out = Vec::new();
                            for r in futures_util::future::join_all(asks).await {
                                out.extend(r?);
                            }
                            Ok(out)
                        },
                    )
                },
            )
            .await?;
        Ok(items
            .iter()
            .zip(per_item)
            .map(|(q, k)| {
                let r = k.and_then(|k| done.get(&k).cloned().unwrap_or_else(|| Err(missing(&q.topic))));
                match r {
                    Ok(o) => ListedOffset {
                        topic: q.topic.clone(),
                        partition: q.partition,
                        offset: o.offset,
                        timestamp: o.timestamp,
                        leader_epoch: o.leader_epoch,
                        error: None,
                    },
                    Err(e) => ListedOffset {
                        topic: q.topic.clone(),
                        partition: q.partition,
                        offset: -1,
                        timestamp: -1,
                        leader_epoch: -1,
                        error: Some(on_partition(&q.topic.as_str().into(), q.partition, e)),
                    },
                }
            })
            .collect())
    }

    /// Deletes the records before each given offset (DeleteRecords to each partition's
    /// leader); reports each partition's new log start offset.
    pub async fn delete_records(
        &self,
        items: &[RecordsToDelete],
        options: &DeleteRecordsOptions,
    ) -> Result<Vec<DeletedRecords>> {
        let timeout = self.timeout_or_default(options.timeout_ms);
        let (send, per_item) = dedupe(
            items.iter().map(|r| -> Result<(Tp, i64)> {
                validate_topic_name(&r.topic)?;
                if r.partition < 0 {
                    return Err(Error::argument(
                        "partition",
                        format!("{}; must be at least 0", r.partition),
                    ));
                }
                if r.offset < -1 {
                    return Err(Error::argument(
                        "offset",
                        format!("{}; must be at least 0, or -1 for the high watermark", r.offset),
                    ));
                }
                Ok(((Arc::<str>::from(r.topic.as_str()), r.partition), r.offset))
            }),
            |a, b| a == b,
        );
        let targets: HashMap<Tp, i64> = send.iter().cloned().collect();
        let targets = &targets;
        let keys = send.into_iter().map(|(k, _)| k).collect();
        let done = self
            .retry_each("DeleteRecords", self.held_deadline(timeout), keys, |tps: Vec<Tp>, d| {
                self.per_leader(
                    tps,
                    |k| k,
                    move |leader, parts| async move {
                        let mut topics: Vec<DeleteRecordsTopic> = Vec::new();
                        for ((t, p), _) in &parts {
                            let dp = DeleteRecordsPartition::default()
                                .with_partition_index(*p)
                                .with_offset(targets[&(t.clone(), *p)]);
                            match topics.iter_mut().find(|x| *x.name.0 == **t) {
                                Some(x) => x.partitions.push(dp),
                                None => topics.push(
                                    DeleteRecordsTopic::default()
                                        .with_name(name(t))
                                        .with_partitions(vec![dp]),
                                ),
                            }
                        }
                        let req = DeleteRecordsRequest::default()
                            .with_timeout_ms(timeout_ms(timeout))
                            .with_topics(topics);
                        let (_, resp): (_, DeleteRecordsResponse) = self
                            .send(&Target::Broker(leader), ApiKey::DeleteRecords, d, |_| Ok(req))
                            .await?;
                        let mut out = Vec::new();
                        for t in resp.topics {
                            let topic: Arc<str> = Arc::from(&*t.name.0);
                            for p in t.partitions {
                                let r = match to_error(p.error_code, None) {
                                    Some(e) => Err(e),
                                    None => Ok(p.low_watermark),
                                };
                                out.push(((topic.clone(), p.partition_index), r));
                            }
                        }
                        Ok(out)
                    },
                )
            })
            .await?;
        Ok(items
            .iter()
            .zip(per_item)
            .map(|(r, k)| {
                let low = k.and_then(|k| done.get(&k).cloned().unwrap_or_else(|| Err(missing(&r.topic))));
                let (low_watermark, error) = match low {
                    Ok(l) => (l, None),
                    Err(e) => (-1, Some(on_partition(&r.topic.as_str().into(), r.partition, e))),
                };
                DeletedRecords {
                    topic: r.topic.clone(),
                    partition: r.partition,
                    low_watermark,
                    error,
                }
            })
            .collect())
    }
}

/// The error for an item the outcome map lacks (a bug: every sent key gets an outcome).
fn missing(topic: &str) -> Error {
    Error::new(Kind::Internal, format!("no outcome was recorded for `{topic}`"))
}

fn topic_results(
    names: &[String],
    per_item: Vec<Result<String>>,
    done: &HashMap<String, Result<()>>,
) -> Vec<TopicResult> {
    names
        .iter()
        .zip(per_item)
        .map(|(n, k)| {
            let r = k.and_then(|k| done.get(&k).cloned().unwrap_or_else(|| Err(missing(n))));
            TopicResult {
                topic: n.clone(),
                error: r.err().map(|e| on_topic(n, e)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::retry_item;

    fn parse<T: serde::de::DeserializeOwned>(s: &str) -> std::result::Result<T, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn offset_specs_and_offsets_from_json() {
        let q: Vec<OffsetQuery> = parse(
            r#"[{"topic":"a","partition":0,"spec":"earliest"},{"topic":"a","partition":1,"spec":"max-timestamp"},
                {"topic":"a","partition":2,"spec":{"timestamp":1000}},{"topic":"a","partition":3,"spec":"latest"}]"#,
        )
        .unwrap();
        let specs: Vec<OffsetSpec> = q.iter().map(|q| q.spec).collect();
        assert_eq!(
            specs,
            [
                OffsetSpec::Earliest,
                OffsetSpec::MaxTimestamp,
                OffsetSpec::Timestamp(1000),
                OffsetSpec::Latest
            ]
        );
        let e = parse::<OffsetQuery>(r#"{"topic":"a","partition":0,"spec":"newest"}"#).unwrap_err();
        assert!(e.contains("`newest` is not an offset spec"), "{e}");
        let r: RecordsToDelete = parse(r#"{"topic":"a","partition":0,"offset":"9007199254740993"}"#).unwrap();
        assert_eq!(r.offset, 9_007_199_254_740_993);
        let r: RecordsToDelete = parse(r#"{"topic":"a","partition":0,"offset":-1}"#).unwrap();
        assert_eq!(r.offset, -1);
        let out = serde_json::to_string(&DeletedRecords {
            topic: "a".into(),
            partition: 0,
            low_watermark: 9_007_199_254_740_993,
            error: None,
        })
        .unwrap();
        assert_eq!(
            out,
            r#"{"topic":"a","partition":0,"lowWatermark":"9007199254740993","error":null}"#
        );
        let opts: ListOffsetsOptions = parse(r#"{"isolationLevel":"read_committed"}"#).unwrap();
        assert_eq!(opts.isolation_level, IsolationLevel::ReadCommitted);
        assert!(parse::<ListOffsetsOptions>(r#"{"isolation":"read_committed"}"#).is_err());
    }

    #[test]
    fn new_topics_are_checked_one_by_one() {
        let t: NewTopic = parse(r#"{"topic":"a","replicaAssignment":{"0":[1,2],"1":[2,1]}}"#).unwrap();
        let c = creatable(&t).unwrap();
        assert_eq!((c.num_partitions, c.replication_factor), (-1, -1));
        let a: Vec<(i32, Vec<i32>)> = c
            .assignments
            .iter()
            .map(|a| (a.partition_index, a.broker_ids.iter().map(|b| b.0).collect()))
            .collect();
        assert_eq!(a, vec![(0, vec![1, 2]), (1, vec![2, 1])]);
        let bad = |json: &str, needle: &str| {
            let t: NewTopic = parse(json).unwrap();
            let e = creatable(&t).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            assert!(e.message.contains(needle), "{json}: {}", e.message);
        };
        bad(r#"{"topic":"a b"}"#, "topic name");
        bad(r#"{"topic":"a","numPartitions":0}"#, "numPartitions");
        bad(r#"{"topic":"a","replicationFactor":-1}"#, "replicationFactor");
        bad(
            r#"{"topic":"a","numPartitions":1,"replicaAssignment":{"0":[1]}}"#,
            "not both",
        );
        bad(r#"{"topic":"a","replicaAssignment":{"0":[]}}"#, "no broker ids");
        bad(r#"{"topic":"a","replicaAssignment":{"0":[1,1]}}"#, "listed twice");
        let c =
            creatable(&parse(r#"{"topic":"a","numPartitions":3,"configs":{"retention.ms":"1000"}}"#).unwrap()).unwrap();
        assert_eq!((c.num_partitions, c.replication_factor, c.configs.len()), (3, -1, 1));
    }

    #[test]
    fn duplicates_share_an_answer_or_fail_alone() {
        let items = vec![
            Ok(("a", 1)),
            Ok(("b", 2)),
            Ok(("a", 1)),
            Ok(("b", 3)),
            Err(Error::argument("x", "y")),
        ];
        let (send, per_item) = dedupe(items, |a, b| a == b);
        assert_eq!(send, vec![("a", 1), ("b", 2)]);
        let keys: Vec<std::result::Result<&str, &'static str>> =
            per_item.into_iter().map(|r| r.map_err(|e| e.code())).collect();
        assert_eq!(
            keys,
            vec![
                Ok("a"),
                Ok("b"),
                Ok("a"),
                Err("INVALID_ARGUMENT"),
                Err("INVALID_ARGUMENT")
            ]
        );
    }

    #[test]
    fn topic_ids_and_operations() {
        assert_eq!(topic_id_text(&[0; 16]), None);
        let mut id = [0u8; 16];
        id[15] = 1;
        assert_eq!(topic_id_text(&id).as_deref(), Some("AAAAAAAAAAAAAAAAAAAAAQ"));
    }

    #[test]
    fn item_errors_name_their_item() {
        let e = on_topic(
            "t",
            Error::broker(ErrorCode::TOPIC_ALREADY_EXISTS, Some("Topic 't' already exists.")),
        );
        assert_eq!(e.message, "topic `t`: TOPIC_ALREADY_EXISTS: Topic 't' already exists.");
        assert_eq!(e.topic.as_deref(), Some("t"));
        let e = on_partition(&"t".into(), 2, Error::broker(ErrorCode::OFFSET_OUT_OF_RANGE, None));
        assert!(
            e.message.starts_with("partition t-2: OFFSET_OUT_OF_RANGE"),
            "{}",
            e.message
        );
        assert_eq!(e.partition, Some(2));
        assert!(!retry_item(&Error::broker(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None)));
        assert!(retry_item(&Error::broker(ErrorCode::NOT_LEADER_OR_FOLLOWER, None)));
        assert!(retry_item(&Error::broker(ErrorCode::NOT_CONTROLLER, None)));
    }
}
