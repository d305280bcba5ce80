//! What the client knows about the cluster (brokers, topics, leaders) and the pool of
//! connections to it.
//!
//! Connections are keyed by (broker, purpose): produce, fetch, group and control traffic
//! each get their own socket, so a long-polling fetch never delays a produce. A dead
//! connection is replaced on next use, after an exponential reconnect backoff per broker.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use parking_lot::{Mutex, RwLock};
use tokio::time::Instant;

use crate::config::{ClientConfig, HostPort};
use crate::conn::{ConnStats, ConnectOptions, Connection};
use crate::error::{Error, Kind, Result};

/// What a connection is used for; each purpose gets its own socket per broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Metadata and admin requests.
    Control,
    /// Produce requests.
    Produce,
    /// Fetch requests.
    Fetch,
    /// Group coordination.
    Group,
}

/// A broker as the metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerMeta {
    /// node.id
    pub id: i32,
    /// Advertised address.
    pub addr: HostPort,
    /// broker.rack, if set.
    pub rack: Option<String>,
}

/// One partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMeta {
    /// Partition index.
    pub id: i32,
    /// Error for this partition (e.g. LEADER_NOT_AVAILABLE).
    pub error: ErrorCode,
    /// Leader broker id, -1 when none.
    pub leader: i32,
    /// Leader epoch (KIP-320).
    pub leader_epoch: i32,
    /// Replica broker ids.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
}

/// A topic as the metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMeta {
    /// Topic name.
    pub name: String,
    /// Topic-level error (UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED, ...).
    pub error: ErrorCode,
    /// Internal topics (__consumer_offsets, ...).
    pub is_internal: bool,
    /// Topic id (Metadata v10+), all zero when the broker does not send one.
    pub id: uuid::Uuid,
    /// Partitions sorted by index.
    pub partitions: Vec<PartitionMeta>,
}

/// A consistent snapshot of cluster metadata.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    /// Cluster id (KRaft clusters always have one).
    pub cluster_id: Option<String>,
    /// Active controller id as the broker reports it.
    pub controller_id: i32,
    /// Brokers by id.
    pub brokers: HashMap<i32, BrokerMeta>,
    /// Topics by name.
    pub topics: HashMap<String, TopicMeta>,
}

#[derive(Default)]
struct SlotState {
    conn: Option<Connection>,
    failures: u32,
    next_attempt: Option<Instant>,
}

type Slot = Arc<tokio::sync::Mutex<SlotState>>;

/// Shared cluster view and connection pool.
pub struct Cluster {
    cfg: ClientConfig,
    max_in_flight: usize,
    meta: RwLock<Arc<Metadata>>,
    slots: Mutex<HashMap<(i32, Purpose), Slot>>,
    conn_stats: Mutex<HashMap<(i32, Purpose), Arc<ConnStats>>>,
    refresh_lock: tokio::sync::Mutex<()>,
    refreshes: AtomicU64,
    connection_attempts: AtomicU64,
    jitter: AtomicU64,
}

impl Cluster {
    /// A cluster view with nothing known yet.
    pub fn new(cfg: ClientConfig, max_in_flight: usize) -> Arc<Self> {
        Arc::new(Cluster {
            cfg,
            max_in_flight,
            meta: RwLock::new(Arc::new(Metadata::default())),
            slots: Mutex::new(HashMap::new()),
            conn_stats: Mutex::new(HashMap::new()),
            refresh_lock: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
            connection_attempts: AtomicU64::new(0),
            jitter: AtomicU64::new(1),
        })
    }

    /// Client settings.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The latest metadata snapshot.
    pub fn metadata(&self) -> Arc<Metadata> {
        self.meta.read().clone()
    }

    /// How many metadata refreshes completed.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// How many connections were attempted (successful or not), on every purpose.
    pub fn connection_attempts(&self) -> u64 {
        self.connection_attempts.load(Ordering::Relaxed)
    }

    /// KIP-368 re-authentications run on live connections, on every purpose.
    pub fn reauthentications(&self) -> usize {
        self.conn_stats
            .lock()
            .values()
            .map(|s| s.reauthentications.load(Ordering::Relaxed))
            .sum()
    }

    /// Highest pipelining depth seen on any connection of `purpose`.
    pub fn max_in_flight_seen(&self, purpose: Purpose) -> usize {
        self.conn_stats
            .lock()
            .iter()
            .filter(|((_, p), _)| *p == purpose)
            .map(|(_, s)| s.max_in_flight_seen.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// Total requests written on connections of `purpose`.
    pub fn requests_sent(&self, purpose: Purpose) -> usize {
        self.conn_stats
            .lock()
            .iter()
            .filter(|((_, p), _)| *p == purpose)
            .map(|(_, s)| s.requests.load(Ordering::Relaxed))
            .sum()
    }

    fn slot(&self, key: (i32, Purpose)) -> Slot {
        self.slots.lock().entry(key).or_default().clone()
    }

    fn address_of(&self, broker: i32) -> Option<HostPort> {
        if broker < 0 {
            let i = (-broker - 1) as usize;
            return self.cfg.bootstrap_servers.get(i).cloned();
        }
        self.meta.read().brokers.get(&broker).map(|b| b.addr.clone())
    }

    /// A live connection to `broker` for `purpose`, connecting if needed. Negative ids
    /// name bootstrap servers (-1 is the first).
    pub async fn connection(&self, broker: i32, purpose: Purpose) -> Result<Connection> {
        let slot = self.slot((broker, purpose));
        let mut st = slot.lock().await;
        if let Some(c) = &st.conn {
            if c.is_alive() {
                return Ok(c.clone());
            }
            st.conn = None;
        }
        if let Some(t) = st.next_attempt {
            if t > Instant::now() {
                tokio::time::sleep_until(t).await;
            }
        }
        let addr = self.address_of(broker).ok_or_else(|| {
            Error::new(
                Kind::Broker(ErrorCode::BROKER_NOT_AVAILABLE),
                format!("broker {broker} is not in the metadata"),
            )
        })?;
        let stats = self.conn_stats.lock().entry((broker, purpose)).or_default().clone();
        let max_in_flight = if purpose == Purpose::Produce {
            self.max_in_flight
        } else {
            16
        };
        let opts = ConnectOptions::from_config(&self.cfg, max_in_flight);
        self.connection_attempts.fetch_add(1, Ordering::Relaxed);
        match Connection::connect(&addr, &opts, stats).await {
            Ok(c) => {
                st.failures = 0;
                st.next_attempt = None;
                st.conn = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                let seed = self.jitter.fetch_add(1, Ordering::Relaxed);
                let wait = ClientConfig::backoff(
                    self.cfg.reconnect_backoff,
                    self.cfg.reconnect_backoff_max,
                    st.failures,
                    seed,
                );
                st.failures = st.failures.saturating_add(1);
                st.next_attempt = Some(Instant::now() + wait);
                tracing::warn!(
                    client = self.cfg.log_id,
                    broker = %addr,
                    attempt = st.failures,
                    retry_in_ms = wait.as_millis() as u64,
                    cause = %e,
                    "cannot connect to broker"
                );
                Err(e)
            }
        }
    }

    /// Closes every connection.
    pub fn close(&self) {
        let slots: Vec<Slot> = self.slots.lock().values().cloned().collect();
        for s in slots {
            if let Ok(st) = s.try_lock() {
                if let Some(c) = &st.conn {
                    c.close();
                }
            }
        }
    }

    /// Any live control connection: a known broker first, then bootstrap servers, until
    /// one answers or `deadline` passes.
    pub async fn any_connection(&self, deadline: Instant) -> Result<Connection> {
        let mut candidates: Vec<i32> = self.meta.read().brokers.keys().copied().collect();
        candidates.sort_unstable();
        // Rotate so load spreads over brokers.
        if !candidates.is_empty() {
            let r = (self.jitter.fetch_add(1, Ordering::Relaxed) as usize) % candidates.len();
            candidates.rotate_left(r);
        }
        candidates.extend((0..self.cfg.bootstrap_servers.len()).map(|i| -(i as i32) - 1));
        let mut last_err = None;
        loop {
            for &b in &candidates {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match tokio::time::timeout(left, self.connection(b, Purpose::Control)).await {
                    Ok(Ok(c)) => return Ok(c),
                    // Wrong credentials or an untrusted certificate: every broker
                    // answers the same, so report it now rather than at the deadline.
                    Ok(Err(e)) if e.is_auth() => return Err(e),
                    Ok(Err(e)) => last_err = Some(e),
                    Err(_) => break,
                }
            }
            if Instant::now() >= deadline {
                break;
            }
            // Every candidate failed: wait a little before the next round.
            tokio::time::sleep(
                self.cfg
                    .reconnect_backoff
                    .min(deadline.saturating_duration_since(Instant::now())),
            )
            .await;
        }
        let servers: Vec<String> = self.cfg.bootstrap_servers.iter().map(ToString::to_string).collect();
        let detail = last_err
            .map(|e| e.message)
            .unwrap_or_else(|| "no attempt finished".into());
        Err(Error::new(
            Kind::Network,
            format!(
                "could not reach any broker of {} within {} ms: {detail}",
                servers.join(","),
                self.cfg.request_timeout.as_millis()
            ),
        ))
    }

    /// Fetches metadata for `topics` (all topics when `None`) and merges it into the
    /// cached view. Concurrent callers share one request in flight.
    pub async fn refresh(&self, topics: Option<&[String]>, allow_auto_create: bool) -> Result<Arc<Metadata>> {
        let deadline = Instant::now() + self.cfg.request_timeout;
        let _guard = self.refresh_lock.lock().await;
        let mut last_err = None;
        // A broker can die between connect and answer: try a few.
        for _ in 0..3 {
            let conn = self.any_connection(deadline).await?;
            match self.fetch_metadata(&conn, topics, allow_auto_create, deadline).await {
                Ok(resp) => return Ok(self.merge(resp, topics.is_none())),
                Err(e) if e.retriable() && Instant::now() < deadline => {
                    conn.close();
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::new(Kind::Network, "metadata refresh failed")))
    }

    async fn fetch_metadata(
        &self,
        conn: &Connection,
        topics: Option<&[String]>,
        allow_auto_create: bool,
        deadline: Instant,
    ) -> Result<MetadataResponse> {
        let version = conn.versions().pick_for::<MetadataRequest>(ApiKey::Metadata)?;
        let req = MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(allow_auto_create);
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        conn.call(ApiKey::Metadata, &req, version, timeout).await
    }

    fn merge(&self, resp: MetadataResponse, full: bool) -> Arc<Metadata> {
        let mut next = if full {
            Metadata::default()
        } else {
            (**self.meta.read()).clone()
        };
        next.cluster_id = resp.cluster_id.map(|s| s.to_string());
        next.controller_id = resp.controller_id.0;
        next.brokers = resp
            .brokers
            .into_iter()
            .map(|b| {
                (
                    b.node_id.0,
                    BrokerMeta {
                        id: b.node_id.0,
                        addr: HostPort {
                            host: b.host.to_string(),
                            port: b.port as u16,
                        },
                        rack: b.rack.map(|r| r.to_string()),
                    },
                )
            })
            .collect();
        for t in resp.topics {
            let Some(name) = t.name.map(|n| n.0.to_string()) else {
                continue;
            };
            let mut partitions: Vec<PartitionMeta> = t
                .partitions
                .into_iter()
                .map(|p| PartitionMeta {
                    id: p.partition_index,
                    error: ErrorCode(p.error_code),
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|b: &BrokerId| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                })
                .collect();
            partitions.sort_by_key(|p| p.id);
            next.topics.insert(
                name.clone(),
                TopicMeta {
                    name,
                    error: ErrorCode(t.error_code),
                    is_internal: t.is_internal,
                    id: t.topic_id,
                    partitions,
                },
            );
        }
        let next = Arc::new(next);
        *self.meta.write() = next.clone();
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        next
    }
}

/// Checks a topic name against Kafka's rules: 1..=249 characters of `[a-zA-Z0-9._-]`,
/// and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |why: &str| Error::argument("topic name", format!("`{name}` {why}"));
    if name.is_empty() {
        return Err(Error::argument("topic name", "the name is empty"));
    }
    if name.len() > 249 {
        return Err(bad("is longer than 249 characters"));
    }
    if name == "." || name == ".." {
        return Err(bad("is not allowed"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_' || *c == '-'))
    {
        return Err(bad(&format!(
            "contains `{c}`; allowed are ASCII letters, digits, '.', '_' and '-'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        validate_topic_name("a.b_c-D9").unwrap();
        validate_topic_name(&"x".repeat(249)).unwrap();
        for bad in ["", ".", "..", "a b", "ü", "a/b", &"x".repeat(250)] {
            let e = validate_topic_name(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT");
        }
    }
}
