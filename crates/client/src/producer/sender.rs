//! The sender task: wakes on sealed batches, linger deadlines, retries and metadata, and
//! drains the accumulator into Produce requests, one per broker at a time.
//!
//! Each broker has a sink task that writes its requests in the order they were drained
//! (so batches of one partition reach the broker in order) on the broker's produce
//! connection, pipelined up to `maxInFlightRequestsPerConnection`; responses are awaited
//! concurrently and settle their batches: report, or requeue for a retry.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProduceResponse, ProducerId};
use nkafka_protocol::error::ErrorCode;
use nkafka_protocol::produce::{self, ProduceRequestBuilder};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::accumulator::{Batch, Drained};
use super::{txn, Shared};
use crate::cluster::Purpose;
use crate::config::{Acks, ClientConfig};
use crate::error::{Error, Kind, Result};

pub(crate) async fn run(shared: Arc<Shared>) {
    let cfg = shared.cfg.clone();
    let mut last_refresh: Option<Instant> = None;
    let mut refreshing: Option<tokio::task::JoinHandle<()>> = None;
    let mut attempt: u64 = 0;
    let mut sinks: HashMap<i32, mpsc::UnboundedSender<Unsettled>> = HashMap::new();
    let mut producer_id_busy: Option<tokio::task::JoinHandle<()>> = None;
    let mut adding: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        if shared.stopped.load(Ordering::Acquire) {
            break;
        }
        let now = Instant::now();
        let buffer_pressure = shared.buffered.load(Ordering::Relaxed) * 10 >= cfg.buffer_memory * 9;
        crate::task::fail_point("sender");
        let work = shared.acc.lock().collect(now, buffer_pressure);
        shared.push_reports(work.failed);
        if work.need_producer_id && producer_id_busy.as_ref().is_none_or(|h| h.is_finished()) {
            producer_id_busy = Some(shared.spawn("init-producer-id", init_producer_id(shared.clone())));
        }
        if !work.add_partitions.is_empty() && adding.as_ref().is_none_or(|h| h.is_finished()) {
            let mut parts = work.add_partitions;
            parts.sort_unstable();
            parts.dedup();
            adding = Some(shared.spawn("add-partitions", add_partitions(shared.clone(), parts)));
        }
        for req in work.requests {
            let broker = req.broker;
            let tx = sinks.entry(broker).or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                shared.spawn("sink", sink(shared.clone(), broker, rx));
                tx
            });
            // The accumulator allows at most maxInFlight requests per broker, so this
            // queue stays short. A stopped sink drops the request, which settles it.
            let _ = tx.send(Unsettled::new(&shared, req));
        }

        // Metadata: when a topic or leader is unknown (rate-limited by retryBackoffMs),
        // and every metadataMaxAgeMs.
        let mut next_wake = work.next_wake;
        let wanted = work.need_metadata || shared.metadata_wanted.swap(false, Ordering::AcqRel);
        let due = match last_refresh {
            None => wanted,
            Some(t) if wanted => now >= t + cfg.client.retry_backoff,
            Some(t) => now >= t + cfg.client.metadata_max_age,
        };
        let busy = refreshing.as_ref().is_some_and(|h| !h.is_finished());
        if wanted && !due {
            let at = last_refresh.map(|t| t + cfg.client.retry_backoff);
            next_wake = match (next_wake, at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            shared.metadata_wanted.store(true, Ordering::Release);
        }
        if due && !busy && !shared.acc.lock().topics.is_empty() {
            last_refresh = Some(now);
            attempt += 1;
            refreshing = Some(shared.spawn("metadata-refresh", refresh(shared.clone(), attempt)));
        }

        let sleep = async {
            match next_wake {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = sleep => {}
        }
    }
}

async fn refresh(shared: Arc<Shared>, _attempt: u64) {
    crate::task::fail_point("metadata-refresh");
    let topics = shared.acc.lock().topic_names();
    match shared.cluster.refresh(Some(&topics), true).await {
        Ok(meta) => {
            let mut failed = Vec::new();
            let mut acc = shared.acc.lock();
            acc.metadata_failure = None;
            acc.apply_metadata(&meta, &shared.buffered, &mut failed);
            drop(acc);
            shared.push_reports(failed);
        }
        Err(e) if e.is_auth() => {
            tracing::error!(client = shared.cfg.client.log_id, cause = %e, "metadata refresh failed: authentication");
            // Bad credentials or an untrusted certificate (KIP-152): the records waiting
            // for metadata fail now with that error instead of at maxBlockMs; the next
            // refresh (after the backoff) tries again, in case the cause is fixed.
            let mut failed = Vec::new();
            shared.acc.lock().fail_all_waiting(&e, &mut failed);
            shared.push_reports(failed);
            shared.metadata_wanted.store(true, Ordering::Release);
        }
        Err(e) => {
            tracing::warn!(client = shared.cfg.client.log_id, cause = %e, "metadata refresh failed; retrying after the backoff");
            // Unreachable cluster: records keep waiting until maxBlockMs / deliveryTimeoutMs
            // say otherwise (and then fail with this cause); ask again after the backoff.
            shared.acc.lock().metadata_failure = Some(e);
            shared.metadata_wanted.store(true, Ordering::Release);
        }
    }
    shared.wake.notify_one();
}

/// How a batch came out of a request.
enum Outcome {
    Ok { base_offset: i64, log_append_time: i64 },
    Failed(Error),
}

type Response = Pin<Box<dyn Future<Output = Result<Option<ProduceResponse>>> + Send>>;

/// A drained request on its way to a response. Dropped unsettled (its sink or response
/// task panicked or stopped, with it still queued or in hand), it settles its batches with
/// the producer's poison error, so no record of it waits forever for a report.
struct Unsettled {
    shared: Arc<Shared>,
    req: Option<Drained>,
}

impl Unsettled {
    fn new(shared: &Arc<Shared>, req: Drained) -> Self {
        Unsettled {
            shared: shared.clone(),
            req: Some(req),
        }
    }

    fn take(&mut self) -> Drained {
        self.req.take().expect("an unsettled request is taken once")
    }
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        let Some(req) = self.req.take() else { return };
        if std::thread::panicking() && self.shared.poisoned.lock().is_none() {
            // Unwinding out of a panicked task, before its failure path ran (and maybe
            // with the accumulator locked): `poison` settles it.
            self.shared.orphans.lock().push(req);
            return;
        }
        let err = self.shared.poisoned.lock().clone();
        let err = err.unwrap_or_else(|| Error::new(Kind::Internal, "INTERNAL: a produce request was dropped unsent"));
        settle(&self.shared, req, Err(err), true);
    }
}

/// Settles the requests dropped while a task panicked (called by `Shared::poison`, after
/// it set the error that `settle` then reports them with).
pub(super) fn settle_orphans(shared: &Shared) {
    let orphans = std::mem::take(&mut *shared.orphans.lock());
    for req in orphans {
        settle(
            shared,
            req,
            Err(Error::new(Kind::Internal, "INTERNAL: a task panicked")),
            true,
        );
    }
}

/// Writes one broker's requests in drain order; awaits their responses concurrently.
async fn sink(shared: Arc<Shared>, broker: i32, mut rx: mpsc::UnboundedReceiver<Unsettled>) {
    while let Some(mut pending) = rx.recv().await {
        crate::task::fail_point("sink");
        let req = pending.req.as_mut().expect("queued requests are unsettled");
        let mut failed = None;
        for b in &mut req.batches {
            if let Err(e) = b.finalize(shared.cfg.compression, shared.cfg.compression_level) {
                failed = Some(e);
            }
        }
        if let Some(e) = failed {
            settle(&shared, pending.take(), Err(e), false);
            continue;
        }
        match start_request(&shared, broker, &req.batches).await {
            Ok(response) => {
                let sh = shared.clone();
                shared.spawn("produce-response", async move {
                    let result = response.await;
                    crate::task::fail_point("produce-response");
                    settle(&sh, pending.take(), result, true);
                });
            }
            Err(e) => settle(&shared, pending.take(), Err(e), false),
        }
    }
}

/// Settles the batches of a finished request: report them, or requeue them for a retry.
///
/// `written`: the request reached the connection's writer, so a connection error or
/// timeout leaves its batches' outcome unknown.
fn settle(shared: &Shared, req: Drained, result: Result<Option<ProduceResponse>>, written: bool) {
    let Drained { broker, batches } = req;
    // A poisoned producer (a task panicked) fails everything with that error.
    let result = match shared.poisoned.lock().clone() {
        Some(e) => Err(e),
        None => result,
    };
    let ambiguous = written && matches!(&result, Err(e) if matches!(e.kind, Kind::Network | Kind::RequestTimeout));
    let now = Instant::now();
    let mut reports = Vec::with_capacity(batches.len());
    let mut need_metadata = false;
    {
        let mut acc = shared.acc.lock();
        acc.request_done(broker);
        for mut b in batches {
            b.ambiguous |= ambiguous;
            let name = acc.topic_name(b.topic);
            let outcome = match &result {
                Err(e) => Outcome::Failed(e.clone()),
                Ok(None) => Outcome::Ok {
                    base_offset: -1,
                    log_append_time: -1,
                },
                Ok(Some(resp)) => partition_outcome(resp, &name, b.partition),
            };
            if let (Ok(Some(_)), Outcome::Failed(err)) = (&result, &outcome) {
                b.ambiguous |= may_be_written(err);
            }
            match outcome {
                Outcome::Ok {
                    base_offset,
                    log_append_time,
                } => {
                    acc.finish_batch(&b, true);
                    reports.push(b.into_report(base_offset, log_append_time, None));
                }
                Outcome::Failed(err) if acc.is_idempotent() && idempotence_error(&err).is_some() => {
                    let err = err.with_partition(&name, b.partition);
                    match idempotence_error(&err).expect("checked") {
                        // The broker already has it (a retry of a write that succeeded).
                        IdempotenceError::Duplicate => {
                            acc.finish_batch(&b, true);
                            reports.push(b.into_report(-1, -1, None));
                        }
                        IdempotenceError::OutOfOrder | IdempotenceError::UnknownProducer
                            if acc.has_earlier_unsettled(&b) =>
                        {
                            // An earlier batch of the partition is being retried (its
                            // outcome is not known yet): resend this one after it, with the
                            // same sequence. Only the broker's answer to the earliest
                            // unsettled batch can prove the sequence state lost.
                            shared.retries.fetch_add(1, Ordering::Relaxed);
                            acc.requeue(b, now);
                        }
                        IdempotenceError::OutOfOrder | IdempotenceError::UnknownProducer => {
                            // The broker lost this producer's state: bump the epoch
                            // (KIP-360) once nothing is in flight, then resend with fresh
                            // sequences (or fail it if it may already be in the log).
                            tracing::info!(client = shared.cfg.client.log_id, topic = %name, partition = b.partition, cause = %err, "the broker lost the producer's state; bumping the epoch");
                            acc.bump_needed = true;
                            shared.retries.fetch_add(1, Ordering::Relaxed);
                            acc.requeue(b, now);
                        }
                        IdempotenceError::Fenced => {
                            tracing::error!(client = shared.cfg.client.log_id, cause = %err, "producer fenced");
                            acc.fatal = Some(err.clone());
                            if shared.txn.is_some() {
                                *shared.phase.lock() = txn::Phase::Fatal(err.clone());
                            }
                            acc.finish_batch(&b, false);
                            reports.push(b.into_report(-1, -1, Some(err)));
                        }
                    }
                }
                Outcome::Failed(err) => {
                    let err = err.with_partition(&name, b.partition);
                    let retry_at = now
                        + ClientConfig::backoff(
                            shared.cfg.client.retry_backoff,
                            shared.cfg.client.retry_backoff_max,
                            b.attempts,
                            b.seq,
                        );
                    let in_time = retry_at < b.created + shared.cfg.delivery_timeout;
                    let closed = shared.stopped.load(Ordering::Acquire);
                    if retriable(&err) && b.attempts < shared.cfg.retries && in_time && !closed {
                        if refreshes_metadata(&err) {
                            acc.invalidate_leader(b.topic, b.partition);
                            need_metadata = true;
                        }
                        tracing::debug!(client = shared.cfg.client.log_id, topic = %name, partition = b.partition, attempt = b.attempts, cause = %err, "retrying batch");
                        shared.retries.fetch_add(1, Ordering::Relaxed);
                        acc.requeue(b, retry_at);
                    } else {
                        acc.finish_batch(&b, false);
                        if b.fields.transactional {
                            acc.txn_error.get_or_insert_with(|| err.clone());
                        }
                        reports.push(b.into_report(-1, -1, Some(err)));
                    }
                }
            }
        }
    }
    shared.push_reports(reports);
    if need_metadata {
        shared.metadata_wanted.store(true, Ordering::Release);
    }
    shared.wake.notify_one();
}

/// Errors the idempotent producer handles itself (Java's TransactionManager rules).
enum IdempotenceError {
    Duplicate,
    OutOfOrder,
    UnknownProducer,
    Fenced,
}

fn idempotence_error(err: &Error) -> Option<IdempotenceError> {
    match err.kind {
        Kind::Broker(c) if c == ErrorCode::DUPLICATE_SEQUENCE_NUMBER => Some(IdempotenceError::Duplicate),
        Kind::Broker(c) if c == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => Some(IdempotenceError::OutOfOrder),
        Kind::Broker(c) if c == ErrorCode::UNKNOWN_PRODUCER_ID => Some(IdempotenceError::UnknownProducer),
        Kind::Broker(c) if c == ErrorCode::INVALID_PRODUCER_EPOCH || c == ErrorCode::PRODUCER_FENCED => {
            Some(IdempotenceError::Fenced)
        }
        _ => None,
    }
}

/// Adds partitions to the open transaction, then lets their batches go.
async fn add_partitions(shared: Arc<Shared>, parts: Vec<(u32, i32)>) {
    crate::task::fail_point("add-partitions");
    let Some(txn) = shared.txn.as_ref() else { return };
    let (producer, names, generation) = {
        let acc = shared.acc.lock();
        let names: Vec<(Arc<str>, i32)> = parts.iter().map(|&(t, p)| (acc.topic_name(t), p)).collect();
        (acc.producer, names, acc.txn_generation)
    };
    let Some(producer) = producer else { return };
    let deadline = Instant::now() + shared.cfg.client.request_timeout;
    let result = txn.add_partitions(producer, &names, deadline).await;
    let mut failed = Vec::new();
    {
        let mut acc = shared.acc.lock();
        if acc.txn_generation != generation || !acc.txn_open {
            // The transaction it was for has ended (aborted meanwhile): a stale answer,
            // possibly a fencing error for the old epoch. Ignore it.
            drop(acc);
            shared.wake.notify_one();
            return;
        }
        match result {
            Ok(()) => {
                acc.txn_added.extend(parts.iter().copied());
                acc.txn_started = true;
            }
            Err(e) => {
                if let Kind::Broker(c) = e.kind {
                    if txn::is_fatal(c) {
                        acc.fatal = Some(e.clone());
                        *shared.phase.lock() = txn::Phase::Fatal(e.clone());
                    }
                }
                acc.txn_error.get_or_insert_with(|| e.clone());
                acc.fail_partitions(&parts, &e, &mut failed);
            }
        }
    }
    shared.push_reports(failed);
    shared.wake.notify_one();
}

/// Asks for a producer id (first use) or a new epoch of the current one (KIP-360 bump),
/// retrying retriable errors with backoff, then lets the sender go on.
async fn init_producer_id(shared: Arc<Shared>) {
    crate::task::fail_point("init-producer-id");
    let mut attempt = 0u32;
    loop {
        if shared.stopped.load(Ordering::Acquire) {
            return;
        }
        let current = shared.acc.lock().producer;
        match request_producer_id(&shared, current).await {
            Ok((id, epoch)) => {
                tracing::info!(
                    client = shared.cfg.client.log_id,
                    producer_id = id,
                    epoch,
                    "producer id assigned"
                );
                let mut failed = Vec::new();
                shared.acc.lock().set_producer(id, epoch, &mut failed);
                shared.push_reports(failed);
                shared.wake.notify_one();
                return;
            }
            Err(e) if e.is_auth() => {
                tracing::error!(client = shared.cfg.client.log_id, attempt, cause = %e, "InitProducerId failed: authentication");
                // Not fatal: the producer works again once credentials or trust are fixed.
                // Until then nothing can be sent, so nothing waits for deliveryTimeoutMs.
                let mut failed = Vec::new();
                shared.acc.lock().fail_all_waiting(&e, &mut failed);
                shared.push_reports(failed);
            }
            Err(e) if !e.retriable() && !matches!(e.kind, Kind::Broker(_)) => {
                // Unreachable cluster or protocol problem: keep trying; records time out
                // by deliveryTimeoutMs meanwhile.
                tracing::warn!(client = shared.cfg.client.log_id, attempt, cause = %e, "InitProducerId failed; retrying");
            }
            Err(e) if matches!(e.kind, Kind::Broker(c) if !c.is_retriable()) => {
                tracing::error!(client = shared.cfg.client.log_id, cause = %e, "InitProducerId failed; the producer is fatally failed");
                shared.acc.lock().fatal = Some(e);
                shared.wake.notify_one();
                return;
            }
            Err(ref e) => {
                tracing::warn!(client = shared.cfg.client.log_id, attempt, cause = %e, "InitProducerId failed (retriable); retrying");
            }
        }
        let wait = ClientConfig::backoff(
            shared.cfg.client.retry_backoff,
            shared.cfg.client.retry_backoff_max,
            attempt,
            11,
        );
        attempt = attempt.saturating_add(1);
        tokio::time::sleep(wait).await;
    }
}

async fn request_producer_id(shared: &Shared, current: Option<(i64, i16)>) -> Result<(i64, i16)> {
    let deadline = Instant::now() + shared.cfg.client.request_timeout;
    let conn = shared.cluster.any_connection(deadline).await?;
    let version = conn
        .versions()
        .pick_for::<InitProducerIdRequest>(ApiKey::InitProducerId)?;
    let mut req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(i32::MAX);
    // KIP-360 (v3+): ask for the next epoch of the same producer id.
    if let (Some((id, epoch)), true) = (current, version >= 3) {
        req = req.with_producer_id(ProducerId(id)).with_producer_epoch(epoch);
    }
    let resp: InitProducerIdResponse = conn
        .call(ApiKey::InitProducerId, &req, version, shared.cfg.client.request_timeout)
        .await?;
    let code = ErrorCode(resp.error_code);
    if !code.is_ok() {
        return Err(Error::broker(code, None));
    }
    Ok((resp.producer_id.0, resp.producer_epoch))
}

/// Errors a batch is retried after (until deliveryTimeoutMs). BROKER_NOT_AVAILABLE here
/// is the cluster's "broker N is not in the metadata": the leader we had left the broker
/// list (killed, shutting down, restarting); fresh metadata names the new one.
fn retriable(err: &Error) -> bool {
    err.retriable() || matches!(err.kind, Kind::Broker(c) if c == ErrorCode::BROKER_NOT_AVAILABLE)
}

/// Partition errors of a Produce response after which the batch may be in the log: the
/// leader appended it, then timed out waiting for the in-sync replicas, lost them, or lost
/// its leadership while waiting (the new leader may have replicated it).
fn may_be_written(err: &Error) -> bool {
    matches!(err.kind, Kind::Broker(c) if c == ErrorCode::REQUEST_TIMED_OUT
        || c == ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
        || c == ErrorCode::NOT_LEADER_OR_FOLLOWER)
}

/// Errors after which the leader we used is probably wrong.
fn refreshes_metadata(err: &Error) -> bool {
    match err.kind {
        Kind::Broker(c) if c == ErrorCode::BROKER_NOT_AVAILABLE => true,
        Kind::Broker(c) => c.is_invalid_metadata(),
        Kind::Network | Kind::RequestTimeout => true,
        _ => false,
    }
}

/// Queues the request on the broker's connection; the returned future is its response.
async fn start_request(shared: &Shared, broker: i32, batches: &[Batch]) -> Result<Response> {
    let cfg = &shared.cfg;
    let conn = shared.cluster.connection(broker, Purpose::Produce).await?;
    let version = conn
        .versions()
        .pick(produce::API_KEY, produce::MIN_VERSION, produce::MAX_VERSION)
        .ok_or_else(|| {
            Error::new(
                Kind::UnsupportedVersion,
                "the broker supports no Produce version between 3 and 12",
            )
        })?;
    // Group by topic, keeping first-seen order.
    let mut order: Vec<u32> = Vec::new();
    let mut by_topic: HashMap<u32, Vec<&Batch>> = HashMap::new();
    for b in batches {
        by_topic
            .entry(b.topic)
            .or_insert_with(|| {
                order.push(b.topic);
                Vec::new()
            })
            .push(b);
    }
    let names: Vec<Arc<str>> = {
        let acc = shared.acc.lock();
        order.iter().map(|t| acc.topic_name(*t)).collect()
    };
    let timeout_ms = cfg.client.request_timeout.as_millis().min(i32::MAX as u128) as i32;
    // Transactional batches must name their transactional id (the broker checks it).
    let transactional_id = if batches.iter().any(|b| b.fields.transactional) {
        cfg.transactional_id.as_deref()
    } else {
        None
    };
    let mut rb = ProduceRequestBuilder::new(
        version,
        Some(conn.client_id()),
        transactional_id,
        cfg.acks.wire(),
        timeout_ms,
        order.len(),
    );
    for (t, name) in order.iter().zip(&names) {
        let bs = &by_topic[t];
        rb.topic(name, bs.len());
        for b in bs {
            rb.partition(b.partition, b.bytes.clone());
        }
    }
    let frame = rb.finish();
    if cfg.acks == Acks::None {
        let written = conn.send_only(frame, produce::API_KEY, version).await?;
        return Ok(Box::pin(async move {
            written.await?;
            Ok(None)
        }));
    }
    let response = conn
        .send(frame, produce::API_KEY, version, cfg.client.request_timeout)
        .await?;
    Ok(Box::pin(async move {
        let body = response.await?;
        Ok(Some(produce::decode_response_body(version, body)?))
    }))
}

fn partition_outcome(resp: &ProduceResponse, topic: &str, partition: i32) -> Outcome {
    for t in &resp.responses {
        if &*t.name.0 != topic {
            continue;
        }
        for p in &t.partition_responses {
            if p.index != partition {
                continue;
            }
            let code = ErrorCode(p.error_code);
            if code.is_ok() {
                return Outcome::Ok {
                    base_offset: p.base_offset,
                    log_append_time: p.log_append_time_ms,
                };
            }
            let mut msg = p.error_message.as_deref().map(str::to_string);
            if msg.is_none() {
                if let Some(r) = p.record_errors.first() {
                    msg = r.batch_index_error_message.as_deref().map(str::to_string);
                }
            }
            return Outcome::Failed(Error::broker(code, msg.as_deref()));
        }
    }
    Outcome::Failed(Error::new(
        Kind::Protocol,
        format!("the produce response has no result for {topic}-{partition}"),
    ))
}
