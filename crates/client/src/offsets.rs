//! ListOffsets: the earliest, latest or by-timestamp offset of partitions, asked of each
//! partition's leader. Used by the admin client and by the consumer's offset resets.

use std::collections::HashMap;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, ListOffsetsRequest, ListOffsetsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;

use crate::cluster::{Cluster, Purpose};
use crate::error::{Error, Kind, Result};

/// Which offset to look up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (read_uncommitted) or last stable offset (read_committed):
    /// the offset the next record will get.
    Latest,
    /// The first offset whose timestamp is at or after this one (ms).
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(t) => t,
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
}

/// Looks up `spec` for `partitions` of `topic`, asking each partition's leader. Refreshes
/// metadata first when a leader is unknown. `read_committed` selects the isolation level.
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
    let Some(tm) = meta.topics.get(topic) else {
        return Err(Error::broker(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None).with_partition(&topic.into(), -1));
    };
    if !tm.error.is_ok() {
        return Err(Error::broker(tm.error, None).with_partition(&topic.into(), -1));
    }
    let mut by_leader: HashMap<i32, Vec<(i32, i32)>> = HashMap::new();
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
            return Err(Error::broker(ErrorCode::LEADER_NOT_AVAILABLE, None).with_partition(&topic.into(), p));
        }
        by_leader.entry(pm.leader).or_default().push((p, pm.leader_epoch));
    }
    let mut out = Vec::with_capacity(partitions.len());
    for (leader, parts) in by_leader {
        let conn = cluster.connection(leader, Purpose::Control).await?;
        let version = conn.versions().pick_for::<ListOffsetsRequest>(ApiKey::ListOffsets)?;
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_isolation_level(i8::from(read_committed))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(
                    parts
                        .iter()
                        .map(|&(p, epoch)| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p)
                                .with_current_leader_epoch(epoch)
                                .with_timestamp(spec.wire())
                        })
                        .collect(),
                )]);
        let resp: ListOffsetsResponse = conn
            .call(ApiKey::ListOffsets, &req, version, cluster.config().request_timeout)
            .await?;
        for t in resp.topics {
            for p in t.partitions {
                let code = ErrorCode(p.error_code);
                if !code.is_ok() {
                    return Err(Error::broker(code, None).with_partition(&topic.into(), p.partition_index));
                }
                out.push(PartitionOffset {
                    partition: p.partition_index,
                    offset: p.offset,
                    timestamp: p.timestamp,
                });
            }
        }
    }
    if out.len() != partitions.len() {
        return Err(Error::new(
            Kind::Protocol,
            format!("ListOffsets answered {} of {} partitions", out.len(), partitions.len()),
        ));
    }
    out.sort_by_key(|p| p.partition);
    Ok(out)
}
