//! The group's offsets: OffsetCommit with the member's generation, OffsetFetch with
//! `require_stable` (KIP-447). Both go to the coordinator over the control connection,
//! so a JoinGroup parked on the group connection never delays them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    ApiKey, GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use tokio::time::Instant;

use super::{after, Shared};
use crate::cluster::Purpose;
use crate::error::{Error, Kind, Result};
use crate::types::{OffsetAndMetadata, TopicPartition};

fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// Errors that mean the commit belongs to a generation that is over: the caller must
/// not retry it as is (Java's CommitFailedException / RebalanceInProgressException).
fn is_generation_error(c: ErrorCode) -> bool {
    c == ErrorCode::REBALANCE_IN_PROGRESS
        || c == ErrorCode::ILLEGAL_GENERATION
        || c == ErrorCode::UNKNOWN_MEMBER_ID
        || c == ErrorCode::FENCED_INSTANCE_ID
}

/// Sleeps a retry backoff unless it would pass `deadline`; then returns `err`.
async fn backoff_or(sh: &Shared, attempt: &mut u32, deadline: Instant, err: Error) -> Result<()> {
    let wait = sh.backoff(*attempt);
    *attempt = attempt.saturating_add(1);
    if after(wait) >= deadline {
        return Err(err);
    }
    tracing::debug!(client = sh.cluster.config().log_id, group = %sh.cfg.group_id, attempt = *attempt, cause = %err, "offsets request failed; retrying");
    tokio::time::sleep(wait).await;
    Ok(())
}

pub(super) async fn commit(sh: &Arc<Shared>, offsets: Vec<OffsetAndMetadata>) -> Result<()> {
    // Last entry per partition wins.
    let mut pending: BTreeMap<TopicPartition, OffsetAndMetadata> = BTreeMap::new();
    for o in offsets {
        if o.offset < 0 {
            return Err(Error::argument(
                "offset",
                format!("{} for {}: offsets to commit must be >= 0", o.offset, o.tp),
            ));
        }
        if o.tp.partition < 0 || o.tp.topic.is_empty() {
            return Err(Error::argument(
                "partition",
                format!("`{}` is not a valid partition", o.tp),
            ));
        }
        pending.insert(o.tp.clone(), o);
    }
    if pending.is_empty() {
        return Ok(());
    }
    let cfg = &sh.cfg;
    let deadline = after(sh.cluster.config().request_timeout);
    let mut attempt = 0u32;
    loop {
        let (generation, member_id) = sh.commit_identity()?;
        let (node, conn) = match sh.coordinator.connection(Purpose::Control, deadline).await {
            Ok(c) => c,
            Err(e) if e.retriable() => {
                backoff_or(sh, &mut attempt, deadline, e).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let version = conn.versions().pick_for::<OffsetCommitRequest>(ApiKey::OffsetCommit)?;
        if cfg.group_instance_id.is_some() && version < 7 {
            return Err(Error::new(
                Kind::UnsupportedVersion,
                "the broker's OffsetCommit is too old for static membership (groupInstanceId needs v7, Kafka 2.3+)",
            ));
        }
        let mut by_topic: BTreeMap<&str, Vec<&OffsetAndMetadata>> = BTreeMap::new();
        for o in pending.values() {
            by_topic.entry(&o.tp.topic).or_default().push(o);
        }
        let mut req = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(cfg.group_id.clone())))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(StrBytes::from_string(member_id.clone()))
            .with_topics(
                by_topic
                    .iter()
                    .map(|(t, os)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.to_string())))
                            .with_partitions(
                                os.iter()
                                    .map(|o| {
                                        let mut p = OffsetCommitRequestPartition::default()
                                            .with_partition_index(o.tp.partition)
                                            .with_committed_offset(o.offset)
                                            .with_committed_metadata(Some(StrBytes::from_string(
                                                o.metadata.clone().unwrap_or_default(),
                                            )));
                                        if version >= 6 {
                                            p = p.with_committed_leader_epoch(o.leader_epoch);
                                        }
                                        p
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        if version >= 7 {
            req = req.with_group_instance_id(cfg.group_instance_id.clone().map(StrBytes::from_string));
        }
        if version <= 4 {
            req = req.with_retention_time_ms(-1);
        }
        let resp: OffsetCommitResponse = match conn
            .call(ApiKey::OffsetCommit, &req, version, remaining(deadline))
            .await
        {
            Ok(r) => r,
            Err(e) if e.retriable() => {
                sh.coordinator.on_error(node, &e);
                backoff_or(sh, &mut attempt, deadline, e).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut retry: Option<Error> = None;
        let mut answered = 0usize;
        for t in &resp.topics {
            let topic: Arc<str> = t.name.0.as_str().into();
            for p in &t.partitions {
                let tp = TopicPartition {
                    topic: topic.clone(),
                    partition: p.partition_index,
                };
                if !pending.contains_key(&tp) {
                    continue;
                }
                answered += 1;
                let code = ErrorCode(p.error_code);
                if code.is_ok() {
                    pending.remove(&tp);
                    continue;
                }
                let err = Error::broker(code, None).with_partition(&topic, p.partition_index);
                if is_generation_error(code) {
                    if code != ErrorCode::REBALANCE_IN_PROGRESS {
                        // Our generation is gone: let the task heartbeat now and find out.
                        sh.wake.notify_one();
                    }
                    let mut e = Error::broker(
                        code,
                        Some(&format!(
                            "the commit failed because the group rebalanced (generation {generation}); \
                             the partitions may now belong to another member"
                        )),
                    );
                    e.topic = err.topic;
                    e.partition = err.partition;
                    return Err(e);
                }
                if code == ErrorCode::STALE_MEMBER_EPOCH {
                    // KIP-848: the member's epoch moved on since this commit read it (a
                    // new assignment); the heartbeat has the new one: commit again with it.
                    sh.wake.notify_one();
                    retry = Some(err);
                } else if code == ErrorCode::NOT_COORDINATOR
                    || code == ErrorCode::COORDINATOR_NOT_AVAILABLE
                    || code == ErrorCode::REQUEST_TIMED_OUT
                {
                    sh.coordinator.invalidate(node);
                    retry = Some(err);
                } else if code.is_retriable() {
                    retry = Some(err);
                } else {
                    let mut e = err;
                    e.message = format!("committing the offset of {tp}: {}", e.message);
                    return Err(e);
                }
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        let err = match retry {
            Some(e) => e,
            None => {
                // Partitions the broker did not answer for: a broken response.
                let first = pending.keys().next().map(ToString::to_string).unwrap_or_default();
                return Err(Error::new(
                    Kind::Protocol,
                    format!(
                        "OffsetCommit answered {answered} partitions and left out {} (e.g. {first})",
                        pending.len()
                    ),
                ));
            }
        };
        backoff_or(sh, &mut attempt, deadline, err).await?;
    }
}

type Committed = Vec<(TopicPartition, Option<OffsetAndMetadata>)>;

pub(super) async fn committed(sh: &Arc<Shared>, partitions: Vec<TopicPartition>) -> Result<Committed> {
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_topic: BTreeMap<Arc<str>, Vec<i32>> = BTreeMap::new();
    for tp in &partitions {
        by_topic.entry(tp.topic.clone()).or_default().push(tp.partition);
    }
    for v in by_topic.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    let group_id = sh.cfg.group_id.clone();
    let deadline = after(sh.cluster.config().request_timeout);
    let mut attempt = 0u32;
    loop {
        let (node, conn) = match sh.coordinator.connection(Purpose::Control, deadline).await {
            Ok(c) => c,
            Err(e) if e.retriable() => {
                backoff_or(sh, &mut attempt, deadline, e).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let version = conn.versions().pick_for::<OffsetFetchRequest>(ApiKey::OffsetFetch)?;
        let gid = GroupId(StrBytes::from_string(group_id.clone()));
        let mut req = if version >= 8 {
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(gid)
                .with_topics(Some(
                    by_topic
                        .iter()
                        .map(|(t, ps)| {
                            OffsetFetchRequestTopics::default()
                                .with_name(TopicName(StrBytes::from_string(t.to_string())))
                                .with_partition_indexes(ps.clone())
                        })
                        .collect(),
                ))])
        } else {
            OffsetFetchRequest::default().with_group_id(gid).with_topics(Some(
                by_topic
                    .iter()
                    .map(|(t, ps)| {
                        OffsetFetchRequestTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.to_string())))
                            .with_partition_indexes(ps.clone())
                    })
                    .collect(),
            ))
        };
        if version >= 7 {
            req = req.with_require_stable(true);
        }
        let resp: OffsetFetchResponse = match conn.call(ApiKey::OffsetFetch, &req, version, remaining(deadline)).await {
            Ok(r) => r,
            Err(e) if e.retriable() => {
                sh.coordinator.on_error(node, &e);
                backoff_or(sh, &mut attempt, deadline, e).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        // Normalize both layouts to (group error, [(topic, partition, offset, epoch, metadata, error)]).
        type Row = (Arc<str>, i32, i64, i32, Option<String>, i16);
        let (group_error, rows): (i16, Vec<Row>) = if version >= 8 {
            let Some(g) = resp
                .groups
                .iter()
                .find(|g| *g.group_id.0 == *group_id)
                .or(resp.groups.first())
            else {
                return Err(Error::new(Kind::Protocol, "OffsetFetch answered no group"));
            };
            let rows = g
                .topics
                .iter()
                .flat_map(|t| {
                    let topic: Arc<str> = t.name.0.as_str().into();
                    t.partitions.iter().map(move |p| {
                        (
                            topic.clone(),
                            p.partition_index,
                            p.committed_offset,
                            p.committed_leader_epoch,
                            p.metadata.as_ref().map(|m| m.to_string()),
                            p.error_code,
                        )
                    })
                })
                .collect();
            (g.error_code, rows)
        } else {
            let rows = resp
                .topics
                .iter()
                .flat_map(|t| {
                    let topic: Arc<str> = t.name.0.as_str().into();
                    t.partitions.iter().map(move |p| {
                        (
                            topic.clone(),
                            p.partition_index,
                            p.committed_offset,
                            if version >= 5 { p.committed_leader_epoch } else { -1 },
                            p.metadata.as_ref().map(|m| m.to_string()),
                            p.error_code,
                        )
                    })
                })
                .collect();
            (resp.error_code, rows)
        };
        let group_error = ErrorCode(group_error);
        if !group_error.is_ok() {
            let e = Error::broker(group_error, None);
            if group_error.is_retriable() {
                sh.coordinator.on_error(node, &e);
                backoff_or(sh, &mut attempt, deadline, e).await?;
                continue;
            }
            return Err(e);
        }
        let mut found: HashMap<TopicPartition, Option<OffsetAndMetadata>> = HashMap::new();
        let mut retry: Option<Error> = None;
        for (topic, partition, offset, epoch, metadata, code) in rows {
            let code = ErrorCode(code);
            let tp = TopicPartition { topic, partition };
            if !code.is_ok() {
                let e = Error::broker(code, None).with_partition(&tp.topic, partition);
                // UNSTABLE_OFFSET_COMMIT: a transaction's commit is pending (KIP-447).
                if code.is_retriable() && code != ErrorCode::UNKNOWN_TOPIC_OR_PARTITION {
                    if code == ErrorCode::NOT_COORDINATOR || code == ErrorCode::COORDINATOR_NOT_AVAILABLE {
                        sh.coordinator.invalidate(node);
                    }
                    retry = Some(e);
                    continue;
                }
                let mut e = e;
                e.message = format!("fetching the committed offset of {tp}: {}", e.message);
                return Err(e);
            }
            let value = (offset >= 0).then(|| OffsetAndMetadata {
                tp: tp.clone(),
                offset,
                leader_epoch: epoch,
                metadata: metadata.filter(|m| !m.is_empty()),
            });
            found.insert(tp, value);
        }
        if let Some(e) = retry {
            backoff_or(sh, &mut attempt, deadline, e).await?;
            continue;
        }
        return Ok(partitions
            .into_iter()
            .map(|tp| {
                let v = found.get(&tp).cloned().flatten();
                (tp, v)
            })
            .collect());
    }
}
