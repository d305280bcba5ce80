//! Share groups (KIP-932): describing them, and their start offsets (the offset each
//! partition's share-partition starts delivering from; records before it are done).
//!
//! Every request goes to the group's coordinator (share groups have one like consumer
//! groups). A moved or loading coordinator is retried; any other group-level error is the
//! group's (describe, list) or every item's (alter, delete) outcome.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic;
use kafka_protocol::messages::describe_share_group_offsets_request::{
    DescribeShareGroupOffsetsRequestGroup, DescribeShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse, ApiKey, DeleteShareGroupOffsetsRequest,
    DeleteShareGroupOffsetsResponse, DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse,
    ShareGroupDescribeRequest, ShareGroupDescribeResponse,
};
use nkafka_protocol::error::ErrorCode;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::groups::{
    by_topic, check_group_id, check_partition, coordinator_busy, gid, in_group, in_partition, name, GroupOffsetsSpec,
    GroupPartition, PartitionResult,
};
use super::topics::TopicResult;
use super::{authorized_operations, i64_string, to_error, Admin, Target};
use crate::error::{Error, Kind, Result};

/// Arguments of `describe_share_groups`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DescribeShareGroupsArgs {
    /// The groups, in the order results come back.
    pub group_ids: Vec<String>,
    /// Ask for the operations the caller may perform on each group.
    #[serde(default)]
    pub include_authorized_operations: bool,
}

/// One member of a share group.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareGroupMember {
    /// Member id (share consumers make their own, a UUID).
    pub member_id: String,
    /// `client.rack`, if the member set one.
    pub rack_id: Option<String>,
    /// The member's epoch.
    pub member_epoch: i32,
    /// The member's `client.id`.
    pub client_id: String,
    /// The address the member connected from.
    pub host: String,
    /// Topics the member subscribed to.
    pub subscribed_topics: Vec<String>,
    /// Partitions the coordinator assigned to the member (share-group members share them).
    pub assignment: Vec<GroupPartition>,
}

/// What `describe_share_groups` says about one group.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareGroupDescription {
    /// Group id.
    pub group_id: String,
    /// Why the group could not be described: GROUP_ID_NOT_FOUND for an unknown group and
    /// for a group that is not a share group.
    pub error: Option<Error>,
    /// `Empty`, `Stable` or `Dead`.
    pub state: String,
    /// The group epoch.
    pub group_epoch: i32,
    /// The epoch of the assignment the members have.
    pub assignment_epoch: i32,
    /// The broker-side assignor (`simple`).
    pub partition_assignor: String,
    /// Broker id of the coordinator that answered (-1 when none did).
    pub coordinator: i32,
    /// Operations the caller may perform (ACL operation names), when asked for.
    pub authorized_operations: Option<Vec<String>>,
    /// The members.
    pub members: Vec<ShareGroupMember>,
}

impl ShareGroupDescription {
    fn failed(group_id: &str, error: Error) -> Self {
        ShareGroupDescription {
            group_id: group_id.to_string(),
            error: Some(error),
            state: String::new(),
            group_epoch: -1,
            assignment_epoch: -1,
            partition_assignor: String::new(),
            coordinator: -1,
            authorized_operations: None,
            members: Vec::new(),
        }
    }
}

/// Arguments of `list_share_group_offsets`: the groups (each with some partitions, or
/// absent for every partition the group has a start offset for).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListShareGroupOffsetsArgs {
    /// The groups, in the order results come back.
    pub groups: Vec<GroupOffsetsSpec>,
}

/// One partition's start offset in a share group.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareOffset {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The share-partition's start offset; -1 when the group has none for this partition.
    #[serde(with = "i64_string")]
    pub start_offset: i64,
    /// The leader epoch the start offset was written in, when known.
    pub leader_epoch: Option<i32>,
    /// Why this partition's start offset could not be read.
    pub error: Option<Error>,
}

/// The start offsets of one share group.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareGroupOffsets {
    /// Group id.
    pub group_id: String,
    /// Why the group's offsets could not be read, or null.
    pub error: Option<Error>,
    /// Offsets: in the caller's order when partitions were given, else by topic and partition.
    pub partitions: Vec<ShareOffset>,
}

/// One start offset to set with `alter_share_group_offsets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShareOffsetToSet {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The new start offset (the next record the group delivers).
    #[serde(with = "i64_string")]
    pub offset: i64,
}

/// Arguments of `alter_share_group_offsets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlterShareGroupOffsetsArgs {
    /// Group id.
    pub group_id: String,
    /// The offsets, in the order results come back.
    pub offsets: Vec<ShareOffsetToSet>,
}

/// Arguments of `delete_share_group_offsets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteShareGroupOffsetsArgs {
    /// Group id.
    pub group_id: String,
    /// Topics whose share-partition state to delete, in the order results come back.
    pub topics: Vec<String>,
}

/// The API a share-group call needs, named in the error when the coordinator lacks it
/// (share groups need Kafka 4.1+, the offset calls 4.1+ too).
fn unsupported(call: &str, e: Error) -> Error {
    if e.kind == Kind::UnsupportedVersion {
        Error::new(
            Kind::UnsupportedVersion,
            format!(
                "{call} needs a broker with share groups (KIP-932, Kafka 4.1+): {}",
                e.message
            ),
        )
    } else {
        e
    }
}

/// The group-level error of a response: a moved or loading coordinator (forgotten, for
/// the retry to look it up again) is `Err`, any other error is `Ok(Some)` for the items.
fn top_level(admin: &Admin, g: &str, node: i32, code: i16, message: Option<&str>) -> Result<Option<Error>> {
    let e = admin.group_error(g, node, code, message);
    match e {
        Some(e) if coordinator_busy(ErrorCode(code)) => Err(e),
        e => Ok(e),
    }
}

impl Admin {
    /// Describes share groups (ShareGroupDescribe), each asked of its coordinator. Members'
    /// assignments are named by topic: the broker sends names with the ids; an id whose
    /// name it left empty is looked up in the metadata.
    pub async fn describe_share_groups(&self, args: &DescribeShareGroupsArgs) -> Result<Vec<ShareGroupDescription>> {
        let ops = args.include_authorized_operations;
        let asks = args.group_ids.iter().map(|g| async move {
            if let Some(e) = check_group_id(g) {
                return ShareGroupDescription::failed(g, in_group(e, g));
            }
            self.retry("ShareGroupDescribe", |d| self.share_group_describe(g, ops, d))
                .await
                .unwrap_or_else(|e| {
                    ShareGroupDescription::failed(g, in_group(unsupported("describeShareGroups", e), g))
                })
        });
        Ok(futures_util::future::join_all(asks).await)
    }

    async fn share_group_describe(&self, g: &str, ops: bool, d: Instant) -> Result<ShareGroupDescription> {
        let (node, resp): (i32, ShareGroupDescribeResponse) = self
            .send(&Target::Group(g.to_string()), ApiKey::ShareGroupDescribe, d, |_| {
                Ok(ShareGroupDescribeRequest::default()
                    .with_group_ids(vec![gid(g)])
                    .with_include_authorized_operations(ops))
            })
            .await?;
        let Some(grp) = resp.groups.into_iter().find(|x| *x.group_id.0 == *g) else {
            return Err(Error::new(Kind::Protocol, "ShareGroupDescribe left the group out"));
        };
        if let Some(e) = self.group_error(g, node, grp.error_code, grp.error_message.as_deref()) {
            return Err(e);
        }
        let mut unnamed = Vec::new();
        for m in &grp.members {
            for t in &m.assignment.topic_partitions {
                if t.topic_name.0.is_empty() {
                    unnamed.push(t.topic_id);
                }
            }
        }
        let names = self.topic_names(unnamed).await;
        let members = grp
            .members
            .iter()
            .map(|m| {
                let mut assignment: Vec<GroupPartition> = m
                    .assignment
                    .topic_partitions
                    .iter()
                    .flat_map(|t| {
                        let topic = if t.topic_name.0.is_empty() {
                            names
                                .get(&t.topic_id)
                                .cloned()
                                .unwrap_or_else(|| t.topic_id.to_string())
                        } else {
                            t.topic_name.0.to_string()
                        };
                        t.partitions.iter().map(move |&p| GroupPartition {
                            topic: topic.clone(),
                            partition: p,
                        })
                    })
                    .collect();
                assignment.sort();
                ShareGroupMember {
                    member_id: m.member_id.to_string(),
                    rack_id: m.rack_id.as_ref().map(|s| s.to_string()),
                    member_epoch: m.member_epoch,
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    subscribed_topics: m.subscribed_topic_names.iter().map(|t| t.0.to_string()).collect(),
                    assignment,
                }
            })
            .collect();
        Ok(ShareGroupDescription {
            group_id: g.to_string(),
            error: None,
            state: grp.group_state.to_string(),
            group_epoch: grp.group_epoch,
            assignment_epoch: grp.assignment_epoch,
            partition_assignor: grp.assignor_name.to_string(),
            coordinator: node,
            authorized_operations: if ops {
                authorized_operations(grp.authorized_operations)
            } else {
                None
            },
            members,
        })
    }

    /// Topic names for ids, from the metadata (refreshed once if some id is not in it).
    /// An id no topic has (deleted since) is left out: the caller shows the id.
    async fn topic_names(&self, ids: Vec<uuid::Uuid>) -> HashMap<uuid::Uuid, String> {
        if ids.is_empty() {
            return HashMap::new();
        }
        let known = |meta: &crate::cluster::Metadata| -> HashMap<uuid::Uuid, String> {
            meta.topics.values().map(|t| (t.id, t.name.clone())).collect()
        };
        let mut names = known(&self.cluster().metadata());
        if ids.iter().any(|id| !names.contains_key(id)) {
            match self.cluster().refresh(None, false).await {
                Ok(meta) => names = known(&meta),
                Err(e) => tracing::debug!(cause = %e, "metadata refresh for topic ids failed; ids stay unnamed"),
            }
        }
        names
    }

    /// Start offsets of share groups (DescribeShareGroupOffsets), each group asked of its
    /// coordinator on its own. The lag that v1 adds is not read: kafka-protocol speaks v0.
    pub async fn list_share_group_offsets(&self, args: &ListShareGroupOffsetsArgs) -> Result<Vec<ShareGroupOffsets>> {
        let asks = args.groups.iter().map(|spec| async move {
            let g = &spec.group_id;
            let invalid = check_group_id(g).or_else(|| {
                spec.partitions
                    .iter()
                    .flatten()
                    .find_map(|p| check_partition(&p.topic, p.partition))
            });
            let rows = match invalid {
                Some(e) => Err(e),
                None => {
                    self.retry("DescribeShareGroupOffsets", |d| self.describe_share_offsets(spec, d))
                        .await
                }
            };
            match rows {
                Ok(rows) => ShareGroupOffsets {
                    group_id: g.clone(),
                    error: None,
                    partitions: in_asked_order(g, spec.partitions.as_deref(), rows),
                },
                Err(e) => ShareGroupOffsets {
                    group_id: g.clone(),
                    error: Some(in_group(unsupported("listShareGroupOffsets", e), g)),
                    partitions: Vec::new(),
                },
            }
        });
        Ok(futures_util::future::join_all(asks).await)
    }

    async fn describe_share_offsets(&self, spec: &GroupOffsetsSpec, d: Instant) -> Result<Vec<ShareOffset>> {
        let g = &spec.group_id;
        let (node, resp): (i32, DescribeShareGroupOffsetsResponse) = self
            .send(&Target::Group(g.clone()), ApiKey::DescribeShareGroupOffsets, d, |_| {
                let topics = spec.partitions.as_ref().map(|ps| {
                    by_topic(ps.iter().map(|p| (p.topic.as_str(), p.partition)))
                        .into_iter()
                        .map(|(t, ps)| {
                            DescribeShareGroupOffsetsRequestTopic::default()
                                .with_topic_name(name(t))
                                .with_partitions(ps)
                        })
                        .collect()
                });
                Ok(DescribeShareGroupOffsetsRequest::default().with_groups(vec![
                    DescribeShareGroupOffsetsRequestGroup::default()
                        .with_group_id(gid(g))
                        .with_topics(topics),
                ]))
            })
            .await?;
        let Some(r) = resp.groups.into_iter().find(|x| *x.group_id.0 == **g) else {
            return Err(Error::new(
                Kind::Protocol,
                "DescribeShareGroupOffsets left the group out",
            ));
        };
        if let Some(e) = self.group_error(g, node, r.error_code, r.error_message.as_deref()) {
            return Err(e);
        }
        let mut rows = Vec::new();
        for t in &r.topics {
            let topic = t.topic_name.0.to_string();
            for p in &t.partitions {
                if coordinator_busy(ErrorCode(p.error_code)) {
                    return Err(self
                        .group_error(g, node, p.error_code, p.error_message.as_deref())
                        .unwrap_or_else(|| Error::broker(ErrorCode(p.error_code), None)));
                }
                rows.push(ShareOffset {
                    topic: topic.clone(),
                    partition: p.partition_index,
                    start_offset: p.start_offset,
                    leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
                    error: to_error(p.error_code, p.error_message.as_deref())
                        .map(|e| in_partition(e, g, &topic, p.partition_index)),
                });
            }
        }
        Ok(rows)
    }

    /// Sets start offsets of a share group (AlterShareGroupOffsets). The coordinator takes
    /// them only while the group has no members: NON_EMPTY_GROUP on every item otherwise.
    pub async fn alter_share_group_offsets(&self, args: &AlterShareGroupOffsetsArgs) -> Result<Vec<PartitionResult>> {
        let g = &args.group_id;
        let mut errors: Vec<Option<Error>> = args
            .offsets
            .iter()
            .map(|o| {
                check_group_id(g)
                    .or_else(|| check_partition(&o.topic, o.partition))
                    .or_else(|| {
                        (o.offset < 0).then(|| {
                            Error::argument(
                                "offset",
                                format!("{} for {}-{} is negative", o.offset, o.topic, o.partition),
                            )
                        })
                    })
                    .map(|e| in_partition(e, g, &o.topic, o.partition))
            })
            .collect();
        // Last entry per partition wins; every entry gets its partition's outcome.
        let mut send: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for (o, e) in args.offsets.iter().zip(&errors) {
            if e.is_none() {
                send.insert((o.topic.as_str(), o.partition), o.offset);
            }
        }
        if !send.is_empty() {
            let send = &send;
            let r = self
                .retry("AlterShareGroupOffsets", |d| async move {
                    let (node, resp): (i32, AlterShareGroupOffsetsResponse) = self
                        .send(&Target::Group(g.clone()), ApiKey::AlterShareGroupOffsets, d, |_| {
                            let mut topics: BTreeMap<&str, Vec<AlterShareGroupOffsetsRequestPartition>> =
                                BTreeMap::new();
                            for (&(t, p), &offset) in send {
                                topics.entry(t).or_default().push(
                                    AlterShareGroupOffsetsRequestPartition::default()
                                        .with_partition_index(p)
                                        .with_start_offset(offset),
                                );
                            }
                            Ok(AlterShareGroupOffsetsRequest::default()
                                .with_group_id(gid(g))
                                .with_topics(
                                    topics
                                        .into_iter()
                                        .map(|(t, ps)| {
                                            AlterShareGroupOffsetsRequestTopic::default()
                                                .with_topic_name(name(t))
                                                .with_partitions(ps)
                                        })
                                        .collect(),
                                ))
                        })
                        .await?;
                    let all = top_level(self, g, node, resp.error_code, resp.error_message.as_deref())?;
                    let mut codes: BTreeMap<(String, i32), Option<Error>> = BTreeMap::new();
                    for t in &resp.responses {
                        for p in &t.partitions {
                            if coordinator_busy(ErrorCode(p.error_code)) {
                                return Err(self
                                    .group_error(g, node, p.error_code, p.error_message.as_deref())
                                    .unwrap_or_else(|| Error::broker(ErrorCode(p.error_code), None)));
                            }
                            codes.insert(
                                (t.topic_name.0.to_string(), p.partition_index),
                                to_error(p.error_code, p.error_message.as_deref()),
                            );
                        }
                    }
                    Ok((all, codes))
                })
                .await;
            for (o, e) in args.offsets.iter().zip(errors.iter_mut()) {
                if e.is_some() {
                    continue;
                }
                *e = match &r {
                    Ok((Some(all), _)) => Some(all.clone()),
                    Ok((None, codes)) => match codes.get(&(o.topic.clone(), o.partition)) {
                        Some(c) => c.clone(),
                        None => Some(Error::new(
                            Kind::Protocol,
                            "AlterShareGroupOffsets left the partition out",
                        )),
                    },
                    Err(err) => Some(unsupported("alterShareGroupOffsets", err.clone())),
                }
                .map(|e| in_partition(e, g, &o.topic, o.partition));
            }
        }
        Ok(args
            .offsets
            .iter()
            .zip(errors)
            .map(|(o, error)| PartitionResult {
                topic: o.topic.clone(),
                partition: o.partition,
                error,
            })
            .collect())
    }

    /// Deletes the share-partition state (start offsets and in-flight records) of whole
    /// topics for a share group (DeleteShareGroupOffsets); as for alter, only while the
    /// group has no members.
    pub async fn delete_share_group_offsets(&self, args: &DeleteShareGroupOffsetsArgs) -> Result<Vec<TopicResult>> {
        let g = &args.group_id;
        let mut errors: Vec<Option<Error>> = args
            .topics
            .iter()
            .map(|t| {
                check_group_id(g)
                    .or_else(|| t.is_empty().then(|| Error::argument("topic", "'' is not a topic name")))
                    .map(|e| in_topic(e, g, t))
            })
            .collect();
        let mut send: Vec<&str> = args
            .topics
            .iter()
            .zip(&errors)
            .filter(|(_, e)| e.is_none())
            .map(|(t, _)| t.as_str())
            .collect();
        send.sort_unstable();
        send.dedup();
        if !send.is_empty() {
            let send = &send;
            let r = self
                .retry("DeleteShareGroupOffsets", |d| async move {
                    let (node, resp): (i32, DeleteShareGroupOffsetsResponse) = self
                        .send(&Target::Group(g.clone()), ApiKey::DeleteShareGroupOffsets, d, |_| {
                            Ok(DeleteShareGroupOffsetsRequest::default()
                                .with_group_id(gid(g))
                                .with_topics(
                                    send.iter()
                                        .map(|t| {
                                            DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(name(t))
                                        })
                                        .collect(),
                                ))
                        })
                        .await?;
                    let all = top_level(self, g, node, resp.error_code, resp.error_message.as_deref())?;
                    let mut codes: BTreeMap<String, Option<Error>> = BTreeMap::new();
                    for t in &resp.responses {
                        if coordinator_busy(ErrorCode(t.error_code)) {
                            return Err(self
                                .group_error(g, node, t.error_code, t.error_message.as_deref())
                                .unwrap_or_else(|| Error::broker(ErrorCode(t.error_code), None)));
                        }
                        codes.insert(
                            t.topic_name.0.to_string(),
                            to_error(t.error_code, t.error_message.as_deref()),
                        );
                    }
                    Ok((all, codes))
                })
                .await;
            for (t, e) in args.topics.iter().zip(errors.iter_mut()) {
                if e.is_some() {
                    continue;
                }
                *e = match &r {
                    Ok((Some(all), _)) => Some(all.clone()),
                    Ok((None, codes)) => match codes.get(t) {
                        Some(c) => c.clone(),
                        None => Some(Error::new(Kind::Protocol, "DeleteShareGroupOffsets left the topic out")),
                    },
                    Err(err) => Some(unsupported("deleteShareGroupOffsets", err.clone())),
                }
                .map(|e| in_topic(e, g, t));
            }
        }
        Ok(args
            .topics
            .iter()
            .zip(errors)
            .map(|(t, error)| TopicResult {
                topic: t.clone(),
                error,
            })
            .collect())
    }
}

/// An error about one topic of a share group.
fn in_topic(e: Error, g: &str, topic: &str) -> Error {
    let mut e = e.with_partition(&std::sync::Arc::from(topic), -1);
    e.message = format!("group `{g}` topic `{topic}`: {}", e.message);
    e
}

/// The rows in the caller's order when partitions were given (a partition the broker left
/// out is that partition's error), else sorted by topic and partition.
fn in_asked_order(g: &str, asked: Option<&[GroupPartition]>, rows: Vec<ShareOffset>) -> Vec<ShareOffset> {
    let by_tp: BTreeMap<(String, i32), ShareOffset> =
        rows.into_iter().map(|r| ((r.topic.clone(), r.partition), r)).collect();
    match asked {
        None => by_tp.into_values().collect(),
        Some(asked) => asked
            .iter()
            .map(|p| {
                by_tp
                    .get(&(p.topic.clone(), p.partition))
                    .cloned()
                    .unwrap_or_else(|| ShareOffset {
                        topic: p.topic.clone(),
                        partition: p.partition,
                        start_offset: -1,
                        leader_epoch: None,
                        error: Some(in_partition(
                            Error::new(Kind::Protocol, "DescribeShareGroupOffsets left the partition out"),
                            g,
                            &p.topic,
                            p.partition,
                        )),
                    })
            })
            .collect(),
    }
}
