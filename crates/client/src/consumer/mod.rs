//! The consumer: per-partition fetch positions, one fetch loop per leader broker, a bounded
//! queue of decoded batches, and `poll`, which hands many records at once to the caller.
//!
//! Positions: `position` is the next offset to fetch; `consumed` is the next offset `poll`
//! will hand out (what the app has seen). A seek, pause or reassignment bumps a partition's
//! `version`, so a fetch already in flight for the old position is discarded on arrival.
//! A control task resolves missing positions (committed offset, else `autoOffsetReset` by
//! ListOffsets) and keeps leaders fresh.

pub(crate) mod decode;
mod fetcher;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nkafka_protocol::error::ErrorCode;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

pub use decode::{FetchedBatch, RecordIndex};

use crate::cluster::{validate_topic_name, Cluster, Metadata};
use crate::config::{ConsumerConfig, OffsetReset};
use crate::error::{Error, Kind, Result};
use crate::group::{GroupConfig, GroupEvent, GroupMember, GroupProtocol, Subscribed};
use crate::offsets::{list_offsets, OffsetSpec};
use crate::types::{OffsetAndMetadata, TopicPartition};

/// Newest Fetch version we send: v13+ names topics by id (KIP-516).
const FETCH_MAX_VERSION: i16 = 12;

/// Something the app must hear about besides records.
#[derive(Debug)]
pub enum ConsumerEvent {
    /// A partition cannot be read until the app acts (seek), e.g. offset out of range with
    /// `autoOffsetReset: 'none'`, or a corrupt batch; or the group failed for good.
    Error(Error),
    /// The group gave this consumer partitions (eager: the whole new assignment;
    /// cooperative: the added ones).
    Assigned(Vec<TopicPartition>),
    /// Partitions are moving away: the app may commit, then must call
    /// `Consumer::revoke_done(id)`; they are removed from the assignment then.
    Revoked {
        /// Pass to `revoke_done`.
        id: u64,
        /// The partitions.
        partitions: Vec<TopicPartition>,
    },
    /// Partitions lost without a chance to commit (another member may own them already).
    Lost(Vec<TopicPartition>),
}

/// What one `poll` hands over.
#[derive(Debug, Default)]
pub struct Polled {
    /// Batches of records, in fetch order; each partition's records in offset order.
    pub batches: Vec<FetchedBatch>,
    /// Events to surface before the records.
    pub events: Vec<ConsumerEvent>,
}

/// A partition in a fetch request, with what we expect of it.
pub(crate) struct FetchWanted {
    pub topic: u32,
    pub name: Arc<str>,
    pub partition: i32,
    pub position: i64,
    pub leader_epoch: i32,
    pub version: u64,
}

struct PartState {
    position: Option<i64>,
    consumed: Option<i64>,
    leader: i32,
    leader_epoch: i32,
    paused: bool,
    /// Stopped after an error until the app seeks.
    failed: bool,
    version: u64,
    in_flight: bool,
    buffered: usize,
    high_watermark: i64,
    log_start: i64,
}

impl PartState {
    fn new(position: Option<i64>) -> Self {
        PartState {
            position,
            consumed: position,
            leader: -1,
            leader_epoch: -1,
            paused: false,
            failed: false,
            version: 0,
            in_flight: false,
            buffered: 0,
            high_watermark: -1,
            log_start: -1,
        }
    }
}

#[derive(Default)]
pub(crate) struct State {
    topics: Vec<Arc<str>>,
    topic_ids: HashMap<Arc<str>, u32>,
    parts: HashMap<(u32, i32), PartState>,
    queue: VecDeque<FetchedBatch>,
    queued_bytes: usize,
    events: VecDeque<ConsumerEvent>,
    brokers_with_fetchers: HashSet<i32>,
}

impl State {
    fn topic_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.topic_ids.get(name) {
            return id;
        }
        let id = self.topics.len() as u32;
        let name: Arc<str> = name.into();
        self.topics.push(name.clone());
        self.topic_ids.insert(name, id);
        id
    }

    fn drop_queued(&mut self, topic: u32, partition: i32) {
        let mut freed = 0;
        self.queue.retain(|b| {
            let keep = !(b.topic == topic && b.partition == partition);
            if !keep {
                freed += b.data.len();
            }
            keep
        });
        self.queued_bytes -= freed;
        if let Some(p) = self.parts.get_mut(&(topic, partition)) {
            p.buffered = 0;
        }
    }

    /// Partitions led by `broker` that can be fetched now; marks them in flight. The flag
    /// says whether another partition of this broker is held back by its prefetch buffer
    /// while more data is known to be in its log: then the fetch must not long-poll, or
    /// that partition would wait behind it for fetchMaxWaitMs once the app drained it.
    pub(crate) fn take_fetchable(&mut self, broker: i32, cfg: &ConsumerConfig) -> (Vec<FetchWanted>, bool) {
        if self.queued_bytes >= cfg.fetch_max_bytes {
            return (Vec::new(), false);
        }
        let mut out = Vec::new();
        let mut held_back = false;
        for (&(topic, partition), p) in self.parts.iter_mut() {
            if p.leader != broker || p.paused || p.failed || p.in_flight {
                continue;
            }
            let Some(position) = p.position else { continue };
            if p.buffered >= cfg.max_partition_fetch_bytes {
                held_back |= p.high_watermark < 0 || position < p.high_watermark;
                continue;
            }
            p.in_flight = true;
            out.push(FetchWanted {
                topic,
                name: self.topics[topic as usize].clone(),
                partition,
                position,
                leader_epoch: p.leader_epoch,
                version: p.version,
            });
        }
        (out, held_back)
    }

    /// A fetch failed as a whole (connection): its partitions can be fetched again.
    pub(crate) fn fetch_failed(&mut self, wanted: &[FetchWanted], _err: &Error) {
        for w in wanted {
            if let Some(p) = self.parts.get_mut(&(w.topic, w.partition)) {
                p.in_flight = false;
                // The leader may have moved: look it up again.
                p.leader = -1;
            }
        }
    }

    /// A partition the response did not mention.
    pub(crate) fn fetch_done(&mut self, topic: u32, partition: i32, _version: u64) {
        if let Some(p) = self.parts.get_mut(&(topic, partition)) {
            p.in_flight = false;
        }
    }

    /// Applies one partition's fetch result.
    #[allow(clippy::too_many_arguments)] // one call site, in the fetcher, with all of it at hand
    pub(crate) fn apply_fetch(
        &mut self,
        topic: u32,
        partition: i32,
        version: u64,
        fetched_at: i64,
        outcome: Result<Option<decode::Decoded>>,
        marks: (i64, i64, i64),
        _now: Instant,
        cfg: &ConsumerConfig,
    ) {
        let Some(p) = self.parts.get_mut(&(topic, partition)) else {
            return;
        };
        // At most one fetch per partition is in flight (take_fetchable), and this was it.
        p.in_flight = false;
        if p.version != version {
            // A seek or reassignment happened meanwhile: this data is stale.
            return;
        }
        p.high_watermark = marks.0;
        p.log_start = marks.2;
        match outcome {
            Ok(None) => {}
            Ok(Some(decoded)) => {
                if p.position != Some(fetched_at) {
                    return;
                }
                if let Some(next) = decoded.next_offset {
                    if next > fetched_at {
                        p.position = Some(next);
                    }
                }
                p.buffered += decoded.bytes;
                self.queued_bytes += decoded.bytes;
                self.queue.extend(decoded.batches);
            }
            Err(e) => {
                let code = match e.kind {
                    Kind::Broker(c) => c,
                    _ => ErrorCode::UNKNOWN_SERVER_ERROR,
                };
                if code == ErrorCode::OFFSET_OUT_OF_RANGE {
                    match cfg.auto_offset_reset {
                        OffsetReset::None => {
                            p.failed = true;
                            self.events.push_back(ConsumerEvent::Error(Error::new(
                                Kind::Broker(code),
                                format!(
                                    "OFFSET_OUT_OF_RANGE: offset {fetched_at} of {}-{partition} is out of range (log {}..{}) and autoOffsetReset is 'none'; seek to a valid offset",
                                    self.topics[topic as usize], p.log_start, p.high_watermark
                                ),
                            )
                            .with_partition(&self.topics[topic as usize], partition)));
                        }
                        _ => {
                            // The control task resets it by autoOffsetReset.
                            p.position = None;
                            p.consumed = None;
                        }
                    }
                } else if code.is_invalid_metadata() || code.is_retriable() {
                    p.leader = -1;
                } else {
                    p.failed = true;
                    self.events.push_back(ConsumerEvent::Error(e));
                }
            }
        }
    }
}

/// Partitions being revoked and the group's acknowledgement to send when the app is done.
type Revocation = (Vec<TopicPartition>, oneshot::Sender<()>);

pub(crate) struct Shared {
    cfg: ConsumerConfig,
    cluster: Arc<Cluster>,
    state: Mutex<State>,
    /// Something changed that fetchers or the control task should look at.
    changed: Notify,
    /// Records or events were queued.
    data_ready: Notify,
    closed: AtomicBool,
    metadata_wanted: AtomicBool,
    /// Group membership, when `groupId` is set.
    group: Option<GroupMember>,
    /// Revocations waiting for the app, by id.
    revocations: Mutex<HashMap<u64, Revocation>>,
    next_revocation: std::sync::atomic::AtomicU64,
    /// When the app last polled, for `maxPollIntervalMs`.
    last_poll: Mutex<Instant>,
    /// Topics subscribed to (group mode), to rejoin after a poll-interval leave.
    subscription: Mutex<Subscribed>,
    /// Left the group because the app stopped polling; rejoin on the next poll.
    left_for_poll_interval: AtomicBool,
    /// Set when a background task panicked: every poll returns it as an error event, and
    /// other calls fail with it.
    poisoned: Mutex<Option<Error>>,
}

impl Shared {
    /// Spawns one of the consumer's background tasks (see `crate::task`). Any of them
    /// panicking poisons the consumer: they share the partition state with `poll`, and a
    /// panic may have left it half-updated (a partition marked in flight forever, a queue
    /// and its byte count out of step), so restarting a task from it is not safe.
    fn spawn(self: &Arc<Self>, name: &'static str, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let shared = self.clone();
        crate::task::spawn(name, fut, move |e| shared.poison(e));
    }

    /// Closes the consumer with `err`: every later `poll` returns it as an error event (so
    /// an iterator throws it however often it is resumed), waits for data end at once,
    /// other calls fail with it, revocations are acknowledged and the connections close.
    fn poison(&self, err: Error) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.poisoned.lock() = Some(err);
        for (_, (_, done)) in self.revocations.lock().drain() {
            let _ = done.send(());
        }
        if let Some(g) = &self.group {
            // Leave the group in the background: its partitions move to live members.
            // Nothing waits on this task, so a plain spawn.
            let g = g.clone();
            let timeout = self.cfg.client.request_timeout;
            tokio::spawn(async move {
                let _ = g.close(timeout).await;
            });
        }
        self.changed.notify_waiters();
        self.data_ready.notify_waiters();
        self.cluster.close();
    }
}

/// A Kafka consumer.
pub struct Consumer {
    shared: Arc<Shared>,
}

impl Consumer {
    /// Starts a consumer (inside a tokio runtime: it spawns its control task).
    pub fn new(cfg: ConsumerConfig) -> Result<Consumer> {
        cfg.validate()?;
        let cluster = Cluster::new(cfg.client.clone(), 16);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let group = match &cfg.group_id {
            Some(id) => {
                let mut g = GroupConfig::new(id.clone());
                g.group_instance_id = cfg.group_instance_id.clone();
                g.session_timeout = cfg.session_timeout;
                g.heartbeat_interval = cfg.heartbeat_interval;
                g.rebalance_timeout = cfg.max_poll_interval;
                g.client_rack = cfg.client_rack.clone();
                if let Some(a) = &cfg.assignors {
                    g.assignors = a.clone();
                }
                g.protocol = cfg.group_protocol;
                g.remote_assignor = cfg.remote_assignor.clone();
                // Its own cluster: a JoinGroup parked on a shared connection would hold up
                // the consumer's other requests (see group/mod.rs).
                Some(GroupMember::start(Cluster::new(cfg.client.clone(), 16), g, events_tx)?)
            }
            None => None,
        };
        let shared = Arc::new(Shared {
            cfg,
            cluster,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            data_ready: Notify::new(),
            closed: AtomicBool::new(false),
            metadata_wanted: AtomicBool::new(false),
            group,
            revocations: Mutex::new(HashMap::new()),
            next_revocation: std::sync::atomic::AtomicU64::new(1),
            last_poll: Mutex::new(Instant::now()),
            subscription: Mutex::new(Subscribed::default()),
            left_for_poll_interval: AtomicBool::new(false),
            poisoned: Mutex::new(None),
        });
        shared.spawn("consumer-control", control(shared.clone()));
        shared.spawn("group-events", group_events(shared.clone(), events_rx));
        Ok(Consumer { shared })
    }

    fn ensure_open(&self) -> Result<()> {
        if self.shared.closed.load(Ordering::Acquire) {
            let poisoned = self.shared.poisoned.lock().clone();
            return Err(poisoned.unwrap_or_else(|| Error::closed("the consumer")));
        }
        Ok(())
    }

    /// Name of a consumer-local topic id (as found in `FetchedBatch::topic`).
    pub fn topic_name(&self, id: u32) -> Arc<str> {
        self.shared.state.lock().topics[id as usize].clone()
    }

    /// Replaces the assignment with `partitions` (manual mode). An offset starts there;
    /// `None` starts at the committed offset (with a group) or by `autoOffsetReset`.
    pub fn assign(&self, partitions: Vec<(String, i32, Option<i64>)>) -> Result<()> {
        self.ensure_open()?;
        for (t, p, o) in &partitions {
            validate_topic_name(t)?;
            if *p < 0 {
                return Err(Error::argument("partition", format!("{p} for topic `{t}` is negative")));
            }
            if let Some(o) = o {
                if *o < 0 {
                    return Err(Error::argument("offset", format!("{o} for {t}-{p} is negative")));
                }
            }
        }
        {
            let mut st = self.shared.state.lock();
            let wanted: HashSet<(u32, i32)> = partitions.iter().map(|(t, p, _)| (st.topic_id(t), *p)).collect();
            let gone: Vec<(u32, i32)> = st.parts.keys().filter(|k| !wanted.contains(k)).copied().collect();
            for k in gone {
                st.drop_queued(k.0, k.1);
                st.parts.remove(&k);
            }
            for (t, p, o) in partitions {
                let id = st.topic_id(&t);
                match st.parts.get_mut(&(id, p)) {
                    Some(ps) => {
                        if let Some(o) = o {
                            ps.position = Some(o);
                            ps.consumed = Some(o);
                            ps.version += 1;
                            ps.failed = false;
                            st.drop_queued(id, p);
                        }
                    }
                    None => {
                        st.parts.insert((id, p), PartState::new(o));
                    }
                }
            }
        }
        self.shared.metadata_wanted.store(true, Ordering::Release);
        self.shared.changed.notify_waiters();
        Ok(())
    }

    /// The partitions assigned now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        let st = self.shared.state.lock();
        let mut v: Vec<TopicPartition> = st
            .parts
            .keys()
            .map(|(t, p)| TopicPartition::new(st.topics[*t as usize].clone(), *p))
            .collect();
        v.sort();
        v
    }

    fn group(&self) -> Result<&GroupMember> {
        self.shared.group.as_ref().ok_or_else(|| {
            Error::new(
                Kind::InvalidArgument,
                "INVALID_ARGUMENT: this needs a consumer group: set groupId in the consumer config",
            )
        })
    }

    /// Joins the group for `topics` (explicit names). The group assigns partitions; `poll`
    /// reports them as `Assigned` events.
    pub fn subscribe(&self, topics: Vec<String>) -> Result<()> {
        self.ensure_open()?;
        let group = self.group()?;
        for t in &topics {
            validate_topic_name(t)?;
        }
        self.set_subscription(group, Subscribed::topics(topics));
        Ok(())
    }

    /// Joins the group for every topic whose whole name matches `pattern` (RE2J syntax),
    /// resolved by the broker: only the consumer protocol (KIP-848) can; with the classic
    /// protocol the caller resolves a pattern to names. The broker's INVALID_REGULAR_EXPRESSION
    /// arrives as a group error.
    pub fn subscribe_pattern(&self, pattern: String) -> Result<()> {
        self.ensure_open()?;
        let group = self.group()?;
        if self.shared.cfg.group_protocol != GroupProtocol::Consumer {
            return Err(Error::argument(
                "subscribe",
                "a broker-side pattern needs groupProtocol 'consumer'; the classic protocol subscribes to names",
            ));
        }
        if pattern.is_empty() {
            return Err(Error::argument("subscribe", "the pattern is empty"));
        }
        self.set_subscription(group, Subscribed::pattern(pattern));
        Ok(())
    }

    fn set_subscription(&self, group: &GroupMember, subscribed: Subscribed) {
        *self.shared.subscription.lock() = subscribed.clone();
        group.set_subscription(subscribed);
    }

    /// Commits offsets (the next offset to read, per partition) for the group. `None`
    /// commits what `poll` has handed out.
    pub async fn commit(&self, offsets: Option<Vec<OffsetAndMetadata>>) -> Result<()> {
        self.ensure_open()?;
        let group = self.group()?;
        let offsets = offsets.unwrap_or_else(|| self.consumed_offsets());
        for o in &offsets {
            if o.offset < 0 {
                return Err(Error::argument(
                    "offset",
                    format!("{} for {} is negative", o.offset, o.tp),
                ));
            }
        }
        if offsets.is_empty() {
            return Ok(());
        }
        group.commit(offsets).await
    }

    /// The group's committed offsets (`None` where nothing is committed).
    pub async fn committed(
        &self,
        partitions: Vec<TopicPartition>,
    ) -> Result<Vec<(TopicPartition, Option<OffsetAndMetadata>)>> {
        self.ensure_open()?;
        self.group()?.committed(partitions).await
    }

    /// The app is done with a revocation (`ConsumerEvent::Revoked`): its partitions leave
    /// the assignment and the group may go on.
    pub fn revoke_done(&self, id: u64) {
        let Some((parts, done)) = self.shared.revocations.lock().remove(&id) else {
            return;
        };
        {
            let mut st = self.shared.state.lock();
            for tp in &parts {
                if let Some(&t) = st.topic_ids.get(&tp.topic) {
                    st.drop_queued(t, tp.partition);
                    st.parts.remove(&(t, tp.partition));
                }
            }
        }
        let _ = done.send(());
        self.shared.changed.notify_waiters();
    }

    /// Group identity (member id, generation) for transactions, when in a group.
    pub fn group_metadata(&self) -> Option<crate::group::GroupMetadata> {
        self.shared.group.as_ref().map(GroupMember::metadata)
    }

    /// Takes up to `max_records` records (whole batches where possible) and pending events.
    /// Never waits.
    pub fn poll(&self, max_records: usize) -> Polled {
        *self.shared.last_poll.lock() = Instant::now();
        if self.shared.left_for_poll_interval.swap(false, Ordering::AcqRel) {
            if let Some(g) = &self.shared.group {
                g.set_subscription(self.shared.subscription.lock().clone());
            }
        }
        let mut out = Polled::default();
        let mut st = self.shared.state.lock();
        out.events.extend(st.events.drain(..));
        if let Some(e) = self.shared.poisoned.lock().clone() {
            out.events.push(ConsumerEvent::Error(e));
        }
        let mut left = max_records.max(1);
        let mut i = 0;
        // Batches of paused partitions stay where they are; the others are taken in order,
        // so each partition's records keep their order.
        while left > 0 && i < st.queue.len() {
            let key = (st.queue[i].topic, st.queue[i].partition);
            match st.parts.get(&key) {
                None => {
                    let gone = st.queue.remove(i).expect("index in range");
                    st.queued_bytes -= gone.data.len();
                    continue;
                }
                Some(p) if p.paused => {
                    i += 1;
                    continue;
                }
                Some(_) => {}
            }
            let mut b = st.queue.remove(i).expect("index in range");
            let data_len = b.data.len();
            let whole = b.records.len() <= left;
            let taken = if whole {
                b
            } else {
                let rest = b.records.split_off(left);
                let head = b.clone();
                b.records = rest;
                st.queue.insert(i, b);
                head
            };
            left -= taken.records.len();
            let p = st.parts.get_mut(&key).expect("checked above");
            if let Some(last) = taken.records.last() {
                p.consumed = Some(last.offset.saturating_add(1)); // a wire value: never overflow
            }
            if whole {
                p.buffered = p.buffered.saturating_sub(data_len);
                st.queued_bytes -= data_len;
            }
            out.batches.push(taken);
        }
        drop(st);
        if !out.batches.is_empty() {
            // Buffer space freed: fetchers may go on.
            self.shared.changed.notify_waiters();
        }
        out
    }

    /// Waits until records or events are queued, or `timeout` passes. True when there is
    /// something to poll.
    pub async fn wait_for_data(&self, timeout: Duration) -> bool {
        self.wait_for_data_inner(Instant::now() + timeout).await
    }

    async fn wait_for_data_inner(&self, deadline: Instant) -> bool {
        loop {
            let ready = self.shared.data_ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            if self.has_data() {
                return true;
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return false;
            }
            tokio::select! {
                _ = ready => {}
                _ = tokio::time::sleep_until(deadline) => return self.has_data(),
            }
        }
    }

    fn has_data(&self) -> bool {
        if self.shared.poisoned.lock().is_some() {
            return true;
        }
        let st = self.shared.state.lock();
        !st.events.is_empty()
            || st
                .queue
                .iter()
                .any(|b| st.parts.get(&(b.topic, b.partition)).is_some_and(|p| !p.paused))
    }

    fn with_part<T>(&self, topic: &str, partition: i32, f: impl FnOnce(&mut State, u32) -> Result<T>) -> Result<T> {
        self.ensure_open()?;
        let mut st = self.shared.state.lock();
        let Some(&id) = st.topic_ids.get(topic) else {
            return Err(not_assigned(topic, partition));
        };
        if !st.parts.contains_key(&(id, partition)) {
            return Err(not_assigned(topic, partition));
        }
        f(&mut st, id)
    }

    /// Moves the position of an assigned partition.
    pub fn seek(&self, topic: &str, partition: i32, offset: i64) -> Result<()> {
        if offset < 0 {
            return Err(Error::argument(
                "offset",
                format!("{offset} for {topic}-{partition} is negative"),
            ));
        }
        self.with_part(topic, partition, |st, id| {
            st.drop_queued(id, partition);
            let p = st.parts.get_mut(&(id, partition)).expect("checked");
            p.position = Some(offset);
            p.consumed = Some(offset);
            p.version += 1;
            p.failed = false;
            Ok(())
        })?;
        self.shared.changed.notify_waiters();
        Ok(())
    }

    /// Stops fetching a partition; already fetched records are kept for `resume`.
    pub fn pause(&self, topic: &str, partition: i32) -> Result<()> {
        self.with_part(topic, partition, |st, id| {
            st.parts.get_mut(&(id, partition)).expect("checked").paused = true;
            Ok(())
        })
    }

    /// Fetches a paused partition again.
    pub fn resume(&self, topic: &str, partition: i32) -> Result<()> {
        self.with_part(topic, partition, |st, id| {
            st.parts.get_mut(&(id, partition)).expect("checked").paused = false;
            Ok(())
        })?;
        self.shared.changed.notify_waiters();
        self.shared.data_ready.notify_waiters();
        Ok(())
    }

    /// The offset of the next record `poll` will return for a partition (`None` while it
    /// is being resolved).
    pub fn position(&self, topic: &str, partition: i32) -> Result<Option<i64>> {
        self.with_part(topic, partition, |st, id| Ok(st.parts[&(id, partition)].consumed))
    }

    /// Next offsets to commit: what `poll` has handed out, per assigned partition.
    pub fn consumed_offsets(&self) -> Vec<OffsetAndMetadata> {
        let st = self.shared.state.lock();
        st.parts
            .iter()
            .filter_map(|((t, p), ps)| {
                ps.consumed.map(|o| OffsetAndMetadata {
                    tp: TopicPartition::new(st.topics[*t as usize].clone(), *p),
                    offset: o,
                    leader_epoch: -1,
                    metadata: None,
                })
            })
            .collect()
    }

    /// Names of the topics in the cluster (for pattern subscriptions).
    pub async fn list_topics(&self) -> Result<Vec<String>> {
        self.ensure_open()?;
        let meta = self.shared.cluster.refresh(None, false).await?;
        let mut v: Vec<String> = meta.topics.keys().cloned().collect();
        v.sort();
        Ok(v)
    }

    /// Stops fetching and closes connections. Later calls fail with CLIENT_CLOSED.
    pub async fn close(&self) -> Result<()> {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.shared.changed.notify_waiters();
        self.shared.data_ready.notify_waiters();
        // Leave the group: revocations during close are acknowledged at once (the app
        // committed before calling close).
        let left = match &self.shared.group {
            Some(g) => g.close(self.shared.cfg.client.request_timeout).await,
            None => Ok(()),
        };
        for (_, (_, done)) in self.shared.revocations.lock().drain() {
            let _ = done.send(());
        }
        self.shared.cluster.close();
        left
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// The settings.
    pub fn config(&self) -> &ConsumerConfig {
        &self.shared.cfg
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.changed.notify_waiters();
        self.shared.cluster.close();
    }
}

fn not_assigned(topic: &str, partition: i32) -> Error {
    Error::argument(
        "partition",
        format!("{topic}-{partition} is not assigned to this consumer"),
    )
}

/// The control task: keeps metadata fresh, starts fetch loops for leaders, and resolves
/// partitions without a position.
async fn control(shared: Arc<Shared>) {
    let mut last_refresh: Option<Instant> = None;
    let mut failures = 0u32;
    loop {
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        crate::task::fail_point("consumer-control");
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();

        check_poll_interval(&shared);
        let (topics, need_leaders, need_positions) = {
            let st = shared.state.lock();
            let mut topics: Vec<String> = st
                .parts
                .keys()
                .map(|(t, _)| st.topics[*t as usize].to_string())
                .collect();
            topics.sort();
            topics.dedup();
            let need_leaders = st.parts.values().any(|p| p.leader < 0);
            let need_positions: Vec<(u32, i32, u64)> = st
                .parts
                .iter()
                .filter(|(_, p)| p.position.is_none() && !p.failed)
                .map(|(k, p)| (k.0, k.1, p.version))
                .collect();
            (topics, need_leaders, need_positions)
        };
        let stale = last_refresh.is_none_or(|t| t.elapsed() >= shared.cfg.client.metadata_max_age);
        let wanted = shared.metadata_wanted.swap(false, Ordering::AcqRel);
        let mut retry_soon = false;
        if !topics.is_empty() && (need_leaders || stale || wanted) {
            match shared.cluster.refresh(Some(&topics), false).await {
                Ok(meta) => {
                    last_refresh = Some(Instant::now());
                    apply_leaders(&shared, &meta);
                    failures = 0;
                }
                Err(e) => {
                    tracing::warn!(client = shared.cfg.client.log_id, attempt = failures, cause = %e, "metadata refresh failed; retrying");
                    // Credentials or trust: tell the app (once per streak) instead of
                    // waiting silently; keep retrying in case the cause is fixed.
                    if e.is_auth() && failures == 0 {
                        shared.state.lock().events.push_back(ConsumerEvent::Error(e));
                        shared.data_ready.notify_waiters();
                    }
                    retry_soon = true;
                    failures = failures.saturating_add(1);
                }
            }
        }
        if !need_positions.is_empty() {
            if let Err(e) = resolve_positions(&shared, &need_positions).await {
                tracing::warn!(client = shared.cfg.client.log_id, partitions = need_positions.len(), cause = %e, "resolving fetch positions failed");
                let mut st = shared.state.lock();
                if matches!(e.kind, Kind::Broker(ErrorCode::OFFSET_OUT_OF_RANGE) | Kind::NoOffset) {
                    st.events.push_back(ConsumerEvent::Error(e));
                    drop(st);
                    shared.data_ready.notify_waiters();
                } else {
                    retry_soon = true;
                }
            }
        }
        let still_missing = {
            let st = shared.state.lock();
            st.parts
                .values()
                .any(|p| (p.leader < 0 || p.position.is_none()) && !p.failed)
        };
        let wait = if retry_soon || still_missing {
            crate::config::ClientConfig::backoff(
                shared.cfg.client.retry_backoff,
                shared.cfg.client.retry_backoff_max,
                failures,
                7,
            )
        } else {
            Duration::from_secs(5)
        };
        tokio::select! {
            _ = &mut changed => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Applies the group's decisions to the assignment and queues them for the app.
async fn group_events(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<GroupEvent>) {
    while let Some(ev) = rx.recv().await {
        crate::task::fail_point("group-events");
        let event = match ev {
            GroupEvent::Assigned { partitions, .. } => {
                let cooperative = shared.group.as_ref().is_some_and(GroupMember::is_cooperative);
                {
                    let mut st = shared.state.lock();
                    if !cooperative {
                        // Eager: the full assignment.
                        let keep: HashSet<(Arc<str>, i32)> =
                            partitions.iter().map(|tp| (tp.topic.clone(), tp.partition)).collect();
                        let gone: Vec<(u32, i32)> = st
                            .parts
                            .keys()
                            .filter(|(t, p)| !keep.contains(&(st.topics[*t as usize].clone(), *p)))
                            .copied()
                            .collect();
                        for k in gone {
                            st.drop_queued(k.0, k.1);
                            st.parts.remove(&k);
                        }
                    }
                    for tp in &partitions {
                        let t = st.topic_id(&tp.topic);
                        st.parts
                            .entry((t, tp.partition))
                            .or_insert_with(|| PartState::new(None));
                    }
                }
                shared.metadata_wanted.store(true, Ordering::Release);
                shared.changed.notify_waiters();
                ConsumerEvent::Assigned(partitions)
            }
            GroupEvent::Revoked { partitions, done } => {
                if shared.closed.load(Ordering::Acquire) {
                    let _ = done.send(());
                    continue;
                }
                let id = shared.next_revocation.fetch_add(1, Ordering::Relaxed);
                shared.revocations.lock().insert(id, (partitions.clone(), done));
                ConsumerEvent::Revoked { id, partitions }
            }
            GroupEvent::Lost { partitions } => {
                {
                    let mut st = shared.state.lock();
                    for tp in &partitions {
                        if let Some(&t) = st.topic_ids.get(&tp.topic) {
                            st.drop_queued(t, tp.partition);
                            st.parts.remove(&(t, tp.partition));
                        }
                    }
                }
                ConsumerEvent::Lost(partitions)
            }
            // The group task panicked: the consumer cannot go on without it.
            GroupEvent::Fatal(e) if e.kind == Kind::Internal => {
                shared.poison(e);
                continue;
            }
            GroupEvent::Fatal(e) | GroupEvent::Error(e) => ConsumerEvent::Error(e),
        };
        shared.state.lock().events.push_back(event);
        shared.data_ready.notify_waiters();
    }
}

/// Java's max.poll.interval: an app that stops polling leaves the group so its partitions
/// move to members that make progress; the next poll rejoins.
fn check_poll_interval(shared: &Arc<Shared>) {
    let Some(g) = &shared.group else { return };
    if shared.subscription.lock().is_empty() || shared.left_for_poll_interval.load(Ordering::Acquire) {
        return;
    }
    if shared.last_poll.lock().elapsed() > shared.cfg.max_poll_interval {
        shared.left_for_poll_interval.store(true, Ordering::Release);
        g.set_subscription(Subscribed::default());
    }
}

fn apply_leaders(shared: &Arc<Shared>, meta: &Metadata) {
    let mut new_brokers = Vec::new();
    {
        let mut st = shared.state.lock();
        let topics = st.topics.clone();
        for ((t, p), ps) in st.parts.iter_mut() {
            let leader = meta
                .topics
                .get(&*topics[*t as usize])
                .and_then(|tm| tm.partitions.iter().find(|pm| pm.id == *p))
                .map(|pm| (pm.leader, pm.leader_epoch));
            if let Some((leader, epoch)) = leader {
                ps.leader = leader;
                ps.leader_epoch = epoch;
            }
        }
        let leaders: Vec<i32> = st.parts.values().map(|p| p.leader).filter(|l| *l >= 0).collect();
        for l in leaders {
            if st.brokers_with_fetchers.insert(l) {
                new_brokers.push(l);
            }
        }
    }
    for b in new_brokers {
        shared.spawn("fetcher", fetcher::run(shared.clone(), b));
    }
    shared.changed.notify_waiters();
}

/// Gives positions to partitions without one: the group's committed offset, else
/// `autoOffsetReset` via ListOffsets.
async fn resolve_positions(shared: &Arc<Shared>, parts: &[(u32, i32, u64)]) -> Result<()> {
    let mut parts = parts.to_vec();
    if let Some(group) = &shared.group {
        let tps: Vec<TopicPartition> = {
            let st = shared.state.lock();
            parts
                .iter()
                .map(|&(t, p, _)| TopicPartition::new(st.topics[t as usize].clone(), p))
                .collect()
        };
        let committed = group.committed(tps).await?;
        let mut st = shared.state.lock();
        for (tp, c) in committed {
            let Some(o) = c else { continue };
            let Some(&t) = st.topic_ids.get(&tp.topic) else {
                continue;
            };
            let version = parts.iter().find(|x| x.0 == t && x.1 == tp.partition).map(|x| x.2);
            if let Some(ps) = st.parts.get_mut(&(t, tp.partition)) {
                if Some(ps.version) == version && ps.position.is_none() {
                    ps.position = Some(o.offset);
                    ps.consumed = Some(o.offset);
                    if o.leader_epoch >= 0 {
                        ps.leader_epoch = o.leader_epoch;
                    }
                }
            }
            parts.retain(|x| !(x.0 == t && x.1 == tp.partition));
        }
        drop(st);
        if parts.is_empty() {
            shared.changed.notify_waiters();
            return Ok(());
        }
    }
    let parts = &parts[..];
    let spec = match shared.cfg.auto_offset_reset {
        OffsetReset::Earliest => OffsetSpec::Earliest,
        OffsetReset::Latest => OffsetSpec::Latest,
        OffsetReset::None => {
            let mut st = shared.state.lock();
            let mut names = Vec::new();
            for &(t, p, v) in parts {
                if let Some(ps) = st.parts.get_mut(&(t, p)) {
                    if ps.version == v {
                        ps.failed = true;
                        names.push(format!("{}-{p}", st.topics[t as usize]));
                    }
                }
            }
            return Err(Error::new(
                Kind::NoOffset,
                format!(
                    "NO_OFFSET_FOR_PARTITION: no committed offset for {} and autoOffsetReset is 'none'; seek or commit an offset first",
                    names.join(", ")
                ),
            ));
        }
    };
    let mut by_topic: HashMap<u32, Vec<i32>> = HashMap::new();
    for &(t, p, _) in parts {
        by_topic.entry(t).or_default().push(p);
    }
    for (t, ps) in by_topic {
        let name = shared.state.lock().topics[t as usize].clone();
        let offsets = list_offsets(&shared.cluster, &name, &ps, spec, shared.cfg.read_committed).await?;
        let mut st = shared.state.lock();
        for o in offsets {
            let version = parts.iter().find(|x| x.0 == t && x.1 == o.partition).map(|x| x.2);
            if let Some(p) = st.parts.get_mut(&(t, o.partition)) {
                if Some(p.version) == version && p.position.is_none() {
                    p.position = Some(o.offset);
                    p.consumed = Some(o.offset);
                }
            }
        }
    }
    shared.changed.notify_waiters();
    Ok(())
}
