//! Config objects from JS into the client's config types. JS numbers arrive as f64; each
//! is checked to be a finite non-negative integer in range, and errors name the key.
//! `ssl` and `sasl` are built here (TLS config, SASL mechanism), so malformed PEM or an
//! unknown mechanism fails the constructor, not the first connection.

use std::sync::Arc;
use std::time::Duration;

use napi_derive::napi;
use nkafka_client::config::{
    parse_bootstrap, Acks, ClientConfig, ConsumerConfig, OffsetReset, Partitioner, ProducerConfig,
};
use nkafka_client::group::{Assignor, GroupProtocol};
use nkafka_client::protocol::record_batch::Compression;
use nkafka_client::security::tls::{Tls, TlsOptions};
use nkafka_client::security::{Sasl, Secret};
use nkafka_client::Error;

use crate::oauth::{JsTokenProvider, OAuthTsfn};

/// `ssl` settings. The TS layer turns `ssl: true` into `{ rejectUnauthorized: true }` and
/// Buffers and CA arrays into PEM text.
#[napi(object)]
pub struct BindingSsl {
    /// Trusted CAs (PEM, several allowed); none: Mozilla's roots.
    pub ca: Option<String>,
    /// Client certificate chain (PEM) for mTLS.
    pub cert: Option<String>,
    /// Client private key (PEM).
    pub key: Option<String>,
    /// Passphrase of an encrypted `key`.
    pub passphrase: Option<String>,
    /// Verify the broker's certificate and host name. Default true.
    pub reject_unauthorized: Option<bool>,
    /// SNI and verification name instead of each broker's host.
    pub servername: Option<String>,
    /// 'TLSv1.2' (default) or 'TLSv1.3'.
    pub min_version: Option<String>,
}

/// `sasl` settings: a mechanism with a username and password, or 'oauthbearer' with the
/// (TS-wrapped) token provider.
#[napi(object, object_to_js = false)]
pub struct BindingSasl {
    /// 'plain', 'scram-sha-256', 'scram-sha-512' or 'oauthbearer' (any case).
    pub mechanism: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Made into a weak threadsafe function when the config object is read.
    #[napi(ts_type = "() => Promise<BindingOAuthResult>")]
    pub oauth_bearer_provider: Option<OAuthTsfn>,
}

impl BindingSsl {
    fn convert(&self) -> Result<Tls, Error> {
        Tls::new(&TlsOptions {
            ca: self.ca.as_ref().map(|s| s.as_bytes().to_vec()),
            cert: self.cert.as_ref().map(|s| s.as_bytes().to_vec()),
            key: self.key.as_deref().map(Secret::new),
            passphrase: self.passphrase.as_deref().map(Secret::new),
            // TlsOptions::default() would say false: verification is on unless turned off.
            reject_unauthorized: self.reject_unauthorized.unwrap_or(true),
            servername: self.servername.clone(),
            min_version: self.min_version.clone(),
        })
    }
}

impl BindingSasl {
    /// Takes the provider out (a threadsafe function has one owner).
    fn convert(&mut self) -> Result<Sasl, Error> {
        if self.mechanism.eq_ignore_ascii_case("oauthbearer") {
            let Some(tsfn) = self.oauth_bearer_provider.take() else {
                return Err(Error::config(
                    "sasl.oauthBearerProvider",
                    "is missing: mechanism 'oauthbearer' needs a token provider function",
                ));
            };
            return Ok(Sasl::oauth_bearer(Arc::new(JsTokenProvider::new(tsfn))));
        }
        Sasl::with_password(
            &self.mechanism,
            self.username.as_deref().unwrap_or(""),
            self.password.as_deref().unwrap_or(""),
        )
    }
}

/// Settings shared by every client.
#[napi(object, object_to_js = false)]
pub struct BindingClientConfig {
    pub bootstrap_servers: Vec<String>,
    pub client_id: Option<String>,
    pub request_timeout_ms: Option<f64>,
    pub metadata_max_age_ms: Option<f64>,
    pub connections_max_idle_ms: Option<f64>,
    pub socket_keep_alive: Option<bool>,
    pub reconnect_backoff_ms: Option<f64>,
    pub reconnect_backoff_max_ms: Option<f64>,
    pub retry_backoff_ms: Option<f64>,
    pub retry_backoff_max_ms: Option<f64>,
    /// TLS; absent for plaintext.
    pub ssl: Option<BindingSsl>,
    /// SASL authentication.
    pub sasl: Option<BindingSasl>,
    /// The id `registerLogger` returned; absent when logging is off.
    pub log_id: Option<f64>,
}

/// Producer settings (camelCase in JS).
#[napi(object, object_to_js = false)]
pub struct BindingProducerConfig {
    pub client: BindingClientConfig,
    /// 0, 1 or -1.
    pub acks: Option<i32>,
    pub linger_ms: Option<f64>,
    pub batch_size: Option<f64>,
    pub max_request_size: Option<f64>,
    pub max_in_flight_requests_per_connection: Option<f64>,
    pub retries: Option<f64>,
    pub delivery_timeout_ms: Option<f64>,
    pub buffer_memory: Option<f64>,
    pub max_block_ms: Option<f64>,
    /// 'murmur2' or 'random' ('function' partitioners run in JS and pass a partition).
    pub partitioner: Option<String>,
    pub enable_idempotence: Option<bool>,
    /// 'none', 'gzip', 'snappy', 'lz4' or 'zstd'.
    pub compression_type: Option<String>,
    pub compression_level: Option<f64>,
    pub transactional_id: Option<String>,
    pub transaction_timeout_ms: Option<f64>,
}

pub(crate) fn int(key: &str, v: Option<f64>, default: u64, max: u64) -> Result<u64, Error> {
    let Some(v) = v else { return Ok(default) };
    if !v.is_finite() || v.fract() != 0.0 || v < 0.0 {
        return Err(Error::config(key, format!("{v} is not a non-negative integer")));
    }
    if v > max as f64 {
        return Err(Error::config(key, format!("{v} is larger than {max}")));
    }
    Ok(v as u64)
}

pub(crate) fn ms(key: &str, v: Option<f64>, default: Duration) -> Result<Duration, Error> {
    Ok(Duration::from_millis(int(
        key,
        v,
        default.as_millis() as u64,
        i32::MAX as u64,
    )?))
}

impl BindingClientConfig {
    /// `&mut`: the OAUTHBEARER provider's threadsafe function is moved into the config.
    pub fn convert(&mut self) -> Result<ClientConfig, Error> {
        let d = ClientConfig::new(parse_bootstrap(&self.bootstrap_servers)?);
        let c = ClientConfig {
            client_id: self.client_id.clone().unwrap_or(d.client_id.clone()),
            request_timeout: ms("requestTimeoutMs", self.request_timeout_ms, d.request_timeout)?,
            metadata_max_age: ms("metadataMaxAgeMs", self.metadata_max_age_ms, d.metadata_max_age)?,
            connections_max_idle: ms(
                "connectionsMaxIdleMs",
                self.connections_max_idle_ms,
                d.connections_max_idle,
            )?,
            socket_keep_alive: self.socket_keep_alive.unwrap_or(d.socket_keep_alive),
            reconnect_backoff: ms("reconnectBackoffMs", self.reconnect_backoff_ms, d.reconnect_backoff)?,
            reconnect_backoff_max: ms(
                "reconnectBackoffMaxMs",
                self.reconnect_backoff_max_ms,
                d.reconnect_backoff_max,
            )?,
            retry_backoff: ms("retryBackoffMs", self.retry_backoff_ms, d.retry_backoff)?,
            retry_backoff_max: ms("retryBackoffMaxMs", self.retry_backoff_max_ms, d.retry_backoff_max)?,
            tls: self.ssl.as_ref().map(BindingSsl::convert).transpose()?,
            sasl: self.sasl.as_mut().map(BindingSasl::convert).transpose()?.map(Arc::new),
            bootstrap_servers: d.bootstrap_servers,
            log_id: self.log_id.map_or(0, |v| v as u64),
        };
        c.validate()?;
        Ok(c)
    }
}

impl BindingProducerConfig {
    pub fn convert(&mut self) -> Result<ProducerConfig, Error> {
        let d = ProducerConfig::new(self.client.convert()?);
        let acks = match self.acks {
            None => d.acks,
            Some(0) => Acks::None,
            Some(1) => Acks::Leader,
            Some(-1) => Acks::All,
            Some(v) => return Err(Error::config("acks", format!("{v}; expected 0, 1, -1 or 'all'"))),
        };
        let partitioner = match self.partitioner.as_deref() {
            None | Some("murmur2") => Partitioner::Murmur2,
            Some("random") => Partitioner::Random,
            Some(v) => {
                return Err(Error::config(
                    "partitioner",
                    format!("`{v}`; expected 'murmur2', 'random' or a function"),
                ))
            }
        };
        let max = i32::MAX as u64;
        let compression = match self.compression_type.as_deref() {
            None | Some("none") => Compression::None,
            Some("gzip") => Compression::Gzip,
            Some("snappy") => Compression::Snappy,
            Some("lz4") => Compression::Lz4,
            Some("zstd") => Compression::Zstd,
            Some(v) => {
                return Err(Error::config(
                    "compressionType",
                    format!("`{v}`; expected 'none', 'gzip', 'snappy', 'lz4' or 'zstd'"),
                ))
            }
        };
        if let Some(l) = self.compression_level {
            if !l.is_finite() || l.fract() != 0.0 {
                return Err(Error::config("compressionLevel", format!("{l} is not an integer")));
            }
        }
        let c = ProducerConfig {
            acks,
            linger: ms("lingerMs", self.linger_ms, d.linger)?,
            batch_size: int("batchSize", self.batch_size, d.batch_size as u64, max)? as usize,
            max_request_size: int("maxRequestSize", self.max_request_size, d.max_request_size as u64, max)? as usize,
            max_in_flight: int(
                "maxInFlightRequestsPerConnection",
                self.max_in_flight_requests_per_connection,
                d.max_in_flight as u64,
                1000,
            )? as usize,
            retries: int("retries", self.retries, d.retries as u64, max)? as u32,
            delivery_timeout: ms("deliveryTimeoutMs", self.delivery_timeout_ms, d.delivery_timeout)?,
            buffer_memory: int("bufferMemory", self.buffer_memory, d.buffer_memory as u64, 1 << 40)? as usize,
            max_block: ms("maxBlockMs", self.max_block_ms, d.max_block)?,
            partitioner,
            enable_idempotence: self.enable_idempotence,
            compression,
            compression_level: self.compression_level.map(|l| l as i32),
            transactional_id: self.transactional_id.clone(),
            transaction_timeout: ms(
                "transactionTimeoutMs",
                self.transaction_timeout_ms,
                d.transaction_timeout,
            )?,
            client: d.client,
        };
        c.validate()?;
        Ok(c)
    }
}

/// Consumer settings (camelCase in JS).
#[napi(object, object_to_js = false)]
pub struct BindingConsumerConfig {
    pub client: BindingClientConfig,
    pub group_id: Option<String>,
    pub group_instance_id: Option<String>,
    pub session_timeout_ms: Option<f64>,
    pub heartbeat_interval_ms: Option<f64>,
    pub max_poll_interval_ms: Option<f64>,
    /// 'earliest', 'latest' or 'none'.
    pub auto_offset_reset: Option<String>,
    pub fetch_min_bytes: Option<f64>,
    pub fetch_max_bytes: Option<f64>,
    pub max_partition_fetch_bytes: Option<f64>,
    pub fetch_max_wait_ms: Option<f64>,
    /// 'read_uncommitted' or 'read_committed'.
    pub isolation_level: Option<String>,
    pub check_crcs: Option<bool>,
    pub client_rack: Option<String>,
    /// 'range', 'roundrobin', 'cooperative-sticky', in preference order.
    pub partition_assignors: Option<Vec<String>>,
    /// 'classic' or 'consumer' (KIP-848).
    pub group_protocol: Option<String>,
    /// The broker-side assignor for 'consumer': 'uniform' or 'range'.
    pub group_remote_assignor: Option<String>,
}

impl BindingConsumerConfig {
    pub fn convert(&mut self) -> Result<ConsumerConfig, Error> {
        let d = ConsumerConfig::new(self.client.convert()?);
        let max = i32::MAX as u64;
        let auto_offset_reset = match self.auto_offset_reset.as_deref() {
            None => d.auto_offset_reset,
            Some("earliest") => OffsetReset::Earliest,
            Some("latest") => OffsetReset::Latest,
            Some("none") => OffsetReset::None,
            Some(v) => {
                return Err(Error::config(
                    "autoOffsetReset",
                    format!("`{v}`; expected 'earliest', 'latest' or 'none'"),
                ))
            }
        };
        let read_committed = match self.isolation_level.as_deref() {
            None | Some("read_uncommitted") => false,
            Some("read_committed") => true,
            Some(v) => {
                return Err(Error::config(
                    "isolationLevel",
                    format!("`{v}`; expected 'read_uncommitted' or 'read_committed'"),
                ))
            }
        };
        let assignors = match &self.partition_assignors {
            None => None,
            Some(names) if names.is_empty() => return Err(Error::config("partitionAssignors", "must not be empty")),
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| {
                        Assignor::from_name(n).ok_or_else(|| {
                            Error::config(
                                "partitionAssignors",
                                format!(
                                    "unknown assignor `{n}`; expected 'range', 'roundrobin' or 'cooperative-sticky'"
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, Error>>()?,
            ),
        };
        let group_protocol = match self.group_protocol.as_deref() {
            None | Some("classic") => GroupProtocol::Classic,
            Some("consumer") => GroupProtocol::Consumer,
            Some(v) => {
                return Err(Error::config(
                    "groupProtocol",
                    format!("`{v}`; expected 'classic' or 'consumer'"),
                ))
            }
        };
        if self.group_remote_assignor.is_some() && group_protocol != GroupProtocol::Consumer {
            return Err(Error::config(
                "groupRemoteAssignor",
                "applies to groupProtocol 'consumer' only (the classic protocol assigns in the client: partitionAssignors)",
            ));
        }
        let c = ConsumerConfig {
            assignors,
            group_id: self.group_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
            session_timeout: ms("sessionTimeoutMs", self.session_timeout_ms, d.session_timeout)?,
            heartbeat_interval: ms("heartbeatIntervalMs", self.heartbeat_interval_ms, d.heartbeat_interval)?,
            max_poll_interval: ms("maxPollIntervalMs", self.max_poll_interval_ms, d.max_poll_interval)?,
            auto_offset_reset,
            fetch_min_bytes: int("fetchMinBytes", self.fetch_min_bytes, d.fetch_min_bytes as u64, max)? as usize,
            fetch_max_bytes: int("fetchMaxBytes", self.fetch_max_bytes, d.fetch_max_bytes as u64, max)? as usize,
            max_partition_fetch_bytes: int(
                "maxPartitionFetchBytes",
                self.max_partition_fetch_bytes,
                d.max_partition_fetch_bytes as u64,
                max,
            )? as usize,
            fetch_max_wait: ms("fetchMaxWaitMs", self.fetch_max_wait_ms, d.fetch_max_wait)?,
            read_committed,
            check_crcs: self.check_crcs.unwrap_or(d.check_crcs),
            client_rack: self.client_rack.clone(),
            group_protocol,
            remote_assignor: self.group_remote_assignor.clone(),
            client: d.client,
        };
        c.validate()?;
        Ok(c)
    }
}
