//! The one error type of the client. Every error carries a stable `code` string: Kafka's
//! own error name when the broker said it (e.g. `NOT_LEADER_OR_FOLLOWER`), or a client
//! code for what happened on our side (`BUFFER_FULL`, `INVALID_CONFIG`, ...). The JS
//! `KafkaError` is built from these fields.

use std::fmt;
use std::sync::Arc;

use nkafka_protocol::error::ErrorCode;
use nkafka_protocol::DecodeError;

/// What went wrong, at the level a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The broker answered with this Kafka error code.
    Broker(ErrorCode),
    /// A configuration value is invalid (the message names the key).
    InvalidConfig,
    /// An argument to a call is invalid (the message names it).
    InvalidArgument,
    /// `bufferMemory` is exhausted.
    BufferFull,
    /// The client was closed.
    Closed,
    /// A TCP connection failed or dropped.
    Network,
    /// A request got no answer within `requestTimeoutMs`.
    RequestTimeout,
    /// A record was not delivered within `deliveryTimeoutMs`.
    DeliveryTimeout,
    /// A wait (flush, metadata) ran past its deadline.
    Timeout,
    /// The peer sent bytes that are not a valid Kafka response.
    Protocol,
    /// Fetched records failed their CRC or could not be decoded. Not retriable, unlike
    /// the broker's CORRUPT_MESSAGE: fetching the same offset again returns the same bytes.
    CorruptRecords,
    /// A record is larger than `maxRequestSize` or `bufferMemory`.
    RecordTooLarge,
    /// The broker supports no version of an API the client needs.
    UnsupportedVersion,
    /// A partition has no committed offset and `autoOffsetReset` is 'none'.
    NoOffset,
    /// The record's transaction was aborted before it was sent.
    TransactionAborted,
    /// A bug in nkafka (a caught panic, a broken invariant).
    Internal,
    /// The TLS handshake failed; the failure says which check.
    Tls(TlsFailure),
    /// The OAUTHBEARER token provider threw, rejected or returned something unusable.
    TokenProvider,
    /// A call not allowed in the object's state (a share consumer's explicit mode polled
    /// with records unacknowledged, a record acknowledged twice).
    IllegalState,
}

/// Which part of a TLS handshake failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFailure {
    /// The broker's certificate does not chain to a trusted CA.
    Untrusted,
    /// The certificate is not valid for the broker's host name.
    HostnameMismatch,
    /// The certificate has expired or is not valid yet.
    Expired,
    /// Anything else: alerts, a plaintext peer, a client certificate the broker refused.
    Handshake,
}

/// An error with its code, message, whether retrying can help, and where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The kind.
    pub kind: Kind,
    /// A message for people.
    pub message: String,
    /// Broker address or id, when one is involved.
    pub broker: Option<Arc<str>>,
    /// Topic, when one is involved.
    pub topic: Option<Arc<str>>,
    /// Partition, when one is involved.
    pub partition: Option<i32>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            broker: None,
            topic: None,
            partition: None,
        }
    }

    /// An error the broker reported with `code`.
    pub fn broker(code: ErrorCode, message: Option<&str>) -> Self {
        let message = match message {
            Some(m) if !m.is_empty() => format!("{}: {m}", code.name()),
            _ => format!("{}: {}", code.name(), code.description()),
        };
        Error::new(Kind::Broker(code), message)
    }

    /// An invalid configuration value; `key` is the camelCase config name.
    pub fn config(key: &str, problem: impl fmt::Display) -> Self {
        Error::new(Kind::InvalidConfig, format!("invalid config `{key}`: {problem}"))
    }

    /// An invalid argument; `what` names it.
    pub fn argument(what: &str, problem: impl fmt::Display) -> Self {
        Error::new(Kind::InvalidArgument, format!("invalid {what}: {problem}"))
    }

    /// The client is closed.
    pub fn closed(what: &str) -> Self {
        Error::new(Kind::Closed, format!("{what} is closed"))
    }

    /// A connection problem with `broker`.
    pub fn network(broker: &str, problem: impl fmt::Display) -> Self {
        Error::new(Kind::Network, format!("connection to {broker} failed: {problem}")).with_broker(broker)
    }

    /// Attaches the broker.
    pub fn with_broker(mut self, broker: &str) -> Self {
        self.broker = Some(broker.into());
        self
    }

    /// Attaches topic and partition.
    pub fn with_partition(mut self, topic: &Arc<str>, partition: i32) -> Self {
        self.topic = Some(topic.clone());
        if partition >= 0 {
            self.partition = Some(partition);
        }
        self
    }

    /// The stable code JS sees as `error.code`.
    pub fn code(&self) -> &'static str {
        match self.kind {
            Kind::Broker(c) => c.name(),
            Kind::InvalidConfig => "INVALID_CONFIG",
            Kind::InvalidArgument => "INVALID_ARGUMENT",
            Kind::BufferFull => "BUFFER_FULL",
            Kind::Closed => "CLIENT_CLOSED",
            Kind::Network => "NETWORK_EXCEPTION",
            Kind::RequestTimeout => "REQUEST_TIMED_OUT",
            Kind::DeliveryTimeout => "DELIVERY_TIMEOUT",
            Kind::Timeout => "TIMEOUT",
            Kind::Protocol => "PROTOCOL_ERROR",
            Kind::CorruptRecords => "CORRUPT_MESSAGE",
            Kind::RecordTooLarge => "MESSAGE_TOO_LARGE",
            Kind::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Kind::NoOffset => "NO_OFFSET_FOR_PARTITION",
            Kind::TransactionAborted => "TRANSACTION_ABORTED",
            Kind::Internal => "INTERNAL",
            Kind::Tls(TlsFailure::Untrusted) => "SSL_CERTIFICATE_UNTRUSTED",
            Kind::Tls(TlsFailure::HostnameMismatch) => "SSL_HOSTNAME_MISMATCH",
            Kind::Tls(TlsFailure::Expired) => "SSL_CERTIFICATE_EXPIRED",
            Kind::Tls(TlsFailure::Handshake) => "SSL_HANDSHAKE_FAILED",
            Kind::TokenProvider => "OAUTH_TOKEN_PROVIDER_FAILED",
            Kind::IllegalState => "ILLEGAL_STATE",
        }
    }

    /// Whether the same operation may succeed if tried again (Kafka's RetriableException
    /// for broker codes).
    pub fn retriable(&self) -> bool {
        match self.kind {
            Kind::Broker(c) => c.is_retriable(),
            Kind::Network | Kind::RequestTimeout | Kind::BufferFull | Kind::Timeout => true,
            _ => false,
        }
    }

    /// A failure to authenticate or to establish trust: retrying with the same settings
    /// gives the same answer, so callers stop and report instead of looping (KIP-152:
    /// the Java client fails pending sends with an AuthenticationException).
    pub fn is_auth(&self) -> bool {
        match self.kind {
            Kind::Tls(_) | Kind::TokenProvider => true,
            Kind::Broker(c) => matches!(
                c,
                ErrorCode::SASL_AUTHENTICATION_FAILED
                    | ErrorCode::UNSUPPORTED_SASL_MECHANISM
                    | ErrorCode::ILLEGAL_SASL_STATE
            ),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::new(Kind::Protocol, e.to_string())
    }
}

impl From<nkafka_protocol::EncodeError> for Error {
    fn from(e: nkafka_protocol::EncodeError) -> Self {
        Error::new(Kind::Internal, e.to_string())
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error as data, in the shape the JS layer reads (`code`, `message`, `retriable`,
/// `broker`, `topic`, `partition`): admin results carry one per failed item.
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 6)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("retriable", &self.retriable())?;
        st.serialize_field("broker", &self.broker.as_deref())?;
        st.serialize_field("topic", &self.topic.as_deref())?;
        st.serialize_field("partition", &self.partition)?;
        st.end()
    }
}
