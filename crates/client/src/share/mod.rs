//! Share groups (KIP-932, "queues for Kafka"): several consumers read the same
//! partitions, and the broker hands each record to one of them at a time under an
//! acquisition lock. Each record is acknowledged: accepted (done), released (deliver it
//! again, to anyone), or rejected (never again). A record whose lock runs out is
//! released by the broker.
//!
//! Three parts: the membership task (`heartbeat.rs`, ShareGroupHeartbeat), the fetch side
//! (`fetch.rs`: one share session per leader broker, ShareFetch with acknowledgements
//! piggybacked, ShareAcknowledge for commit and close) and, here, the bookkeeping of
//! which delivered record is acknowledged how. Records are read by the consumer's one
//! record reader (`consumer/decode.rs`); the acquired ranges add a delivery count.

mod fetch;
mod heartbeat;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use crate::cluster::{validate_topic_name, Cluster};
use crate::config::{ClientConfig, ConsumerConfig};
use crate::consumer::FetchedBatch;
use crate::error::{Error, Kind, Result};
use crate::group::coordinator::Coordinator;
use crate::types::TopicPartition;

pub use fetch::AckResult;

/// How a record is acknowledged (the wire's acknowledge types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckType {
    /// Offsets acquired but holding no record for the app (control records, compacted
    /// gaps); only the client sends it.
    Gap = 0,
    /// Processed: never delivered again.
    Accept = 1,
    /// Deliver again (to any member), with the delivery count raised.
    Release = 2,
    /// Unprocessable: never delivered again (archived).
    Reject = 3,
    /// Extend the acquisition lock (KIP-1222, ShareAcknowledge v2); the record stays the
    /// member's and still needs one of the others. Sent by `commit`.
    Renew = 4,
}

impl AckType {
    /// 'accept', 'release' or 'reject'.
    pub fn from_name(name: &str) -> Result<AckType> {
        match name {
            "accept" => Ok(AckType::Accept),
            "release" => Ok(AckType::Release),
            "reject" => Ok(AckType::Reject),
            "renew" => Ok(AckType::Renew),
            other => Err(Error::argument(
                "acknowledge type",
                format!("`{other}`; expected 'accept', 'release' or 'reject'"),
            )),
        }
    }
}

/// Share consumer settings.
#[derive(Clone, Debug)]
pub struct ShareConfig {
    /// The share group.
    pub group_id: String,
    /// Client and fetch settings (`fetch_max_wait`, `fetch_max_bytes`, `check_crcs`,
    /// `client_rack`); the group fields of a consumer do not apply.
    pub consumer: ConsumerConfig,
    /// Most records one poll asks each broker for (default 500).
    pub max_poll_records: usize,
    /// 'explicit' mode: every delivered record must be acknowledged before the next poll.
    /// Otherwise ('implicit', the default) what is not acknowledged is accepted by the
    /// next poll, commit or close.
    pub explicit: bool,
}

impl ShareConfig {
    /// Defaults for a group.
    pub fn new(client: ClientConfig, group_id: impl Into<String>) -> Self {
        ShareConfig {
            group_id: group_id.into(),
            consumer: ConsumerConfig::new(client),
            max_poll_records: 500,
            explicit: false,
        }
    }

    /// Checks the settings; errors name the key.
    pub fn validate(&self) -> Result<()> {
        self.consumer.validate()?;
        if self.group_id.is_empty() {
            return Err(Error::config("groupId", "is required for a share consumer"));
        }
        if self.max_poll_records == 0 || self.max_poll_records > i32::MAX as usize {
            return Err(Error::config("maxPollRecords", "must be between 1 and 2147483647"));
        }
        Ok(())
    }
}

/// Records of one batch with each record's delivery count (1 the first time).
#[derive(Clone, Debug)]
pub struct ShareBatch {
    /// The records, as the consumer's reader indexed them (only acquired ones).
    pub batch: FetchedBatch,
    /// Delivery count per record of `batch.records`.
    pub delivery_counts: Vec<u16>,
}

/// What one poll returned.
#[derive(Debug, Default)]
pub struct SharePoll {
    /// Acquired records.
    pub batches: Vec<ShareBatch>,
    /// When their acquisition lock ends (Unix ms, the earliest of the brokers answering);
    /// 0 when no records.
    pub lock_expires_at: f64,
    /// Outcomes of the acknowledgements this poll sent (piggybacked on ShareFetch).
    pub acks: Vec<AckResult>,
}

/// Which delivered record is acknowledged how.
#[derive(Default)]
struct Acks {
    /// Records of the last poll: offset -> its acknowledgement so far.
    delivered: BTreeMap<TopicPartition, BTreeMap<i64, Option<AckType>>>,
    /// Acknowledgements to send with the next request to the partition's leader.
    pending: BTreeMap<TopicPartition, BTreeMap<i64, AckType>>,
    /// Delivered records whose lock the app asked to extend, for the next `commit`.
    renew: BTreeMap<TopicPartition, std::collections::BTreeSet<i64>>,
}

#[derive(Default)]
struct Membership {
    epoch: i32,
    /// Assigned partitions with their topic ids.
    assignment: BTreeMap<TopicPartition, uuid::Uuid>,
    /// Why the membership ended for good.
    fatal: Option<Error>,
}

/// What `settle` does with the records not acknowledged yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unacked {
    /// Accept them (implicit mode).
    Accept,
    /// Leave them delivered (explicit mode commit).
    Keep,
    /// Release them (explicit mode close).
    Release,
}

/// Topic names by consumer-local index, and the reverse.
type TopicIndex = (Vec<Arc<str>>, HashMap<Arc<str>, u32>);

pub(crate) struct Shared {
    cfg: ShareConfig,
    cluster: Arc<Cluster>,
    coordinator: Coordinator,
    member_id: String,
    subscription: watch::Sender<Vec<String>>,
    close: watch::Sender<bool>,
    membership: Mutex<Membership>,
    assignment_changed: Notify,
    acks: Mutex<Acks>,
    sessions: tokio::sync::Mutex<fetch::Sessions>,
    /// Topic names by consumer-local topic index (as `FetchedBatch::topic`).
    topics: Mutex<TopicIndex>,
    closed: AtomicBool,
    jitter: AtomicU64,
}

impl Shared {
    fn backoff(&self, attempt: u32) -> Duration {
        let cfg = self.cluster.config();
        ClientConfig::backoff(
            cfg.retry_backoff,
            cfg.retry_backoff_max,
            attempt,
            self.jitter.fetch_add(1, Ordering::Relaxed),
        )
    }

    fn topic_index(&self, name: &Arc<str>) -> u32 {
        let mut t = self.topics.lock();
        if let Some(&i) = t.1.get(name) {
            return i;
        }
        let i = t.0.len() as u32;
        t.0.push(name.clone());
        t.1.insert(name.clone(), i);
        i
    }

    /// Moves the acknowledgements of delivered records to `pending`; what is not
    /// acknowledged is handled as `unacked` says.
    fn settle(&self, unacked: Unacked) {
        let mut a = self.acks.lock();
        let delivered = std::mem::take(&mut a.delivered);
        if unacked != Unacked::Keep {
            // Every record is settled: extending a lock no longer matters.
            a.renew.clear();
        }
        for (tp, offsets) in delivered {
            let mut kept = BTreeMap::new();
            for (offset, ack) in offsets {
                let ack = match (ack, unacked) {
                    (Some(t), _) => t,
                    (None, Unacked::Accept) => AckType::Accept,
                    (None, Unacked::Release) => AckType::Release,
                    (None, Unacked::Keep) => {
                        kept.insert(offset, None);
                        continue;
                    }
                };
                a.pending.entry(tp.clone()).or_default().insert(offset, ack);
            }
            if !kept.is_empty() {
                a.delivered.insert(tp, kept);
            }
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::closed("share consumer"));
        }
        if let Some(e) = &self.membership.lock().fatal {
            return Err(e.clone());
        }
        Ok(())
    }
}

/// The UNSUPPORTED_VERSION error of a broker without share groups.
fn unsupported(node: i32) -> Error {
    Error::new(
        Kind::UnsupportedVersion,
        format!(
            "broker {node} does not support share groups (KIP-932: ShareGroupHeartbeat/ShareFetch/ShareAcknowledge v1; Kafka 4.1+ with the share.version feature at 1)"
        ),
    )
}

/// A share-group consumer.
pub struct ShareConsumer {
    sh: Arc<Shared>,
    heartbeat_done: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl ShareConsumer {
    /// Starts the membership task (idle until `subscribe`). Must run inside a tokio runtime.
    pub fn new(cfg: ShareConfig) -> Result<ShareConsumer> {
        cfg.validate()?;
        let cluster = Cluster::new(cfg.consumer.client.clone(), 16);
        let member_id = crate::group::consumer_protocol::new_member_id()?;
        let sh = Arc::new(Shared {
            coordinator: Coordinator::new(cluster.clone(), cfg.group_id.clone()),
            cluster,
            cfg,
            member_id,
            subscription: watch::channel(Vec::new()).0,
            close: watch::channel(false).0,
            membership: Mutex::new(Membership::default()),
            assignment_changed: Notify::new(),
            acks: Mutex::new(Acks::default()),
            sessions: tokio::sync::Mutex::new(fetch::Sessions::default()),
            topics: Mutex::new((Vec::new(), HashMap::new())),
            closed: AtomicBool::new(false),
            jitter: AtomicU64::new(3),
        });
        let on_panic = {
            let sh = sh.clone();
            move |e: Error| {
                sh.membership.lock().fatal = Some(e);
                sh.assignment_changed.notify_waiters();
            }
        };
        let handle = crate::task::spawn("share-heartbeat", heartbeat::run(sh.clone()), on_panic);
        Ok(ShareConsumer {
            sh,
            heartbeat_done: Mutex::new(Some(handle)),
        })
    }

    /// The member id (a UUID generated here).
    pub fn member_id(&self) -> &str {
        &self.sh.member_id
    }

    /// The member epoch; 0 until joined.
    pub fn member_epoch(&self) -> i32 {
        self.sh.membership.lock().epoch
    }

    /// Name of a consumer-local topic index (`FetchedBatch::topic`).
    pub fn topic_name(&self, index: u32) -> Arc<str> {
        self.sh.topics.lock().0[index as usize].clone()
    }

    /// Replaces the subscription; an empty list leaves the group.
    pub fn subscribe(&self, topics: Vec<String>) -> Result<()> {
        self.sh.check_open()?;
        for t in &topics {
            validate_topic_name(t)?;
        }
        let mut topics = topics;
        topics.sort();
        topics.dedup();
        self.sh.subscription.send_replace(topics);
        Ok(())
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.sh.membership.lock().assignment.keys().cloned().collect()
    }

    /// Acknowledges one record of the last poll.
    pub fn acknowledge(&self, topic: &str, partition: i32, offset: i64, ack: AckType) -> Result<()> {
        self.sh.check_open()?;
        if ack == AckType::Gap {
            return Err(Error::argument("acknowledge type", "gap is not for records"));
        }
        let tp = TopicPartition::new(topic, partition);
        let mut a = self.sh.acks.lock();
        let slot = a.delivered.get_mut(&tp).and_then(|m| m.get_mut(&offset)).ok_or_else(|| {
            Error::new(
                Kind::IllegalState,
                format!(
                    "ILLEGAL_STATE: {topic}-{partition} offset {offset} is not a record of the last poll (acknowledge before the next poll, commit or close)"
                ),
            )
        })?;
        if let Some(prev) = slot {
            return Err(Error::new(
                Kind::IllegalState,
                format!("ILLEGAL_STATE: {topic}-{partition} offset {offset} is already acknowledged ({prev:?})"),
            ));
        }
        if ack == AckType::Renew {
            a.renew.entry(tp).or_default().insert(offset);
        } else {
            *slot = Some(ack);
        }
        Ok(())
    }

    /// Fetches records, waiting up to `timeout` for some. Acknowledgements of the last
    /// poll go with it (implicit mode: what is not acknowledged is accepted). In
    /// explicit mode, polling with records of the last poll unacknowledged is an
    /// ILLEGAL_STATE error.
    pub async fn poll(&self, timeout: Duration) -> Result<SharePoll> {
        self.sh.check_open()?;
        if self.sh.cfg.explicit {
            let a = self.sh.acks.lock();
            let missing: usize = a
                .delivered
                .values()
                .map(|m| m.values().filter(|v| v.is_none()).count())
                .sum();
            if missing > 0 {
                return Err(Error::new(
                    Kind::IllegalState,
                    format!(
                        "ILLEGAL_STATE: acknowledgementMode 'explicit': {missing} record(s) of the last poll are not acknowledged; acknowledge each before polling again"
                    ),
                ));
            }
        }
        self.sh.settle(Unacked::Accept);
        fetch::poll(&self.sh, timeout).await
    }

    /// Sends the acknowledgements (and lock renewals) now (ShareAcknowledge to each
    /// leader) and returns each partition's outcome. Implicit mode accepts the last poll's unacknowledged records;
    /// explicit mode sends only what was acknowledged.
    pub async fn commit(&self) -> Result<Vec<AckResult>> {
        self.sh.check_open()?;
        self.sh.settle(if self.sh.cfg.explicit {
            Unacked::Keep
        } else {
            Unacked::Accept
        });
        fetch::commit(&self.sh, false, after_request_timeout(&self.sh)).await
    }

    /// Sends the pending acknowledgements (explicit mode: the unacknowledged records are
    /// released; implicit mode: accepted), closes the share sessions, leaves the group and
    /// closes the connections. The acknowledgement outcomes are returned.
    pub async fn close(&self) -> Result<Vec<AckResult>> {
        if self.sh.closed.swap(true, Ordering::AcqRel) {
            return Ok(Vec::new());
        }
        // A poll waiting for an assignment ends now (one waiting on a ShareFetch within
        // fetchMaxWaitMs): it holds the sessions this close needs.
        self.sh.assignment_changed.notify_waiters();
        self.sh.settle(if self.sh.cfg.explicit {
            Unacked::Release
        } else {
            Unacked::Accept
        });
        let results = fetch::commit(&self.sh, true, after_request_timeout(&self.sh)).await;
        self.sh.close.send_replace(true);
        let handle = self.heartbeat_done.lock().take();
        if let Some(h) = handle {
            let wait = self.sh.cluster.config().request_timeout + Duration::from_secs(1);
            if tokio::time::timeout(wait, h).await.is_err() {
                tracing::warn!(
                    client = self.sh.cluster.config().log_id,
                    "the share heartbeat task did not stop in time"
                );
            }
        }
        self.sh.cluster.close();
        results
    }
}

fn after_request_timeout(sh: &Shared) -> tokio::time::Instant {
    crate::group::after(sh.cluster.config().request_timeout)
}
