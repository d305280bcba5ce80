//! RecordBatch v2 (magic 2, Kafka 0.11+, KIP-98): the writer used on the produce path and
//! the reader used on the fetch path.
//!
//! Layout of a batch (all big-endian; CRC-32C covers `attributes` to the end):
//!
//! ```text
//! 0  baseOffset i64         8  batchLength i32      12 partitionLeaderEpoch i32
//! 16 magic i8 (=2)          17 crc u32              21 attributes i16
//! 23 lastOffsetDelta i32    27 baseTimestamp i64    35 maxTimestamp i64
//! 43 producerId i64         51 producerEpoch i16    53 baseSequence i32
//! 57 recordCount i32        61 records...
//! ```
//!
//! A record is `length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
//! key varint-bytes, value varint-bytes, headerCount varint, headers...`, each header
//! being `keyLength varint, key, valueLength varint, value`.
//!
//! The builder writes each record the moment it is appended (the seed's "serialize
//! immediately"); the header, whose producer fields and CRC may change on an idempotent
//! retry, is written by [`write_header`] when the batch is sent.

use crate::codec::{put_varint, put_varlong, varint_len, varlong_len, Reader};
use crate::DecodeError;

/// Size of the fixed batch header.
pub const HEADER_LEN: usize = 61;
/// Offset of the CRC field.
const CRC_OFFSET: usize = 17;
/// CRC-32C is computed from the attributes field to the end.
const ATTRIBUTES_OFFSET: usize = 21;

/// Worst-case bytes a record adds beyond its key, value and header bytes:
/// length (5) + attributes (1) + timestampDelta (10) + offsetDelta (5) + key length (5)
/// + value length (5) + header count (5).
pub const RECORD_OVERHEAD_MAX: usize = 36;

/// Compression codec ids, as stored in the low three attribute bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Compression {
    /// Records stored as they are.
    #[default]
    None = 0,
    /// gzip (RFC 1952).
    Gzip = 1,
    /// Snappy with the xerial framing the Java client uses.
    Snappy = 2,
    /// LZ4 frame format.
    Lz4 = 3,
    /// Zstandard (Kafka 2.1+, KIP-110).
    Zstd = 4,
}

impl Compression {
    /// The codec named by attribute bits 0..2.
    pub fn from_attributes(attributes: i16) -> Result<Self, DecodeError> {
        Ok(match attributes & 0x07 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => return Err(DecodeError::Invalid("unknown compression codec")),
        })
    }
}

/// Attribute bits of a batch.
pub mod attributes {
    /// Set when the timestamps are LogAppendTime (bit 3).
    pub const LOG_APPEND_TIME: i16 = 1 << 3;
    /// Set on batches written inside a transaction (bit 4).
    pub const TRANSACTIONAL: i16 = 1 << 4;
    /// Set on control batches: transaction markers (bit 5).
    pub const CONTROL: i16 = 1 << 5;
    /// Set when the base timestamp is a delete horizon (bit 6, KIP-534).
    pub const DELETE_HORIZON: i16 = 1 << 6;
}

/// Something that can be written as a key, value or header value without first being
/// copied into a temporary: byte slices here, JS strings in the binding crate.
pub trait Payload {
    /// Encoded length in bytes.
    fn len(&self) -> usize;
    /// True when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends exactly `len()` bytes.
    fn write_to(&self, buf: &mut Vec<u8>);
}

impl Payload for &[u8] {
    #[inline]
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    #[inline]
    fn write_to(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self);
    }
}

impl Payload for &str {
    #[inline]
    fn len(&self) -> usize {
        str::len(self)
    }
    #[inline]
    fn write_to(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self.as_bytes());
    }
}

/// A record header: a string key (Kafka requires UTF-8) and nullable bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Header key.
    pub key: &'a [u8],
    /// Header value; `None` is a null value, distinct from empty.
    pub value: Option<&'a [u8]>,
}

/// Encoded size of the header list (count plus entries).
pub fn headers_size(headers: &[Header<'_>]) -> usize {
    let mut n = varint_len(headers.len() as i32);
    for h in headers {
        n += varint_len(h.key.len() as i32) + h.key.len();
        n += match h.value {
            Some(v) => varint_len(v.len() as i32) + v.len(),
            None => 1,
        };
    }
    n
}

/// Encoded size of a record body (everything after its length varint).
#[inline]
fn body_size(
    timestamp_delta: i64,
    offset_delta: i32,
    key_len: Option<usize>,
    value_len: Option<usize>,
    headers_size: usize,
) -> usize {
    let field = |l: Option<usize>| match l {
        Some(l) => varint_len(l as i32) + l,
        None => 1,
    };
    1 + varlong_len(timestamp_delta) + varint_len(offset_delta) + field(key_len) + field(value_len) + headers_size
}

/// An upper bound on what a record adds to a batch, for size checks before appending.
pub fn record_size_upper_bound(key_len: usize, value_len: usize, headers_size: usize) -> usize {
    RECORD_OVERHEAD_MAX + key_len + value_len + headers_size
}

/// An open batch: records are appended already encoded; the header is filled in later.
#[derive(Debug)]
pub struct BatchBuilder {
    buf: Vec<u8>,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl BatchBuilder {
    /// Starts an empty batch with room for `capacity` bytes (header included).
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(HEADER_LEN));
        buf.resize(HEADER_LEN, 0);
        BatchBuilder {
            buf,
            count: 0,
            base_timestamp: 0,
            max_timestamp: i64::MIN,
        }
    }

    /// Bytes written so far, header included.
    #[inline]
    pub fn size(&self) -> usize {
        self.buf.len()
    }

    /// Bytes the buffer can hold before it must grow.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Timestamp of the first record (0 while empty); record timestamps are stored
    /// relative to it.
    #[inline]
    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// Grows the buffer so it can hold `total` bytes without reallocating.
    pub fn reserve_total(&mut self, total: usize) {
        if total > self.buf.capacity() {
            self.buf.reserve_exact(total - self.buf.len());
        }
    }

    /// Records appended so far.
    #[inline]
    pub fn count(&self) -> i32 {
        self.count
    }

    /// True when nothing has been appended.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Exact bytes the next record would add.
    #[inline]
    pub fn next_record_size(
        &self,
        timestamp: i64,
        key_len: Option<usize>,
        value_len: Option<usize>,
        headers_size: usize,
    ) -> usize {
        let ts_delta = if self.count == 0 {
            0
        } else {
            timestamp.wrapping_sub(self.base_timestamp)
        };
        let body = body_size(ts_delta, self.count, key_len, value_len, headers_size);
        varint_len(body as i32) + body
    }

    /// Appends one record. The first record's timestamp becomes the base timestamp,
    /// as in the Java client's MemoryRecordsBuilder.
    #[inline]
    pub fn append<K: Payload, V: Payload>(
        &mut self,
        timestamp: i64,
        key: Option<K>,
        value: Option<V>,
        headers: &[Header<'_>],
    ) {
        if self.count == 0 {
            self.base_timestamp = timestamp;
        }
        let ts_delta = timestamp.wrapping_sub(self.base_timestamp);
        let offset_delta = self.count;
        let hsize = if headers.is_empty() { 1 } else { headers_size(headers) };
        let key_len = key.as_ref().map(Payload::len);
        let value_len = value.as_ref().map(Payload::len);
        let body = body_size(ts_delta, offset_delta, key_len, value_len, hsize);
        let buf = &mut self.buf;
        buf.reserve(body + 5);
        put_varint(buf, body as i32);
        buf.push(0); // record attributes: unused, always 0
        put_varlong(buf, ts_delta);
        put_varint(buf, offset_delta);
        match key {
            Some(k) => {
                put_varint(buf, k.len() as i32);
                k.write_to(buf);
            }
            None => buf.push(1), // zig-zag -1
        }
        match value {
            Some(v) => {
                put_varint(buf, v.len() as i32);
                v.write_to(buf);
            }
            None => buf.push(1),
        }
        put_varint(buf, headers.len() as i32);
        for h in headers {
            put_varint(buf, h.key.len() as i32);
            buf.extend_from_slice(h.key);
            match h.value {
                Some(v) => {
                    put_varint(buf, v.len() as i32);
                    buf.extend_from_slice(v);
                }
                None => buf.push(1),
            }
        }
        self.count += 1;
        if timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
    }

    /// Closes the batch: fills the parts of the header that depend only on the records
    /// and returns the bytes. Producer fields and CRC come from [`write_header`].
    pub fn finish(self) -> SealedBatch {
        let mut buf = self.buf;
        let len = buf.len();
        buf[8..12].copy_from_slice(&((len - 12) as i32).to_be_bytes());
        buf[16] = 2;
        buf[23..27].copy_from_slice(&(self.count - 1).to_be_bytes());
        buf[27..35].copy_from_slice(&self.base_timestamp.to_be_bytes());
        buf[35..43].copy_from_slice(&self.max_timestamp.to_be_bytes());
        buf[57..61].copy_from_slice(&self.count.to_be_bytes());
        SealedBatch {
            bytes: buf,
            count: self.count,
        }
    }
}

/// A closed batch whose records will not change.
#[derive(Debug)]
pub struct SealedBatch {
    /// The whole batch, header included.
    pub bytes: Vec<u8>,
    /// Number of records.
    pub count: i32,
}

/// Fields of the header the sender decides: who wrote the batch and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerFields {
    /// Producer id from InitProducerId, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence of the first record, or -1.
    pub base_sequence: i32,
    /// Set for batches inside a transaction.
    pub transactional: bool,
}

impl ProducerFields {
    /// A producer without idempotence or transactions.
    pub const NONE: ProducerFields = ProducerFields {
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        transactional: false,
    };
}

/// Writes producer fields, attributes and the CRC into a finished batch's header. Called
/// again on retries where the producer epoch changed (KIP-360), so it must stay cheap:
/// CRC-32C runs at memory speed with SSE 4.2 / ARMv8 CRC instructions.
pub fn write_header(batch: &mut [u8], compression: Compression, fields: ProducerFields) {
    let mut attrs = compression as i16;
    if fields.transactional {
        attrs |= attributes::TRANSACTIONAL;
    }
    batch[12..16].copy_from_slice(&(-1i32).to_be_bytes()); // partitionLeaderEpoch
    batch[21..23].copy_from_slice(&attrs.to_be_bytes());
    batch[43..51].copy_from_slice(&fields.producer_id.to_be_bytes());
    batch[51..53].copy_from_slice(&fields.producer_epoch.to_be_bytes());
    batch[53..57].copy_from_slice(&fields.base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// The parsed fixed header of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the batchLength field.
    pub batch_length: i32,
    /// Leader epoch at append time (KIP-101).
    pub partition_leader_epoch: i32,
    /// Always 2 here.
    pub magic: i8,
    /// Stored CRC-32C.
    pub crc: u32,
    /// Attribute bits (see [`attributes`]).
    pub attributes: i16,
    /// Offset delta of the last record (may exceed record count - 1 after compaction).
    pub last_offset_delta: i32,
    /// Base timestamp (or delete horizon when that bit is set).
    pub base_timestamp: i64,
    /// Largest timestamp in the batch (the LogAppendTime when that bit is set).
    pub max_timestamp: i64,
    /// Producer id, -1 when none.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Sequence of the first record.
    pub base_sequence: i32,
    /// Records in the batch.
    pub record_count: i32,
}

impl BatchHeader {
    /// Compression codec of the records section.
    pub fn compression(&self) -> Result<Compression, DecodeError> {
        Compression::from_attributes(self.attributes)
    }
    /// True for transaction markers.
    pub fn is_control(&self) -> bool {
        self.attributes & attributes::CONTROL != 0
    }
    /// True for batches written in a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & attributes::TRANSACTIONAL != 0
    }
    /// True when timestamps are LogAppendTime.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & attributes::LOG_APPEND_TIME != 0
    }
    /// Offset of the last record. Batches from [`Batches`] are checked so that this and
    /// `last_offset() + 1` cannot overflow; for a hand-made header it saturates.
    pub fn last_offset(&self) -> i64 {
        self.base_offset.saturating_add(i64::from(self.last_offset_delta))
    }
}

/// One batch as found in a fetch response or log segment.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// The fixed header.
    pub header: BatchHeader,
    /// The whole batch, header included.
    pub bytes: &'a [u8],
}

impl<'a> Batch<'a> {
    /// The records section: possibly compressed.
    pub fn records_section(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..]
    }

    /// Checks the stored CRC-32C against the bytes.
    pub fn verify_crc(&self) -> Result<(), DecodeError> {
        let actual = crc32c::crc32c(&self.bytes[ATTRIBUTES_OFFSET..]);
        if actual != self.header.crc {
            return Err(DecodeError::CrcMismatch {
                base_offset: self.header.base_offset,
                expected: self.header.crc,
                actual,
            });
        }
        Ok(())
    }

    /// Iterates the records of an uncompressed batch. For a compressed one, decompress
    /// [`Batch::records_section`] and use [`Records::new`] on the result.
    pub fn records(&self) -> Result<Records<'a>, DecodeError> {
        if self.header.compression()? != Compression::None {
            return Err(DecodeError::Invalid("records() called on a compressed batch"));
        }
        Ok(Records::new(self.records_section(), self.header.record_count))
    }
}

fn parse_header(buf: &[u8]) -> Result<BatchHeader, DecodeError> {
    let mut r = Reader::new(buf);
    let base_offset = r.i64()?;
    let batch_length = r.i32()?;
    let partition_leader_epoch = r.i32()?;
    let magic = r.i8()?;
    if magic != 2 {
        return Err(DecodeError::UnsupportedMagic(magic));
    }
    Ok(BatchHeader {
        base_offset,
        batch_length,
        partition_leader_epoch,
        magic,
        crc: r.u32()?,
        attributes: r.i16()?,
        last_offset_delta: r.i32()?,
        base_timestamp: r.i64()?,
        max_timestamp: r.i64()?,
        producer_id: r.i64()?,
        producer_epoch: r.i16()?,
        base_sequence: r.i32()?,
        record_count: r.i32()?,
    })
    .and_then(|h| {
        // The offset after the batch must exist: then last_offset() and every record's
        // base_offset + offset_delta (at most last_offset_delta in a valid batch) fit.
        h.base_offset
            .checked_add(i64::from(h.last_offset_delta))
            .and_then(|last| last.checked_add(1))
            .ok_or(DecodeError::OffsetOverflow {
                base_offset: h.base_offset,
                what: "base offset + last offset delta",
            })?;
        Ok(h)
    })
}

/// Iterates the batches of a record set (a fetch response partition's `records`).
///
/// A fetch may end with a partial batch (the broker cuts at the byte limit): iteration
/// stops there without an error; [`Batches::truncated`] tells whether that happened.
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    buf: &'a [u8],
    pos: usize,
    truncated: bool,
}

impl<'a> Batches<'a> {
    /// Starts at the beginning of a record set.
    pub fn new(buf: &'a [u8]) -> Self {
        Batches {
            buf,
            pos: 0,
            truncated: false,
        }
    }

    /// True when iteration stopped at an incomplete trailing batch.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<Batch<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return None;
        }
        // baseOffset(8) + batchLength(4) + leaderEpoch(4) + magic(1)
        if rest.len() < 17 {
            self.truncated = true;
            self.pos = self.buf.len();
            return None;
        }
        let batch_length = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        if batch_length < (HEADER_LEN - 12) as i32 {
            self.pos = self.buf.len();
            return Some(Err(DecodeError::Invalid("batch length smaller than header")));
        }
        let total = 12 + batch_length as usize;
        if rest.len() < total {
            self.truncated = true;
            self.pos = self.buf.len();
            return None;
        }
        let bytes = &rest[..total];
        self.pos += total;
        match parse_header(bytes) {
            Ok(header) => Some(Ok(Batch { header, bytes })),
            Err(e) => Some(Err(e)),
        }
    }
}

/// One record, borrowing from the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Record attributes (unused by Kafka so far).
    pub attributes: i8,
    /// Timestamp relative to the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Offset relative to the batch's base offset.
    pub offset_delta: i32,
    /// Key, `None` when null.
    pub key: Option<&'a [u8]>,
    /// Value, `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// Headers in wire order (duplicates allowed).
    pub headers: Vec<Header<'a>>,
}

/// Where one record's parts are in its (uncompressed) records section, with its absolute
/// offset and timestamp: what [`index_records`] gives the consumer, which hands it to JS
/// as the poll buffer's index so that JS never parses records itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordIndex {
    /// Where the record's bytes start in the section (its length varint).
    pub start: u32,
    /// Where they end.
    pub end: u32,
    /// Absolute offset.
    pub offset: i64,
    /// Timestamp in ms (LogAppendTime when the batch uses it).
    pub timestamp: i64,
    /// Key start in the section.
    pub key_start: u32,
    /// Key length; -1 for a null key.
    pub key_len: i32,
    /// Value start in the section.
    pub value_start: u32,
    /// Value length; -1 for a tombstone.
    pub value_len: i32,
    /// Start of the first header in the section.
    pub headers_start: u32,
    /// Number of headers.
    pub header_count: u32,
    /// Timestamp relative to the batch's base timestamp, as stored.
    pub timestamp_delta: i64,
    /// Offset relative to the batch's base offset, as stored.
    pub offset_delta: i32,
    /// Record attributes (unused by Kafka so far).
    pub attributes: i8,
}

/// The one record parser: reads the record at `pos` of an uncompressed records section,
/// checking every length against the bytes (a record must be exactly as long as its
/// fields), and returns where its parts are. Offsets and timestamps are relative; the
/// callers ([`index_records`], [`Records`]) make them absolute.
fn parse_record(section: &[u8], pos: usize) -> Result<RecordIndex, DecodeError> {
    let mut r = Reader::new(&section[pos..]);
    let len = r.varint()?;
    if len < 0 {
        return Err(DecodeError::Invalid("negative record length"));
    }
    let body_start = pos + r.position();
    let body = r.bytes(len as usize)?;
    let end = body_start + body.len();
    let mut b = Reader::new(body);
    let attributes = b.i8()?;
    let timestamp_delta = b.varlong()?;
    let offset_delta = b.varint()?;
    let key_len = b.varint()?;
    let key_start = body_start + b.position();
    if key_len > 0 {
        b.bytes(key_len as usize)?;
    }
    let value_len = b.varint()?;
    let value_start = body_start + b.position();
    if value_len > 0 {
        b.bytes(value_len as usize)?;
    }
    if key_len < -1 || value_len < -1 {
        return Err(DecodeError::Invalid("negative length other than -1"));
    }
    let header_count = b.varint()?;
    if header_count < 0 {
        return Err(DecodeError::Invalid("negative header count"));
    }
    let headers_start = body_start + b.position();
    for _ in 0..header_count {
        if b.varint_bytes()?.is_none() {
            return Err(DecodeError::Invalid("null header key"));
        }
        b.varint_bytes()?;
    }
    if !b.is_empty() {
        return Err(DecodeError::Invalid("record longer than its fields"));
    }
    // Positions are u32 (the JS index's width); callers check the section fits.
    Ok(RecordIndex {
        start: pos as u32,
        end: end as u32,
        offset: offset_delta as i64,
        timestamp: timestamp_delta,
        key_start: key_start as u32,
        key_len,
        value_start: value_start as u32,
        value_len,
        headers_start: headers_start as u32,
        header_count: header_count as u32,
        timestamp_delta,
        offset_delta,
        attributes,
    })
}

/// Indexes the records of one batch whose uncompressed records section is `section`,
/// appending those at or after `position` to `out`: the consumer's record reader.
///
/// Every offset computed from wire values is checked: `base_offset + offset_delta`
/// beyond i64 is [`DecodeError::OffsetOverflow`] naming the batch, never a wrap.
/// A negative record count, or a section too large for the index's u32 positions, is
/// an error too; a count larger than the section holds fails as truncated input.
pub fn index_records(
    header: &BatchHeader,
    section: &[u8],
    position: i64,
    out: &mut Vec<RecordIndex>,
) -> Result<(), DecodeError> {
    if header.record_count < 0 {
        return Err(DecodeError::Invalid("negative record count"));
    }
    if u32::try_from(section.len()).is_err() {
        return Err(DecodeError::Invalid("records section larger than 4 GiB"));
    }
    let count = header.record_count as usize;
    // Each record takes at least 7 bytes: a hostile count cannot make us over-allocate.
    out.reserve(count.min(section.len() / 7 + 1));
    let log_append = header.is_log_append_time();
    let mut pos = 0usize;
    for _ in 0..count {
        let mut rec = parse_record(section, pos)?;
        pos = rec.end as usize;
        rec.offset =
            header
                .base_offset
                .checked_add(i64::from(rec.offset_delta))
                .ok_or(DecodeError::OffsetOverflow {
                    base_offset: header.base_offset,
                    what: "base offset + offset delta",
                })?;
        if rec.offset < position {
            continue;
        }
        rec.timestamp = if log_append {
            header.max_timestamp
        } else {
            header.base_timestamp.wrapping_add(rec.timestamp_delta)
        };
        out.push(rec);
    }
    Ok(())
}

/// Iterates records in an (uncompressed) records section, with their bytes borrowed:
/// the same parser as [`index_records`], for callers that want slices (tests, the
/// producer's own records).
#[derive(Clone, Debug)]
pub struct Records<'a> {
    section: &'a [u8],
    pos: usize,
    left: i32,
}

impl<'a> Records<'a> {
    /// Reads `count` records from `section`.
    pub fn new(section: &'a [u8], count: i32) -> Self {
        Records {
            section,
            pos: 0,
            left: count.max(0),
        }
    }

    /// Where the next record's parts are, without borrowing them (offset and timestamp
    /// relative, as stored): the delivery reports' index.
    pub fn next_index(&mut self) -> Option<Result<RecordIndex, DecodeError>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = parse_record(self.section, self.pos);
        match &r {
            Ok(rec) => self.pos = rec.end as usize,
            Err(_) => self.left = 0,
        }
        Some(r)
    }

    fn read_one(&mut self) -> Result<Record<'a>, DecodeError> {
        let rec = parse_record(self.section, self.pos)?;
        self.pos = rec.end as usize;
        let s = self.section;
        let part = |start: u32, len: i32| (len >= 0).then(|| &s[start as usize..start as usize + len as usize]);
        // parse_record checked the headers: walking them again cannot fail.
        let mut r = Reader::new(&s[rec.headers_start as usize..rec.end as usize]);
        let mut headers = Vec::with_capacity(rec.header_count as usize);
        for _ in 0..rec.header_count {
            let key = r.varint_bytes()?.ok_or(DecodeError::Invalid("null header key"))?;
            let value = r.varint_bytes()?;
            headers.push(Header { key, value });
        }
        Ok(Record {
            attributes: rec.attributes,
            timestamp_delta: rec.timestamp_delta,
            offset_delta: rec.offset_delta,
            key: part(rec.key_start, rec.key_len),
            value: part(rec.value_start, rec.value_len),
            headers,
        })
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = self.read_one();
        if r.is_err() {
            self.left = 0;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (timestamp, key, value, headers) of one record.
    type TestRecord = (i64, Option<Vec<u8>>, Option<Vec<u8>>, Vec<(Vec<u8>, Option<Vec<u8>>)>);

    fn build(records: &[TestRecord]) -> Vec<u8> {
        let mut b = BatchBuilder::with_capacity(64);
        for (ts, k, v, hs) in records {
            let headers: Vec<Header<'_>> = hs
                .iter()
                .map(|(k, v)| Header {
                    key: k,
                    value: v.as_deref(),
                })
                .collect();
            let predicted = b.next_record_size(
                *ts,
                k.as_ref().map(Vec::len),
                v.as_ref().map(Vec::len),
                headers_size(&headers),
            );
            let before = b.size();
            b.append(*ts, k.as_deref(), v.as_deref(), &headers);
            assert_eq!(b.size() - before, predicted);
        }
        let mut sealed = b.finish();
        write_header(&mut sealed.bytes, Compression::None, ProducerFields::NONE);
        sealed.bytes
    }

    #[test]
    fn empty_key_differs_from_null_key() {
        let bytes = build(&[(5, Some(vec![]), None, vec![]), (6, None, Some(vec![]), vec![])]);
        let batch = Batches::new(&bytes).next().unwrap().unwrap();
        batch.verify_crc().unwrap();
        let recs: Vec<_> = batch.records().unwrap().map(Result::unwrap).collect();
        assert_eq!(recs[0].key, Some(&b""[..]));
        assert_eq!(recs[0].value, None);
        assert_eq!(recs[1].key, None);
        assert_eq!(recs[1].value, Some(&b""[..]));
    }

    #[test]
    fn truncated_trailing_batch_stops_iteration() {
        let bytes = build(&[(1, None, Some(b"abc".to_vec()), vec![])]);
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes[..bytes.len() - 3]);
        let mut it = Batches::new(&two);
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().is_none());
        assert!(it.truncated());
    }

    #[test]
    fn flipped_bit_fails_crc() {
        let mut bytes = build(&[(1, None, Some(b"abc".to_vec()), vec![])]);
        let last = bytes.len() - 2;
        bytes[last] ^= 0x40;
        let batch = Batches::new(&bytes).next().unwrap().unwrap();
        assert!(matches!(batch.verify_crc(), Err(DecodeError::CrcMismatch { .. })));
    }

    fn arb_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300))
    }

    proptest! {
        #[test]
        fn round_trip(records in proptest::collection::vec(
            (any::<i64>(), arb_bytes(), arb_bytes(),
             proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..20), arb_bytes()), 0..4)),
            1..40)) {
            let bytes = build(&records);
            let mut batches = Batches::new(&bytes);
            let batch = batches.next().unwrap().unwrap();
            prop_assert!(batches.next().is_none());
            batch.verify_crc().unwrap();
            prop_assert_eq!(batch.header.record_count as usize, records.len());
            prop_assert_eq!(batch.header.last_offset_delta as usize, records.len() - 1);
            let base_ts = records[0].0;
            prop_assert_eq!(batch.header.base_timestamp, base_ts);
            prop_assert_eq!(batch.header.max_timestamp, records.iter().map(|r| r.0).max().unwrap());
            for (i, (rec, want)) in batch.records().unwrap().zip(&records).enumerate() {
                let rec = rec.unwrap();
                prop_assert_eq!(rec.offset_delta as usize, i);
                prop_assert_eq!(base_ts.wrapping_add(rec.timestamp_delta), want.0);
                prop_assert_eq!(rec.key, want.1.as_deref());
                prop_assert_eq!(rec.value, want.2.as_deref());
                let hs: Vec<(Vec<u8>, Option<Vec<u8>>)> = rec.headers.iter().map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec))).collect();
                prop_assert_eq!(&hs, &want.3);
            }
        }

        #[test]
        fn writer_to_index_round_trip_through_every_codec(
            records in proptest::collection::vec(
                (any::<i64>(), arb_bytes(), arb_bytes(),
                 proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..20), arb_bytes()), 0..4)),
                1..30),
            base_offset in 0i64..(1 << 50),
            codec in 0u8..5,
            position_skip in 0usize..5,
        ) {
            let plain = build(&records);
            let codec = Compression::from_attributes(i16::from(codec)).unwrap();
            let mut bytes = Vec::new();
            crate::compression::compress_batch(&plain, codec, None, &mut bytes).unwrap();
            write_header(&mut bytes, codec, ProducerFields::NONE);
            bytes[0..8].copy_from_slice(&base_offset.to_be_bytes());
            let batch = Batches::new(&bytes).next().unwrap().unwrap();
            let mut budget = crate::compression::InflateBudget::new(1 << 20, 1 << 20);
            let mut scratch = Vec::new();
            let section = crate::compression::batch_records_within(&batch, &mut budget, &mut scratch).unwrap();
            let position = base_offset + position_skip as i64;
            let mut index = Vec::new();
            index_records(&batch.header, section, position, &mut index).unwrap();
            let want: Vec<_> = records.iter().enumerate().skip(position_skip).collect();
            prop_assert_eq!(index.len(), want.len());
            for (r, (i, want)) in index.iter().zip(want) {
                prop_assert_eq!(r.offset, base_offset + i as i64);
                prop_assert_eq!(r.timestamp, want.0);
                let part = |start: u32, len: i32| (len >= 0).then(|| section[start as usize..start as usize + len as usize].to_vec());
                prop_assert_eq!(part(r.key_start, r.key_len), want.1.clone());
                prop_assert_eq!(part(r.value_start, r.value_len), want.2.clone());
                prop_assert_eq!(r.header_count as usize, want.3.len());
            }
        }

        #[test]
        fn reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            for batch in Batches::new(&data).flatten() {
                let _ = batch.verify_crc();
                if let Ok(recs) = batch.records() {
                    for r in recs { let _ = r; }
                }
                let mut index = Vec::new();
                let _ = index_records(&batch.header, batch.records_section(), 0, &mut index);
            }
        }
    }
}
