//! Consumer-group membership: the classic group protocol (FindCoordinator, JoinGroup,
//! SyncGroup, Heartbeat, LeaveGroup; `member.rs`) or KIP-848's consumer protocol
//! (ConsumerGroupHeartbeat; `consumer_protocol.rs`), and the group's offsets
//! (OffsetCommit, OffsetFetch). Both tasks drive the same [`GroupEvent`]s and state.
//!
//! A [`GroupMember`] owns one background task that joins the group, runs the assignor
//! when it is the leader, heartbeats, and rejoins when the group or the subscription
//! changes. The consumer drives it through [`GroupMember::subscribe`] and hears about
//! partitions through [`GroupEvent`]s. What it implements:
//!
//! - KIP-62: heartbeats come from the background task, never from the application, so a
//!   slow record handler only costs membership after `rebalance_timeout`
//!   (`maxPollIntervalMs`), and heartbeats continue while the application handles a
//!   [`GroupEvent::Revoked`].
//! - KIP-394: a dynamic member's first JoinGroup gets `MEMBER_ID_REQUIRED` and a member id,
//!   and joins again with it.
//! - KIP-345: static membership. With `group_instance_id` set, a restart within the
//!   session timeout gets the same partitions back without a rebalance, and closing does
//!   not send LeaveGroup (as in Java).
//! - KIP-429: cooperative rebalancing when every configured assignor supports it (only
//!   `cooperative-sticky` does): members keep their partitions while rejoining and give
//!   up only those moving elsewhere, then rejoin so the next rebalance hands them over.
//! - KIP-814: a returning static leader is told to skip the assignment.
//! - KIP-447: `committed()` asks for stable offsets (pending transactional commits wait).
//!
//! Regex subscriptions: the consumer protocol sends the pattern to the broker (KIP-848's
//! SubscribedTopicRegex, RE2J, resolved by the group coordinator); for the classic
//! protocol the caller resolves a RegExp to names. Not here: rack-aware
//! cooperative-sticky.
//!
//! One `Cluster` per member: JoinGroup is parked by the broker until the whole group has
//! joined, and a broker handles one request per connection at a time, so two members on
//! one connection would wait for each other. Commits and offset fetches go over the
//! control connection for the same reason: a JoinGroup parked for minutes must not hold
//! up a commit.
//!
//! Model: the Java client's `ConsumerCoordinator`/`AbstractCoordinator` and franz-go's
//! `pkg/kgo/consumer_group.go`.

pub mod assignor;
pub(crate) mod consumer_protocol;
pub(crate) mod coordinator;
mod member;
mod offsets;
pub mod wire;

use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use nkafka_protocol::error::ErrorCode;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::cluster::Cluster;
use crate::error::{Error, Kind, Result};
use crate::types::{OffsetAndMetadata, TopicPartition};

use coordinator::Coordinator;

/// Group settings; defaults are the Java client 4.x's.
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// `group.id`.
    pub group_id: String,
    /// `group.instance.id`: makes this a static member (KIP-345).
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms`: the broker drops a member it has not heard from for this long
    /// (default 45 s since Kafka 3.0, KIP-735).
    pub session_timeout: Duration,
    /// `max.poll.interval.ms`: how long the group waits for members to rejoin in a
    /// rebalance, and how long a [`GroupEvent::Revoked`] may stay unacknowledged
    /// (default 300 s).
    pub rebalance_timeout: Duration,
    /// `heartbeat.interval.ms` (default 3 s); must be below `session_timeout`.
    pub heartbeat_interval: Duration,
    /// `partition.assignment.strategy` in preference order (default
    /// `[Range, CooperativeSticky]`, Java 3.0+). The rebalance protocol is cooperative
    /// only when every assignor listed supports it; the default list is eager, and is the
    /// first step of Java's documented upgrade path to cooperative-sticky.
    pub assignors: Vec<Assignor>,
    /// `client.rack`: sent in the subscription (KIP-881) for rack-aware assignment.
    pub client_rack: Option<String>,
    /// Which group protocol the member speaks.
    pub protocol: GroupProtocol,
    /// `group.remote.assignor` (consumer protocol): `uniform` or `range`; `None` lets the
    /// broker choose.
    pub remote_assignor: Option<String>,
}

/// The group protocol (`group.protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupProtocol {
    /// JoinGroup/SyncGroup with a client-side assignor (the only one before Kafka 4.0).
    Classic,
    /// KIP-848: ConsumerGroupHeartbeat, the broker assigns, rebalances are incremental.
    Consumer,
}

impl GroupConfig {
    /// Java 4.x defaults for `group_id`.
    pub fn new(group_id: impl Into<String>) -> Self {
        GroupConfig {
            group_id: group_id.into(),
            group_instance_id: None,
            session_timeout: Duration::from_millis(45_000),
            rebalance_timeout: Duration::from_millis(300_000),
            heartbeat_interval: Duration::from_millis(3_000),
            assignors: vec![Assignor::Range, Assignor::CooperativeSticky],
            client_rack: None,
            protocol: GroupProtocol::Classic,
            remote_assignor: None,
        }
    }

    /// Checks values; errors name the camelCase key.
    pub fn validate(&self) -> Result<()> {
        if self.group_id.is_empty() {
            return Err(Error::config("groupId", "must not be empty for group membership"));
        }
        if self.group_id.len() > i16::MAX as usize {
            return Err(Error::config("groupId", "is longer than 32767 bytes"));
        }
        if let Some(id) = &self.group_instance_id {
            if id.is_empty() || id.len() > 249 {
                return Err(Error::config("groupInstanceId", "must be 1 to 249 characters"));
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_' || *c == '-'))
            {
                return Err(Error::config(
                    "groupInstanceId",
                    format!("contains `{c}`; allowed are ASCII letters, digits, '.', '_' and '-'"),
                ));
            }
        }
        let ms = |d: Duration| d.as_millis();
        if self.session_timeout.is_zero() || ms(self.session_timeout) > i32::MAX as u128 {
            return Err(Error::config("sessionTimeoutMs", "must be between 1 and 2147483647"));
        }
        if self.rebalance_timeout.is_zero() || ms(self.rebalance_timeout) > i32::MAX as u128 {
            return Err(Error::config("maxPollIntervalMs", "must be between 1 and 2147483647"));
        }
        if self.heartbeat_interval.is_zero() {
            return Err(Error::config("heartbeatIntervalMs", "must be greater than 0"));
        }
        if self.heartbeat_interval >= self.session_timeout {
            return Err(Error::config(
                "heartbeatIntervalMs",
                "must be lower than sessionTimeoutMs",
            ));
        }
        if self.assignors.is_empty() {
            return Err(Error::config(
                "partitionAssignmentStrategy",
                "must name at least one assignor",
            ));
        }
        let distinct: BTreeSet<&str> = self.assignors.iter().map(|a| a.name()).collect();
        if distinct.len() != self.assignors.len() {
            return Err(Error::config("partitionAssignmentStrategy", "names an assignor twice"));
        }
        if let Some(a) = &self.remote_assignor {
            if a.is_empty() || a.len() > i16::MAX as usize {
                return Err(Error::config("groupRemoteAssignor", "must be 1 to 32767 characters"));
            }
        }
        if let Some(rack) = &self.client_rack {
            if rack.len() > i16::MAX as usize {
                return Err(Error::config("clientRack", "is longer than 32767 bytes"));
            }
        }
        Ok(())
    }

    /// Cooperative (KIP-429) when every configured assignor supports it, as Java picks
    /// the rebalance protocol.
    pub fn cooperative(&self) -> bool {
        self.protocol == GroupProtocol::Consumer || self.assignors.iter().all(|a| a.supports_cooperative())
    }
}

/// A partition assignor, named on the wire by its Java protocol name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Assignor {
    /// `range`: per topic, consecutive partition ranges in member order (rack-aware when
    /// racks are known, KIP-881). Eager only.
    Range,
    /// `roundrobin`: all partitions dealt to members in turn. Eager only.
    RoundRobin,
    /// `cooperative-sticky`: balanced and sticky, cooperative (KIP-429).
    CooperativeSticky,
}

impl Assignor {
    /// Protocol name in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The assignor with this protocol name.
    pub fn from_name(name: &str) -> Option<Assignor> {
        match name {
            "range" => Some(Assignor::Range),
            "roundrobin" => Some(Assignor::RoundRobin),
            "cooperative-sticky" => Some(Assignor::CooperativeSticky),
            _ => None,
        }
    }

    /// Whether it supports the cooperative rebalance protocol (KIP-429).
    pub fn supports_cooperative(self) -> bool {
        matches!(self, Assignor::CooperativeSticky)
    }
}

/// What the group tells the consumer.
#[derive(Debug)]
pub enum GroupEvent {
    /// Partitions newly owned. Eager protocols: the full assignment after each rebalance.
    /// Cooperative: only the added partitions (possibly none: it still marks the end of a
    /// rebalance and the new generation).
    Assigned {
        /// The generation this assignment belongs to.
        generation: i32,
        /// Sorted partitions.
        partitions: Vec<TopicPartition>,
    },
    /// Partitions to give up; the group waits (up to `rebalance_timeout`, or the close
    /// timeout) until `done` is sent or dropped, so the app can commit offsets first;
    /// heartbeats continue meanwhile. Eager: everything owned, before rejoining.
    /// Cooperative: only the partitions moving away.
    Revoked {
        /// Sorted partitions.
        partitions: Vec<TopicPartition>,
        /// Send (or drop) when done with them.
        done: oneshot::Sender<()>,
    },
    /// Partitions lost without a chance to commit (session expired, fenced,
    /// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION): another member may own them already.
    Lost {
        /// Sorted partitions.
        partitions: Vec<TopicPartition>,
    },
    /// A fatal error for the group (e.g. GROUP_AUTHORIZATION_FAILED, FENCED_INSTANCE_ID,
    /// INVALID_GROUP_ID, INCONSISTENT_GROUP_PROTOCOL). The member has stopped: any owned
    /// partitions were reported `Lost` first; `commit` returns this error from now on.
    Fatal(Error),
    /// The member cannot reach the group for a reason retrying will not fix by itself:
    /// wrong credentials, an untrusted certificate, a failing token provider
    /// (`Error::is_auth`). Reported once per streak of such failures; the member keeps
    /// retrying with backoff, so it recovers when the cause is fixed.
    Error(Error),
}

/// Identity of the member in its current generation, for commits and for
/// `sendOffsetsToTransaction` (KIP-447's fencing by generation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMetadata {
    /// `group.id`.
    pub group_id: String,
    /// Member id, empty when not a member.
    pub member_id: String,
    /// Generation, -1 when not a member.
    pub generation_id: i32,
    /// `group.instance.id` for static members.
    pub group_instance_id: Option<String>,
}

/// `now + d`, saturating far in the future instead of panicking on overflow (timeouts
/// come from configuration and callers).
pub(crate) fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(10 * 365 * 24 * 3600))
}

/// Where the member is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not in a group: nothing subscribed yet, or membership was lost.
    Idle,
    /// Between JoinGroup and SyncGroup's answer.
    Joining,
    /// Member of a generation with an assignment.
    Stable,
    /// Closed or failed.
    Closed,
}

pub(crate) struct State {
    pub member_id: String,
    pub generation: i32,
    pub phase: Phase,
    pub owned: BTreeSet<TopicPartition>,
    pub fatal: Option<Error>,
    /// The last error that made a join attempt back off, for diagnostics.
    pub last_error: Option<Error>,
}

/// What the member asks the group for: topic names, or (consumer protocol only) a
/// pattern the broker resolves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscribed {
    /// Sorted, without duplicates or empty names.
    pub topics: Vec<String>,
    /// An RE2J pattern (`SubscribedTopicRegex`), matched by the broker against every
    /// topic's whole name.
    pub pattern: Option<String>,
}

impl Subscribed {
    pub fn topics(topics: Vec<String>) -> Self {
        let mut topics = topics;
        topics.retain(|t| !t.is_empty());
        topics.sort();
        topics.dedup();
        Subscribed { topics, pattern: None }
    }

    pub fn pattern(pattern: String) -> Self {
        Subscribed {
            topics: Vec::new(),
            pattern: Some(pattern),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty() && self.pattern.is_none()
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct CloseRequest {
    pub deadline: Instant,
    /// Dropped without close(): no events, just leave.
    pub quiet: bool,
}

/// What the handle and the task share.
pub(crate) struct Shared {
    pub cluster: Arc<Cluster>,
    pub cfg: GroupConfig,
    pub coordinator: Coordinator,
    pub state: Mutex<State>,
    pub subscription: watch::Sender<Subscribed>,
    pub close: watch::Sender<Option<CloseRequest>>,
    /// A commit saw the generation go stale: heartbeat now to find out.
    pub wake: Notify,
    pub jitter: AtomicU64,
}

impl Shared {
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cfg = self.cluster.config();
        let seed = self.jitter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::config::ClientConfig::backoff(cfg.retry_backoff, cfg.retry_backoff_max, attempt, seed)
    }

    /// Generation and member id to commit with, or why a commit cannot be made now.
    pub fn commit_identity(&self) -> Result<(i32, String)> {
        let st = self.state.lock();
        if let Some(e) = &st.fatal {
            return Err(e.clone());
        }
        let subscribed = !self.subscription.borrow().is_empty();
        match st.phase {
            Phase::Closed => Err(Error::closed("the group member")),
            Phase::Stable => Ok((st.generation, st.member_id.clone())),
            Phase::Joining => Err(Error::broker(
                ErrorCode::REBALANCE_IN_PROGRESS,
                Some("the commit failed: the group is rebalancing; commit again after the new assignment"),
            )),
            Phase::Idle if subscribed => Err(Error::broker(
                ErrorCode::UNKNOWN_MEMBER_ID,
                Some("the commit failed: this consumer is not (or no longer) a member of the group"),
            )),
            // No group management: a plain commit, as Java's assign() + group.id does.
            Phase::Idle => Ok((-1, String::new())),
        }
    }
}

struct Handle {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
    done: watch::Receiver<bool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Dropped without close(): stop the task; a dynamic member still leaves.
        let deadline = after(self.shared.cluster.config().request_timeout);
        self.shared.close.send_if_modified(|c| {
            if c.is_none() {
                *c = Some(CloseRequest { deadline, quiet: true });
                true
            } else {
                false
            }
        });
    }
}

/// Membership of one consumer in one group. Clones share the member; dropping the last
/// clone without [`GroupMember::close`] stops the task (a dynamic member still leaves).
#[derive(Clone)]
pub struct GroupMember {
    inner: Arc<Handle>,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupMember")
            .field("metadata", &self.metadata())
            .finish()
    }
}

impl Shared {
    /// The group task panicked: its membership state may be half-updated, so the member
    /// is closed with the error rather than restarted. The owned partitions are reported
    /// lost (another member gets them after the session timeout), then `Fatal(err)`.
    fn fail_after_panic(&self, err: Error, events: &mpsc::UnboundedSender<GroupEvent>) {
        let partitions: Vec<TopicPartition> = {
            let mut st = self.state.lock();
            st.fatal = Some(err.clone());
            st.phase = Phase::Closed;
            std::mem::take(&mut st.owned).into_iter().collect()
        };
        if !partitions.is_empty() {
            let _ = events.send(GroupEvent::Lost { partitions });
        }
        let _ = events.send(GroupEvent::Fatal(err));
    }
}

impl GroupMember {
    /// Validates `cfg` and starts the background task (inside the current tokio runtime).
    /// Nothing is sent until [`GroupMember::subscribe`] names topics. Events go to
    /// `events`; use one `Cluster` per member (see the module docs).
    pub fn start(
        cluster: Arc<Cluster>,
        cfg: GroupConfig,
        events: mpsc::UnboundedSender<GroupEvent>,
    ) -> Result<GroupMember> {
        cfg.validate()?;
        let rt = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                Kind::Internal,
                "GroupMember::start must be called inside a tokio runtime",
            )
        })?;
        let shared = Arc::new(Shared {
            coordinator: Coordinator::new(cluster.clone(), cfg.group_id.clone()),
            cluster,
            cfg,
            state: Mutex::new(State {
                member_id: String::new(),
                generation: -1,
                phase: Phase::Idle,
                owned: BTreeSet::new(),
                fatal: None,
                last_error: None,
            }),
            subscription: watch::channel(Subscribed::default()).0,
            close: watch::channel(None).0,
            wake: Notify::new(),
            jitter: AtomicU64::new(1),
        });
        let (done_tx, done) = watch::channel(false);
        let handle = {
            let _rt = rt.enter();
            let sh = shared.clone();
            let ev = events.clone();
            let on_panic = move |e| sh.fail_after_panic(e, &ev);
            match shared.cfg.protocol {
                GroupProtocol::Classic => {
                    let task = member::Task::new(shared.clone(), events, done_tx);
                    crate::task::spawn("group", task.run(), on_panic)
                }
                GroupProtocol::Consumer => {
                    let id = consumer_protocol::new_member_id()?;
                    let task = consumer_protocol::Task::new(shared.clone(), events, done_tx, id);
                    crate::task::spawn("group", task.run(), on_panic)
                }
            }
        };
        Ok(GroupMember {
            inner: Arc::new(Handle {
                shared,
                task: Mutex::new(Some(handle)),
                done,
            }),
        })
    }

    /// Subscribes to these topic names. A change triggers a join or rejoin; an empty list
    /// leaves the group (after revoking owned partitions).
    pub fn subscribe(&self, topics: Vec<String>) {
        self.set_subscription(Subscribed::topics(topics));
    }

    /// Subscribes to the topics the broker matches with this RE2J pattern (consumer
    /// protocol only; the classic task would see no topics and leave).
    pub fn subscribe_pattern(&self, pattern: String) {
        self.set_subscription(Subscribed::pattern(pattern));
    }

    /// Sets what the member subscribes to (see [`Subscribed`]).
    pub fn set_subscription(&self, subscribed: Subscribed) {
        self.inner.shared.subscription.send_if_modified(|cur| {
            if *cur != subscribed {
                *cur = subscribed;
                true
            } else {
                false
            }
        });
    }

    /// Commits offsets with the current generation, member id and instance id
    /// (OffsetCommit, version negotiated). Retriable errors are retried (finding the
    /// coordinator again when it moved) within `requestTimeoutMs`. A rebalance makes it
    /// fail with REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID; an error
    /// for one partition fails it with that partition named.
    pub async fn commit(&self, offsets: Vec<OffsetAndMetadata>) -> Result<()> {
        offsets::commit(&self.inner.shared, offsets).await
    }

    /// The group's committed offsets for `partitions` (OffsetFetch with
    /// `require_stable`, KIP-447, where the broker supports it); `None` where nothing is
    /// committed. Results are in the order asked.
    pub async fn committed(
        &self,
        partitions: Vec<TopicPartition>,
    ) -> Result<Vec<(TopicPartition, Option<OffsetAndMetadata>)>> {
        offsets::committed(&self.inner.shared, partitions).await
    }

    /// Current member id, generation and instance id.
    pub fn metadata(&self) -> GroupMetadata {
        let sh = &self.inner.shared;
        let st = sh.state.lock();
        GroupMetadata {
            group_id: sh.cfg.group_id.clone(),
            member_id: st.member_id.clone(),
            generation_id: st.generation,
            group_instance_id: sh.cfg.group_instance_id.clone(),
        }
    }

    /// Partitions owned now (sorted); during a revocation they are still included until
    /// it is acknowledged.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.inner.shared.state.lock().owned.iter().cloned().collect()
    }

    /// The last error that delayed joining the group (coordinator unreachable, a
    /// retriable JoinGroup error...), for diagnostics: the member keeps retrying these
    /// without an event. Cleared when a generation is joined.
    pub fn last_error(&self) -> Option<Error> {
        self.inner.shared.state.lock().last_error.clone()
    }

    /// The group's rebalance protocol: true for cooperative (KIP-429), false for eager.
    pub fn is_cooperative(&self) -> bool {
        self.inner.shared.cfg.cooperative()
    }

    /// Leaves the group and stops the task. Owned partitions are first offered as
    /// [`GroupEvent::Revoked`] (or `Lost` when membership is already gone), and the
    /// acknowledgement is awaited within `timeout`. Dynamic members then send LeaveGroup
    /// so the group rebalances at once; static members do not (KIP-345: a restart within
    /// the session timeout keeps the assignment), as in Java. Errors only when the task
    /// did not finish within `timeout`.
    pub async fn close(&self, timeout: Duration) -> Result<()> {
        let deadline = after(timeout);
        self.inner.shared.close.send_if_modified(|c| {
            if c.is_none() {
                *c = Some(CloseRequest { deadline, quiet: false });
                true
            } else {
                false
            }
        });
        let mut done = self.inner.done.clone();
        let finished = tokio::time::timeout_at(
            deadline.checked_add(Duration::from_millis(50)).unwrap_or(deadline),
            done.wait_for(|d| *d),
        )
        .await;
        if finished.is_ok() {
            return Ok(());
        }
        if let Some(task) = self.inner.task.lock().take() {
            task.abort();
        }
        {
            let mut st = self.inner.shared.state.lock();
            st.phase = Phase::Closed;
            st.owned.clear();
        }
        Err(Error::new(
            Kind::Timeout,
            format!(
                "closing the group member of `{}` took longer than {} ms",
                self.inner.shared.cfg.group_id,
                timeout.as_millis()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_validation() {
        let c = GroupConfig::new("g");
        c.validate().unwrap();
        assert!(!c.cooperative(), "the Java default list is eager");
        assert_eq!(c.session_timeout, Duration::from_secs(45));
        let mut coop = c.clone();
        coop.assignors = vec![Assignor::CooperativeSticky];
        assert!(coop.cooperative());

        let bad = |f: &dyn Fn(&mut GroupConfig), key: &str| {
            let mut c = GroupConfig::new("g");
            f(&mut c);
            let e = c.validate().unwrap_err();
            assert_eq!(e.code(), "INVALID_CONFIG");
            assert!(e.message.contains(key), "{}: {}", key, e.message);
        };
        bad(&|c| c.group_id.clear(), "groupId");
        bad(&|c| c.group_instance_id = Some(String::new()), "groupInstanceId");
        bad(&|c| c.group_instance_id = Some("a b".into()), "groupInstanceId");
        bad(&|c| c.heartbeat_interval = c.session_timeout, "heartbeatIntervalMs");
        bad(&|c| c.session_timeout = Duration::ZERO, "sessionTimeoutMs");
        bad(
            &|c| c.rebalance_timeout = Duration::from_secs(u64::MAX / 2000),
            "maxPollIntervalMs",
        );
        bad(&|c| c.assignors.clear(), "partitionAssignmentStrategy");
        bad(
            &|c| c.assignors = vec![Assignor::Range, Assignor::Range],
            "partitionAssignmentStrategy",
        );
    }

    #[test]
    fn start_needs_a_runtime_and_a_valid_config() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<GroupMember>();
        fn send<T: Send>() {}
        send::<GroupEvent>();

        let servers = crate::config::parse_bootstrap(&["localhost:9".to_string()]).unwrap();
        let cluster = Cluster::new(crate::config::ClientConfig::new(servers), 16);
        let (tx, _rx) = mpsc::unbounded_channel();
        let e = GroupMember::start(cluster.clone(), GroupConfig::new("g"), tx.clone()).unwrap_err();
        assert_eq!(e.code(), "INTERNAL");
        let e = GroupMember::start(cluster, GroupConfig::new(""), tx).unwrap_err();
        assert_eq!(e.code(), "INVALID_CONFIG");
    }

    #[tokio::test]
    async fn an_idle_member_closes_at_once_and_normalizes_subscriptions() {
        let servers = crate::config::parse_bootstrap(&["localhost:9".to_string()]).unwrap();
        let cluster = Cluster::new(crate::config::ClientConfig::new(servers), 16);
        let (tx, _rx) = mpsc::unbounded_channel();
        let m = GroupMember::start(cluster, GroupConfig::new("g"), tx).unwrap();
        assert_eq!(m.metadata().generation_id, -1);
        assert!(m.assignment().is_empty());
        // Without group management a commit would be a plain one; nothing is subscribed.
        m.subscribe(vec!["b".into(), "a".into(), "b".into(), String::new()]);
        assert_eq!(
            m.inner.shared.subscription.borrow().topics,
            vec!["a".to_string(), "b".to_string()]
        );
        m.subscribe(vec![]);
        m.close(Duration::from_secs(5)).await.unwrap();
        let e = m
            .commit(vec![OffsetAndMetadata {
                tp: TopicPartition::new("a", 0),
                offset: 1,
                leader_epoch: -1,
                metadata: None,
            }])
            .await
            .unwrap_err();
        assert_eq!(e.code(), "CLIENT_CLOSED");
    }

    #[test]
    fn assignor_names() {
        for a in [Assignor::Range, Assignor::RoundRobin, Assignor::CooperativeSticky] {
            assert_eq!(Assignor::from_name(a.name()), Some(a));
        }
        assert_eq!(Assignor::from_name("sticky"), None);
    }
}
