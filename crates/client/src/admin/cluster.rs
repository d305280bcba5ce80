//! The cluster: brokers, controller, log dirs, partition reassignments, leader elections.
//!
//! Reassignments and elections go to the controller, as Java's AdminClient sends them (in
//! KRaft the broker the metadata names as controller forwards them), so a moved controller
//! (NOT_CONTROLLER) is retried by [`Admin::retry`]. Log dirs are each broker's own.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use kafka_protocol::messages::alter_partition_reassignments_request::{ReassignablePartition, ReassignableTopic};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId, DescribeClusterRequest,
    DescribeClusterResponse, DescribeLogDirsRequest, DescribeLogDirsResponse, ElectLeadersRequest,
    ElectLeadersResponse, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use serde::{Deserialize, Serialize};

use super::{authorized_operations, i64_string, timeout_ms, to_error, Admin, Target};
use crate::cluster::{validate_topic_name, Metadata};
use crate::error::{Error, Kind, Result};

/// Options of `describe_cluster_info`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DescribeClusterOptions {
    /// Also report the operations this client may perform on the cluster.
    #[serde(default)]
    pub include_authorized_operations: bool,
    /// Also list fenced brokers (registered, but not heartbeating: down or starting;
    /// DescribeCluster v2, KIP-1073).
    #[serde(default)]
    pub include_fenced_brokers: bool,
}

/// Brokers, controller and cluster id.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDescription {
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// The controller as brokers report it (in KRaft a live broker that forwards to it).
    pub controller_id: i32,
    /// Brokers by id.
    pub brokers: Vec<ClusterBroker>,
    /// ACL operation names (`DESCRIBE`, `ALTER`, ...) allowed on the cluster; null unless
    /// asked for.
    pub authorized_operations: Option<Vec<String>>,
}

/// A broker of the cluster.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterBroker {
    /// node.id
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// broker.rack
    pub rack: Option<String>,
    /// The controller fenced it (it stopped heartbeating); listed only with
    /// `include_fenced_brokers`, else always false.
    pub is_fenced: bool,
}

/// Options of `describe_log_dirs`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DescribeLogDirsOptions {
    /// Brokers to ask (every broker when absent).
    #[serde(default)]
    pub broker_ids: Option<Vec<i32>>,
}

/// The log dirs of one broker, or why it could not say.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerLogDirs {
    /// Broker id.
    pub broker: i32,
    /// Why this broker failed, if it did.
    pub error: Option<Error>,
    /// Its log dirs.
    pub dirs: Vec<LogDir>,
}

/// One log dir of a broker.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDir {
    /// Absolute path on the broker.
    pub path: String,
    /// The dir's error (KAFKA_STORAGE_ERROR for an offline dir).
    pub error: Option<Error>,
    /// Size of the volume, when the broker reports it (DescribeLogDirs v4).
    #[serde(with = "i64_string::option")]
    pub total_bytes: Option<i64>,
    /// Free space of the volume, when the broker reports it (DescribeLogDirs v4).
    #[serde(with = "i64_string::option")]
    pub usable_bytes: Option<i64>,
    /// The replicas in it, by topic.
    pub topics: Vec<LogDirTopic>,
}

/// The replicas of one topic in a log dir.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDirTopic {
    /// Topic name.
    pub topic: String,
    /// Its replicas there.
    pub partitions: Vec<LogDirReplica>,
}

/// One replica in a log dir.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDirReplica {
    /// Partition index.
    pub partition: i32,
    /// Bytes on disk.
    #[serde(with = "i64_string")]
    pub size: i64,
    /// How far this replica is behind the log end (its high watermark for a current
    /// replica, the current replica for a future one).
    #[serde(with = "i64_string")]
    pub offset_lag: i64,
    /// Whether it is a future replica (being moved here between dirs).
    pub is_future: bool,
}

/// A topic partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

/// A new replica set for a partition, or (`replicas` null) the cancellation of its
/// ongoing reassignment.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartitionReassignment {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The target replicas, preferred leader first; null cancels.
    pub replicas: Option<Vec<i32>>,
}

/// The arguments of `alter_partition_reassignments`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlterReassignmentsArgs {
    /// The changes.
    pub reassignments: Vec<PartitionReassignment>,
    /// How long the controller may take (default `requestTimeoutMs`).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// The outcome of an operation on one partition.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionResult {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Why it failed for this partition, if it did.
    pub error: Option<Error>,
}

/// The arguments of `list_partition_reassignments`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListReassignmentsArgs {
    /// Only these partitions (every ongoing reassignment when absent).
    #[serde(default)]
    pub partitions: Option<Vec<TopicPartition>>,
    /// How long the controller may take (default `requestTimeoutMs`).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// A reassignment in progress.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OngoingReassignment {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The current replica set (old and new replicas while it moves).
    pub replicas: Vec<i32>,
    /// Replicas being added.
    pub adding_replicas: Vec<i32>,
    /// Replicas being removed.
    pub removing_replicas: Vec<i32>,
}

/// The arguments of `elect_leaders`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElectLeadersArgs {
    /// `preferred` (the first replica, if in sync) or `unclean` (any live replica, even
    /// out of sync, for partitions without a leader).
    #[serde(rename = "type")]
    pub election_type: String,
    /// The partitions (every partition when absent; then the broker leaves out those
    /// that already have the wanted leader).
    #[serde(default)]
    pub partitions: Option<Vec<TopicPartition>>,
    /// How long the controller may take (default `requestTimeoutMs`).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

fn partition_error(e: Error, topic: &str, partition: i32) -> Error {
    let mut e = e.with_partition(&Arc::from(topic), partition);
    let label = format!("topic `{topic}` partition {partition}");
    if !e.message.starts_with(&label) {
        e.message = format!("{label}: {}", e.message);
    }
    e
}

/// A partition named in an argument is one that can exist.
fn check_partition(topic: &str, partition: i32) -> Result<()> {
    validate_topic_name(topic).map_err(|e| Error::new(Kind::InvalidArgument, e.message))?;
    if partition < 0 {
        return Err(Error::new(
            Kind::InvalidArgument,
            format!("partition {partition} is negative"),
        ));
    }
    Ok(())
}

fn check_replicas(replicas: &[i32]) -> Result<()> {
    if replicas.is_empty() {
        return Err(Error::new(
            Kind::InvalidArgument,
            "replicas is empty (null cancels a reassignment)",
        ));
    }
    if let Some(r) = replicas.iter().find(|&&r| r < 0) {
        return Err(Error::new(
            Kind::InvalidArgument,
            format!("replica {r} is not a broker id"),
        ));
    }
    let mut seen = HashSet::new();
    if let Some(r) = replicas.iter().find(|&&r| !seen.insert(r)) {
        return Err(Error::new(
            Kind::InvalidArgument,
            format!("replica {r} is listed twice in {replicas:?}"),
        ));
    }
    Ok(())
}

/// Partitions grouped by topic, in first-seen order, each partition once.
fn by_topic<'a>(partitions: impl Iterator<Item = (&'a str, i32)>) -> Vec<(&'a str, Vec<i32>)> {
    let mut out: Vec<(&str, Vec<i32>)> = Vec::new();
    for (t, p) in partitions {
        match out.iter_mut().find(|(n, _)| *n == t) {
            Some((_, ps)) if ps.contains(&p) => {}
            Some((_, ps)) => ps.push(p),
            None => out.push((t, vec![p])),
        }
    }
    out
}

fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

impl Admin {
    /// Brokers, controller and cluster id (a full metadata request).
    pub async fn describe_cluster(&self) -> Result<Arc<Metadata>> {
        self.cluster().refresh(None, false).await
    }

    /// Brokers, controller, cluster id and (optionally) the operations this client may
    /// perform on the cluster, by DescribeCluster (KIP-700) where the broker has it, else
    /// from metadata.
    pub async fn describe_cluster_info(&self, options: &DescribeClusterOptions) -> Result<ClusterDescription> {
        let include = options.include_authorized_operations;
        let fenced = options.include_fenced_brokers;
        let answer = self
            .retry("DescribeCluster", |d| async move {
                let (_, resp): (_, DescribeClusterResponse) = self
                    .send(&Target::Any, ApiKey::DescribeCluster, d, |v| {
                        if fenced && v < 2 {
                            return Err(Error::new(
                                Kind::UnsupportedVersion,
                                format!(
                                    "describeCluster includeFencedBrokers needs DescribeCluster v2 (KIP-1073, Kafka 4.0); the broker speaks v{v}"
                                ),
                            ));
                        }
                        Ok(DescribeClusterRequest::default()
                            .with_include_cluster_authorized_operations(include)
                            .with_include_fenced_brokers(fenced))
                    })
                    .await?;
                if let Some(e) = to_error(resp.error_code, resp.error_message.as_deref()) {
                    return Err(e);
                }
                Ok(resp)
            })
            .await;
        let resp = match answer {
            Ok(r) => r,
            // A broker before Kafka 2.8: the same from metadata, which cannot carry the
            // cluster's authorized operations here.
            Err(e) if e.kind == Kind::UnsupportedVersion && !include && !fenced => {
                let meta = self.describe_cluster().await?;
                let mut brokers: Vec<ClusterBroker> = meta
                    .brokers
                    .values()
                    .map(|b| ClusterBroker {
                        node_id: b.id,
                        host: b.addr.host.clone(),
                        port: i32::from(b.addr.port),
                        rack: b.rack.clone(),
                        is_fenced: false,
                    })
                    .collect();
                brokers.sort_by_key(|b| b.node_id);
                return Ok(ClusterDescription {
                    cluster_id: meta.cluster_id.clone(),
                    controller_id: meta.controller_id,
                    brokers,
                    authorized_operations: None,
                });
            }
            Err(e) => return Err(e),
        };
        let mut brokers: Vec<ClusterBroker> = resp
            .brokers
            .into_iter()
            .map(|b| ClusterBroker {
                node_id: b.broker_id.0,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.map(|r| r.to_string()),
                is_fenced: b.is_fenced,
            })
            .collect();
        brokers.sort_by_key(|b| b.node_id);
        Ok(ClusterDescription {
            cluster_id: Some(resp.cluster_id.to_string()),
            controller_id: resp.controller_id.0,
            brokers,
            authorized_operations: if include {
                authorized_operations(resp.cluster_authorized_operations)
            } else {
                None
            },
        })
    }

    /// The log dirs of each broker (every broker when `broker_ids` is absent), in the
    /// caller's order; a broker that cannot be asked fails only its own entry.
    pub async fn describe_log_dirs(&self, options: &DescribeLogDirsOptions) -> Result<Vec<BrokerLogDirs>> {
        let meta = self.cluster().refresh(None, false).await?;
        let brokers: Vec<i32> = match &options.broker_ids {
            Some(ids) => ids.clone(),
            None => {
                let mut ids: Vec<i32> = meta.brokers.keys().copied().collect();
                ids.sort_unstable();
                ids
            }
        };
        let meta = &meta;
        let asks = brokers.iter().map(|&b| {
            let known = meta.brokers.contains_key(&b);
            async move {
                if !known {
                    let mut ids: Vec<i32> = meta.brokers.keys().copied().collect();
                    ids.sort_unstable();
                    return Err(Error::broker(
                        ErrorCode::BROKER_NOT_AVAILABLE,
                        Some(&format!("broker {b} is not in the cluster (brokers: {ids:?})")),
                    ));
                }
                self.retry("DescribeLogDirs", |d| async move {
                    let (_, resp): (_, DescribeLogDirsResponse) = self
                        .send(&Target::Broker(b), ApiKey::DescribeLogDirs, d, |_| {
                            Ok(DescribeLogDirsRequest::default().with_topics(None))
                        })
                        .await?;
                    if let Some(e) = to_error(resp.error_code, None) {
                        return Err(e);
                    }
                    Ok(resp)
                })
                .await
            }
        });
        let answers = futures_util::future::join_all(asks).await;
        Ok(brokers
            .iter()
            .zip(answers)
            .map(|(&broker, answer)| match answer {
                Ok(resp) => BrokerLogDirs {
                    broker,
                    error: None,
                    dirs: resp.results.into_iter().map(log_dir).collect(),
                },
                Err(mut e) => {
                    e.message = format!("broker {broker}: {}", e.message);
                    BrokerLogDirs {
                        broker,
                        error: Some(e.with_broker(&broker.to_string())),
                        dirs: Vec::new(),
                    }
                }
            })
            .collect())
    }

    /// Starts (or, with `replicas` null, cancels) reassignments; the controller answers
    /// once it has recorded them, and the data moves afterwards (see
    /// [`Admin::list_partition_reassignments`]). One result per item, in the caller's order.
    pub async fn alter_partition_reassignments(&self, args: &AlterReassignmentsArgs) -> Result<Vec<PartitionResult>> {
        let items = &args.reassignments;
        let mut errors: Vec<Option<Error>> = items
            .iter()
            .map(|r| {
                check_partition(&r.topic, r.partition)
                    .and_then(|_| r.replicas.as_deref().map_or(Ok(()), check_replicas))
                    .err()
            })
            .collect();
        for (i, r) in items.iter().enumerate() {
            let twice = items
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.topic == r.topic && o.partition == r.partition);
            if errors[i].is_none() && twice {
                errors[i] = Some(Error::new(
                    Kind::InvalidArgument,
                    "the partition is listed more than once",
                ));
            }
        }
        let send: Vec<usize> = (0..items.len()).filter(|&i| errors[i].is_none()).collect();
        if !send.is_empty() {
            let mut topics: Vec<ReassignableTopic> = Vec::new();
            for (t, ps) in by_topic(send.iter().map(|&i| (items[i].topic.as_str(), items[i].partition))) {
                let partitions = ps
                    .into_iter()
                    .map(|p| {
                        let r = send
                            .iter()
                            .map(|&i| &items[i])
                            .find(|r| r.topic == t && r.partition == p)
                            .and_then(|r| r.replicas.clone());
                        ReassignablePartition::default()
                            .with_partition_index(p)
                            .with_replicas(r.map(|rs| rs.into_iter().map(BrokerId).collect()))
                    })
                    .collect();
                topics.push(
                    ReassignableTopic::default()
                        .with_name(topic_name(t))
                        .with_partitions(partitions),
                );
            }
            let timeout = args.timeout_ms.map_or(
                self.cluster().config().request_timeout,
                std::time::Duration::from_millis,
            );
            let request = AlterPartitionReassignmentsRequest::default()
                .with_timeout_ms(timeout_ms(timeout))
                .with_topics(topics);
            let resp: AlterPartitionReassignmentsResponse = self
                .retry("AlterPartitionReassignments", |d| {
                    let req = &request;
                    async move {
                        let (_, resp): (_, AlterPartitionReassignmentsResponse) = self
                            .send(&Target::Controller, ApiKey::AlterPartitionReassignments, d, |_| {
                                Ok(req.clone())
                            })
                            .await?;
                        if let Some(e) = to_error(resp.error_code, resp.error_message.as_deref()) {
                            return Err(e);
                        }
                        Ok(resp)
                    }
                })
                .await?;
            let mut answers: HashMap<(String, i32), Option<Error>> = HashMap::new();
            for t in resp.responses {
                for p in t.partitions {
                    answers.insert(
                        (t.name.0.to_string(), p.partition_index),
                        to_error(p.error_code, p.error_message.as_deref()),
                    );
                }
            }
            for &i in &send {
                let r = &items[i];
                errors[i] = answers.remove(&(r.topic.clone(), r.partition)).unwrap_or_else(|| {
                    Some(Error::new(
                        Kind::Protocol,
                        "the controller's AlterPartitionReassignments response left this partition out",
                    ))
                });
            }
        }
        Ok(items
            .iter()
            .zip(errors)
            .map(|(r, e)| PartitionResult {
                topic: r.topic.clone(),
                partition: r.partition,
                error: e.map(|e| partition_error(e, &r.topic, r.partition)),
            })
            .collect())
    }

    /// The reassignments in progress (of `partitions`, or all), by topic and partition.
    pub async fn list_partition_reassignments(&self, args: &ListReassignmentsArgs) -> Result<Vec<OngoingReassignment>> {
        if let Some(ps) = &args.partitions {
            for p in ps {
                check_partition(&p.topic, p.partition).map_err(|e| {
                    Error::argument(
                        "partitions",
                        format!("topic `{}` partition {}: {}", p.topic, p.partition, e.message),
                    )
                })?;
            }
        }
        let topics = args.partitions.as_ref().map(|ps| {
            by_topic(ps.iter().map(|p| (p.topic.as_str(), p.partition)))
                .into_iter()
                .map(|(t, ps)| {
                    ListPartitionReassignmentsTopics::default()
                        .with_name(topic_name(t))
                        .with_partition_indexes(ps)
                })
                .collect::<Vec<_>>()
        });
        let timeout = args.timeout_ms.map_or(
            self.cluster().config().request_timeout,
            std::time::Duration::from_millis,
        );
        let request = ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(timeout_ms(timeout))
            .with_topics(topics);
        let resp: ListPartitionReassignmentsResponse = self
            .retry("ListPartitionReassignments", |d| {
                let req = &request;
                async move {
                    let (_, resp): (_, ListPartitionReassignmentsResponse) = self
                        .send(&Target::Controller, ApiKey::ListPartitionReassignments, d, |_| {
                            Ok(req.clone())
                        })
                        .await?;
                    if let Some(e) = to_error(resp.error_code, resp.error_message.as_deref()) {
                        return Err(e);
                    }
                    Ok(resp)
                }
            })
            .await?;
        let mut out: BTreeMap<(String, i32), OngoingReassignment> = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                let ids = |v: Vec<BrokerId>| v.into_iter().map(|b| b.0).collect();
                out.insert(
                    (t.name.0.to_string(), p.partition_index),
                    OngoingReassignment {
                        topic: t.name.0.to_string(),
                        partition: p.partition_index,
                        replicas: ids(p.replicas),
                        adding_replicas: ids(p.adding_replicas),
                        removing_replicas: ids(p.removing_replicas),
                    },
                );
            }
        }
        Ok(out.into_values().collect())
    }

    /// Elects leaders: one result per given partition in the caller's order, or (no
    /// partitions given) one per partition the controller tried, by topic and partition.
    /// A partition that already has the wanted leader reports ELECTION_NOT_NEEDED.
    pub async fn elect_leaders(&self, args: &ElectLeadersArgs) -> Result<Vec<PartitionResult>> {
        let election_type: i8 = match args.election_type.as_str() {
            "preferred" => 0,
            "unclean" => 1,
            t => {
                return Err(Error::argument(
                    "type",
                    format!("`{t}` is not an election type; expected preferred or unclean"),
                ))
            }
        };
        let given = args.partitions.as_deref();
        let mut errors: Vec<Option<Error>> = given
            .unwrap_or_default()
            .iter()
            .map(|p| check_partition(&p.topic, p.partition).err())
            .collect();
        let valid: Vec<&TopicPartition> = given
            .unwrap_or_default()
            .iter()
            .zip(&errors)
            .filter(|(_, e)| e.is_none())
            .map(|(p, _)| p)
            .collect();
        let mut answers: BTreeMap<(String, i32), Option<Error>> = BTreeMap::new();
        if given.is_none() || !valid.is_empty() {
            let topics = given.map(|_| {
                by_topic(valid.iter().map(|p| (p.topic.as_str(), p.partition)))
                    .into_iter()
                    .map(|(t, ps)| TopicPartitions::default().with_topic(topic_name(t)).with_partitions(ps))
                    .collect::<Vec<_>>()
            });
            let timeout = args.timeout_ms.map_or(
                self.cluster().config().request_timeout,
                std::time::Duration::from_millis,
            );
            let request = ElectLeadersRequest::default()
                .with_election_type(election_type)
                .with_timeout_ms(timeout_ms(timeout))
                .with_topic_partitions(topics);
            let resp: ElectLeadersResponse = self
                .retry("ElectLeaders", |d| {
                    let req = &request;
                    async move {
                        let (_, resp): (_, ElectLeadersResponse) = self
                            .send(&Target::Controller, ApiKey::ElectLeaders, d, |v| {
                                if v == 0 && election_type != 0 {
                                    return Err(Error::new(
                                        Kind::UnsupportedVersion,
                                        "the broker can only elect preferred leaders (ElectLeaders v0; unclean needs v1, Kafka 2.4)",
                                    ));
                                }
                                Ok(req.clone())
                            })
                            .await?;
                        if let Some(e) = to_error(resp.error_code, None) {
                            return Err(e);
                        }
                        Ok(resp)
                    }
                })
                .await?;
            for t in resp.replica_election_results {
                for p in t.partition_result {
                    answers.insert(
                        (t.topic.0.to_string(), p.partition_id),
                        to_error(p.error_code, p.error_message.as_deref()),
                    );
                }
            }
        }
        let Some(given) = given else {
            return Ok(answers
                .into_iter()
                .map(|((topic, partition), e)| PartitionResult {
                    error: e.map(|e| partition_error(e, &topic, partition)),
                    topic,
                    partition,
                })
                .collect());
        };
        for (p, e) in given.iter().zip(errors.iter_mut()) {
            if e.is_none() {
                // A partition listed twice was sent once; both get its answer.
                *e = answers
                    .get(&(p.topic.clone(), p.partition))
                    .cloned()
                    .unwrap_or_else(|| {
                        Some(Error::new(
                            Kind::Protocol,
                            "the controller's ElectLeaders response left this partition out",
                        ))
                    });
            }
        }
        Ok(given
            .iter()
            .zip(errors)
            .map(|(p, e)| PartitionResult {
                topic: p.topic.clone(),
                partition: p.partition,
                error: e.map(|e| partition_error(e, &p.topic, p.partition)),
            })
            .collect())
    }
}

fn log_dir(r: kafka_protocol::messages::describe_log_dirs_response::DescribeLogDirsResult) -> LogDir {
    let reported = |v: i64| (v >= 0).then_some(v);
    LogDir {
        path: r.log_dir.to_string(),
        error: to_error(r.error_code, None),
        total_bytes: reported(r.total_bytes),
        usable_bytes: reported(r.usable_bytes),
        topics: r
            .topics
            .into_iter()
            .map(|t| LogDirTopic {
                topic: t.name.0.to_string(),
                partitions: t
                    .partitions
                    .into_iter()
                    .map(|p| LogDirReplica {
                        partition: p.partition_index,
                        size: p.partition_size,
                        offset_lag: p.offset_lag,
                        is_future: p.is_future_key,
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_lists_are_checked() {
        assert!(check_replicas(&[1, 2]).is_ok());
        assert!(check_replicas(&[]).unwrap_err().message.contains("empty"));
        assert!(check_replicas(&[1, 1]).unwrap_err().message.contains("listed twice"));
        assert!(check_replicas(&[-1]).unwrap_err().message.contains("not a broker id"));
        assert!(check_partition("t", -1).is_err());
        assert!(check_partition("a b", 0).is_err());
    }

    #[test]
    fn partitions_group_by_topic_once_each() {
        let ps = [("a", 0), ("b", 1), ("a", 2), ("a", 0)];
        assert_eq!(by_topic(ps.iter().copied()), vec![("a", vec![0, 2]), ("b", vec![1])]);
    }

    #[test]
    fn errors_name_the_partition() {
        let e = partition_error(Error::broker(ErrorCode::ELECTION_NOT_NEEDED, None), "t", 3);
        assert!(
            e.message.starts_with("topic `t` partition 3: ELECTION_NOT_NEEDED"),
            "{}",
            e.message
        );
        assert_eq!(e.partition, Some(3));
        assert_eq!(e.topic.as_deref(), Some("t"));
    }
}
