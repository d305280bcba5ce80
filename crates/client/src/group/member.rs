//! The membership task: one per member, it owns every JoinGroup, SyncGroup, Heartbeat and
//! LeaveGroup of the member (so nothing else ever queues behind a parked JoinGroup on the
//! group connection), and it is the only writer of member id, generation and assignment.
//!
//! Life of a member:
//! ```text
//!  idle --subscribe--> prepare (revoke: eager all / cooperative unsubscribed topics)
//!    --> JoinGroup (MEMBER_ID_REQUIRED: again with the id) --> leader: assign
//!    --> SyncGroup --> apply (cooperative: revoke what moved, then rejoin at once)
//!    --> stable: heartbeat every heartbeat_interval; rejoin on REBALANCE_IN_PROGRESS, a
//!        subscription change, or (leader) a partition-count change; on lost membership
//!        emit Lost and rejoin as a new member
//!  close: Revoked (or Lost), LeaveGroup for dynamic members, done
//! ```
//! While the application holds a `Revoked`, heartbeats continue (KIP-62), so it keeps
//! membership for up to `rebalance_timeout`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::assignor::{self, MemberSubscription, PartitionInfo, TopicsView};
use super::wire::{self, Subscription};
use super::{after, Assignor, CloseRequest, GroupEvent, Phase, Shared};
use crate::cluster::{Metadata, Purpose};
use crate::conn::Connection;
use crate::error::{Error, Kind, Result};
use crate::types::TopicPartition;

const PROTOCOL_TYPE: &str = "consumer";
/// Java's JOIN_GROUP_TIMEOUT_LAPSE: JoinGroup may be parked for the rebalance timeout.
const JOIN_LAPSE: Duration = Duration::from_millis(5_000);
/// Immediate rejoins in a row before backing off (a group that keeps rebalancing).
const QUICK_REJOINS: u32 = 8;

/// What to do next.
enum Flow {
    /// Member of a generation with an assignment.
    Stable,
    /// Join again now.
    Rejoin,
    /// Join again after a backoff.
    Backoff(Error),
    /// Close was requested.
    Close,
    /// Stop: the error goes to the application.
    Fatal(Error),
}

/// Something learned while waiting (from heartbeats) that changes the plan.
#[derive(Debug)]
enum Signal {
    Rejoin(String),
    Lost(Error),
    Fatal(Error),
}

impl Signal {
    fn rank(&self) -> u8 {
        match self {
            Signal::Rejoin(_) => 0,
            Signal::Lost(_) => 1,
            Signal::Fatal(_) => 2,
        }
    }
}

/// One heartbeat's outcome.
enum Hb {
    Ok,
    Rebalancing,
    /// Membership is gone; `reset_member_id` for UNKNOWN_MEMBER_ID (ILLEGAL_GENERATION
    /// keeps the member id, as Java does).
    Lost {
        error: Error,
        reset_member_id: bool,
    },
    /// FENCED_INSTANCE_ID: lost and fatal.
    Fenced(Error),
    Fatal(Error),
    /// Could not get an answer; retried after a backoff until the session times out.
    Failed(Error),
}

/// JoinGroup's answer, when it succeeded.
struct Joined {
    generation: i32,
    member_id: String,
    protocol: Assignor,
    leader: bool,
    skip_assignment: bool,
    members: Vec<JoinGroupResponseMember>,
}

fn ms(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

fn group_id(sh: &Shared) -> GroupId {
    GroupId(StrBytes::from_string(sh.cfg.group_id.clone()))
}

fn instance_id(sh: &Shared) -> Option<StrBytes> {
    sh.cfg.group_instance_id.clone().map(StrBytes::from_string)
}

/// Resolves when a close is requested (never, if the sender is gone).
async fn close_requested(rx: &mut watch::Receiver<Option<CloseRequest>>) -> CloseRequest {
    loop {
        if let Some(c) = *rx.borrow_and_update() {
            return c;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Partition counts of `topics` (0 for a missing or failed topic), what the leader
/// watches to know when to rebalance.
fn partition_counts(meta: &Metadata, topics: &[String]) -> BTreeMap<String, usize> {
    topics
        .iter()
        .map(|t| {
            let n = meta
                .topics
                .get(t)
                .filter(|tm| tm.error.is_ok())
                .map_or(0, |tm| tm.partitions.len());
            (t.clone(), n)
        })
        .collect()
}

/// What the assignors see of `topics`: partitions with their replicas' racks.
fn topics_view(meta: &Metadata, topics: &[String]) -> TopicsView {
    let mut view = TopicsView::new();
    for t in topics {
        let Some(tm) = meta.topics.get(t) else { continue };
        if !tm.error.is_ok() || tm.partitions.is_empty() {
            continue;
        }
        let parts = tm
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                id: p.id,
                racks: p
                    .replicas
                    .iter()
                    .filter_map(|b| meta.brokers.get(b).and_then(|b| b.rack.clone()))
                    .collect(),
            })
            .collect();
        view.insert(t.clone(), parts);
    }
    view
}

pub(super) struct Task {
    sh: Arc<Shared>,
    events: mpsc::UnboundedSender<GroupEvent>,
    sub_rx: watch::Receiver<super::Subscribed>,
    close_rx: watch::Receiver<Option<CloseRequest>>,
    done: watch::Sender<bool>,
    /// Subscription sent in the last JoinGroup.
    joined: Vec<String>,
    /// Why we are joining (JoinGroup v8+ `reason`, KIP-800).
    reason: String,
    signal: Option<Signal>,
    /// Leader only: partition counts of every topic the group subscribes to, as of the
    /// last assignment.
    leader_snapshot: Option<BTreeMap<String, usize>>,
    next_metadata_check: Instant,
    next_hb: Instant,
    last_hb_ok: Instant,
    hb_failures: u32,
    join_failures: u32,
    quick_rejoins: u32,
}

impl Task {
    pub fn new(sh: Arc<Shared>, events: mpsc::UnboundedSender<GroupEvent>, done: watch::Sender<bool>) -> Self {
        let now = Instant::now();
        Task {
            sub_rx: sh.subscription.subscribe(),
            close_rx: sh.close.subscribe(),
            sh,
            events,
            done,
            joined: Vec::new(),
            reason: "joining the group".into(),
            signal: None,
            leader_snapshot: None,
            next_metadata_check: now,
            next_hb: now,
            last_hb_ok: now,
            hb_failures: 0,
            join_failures: 0,
            quick_rejoins: 0,
        }
    }

    pub async fn run(mut self) {
        self.main().await;
        {
            let mut st = self.sh.state.lock();
            st.phase = Phase::Closed;
        }
        let _ = self.done.send(true);
    }

    async fn main(&mut self) {
        loop {
            let close = *self.close_rx.borrow();
            if let Some(req) = close {
                self.leave("the consumer is closing", Some(req)).await;
                return;
            }
            let topics = self.sub_rx.borrow_and_update().topics.clone();
            if topics.is_empty() {
                self.leave("the consumer unsubscribed", None).await;
                tokio::select! {
                    _ = self.sub_rx.changed() => {}
                    _ = self.close_rx.changed() => {}
                }
                continue;
            }
            let mut flow = self.rebalance(&topics).await;
            if let Flow::Stable = flow {
                flow = self.stable().await;
            }
            match flow {
                Flow::Stable => {}
                Flow::Rejoin => {
                    self.quick_rejoins += 1;
                    if self.quick_rejoins > QUICK_REJOINS {
                        self.backoff().await;
                    }
                }
                Flow::Backoff(e) => {
                    let repeated = {
                        let st = self.sh.state.lock();
                        st.last_error.as_ref().is_some_and(|last| last.code() == e.code())
                    };
                    if e.is_auth() && !repeated {
                        self.emit(GroupEvent::Error(e.clone()));
                    }
                    self.sh.state.lock().last_error = Some(e);
                    self.backoff().await;
                }
                Flow::Close => {}
                Flow::Fatal(e) => {
                    self.fail(e);
                    return;
                }
            }
        }
    }

    // ---- small helpers ----

    fn emit(&self, ev: GroupEvent) {
        let _ = self.events.send(ev);
    }

    /// Reports every owned partition lost and forgets them.
    fn emit_lost(&mut self) {
        let owned = std::mem::take(&mut self.sh.state.lock().owned);
        if !owned.is_empty() {
            self.emit(GroupEvent::Lost {
                partitions: owned.into_iter().collect(),
            });
        }
    }

    fn raise(&mut self, s: Signal) {
        if self.signal.as_ref().is_none_or(|cur| s.rank() >= cur.rank()) {
            self.signal = Some(s);
        }
    }

    /// Membership is gone: reset what the broker no longer knows.
    fn reset_membership(&mut self, reset_member_id: bool) {
        let mut st = self.sh.state.lock();
        st.generation = -1;
        if reset_member_id {
            st.member_id.clear();
        }
        st.phase = Phase::Idle;
        drop(st);
        self.leader_snapshot = None;
    }

    fn is_member(&self) -> bool {
        let st = self.sh.state.lock();
        st.phase == Phase::Stable && st.generation >= 0 && !st.member_id.is_empty()
    }

    async fn backoff(&mut self) {
        let wait = self.sh.backoff(self.join_failures);
        self.join_failures = self.join_failures.saturating_add(1);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = close_requested(&mut self.close_rx) => {}
        }
    }

    fn fail(&mut self, e: Error) {
        tracing::error!(client = self.sh.cluster.config().log_id, group = %self.sh.cfg.group_id, cause = %e, "group membership failed");
        self.emit_lost();
        {
            let mut st = self.sh.state.lock();
            st.fatal = Some(e.clone());
            st.phase = Phase::Closed;
        }
        self.emit(GroupEvent::Fatal(e));
    }

    // ---- heartbeats ----

    fn on_heartbeat(&mut self, hb: Hb) {
        crate::task::fail_point("group");
        let now = Instant::now();
        let interval = self.sh.cfg.heartbeat_interval;
        match hb {
            Hb::Ok => {
                self.last_hb_ok = now;
                self.hb_failures = 0;
                self.quick_rejoins = 0;
                self.join_failures = 0;
                self.next_hb = now + interval;
            }
            Hb::Rebalancing => {
                // The broker heard us: the session is alive.
                self.last_hb_ok = now;
                self.hb_failures = 0;
                self.next_hb = now + interval;
                self.raise(Signal::Rejoin("the group is rebalancing".into()));
            }
            Hb::Lost { error, reset_member_id } => {
                self.reset_membership(reset_member_id);
                self.next_hb = now + interval;
                self.raise(Signal::Lost(error));
            }
            Hb::Fenced(e) => {
                self.reset_membership(true);
                self.raise(Signal::Fatal(e));
            }
            Hb::Fatal(e) => self.raise(Signal::Fatal(e)),
            Hb::Failed(e) => {
                self.hb_failures = self.hb_failures.saturating_add(1);
                let wait = self.sh.backoff(self.hb_failures - 1).min(interval);
                self.next_hb = now + wait;
                if now.saturating_duration_since(self.last_hb_ok) >= self.sh.cfg.session_timeout {
                    // The coordinator has certainly dropped us by now; stop claiming the
                    // partitions before someone else is given them.
                    self.reset_membership(true);
                    self.raise(Signal::Lost(Error::new(
                        Kind::Timeout,
                        format!(
                            "no heartbeat was answered for sessionTimeoutMs ({} ms): the group has dropped this member ({})",
                            self.sh.cfg.session_timeout.as_millis(),
                            e.message
                        ),
                    )));
                }
            }
        }
    }

    /// Waits for a `Revoked` acknowledgement, heartbeating meanwhile, until
    /// `rebalance_timeout` (or the close deadline) passes.
    async fn wait_ack(&mut self, mut rx: oneshot::Receiver<()>) {
        let mut deadline = after(self.sh.cfg.rebalance_timeout);
        let close = *self.close_rx.borrow();
        if let Some(c) = close {
            deadline = deadline.min(c.deadline);
        }
        loop {
            let heartbeating = self.is_member();
            tokio::select! {
                _ = &mut rx => return,
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tokio::time::sleep_until(self.next_hb), if heartbeating => {
                    let hb = heartbeat(&self.sh).await;
                    self.on_heartbeat(hb);
                }
                r = self.close_rx.changed() => {
                    if r.is_err() {
                        return;
                    }
                    let close = *self.close_rx.borrow();
                    if let Some(c) = close {
                        deadline = deadline.min(c.deadline);
                    }
                }
            }
        }
    }

    /// Offers `parts` as Revoked and waits for the acknowledgement; then they are no
    /// longer owned. If membership was lost meanwhile, what is left is reported Lost.
    async fn revoke(&mut self, parts: BTreeSet<TopicPartition>) {
        if parts.is_empty() {
            return;
        }
        let (done, rx) = oneshot::channel();
        self.emit(GroupEvent::Revoked {
            partitions: parts.iter().cloned().collect(),
            done,
        });
        self.wait_ack(rx).await;
        self.sh.state.lock().owned.retain(|tp| !parts.contains(tp));
        if matches!(self.signal, Some(Signal::Lost(_) | Signal::Fatal(_))) {
            self.emit_lost();
        }
    }

    // ---- rebalance ----

    async fn rebalance(&mut self, topics: &[String]) -> Flow {
        // Prepare (Java's onJoinPrepare). Still a member unless membership was reset: a
        // cooperative member whose SyncGroup met a new rebalance keeps its partitions.
        let (valid, owned) = {
            let st = self.sh.state.lock();
            (
                st.generation >= 0 && !st.member_id.is_empty() && st.phase != Phase::Idle,
                st.owned.clone(),
            )
        };
        if !owned.is_empty() {
            if !valid {
                self.emit_lost();
            } else if self.sh.cfg.cooperative() {
                let gone: BTreeSet<TopicPartition> = owned
                    .into_iter()
                    .filter(|tp| !topics.iter().any(|t| **t == *tp.topic))
                    .collect();
                self.revoke(gone).await;
            } else {
                self.revoke(owned).await;
            }
        }
        if let Some(f) = self.take_flow_signal() {
            return f;
        }
        if self.close_rx.borrow().is_some() {
            return Flow::Close;
        }
        tracing::info!(client = self.sh.cluster.config().log_id, group = %self.sh.cfg.group_id, reason = %self.reason, "rebalancing: joining the group");
        // The signal (if any) was a rejoin request, which this join satisfies.
        self.signal = None;
        self.sh.state.lock().phase = Phase::Joining;
        self.joined = topics.to_vec();

        let joined = match self.join(topics).await {
            Ok(j) => j,
            Err(f) => return f,
        };
        let assignments = if joined.leader {
            match self.lead(&joined).await {
                Ok(a) => a,
                Err(f) => return f,
            }
        } else {
            self.leader_snapshot = None;
            Vec::new()
        };
        let assigned = match self.sync(&joined, assignments).await {
            Ok(a) => a,
            Err(f) => return f,
        };
        self.apply(joined.generation, assigned).await
    }

    /// Turns a pending Lost/Fatal signal into a flow (Lost partitions reported).
    fn take_flow_signal(&mut self) -> Option<Flow> {
        match self.signal.take() {
            Some(Signal::Fatal(e)) => Some(Flow::Fatal(e)),
            Some(Signal::Lost(_)) => {
                self.emit_lost();
                self.reason = "membership was lost".into();
                Some(Flow::Rejoin)
            }
            Some(s @ Signal::Rejoin(_)) => {
                self.signal = Some(s);
                None
            }
            None => None,
        }
    }

    fn protocols(&self, topics: &[String]) -> Result<Vec<JoinGroupRequestProtocol>> {
        let (generation, owned) = {
            let st = self.sh.state.lock();
            (st.generation, st.owned.iter().cloned().collect::<Vec<_>>())
        };
        self.sh
            .cfg
            .assignors
            .iter()
            .map(|a| {
                let sub = Subscription {
                    topics: topics.to_vec(),
                    // Java's cooperative-sticky also puts the generation in its user data
                    // for members older than subscription v2.
                    user_data: (*a == Assignor::CooperativeSticky)
                        .then(|| bytes::Bytes::copy_from_slice(&generation.to_be_bytes())),
                    owned_partitions: owned.clone(),
                    generation_id: generation,
                    rack_id: self.sh.cfg.client_rack.clone(),
                };
                Ok(JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(a.name()))
                    .with_metadata(sub.encode(wire::SUBSCRIPTION_VERSION)?))
            })
            .collect()
    }

    /// The coordinator's connection and the version of `api` to use with it, unless a
    /// close request comes first.
    async fn coordinator<R: kafka_protocol::protocol::Message>(
        &mut self,
        sh: &Shared,
        api: ApiKey,
    ) -> Result<(i32, Connection, i16), Flow> {
        let deadline = after(sh.cluster.config().request_timeout);
        let (node, conn) = tokio::select! {
            c = sh.coordinator.connection(Purpose::Group, deadline) => c.map_err(Flow::Backoff)?,
            _ = close_requested(&mut self.close_rx) => return Err(Flow::Close),
        };
        let version = conn.versions().pick_for::<R>(api).map_err(Flow::Fatal)?;
        Ok((node, conn, version))
    }

    /// A JoinGroup or SyncGroup call, which the broker may hold for a whole rebalance. A
    /// close request ends the wait: the broker still holds the request, so the connection
    /// is dropped with it.
    #[allow(clippy::too_many_arguments)]
    async fn rebalance_call<R: kafka_protocol::protocol::Request>(
        &mut self,
        sh: &Shared,
        node: i32,
        conn: &Connection,
        api: ApiKey,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, Flow> {
        tokio::select! {
            r = conn.call(api, req, version, timeout) => r.map_err(|e| {
                sh.coordinator.on_error(node, &e);
                if e.retriable() { Flow::Backoff(e) } else { Flow::Fatal(e) }
            }),
            _ = close_requested(&mut self.close_rx) => {
                conn.close();
                Err(Flow::Close)
            }
        }
    }

    async fn join(&mut self, topics: &[String]) -> Result<Joined, Flow> {
        let sh = self.sh.clone();
        // MEMBER_ID_REQUIRED and UNKNOWN_MEMBER_ID are answered by joining again at once.
        for _ in 0..4 {
            let (node, conn, version) = self.coordinator::<JoinGroupRequest>(&sh, ApiKey::JoinGroup).await?;
            if sh.cfg.group_instance_id.is_some() && version < 5 {
                return Err(Flow::Fatal(Error::new(
                    Kind::UnsupportedVersion,
                    "the broker's JoinGroup is too old for static membership (groupInstanceId needs v5, Kafka 2.3+)",
                )));
            }
            let member_id = sh.state.lock().member_id.clone();
            let protocols = self.protocols(topics).map_err(Flow::Fatal)?;
            let mut req = JoinGroupRequest::default()
                .with_group_id(group_id(&sh))
                .with_session_timeout_ms(ms(sh.cfg.session_timeout))
                .with_member_id(StrBytes::from_string(member_id))
                .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
                .with_protocols(protocols);
            if version >= 1 {
                req = req.with_rebalance_timeout_ms(ms(sh.cfg.rebalance_timeout));
            }
            if version >= 5 {
                req = req.with_group_instance_id(instance_id(&sh));
            }
            if version >= 8 {
                req = req.with_reason(Some(StrBytes::from_string(self.reason.clone())));
            }
            let timeout = sh
                .cluster
                .config()
                .request_timeout
                .max(sh.cfg.rebalance_timeout + JOIN_LAPSE);
            let resp: JoinGroupResponse = self
                .rebalance_call(&sh, node, &conn, ApiKey::JoinGroup, &req, version, timeout)
                .await?;
            let code = ErrorCode(resp.error_code);
            let msg = format!("JoinGroup of group `{}`", sh.cfg.group_id);
            if code.is_ok() {
                if let Some(pt) = &resp.protocol_type {
                    if **pt != *PROTOCOL_TYPE {
                        return Err(Flow::Fatal(Error::broker(
                            ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                            Some(&format!("{msg}: the group's protocol type is `{pt}`, not `consumer`")),
                        )));
                    }
                }
                let name = resp.protocol_name.as_deref().unwrap_or("");
                let protocol = Assignor::from_name(name)
                    .filter(|a| sh.cfg.assignors.contains(a))
                    .ok_or_else(|| {
                        Flow::Fatal(Error::broker(
                            ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                            Some(&format!(
                                "{msg}: the coordinator chose assignor `{name}`, which this member did not offer"
                            )),
                        ))
                    })?;
                let member_id = resp.member_id.to_string();
                {
                    let mut st = sh.state.lock();
                    st.member_id = member_id.clone();
                    st.generation = resp.generation_id;
                }
                return Ok(Joined {
                    generation: resp.generation_id,
                    leader: !member_id.is_empty() && *resp.leader == *member_id,
                    member_id,
                    protocol,
                    skip_assignment: resp.skip_assignment,
                    members: resp.members,
                });
            }
            let err = Error::broker(code, None);
            match code {
                ErrorCode::MEMBER_ID_REQUIRED => {
                    // KIP-394: join again with the id the broker picked.
                    sh.state.lock().member_id = resp.member_id.to_string();
                    self.reason = "rejoining with the member id the coordinator assigned".into();
                }
                ErrorCode::UNKNOWN_MEMBER_ID => {
                    self.reset_membership(true);
                    self.sh.state.lock().phase = Phase::Joining;
                    self.emit_lost();
                }
                ErrorCode::ILLEGAL_GENERATION => {
                    self.reset_membership(false);
                    self.sh.state.lock().phase = Phase::Joining;
                    self.emit_lost();
                }
                ErrorCode::COORDINATOR_NOT_AVAILABLE | ErrorCode::NOT_COORDINATOR => {
                    sh.coordinator.invalidate(node);
                    return Err(Flow::Backoff(err));
                }
                ErrorCode::FENCED_INSTANCE_ID => {
                    let e = Error::broker(
                        code,
                        Some(&format!(
                            "another consumer joined group `{}` with group.instance.id `{}`",
                            sh.cfg.group_id,
                            sh.cfg.group_instance_id.as_deref().unwrap_or("")
                        )),
                    );
                    return Err(Flow::Fatal(e));
                }
                // COORDINATOR_LOAD_IN_PROGRESS, REBALANCE_IN_PROGRESS, ...: retry later.
                c if c.is_retriable() || c == ErrorCode::REBALANCE_IN_PROGRESS => return Err(Flow::Backoff(err)),
                // INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, INVALID_GROUP_ID,
                // GROUP_AUTHORIZATION_FAILED, GROUP_MAX_SIZE_REACHED, UNSUPPORTED_VERSION...
                _ => return Err(Flow::Fatal(err)),
            }
        }
        Err(Flow::Backoff(Error::new(
            Kind::Broker(ErrorCode::UNKNOWN_MEMBER_ID),
            "JoinGroup kept asking for a new member id",
        )))
    }

    /// Leader: decode the members' subscriptions, fetch partition counts, run the
    /// assignor, encode the assignments.
    async fn lead(&mut self, j: &Joined) -> Result<Vec<SyncGroupRequestAssignment>, Flow> {
        let members: Vec<MemberSubscription> = j
            .members
            .iter()
            .map(|m| MemberSubscription {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
                // A member whose metadata does not decode subscribes to nothing (it gets
                // no partitions) rather than failing the whole group.
                subscription: Subscription::decode(&m.metadata).unwrap_or_else(|e| {
                    tracing::warn!(
                        client = self.sh.cluster.config().log_id,
                        group = %self.sh.cfg.group_id,
                        member = %m.member_id,
                        cause = %e,
                        "a member's subscription does not decode; it gets no partitions"
                    );
                    Subscription {
                        generation_id: -1,
                        ..Subscription::default()
                    }
                }),
            })
            .collect();
        let all_topics: Vec<String> = members
            .iter()
            .flat_map(|m| m.subscription.topics.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let cluster = self.sh.cluster.clone();
        let timeout = cluster.config().request_timeout;
        let refreshed = tokio::select! {
            r = tokio::time::timeout(timeout, cluster.refresh(Some(&all_topics), false)) => r,
            _ = close_requested(&mut self.close_rx) => return Err(Flow::Close),
        };
        let meta = match refreshed {
            Ok(Ok(m)) => m,
            // Assign from what is cached; the periodic check rejoins once it is known.
            failed => {
                let cause = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("timed out after {} ms", timeout.as_millis()),
                };
                tracing::warn!(client = cluster.config().log_id, group = %self.sh.cfg.group_id, cause = %cause, "metadata refresh before assigning failed; assigning from cached metadata");
                cluster.metadata()
            }
        };
        self.leader_snapshot = Some(partition_counts(&meta, &all_topics));
        self.next_metadata_check = after(cluster.config().metadata_max_age);
        if j.skip_assignment {
            // KIP-814: a static leader rejoined; the coordinator keeps the assignment.
            return Ok(Vec::new());
        }
        let view = topics_view(&meta, &all_topics);
        let result = assignor::assign(j.protocol, &members, &view);
        result
            .into_iter()
            .map(|(member, parts)| {
                Ok(SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member))
                    .with_assignment(wire::encode_assignment(&parts, None).map_err(Flow::Fatal)?))
            })
            .collect()
    }

    async fn sync(
        &mut self,
        j: &Joined,
        assignments: Vec<SyncGroupRequestAssignment>,
    ) -> Result<Vec<TopicPartition>, Flow> {
        let sh = self.sh.clone();
        let (node, conn, version) = self.coordinator::<SyncGroupRequest>(&sh, ApiKey::SyncGroup).await?;
        let mut req = SyncGroupRequest::default()
            .with_group_id(group_id(&sh))
            .with_generation_id(j.generation)
            .with_member_id(StrBytes::from_string(j.member_id.clone()))
            .with_assignments(assignments);
        if version >= 3 {
            req = req.with_group_instance_id(instance_id(&sh));
        }
        if version >= 5 {
            req = req
                .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
                .with_protocol_name(Some(StrBytes::from_static_str(j.protocol.name())));
        }
        // Followers wait for the leader's SyncGroup; the broker gives up on the leader
        // after its session timeout.
        let timeout = sh
            .cluster
            .config()
            .request_timeout
            .max(sh.cfg.session_timeout + JOIN_LAPSE);
        let resp: SyncGroupResponse = self
            .rebalance_call(&sh, node, &conn, ApiKey::SyncGroup, &req, version, timeout)
            .await?;
        let code = ErrorCode(resp.error_code);
        if code.is_ok() {
            let inconsistent = resp.protocol_type.as_deref().is_some_and(|t| t != PROTOCOL_TYPE)
                || resp.protocol_name.as_deref().is_some_and(|n| n != j.protocol.name());
            if inconsistent {
                return Err(Flow::Fatal(Error::broker(
                    ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                    Some("SyncGroup answered with a different protocol than JoinGroup"),
                )));
            }
            return wire::decode_assignment(&resp.assignment).map_err(Flow::Backoff);
        }
        let err = Error::broker(code, None);
        match code {
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.reason = "the group started another rebalance during SyncGroup".into();
                Err(Flow::Rejoin)
            }
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
                self.reset_membership(code == ErrorCode::UNKNOWN_MEMBER_ID);
                self.emit_lost();
                self.reason = format!("SyncGroup failed with {}", code.name());
                Err(Flow::Rejoin)
            }
            ErrorCode::COORDINATOR_NOT_AVAILABLE | ErrorCode::NOT_COORDINATOR => {
                sh.coordinator.invalidate(node);
                Err(Flow::Backoff(err))
            }
            ErrorCode::FENCED_INSTANCE_ID => {
                self.reset_membership(true);
                Err(Flow::Fatal(err))
            }
            c if c.is_retriable() => Err(Flow::Backoff(err)),
            _ => Err(Flow::Fatal(err)),
        }
    }

    /// Takes the new assignment (Java's onJoinComplete).
    async fn apply(&mut self, generation: i32, assigned: Vec<TopicPartition>) -> Flow {
        let current = self.sub_rx.borrow().topics.clone();
        let now = Instant::now();
        self.last_hb_ok = now;
        self.next_hb = now + self.sh.cfg.heartbeat_interval;
        self.hb_failures = 0;
        self.join_failures = 0;
        {
            let mut st = self.sh.state.lock();
            st.phase = Phase::Stable;
            st.last_error = None;
        }
        tracing::info!(client = self.sh.cluster.config().log_id, group = %self.sh.cfg.group_id, generation, partitions = assigned.len(), "joined the group");
        if assigned.iter().any(|tp| !current.iter().any(|t| **t == *tp.topic)) {
            // The subscription changed since we joined (or the leader is confused).
            self.reason = "the assignment does not match the current subscription".into();
            return Flow::Rejoin;
        }
        let assigned: BTreeSet<TopicPartition> = assigned.into_iter().collect();
        if self.sh.cfg.cooperative() {
            let owned = self.sh.state.lock().owned.clone();
            let revoked: BTreeSet<TopicPartition> = owned.difference(&assigned).cloned().collect();
            let added: Vec<TopicPartition> = assigned.difference(&owned).cloned().collect();
            if !revoked.is_empty() {
                self.revoke(revoked).await;
                if let Some(f) = self.take_flow_signal() {
                    return f;
                }
                // KIP-429: rejoin at once so the next rebalance hands them over.
                self.raise(Signal::Rejoin("partitions were revoked for another member".into()));
            }
            self.sh.state.lock().owned = assigned;
            self.emit(GroupEvent::Assigned {
                generation,
                partitions: added,
            });
        } else {
            self.sh.state.lock().owned = assigned.clone();
            self.emit(GroupEvent::Assigned {
                generation,
                partitions: assigned.into_iter().collect(),
            });
        }
        Flow::Stable
    }

    // ---- stable ----

    async fn stable(&mut self) -> Flow {
        loop {
            match self.signal.take() {
                Some(Signal::Rejoin(reason)) => {
                    self.reason = reason;
                    return Flow::Rejoin;
                }
                Some(Signal::Lost(e)) => {
                    self.emit_lost();
                    self.reason = format!("membership was lost: {}", e.message);
                    return Flow::Rejoin;
                }
                Some(Signal::Fatal(e)) => return Flow::Fatal(e),
                None => {}
            }
            let leader = self.leader_snapshot.is_some();
            tokio::select! {
                c = close_requested(&mut self.close_rx) => {
                    let _ = c;
                    return Flow::Close;
                }
                r = self.sub_rx.changed() => {
                    if r.is_ok() && self.sub_rx.borrow_and_update().topics != self.joined {
                        self.reason = "the subscription changed".into();
                        return Flow::Rejoin;
                    }
                }
                _ = tokio::time::sleep_until(self.next_hb) => {
                    let hb = tokio::select! {
                        hb = heartbeat(&self.sh) => Some(hb),
                        _ = close_requested(&mut self.close_rx) => None,
                    };
                    let Some(hb) = hb else { return Flow::Close };
                    self.on_heartbeat(hb);
                    if leader && self.metadata_changed(&self.sh.cluster.metadata()) {
                        self.raise(Signal::Rejoin("the partition count of a subscribed topic changed".into()));
                    }
                }
                _ = self.sh.wake.notified() => {
                    self.next_hb = Instant::now();
                }
                _ = tokio::time::sleep_until(self.next_metadata_check), if leader => {
                    self.next_metadata_check = after(self.sh.cluster.config().metadata_max_age);
                    let topics: Vec<String> = self
                        .leader_snapshot
                        .as_ref()
                        .map(|s| s.keys().cloned().collect())
                        .unwrap_or_default();
                    let cluster = self.sh.cluster.clone();
                    let timeout = cluster.config().request_timeout;
                    let refreshed = tokio::select! {
                        r = tokio::time::timeout(timeout, cluster.refresh(Some(&topics), false)) => r.ok().and_then(Result::ok),
                        _ = close_requested(&mut self.close_rx) => return Flow::Close,
                    };
                    if let Some(meta) = refreshed {
                        let now = partition_counts(&meta, &topics);
                        if self.leader_snapshot.as_ref() != Some(&now) {
                            self.raise(Signal::Rejoin("the partition count of a subscribed topic changed".into()));
                        }
                    }
                }
            }
        }
    }

    /// Leader: does the cached metadata show a different partition count for a topic of
    /// the group than the last assignment used? (Topics absent from the cache say nothing.)
    fn metadata_changed(&self, meta: &Metadata) -> bool {
        let Some(snap) = &self.leader_snapshot else {
            return false;
        };
        snap.iter().any(|(t, &n)| match meta.topics.get(t) {
            Some(tm) if tm.error.is_ok() => tm.partitions.len() != n,
            Some(tm) => tm.error == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION && n > 0,
            None => false,
        })
    }

    // ---- leaving ----

    /// Gives up the assignment (Revoked, or Lost when membership is already gone) and
    /// sends LeaveGroup for a dynamic member (static members stay until their session
    /// times out, KIP-345). Used for close and for an empty subscription.
    async fn leave(&mut self, reason: &str, close: Option<CloseRequest>) {
        let quiet = close.is_some_and(|c| c.quiet);
        let owned = self.sh.state.lock().owned.clone();
        if !owned.is_empty() {
            if quiet {
                self.sh.state.lock().owned.clear();
            } else if self.is_member() {
                self.revoke(owned).await;
                self.emit_lost();
            } else {
                self.emit_lost();
            }
        }
        self.signal = None;
        let member_id = self.sh.state.lock().member_id.clone();
        if !member_id.is_empty() && self.sh.cfg.group_instance_id.is_none() {
            let deadline = close.map_or_else(|| after(self.sh.cluster.config().request_timeout), |c| c.deadline);
            if let Err(e) = leave_group(&self.sh, &member_id, reason, deadline).await {
                // The broker drops the member after sessionTimeoutMs anyway.
                tracing::warn!(client = self.sh.cluster.config().log_id, group = %self.sh.cfg.group_id, cause = %e, "LeaveGroup failed; the member expires after sessionTimeoutMs");
            }
        }
        {
            let mut st = self.sh.state.lock();
            st.member_id.clear();
            st.generation = -1;
            st.phase = Phase::Idle;
            st.owned.clear();
        }
        self.leader_snapshot = None;
    }
}

async fn heartbeat(sh: &Shared) -> Hb {
    let (member_id, generation) = {
        let st = sh.state.lock();
        (st.member_id.clone(), st.generation)
    };
    let budget = sh.cluster.config().request_timeout.min(sh.cfg.session_timeout);
    let deadline = after(budget);
    let (node, conn) = match sh.coordinator.connection(Purpose::Group, deadline).await {
        Ok(c) => c,
        Err(e) => return Hb::Failed(e),
    };
    let version = match conn.versions().pick_for::<HeartbeatRequest>(ApiKey::Heartbeat) {
        Ok(v) => v,
        Err(e) => return Hb::Fatal(e),
    };
    let mut req = HeartbeatRequest::default()
        .with_group_id(group_id(sh))
        .with_generation_id(generation)
        .with_member_id(StrBytes::from_string(member_id));
    if version >= 3 {
        req = req.with_group_instance_id(instance_id(sh));
    }
    let resp: HeartbeatResponse = match conn.call(ApiKey::Heartbeat, &req, version, remaining(deadline)).await {
        Ok(r) => r,
        Err(e) => {
            sh.coordinator.on_error(node, &e);
            return if e.retriable() { Hb::Failed(e) } else { Hb::Fatal(e) };
        }
    };
    let code = ErrorCode(resp.error_code);
    let err = Error::broker(code, None);
    match code {
        ErrorCode::NONE => Hb::Ok,
        ErrorCode::REBALANCE_IN_PROGRESS => Hb::Rebalancing,
        ErrorCode::ILLEGAL_GENERATION => Hb::Lost {
            error: err,
            reset_member_id: false,
        },
        ErrorCode::UNKNOWN_MEMBER_ID => Hb::Lost {
            error: err,
            reset_member_id: true,
        },
        ErrorCode::FENCED_INSTANCE_ID => Hb::Fenced(err),
        ErrorCode::COORDINATOR_NOT_AVAILABLE | ErrorCode::NOT_COORDINATOR => {
            sh.coordinator.invalidate(node);
            Hb::Failed(err)
        }
        c if c.is_retriable() => Hb::Failed(err),
        _ => Hb::Fatal(err),
    }
}

async fn leave_group(sh: &Shared, member_id: &str, reason: &str, deadline: Instant) -> Result<()> {
    let (node, conn) = sh.coordinator.connection(Purpose::Group, deadline).await?;
    let version = conn.versions().pick_for::<LeaveGroupRequest>(ApiKey::LeaveGroup)?;
    let mut req = LeaveGroupRequest::default().with_group_id(group_id(sh));
    if version >= 3 {
        let mut m = MemberIdentity::default().with_member_id(StrBytes::from_string(member_id.to_string()));
        if version >= 5 {
            m = m.with_reason(Some(StrBytes::from_string(reason.to_string())));
        }
        req = req.with_members(vec![m]);
    } else {
        req = req.with_member_id(StrBytes::from_string(member_id.to_string()));
    }
    let resp: LeaveGroupResponse = match conn.call(ApiKey::LeaveGroup, &req, version, remaining(deadline)).await {
        Ok(r) => r,
        Err(e) => {
            sh.coordinator.on_error(node, &e);
            return Err(e);
        }
    };
    let code = ErrorCode(resp.error_code);
    if !code.is_ok() {
        return Err(Error::broker(code, None));
    }
    Ok(())
}
