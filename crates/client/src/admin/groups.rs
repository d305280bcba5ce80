//! Groups: listing, describing, deleting, and their committed offsets.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{consumer_group_describe_response, describe_groups_response};
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, DeleteGroupsRequest, DeleteGroupsResponse,
    DescribeGroupsRequest, DescribeGroupsResponse, GroupId, LeaveGroupRequest, LeaveGroupResponse, ListGroupsRequest,
    ListGroupsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{authorized_operations, i64_string, to_error, Admin, Target};
use crate::error::{Error, Kind, Result};
use crate::group::wire::{decode_assignment, Subscription};
use crate::offsets::OffsetSpec;

/// What `list_groups` returns: the groups every broker coordinates, and the brokers that
/// could not answer (the list is then partial, as Java's `errors()` future reports).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupListing {
    /// Groups by id, sorted.
    pub groups: Vec<ListedGroup>,
    /// One error per broker that failed to list its groups.
    pub errors: Vec<Error>,
}

/// One group as ListGroups reports it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// `consumer` for consumer groups, empty for other classic uses (Connect's is `connect`).
    pub protocol_type: String,
    /// State (`Stable`, `Empty`, ...); empty when the broker does not report it (v < 4).
    pub state: String,
    /// `classic`, `consumer` or `share` (KIP-848); empty when the broker does not report it
    /// (v < 5).
    #[serde(rename = "type")]
    pub group_type: String,
    /// The coordinator that answered.
    pub coordinator: i32,
}

/// Filters for `list_groups`; empty lists match every group.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListGroupsOptions {
    /// Only groups in these states (case-insensitive on the broker).
    #[serde(default)]
    pub states: Vec<String>,
    /// Only groups of these types: `classic`, `consumer`, `share`.
    #[serde(default)]
    pub types: Vec<String>,
}

impl Admin {
    /// Every group of the cluster: ListGroups goes to every broker, since each lists only
    /// the groups it coordinates.
    pub async fn list_groups(&self, options: &ListGroupsOptions) -> Result<GroupListing> {
        for t in &options.types {
            if !matches!(t.as_str(), "classic" | "consumer" | "share") {
                return Err(Error::argument(
                    "types",
                    format!("`{t}` is not a group type; expected classic, consumer or share"),
                ));
            }
        }
        let meta = self.cluster().refresh(None, false).await?;
        let mut brokers: Vec<i32> = meta.brokers.keys().copied().collect();
        brokers.sort_unstable();
        let asks = brokers.iter().map(|&b| {
            self.retry("ListGroups", move |d| async move {
                let (_, resp): (_, ListGroupsResponse) = self
                    .send(&Target::Broker(b), ApiKey::ListGroups, d, |v| {
                        if v < 5 && !options.types.is_empty() {
                            return Err(Error::new(
                                crate::error::Kind::UnsupportedVersion,
                                format!("broker {b} cannot filter groups by type (ListGroups v{v}; needs v5)"),
                            ));
                        }
                        if v < 4 && !options.states.is_empty() {
                            return Err(Error::new(
                                crate::error::Kind::UnsupportedVersion,
                                format!("broker {b} cannot filter groups by state (ListGroups v{v}; needs v4)"),
                            ));
                        }
                        Ok(ListGroupsRequest::default()
                            .with_states_filter(
                                options
                                    .states
                                    .iter()
                                    .map(|s| StrBytes::from_string(s.clone()))
                                    .collect(),
                            )
                            .with_types_filter(
                                options.types.iter().map(|s| StrBytes::from_string(s.clone())).collect(),
                            ))
                    })
                    .await?;
                if let Some(e) = to_error(resp.error_code, None) {
                    return Err(e.with_broker(&b.to_string()));
                }
                Ok(resp.groups)
            })
        });
        let answers = futures_util::future::join_all(asks).await;
        let mut groups = BTreeMap::new();
        let mut errors = Vec::new();
        for (b, a) in brokers.iter().zip(answers) {
            match a {
                Ok(gs) => {
                    for g in gs {
                        let id = g.group_id.0.to_string();
                        if !g.group_type.is_empty() {
                            self.note_group_type(&id, &g.group_type);
                        }
                        groups.insert(
                            id.clone(),
                            ListedGroup {
                                group_id: id,
                                protocol_type: g.protocol_type.to_string(),
                                state: g.group_state.to_string(),
                                group_type: g.group_type.to_string(),
                                coordinator: *b,
                            },
                        );
                    }
                }
                Err(e) => errors.push(e.with_broker(&b.to_string())),
            }
        }
        Ok(GroupListing {
            groups: groups.into_values().collect(),
            errors,
        })
    }
}

// ---- describe, delete, offsets, members ----

/// A topic partition as admin arguments and results name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

/// Arguments of `describe_groups`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DescribeGroupsArgs {
    /// The groups, in the order results come back.
    pub group_ids: Vec<String>,
    /// Ask for the operations the caller may perform on each group.
    #[serde(default)]
    pub include_authorized_operations: bool,
}

/// One member of a described group.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    /// Member id the coordinator gave.
    pub member_id: String,
    /// Static membership id (KIP-345), if any.
    pub group_instance_id: Option<String>,
    /// The member's `client.id`.
    pub client_id: String,
    /// The address the member connected from.
    pub host: String,
    /// `client.rack` (KIP-848 groups report it; classic ones inside the subscription v3+).
    pub rack_id: Option<String>,
    /// The member's epoch (KIP-848 groups; null for classic groups).
    pub member_epoch: Option<i32>,
    /// Topics the member subscribed to: decoded from its subscription for a classic
    /// `consumer` group, reported by KIP-848 groups; null for other protocol types.
    pub subscribed_topics: Option<Vec<String>>,
    /// The regular expression a KIP-848 member subscribed with.
    pub subscribed_topic_regex: Option<String>,
    /// Partitions the member owns: decoded from its assignment for a classic `consumer`
    /// group; null for other protocol types.
    pub assignment: Option<Vec<GroupPartition>>,
    /// Partitions the member is to own once reconciled (KIP-848 groups; null for classic).
    pub target_assignment: Option<Vec<GroupPartition>>,
}

/// What `describe_groups` says about one group.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDescription {
    /// Group id.
    pub group_id: String,
    /// Why the group could not be described (GROUP_ID_NOT_FOUND for an unknown group).
    pub error: Option<Error>,
    /// `consumer` for a KIP-848 group (ConsumerGroupDescribe), `classic` otherwise.
    #[serde(rename = "type")]
    pub group_type: String,
    /// `Stable`, `Empty`, `PreparingRebalance`, `Reconciling`, ...
    pub state: String,
    /// `consumer` for consumer groups (KIP-848 ones too), e.g. `connect` for others.
    pub protocol_type: String,
    /// The assignor: a classic group's chosen protocol, a KIP-848 group's server assignor.
    pub partition_assignor: String,
    /// KIP-848 group epoch (null for classic groups).
    pub group_epoch: Option<i32>,
    /// KIP-848 target assignment epoch (null for classic groups).
    pub target_assignment_epoch: Option<i32>,
    /// Broker id of the coordinator that answered (-1 when none did).
    pub coordinator: i32,
    /// Operations the caller may perform (ACL operation names), when asked for.
    pub authorized_operations: Option<Vec<String>>,
    /// The members.
    pub members: Vec<GroupMember>,
}

impl GroupDescription {
    fn failed(group_id: &str, error: Error) -> Self {
        GroupDescription {
            group_id: group_id.to_string(),
            error: Some(error),
            group_type: String::new(),
            state: String::new(),
            protocol_type: String::new(),
            partition_assignor: String::new(),
            group_epoch: None,
            target_assignment_epoch: None,
            coordinator: -1,
            authorized_operations: None,
            members: Vec::new(),
        }
    }
}

/// Arguments of `delete_groups`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteGroupsArgs {
    /// The groups, in the order results come back.
    pub group_ids: Vec<String>,
}

/// The outcome for one group of `delete_groups`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupResult {
    /// Group id.
    pub group_id: String,
    /// Why it failed (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, ...), or null.
    pub error: Option<Error>,
}

/// One group of `list_consumer_group_offsets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupOffsetsSpec {
    /// Group id.
    pub group_id: String,
    /// Only these partitions; absent: every partition the group committed.
    #[serde(default)]
    pub partitions: Option<Vec<GroupPartition>>,
}

/// Arguments of `list_consumer_group_offsets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListConsumerGroupOffsetsArgs {
    /// The groups, in the order results come back.
    pub groups: Vec<GroupOffsetsSpec>,
    /// KIP-447: wait for pending transactional commits instead of skipping them.
    #[serde(default)]
    pub require_stable: bool,
}

/// One partition's committed offset and lag.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommittedOffset {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The committed offset; -1 when the group has none for this partition.
    #[serde(with = "i64_string")]
    pub offset: i64,
    /// Leader epoch of the committed offset, when the committer knew it.
    pub leader_epoch: Option<i32>,
    /// The commit's metadata string.
    pub metadata: Option<String>,
    /// The partition's latest offset (high watermark) minus the committed offset; null
    /// without a committed offset or when the latest offset could not be read (`error`
    /// then says why).
    #[serde(with = "i64_string::option")]
    pub lag: Option<i64>,
    /// Why this partition's offset or lag could not be read.
    pub error: Option<Error>,
}

/// The committed offsets of one group.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOffsets {
    /// Group id.
    pub group_id: String,
    /// Why the group's offsets could not be read, or null.
    pub error: Option<Error>,
    /// Offsets: in the caller's order when partitions were given, else by topic and partition.
    pub partitions: Vec<CommittedOffset>,
}

/// One offset to set with `alter_consumer_group_offsets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OffsetToCommit {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The offset (the next record the group will read).
    #[serde(with = "i64_string")]
    pub offset: i64,
    /// Leader epoch of the record before `offset`, if known.
    #[serde(default)]
    pub leader_epoch: Option<i32>,
    /// Metadata stored with the commit.
    #[serde(default)]
    pub metadata: Option<String>,
}

/// Arguments of `alter_consumer_group_offsets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlterConsumerGroupOffsetsArgs {
    /// Group id.
    pub group_id: String,
    /// The offsets, in the order results come back.
    pub offsets: Vec<OffsetToCommit>,
}

/// Arguments of `delete_consumer_group_offsets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteConsumerGroupOffsetsArgs {
    /// Group id.
    pub group_id: String,
    /// The partitions, in the order results come back.
    pub partitions: Vec<GroupPartition>,
}

/// The outcome for one partition of altering or deleting offsets.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionResult {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Why it failed, or null.
    pub error: Option<Error>,
}

/// A member to remove, by its static membership id.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberToRemove {
    /// The member's `groupInstanceId`.
    pub group_instance_id: String,
}

/// Arguments of `remove_members_from_consumer_group`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveMembersArgs {
    /// Group id.
    pub group_id: String,
    /// Static members to remove; absent: every member the group has now (as Java's
    /// `RemoveMembersFromConsumerGroupOptions()` with no members).
    #[serde(default)]
    pub members: Option<Vec<MemberToRemove>>,
}

/// The outcome for one member of `remove_members_from_consumer_group`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberResult {
    /// The member id ('' when removed by instance id).
    pub member_id: String,
    /// The member's static id, if it has one.
    pub group_instance_id: Option<String>,
    /// Why it could not be removed (UNKNOWN_MEMBER_ID, ...), or null.
    pub error: Option<Error>,
}

/// Prefixes an error's message with the group it is about.
pub(crate) fn in_group(mut e: Error, group: &str) -> Error {
    if !e.message.starts_with("group `") {
        e.message = format!("group `{group}`: {}", e.message);
    }
    e
}

/// An error about one partition of a group.
pub(crate) fn in_partition(e: Error, group: &str, topic: &str, partition: i32) -> Error {
    let mut e = e.with_partition(&Arc::from(topic), partition);
    e.message = format!("group `{group}` partition {topic}-{partition}: {}", e.message);
    e
}

pub(crate) fn check_group_id(group: &str) -> Option<Error> {
    group
        .is_empty()
        .then(|| Error::argument("group id", "'' is not a group id (it must not be empty)"))
}

pub(crate) fn check_partition(topic: &str, partition: i32) -> Option<Error> {
    if topic.is_empty() {
        Some(Error::argument("topic", "'' is not a topic name"))
    } else if partition < 0 {
        Some(Error::argument(
            "partition",
            format!("{partition} of `{topic}` is negative"),
        ))
    } else {
        None
    }
}

/// The codes after which the same request to the group's coordinator (found again) can
/// succeed: a moved or still-loading coordinator.
pub(crate) fn coordinator_busy(code: ErrorCode) -> bool {
    code == ErrorCode::NOT_COORDINATOR
        || code == ErrorCode::COORDINATOR_NOT_AVAILABLE
        || code == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
}

pub(crate) fn partitions_of(topics: &[(String, Vec<i32>)]) -> Vec<GroupPartition> {
    let mut out: Vec<GroupPartition> = topics
        .iter()
        .flat_map(|(t, ps)| {
            ps.iter().map(move |&p| GroupPartition {
                topic: t.clone(),
                partition: p,
            })
        })
        .collect();
    out.sort();
    out
}

fn decoded_partitions(parts: Vec<crate::types::TopicPartition>) -> Vec<GroupPartition> {
    parts
        .into_iter()
        .map(|tp| GroupPartition {
            topic: tp.topic.to_string(),
            partition: tp.partition,
        })
        .collect()
}

/// Groups partitions by topic, sorted, for requests.
pub(crate) fn by_topic<'a>(parts: impl IntoIterator<Item = (&'a str, i32)>) -> BTreeMap<&'a str, Vec<i32>> {
    let mut m: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in parts {
        m.entry(t).or_default().push(p);
    }
    for v in m.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    m
}

pub(crate) fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub(crate) fn gid(s: &str) -> GroupId {
    GroupId(StrBytes::from_string(s.to_string()))
}

/// One OffsetFetch row before lag: (topic, partition, offset, leader epoch, metadata, error).
type FetchedRow = (String, i32, i64, i32, Option<String>, i16);

impl Admin {
    /// Describes groups, each asked of its coordinator. As Java's admin client does, a
    /// group is first described with ConsumerGroupDescribe (KIP-848); when the coordinator
    /// says GROUP_ID_NOT_FOUND (the group is classic, or unknown) or the broker predates
    /// that API, with DescribeGroups. Several groups go batched per coordinator (see
    /// `describe_batched`), and a group known to be classic skips the first request. An unknown group is the item's GROUP_ID_NOT_FOUND
    /// (DescribeGroups v6 says so; older versions report the state `Dead`, which is mapped
    /// to the same error).
    pub async fn describe_groups(&self, args: &DescribeGroupsArgs) -> Result<Vec<GroupDescription>> {
        let ops = args.include_authorized_operations;
        let mut ids: Vec<&str> = args
            .group_ids
            .iter()
            .filter(|g| check_group_id(g).is_none())
            .map(String::as_str)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut done: HashMap<String, GroupDescription> = HashMap::new();
        if ids.len() > 1 {
            done = self.describe_batched(&ids, ops).await;
        }
        let rest = ids.iter().filter(|g| !done.contains_key(**g)).map(|&g| async move {
            // A group known to be classic (listed, or described before) goes straight to
            // DescribeGroups; GROUP_ID_NOT_FOUND there (the group was deleted, or made
            // again as a KIP-848 group) falls back to the usual order.
            if self.group_type(g).as_deref() == Some("classic") {
                match self.retry("DescribeGroups", |d| self.classic_describe(g, ops, d)).await {
                    Err(e) if e.kind == Kind::Broker(ErrorCode::GROUP_ID_NOT_FOUND) => {}
                    r => return (g, self.described(g, r)),
                }
            }
            let kip848 = self
                .retry("ConsumerGroupDescribe", |d| self.consumer_group_describe(g, ops, d))
                .await;
            let r = match kip848 {
                Ok(Some(desc)) => Ok(desc),
                Ok(None) => self.retry("DescribeGroups", |d| self.classic_describe(g, ops, d)).await,
                Err(e) => Err(e),
            };
            (g, self.described(g, r))
        });
        for (g, desc) in futures_util::future::join_all(rest).await {
            done.insert(g.to_string(), desc);
        }
        Ok(args
            .group_ids
            .iter()
            .map(|g| match check_group_id(g) {
                Some(e) => GroupDescription::failed(g, e),
                None => done.get(g).cloned().unwrap_or_else(|| {
                    GroupDescription::failed(g, Error::new(Kind::Internal, "group left unanswered"))
                }),
            })
            .collect())
    }

    /// The batched first pass of `describe_groups` over several groups: one
    /// ConsumerGroupDescribe per coordinator for the groups not known to be classic, then
    /// one DescribeGroups per coordinator for the known classic ones and those the first
    /// said GROUP_ID_NOT_FOUND of. What it cannot settle in one try (a coordinator not
    /// found, moved or loading, a failed request, a stale classic hint) is left out, for
    /// the per-group path and its retries.
    async fn describe_batched(&self, ids: &[&str], ops: bool) -> HashMap<String, GroupDescription> {
        let deadline = self.deadline();
        let mut done = HashMap::new();
        let nodes = futures_util::future::join_all(
            ids.iter()
                .map(|&g| async move { (g, self.coordinator(g).node(deadline).await) }),
        )
        .await;
        let mut kip848: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
        let mut classic: BTreeMap<i32, Vec<(&str, bool)>> = BTreeMap::new();
        for (g, n) in nodes {
            let Ok(n) = n else { continue };
            if self.group_type(g).as_deref() == Some("classic") {
                classic.entry(n).or_default().push((g, true));
            } else {
                kip848.entry(n).or_default().push(g);
            }
        }
        let first = kip848.iter().map(|(&n, gs)| async move {
            (
                n,
                gs,
                self.consumer_group_describe_many(&Target::Broker(n), gs, ops, deadline)
                    .await,
            )
        });
        for (n, gs, r) in futures_util::future::join_all(first).await {
            let Ok(rs) = r else { continue };
            for (&g, r) in gs.iter().zip(rs) {
                match r {
                    Ok(Some(desc)) => {
                        done.insert(g.to_string(), self.described(g, Ok(desc)));
                    }
                    Ok(None) => classic.entry(n).or_default().push((g, false)),
                    Err(e) if crate::admin::should_retry(&e) => {}
                    Err(e) => {
                        done.insert(g.to_string(), self.described(g, Err(e)));
                    }
                }
            }
        }
        let second = classic.iter().map(|(&n, gs)| async move {
            let names: Vec<&str> = gs.iter().map(|(g, _)| *g).collect();
            (
                gs,
                self.classic_describe_many(&Target::Broker(n), &names, ops, deadline)
                    .await,
            )
        });
        for (gs, r) in futures_util::future::join_all(second).await {
            let Ok(rs) = r else { continue };
            for (&(g, hinted), r) in gs.iter().zip(rs) {
                match r {
                    Err(e) if hinted && e.kind == Kind::Broker(ErrorCode::GROUP_ID_NOT_FOUND) => {
                        // The hint is stale: the per-group path asks in the usual order.
                        self.note_group_type(g, "");
                    }
                    Err(e) if crate::admin::should_retry(&e) => {}
                    r => {
                        done.insert(g.to_string(), self.described(g, r));
                    }
                }
            }
        }
        done
    }

    /// The result for one group of `describe_groups`, its type remembered.
    fn described(&self, g: &str, r: Result<GroupDescription>) -> GroupDescription {
        match r {
            Ok(desc) => {
                self.note_group_type(g, &desc.group_type);
                desc
            }
            Err(e) => GroupDescription::failed(g, in_group(e, g)),
        }
    }

    /// One ConsumerGroupDescribe attempt; `None` when the group is not a KIP-848 group
    /// (or the broker has no ConsumerGroupDescribe).
    async fn consumer_group_describe(&self, g: &str, ops: bool, d: Instant) -> Result<Option<GroupDescription>> {
        let mut r = self
            .consumer_group_describe_many(&Target::Group(g.to_string()), &[g], ops, d)
            .await?;
        r.pop()
            .unwrap_or_else(|| Err(Error::new(Kind::Protocol, "ConsumerGroupDescribe answered no group")))
    }

    /// One ConsumerGroupDescribe to `target` for `groups` (all coordinated by it): per
    /// group, in order, its description, `None` (not a KIP-848 group), or its error.
    async fn consumer_group_describe_many(
        &self,
        target: &Target,
        groups: &[&str],
        ops: bool,
        d: Instant,
    ) -> Result<Vec<Result<Option<GroupDescription>>>> {
        let sent = self
            .send(target, ApiKey::ConsumerGroupDescribe, d, |_| {
                Ok(ConsumerGroupDescribeRequest::default()
                    .with_group_ids(groups.iter().map(|g| gid(g)).collect())
                    .with_include_authorized_operations(ops))
            })
            .await;
        let (node, resp): (i32, ConsumerGroupDescribeResponse) = match sent {
            Ok(r) => r,
            Err(e) if e.kind == Kind::UnsupportedVersion => return Ok(groups.iter().map(|_| Ok(None)).collect()),
            Err(e) => return Err(e),
        };
        let mut by_id: BTreeMap<String, consumer_group_describe_response::DescribedGroup> =
            resp.groups.into_iter().map(|x| (x.group_id.0.to_string(), x)).collect();
        Ok(groups
            .iter()
            .map(|g| match by_id.remove(*g) {
                Some(grp) => self.kip848_description(g, node, grp, ops),
                None => Err(Error::new(Kind::Protocol, "ConsumerGroupDescribe left the group out")),
            })
            .collect())
    }

    fn kip848_description(
        &self,
        g: &str,
        node: i32,
        grp: consumer_group_describe_response::DescribedGroup,
        ops: bool,
    ) -> Result<Option<GroupDescription>> {
        if grp.error_code == ErrorCode::GROUP_ID_NOT_FOUND.0 {
            return Ok(None);
        }
        if let Some(e) = self.group_error(g, node, grp.error_code, grp.error_message.as_deref()) {
            return Err(e);
        }
        let assignment = |a: &consumer_group_describe_response::Assignment| {
            partitions_of(
                &a.topic_partitions
                    .iter()
                    .map(|t| (t.topic_name.0.to_string(), t.partitions.clone()))
                    .collect::<Vec<_>>(),
            )
        };
        let members = grp
            .members
            .iter()
            .map(|m| GroupMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.instance_id.as_ref().map(|s| s.to_string()),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                rack_id: m.rack_id.as_ref().map(|s| s.to_string()),
                member_epoch: Some(m.member_epoch),
                subscribed_topics: Some(m.subscribed_topic_names.iter().map(|t| t.0.to_string()).collect()),
                subscribed_topic_regex: m.subscribed_topic_regex.as_ref().map(|s| s.to_string()),
                assignment: Some(assignment(&m.assignment)),
                target_assignment: Some(assignment(&m.target_assignment)),
            })
            .collect();
        Ok(Some(GroupDescription {
            group_id: g.to_string(),
            error: None,
            group_type: "consumer".to_string(),
            state: grp.group_state.to_string(),
            protocol_type: "consumer".to_string(),
            partition_assignor: grp.assignor_name.to_string(),
            group_epoch: Some(grp.group_epoch),
            target_assignment_epoch: Some(grp.assignment_epoch),
            coordinator: node,
            authorized_operations: if ops {
                authorized_operations(grp.authorized_operations)
            } else {
                None
            },
            members,
        }))
    }

    /// One DescribeGroups attempt for a classic group.
    async fn classic_describe(&self, g: &str, ops: bool, d: Instant) -> Result<GroupDescription> {
        let mut r = self
            .classic_describe_many(&Target::Group(g.to_string()), &[g], ops, d)
            .await?;
        r.pop()
            .unwrap_or_else(|| Err(Error::new(Kind::Protocol, "DescribeGroups answered no group")))
    }

    /// One DescribeGroups to `target` for `groups` (all coordinated by it): per group, in
    /// order, its description or its error.
    async fn classic_describe_many(
        &self,
        target: &Target,
        groups: &[&str],
        ops: bool,
        d: Instant,
    ) -> Result<Vec<Result<GroupDescription>>> {
        let (node, resp): (i32, DescribeGroupsResponse) = self
            .send(target, ApiKey::DescribeGroups, d, |v| {
                if ops && v < 3 {
                    return Err(Error::new(
                        Kind::UnsupportedVersion,
                        format!("the coordinator cannot report authorized operations (DescribeGroups v{v}; needs v3)"),
                    ));
                }
                Ok(DescribeGroupsRequest::default()
                    .with_groups(groups.iter().map(|g| gid(g)).collect())
                    .with_include_authorized_operations(ops))
            })
            .await?;
        let mut by_id: BTreeMap<String, describe_groups_response::DescribedGroup> =
            resp.groups.into_iter().map(|x| (x.group_id.0.to_string(), x)).collect();
        Ok(groups
            .iter()
            .map(|g| match by_id.remove(*g) {
                Some(grp) => self.classic_description(g, node, grp, ops),
                None => Err(Error::new(Kind::Protocol, "DescribeGroups left the group out")),
            })
            .collect())
    }

    fn classic_description(
        &self,
        g: &str,
        node: i32,
        grp: describe_groups_response::DescribedGroup,
        ops: bool,
    ) -> Result<GroupDescription> {
        if let Some(e) = self.group_error(g, node, grp.error_code, grp.error_message.as_deref()) {
            return Err(e);
        }
        if grp.group_state.as_str() == "Dead" {
            return Err(Error::broker(
                ErrorCode::GROUP_ID_NOT_FOUND,
                Some("the coordinator reports the group Dead: it does not exist"),
            ));
        }
        let consumer = grp.protocol_type.as_str() == "consumer";
        let mut members = Vec::with_capacity(grp.members.len());
        for m in &grp.members {
            let member_id = m.member_id.to_string();
            let bad = |e: Error| {
                Error::new(
                    Kind::Protocol,
                    format!("member `{member_id}` of the group: {}", e.message),
                )
            };
            let (subscription, assignment) = if consumer {
                let sub = if m.member_metadata.is_empty() {
                    None
                } else {
                    Some(Subscription::decode(&m.member_metadata).map_err(bad)?)
                };
                let assigned = decode_assignment(&m.member_assignment).map_err(bad)?;
                (sub, Some(decoded_partitions(assigned)))
            } else {
                (None, None)
            };
            members.push(GroupMember {
                member_id: member_id.clone(),
                group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                rack_id: subscription.as_ref().and_then(|s| s.rack_id.clone()),
                member_epoch: None,
                subscribed_topics: if consumer {
                    Some(subscription.map(|s| s.topics).unwrap_or_default())
                } else {
                    None
                },
                subscribed_topic_regex: None,
                assignment,
                target_assignment: None,
            });
        }
        Ok(GroupDescription {
            group_id: g.to_string(),
            error: None,
            group_type: "classic".to_string(),
            state: grp.group_state.to_string(),
            protocol_type: grp.protocol_type.to_string(),
            partition_assignor: grp.protocol_data.to_string(),
            group_epoch: None,
            target_assignment_epoch: None,
            coordinator: node,
            authorized_operations: if ops {
                authorized_operations(grp.authorized_operations)
            } else {
                None
            },
            members,
        })
    }

    /// Deletes groups with their committed offsets, each on its coordinator. A group with
    /// members fails with NON_EMPTY_GROUP, an unknown one with GROUP_ID_NOT_FOUND.
    pub async fn delete_groups(&self, args: &DeleteGroupsArgs) -> Result<Vec<GroupResult>> {
        let asks = args.group_ids.iter().map(|g| async move {
            let error = match check_group_id(g) {
                Some(e) => Some(e),
                None => self
                    .retry("DeleteGroups", |d| async move {
                        let (node, resp): (i32, DeleteGroupsResponse) = self
                            .send(&Target::Group(g.clone()), ApiKey::DeleteGroups, d, |_| {
                                Ok(DeleteGroupsRequest::default().with_groups_names(vec![gid(g)]))
                            })
                            .await?;
                        let Some(r) = resp.results.iter().find(|r| *r.group_id.0 == **g) else {
                            return Err(Error::new(Kind::Protocol, "DeleteGroups left the group out"));
                        };
                        match self.group_error(g, node, r.error_code, None) {
                            Some(e) => Err(e),
                            None => Ok(()),
                        }
                    })
                    .await
                    .err()
                    .map(|e| in_group(e, g)),
            };
            GroupResult {
                group_id: g.clone(),
                error,
            }
        });
        Ok(futures_util::future::join_all(asks).await)
    }

    /// Committed offsets of groups with each partition's lag. Groups that share a
    /// coordinator go in one OffsetFetch (v8+ takes several groups); a group whose part of
    /// that answer says its coordinator moved or is loading, or whose coordinator could
    /// not be found up front, is asked again on its own under the retry policy.
    pub async fn list_consumer_group_offsets(&self, args: &ListConsumerGroupOffsetsArgs) -> Result<Vec<GroupOffsets>> {
        let stable = args.require_stable;
        let mut outcomes: Vec<Option<Result<Vec<FetchedRow>>>> = vec![None; args.groups.len()];
        for (i, spec) in args.groups.iter().enumerate() {
            if let Some(e) = check_group_id(&spec.group_id) {
                outcomes[i] = Some(Err(e));
            } else if let Some(e) = spec
                .partitions
                .iter()
                .flatten()
                .find_map(|p| check_partition(&p.topic, p.partition))
            {
                outcomes[i] = Some(Err(e));
            }
        }
        // Batch: groups by coordinator, where more than one group shares one.
        let deadline = self.deadline();
        let pending: Vec<usize> = (0..args.groups.len()).filter(|&i| outcomes[i].is_none()).collect();
        if pending.len() > 1 {
            let nodes = futures_util::future::join_all(
                pending
                    .iter()
                    .map(|&i| async move { (i, self.coordinator(&args.groups[i].group_id).node(deadline).await) }),
            )
            .await;
            let mut by_node: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
            for (i, n) in nodes {
                if let Ok(n) = n {
                    by_node.entry(n).or_default().push(i);
                }
            }
            let batches = by_node
                .into_iter()
                .filter(|(_, is)| is.len() > 1)
                .map(|(node, is)| async move {
                    let specs: Vec<&GroupOffsetsSpec> = is.iter().map(|&i| &args.groups[i]).collect();
                    (
                        is,
                        self.offset_fetch(&Target::Broker(node), &specs, stable, deadline).await,
                    )
                });
            for (is, r) in futures_util::future::join_all(batches).await {
                // A failed batch (the broker gone, OffsetFetch < v8): each group alone.
                let Ok(per_group) = r else { continue };
                for (i, g) in is.into_iter().zip(per_group) {
                    let retry_alone = matches!(&g, Err(e) if crate::admin::should_retry(e));
                    if !retry_alone {
                        outcomes[i] = Some(g);
                    }
                }
            }
        }
        let alone = (0..args.groups.len())
            .filter(|&i| outcomes[i].is_none())
            .map(|i| async move {
                let spec = &args.groups[i];
                let r = self
                    .retry("OffsetFetch", |d| async move {
                        let mut rs = self
                            .offset_fetch(&Target::Group(spec.group_id.clone()), &[spec], stable, d)
                            .await?;
                        rs.pop()
                            .unwrap_or_else(|| Err(Error::new(Kind::Protocol, "OffsetFetch answered no group")))
                    })
                    .await;
                (i, r)
            });
        for (i, r) in futures_util::future::join_all(alone).await {
            outcomes[i] = Some(r);
        }
        let mut out = Vec::with_capacity(args.groups.len());
        for (spec, outcome) in args.groups.iter().zip(outcomes) {
            let g = &spec.group_id;
            let rows = match outcome.unwrap_or_else(|| Err(Error::new(Kind::Internal, "group left unanswered"))) {
                Ok(rows) => rows,
                Err(e) => {
                    out.push(GroupOffsets {
                        group_id: g.clone(),
                        error: Some(in_group(e, g)),
                        partitions: Vec::new(),
                    });
                    continue;
                }
            };
            out.push(GroupOffsets {
                group_id: g.clone(),
                error: None,
                partitions: self.with_lag(g, spec.partitions.as_deref(), rows).await,
            });
        }
        Ok(out)
    }

    /// One OffsetFetch to `target` for `groups` (several only with v8+): per group, its
    /// rows or its error. A group-level coordinator error forgets that coordinator and
    /// comes back as the group's error, for the caller to retry.
    async fn offset_fetch(
        &self,
        target: &Target,
        groups: &[&GroupOffsetsSpec],
        stable: bool,
        d: Instant,
    ) -> Result<Vec<Result<Vec<FetchedRow>>>> {
        let mut version = 0;
        let (node, resp): (i32, OffsetFetchResponse) = self
            .send(target, ApiKey::OffsetFetch, d, |v| {
                version = v;
                if stable && v < 7 {
                    return Err(Error::new(
                        Kind::UnsupportedVersion,
                        format!("the coordinator cannot wait for stable offsets (OffsetFetch v{v}; needs v7)"),
                    ));
                }
                let mut req = if v >= 8 {
                    OffsetFetchRequest::default().with_groups(
                        groups
                            .iter()
                            .map(|s| {
                                OffsetFetchRequestGroup::default()
                                    .with_group_id(gid(&s.group_id))
                                    .with_topics(s.partitions.as_ref().map(|ps| {
                                        by_topic(ps.iter().map(|p| (p.topic.as_str(), p.partition)))
                                            .into_iter()
                                            .map(|(t, ps)| {
                                                OffsetFetchRequestTopics::default()
                                                    .with_name(name(t))
                                                    .with_partition_indexes(ps)
                                            })
                                            .collect()
                                    }))
                            })
                            .collect(),
                    )
                } else if let [s] = groups {
                    if v < 2 && s.partitions.is_none() {
                        return Err(Error::new(
                            Kind::UnsupportedVersion,
                            format!("the coordinator cannot list every offset of a group (OffsetFetch v{v}; needs v2)"),
                        ));
                    }
                    OffsetFetchRequest::default()
                        .with_group_id(gid(&s.group_id))
                        .with_topics(s.partitions.as_ref().map(|ps| {
                            by_topic(ps.iter().map(|p| (p.topic.as_str(), p.partition)))
                                .into_iter()
                                .map(|(t, ps)| {
                                    OffsetFetchRequestTopic::default()
                                        .with_name(name(t))
                                        .with_partition_indexes(ps)
                                })
                                .collect()
                        }))
                } else {
                    return Err(Error::new(
                        Kind::UnsupportedVersion,
                        format!("OffsetFetch v{v} takes one group at a time (v8+ takes several)"),
                    ));
                };
                if v >= 7 {
                    req = req.with_require_stable(stable);
                }
                Ok(req)
            })
            .await?;
        let mut out = Vec::with_capacity(groups.len());
        if version < 8 {
            // One group, its error at the top level.
            let g = &groups[0].group_id;
            if let Some(e) = self.group_error(g, node, resp.error_code, None) {
                out.push(Err(e));
                return Ok(out);
            }
            let mut rows = Vec::new();
            for t in &resp.topics {
                for p in &t.partitions {
                    rows.push((
                        t.name.0.to_string(),
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.metadata.as_ref().map(|m| m.to_string()),
                        p.error_code,
                    ));
                }
            }
            out.push(Ok(rows));
            return Ok(out);
        }
        for s in groups {
            let g = &s.group_id;
            let Some(r) = resp.groups.iter().find(|x| *x.group_id.0 == **g) else {
                out.push(Err(Error::new(Kind::Protocol, "OffsetFetch left the group out")));
                continue;
            };
            if let Some(e) = self.group_error(g, node, r.error_code, None) {
                out.push(Err(e));
                continue;
            }
            let mut rows = Vec::new();
            let mut unstable = false;
            for t in &r.topics {
                for p in &t.partitions {
                    unstable |= p.error_code == ErrorCode::UNSTABLE_OFFSET_COMMIT.0;
                    rows.push((
                        t.name.0.to_string(),
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.metadata.as_ref().map(|m| m.to_string()),
                        p.error_code,
                    ));
                }
            }
            // A pending transactional commit: ask again (Java retries it too).
            out.push(if unstable {
                Err(Error::broker(ErrorCode::UNSTABLE_OFFSET_COMMIT, None))
            } else {
                Ok(rows)
            });
        }
        Ok(out)
    }

    /// Turns OffsetFetch rows into results with lag from each partition's latest offset
    /// (ListOffsets, read_uncommitted: the high watermark, as kafka-consumer-groups.sh).
    async fn with_lag(&self, g: &str, asked: Option<&[GroupPartition]>, rows: Vec<FetchedRow>) -> Vec<CommittedOffset> {
        let mut by_tp: BTreeMap<(String, i32), CommittedOffset> = BTreeMap::new();
        for (topic, partition, offset, epoch, metadata, code) in rows {
            let error = to_error(code, None).map(|e| in_partition(e, g, &topic, partition));
            by_tp.insert(
                (topic.clone(), partition),
                CommittedOffset {
                    topic,
                    partition,
                    offset,
                    leader_epoch: (epoch >= 0).then_some(epoch),
                    metadata,
                    lag: None,
                    error,
                },
            );
        }
        let want: BTreeMap<&str, Vec<i32>> = by_topic(
            by_tp
                .values()
                .filter(|c| c.error.is_none() && c.offset >= 0)
                .map(|c| (c.topic.as_str(), c.partition)),
        );
        let lookups = want.into_iter().map(|(t, ps)| async move {
            let r = crate::offsets::list_offsets(self.cluster(), t, &ps, OffsetSpec::Latest, false).await;
            (t.to_string(), ps, r)
        });
        for (topic, ps, r) in futures_util::future::join_all(lookups).await {
            match r {
                Ok(ends) => {
                    for end in ends {
                        if let Some(c) = by_tp.get_mut(&(topic.clone(), end.partition)) {
                            c.lag = Some((end.offset - c.offset).max(0));
                        }
                    }
                }
                Err(e) => {
                    for p in ps {
                        if let Some(c) = by_tp.get_mut(&(topic.clone(), p)) {
                            let mut e = in_partition(e.clone(), g, &topic, p);
                            e.message = format!("{} (reading the latest offset for the lag)", e.message);
                            c.error = Some(e);
                        }
                    }
                }
            }
        }
        match asked {
            None => by_tp.into_values().collect(),
            Some(asked) => asked
                .iter()
                .map(|p| {
                    by_tp
                        .get(&(p.topic.clone(), p.partition))
                        .cloned()
                        .unwrap_or_else(|| CommittedOffset {
                            topic: p.topic.clone(),
                            partition: p.partition,
                            offset: -1,
                            leader_epoch: None,
                            metadata: None,
                            lag: None,
                            error: Some(in_partition(
                                Error::new(Kind::Protocol, "OffsetFetch left the partition out"),
                                g,
                                &p.topic,
                                p.partition,
                            )),
                        })
                })
                .collect(),
        }
    }

    /// Sets a group's committed offsets (OffsetCommit as no member: generation -1). The
    /// coordinator refuses it for a group with live members: UNKNOWN_MEMBER_ID on each
    /// partition, as the Java admin client reports.
    pub async fn alter_consumer_group_offsets(
        &self,
        args: &AlterConsumerGroupOffsetsArgs,
    ) -> Result<Vec<PartitionResult>> {
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
        let mut send: BTreeMap<(&str, i32), &OffsetToCommit> = BTreeMap::new();
        for (o, e) in args.offsets.iter().zip(&errors) {
            if e.is_none() {
                send.insert((o.topic.as_str(), o.partition), o);
            }
        }
        if !send.is_empty() {
            let send = &send;
            let r = self
                .retry("OffsetCommit", |d| async move {
                    let (node, resp): (i32, OffsetCommitResponse) = self
                        .send(&Target::Group(g.clone()), ApiKey::OffsetCommit, d, |v| {
                            let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
                            for ((t, p), o) in send {
                                let mut part = OffsetCommitRequestPartition::default()
                                    .with_partition_index(*p)
                                    .with_committed_offset(o.offset)
                                    .with_committed_metadata(Some(StrBytes::from_string(
                                        o.metadata.clone().unwrap_or_default(),
                                    )));
                                if v >= 6 {
                                    part = part.with_committed_leader_epoch(o.leader_epoch.unwrap_or(-1));
                                }
                                topics.entry(*t).or_default().push(part);
                            }
                            let mut req = OffsetCommitRequest::default()
                                .with_group_id(gid(g))
                                .with_generation_id_or_member_epoch(-1)
                                .with_member_id(StrBytes::from_static_str(""))
                                .with_topics(
                                    topics
                                        .into_iter()
                                        .map(|(t, ps)| {
                                            OffsetCommitRequestTopic::default()
                                                .with_name(name(t))
                                                .with_partitions(ps)
                                        })
                                        .collect(),
                                );
                            if v <= 4 {
                                req = req.with_retention_time_ms(-1);
                            }
                            Ok(req)
                        })
                        .await?;
                    let mut codes: BTreeMap<(String, i32), i16> = BTreeMap::new();
                    for t in &resp.topics {
                        for p in &t.partitions {
                            let code = ErrorCode(p.error_code);
                            if coordinator_busy(code) {
                                // The whole commit goes to the coordinator found again.
                                return Err(self
                                    .group_error(g, node, p.error_code, None)
                                    .unwrap_or_else(|| Error::broker(code, None)));
                            }
                            codes.insert((t.name.0.to_string(), p.partition_index), p.error_code);
                        }
                    }
                    Ok(codes)
                })
                .await;
            for (o, e) in args.offsets.iter().zip(errors.iter_mut()) {
                if e.is_some() {
                    continue;
                }
                *e = match &r {
                    Ok(codes) => match codes.get(&(o.topic.clone(), o.partition)) {
                        Some(&c) => to_error(c, None),
                        None => Some(Error::new(Kind::Protocol, "OffsetCommit left the partition out")),
                    },
                    Err(err) => Some(err.clone()),
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

    /// Deletes a group's committed offsets of some partitions (OffsetDelete). The
    /// coordinator refuses partitions of topics the group's live members subscribe to:
    /// GROUP_SUBSCRIBED_TO_TOPIC on those.
    pub async fn delete_consumer_group_offsets(
        &self,
        args: &DeleteConsumerGroupOffsetsArgs,
    ) -> Result<Vec<PartitionResult>> {
        let g = &args.group_id;
        let mut errors: Vec<Option<Error>> = args
            .partitions
            .iter()
            .map(|p| {
                check_group_id(g)
                    .or_else(|| check_partition(&p.topic, p.partition))
                    .map(|e| in_partition(e, g, &p.topic, p.partition))
            })
            .collect();
        let send: BTreeMap<&str, Vec<i32>> = by_topic(
            args.partitions
                .iter()
                .zip(&errors)
                .filter(|(_, e)| e.is_none())
                .map(|(p, _)| (p.topic.as_str(), p.partition)),
        );
        if !send.is_empty() {
            let send = &send;
            let r = self
                .retry("OffsetDelete", |d| async move {
                    let (node, resp): (i32, OffsetDeleteResponse) = self
                        .send(&Target::Group(g.clone()), ApiKey::OffsetDelete, d, |_| {
                            Ok(OffsetDeleteRequest::default().with_group_id(gid(g)).with_topics(
                                send.iter()
                                    .map(|(t, ps)| {
                                        OffsetDeleteRequestTopic::default().with_name(name(t)).with_partitions(
                                            ps.iter()
                                                .map(|&p| {
                                                    OffsetDeleteRequestPartition::default().with_partition_index(p)
                                                })
                                                .collect(),
                                        )
                                    })
                                    .collect(),
                            ))
                        })
                        .await?;
                    if let Some(e) = self.group_error(g, node, resp.error_code, None) {
                        return Err(e);
                    }
                    let mut codes: BTreeMap<(String, i32), i16> = BTreeMap::new();
                    for t in &resp.topics {
                        for p in &t.partitions {
                            codes.insert((t.name.0.to_string(), p.partition_index), p.error_code);
                        }
                    }
                    Ok(codes)
                })
                .await;
            for (p, e) in args.partitions.iter().zip(errors.iter_mut()) {
                if e.is_some() {
                    continue;
                }
                *e = match &r {
                    Ok(codes) => match codes.get(&(p.topic.clone(), p.partition)) {
                        Some(&c) => to_error(c, None),
                        None => Some(Error::new(Kind::Protocol, "OffsetDelete left the partition out")),
                    },
                    // A group-level error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP...) is every partition's.
                    Err(err) => Some(err.clone()),
                }
                .map(|e| in_partition(e, g, &p.topic, p.partition));
            }
        }
        Ok(args
            .partitions
            .iter()
            .zip(errors)
            .map(|(p, error)| PartitionResult {
                topic: p.topic.clone(),
                partition: p.partition,
                error,
            })
            .collect())
    }

    /// Removes members from a classic group (LeaveGroup v3+, KIP-345): the static members
    /// named, or, with none named, every member the group has now (found with
    /// DescribeGroups first, as Java does). A whole-group failure (GROUP_ID_NOT_FOUND, ...)
    /// fails the call; a member the group does not have is that member's
    /// UNKNOWN_MEMBER_ID.
    pub async fn remove_members_from_consumer_group(&self, args: &RemoveMembersArgs) -> Result<Vec<MemberResult>> {
        let g = &args.group_id;
        if let Some(e) = check_group_id(g) {
            return Err(e);
        }
        let members: Vec<(String, Option<String>)> = match &args.members {
            Some(ms) => {
                if ms.iter().any(|m| m.group_instance_id.is_empty()) {
                    return Err(Error::argument(
                        "members",
                        "a member's groupInstanceId must not be empty",
                    ));
                }
                ms.iter()
                    .map(|m| (String::new(), Some(m.group_instance_id.clone())))
                    .collect()
            }
            None => {
                let desc = self
                    .retry("DescribeGroups", |d| self.classic_describe(g, false, d))
                    .await
                    .map_err(|e| in_group(e, g))?;
                desc.members
                    .into_iter()
                    .map(|m| (m.member_id, m.group_instance_id))
                    .collect()
            }
        };
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let members = &members;
        let r = self
            .retry("LeaveGroup", |d| async move {
                let (node, resp): (i32, LeaveGroupResponse) = self
                    .send(&Target::Group(g.clone()), ApiKey::LeaveGroup, d, |v| {
                        if v < 3 {
                            return Err(Error::new(
                                Kind::UnsupportedVersion,
                                format!("the coordinator cannot remove other members (LeaveGroup v{v}; needs v3)"),
                            ));
                        }
                        if v < 4 && members.iter().any(|(_, instance)| instance.is_some()) {
                            return Err(Error::new(
                                Kind::UnsupportedVersion,
                                format!("the coordinator cannot remove static members (LeaveGroup v{v}; needs v4)"),
                            ));
                        }
                        Ok(LeaveGroupRequest::default().with_group_id(gid(g)).with_members(
                            members
                                .iter()
                                .map(|(id, instance)| {
                                    let m = MemberIdentity::default()
                                        .with_member_id(StrBytes::from_string(id.clone()))
                                        .with_group_instance_id(instance.clone().map(StrBytes::from_string));
                                    if v >= 5 {
                                        m.with_reason(Some(StrBytes::from_static_str("removed by the admin client")))
                                    } else {
                                        m
                                    }
                                })
                                .collect(),
                        ))
                    })
                    .await?;
                if let Some(e) = self.group_error(g, node, resp.error_code, None) {
                    return Err(e);
                }
                Ok(resp.members)
            })
            .await
            .map_err(|e| in_group(e, g))?;
        Ok(members
            .iter()
            .map(|(id, instance)| {
                let answer = r.iter().find(|m| match instance {
                    Some(i) => m.group_instance_id.as_deref() == Some(i.as_str()),
                    None => m.member_id.as_str() == id.as_str(),
                });
                let who = instance.as_deref().unwrap_or(id);
                let error = match answer {
                    Some(m) => to_error(m.error_code, None),
                    None => Some(Error::new(Kind::Protocol, "LeaveGroup left the member out")),
                }
                .map(|mut e| {
                    e.message = format!("group `{g}` member `{who}`: {}", e.message);
                    e
                });
                MemberResult {
                    member_id: answer.map(|m| m.member_id.to_string()).unwrap_or_else(|| id.clone()),
                    group_instance_id: instance.clone(),
                    error,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_cross_as_strings_and_are_read_from_either() {
        let o: OffsetToCommit =
            serde_json::from_str(r#"{"topic":"t","partition":0,"offset":"9007199254740993"}"#).unwrap();
        assert_eq!(o.offset, 9_007_199_254_740_993);
        let o: OffsetToCommit = serde_json::from_str(r#"{"topic":"t","partition":0,"offset":5}"#).unwrap();
        assert_eq!(o.offset, 5);
        let e = serde_json::from_str::<OffsetToCommit>(r#"{"topic":"t","partition":0,"offset":"x1"}"#).unwrap_err();
        assert!(e.to_string().contains("`x1` is not a 64-bit integer"), "{e}");
        let c = CommittedOffset {
            topic: "t".into(),
            partition: 1,
            offset: i64::MAX,
            leader_epoch: None,
            metadata: None,
            lag: None,
            error: None,
        };
        let j = serde_json::to_string(&c).unwrap();
        assert!(
            j.contains(r#""offset":"9223372036854775807""#) && j.contains(r#""lag":null"#),
            "{j}"
        );
    }
}
