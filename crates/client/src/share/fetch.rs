//! The fetch side of a share consumer: one share session per leader broker (epoch 0
//! opens it, each request increments it, -1 closes it). `poll` sends one ShareFetch to
//! each leader of an assigned partition, with the pending acknowledgements of that
//! leader's partitions piggybacked; `commit` and `close` send them with
//! ShareAcknowledge. A session the broker lost (SHARE_SESSION_NOT_FOUND,
//! INVALID_SHARE_SESSION_EPOCH) is opened again; acknowledgements sent on it fail (their
//! records return after the lock timeout).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckBatchA,
};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch as AckBatchF, FetchPartition, FetchTopic, ForgottenTopic,
};
use kafka_protocol::messages::{
    ApiKey, GroupId, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareFetchRequest, ShareFetchResponse,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::compression::InflateBudget;
use nkafka_protocol::error::ErrorCode;
use tokio::time::Instant;

use super::{AckType, ShareBatch, SharePoll, Shared};
use crate::cluster::Purpose;
use crate::consumer::decode::decode_partition;
use crate::error::{Error, Kind, Result};
use crate::group::after;
use crate::types::TopicPartition;

/// The outcome of one partition's acknowledgements.
#[derive(Clone, Debug)]
pub struct AckResult {
    /// The partition.
    pub tp: TopicPartition,
    /// How many records were acknowledged.
    pub records: usize,
    /// Why the broker refused them (e.g. INVALID_RECORD_STATE: the lock ran out and the
    /// record went to someone else), or why they could not be sent.
    pub error: Option<Error>,
}

/// One broker's share session.
#[derive(Default, Clone)]
pub(super) struct Session {
    /// 0: not open.
    epoch: i32,
    /// Partitions the broker has in the session.
    partitions: BTreeMap<TopicPartition, uuid::Uuid>,
}

#[derive(Default)]
pub(super) struct Sessions(HashMap<i32, Session>);

fn next_epoch(e: i32) -> i32 {
    if e == i32::MAX {
        1
    } else {
        e + 1
    }
}

type PartitionAcks = BTreeMap<TopicPartition, BTreeMap<i64, AckType>>;

/// Acknowledgements as wire batches: runs of consecutive offsets, one type per run when
/// they agree, else one per offset.
fn ack_runs(acks: &BTreeMap<i64, AckType>) -> Vec<(i64, i64, Vec<i8>)> {
    let mut out: Vec<(i64, i64, Vec<i8>)> = Vec::new();
    for (&offset, &t) in acks {
        match out.last_mut() {
            Some((_, last, types)) if *last + 1 == offset => {
                *last = offset;
                types.push(t as i8);
            }
            _ => out.push((offset, offset, vec![t as i8])),
        }
    }
    for (_, _, types) in &mut out {
        if types.iter().all(|t| *t == types[0]) {
            types.truncate(1);
        }
    }
    out
}

fn failed(acks: &PartitionAcks, e: &Error) -> Vec<AckResult> {
    acks.iter()
        .map(|(tp, m)| AckResult {
            tp: tp.clone(),
            records: m.values().filter(|t| **t != AckType::Gap).count(),
            error: Some(e.clone().with_partition(&tp.topic, tp.partition)),
        })
        .collect()
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// What one ShareFetch gave.
struct Fetched {
    broker: i32,
    session: Session,
    batches: Vec<(TopicPartition, ShareBatch)>,
    /// Acquired offsets that hold no record for the app.
    gaps: Vec<(TopicPartition, i64)>,
    acks: Vec<AckResult>,
    lock_expires_at: f64,
    error: Option<Error>,
    stale_metadata: bool,
}

/// Leaders of the assigned partitions; partitions without a known leader ask for a
/// metadata refresh (and are fetched once it answers).
async fn plan(
    sh: &Shared,
    assignment: &BTreeMap<TopicPartition, uuid::Uuid>,
) -> BTreeMap<i32, Vec<(TopicPartition, uuid::Uuid)>> {
    let lookup = |meta: &crate::cluster::Metadata| {
        let mut plan: BTreeMap<i32, Vec<(TopicPartition, uuid::Uuid)>> = BTreeMap::new();
        let mut unknown = false;
        for (tp, id) in assignment {
            let leader = meta
                .topics
                .get(&*tp.topic)
                .and_then(|t| t.partitions.iter().find(|p| p.id == tp.partition))
                .map_or(-1, |p| p.leader);
            if leader < 0 {
                unknown = true;
            } else {
                plan.entry(leader).or_default().push((tp.clone(), *id));
            }
        }
        (plan, unknown)
    };
    let (plan, unknown) = lookup(&sh.cluster.metadata());
    if !unknown {
        return plan;
    }
    let topics = sh.subscription.borrow().clone();
    match sh.cluster.refresh(Some(&topics), false).await {
        Ok(meta) => lookup(&meta).0,
        Err(e) => {
            tracing::warn!(client = sh.cluster.config().log_id, cause = %e, "metadata for the share assignment failed");
            plan
        }
    }
}

pub(super) async fn poll(sh: &Arc<Shared>, timeout: Duration) -> Result<SharePoll> {
    let deadline = after(timeout);
    let mut out = SharePoll::default();
    let mut sessions = match tokio::time::timeout_at(deadline, sh.sessions.lock()).await {
        Ok(s) => s,
        Err(_) => return Ok(out),
    };
    let mut failures = 0u32;
    loop {
        // Registered before looking, so that a close or an assignment in between wakes it.
        let changed = sh.assignment_changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if sh.closed.load(std::sync::atomic::Ordering::Acquire) {
            // Closed during this poll: close() settles the sessions once we let go.
            return Ok(out);
        }
        sh.check_open()?;
        let assignment = sh.membership.lock().assignment.clone();
        let plan = plan(sh, &assignment).await;
        // Acknowledgements of partitions this poll does not fetch from their session's
        // broker (no longer assigned, or the leader moved) go by ShareAcknowledge.
        let orphans: Vec<TopicPartition> = {
            let a = sh.acks.lock();
            a.pending
                .keys()
                .filter(|tp| {
                    !sessions.0.iter().any(|(b, s)| {
                        s.partitions.contains_key(*tp) && plan.get(b).is_some_and(|v| v.iter().any(|(p, _)| p == *tp))
                    })
                })
                .cloned()
                .collect()
        };
        if !orphans.is_empty() {
            out.acks.extend(
                acknowledge(
                    sh,
                    &mut sessions,
                    Some(&orphans),
                    false,
                    after(sh.cluster.config().request_timeout),
                )
                .await,
            );
        }
        if plan.is_empty() {
            tokio::select! {
                _ = &mut changed => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
            if Instant::now() >= deadline {
                return Ok(out);
            }
            continue;
        }
        let max_wait = remaining(deadline).min(sh.cfg.consumer.fetch_max_wait);
        let mut calls = Vec::with_capacity(plan.len());
        for (broker, parts) in plan {
            let session = sessions.0.remove(&broker).unwrap_or_default();
            let acks: PartitionAcks = {
                let mut a = sh.acks.lock();
                parts
                    .iter()
                    .filter_map(|(tp, _)| a.pending.remove(tp).map(|m| (tp.clone(), m)))
                    .collect()
            };
            calls.push(fetch_one(sh, broker, parts, session, acks, max_wait));
        }
        let results = futures_util::future::join_all(calls).await;
        let mut error: Option<Error> = None;
        let mut stale = false;
        for r in results {
            sessions.0.insert(r.broker, r.session);
            out.acks.extend(r.acks);
            stale |= r.stale_metadata;
            if !r.batches.is_empty() && (out.lock_expires_at == 0.0 || r.lock_expires_at < out.lock_expires_at) {
                out.lock_expires_at = r.lock_expires_at;
            }
            let mut a = sh.acks.lock();
            for (tp, offset) in r.gaps {
                a.pending.entry(tp).or_default().insert(offset, AckType::Gap);
            }
            for (tp, b) in r.batches {
                let d = a.delivered.entry(tp).or_default();
                for rec in &b.batch.records {
                    d.insert(rec.offset, None);
                }
                out.batches.push(b);
            }
            if let Some(e) = r.error {
                error = Some(e);
            }
        }
        if stale {
            let topics = sh.subscription.borrow().clone();
            if let Err(e) = sh.cluster.refresh(Some(&topics), false).await {
                tracing::debug!(client = sh.cluster.config().log_id, cause = %e, "metadata refresh after a share fetch failed");
            }
        }
        if let Some(e) = error {
            if !out.batches.is_empty() {
                // The records are the app's now; the error shows again on the next poll
                // if it persists.
                tracing::warn!(client = sh.cluster.config().log_id, cause = %e, "share fetch failed");
                return Ok(out);
            }
            if !e.retriable() {
                return Err(e);
            }
            tracing::warn!(client = sh.cluster.config().log_id, attempt = failures, cause = %e, "share fetch failed; retrying after the backoff");
            let wait = sh.backoff(failures);
            failures = failures.saturating_add(1);
            tokio::time::sleep_until(deadline.min(after(wait))).await;
        }
        if !out.batches.is_empty() || Instant::now() >= deadline {
            return Ok(out);
        }
    }
}

async fn fetch_one(
    sh: &Shared,
    broker: i32,
    parts: Vec<(TopicPartition, uuid::Uuid)>,
    mut session: Session,
    acks: PartitionAcks,
    max_wait: Duration,
) -> Fetched {
    let mut f = Fetched {
        broker,
        session: Session::default(),
        batches: Vec::new(),
        gaps: Vec::new(),
        acks: Vec::new(),
        lock_expires_at: 0.0,
        error: None,
        stale_metadata: false,
    };
    let mut acks = acks;
    if session.epoch == 0 && !acks.is_empty() {
        // A new session cannot carry acknowledgements: the records of the old one come
        // back after their lock timeout.
        f.acks = failed(
            &acks,
            &Error::broker(
                ErrorCode::SHARE_SESSION_NOT_FOUND,
                Some(
                    "the share session holding these records was lost; they are delivered again after the lock timeout",
                ),
            ),
        );
        acks.clear();
    }
    let cfg = &sh.cfg;
    let result: Result<(ShareFetchResponse, Vec<ForgottenTopic>)> = async {
        let conn = sh.cluster.connection(broker, Purpose::Fetch).await?;
        let version = conn
            .versions()
            .pick_for::<ShareFetchRequest>(ApiKey::ShareFetch)
            .map_err(|_| super::unsupported(broker))?;
        let mut topics: Vec<FetchTopic> = Vec::new();
        for (tp, id) in &parts {
            let ack = acks.get(tp);
            if session.epoch != 0 && session.partitions.contains_key(tp) && ack.is_none() {
                continue;
            }
            let batches: Vec<AckBatchF> = ack
                .map(|m| {
                    ack_runs(m)
                        .into_iter()
                        .map(|(first, last, types)| {
                            AckBatchF::default()
                                .with_first_offset(first)
                                .with_last_offset(last)
                                .with_acknowledge_types(types)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let p = FetchPartition::default()
                .with_partition_index(tp.partition)
                .with_acknowledgement_batches(batches);
            match topics.iter_mut().find(|t| t.topic_id == *id) {
                Some(t) => t.partitions.push(p),
                None => topics.push(FetchTopic::default().with_topic_id(*id).with_partitions(vec![p])),
            }
        }
        let mut forgotten: Vec<ForgottenTopic> = Vec::new();
        if session.epoch != 0 {
            for (tp, id) in &session.partitions {
                if parts.iter().any(|(p, _)| p == tp) {
                    continue;
                }
                match forgotten.iter_mut().find(|t| t.topic_id == *id) {
                    Some(t) => t.partitions.push(tp.partition),
                    None => forgotten.push(
                        ForgottenTopic::default()
                            .with_topic_id(*id)
                            .with_partitions(vec![tp.partition]),
                    ),
                }
            }
        }
        let req = ShareFetchRequest::default()
            .with_group_id(Some(GroupId(StrBytes::from_string(cfg.group_id.clone()))))
            .with_member_id(Some(StrBytes::from_string(sh.member_id.clone())))
            .with_share_session_epoch(session.epoch)
            .with_max_wait_ms(max_wait.as_millis().min(i32::MAX as u128) as i32)
            .with_min_bytes(1)
            .with_max_bytes(cfg.consumer.fetch_max_bytes.min(i32::MAX as usize) as i32)
            .with_max_records(cfg.max_poll_records as i32)
            .with_batch_size(cfg.max_poll_records as i32)
            .with_topics(topics)
            .with_forgotten_topics_data(forgotten.clone());
        let timeout = sh.cluster.config().request_timeout + max_wait;
        let resp: ShareFetchResponse = conn.call(ApiKey::ShareFetch, &req, version, timeout).await?;
        Ok((resp, forgotten))
    }
    .await;
    let (resp, forgotten) = match result {
        Ok(r) => r,
        Err(e) => {
            // Whether the broker saw the request is unknown: open a new session.
            f.acks.extend(failed(&acks, &e));
            f.error = Some(e);
            return f;
        }
    };
    let top = ErrorCode(resp.error_code);
    if !top.is_ok() {
        let e = Error::broker(top, resp.error_message.as_deref());
        f.acks.extend(failed(&acks, &e));
        if top == ErrorCode::SHARE_SESSION_NOT_FOUND || top == ErrorCode::INVALID_SHARE_SESSION_EPOCH {
            tracing::info!(client = sh.cluster.config().log_id, broker, cause = %e, "share session lost; opening a new one");
        } else {
            f.error = Some(e);
        }
        return f;
    }
    session.epoch = next_epoch(session.epoch);
    for (tp, id) in &parts {
        session.partitions.insert(tp.clone(), *id);
    }
    for t in &forgotten {
        session
            .partitions
            .retain(|tp, id| !(id == &t.topic_id && t.partitions.contains(&tp.partition)));
    }
    f.session = session;
    f.lock_expires_at = now_ms() + f64::from(resp.acquisition_lock_timeout_ms.max(0));
    let inflate = cfg.consumer.fetch_max_bytes.saturating_mul(4);
    let mut budget = InflateBudget::new(inflate, inflate);
    let mut answered: Vec<TopicPartition> = Vec::new();
    for t in &resp.responses {
        for p in &t.partitions {
            let Some((tp, _)) = parts
                .iter()
                .find(|(tp, id)| *id == t.topic_id && tp.partition == p.partition_index)
            else {
                continue;
            };
            if let Some(m) = acks.get(tp) {
                answered.push(tp.clone());
                let code = ErrorCode(p.acknowledge_error_code);
                f.acks.push(AckResult {
                    tp: tp.clone(),
                    records: m.values().filter(|t| **t != AckType::Gap).count(),
                    error: (!code.is_ok()).then(|| {
                        Error::broker(code, p.acknowledge_error_message.as_deref())
                            .with_partition(&tp.topic, tp.partition)
                    }),
                });
            }
            let code = ErrorCode(p.error_code);
            if !code.is_ok() {
                f.stale_metadata |= code.is_invalid_metadata();
                tracing::warn!(client = sh.cluster.config().log_id, broker, topic = %tp.topic, partition = tp.partition, cause = %Error::broker(code, p.error_message.as_deref()), "share fetch of a partition failed");
                continue;
            }
            if let Some(records) = &p.records {
                take_records(sh, tp, records, &p.acquired_records, &mut budget, &mut f);
            }
        }
    }
    for (tp, m) in &acks {
        if !answered.contains(tp) {
            f.acks.push(AckResult {
                tp: tp.clone(),
                records: m.len(),
                error: Some(Error::new(
                    Kind::Protocol,
                    format!(
                        "the ShareFetch response of broker {broker} has no acknowledgement outcome for {}-{}",
                        tp.topic, tp.partition
                    ),
                )),
            });
        }
    }
    f
}

/// Decodes a partition's records and keeps the acquired ones, each with its delivery
/// count; acquired offsets without a record become gaps. Records that cannot be decoded
/// are released (the broker's delivery-count limit ends a poison batch) and reported.
fn take_records(
    sh: &Shared,
    tp: &TopicPartition,
    records: &Bytes,
    acquired: &[kafka_protocol::messages::share_fetch_response::AcquiredRecords],
    budget: &mut InflateBudget,
    f: &mut Fetched,
) {
    let Some(first) = acquired.iter().map(|a| a.first_offset).min() else {
        return;
    };
    let topic = sh.topic_index(&tp.topic);
    let count_of = |offset: i64| {
        acquired
            .iter()
            .find(|a| a.first_offset <= offset && offset <= a.last_offset)
            .map(|a| a.delivery_count.max(1) as u16)
    };
    let mut delivered: std::collections::BTreeSet<i64> = Default::default();
    if !records.is_empty() {
        match decode_partition(
            topic,
            tp.partition,
            records,
            first,
            sh.cfg.consumer.check_crcs,
            None,
            budget,
        ) {
            Ok(d) => {
                for mut batch in d.batches {
                    let mut counts = Vec::with_capacity(batch.records.len());
                    batch.records.retain(|r| match count_of(r.offset) {
                        Some(c) => {
                            counts.push(c);
                            true
                        }
                        None => false,
                    });
                    if batch.records.is_empty() {
                        continue;
                    }
                    delivered.extend(batch.records.iter().map(|r| r.offset));
                    f.batches.push((
                        tp.clone(),
                        ShareBatch {
                            batch,
                            delivery_counts: counts,
                        },
                    ));
                }
            }
            Err(e) => {
                let err = Error::new(
                    Kind::CorruptRecords,
                    format!(
                        "CORRUPT_MESSAGE: {}-{} at offset {first}: {e}; the acquired records are released",
                        tp.topic, tp.partition
                    ),
                )
                .with_partition(&tp.topic, tp.partition);
                tracing::error!(client = sh.cluster.config().log_id, cause = %err, "share fetch returned records that cannot be read");
                let mut a = sh.acks.lock();
                let pending = a.pending.entry(tp.clone()).or_default();
                for r in acquired {
                    for o in r.first_offset..=r.last_offset {
                        pending.insert(o, AckType::Release);
                    }
                }
                return;
            }
        }
    }
    for r in acquired {
        for o in r.first_offset..=r.last_offset {
            if !delivered.contains(&o) {
                f.gaps.push((tp.clone(), o));
            }
        }
    }
}

/// Sends the pending acknowledgements by ShareAcknowledge (all, or those of `only`), one
/// request per session broker; `closing` closes every session (epoch -1), which also
/// releases whatever else the broker has acquired for this member.
pub(super) async fn commit(sh: &Arc<Shared>, closing: bool, deadline: Instant) -> Result<Vec<super::AckResult>> {
    let mut sessions = tokio::time::timeout_at(deadline, sh.sessions.lock())
        .await
        .map_err(|_| {
            Error::new(
                Kind::Timeout,
                "commit: a poll held the share sessions past requestTimeoutMs",
            )
        })?;
    Ok(acknowledge(sh, &mut sessions, None, closing, deadline).await)
}

async fn acknowledge(
    sh: &Shared,
    sessions: &mut Sessions,
    only: Option<&[TopicPartition]>,
    closing: bool,
    deadline: Instant,
) -> Vec<AckResult> {
    let pending: PartitionAcks = {
        let mut a = sh.acks.lock();
        match only {
            None => {
                let mut all = std::mem::take(&mut a.pending);
                // Renewals of records still held (a record acknowledged meanwhile is
                // settled: it is not renewed).
                for (tp, offsets) in std::mem::take(&mut a.renew) {
                    let held = a.delivered.get(&tp);
                    let m = all.entry(tp.clone()).or_default();
                    for o in offsets {
                        if held.and_then(|d| d.get(&o)).is_some_and(|s| s.is_none()) {
                            m.entry(o).or_insert(AckType::Renew);
                        }
                    }
                }
                all.retain(|_, m| !m.is_empty());
                all
            }
            Some(tps) => tps
                .iter()
                .filter_map(|tp| a.pending.remove(tp).map(|m| (tp.clone(), m)))
                .collect(),
        }
    };
    let mut results = Vec::new();
    let mut by_broker: BTreeMap<i32, PartitionAcks> = BTreeMap::new();
    for (tp, m) in pending {
        match sessions.0.iter().find(|(_, s)| s.epoch != 0 && s.partitions.contains_key(&tp)) {
            Some((b, _)) => {
                by_broker.entry(*b).or_default().insert(tp, m);
            }
            None => results.extend(failed(
                &BTreeMap::from([(tp, m)]),
                &Error::broker(
                    ErrorCode::SHARE_SESSION_NOT_FOUND,
                    Some("no open share session holds this partition; its records are delivered again after the lock timeout"),
                ),
            )),
        }
    }
    if closing {
        for (b, s) in &sessions.0 {
            if s.epoch != 0 {
                by_broker.entry(*b).or_default();
            }
        }
    }
    let calls = by_broker.into_iter().map(|(broker, acks)| {
        let session = sessions.0.get(&broker).cloned().unwrap_or_default();
        ack_one(sh, broker, session, acks, closing, deadline)
    });
    for (broker, session, r) in futures_util::future::join_all(calls).await {
        match session {
            Some(s) => {
                sessions.0.insert(broker, s);
            }
            None => {
                sessions.0.remove(&broker);
            }
        }
        results.extend(r);
    }
    results
}

/// One ShareAcknowledge; the session after it (`None`: closed or lost).
async fn ack_one(
    sh: &Shared,
    broker: i32,
    mut session: Session,
    acks: PartitionAcks,
    closing: bool,
    deadline: Instant,
) -> (i32, Option<Session>, Vec<AckResult>) {
    let epoch = if closing { -1 } else { session.epoch };
    let result: Result<ShareAcknowledgeResponse> = async {
        let conn = tokio::time::timeout_at(deadline, sh.cluster.connection(broker, Purpose::Fetch))
            .await
            .map_err(|_| Error::new(Kind::RequestTimeout, format!("connecting to broker {broker} timed out")))??;
        let version = conn
            .versions()
            .pick_for::<ShareAcknowledgeRequest>(ApiKey::ShareAcknowledge)
            .map_err(|_| super::unsupported(broker))?;
        let renew = acks.values().any(|m| m.values().any(|t| *t == AckType::Renew));
        if renew && version < 2 {
            return Err(Error::new(
                Kind::UnsupportedVersion,
                format!("broker {broker} cannot renew acquisition locks (KIP-1222 needs ShareAcknowledge v2; it speaks v{version})"),
            ));
        }
        let mut topics: Vec<AcknowledgeTopic> = Vec::new();
        for (tp, m) in &acks {
            let Some(id) = session.partitions.get(tp) else { continue };
            let batches: Vec<AckBatchA> = ack_runs(m)
                .into_iter()
                .map(|(first, last, types)| {
                    AckBatchA::default()
                        .with_first_offset(first)
                        .with_last_offset(last)
                        .with_acknowledge_types(types)
                })
                .collect();
            let p = AcknowledgePartition::default()
                .with_partition_index(tp.partition)
                .with_acknowledgement_batches(batches);
            match topics.iter_mut().find(|t| t.topic_id == *id) {
                Some(t) => t.partitions.push(p),
                None => topics.push(AcknowledgeTopic::default().with_topic_id(*id).with_partitions(vec![p])),
            }
        }
        let req = ShareAcknowledgeRequest::default()
            .with_group_id(Some(GroupId(StrBytes::from_string(sh.cfg.group_id.clone()))))
            .with_member_id(Some(StrBytes::from_string(sh.member_id.clone())))
            .with_share_session_epoch(epoch)
            .with_is_renew_ack(renew)
            .with_topics(topics);
        conn.call(
            ApiKey::ShareAcknowledge,
            &req,
            version,
            remaining(deadline).max(Duration::from_millis(1)),
        )
        .await
    }
    .await;
    let resp = match result {
        Ok(r) => r,
        Err(e) => return (broker, None, failed(&acks, &e)),
    };
    let top = ErrorCode(resp.error_code);
    if !top.is_ok() {
        let e = Error::broker(top, resp.error_message.as_deref());
        return (broker, None, failed(&acks, &e));
    }
    let mut results = Vec::with_capacity(acks.len());
    for (tp, m) in &acks {
        let id = session.partitions.get(tp).copied();
        let p = resp
            .responses
            .iter()
            .filter(|t| Some(t.topic_id) == id)
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == tp.partition);
        let error = match p {
            Some(p) if ErrorCode(p.error_code).is_ok() => None,
            Some(p) => Some(
                Error::broker(ErrorCode(p.error_code), p.error_message.as_deref())
                    .with_partition(&tp.topic, tp.partition),
            ),
            None => Some(Error::new(
                Kind::Protocol,
                format!(
                    "the ShareAcknowledge response of broker {broker} has no outcome for {}-{}",
                    tp.topic, tp.partition
                ),
            )),
        };
        results.push(AckResult {
            tp: tp.clone(),
            records: m.values().filter(|t| **t != AckType::Gap).count(),
            error,
        });
    }
    if closing {
        return (broker, None, results);
    }
    session.epoch = next_epoch(session.epoch);
    (broker, Some(session), results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_become_runs_of_consecutive_offsets() {
        let m = BTreeMap::from([
            (1, AckType::Accept),
            (2, AckType::Accept),
            (3, AckType::Accept),
            (5, AckType::Release),
            (6, AckType::Reject),
            (9, AckType::Gap),
        ]);
        assert_eq!(ack_runs(&m), vec![(1, 3, vec![1]), (5, 6, vec![2, 3]), (9, 9, vec![0])]);
    }

    #[test]
    fn the_session_epoch_wraps_to_one() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(i32::MAX), 1);
    }
}
