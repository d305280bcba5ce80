//! The producer: `produce()` encodes a record into its partition's batch on the caller's
//! thread; a sender task drains ready batches into one pipelined request per broker;
//! outcomes come back as batch reports through one coalescing queue.
//!
//! Life of a record: append (accumulator) -> batch sealed by size, linger, flush or close
//! -> drained into a Produce request (sender) -> response -> report queued -> the report
//! consumer (the JS binding) takes the reports, which frees their buffer memory and
//! counts them as delivered for `flush`.

mod accumulator;
mod sender;
mod txn;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

pub use accumulator::{BatchReport, Persisted, Record};

use crate::cluster::{Cluster, Metadata, Purpose};
use crate::config::ProducerConfig;
use crate::error::{Error, Kind, Result};
use accumulator::Accumulator;
use nkafka_protocol::error::ErrorCode;

/// Called (from any thread) when reports become available after the queue was empty.
pub type ReportNotifier = Box<dyn Fn() + Send + Sync>;

/// Counters for `stats()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// Bytes of buffer memory in use.
    pub buffered_bytes: usize,
    /// Records produced and not yet reported.
    pub outstanding: u64,
    /// Produce requests written.
    pub requests: usize,
    /// Highest number of produce requests in flight on one connection.
    pub max_in_flight: usize,
    /// Batch retries after retriable errors.
    pub retries: usize,
    /// Metadata refreshes done.
    pub metadata_refreshes: u64,
    /// Idempotent producer id and epoch (-1 when not idempotent or not yet known).
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Broker connections attempted (a failing broker or bad credentials show as a
    /// count that grows with the reconnect backoff, not a storm).
    pub connection_attempts: u64,
    /// KIP-368 re-authentications of live connections.
    pub reauthentications: usize,
}

pub(crate) struct Shared {
    cfg: ProducerConfig,
    cluster: Arc<Cluster>,
    acc: Mutex<Accumulator>,
    /// Wakes the sender.
    wake: Notify,
    /// Wakes flush waiters when reports were taken.
    delivered: Notify,
    reports: Mutex<Vec<BatchReport>>,
    notifier: ReportNotifier,
    buffered: AtomicUsize,
    closed: AtomicBool,
    /// Set when the sender should stop.
    stopped: AtomicBool,
    retries: AtomicUsize,
    metadata_wanted: AtomicBool,
    /// Transactions, when `transactionalId` is set.
    txn: Option<txn::TxnClient>,
    phase: Mutex<txn::Phase>,
    /// Set when a background task panicked: the producer is closed with this error.
    poisoned: Mutex<Option<Error>>,
    /// Requests dropped while a task panicked, settled by `poison` (see `sender::Unsettled`).
    orphans: Mutex<Vec<accumulator::Drained>>,
}

impl Shared {
    /// Spawns one of the producer's background tasks (see `crate::task`). Any of them
    /// panicking poisons the producer: the accumulator is shared with every task and with
    /// `produce()`, and a panic may have left it half-updated (parking_lot locks do not
    /// poison), so restarting a task from it is not safe.
    fn spawn(
        self: &Arc<Self>,
        name: &'static str,
        fut: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let shared = self.clone();
        crate::task::spawn(name, fut, move |e| shared.poison(e))
    }

    /// Closes the producer with `err` (a task panicked): every record not yet reported,
    /// later calls, flushes and transactions fail with it. Requests still in flight settle
    /// with it too (see `settle`); the connections close so none of them waits long.
    fn poison(&self, err: Error) {
        {
            let mut p = self.poisoned.lock();
            if p.is_some() {
                return;
            }
            *p = Some(err.clone());
        }
        self.closed.store(true, Ordering::Release);
        self.stopped.store(true, Ordering::Release);
        if self.txn.is_some() {
            *self.phase.lock() = txn::Phase::Fatal(err.clone());
        }
        let mut failed = Vec::new();
        {
            let mut acc = self.acc.lock();
            acc.fatal = Some(err.clone());
            acc.closing = true;
            acc.fail_all(&err, &mut failed);
        }
        self.push_reports(failed);
        sender::settle_orphans(self);
        self.wake.notify_one();
        self.delivered.notify_waiters();
        self.cluster.close();
    }

    /// The error a closed producer fails calls with.
    fn closed_error(&self, what: &str) -> Error {
        self.poisoned.lock().clone().unwrap_or_else(|| Error::closed(what))
    }

    fn push_reports(&self, mut reports: Vec<BatchReport>) {
        if reports.is_empty() {
            return;
        }
        let was_empty = {
            let mut q = self.reports.lock();
            let was_empty = q.is_empty();
            q.append(&mut reports);
            was_empty
        };
        if was_empty {
            (self.notifier)();
        }
    }
}

/// A Kafka producer. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct Producer {
    shared: Arc<Shared>,
}

impl Producer {
    /// Starts a producer. Must be called inside a tokio runtime (the sender task is
    /// spawned on it). `notifier` is called when reports are ready to take.
    pub fn new(cfg: ProducerConfig, notifier: ReportNotifier) -> Result<Producer> {
        cfg.validate()?;
        let cluster = Cluster::new(cfg.client.clone(), cfg.max_in_flight);
        let txn = cfg
            .transactional_id
            .clone()
            .map(|id| txn::TxnClient::new(cluster.clone(), id, cfg.transaction_timeout));
        let shared = Arc::new(Shared {
            txn,
            phase: Mutex::new(txn::Phase::Uninitialized),
            acc: Mutex::new(Accumulator::new(&cfg)),
            cfg,
            cluster,
            wake: Notify::new(),
            delivered: Notify::new(),
            reports: Mutex::new(Vec::new()),
            notifier,
            buffered: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            retries: AtomicUsize::new(0),
            metadata_wanted: AtomicBool::new(false),
            poisoned: Mutex::new(None),
            orphans: Mutex::new(Vec::new()),
        });
        shared.spawn("sender", sender::run(shared.clone()));
        Ok(Producer { shared })
    }

    /// Interns a topic name (validated against Kafka's rules). Later `produce` calls take
    /// the id, so the hot path never hashes or copies the name.
    pub fn topic_id(&self, name: &str) -> Result<u32> {
        crate::cluster::validate_topic_name(name)?;
        let (id, new) = self.shared.acc.lock().topic_id(name);
        if new {
            self.shared.metadata_wanted.store(true, Ordering::Release);
            self.shared.wake.notify_one();
        }
        Ok(id)
    }

    /// Encodes a record into its partition's open batch. Never waits: when buffer memory
    /// is exhausted it fails at once with BUFFER_FULL.
    #[inline]
    pub fn produce(&self, topic_id: u32, rec: &Record<'_>) -> Result<()> {
        if self.shared.closed.load(Ordering::Relaxed) {
            return Err(self.shared.closed_error("the producer"));
        }
        let r = self.shared.acc.lock().append(topic_id, rec, &self.shared.buffered);
        match r {
            Ok(false) => Ok(()),
            Ok(true) => {
                self.shared.wake.notify_one();
                Ok(())
            }
            Err(e) => {
                if e.kind == Kind::BufferFull {
                    // Full buffers make every batch ready: wake the sender.
                    self.shared.wake.notify_one();
                }
                Err(e)
            }
        }
    }

    /// Takes every report queued so far, freeing their buffer memory. The caller (on the
    /// JS thread) fans them out to callbacks and promises.
    pub fn take_reports(&self) -> Vec<BatchReport> {
        let reports = std::mem::take(&mut *self.shared.reports.lock());
        if reports.is_empty() {
            return reports;
        }
        let mut freed = 0;
        {
            let mut acc = self.shared.acc.lock();
            for r in &reports {
                freed += r.accounted;
                acc.complete(r.epoch, r.count.max(0) as u64);
            }
        }
        self.shared.buffered.fetch_sub(freed, Ordering::Relaxed);
        self.shared.delivered.notify_waiters();
        // Space freed: lingering batches no longer need to be pushed out early.
        self.shared.wake.notify_one();
        reports
    }

    /// Waits until every record produced before the call has been reported (and its report
    /// taken), sending lingering batches at once.
    pub async fn flush(&self, timeout: Duration) -> Result<()> {
        if let Some(e) = self.shared.poisoned.lock().clone() {
            return Err(e);
        }
        let Some(target) = self.shared.acc.lock().begin_flush() else {
            return Ok(());
        };
        self.shared.wake.notify_one();
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.delivered.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(e) = self.shared.poisoned.lock().clone() {
                return Err(e);
            }
            let outstanding = {
                let acc = self.shared.acc.lock();
                if acc.flushed(target) {
                    return Ok(());
                }
                acc.outstanding()
            };
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Error::new(
                        Kind::Timeout,
                        format!("flush timed out after {} ms with {outstanding} record(s) still pending", timeout.as_millis()),
                    ));
                }
            }
        }
    }

    /// Flushes within `timeout`, then fails whatever is left with CLIENT_CLOSED and closes
    /// the connections. Later calls fail with CLIENT_CLOSED.
    pub async fn close(&self, timeout: Duration) -> Result<()> {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return match self.shared.poisoned.lock().clone() {
                Some(e) => Err(e),
                None => Ok(()),
            };
        }
        self.shared.acc.lock().closing = true;
        self.shared.wake.notify_one();
        let flushed = self.flush(timeout).await;
        let mut failed = Vec::new();
        self.shared.acc.lock().fail_all(
            &Error::closed("the producer (closed before the record was sent)"),
            &mut failed,
        );
        self.shared.push_reports(failed);
        self.shared.stopped.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        // In-flight requests fail fast on closed connections and report their batches.
        self.shared.cluster.close();
        flushed
    }

    fn txn(&self) -> Result<&txn::TxnClient> {
        self.shared.txn.as_ref().ok_or_else(|| {
            Error::new(
                Kind::InvalidArgument,
                "INVALID_ARGUMENT: transactions need a transactionalId in the producer config",
            )
        })
    }

    fn phase_error(&self, what: &str) -> Error {
        match &*self.shared.phase.lock() {
            txn::Phase::Fatal(e) => e.clone(),
            txn::Phase::Abortable(e) => Error::new(
                e.kind,
                format!(
                    "{what} is not possible: the transaction failed ({}); call abortTransaction()",
                    e.message
                ),
            ),
            txn::Phase::Uninitialized => Error::new(
                Kind::Broker(ErrorCode::INVALID_TXN_STATE),
                format!("INVALID_TXN_STATE: {what} needs initTransactions() first"),
            ),
            txn::Phase::Ready => Error::new(
                Kind::Broker(ErrorCode::INVALID_TXN_STATE),
                format!("INVALID_TXN_STATE: {what} needs an open transaction (beginTransaction())"),
            ),
            txn::Phase::Open => Error::new(
                Kind::Broker(ErrorCode::INVALID_TXN_STATE),
                format!("INVALID_TXN_STATE: {what} is not possible while a transaction is open"),
            ),
        }
    }

    fn fail_fatal(&self, e: &Error) -> bool {
        if let Kind::Broker(c) = e.kind {
            if txn::is_fatal(c) {
                *self.shared.phase.lock() = txn::Phase::Fatal(e.clone());
                self.shared.acc.lock().fatal = Some(e.clone());
                self.shared.wake.notify_one();
                return true;
            }
        }
        false
    }

    /// Takes the producer id/epoch the coordinator handed out at a transaction's end
    /// (transactions v2 bump the epoch every time); sequences start again at 0.
    fn adopt_producer(&self, next: Option<(i64, i16)>) {
        if let Some((id, epoch)) = next {
            let mut failed = Vec::new();
            self.shared.acc.lock().set_producer(id, epoch, &mut failed);
            self.shared.push_reports(failed);
        }
    }

    /// Registers the transactional id with its coordinator: a producer id and a new epoch,
    /// which fences any older producer with the same id and aborts its open transaction.
    pub async fn init_transactions(&self, timeout: Duration) -> Result<()> {
        let txn = self.txn()?;
        if *self.shared.phase.lock() != txn::Phase::Uninitialized {
            return Err(self.phase_error("initTransactions()"));
        }
        let deadline = Instant::now() + timeout;
        match txn.init_producer_id(deadline).await {
            Ok((id, epoch)) => {
                let mut failed = Vec::new();
                self.shared.acc.lock().set_producer(id, epoch, &mut failed);
                self.shared.push_reports(failed);
                *self.shared.phase.lock() = txn::Phase::Ready;
                Ok(())
            }
            Err(e) => {
                self.fail_fatal(&e);
                Err(e)
            }
        }
    }

    /// Opens a transaction: records produced from now on belong to it.
    pub fn begin_transaction(&self) -> Result<()> {
        self.txn()?;
        let mut phase = self.shared.phase.lock();
        if *phase != txn::Phase::Ready {
            drop(phase);
            return Err(self.phase_error("beginTransaction()"));
        }
        *phase = txn::Phase::Open;
        let mut acc = self.shared.acc.lock();
        acc.txn_open = true;
        acc.txn_generation += 1;
        acc.txn_added.clear();
        acc.txn_started = false;
        acc.txn_error = None;
        Ok(())
    }

    /// Adds a consumer's offsets to the open transaction (consume-transform-produce): they
    /// are committed with it, and fenced if the consumer's generation is stale (KIP-447).
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: Vec<crate::types::OffsetAndMetadata>,
        group: crate::group::GroupMetadata,
        timeout: Duration,
    ) -> Result<()> {
        let txn = self.txn()?;
        if *self.shared.phase.lock() != txn::Phase::Open {
            return Err(self.phase_error("sendOffsetsToTransaction()"));
        }
        let producer = self
            .shared
            .acc
            .lock()
            .producer
            .ok_or_else(|| self.phase_error("sendOffsetsToTransaction()"))?;
        let r = txn
            .send_offsets(producer, &offsets, &group, Instant::now() + timeout)
            .await;
        match r {
            Ok(()) => {
                self.shared.acc.lock().txn_started = true;
                Ok(())
            }
            Err(e) => {
                if !self.fail_fatal(&e) {
                    *self.shared.phase.lock() = txn::Phase::Abortable(e.clone());
                }
                Err(e)
            }
        }
    }

    /// Sends everything produced in the transaction, then commits it (EndTxn). If any
    /// record failed, the transaction cannot commit: this fails and the app must abort.
    pub async fn commit_transaction(&self, timeout: Duration) -> Result<()> {
        let txn = self.txn()?;
        if *self.shared.phase.lock() != txn::Phase::Open {
            return Err(self.phase_error("commitTransaction()"));
        }
        let deadline = Instant::now() + timeout;
        self.flush(timeout).await?;
        let (producer, started, failed) = {
            let mut acc = self.shared.acc.lock();
            acc.txn_open = false;
            (acc.producer, acc.txn_started, acc.txn_error.clone())
        };
        if let Some(e) = failed {
            let e = Error::new(
                e.kind,
                format!("the transaction cannot commit: {}; call abortTransaction()", e.message),
            );
            *self.shared.phase.lock() = txn::Phase::Abortable(e.clone());
            return Err(e);
        }
        if started {
            let producer = producer.ok_or_else(|| self.phase_error("commitTransaction()"))?;
            match txn.end(producer, true, deadline).await {
                Ok(next) => self.adopt_producer(next),
                Err(e) => {
                    // The outcome is unknown: only an abort (or re-init) is safe now.
                    if !self.fail_fatal(&e) {
                        *self.shared.phase.lock() = txn::Phase::Abortable(e.clone());
                    }
                    return Err(e);
                }
            }
        }
        *self.shared.phase.lock() = txn::Phase::Ready;
        Ok(())
    }

    /// Aborts the transaction: records not sent yet fail with TRANSACTION_ABORTED, those
    /// already written are marked aborted (read_committed consumers never see them).
    pub async fn abort_transaction(&self, timeout: Duration) -> Result<()> {
        let txn = self.txn()?;
        {
            let phase = self.shared.phase.lock();
            if !matches!(*phase, txn::Phase::Open | txn::Phase::Abortable(_)) {
                drop(phase);
                return Err(self.phase_error("abortTransaction()"));
            }
        }
        let deadline = Instant::now() + timeout;
        let mut failed = Vec::new();
        {
            let mut acc = self.shared.acc.lock();
            acc.txn_open = false;
            acc.fail_all(
                &Error::new(
                    Kind::TransactionAborted,
                    "TRANSACTION_ABORTED: the transaction was aborted before the record was sent",
                ),
                &mut failed,
            );
        }
        self.shared.push_reports(failed);
        // Wait for requests in flight to settle before ending the transaction.
        self.flush(timeout).await?;
        let (producer, started) = {
            let acc = self.shared.acc.lock();
            (acc.producer, acc.txn_started)
        };
        if started {
            let producer = producer.ok_or_else(|| self.phase_error("abortTransaction()"))?;
            match txn.end(producer, false, deadline).await {
                Ok(next) => self.adopt_producer(next),
                Err(e) => {
                    self.fail_fatal(&e);
                    return Err(e);
                }
            }
        }
        *self.shared.phase.lock() = txn::Phase::Ready;
        Ok(())
    }

    /// Fetches metadata for the topics in use (or just the brokers) to check the cluster
    /// is reachable.
    pub async fn connect(&self) -> Result<Arc<Metadata>> {
        let topics = self.shared.acc.lock().topic_names();
        self.shared.cluster.refresh(Some(&topics), true).await
    }

    /// Counters.
    pub fn stats(&self) -> ProducerStats {
        let (outstanding, (producer_id, producer_epoch)) = {
            let acc = self.shared.acc.lock();
            (acc.outstanding(), acc.producer.unwrap_or((-1, -1)))
        };
        ProducerStats {
            producer_id,
            producer_epoch,
            buffered_bytes: self.shared.buffered.load(Ordering::Relaxed),
            outstanding,
            requests: self.shared.cluster.requests_sent(Purpose::Produce),
            max_in_flight: self.shared.cluster.max_in_flight_seen(Purpose::Produce),
            retries: self.shared.retries.load(Ordering::Relaxed),
            metadata_refreshes: self.shared.cluster.refresh_count(),
            connection_attempts: self.shared.cluster.connection_attempts(),
            reauthentications: self.shared.cluster.reauthentications(),
        }
    }

    /// True once `close` was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Relaxed)
    }

    /// The producer's settings.
    pub fn config(&self) -> &ProducerConfig {
        &self.shared.cfg
    }

    /// Name of an interned topic.
    pub fn topic_name(&self, id: u32) -> Arc<str> {
        self.shared.acc.lock().topic_name(id)
    }

    /// Partition count of an interned topic, `None` until metadata names it. For
    /// partitioners that run outside the client (a JS function).
    pub fn partition_count(&self, topic_id: u32) -> Option<usize> {
        self.shared.acc.lock().partition_count(topic_id).0
    }

    /// Waits until metadata names the topic's partitions, up to `maxBlockMs` (as records
    /// of an unknown topic wait), and returns their count.
    pub async fn wait_for_partitions(&self, topic_id: u32) -> Result<usize> {
        let deadline = Instant::now() + self.shared.cfg.max_block;
        loop {
            let (count, meta_error, failure) = {
                let acc = self.shared.acc.lock();
                let (count, meta_error) = acc.partition_count(topic_id);
                (count, meta_error, acc.metadata_failure.clone())
            };
            if let Some(n) = count {
                return Ok(n);
            }
            if self.is_closed() {
                return Err(self.shared.closed_error("the producer"));
            }
            let code = meta_error.unwrap_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
            if !code.is_retriable() || Instant::now() >= deadline {
                let name = self.topic_name(topic_id);
                let max_block = self.shared.cfg.max_block;
                return Err(accumulator::metadata_wait_error(
                    &name,
                    max_block,
                    meta_error,
                    failure.as_ref(),
                ));
            }
            self.shared.metadata_wanted.store(true, Ordering::Release);
            self.shared.wake.notify_one();
            // The sender refreshes with retryBackoffMs between attempts; polling the cache
            // at a fraction of that is cheap and only happens before a topic's first use.
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(left.min(Duration::from_millis(10))).await;
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.stopped.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        self.shared.cluster.close();
    }
}
