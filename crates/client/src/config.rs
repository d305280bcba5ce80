//! Configuration with the Java client's names (camelCase in errors) and modern defaults.
//! Ranges and cross-field rules are checked here, once, for Rust and JS users alike; the
//! TypeScript layer checks only shapes (types, unknown keys).

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::security::tls::Tls;
use crate::security::Sasl;

/// A `host:port` pair from `bootstrapServers`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses `host:port[,host:port...]`; IPv6 literals go in brackets (`[::1]:9092`).
pub fn parse_bootstrap(servers: &[String]) -> Result<Vec<HostPort>> {
    let mut out = Vec::new();
    for entry in servers.iter().flat_map(|s| s.split(',')) {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let bad = |why: &str| Error::config("bootstrapServers", format!("`{entry}` {why}; expected host:port"));
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("has no port after the IPv6 literal"))?;
            (host, port)
        } else {
            let (host, port) = entry.rsplit_once(':').ok_or_else(|| bad("has no port"))?;
            if host.contains(':') {
                return Err(bad("looks like an IPv6 address without brackets"));
            }
            (host, port)
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(bad("has an invalid host"));
        }
        let port: u16 = port.parse().map_err(|_| bad("has an invalid port"))?;
        if port == 0 {
            return Err(bad("has port 0"));
        }
        out.push(HostPort {
            host: host.to_string(),
            port,
        });
    }
    if out.is_empty() {
        return Err(Error::config("bootstrapServers", "is empty"));
    }
    Ok(out)
}

/// Settings every client (producer, consumer, admin) shares.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Initial brokers to ask for metadata.
    pub bootstrap_servers: Vec<HostPort>,
    /// Sent in every request header; shows in broker logs and quotas.
    pub client_id: String,
    /// How long to wait for any response (Java default 30 s).
    pub request_timeout: Duration,
    /// Refresh metadata at least this often (Java default 5 min).
    pub metadata_max_age: Duration,
    /// Close connections idle this long (Java default 9 min).
    pub connections_max_idle: Duration,
    /// Enable TCP keep-alive on sockets.
    pub socket_keep_alive: bool,
    /// First wait before reconnecting to a broker (Java default 50 ms).
    pub reconnect_backoff: Duration,
    /// Cap of the exponential reconnect backoff (Java default 1 s).
    pub reconnect_backoff_max: Duration,
    /// First wait before retrying a failed request (Java default 100 ms).
    pub retry_backoff: Duration,
    /// Cap of the exponential retry backoff (Java default 1 s, KIP-580).
    pub retry_backoff_max: Duration,
    /// TLS for every broker connection (`ssl`); `None` for plaintext.
    pub tls: Option<Tls>,
    /// SASL authentication on every connection (`sasl`).
    pub sasl: Option<Arc<Sasl>>,
    /// Carried as the `client` field of every `tracing` event this client emits, so a
    /// subscriber can route each client's events to its own logger (0: not routed).
    pub log_id: u64,
}

impl ClientConfig {
    /// Defaults for the given brokers.
    pub fn new(bootstrap_servers: Vec<HostPort>) -> Self {
        ClientConfig {
            bootstrap_servers,
            client_id: "nkafka".to_string(),
            request_timeout: Duration::from_millis(30_000),
            metadata_max_age: Duration::from_millis(300_000),
            connections_max_idle: Duration::from_millis(540_000),
            socket_keep_alive: true,
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_millis(1_000),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1_000),
            tls: None,
            sasl: None,
            log_id: 0,
        }
    }

    /// Checks ranges; errors name the camelCase key.
    pub fn validate(&self) -> Result<()> {
        if self.bootstrap_servers.is_empty() {
            return Err(Error::config("bootstrapServers", "is empty"));
        }
        if self.client_id.len() > i16::MAX as usize {
            return Err(Error::config("clientId", "is longer than 32767 bytes"));
        }
        positive("requestTimeoutMs", self.request_timeout)?;
        positive("metadataMaxAgeMs", self.metadata_max_age)?;
        positive("connectionsMaxIdleMs", self.connections_max_idle)?;
        if self.reconnect_backoff_max < self.reconnect_backoff {
            return Err(Error::config("reconnectBackoffMaxMs", "must be >= reconnectBackoffMs"));
        }
        if self.retry_backoff_max < self.retry_backoff {
            return Err(Error::config("retryBackoffMaxMs", "must be >= retryBackoffMs"));
        }
        Ok(())
    }

    /// Exponential backoff with ±20% jitter, as the Java client (KIP-580, KIP-601).
    pub fn backoff(base: Duration, max: Duration, attempt: u32, jitter_seed: u64) -> Duration {
        let exp = base.saturating_mul(1u32 << attempt.min(20));
        let capped = exp.min(max);
        // Deterministic cheap jitter in [0.8, 1.2).
        let frac = (jitter_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f64 / (1u64 << 24) as f64;
        capped.mul_f64(0.8 + 0.4 * frac)
    }
}

fn positive(key: &str, d: Duration) -> Result<()> {
    if d.is_zero() {
        return Err(Error::config(key, "must be greater than 0"));
    }
    Ok(())
}

/// How a producer waits for acknowledgement (`acks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// 0: fire and forget; no response, no offsets in reports.
    None,
    /// 1: the leader has written it.
    Leader,
    /// -1 / 'all': every in-sync replica has it (Java default since 3.0).
    All,
}

impl Acks {
    /// The wire value.
    pub fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// How records without an explicit partition are spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partitioner {
    /// Java's default: murmur2 of the key for keyed records; uniform sticky for null
    /// keys (KIP-480, KIP-794).
    Murmur2,
    /// A uniformly random partition per record.
    Random,
}

/// Producer settings; defaults follow the Java client 4.x.
#[derive(Clone, Debug)]
pub struct ProducerConfig {
    /// Shared client settings.
    pub client: ClientConfig,
    /// Acknowledgement level.
    pub acks: Acks,
    /// Wait this long for more records before sending a batch (Java 4.0 default: 5 ms).
    pub linger: Duration,
    /// Upper bound of one partition's batch in bytes.
    pub batch_size: usize,
    /// Upper bound of one produce request, and so of one record.
    pub max_request_size: usize,
    /// Requests in flight per broker connection.
    pub max_in_flight: usize,
    /// Retries of a batch after retriable errors (bounded in time by `delivery_timeout`).
    pub retries: u32,
    /// Upper bound from produce() to the delivery report.
    pub delivery_timeout: Duration,
    /// Bytes of records buffered and not yet reported.
    pub buffer_memory: usize,
    /// How long `send()` waits for buffer space, and records wait for topic metadata.
    pub max_block: Duration,
    /// Partition choice for records without an explicit partition.
    pub partitioner: Partitioner,
    /// Idempotent producer (KIP-98, on by default since Kafka 3.0, KIP-679): `None`
    /// means "on unless acks, retries or maxInFlight conflict" (Java's rule), `Some(true)`
    /// makes conflicts a config error.
    pub enable_idempotence: Option<bool>,
    /// Batch compression codec.
    pub compression: crate::protocol::record_batch::Compression,
    /// Codec level (gzip 1-9, lz4 1-17, zstd -131072..22); `None` for the codec default.
    pub compression_level: Option<i32>,
    /// Transactional id: enables transactions (and requires idempotence).
    pub transactional_id: Option<String>,
    /// How long the coordinator lets a transaction stay open (Java default 60 s).
    pub transaction_timeout: Duration,
}

/// Default `batchSize`. The Java default (16 KiB) makes a request per ~150 small records,
/// and the broker's per-request cost then dominates on one box; 256 KiB measured best on
/// the P1 workload (see bench/README.md) while staying small against `bufferMemory`.
pub const DEFAULT_BATCH_SIZE: usize = 256 * 1024;

impl ProducerConfig {
    /// Defaults for the given brokers.
    pub fn new(client: ClientConfig) -> Self {
        ProducerConfig {
            client,
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: DEFAULT_BATCH_SIZE,
            max_request_size: 1024 * 1024,
            max_in_flight: 5,
            retries: i32::MAX as u32,
            delivery_timeout: Duration::from_millis(120_000),
            buffer_memory: 32 * 1024 * 1024,
            max_block: Duration::from_millis(60_000),
            partitioner: Partitioner::Murmur2,
            enable_idempotence: None,
            compression: crate::protocol::record_batch::Compression::None,
            compression_level: None,
            transactional_id: None,
            transaction_timeout: Duration::from_millis(60_000),
        }
    }

    /// Checks ranges and cross-field rules; errors name the camelCase keys.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()?;
        if self.batch_size == 0 {
            return Err(Error::config("batchSize", "must be greater than 0"));
        }
        if self.max_request_size < 1024 {
            return Err(Error::config("maxRequestSize", "must be at least 1024"));
        }
        if self.max_in_flight == 0 {
            return Err(Error::config("maxInFlightRequestsPerConnection", "must be at least 1"));
        }
        if self.buffer_memory < self.batch_size.min(self.max_request_size) {
            return Err(Error::config(
                "bufferMemory",
                "must be at least min(batchSize, maxRequestSize)",
            ));
        }
        if self.delivery_timeout < self.linger + self.client.request_timeout {
            return Err(Error::config(
                "deliveryTimeoutMs",
                format!(
                    "must be >= lingerMs + requestTimeoutMs ({} ms)",
                    (self.linger + self.client.request_timeout).as_millis()
                ),
            ));
        }
        if let Some(t) = &self.transactional_id {
            if t.is_empty() {
                return Err(Error::config("transactionalId", "must not be empty"));
            }
            if self.enable_idempotence == Some(false) {
                return Err(Error::config(
                    "enableIdempotence",
                    "must not be false with a transactionalId",
                ));
            }
            positive("transactionTimeoutMs", self.transaction_timeout)?;
        }
        if self.enable_idempotence == Some(true) || self.transactional_id.is_some() {
            // Explicitly enabled: conflicts are errors naming the keys (Java's rule).
            if self.acks != Acks::All {
                return Err(Error::config(
                    "acks",
                    "must be 'all' (-1) when enableIdempotence is true",
                ));
            }
            if self.retries == 0 {
                return Err(Error::config(
                    "retries",
                    "must be greater than 0 when enableIdempotence is true",
                ));
            }
            if self.max_in_flight > 5 {
                return Err(Error::config(
                    "maxInFlightRequestsPerConnection",
                    "must be at most 5 when enableIdempotence is true",
                ));
            }
        }
        if let Some(level) = self.compression_level {
            crate::protocol::compression::check_level(self.compression, level)
                .map_err(|e| Error::config("compressionLevel", e))?;
        }
        Ok(())
    }

    /// Whether the producer is idempotent: explicitly, or by default when nothing
    /// conflicts (acks all, retries > 0, at most 5 in flight).
    pub fn idempotent(&self) -> bool {
        if self.transactional_id.is_some() {
            return true;
        }
        match self.enable_idempotence {
            Some(v) => v,
            None => self.acks == Acks::All && self.retries > 0 && self.max_in_flight <= 5,
        }
    }

    /// Largest batch the producer builds: `batchSize`, but never more than fits in one
    /// request with its framing.
    pub fn batch_limit(&self) -> usize {
        self.batch_size.min(self.max_request_size.saturating_sub(256)).max(1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(s: &str) -> Result<Vec<HostPort>> {
        parse_bootstrap(&[s.to_string()])
    }

    #[test]
    fn bootstrap_forms() {
        assert_eq!(
            hp("a:1, b:2").unwrap(),
            vec![
                HostPort {
                    host: "a".into(),
                    port: 1
                },
                HostPort {
                    host: "b".into(),
                    port: 2
                }
            ]
        );
        assert_eq!(hp("[::1]:9092").unwrap()[0].host, "::1");
        for bad in [
            "",
            "a",
            "a:",
            "a:x",
            "a:70000",
            "::1:9092",
            "[::1]",
            "a b:1",
            "a:0",
            "http://a:1",
        ] {
            let e = hp(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_CONFIG", "{bad}");
            assert!(e.message.contains("bootstrapServers"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn delivery_timeout_must_cover_linger_and_request_timeout() {
        let mut c = ProducerConfig::new(ClientConfig::new(hp("a:1").unwrap()));
        c.validate().unwrap();
        c.delivery_timeout = Duration::from_millis(1000);
        let e = c.validate().unwrap_err();
        assert!(e.message.contains("deliveryTimeoutMs"));
    }

    #[test]
    fn backoff_grows_and_caps() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        let b0 = ClientConfig::backoff(base, max, 0, 1);
        let b5 = ClientConfig::backoff(base, max, 5, 1);
        assert!(b0 >= Duration::from_millis(80) && b0 < Duration::from_millis(120));
        assert!(b5 >= Duration::from_millis(800) && b5 < Duration::from_millis(1200));
    }
}

/// What to do when a partition has no committed offset, or its offset is out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetReset {
    /// Start from the log start.
    Earliest,
    /// Start from the end (only new records); the Java default.
    Latest,
    /// Fail with OFFSET_OUT_OF_RANGE (or NO_OFFSET) instead of guessing.
    None,
}

/// Consumer settings; defaults follow the Java client 4.x.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// Shared client settings.
    pub client: ClientConfig,
    /// Consumer group; required for `subscribe` and commits.
    pub group_id: Option<String>,
    /// Static membership id (KIP-345).
    pub group_instance_id: Option<String>,
    /// Group session timeout (Java 4.x default 45 s).
    pub session_timeout: Duration,
    /// Heartbeat interval (default 3 s).
    pub heartbeat_interval: Duration,
    /// Longest time between polls before the member leaves the group (default 5 min); also
    /// the rebalance timeout.
    pub max_poll_interval: Duration,
    /// Where to start without a committed offset.
    pub auto_offset_reset: OffsetReset,
    /// Least data a fetch waits for (default 1 byte).
    pub fetch_min_bytes: usize,
    /// Most data per fetch response (default 50 MiB); also the prefetch bound.
    pub fetch_max_bytes: usize,
    /// Most data per partition per fetch (default 1 MiB).
    pub max_partition_fetch_bytes: usize,
    /// Longest a fetch waits for `fetch_min_bytes` (default 500 ms).
    pub fetch_max_wait: Duration,
    /// read_committed: only committed transactional records (default read_uncommitted).
    pub read_committed: bool,
    /// Verify batch CRCs (default true).
    pub check_crcs: bool,
    /// Rack of this client, for rack-aware fetching and assignment.
    pub client_rack: Option<String>,
    /// Partition assignors in preference order; `None` for the Java default
    /// (range, cooperative-sticky).
    pub assignors: Option<Vec<crate::group::Assignor>>,
    /// `group.protocol`: classic (JoinGroup/SyncGroup) or KIP-848's consumer protocol.
    pub group_protocol: crate::group::GroupProtocol,
    /// `group.remote.assignor` for the consumer protocol (`uniform`, `range`); `None` for
    /// the broker's default.
    pub remote_assignor: Option<String>,
}

impl ConsumerConfig {
    /// Defaults for the given brokers.
    pub fn new(client: ClientConfig) -> Self {
        ConsumerConfig {
            client,
            group_id: None,
            group_instance_id: None,
            session_timeout: Duration::from_millis(45_000),
            heartbeat_interval: Duration::from_millis(3_000),
            max_poll_interval: Duration::from_millis(300_000),
            auto_offset_reset: OffsetReset::Latest,
            fetch_min_bytes: 1,
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            fetch_max_wait: Duration::from_millis(500),
            read_committed: false,
            check_crcs: true,
            client_rack: None,
            assignors: None,
            group_protocol: crate::group::GroupProtocol::Classic,
            remote_assignor: None,
        }
    }

    /// Checks ranges and cross-field rules; errors name the camelCase keys.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()?;
        if let Some(g) = &self.group_id {
            if g.is_empty() {
                return Err(Error::config("groupId", "must not be empty"));
            }
        }
        if self.group_instance_id.is_some() && self.group_id.is_none() {
            return Err(Error::config("groupInstanceId", "needs a groupId"));
        }
        positive("sessionTimeoutMs", self.session_timeout)?;
        positive("heartbeatIntervalMs", self.heartbeat_interval)?;
        positive("maxPollIntervalMs", self.max_poll_interval)?;
        if self.heartbeat_interval >= self.session_timeout {
            return Err(Error::config(
                "heartbeatIntervalMs",
                "must be lower than sessionTimeoutMs",
            ));
        }
        if self.fetch_max_bytes == 0 {
            return Err(Error::config("fetchMaxBytes", "must be greater than 0"));
        }
        if self.max_partition_fetch_bytes == 0 {
            return Err(Error::config("maxPartitionFetchBytes", "must be greater than 0"));
        }
        if self.fetch_max_bytes > i32::MAX as usize || self.max_partition_fetch_bytes > i32::MAX as usize {
            return Err(Error::config("fetchMaxBytes", "must fit in 31 bits"));
        }
        Ok(())
    }
}
