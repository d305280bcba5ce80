//! ListOffsets: the earliest, latest, max-timestamp or by-timestamp offset of partitions,
//! asked of each partition's leader. The request is built and read here once ([`request`],
//! [`answers`]); the consumer's offset resets ([`list_offsets`]) and the admin client's
//! `listOffsets` (which routes and retries per partition) both use them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, ListOffsetsRequest, ListOffsetsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;

use crate::cluster::{Cluster, Purpose};
use crate::error::{Error, Kind, Result};

/// Which offset to look up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (read_uncommitted) or last stable offset (read_committed):
    /// the offset the next record will get.
    Latest,
    /// The record with the highest timestamp (KIP-734; ListOffsets v7, Kafka 3.0).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this one (ms).
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }

    /// The first ListOffsets version that serves this lookup.
    fn min_version(self) -> i16 {
        match self {
            OffsetSpec::MaxTimestamp => 7,
            _ => 1,
        }
    }
}

/// One partition's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionOffset {
    /// Partition index.
    pub partition: i32,
    /// The offset; -1 when no record matches a timestamp lookup.
    pub offset: i64,
    /// Timestamp of that record (-1 for earliest/latest).
    pub timestamp: i64,
    /// Leader epoch of that record's batch, -1 when unknown.
    pub leader_epoch: i32,
}

/// One partition to look up on its leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Query {
    pub topic: Arc<str>,
    pub partition: i32,
    /// The leader epoch the metadata names (KIP-320: a stale leader answers
    /// FENCED_LEADER_EPOCH instead of an old offset); -1 to skip the check.
    pub leader_epoch: i32,
    pub spec: OffsetSpec,
}

/// The ListOffsets request of `version` for `queries` (all to one leader, no partition
/// twice). Fails when a lookup needs a newer version than the broker speaks.
pub(crate) fn request(
    version: i16,
    queries: &[Query],
    read_committed: bool,
    timeout: Duration,
) -> Result<ListOffsetsRequest> {
    if let Some(q) = queries.iter().find(|q| q.spec.min_version() > version) {
        return Err(Error::new(
            Kind::UnsupportedVersion,
            format!(
                "{:?} lookups need ListOffsets v{} (the broker speaks v{version})",
                q.spec,
                q.spec.min_version()
            ),
        )
        .with_partition(&q.topic, q.partition));
    }
    let mut topics: Vec<ListOffsetsTopic> = Vec::new();
    for q in queries {
        let p = ListOffsetsPartition::default()
            .with_partition_index(q.partition)
            .with_current_leader_epoch(q.leader_epoch)
            .with_timestamp(q.spec.wire());
        match topics.iter_mut().find(|t| *t.name.0 == *q.topic) {
            Some(t) => t.partitions.push(p),
            None => topics.push(
                ListOffsetsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(q.topic.to_string())))
                    .with_partitions(vec![p]),
            ),
        }
    }
    Ok(ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(i8::from(read_committed))
        .with_timeout_ms(crate::admin::timeout_ms(timeout))
        .with_topics(topics))
}

/// The answer to each of `queries`, in order: the offset, or the partition's error (a
/// partition the response leaves out is a protocol error).
pub(crate) fn answers(resp: ListOffsetsResponse, queries: &[Query]) -> Vec<Result<PartitionOffset>> {
    let mut by_partition: HashMap<(&str, i32), Result<PartitionOffset>> = HashMap::new();
    let names: Vec<String> = resp.topics.iter().map(|t| t.name.0.to_string()).collect();
    for (t, name) in resp.topics.into_iter().zip(&names) {
        for p in t.partitions {
            let code = ErrorCode(p.error_code);
            let answer = if code.is_ok() {
                Ok(PartitionOffset {
                    partition: p.partition_index,
                    offset: p.offset,
                    timestamp: p.timestamp,
                    leader_epoch: p.leader_epoch,
                })
            } else {
                Err(Error::broker(code, None).with_partition(&Arc::from(name.as_str()), p.partition_index))
            };
            by_partition.insert((name.as_str(), p.partition_index), answer);
        }
    }
    queries
        .iter()
        .map(|q| {
            by_partition.remove(&(&*q.topic, q.partition)).unwrap_or_else(|| {
                Err(Error::new(
                    Kind::Protocol,
                    format!("ListOffsets did not answer for {}-{}", q.topic, q.partition),
                )
                .with_partition(&q.topic, q.partition))
            })
        })
        .collect()
}

/// Looks up `spec` for `partitions` of `topic`, asking each partition's leader, for the
/// consumer's offset resets: any failure fails the whole lookup (the consumer retries it).
/// Refreshes metadata first when a leader is unknown. `read_committed` selects the
/// isolation level.
pub async fn list_offsets(
    cluster: &Cluster,
    topic: &str,
    partitions: &[i32],
    spec: OffsetSpec,
    read_committed: bool,
) -> Result<Vec<PartitionOffset>> {
    let mut meta = cluster.metadata();
    let leaders_known = |m: &crate::cluster::Metadata| {
        m.topics.get(topic).is_some_and(|t| {
            partitions
                .iter()
                .all(|p| t.partitions.iter().any(|pm| pm.id == *p && pm.leader >= 0))
        })
    };
    if !leaders_known(&meta) {
        meta = cluster.refresh(Some(&[topic.to_string()]), false).await?;
    }
    let name: Arc<str> = topic.into();
    let Some(tm) = meta.topics.get(topic) else {
        return Err(Error::broker(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None).with_partition(&name, -1));
    };
    if !tm.error.is_ok() {
        return Err(Error::broker(tm.error, None).with_partition(&name, -1));
    }
    let mut by_leader: HashMap<i32, Vec<Query>> = HashMap::new();
    for &p in partitions {
        let Some(pm) = tm.partitions.iter().find(|pm| pm.id == p) else {
            return Err(Error::argument(
                "partition",
                format!(
                    "{p} does not exist in topic `{topic}` ({} partitions)",
                    tm.partitions.len()
                ),
            ));
        };
        if pm.leader < 0 {
            return Err(Error::broker(ErrorCode::LEADER_NOT_AVAILABLE, None).with_partition(&name, p));
        }
        by_leader.entry(pm.leader).or_default().push(Query {
            topic: name.clone(),
            partition: p,
            leader_epoch: pm.leader_epoch,
            spec,
        });
    }
    let timeout = cluster.config().request_timeout;
    let mut out = Vec::with_capacity(partitions.len());
    for (leader, queries) in by_leader {
        let conn = cluster.connection(leader, Purpose::Control).await?;
        let version = conn.versions().pick_for::<ListOffsetsRequest>(ApiKey::ListOffsets)?;
        let req = request(version, &queries, read_committed, timeout)?;
        let resp: ListOffsetsResponse = conn.call(ApiKey::ListOffsets, &req, version, timeout).await?;
        for a in answers(resp, &queries) {
            out.push(a?);
        }
    }
    out.sort_by_key(|p| p.partition);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};

    use super::*;

    fn q(topic: &str, partition: i32, spec: OffsetSpec) -> Query {
        Query {
            topic: topic.into(),
            partition,
            leader_epoch: 3,
            spec,
        }
    }

    #[test]
    fn one_topic_entry_per_topic_and_the_spec_on_the_wire() {
        let qs = [
            q("a", 0, OffsetSpec::Earliest),
            q("b", 1, OffsetSpec::MaxTimestamp),
            q("a", 2, OffsetSpec::Timestamp(1_000)),
        ];
        let req = request(10, &qs, true, Duration::from_secs(5)).unwrap();
        assert_eq!(req.isolation_level, 1);
        assert_eq!(req.timeout_ms, 5_000);
        type Wire = Vec<(String, Vec<(i32, i64, i32)>)>;
        let wire: Wire = req
            .topics
            .iter()
            .map(|t| {
                (
                    t.name.0.to_string(),
                    t.partitions
                        .iter()
                        .map(|p| (p.partition_index, p.timestamp, p.current_leader_epoch))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            wire,
            vec![
                ("a".to_string(), vec![(0, -2, 3), (2, 1_000, 3)]),
                ("b".to_string(), vec![(1, -3, 3)])
            ]
        );
    }

    #[test]
    fn max_timestamp_needs_v7() {
        let e = request(6, &[q("a", 0, OffsetSpec::MaxTimestamp)], false, Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.code(), "UNSUPPORTED_VERSION");
        assert_eq!(e.partition, Some(0));
        request(6, &[q("a", 0, OffsetSpec::Latest)], false, Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn answers_in_query_order_with_partition_errors_and_missing_ones() {
        let resp = ListOffsetsResponse::default().with_topics(vec![ListOffsetsTopicResponse::default()
            .with_name(TopicName(StrBytes::from_static_str("a")))
            .with_partitions(vec![
                ListOffsetsPartitionResponse::default()
                    .with_partition_index(1)
                    .with_error_code(ErrorCode::NOT_LEADER_OR_FOLLOWER.0),
                ListOffsetsPartitionResponse::default()
                    .with_partition_index(0)
                    .with_offset(42)
                    .with_timestamp(7)
                    .with_leader_epoch(2),
            ])]);
        let qs = [
            q("a", 0, OffsetSpec::Latest),
            q("a", 1, OffsetSpec::Latest),
            q("a", 2, OffsetSpec::Latest),
        ];
        let a = answers(resp, &qs);
        assert_eq!(
            a[0],
            Ok(PartitionOffset {
                partition: 0,
                offset: 42,
                timestamp: 7,
                leader_epoch: 2
            })
        );
        let e1 = a[1].clone().unwrap_err();
        assert_eq!((e1.code(), e1.partition), ("NOT_LEADER_OR_FOLLOWER", Some(1)));
        assert_eq!(a[2].clone().unwrap_err().code(), "PROTOCOL_ERROR");
    }
}
