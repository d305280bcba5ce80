//! Sans-IO Kafka wire protocol for nkafka: pure functions over bytes, no I/O, no tokio.
//!
//! - [`codec`]: integers, varints, a bounds-checked reader.
//! - [`record_batch`]: RecordBatch v2 writer and reader (the hot path, ours).
//! - [`compression`]: gzip, snappy (xerial framing), lz4 (frame) and zstd for batches, as
//!   the Java client writes them; bounded, hostile-input-safe decompression.
//! - [`produce`]: Produce request framing around already-encoded batches (ours).
//! - [`frame`]: request/response headers and control-plane messages, which come from the
//!   generated `kafka-protocol` crate (Kafka's own JSON schemas, pinned release).
//! - [`error`]: every Kafka error code with name, retriable flag and description.
//! - [`murmur2`]: the Java client's key hash, for partition choice.

pub mod codec;
pub mod compression;
pub mod error;
pub mod frame;
pub mod murmur2;
pub mod produce;
pub mod record_batch;

/// Control-plane message types generated from Kafka's JSON schemas, re-exported so that
/// the client crate does not depend on the generator directly.
pub use kafka_protocol;

/// Why bytes could not be decoded. Never a panic: input may be truncated or hostile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a field needs.
    #[error("truncated input: needed {needed} bytes, {available} available")]
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A structurally invalid value.
    #[error("invalid data: {0}")]
    Invalid(&'static str),
    /// A record batch whose CRC-32C does not match its bytes.
    #[error("CRC mismatch in batch at offset {base_offset}: stored {expected:#010x}, computed {actual:#010x}")]
    CrcMismatch {
        /// Base offset of the corrupt batch.
        base_offset: i64,
        /// CRC stored in the batch.
        expected: u32,
        /// CRC computed over the bytes.
        actual: u32,
    },
    /// Compressed records that do not decode with their codec: corrupt, truncated or
    /// empty data (checked before the records are parsed, so never a panic).
    #[error("corrupt {codec:?} data: {message}")]
    Decompress {
        /// Codec of the batch.
        codec: record_batch::Compression,
        /// What the decoder found.
        message: String,
    },
    /// A compressed batch that does not fit what is left of a fetch response's
    /// decompression budget ([`compression::InflateBudget`]) after earlier batches took
    /// their share: not corrupt; decode stops before it and the next fetch starts there.
    #[error("{codec:?} batch at offset {base_offset} does not fit the fetch response's decompression budget of {limit} bytes")]
    FetchBudgetExceeded {
        /// Codec of the batch.
        codec: record_batch::Compression,
        /// Base offset of the batch.
        base_offset: i64,
        /// The response's total budget.
        limit: usize,
    },
    /// An offset computed from a batch's wire values that does not fit an i64 (a corrupt
    /// or hostile batch); never wrapped.
    #[error("offset overflow in batch at offset {base_offset}: {what}")]
    OffsetOverflow {
        /// Base offset of the batch.
        base_offset: i64,
        /// Which sum overflowed.
        what: &'static str,
    },
    /// Compressed records that would inflate beyond the caller's bound: a decompression
    /// bomb, or a batch larger than the fetch limits allow. Raised before the declared
    /// size is allocated.
    #[error("{codec:?} records decompress to more than {limit} bytes")]
    DecompressedTooLarge {
        /// Codec of the batch.
        codec: record_batch::Compression,
        /// The bound that was exceeded.
        limit: usize,
    },
    /// Message format v0/v1 (pre-0.11): brokers 4.x no longer write it.
    #[error("unsupported message format (magic {0}); only RecordBatch v2 is supported")]
    UnsupportedMagic(i8),
    /// The response belongs to another request (pipelining went out of step).
    #[error("correlation id mismatch: expected {expected}, got {actual}")]
    CorrelationMismatch {
        /// Id of the oldest request in flight.
        expected: i32,
        /// Id found in the response.
        actual: i32,
    },
    /// A generated control-plane message failed to decode.
    #[error("cannot decode {api} v{version}: {message}")]
    Message {
        /// API name.
        api: String,
        /// Version used.
        version: i16,
        /// What the generated decoder said.
        message: String,
    },
}

/// Why a request could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The generated encoder refused the message at this version.
    #[error("cannot encode {api} v{version}: {message}")]
    Message {
        /// API name.
        api: String,
        /// Version used.
        version: i16,
        /// What the generated encoder said.
        message: String,
    },
}
