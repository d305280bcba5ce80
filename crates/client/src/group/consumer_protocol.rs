//! The membership task for the KIP-848 `consumer` group protocol: one
//! ConsumerGroupHeartbeat loop, with the assignment computed by the broker.
//!
//! Life of a member:
//! ```text
//!  idle --subscribe--> heartbeat with epoch 0 (join) --> member epoch from the broker
//!    --> each heartbeat may carry a target assignment (by topic id): revoke what is no
//!        longer in it first (Revoked, acknowledged by the app, heartbeats continue),
//!        report the smaller owned set, then take the new partitions (Assigned)
//!    --> FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: owned partitions are Lost, join again
//!        with epoch 0 and the same member id
//!  close: Revoked (or Lost), heartbeat with epoch -1 (dynamic) or -2 (static), done
//! ```
//! The member id is generated here (a random UUID, as ConsumerGroupHeartbeat v1 wants);
//! the heartbeat interval comes from the broker. The member epoch is the generation
//! commits carry (OffsetCommit v9+).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, GroupId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{after, CloseRequest, GroupEvent, Phase, Shared};
use crate::cluster::Purpose;
use crate::error::{Error, Kind, Result};
use crate::types::TopicPartition;

/// Epoch that asks to leave (a static member's -2 keeps its assignment for a restart).
const LEAVE: i32 = -1;
const STATIC_LEAVE: i32 = -2;

/// One heartbeat's outcome.
enum Hb {
    /// Member epoch, and the target assignment when the broker sent one (by topic id).
    Ok {
        target: Option<Vec<(uuid::Uuid, Vec<i32>)>>,
    },
    /// Membership is gone (the epoch is fenced or the member unknown): join again.
    Lost(Error),
    /// Stop: the error goes to the application.
    Fatal(Error),
    /// No answer, or a retriable error: try again after a backoff.
    Failed(Error),
}

/// A random member id in Kafka's Uuid text form (URL-safe base64 of 16 bytes).
pub(crate) fn new_member_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::new(Kind::Internal, format!("no randomness for a member id: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

pub(super) struct Task {
    sh: Arc<Shared>,
    events: mpsc::UnboundedSender<GroupEvent>,
    sub_rx: watch::Receiver<super::Subscribed>,
    /// A pattern was sent: switching to names must clear it on the broker.
    pattern_sent: bool,
    close_rx: watch::Receiver<Option<CloseRequest>>,
    done: watch::Sender<bool>,
    member_id: String,
    epoch: i32,
    interval: Duration,
    next_hb: Instant,
    failures: u32,
    /// The last target assignment, until it is fully applied (topic ids resolved).
    target: Option<Vec<(uuid::Uuid, Vec<i32>)>>,
}

impl Task {
    pub fn new(
        sh: Arc<Shared>,
        events: mpsc::UnboundedSender<GroupEvent>,
        done: watch::Sender<bool>,
        member_id: String,
    ) -> Self {
        Task {
            sub_rx: sh.subscription.subscribe(),
            close_rx: sh.close.subscribe(),
            interval: sh.cfg.heartbeat_interval,
            sh,
            events,
            done,
            member_id,
            epoch: 0,
            next_hb: Instant::now(),
            failures: 0,
            target: None,
            pattern_sent: false,
        }
    }

    pub async fn run(mut self) {
        self.main().await;
        self.sh.state.lock().phase = Phase::Closed;
        let _ = self.done.send(true);
    }

    fn emit(&self, ev: GroupEvent) {
        // The consumer is gone when this fails: nothing left to tell.
        let _ = self.events.send(ev);
    }

    fn log_id(&self) -> u64 {
        self.sh.cluster.config().log_id
    }

    async fn main(&mut self) {
        loop {
            // Nothing subscribed any more: give the partitions back and leave, then idle
            // until something is subscribed (or close).
            if self.sub_rx.borrow().is_empty() && self.epoch > 0 {
                let deadline = after(self.sh.cfg.rebalance_timeout);
                self.leave(CloseRequest { deadline, quiet: false }).await;
                self.epoch = 0;
                let mut st = self.sh.state.lock();
                st.phase = Phase::Idle;
                st.generation = -1;
            }
            while self.sub_rx.borrow_and_update().is_empty() {
                if self.close_rx.borrow().is_some() {
                    return;
                }
                tokio::select! {
                    r = self.sub_rx.changed() => if r.is_err() { return },
                    r = self.close_rx.changed() => if r.is_err() { return },
                }
            }
            let close = *self.close_rx.borrow();
            if let Some(close) = close {
                self.leave(close).await;
                return;
            }
            match self.beat().await {
                Hb::Ok { target } => {
                    self.failures = 0;
                    if target.is_some() {
                        self.target = target;
                    }
                    if self.target.is_some() && !self.reconcile().await {
                        // Stopped (close) while revoking: leave now.
                        continue;
                    }
                }
                Hb::Lost(e) => {
                    tracing::info!(client = self.log_id(), group = %self.sh.cfg.group_id, cause = %e, "membership lost; joining again");
                    self.lose();
                    self.epoch = 0;
                    self.next_hb = Instant::now();
                    continue;
                }
                Hb::Fatal(e) => {
                    tracing::error!(client = self.log_id(), group = %self.sh.cfg.group_id, cause = %e, "the group failed");
                    self.lose();
                    {
                        let mut st = self.sh.state.lock();
                        st.fatal = Some(e.clone());
                    }
                    self.emit(GroupEvent::Fatal(e));
                    return;
                }
                Hb::Failed(e) => {
                    let wait = self.sh.backoff(self.failures);
                    self.failures = self.failures.saturating_add(1);
                    tracing::warn!(client = self.log_id(), group = %self.sh.cfg.group_id, attempt = self.failures, retry_in_ms = wait.as_millis() as u64, cause = %e, "heartbeat failed; retrying");
                    self.sh.state.lock().last_error = Some(e.clone());
                    if e.is_auth() && self.failures == 1 {
                        self.emit(GroupEvent::Error(e));
                    }
                    self.next_hb = after(wait);
                }
            }
            self.sleep_until_next().await;
        }
    }

    /// Waits for the next heartbeat time, a subscription change (heartbeat at once) or a
    /// close; a commit that saw a stale epoch also wakes it.
    async fn sleep_until_next(&mut self) {
        tokio::select! {
            _ = tokio::time::sleep_until(self.next_hb) => {}
            r = self.sub_rx.changed() => if r.is_ok() { self.next_hb = Instant::now() },
            r = self.close_rx.changed() => if r.is_ok() { self.next_hb = Instant::now() },
            _ = self.sh.wake.notified() => { self.next_hb = Instant::now() }
        }
    }

    /// Drops every owned partition as lost (membership is gone: another member may own
    /// them already).
    fn lose(&mut self) {
        let partitions: Vec<TopicPartition> = {
            let mut st = self.sh.state.lock();
            st.phase = Phase::Idle;
            st.generation = -1;
            std::mem::take(&mut st.owned).into_iter().collect()
        };
        self.target = None;
        if !partitions.is_empty() {
            self.emit(GroupEvent::Lost { partitions });
        }
    }

    /// Applies the target assignment: revoke first, then assign. False when a close came
    /// while the app held the revocation.
    async fn reconcile(&mut self) -> bool {
        let Some(target) = self.target.clone() else { return true };
        let Some(wanted) = self.resolve(&target).await else {
            // Some topic id is not in the metadata yet: try again at the next heartbeat.
            return true;
        };
        let owned = self.sh.state.lock().owned.clone();
        let revoked: BTreeSet<TopicPartition> = owned.difference(&wanted).cloned().collect();
        if !revoked.is_empty() {
            let (done, rx) = oneshot::channel();
            self.emit(GroupEvent::Revoked {
                partitions: revoked.iter().cloned().collect(),
                done,
            });
            if !self.wait_ack(rx).await {
                return false;
            }
            self.sh.state.lock().owned.retain(|tp| !revoked.contains(tp));
            // Tell the broker at once, so the partitions can move.
            self.next_hb = Instant::now();
        }
        let added: Vec<TopicPartition> = {
            let mut st = self.sh.state.lock();
            let added: Vec<TopicPartition> = wanted.difference(&st.owned).cloned().collect();
            st.owned.extend(added.iter().cloned());
            added
        };
        // Assigned marks each new assignment (possibly with nothing added), as the
        // cooperative protocol does.
        self.emit(GroupEvent::Assigned {
            generation: self.epoch,
            partitions: added,
        });
        if !revoked.is_empty() {
            self.next_hb = Instant::now();
        }
        self.target = None;
        true
    }

    /// Topic ids to names through the metadata (refreshed once when one is unknown).
    async fn resolve(&self, target: &[(uuid::Uuid, Vec<i32>)]) -> Option<BTreeSet<TopicPartition>> {
        let lookup = |meta: &crate::cluster::Metadata| -> Option<BTreeSet<TopicPartition>> {
            let mut out = BTreeSet::new();
            for (id, parts) in target {
                let name = meta.topics.values().find(|t| t.id == *id)?.name.clone();
                out.extend(parts.iter().map(|&p| TopicPartition::new(name.as_str(), p)));
            }
            Some(out)
        };
        if let Some(r) = lookup(&self.sh.cluster.metadata()) {
            return Some(r);
        }
        // A pattern's topics are known to the broker only: ask for every topic.
        let sub = self.sub_rx.borrow().clone();
        let topics = sub.pattern.is_none().then_some(sub.topics);
        match self.sh.cluster.refresh(topics.as_deref(), false).await {
            Ok(meta) => lookup(&meta),
            Err(e) => {
                tracing::debug!(client = self.log_id(), cause = %e, "metadata for the assignment's topic ids failed");
                None
            }
        }
    }

    /// Waits for the app to acknowledge a revocation, heartbeating meanwhile (KIP-62:
    /// membership lasts while the app works). False on close.
    async fn wait_ack(&mut self, mut rx: oneshot::Receiver<()>) -> bool {
        let deadline = after(self.sh.cfg.rebalance_timeout);
        loop {
            tokio::select! {
                _ = &mut rx => return true,
                _ = tokio::time::sleep_until(deadline) => return true,
                _ = tokio::time::sleep_until(self.next_hb) => {
                    match self.beat().await {
                        Hb::Ok { target } => {
                            if target.is_some() {
                                self.target = target;
                            }
                        }
                        Hb::Lost(_) | Hb::Fatal(_) => {
                            // The revocation goes on; the main loop sees the next failure.
                            self.next_hb = Instant::now();
                            let _ = tokio::time::timeout_at(deadline, &mut rx).await;
                            return true;
                        }
                        Hb::Failed(_) => self.next_hb = after(self.sh.backoff(0)),
                    }
                }
                r = self.close_rx.changed() => {
                    let close = *self.close_rx.borrow();
                    if r.is_err() || close.is_some() {
                        // Let the app finish this revocation (close waits for it too).
                        let until = close.map_or(deadline, |c| c.deadline.min(deadline));
                        let _ = tokio::time::timeout_at(until, &mut rx).await;
                        return false;
                    }
                }
            }
        }
    }

    /// Close: revoke what is owned, then heartbeat the leave epoch.
    async fn leave(&mut self, close: CloseRequest) {
        let owned: Vec<TopicPartition> = self.sh.state.lock().owned.iter().cloned().collect();
        if !owned.is_empty() && !close.quiet {
            let (done, rx) = oneshot::channel();
            self.emit(GroupEvent::Revoked {
                partitions: owned,
                done,
            });
            let _ = tokio::time::timeout_at(close.deadline, rx).await;
        }
        self.sh.state.lock().owned.clear();
        if self.epoch > 0 {
            self.epoch = if self.sh.cfg.group_instance_id.is_some() {
                STATIC_LEAVE
            } else {
                LEAVE
            };
            match tokio::time::timeout_at(close.deadline, self.beat()).await {
                Ok(Hb::Ok { .. }) => {}
                Ok(Hb::Lost(e) | Hb::Fatal(e) | Hb::Failed(e)) => {
                    tracing::warn!(client = self.log_id(), group = %self.sh.cfg.group_id, cause = %e, "leaving the group failed; the broker drops the member after its session timeout")
                }
                Err(_) => {
                    tracing::warn!(client = self.log_id(), group = %self.sh.cfg.group_id, "leaving the group timed out; the broker drops the member after its session timeout")
                }
            }
        }
    }

    /// One ConsumerGroupHeartbeat with the current epoch, subscription and owned
    /// partitions.
    async fn beat(&mut self) -> Hb {
        let deadline = after(self.sh.cluster.config().request_timeout);
        let (node, conn) = match self.sh.coordinator.connection(Purpose::Group, deadline).await {
            Ok(c) => c,
            Err(e) => {
                return if e.is_auth() || e.retriable() {
                    Hb::Failed(e)
                } else {
                    Hb::Fatal(e)
                }
            }
        };
        let version = match conn
            .versions()
            .pick_for::<ConsumerGroupHeartbeatRequest>(ApiKey::ConsumerGroupHeartbeat)
        {
            Ok(v) => v,
            Err(_) => {
                return Hb::Fatal(Error::new(
                    Kind::UnsupportedVersion,
                    format!(
                        "broker {node} does not support the consumer group protocol (KIP-848, Kafka 4.0+); use groupProtocol 'classic'"
                    ),
                ))
            }
        };
        let leaving = self.epoch < 0;
        let meta = self.sh.cluster.metadata();
        let owned: Vec<TopicPartitions> = {
            let st = self.sh.state.lock();
            let mut by_topic: std::collections::BTreeMap<String, Vec<i32>> = Default::default();
            for tp in &st.owned {
                by_topic.entry(tp.topic.to_string()).or_default().push(tp.partition);
            }
            by_topic
                .into_iter()
                .filter_map(|(t, ps)| {
                    meta.topics
                        .get(&t)
                        .map(|tm| TopicPartitions::default().with_topic_id(tm.id).with_partitions(ps))
                })
                .collect()
        };
        let sub = self.sub_rx.borrow().clone();
        if sub.pattern.is_some() && version < 1 {
            return Hb::Fatal(Error::new(
                Kind::UnsupportedVersion,
                format!("broker {node} cannot resolve a pattern subscription (ConsumerGroupHeartbeat v1, Kafka 4.0+); subscribe to topic names")
            ));
        }
        let topics: Vec<TopicName> = sub
            .topics
            .iter()
            .map(|t| TopicName(StrBytes::from_string(t.clone())))
            .collect();
        // Names and pattern go in every heartbeat (the broker takes an unchanged value as
        // a no-op); an empty regex clears a pattern sent before.
        let regex = match &sub.pattern {
            Some(p) => Some(StrBytes::from_string(p.clone())),
            None if self.pattern_sent => Some(StrBytes::from_static_str("")),
            None => None,
        };
        let cfg = &self.sh.cfg;
        let req = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(cfg.group_id.clone())))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_member_epoch(self.epoch)
            .with_instance_id(cfg.group_instance_id.clone().map(StrBytes::from_string))
            .with_rack_id(cfg.client_rack.clone().map(StrBytes::from_string))
            .with_rebalance_timeout_ms(if leaving {
                -1
            } else {
                cfg.rebalance_timeout.as_millis().min(i32::MAX as u128) as i32
            })
            .with_subscribed_topic_names((!leaving).then_some(topics))
            .with_subscribed_topic_regex(if leaving { None } else { regex })
            .with_server_assignor(cfg.remote_assignor.clone().map(StrBytes::from_string))
            .with_topic_partitions((!leaving).then_some(owned));
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let resp: ConsumerGroupHeartbeatResponse =
            match conn.call(ApiKey::ConsumerGroupHeartbeat, &req, version, left).await {
                Ok(r) => r,
                Err(e) => {
                    self.sh.coordinator.on_error(node, &e);
                    return if e.retriable() { Hb::Failed(e) } else { Hb::Fatal(e) };
                }
            };
        let code = ErrorCode(resp.error_code);
        if !code.is_ok() {
            let err = Error::broker(code, resp.error_message.as_deref());
            return match code {
                ErrorCode::FENCED_MEMBER_EPOCH | ErrorCode::UNKNOWN_MEMBER_ID => Hb::Lost(err),
                ErrorCode::COORDINATOR_NOT_AVAILABLE | ErrorCode::NOT_COORDINATOR => {
                    self.sh.coordinator.invalidate(node);
                    Hb::Failed(err)
                }
                c if c.is_retriable() => Hb::Failed(err),
                // UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, UNSUPPORTED_ASSIGNOR,
                // GROUP_AUTHORIZATION_FAILED, INVALID_REQUEST...: retrying gives the same.
                _ => Hb::Fatal(err),
            };
        }
        if !leaving {
            self.pattern_sent = sub.pattern.is_some();
        }
        if let Some(id) = resp.member_id.as_deref().filter(|s| !s.is_empty()) {
            self.member_id = id.to_string();
        }
        self.epoch = resp.member_epoch;
        if resp.heartbeat_interval_ms > 0 {
            self.interval = Duration::from_millis(resp.heartbeat_interval_ms as u64);
        }
        self.next_hb = after(self.interval);
        if !leaving {
            let mut st = self.sh.state.lock();
            st.member_id = self.member_id.clone();
            st.generation = self.epoch;
            st.phase = Phase::Stable;
            st.last_error = None;
        }
        Hb::Ok {
            target: resp.assignment.map(|a| {
                a.topic_partitions
                    .into_iter()
                    .map(|tp| (tp.topic_id, tp.partitions))
                    .collect()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_random_uuids_in_kafka_text_form() {
        let a = new_member_id().unwrap();
        let b = new_member_id().unwrap();
        assert_ne!(a, b);
        // 16 bytes in URL-safe base64 without padding, as Kafka's Uuid.toString().
        assert_eq!(a.len(), 22);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&a).unwrap();
        assert_eq!(raw.len(), 16);
    }

    #[test]
    fn the_consumer_protocol_is_incremental_and_checks_its_assignor() {
        let mut c = super::super::GroupConfig::new("g");
        c.protocol = super::super::GroupProtocol::Consumer;
        assert!(c.cooperative(), "KIP-848 rebalances are incremental");
        c.remote_assignor = Some(String::new());
        assert!(c.validate().unwrap_err().message.contains("groupRemoteAssignor"));
        c.remote_assignor = Some("uniform".into());
        c.validate().unwrap();
    }
}
