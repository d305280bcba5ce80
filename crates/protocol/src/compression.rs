//! Kafka's record-batch compression codecs (attribute bits 0..2), written and read the way
//! the Java client (kafka-clients 4.x) writes and reads them.
//!
//! In a RecordBatch v2 only the records section (everything after the 61-byte header) is
//! compressed; the header, its CRC and the record count stay in the clear. The formats:
//!
//! - **gzip**: an RFC 1952 stream (Java: `GZIPOutputStream`, default level 6, i.e. zlib's
//!   `Z_DEFAULT_COMPRESSION`). Read like Java's `GZIPInputStream`: concatenated members
//!   are one stream.
//! - **snappy**: snappy-java's *xerial* framing, not Google's snappy framing format:
//!   `82 'SNAPPY' 00`, then version and compatible version as big-endian i32 (both 1), then
//!   chunks of `i32 length` + one raw snappy block of at most 32 KiB of input. Read like
//!   snappy-java's `SnappyInputStream`: a second header where a chunk length should be
//!   starts a concatenated stream, and data without the magic is one raw snappy block
//!   (some non-Java clients write that).
//! - **lz4**: the standard LZ4 frame format (magic `04 22 4d 18`), independent 64 KiB
//!   blocks, no checksums, correct header checksum; an incompressible block is stored
//!   raw. Kafka's header-checksum bug concerns message format v0 only: for v2 Java writes
//!   and checks the standard value. The reader is more liberal than Java's (which refuses
//!   linked blocks): linked blocks, block and content checksums (verified), content size,
//!   concatenated and skippable frames are all read. Dictionary ids are refused.
//! - **zstd**: standard zstd frames (Java: zstd-jni's streaming encoder, level 3, no
//!   checksum, no content size). We write one-shot frames, which carry the content size,
//!   so readers can size their buffer exactly; any frame sequence is read.
//!
//! Decompression is hostile-input safe: every decoder writes into the caller's buffer
//! through one bounded sink, so a batch can never expand beyond `max_output` bytes (a
//! decompression bomb, or a size header lying about the content, gives
//! [`DecodeError::DecompressedTooLarge`] before anything of that size is allocated), and
//! corrupt or truncated data gives [`DecodeError::Decompress`], never a panic.
//!
//! Crates: `flate2` on `zlib-rs` (pure Rust, zlib-ng class speed), `snap` (pure Rust raw
//! snappy; the xerial framing is ours), `lz4_flex` block codec in its safe mode (pure
//! Rust; the frame format is ours, so that truncation and Kafka's framing rules are
//! checked exactly), `zstd` (the reference C library: no pure-Rust encoder is comparable).

use std::io::{Read, Write};

use crate::record_batch::{Batch, Compression, HEADER_LEN};
use crate::DecodeError;

/// Offset of the batchLength field in a batch header.
const BATCH_LENGTH_OFFSET: usize = 8;
/// Offset of the attributes field in a batch header.
const ATTRIBUTES_OFFSET: usize = 21;
/// Attribute bits that hold the codec.
const CODEC_MASK: i16 = 0x07;

/// Why records could not be compressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompressError {
    /// A level the Java client's config validation would reject for this codec.
    #[error("compression level {level} is not valid for {codec:?}")]
    InvalidLevel {
        /// Codec the level was given for.
        codec: Compression,
        /// The rejected level.
        level: i32,
    },
    /// [`compress_batch`] was given something other than a sealed uncompressed batch.
    #[error("not an uncompressed record batch: {0}")]
    InvalidBatch(&'static str),
    /// The codec library failed (in practice only when it cannot allocate).
    #[error("{codec:?} compression failed: {message}")]
    Failed {
        /// Codec that failed.
        codec: Compression,
        /// What the library said.
        message: String,
    },
}

/// The level the Java client uses when `compression.<codec>.level` is not set; `None` for
/// codecs without levels. gzip 6 is zlib's `Z_DEFAULT_COMPRESSION` (Java's -1), lz4 9 is
/// Java's default (its fast compressor), zstd 3 is `ZSTD_CLEVEL_DEFAULT`.
pub fn default_level(codec: Compression) -> Option<i32> {
    match codec {
        Compression::Gzip => Some(6),
        Compression::Lz4 => Some(9),
        Compression::Zstd => Some(zstd::DEFAULT_COMPRESSION_LEVEL),
        Compression::None | Compression::Snappy => None,
    }
}

/// Checks a level the way the Java client validates `compression.gzip.level` (1..=9, or
/// -1 for the default), `compression.lz4.level` (1..=17) and `compression.zstd.level`
/// (zstd's min..=22, negative levels included), so that a config valid for Java is valid
/// here. `none` and `snappy` have no level: any level is rejected.
pub fn check_level(codec: Compression, level: i32) -> Result<(), CompressError> {
    let ok = match codec {
        Compression::Gzip => level == -1 || (1..=9).contains(&level),
        Compression::Lz4 => (1..=17).contains(&level),
        // Java's constants: ZSTD_minCLevel() and ZSTD_MAX_CLEVEL.
        Compression::Zstd => (-131_072..=22).contains(&level),
        Compression::None | Compression::Snappy => false,
    };
    if ok {
        Ok(())
    } else {
        Err(CompressError::InvalidLevel { codec, level })
    }
}

/// Compresses a records section (the bytes after a batch's 61-byte header) with `codec`,
/// appending the compressed bytes to `out`. `level` of `None` is the Java default; see
/// [`check_level`] for what is accepted. `Compression::None` appends `records` as they are.
///
/// lz4 levels are accepted for config compatibility but always use the fast compressor
/// (Java uses its high-compression mode only for levels other than the default 9).
/// zstd frames carry the content size, which lets readers size their buffer exactly.
pub fn compress(
    codec: Compression,
    level: Option<i32>,
    records: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    if let Some(level) = level {
        check_level(codec, level)?;
    }
    let start = out.len();
    let result = match codec {
        Compression::None => {
            out.extend_from_slice(records);
            Ok(())
        }
        Compression::Gzip => gzip::compress(level.unwrap_or(-1), records, out),
        Compression::Snappy => xerial::compress(records, out),
        Compression::Lz4 => lz4::compress(records, out),
        Compression::Zstd => zstd_codec::compress(level.unwrap_or(zstd::DEFAULT_COMPRESSION_LEVEL), records, out),
    };
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Decompresses `data` (a compressed records section) into `out`, appending at most
/// `max_output` bytes.
///
/// `max_output` is the caller's bound on one batch's records (derived from the fetch size
/// limits): a batch that would inflate beyond it fails with
/// [`DecodeError::DecompressedTooLarge`] without allocating its declared size. Corrupt,
/// truncated or empty data fails with [`DecodeError::Decompress`]. On error `out` is left
/// as it was. `Compression::None` copies `data` (subject to the same bound).
///
/// This does not check the batch CRC: call [`Batch::verify_crc`] first when wanted.
pub fn decompress(codec: Compression, data: &[u8], max_output: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let start = out.len();
    match decompress_at(codec, data, max_output, out, start) {
        Ok(end) => {
            out.truncate(end);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Decompresses into `out` from index `start` on, treating `out[start..]` as already
/// initialised space to overwrite; returns where the output ends. `out.len()` is then
/// the end of the initialised space, which [`batch_records`] keeps to avoid zeroing the
/// same scratch memory for every batch.
fn decompress_at(
    codec: Compression,
    data: &[u8],
    max_output: usize,
    out: &mut Vec<u8>,
    start: usize,
) -> Result<usize, DecodeError> {
    let mut sink = Sink::new(out, start, codec, max_output);
    if data.is_empty() && codec != Compression::None {
        return Err(sink.corrupt("empty input"));
    }
    match codec {
        Compression::None => {
            sink.ensure_room(data.len())?;
            sink.push(data);
        }
        Compression::Gzip => gzip::decompress(data, &mut sink)?,
        Compression::Snappy => xerial::decompress(data, &mut sink)?,
        Compression::Lz4 => lz4::decompress(data, &mut sink)?,
        Compression::Zstd => zstd_codec::decompress(data, &mut sink)?,
    }
    Ok(sink.filled)
}

/// Turns a sealed uncompressed batch (`SealedBatch::bytes` from `BatchBuilder::finish`)
/// into a compressed one, appended to `out`: the same 61-byte header, the compressed
/// records section, batchLength updated and the codec in the attribute bits.
///
/// The producer fields and the CRC are not written: run
/// [`write_header`](crate::record_batch::write_header) on `out[start..]` (with the same
/// `codec`) afterwards, as for an uncompressed batch, since the CRC covers the compressed
/// bytes. Compression happens once per batch, at seal time, so retries resend the same
/// bytes.
pub fn compress_batch(
    batch: &[u8],
    codec: Compression,
    level: Option<i32>,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    if batch.len() < HEADER_LEN {
        return Err(CompressError::InvalidBatch("shorter than a batch header"));
    }
    let attributes = i16::from_be_bytes([batch[ATTRIBUTES_OFFSET], batch[ATTRIBUTES_OFFSET + 1]]);
    if attributes & CODEC_MASK != 0 {
        return Err(CompressError::InvalidBatch("already compressed"));
    }
    let start = out.len();
    out.extend_from_slice(&batch[..HEADER_LEN]);
    if let Err(e) = compress(codec, level, &batch[HEADER_LEN..], out) {
        out.truncate(start);
        return Err(e);
    }
    let Ok(length) = i32::try_from(out.len() - start - 12) else {
        out.truncate(start);
        return Err(CompressError::InvalidBatch("compressed batch longer than i32::MAX"));
    };
    let header = &mut out[start..start + HEADER_LEN];
    header[BATCH_LENGTH_OFFSET..BATCH_LENGTH_OFFSET + 4].copy_from_slice(&length.to_be_bytes());
    let attributes = (attributes & !CODEC_MASK) | codec as i16;
    header[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attributes.to_be_bytes());
    Ok(())
}

/// The uncompressed records section of any batch, for
/// [`Records::new`](crate::record_batch::Records::new)`(section, batch.header.record_count)`.
///
/// An uncompressed batch's section is returned in place (no copy, no bound: it is
/// already in memory). A compressed one is decompressed into `scratch` under the
/// `max_output` bound, see [`decompress`]. `scratch` is working memory, meant to be reused
/// for every batch of a fetch: what it holds before and after the call is unspecified
/// (its length stays at the high-water mark, so reused memory is not zeroed again). As
/// in the Java client, a batch whose record count is zero is not decompressed at all
/// (compaction can leave such batches). The CRC is not checked here.
pub fn batch_records<'r>(
    batch: &Batch<'r>,
    max_output: usize,
    scratch: &'r mut Vec<u8>,
) -> Result<&'r [u8], DecodeError> {
    // One batch on its own is a fresh budget's first batch: bounded by `max_output` alone.
    batch_records_within(batch, &mut InflateBudget::new(max_output, max_output), scratch)
}

/// How much one fetch response's compressed batches may inflate to, in total.
///
/// Every batch is bounded by `per_batch`; the response as a whole by `total`. The first
/// batch decompressed under a budget is always allowed its full `per_batch` bound, so
/// that a legitimately large batch can always be delivered (alone, if need be); a later
/// batch that does not fit what is left gives [`DecodeError::FetchBudgetExceeded`],
/// which tells the caller to stop decoding there and fetch that batch again (it then
/// comes first). Uncompressed batches are not counted: they are already in memory,
/// bounded by the fetch size.
#[derive(Clone, Debug)]
pub struct InflateBudget {
    per_batch: usize,
    total: usize,
    left: usize,
    used: bool,
}

impl InflateBudget {
    /// A budget of `total` bytes for a response, `per_batch` for any one batch.
    pub fn new(per_batch: usize, total: usize) -> Self {
        InflateBudget {
            per_batch,
            total,
            left: total,
            used: false,
        }
    }

    /// Bytes still allowed (the first batch may take `per_batch` regardless).
    pub fn left(&self) -> usize {
        self.left
    }
}

/// [`batch_records`] under a response's [`InflateBudget`]: the same bytes, with what the
/// batch inflated to taken from the budget.
///
/// A batch beyond `per_batch` is [`DecodeError::DecompressedTooLarge`] naming that bound
/// (it can never be delivered with these limits); a batch that only exceeds what is left
/// of the budget, after an earlier one took its share, is
/// [`DecodeError::FetchBudgetExceeded`] naming the total.
pub fn batch_records_within<'r>(
    batch: &Batch<'r>,
    budget: &mut InflateBudget,
    scratch: &'r mut Vec<u8>,
) -> Result<&'r [u8], DecodeError> {
    let codec = batch.header.compression()?;
    if codec == Compression::None {
        return Ok(batch.records_section());
    }
    if batch.header.record_count <= 0 {
        return Ok(&[]);
    }
    let limit = if budget.used {
        budget.per_batch.min(budget.left)
    } else {
        budget.per_batch
    };
    match decompress_at(codec, batch.records_section(), limit, scratch, 0) {
        Ok(end) => {
            budget.used = true;
            budget.left = budget.left.saturating_sub(end);
            Ok(&scratch[..end])
        }
        Err(DecodeError::DecompressedTooLarge { .. }) if limit < budget.per_batch => {
            Err(DecodeError::FetchBudgetExceeded {
                codec,
                base_offset: batch.header.base_offset,
                limit: budget.total,
            })
        }
        Err(e) => Err(e),
    }
}

/// Where every decoder writes: `out` from `start` on, never more than `max_output` bytes.
/// `out[..out.len()]` is initialised memory that [`Sink::spare`] hands out again before
/// growing (zero-filled) into the capacity; capacity grows geometrically but never past
/// the bound (plus one byte, which is how an overflow is detected), so a lying size
/// header cannot make us allocate.
struct Sink<'a> {
    out: &'a mut Vec<u8>,
    codec: Compression,
    start: usize,
    filled: usize,
    max_output: usize,
}

impl<'a> Sink<'a> {
    fn new(out: &'a mut Vec<u8>, start: usize, codec: Compression, max_output: usize) -> Self {
        Sink {
            out,
            codec,
            start,
            filled: start,
            max_output,
        }
    }

    /// Bytes written so far.
    fn written(&self) -> usize {
        self.filled - self.start
    }

    /// Bytes that may still be written.
    fn room(&self) -> usize {
        self.max_output - self.written()
    }

    fn too_large(&self) -> DecodeError {
        DecodeError::DecompressedTooLarge {
            codec: self.codec,
            limit: self.max_output,
        }
    }

    fn corrupt(&self, message: impl Into<String>) -> DecodeError {
        DecodeError::Decompress {
            codec: self.codec,
            message: message.into(),
        }
    }

    /// Fails unless `n` more bytes fit.
    fn ensure_room(&self, n: usize) -> Result<(), DecodeError> {
        if n > self.room() {
            Err(self.too_large())
        } else {
            Ok(())
        }
    }

    /// Reserves capacity for an expected `n` more bytes, clamped to the bound: size
    /// fields in the data are hints, never trusted for allocation.
    fn reserve_hint(&mut self, n: u64) {
        let n = usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(self.room().saturating_add(1));
        let need = self.filled.saturating_add(n);
        if need > self.out.capacity() {
            self.out.reserve_exact(need - self.out.len());
        }
    }

    /// A writable slice of exactly `n` bytes after the written ones. Callers keep `n`
    /// within `room() + 1` (or a fixed block size), so growth stays bounded.
    fn spare(&mut self, n: usize) -> &mut [u8] {
        let end = self.filled + n;
        self.grow_to(end);
        &mut self.out[self.filled..end]
    }

    /// Like [`Sink::spare`], also returning up to `window` bytes written since `from`
    /// (the dictionary of a linked LZ4 block).
    fn spare_with_history(&mut self, n: usize, from: usize, window: usize) -> (&[u8], &mut [u8]) {
        let end = self.filled + n;
        self.grow_to(end);
        let (head, tail) = self.out.split_at_mut(self.filled);
        let from = from.max(self.filled.saturating_sub(window));
        (&head[from..], &mut tail[..n])
    }

    fn grow_to(&mut self, end: usize) {
        if end > self.out.len() {
            let cap = self.out.capacity();
            if end > cap {
                let ceiling = self.start.saturating_add(self.max_output).saturating_add(1);
                let target = end.max(cap.saturating_mul(2).min(ceiling));
                self.out.reserve_exact(target - self.out.len());
            }
            self.out.resize(end, 0);
        }
    }

    /// A good next read size for streaming decoders: doubling, within the bound.
    fn stream_chunk(&self) -> usize {
        let initialised = self.out.len() - self.filled;
        self.written()
            .max(32 * 1024)
            .max(initialised)
            .min(self.room().saturating_add(1))
    }

    /// Marks `n` bytes of the spare slice as written.
    fn advance(&mut self, n: usize) -> Result<(), DecodeError> {
        if n > self.room() {
            return Err(self.too_large());
        }
        self.filled += n;
        Ok(())
    }

    /// Appends bytes the caller has checked fit (see [`Sink::ensure_room`]).
    fn push(&mut self, bytes: &[u8]) {
        self.spare(bytes.len()).copy_from_slice(bytes);
        self.filled += bytes.len();
    }

    /// Bytes written since absolute position `from`.
    fn since(&self, from: usize) -> &[u8] {
        &self.out[from..self.filled]
    }
}

/// Fixed-width little-endian u32 at `at`, when there are 4 bytes.
fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

mod gzip {
    use super::*;
    use flate2::bufread::MultiGzDecoder;
    use flate2::write::GzEncoder;

    /// `level` -1 is Java's `Deflater.DEFAULT_COMPRESSION`, zlib's level 6.
    pub(super) fn compress(level: i32, records: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
        let level = if level == -1 { 6 } else { level as u32 };
        let failed = |e: std::io::Error| CompressError::Failed {
            codec: Compression::Gzip,
            message: e.to_string(),
        };
        let mut encoder = GzEncoder::new(out, flate2::Compression::new(level));
        encoder.write_all(records).map_err(failed)?;
        encoder.finish().map_err(failed)?;
        Ok(())
    }

    pub(super) fn decompress(data: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        // ISIZE, the last member's size mod 2^32, as a (bounded) capacity hint.
        if let Some(isize) = data.len().checked_sub(4).and_then(|at| le_u32(data, at)) {
            sink.reserve_hint(isize as u64);
        }
        let mut decoder = MultiGzDecoder::new(data);
        loop {
            let chunk = sink.stream_chunk();
            let n = match decoder.read(sink.spare(chunk)) {
                Ok(n) => n,
                Err(e) => return Err(sink.corrupt(e.to_string())),
            };
            if n == 0 {
                return Ok(());
            }
            sink.advance(n)?;
        }
    }
}

/// snappy-java's framing (`SnappyOutputStream` / `SnappyInputStream`).
mod xerial {
    use super::*;

    /// `SnappyCodec.MAGIC_HEADER`.
    const MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
    /// Magic, version 1, minimum compatible version 1: what snappy-java writes.
    const HEADER: [u8; 16] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1];
    /// `SnappyOutputStream`'s default block size, which Kafka uses.
    const BLOCK: usize = 32 * 1024;

    pub(super) fn compress(records: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
        out.extend_from_slice(&HEADER);
        let mut encoder = snap::raw::Encoder::new();
        for chunk in records.chunks(BLOCK) {
            let at = out.len();
            out.resize(at + 4 + snap::raw::max_compress_len(chunk.len()), 0);
            // Does not fail in practice: a chunk is far below snappy's 4 GiB limit and the
            // output has max_compress_len bytes.
            let n = encoder
                .compress(chunk, &mut out[at + 4..])
                .map_err(|e| CompressError::Failed {
                    codec: Compression::Snappy,
                    message: e.to_string(),
                })?;
            out[at..at + 4].copy_from_slice(&(n as u32).to_be_bytes());
            out.truncate(at + 4 + n);
        }
        Ok(())
    }

    pub(super) fn decompress(data: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        if !data.starts_with(&MAGIC) {
            // No xerial header: one raw block, as snappy-java falls back to.
            return raw_block(data, sink);
        }
        let mut rest = data;
        loop {
            // A (first or concatenated) header: magic, version, compatible version.
            // snappy-java only requires the magic; we likewise ignore the versions.
            if rest.len() < HEADER.len() || !rest.starts_with(&MAGIC) {
                return Err(sink.corrupt("truncated xerial header"));
            }
            rest = &rest[HEADER.len()..];
            loop {
                if rest.is_empty() {
                    return Ok(());
                }
                if rest.len() < 4 {
                    return Err(sink.corrupt("truncated xerial chunk length"));
                }
                if rest[..4] == MAGIC[..4] {
                    break; // concatenated stream: a new header where a length should be
                }
                let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                rest = &rest[4..];
                if len > rest.len() {
                    return Err(sink.corrupt("truncated xerial chunk"));
                }
                raw_block(&rest[..len], sink)?;
                rest = &rest[len..];
            }
        }
    }

    /// One raw snappy block: its declared length is checked against the bound before
    /// any allocation, and snap verifies the block produces exactly that many bytes.
    fn raw_block(block: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        let len = snap::raw::decompress_len(block).map_err(|e| sink.corrupt(e.to_string()))?;
        sink.ensure_room(len)?;
        let result = snap::raw::Decoder::new().decompress(block, sink.spare(len));
        match result {
            Ok(n) => sink.advance(n),
            Err(e) => Err(sink.corrupt(e.to_string())),
        }
    }
}

/// The LZ4 frame format (lz4_Frame_format.md) over lz4_flex's block codec.
mod lz4 {
    use super::*;
    use lz4_flex::block::{self, CompressTable, DecompressError};
    use twox_hash::XxHash32;

    const MAGIC: u32 = 0x184D_2204;
    const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
    /// Magic; FLG version 01, independent blocks, no checksums, no content size; BD
    /// 64 KiB blocks; header checksum (xxh32 of FLG and BD, bits 8..15). Byte for byte
    /// what Kafka's `Lz4BlockOutputStream` writes for magic v2.
    const HEADER: [u8; 7] = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
    const BLOCK: usize = 64 * 1024;
    /// High bit of a block size: the block is stored uncompressed.
    const UNCOMPRESSED: u32 = 0x8000_0000;
    /// How far back a linked block may reference.
    const WINDOW: usize = 64 * 1024;

    const FLG_VERSION_MASK: u8 = 0xC0;
    const FLG_VERSION_01: u8 = 0x40;
    const FLG_INDEPENDENT: u8 = 0x20;
    const FLG_BLOCK_CHECKSUM: u8 = 0x10;
    const FLG_CONTENT_SIZE: u8 = 0x08;
    const FLG_CONTENT_CHECKSUM: u8 = 0x04;
    const FLG_RESERVED: u8 = 0x02;
    const FLG_DICT_ID: u8 = 0x01;

    pub(super) fn compress(records: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
        out.extend_from_slice(&HEADER);
        let mut table = CompressTable::default();
        for chunk in records.chunks(BLOCK) {
            let at = out.len();
            out.resize(at + 4 + block::get_maximum_output_size(chunk.len()), 0);
            let n = block::compress_into_with_table(chunk, &mut out[at + 4..], &mut table).map_err(|e| {
                CompressError::Failed {
                    codec: Compression::Lz4,
                    message: e.to_string(),
                }
            })?;
            // As Java does: a block that does not shrink is stored as it is.
            let word = if n >= chunk.len() {
                out.truncate(at + 4);
                out.extend_from_slice(chunk);
                chunk.len() as u32 | UNCOMPRESSED
            } else {
                out.truncate(at + 4 + n);
                n as u32
            };
            out[at..at + 4].copy_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&[0; 4]); // EndMark
        Ok(())
    }

    pub(super) fn decompress(data: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        let mut rest = data;
        let mut frames = 0;
        while !rest.is_empty() {
            let magic = le_u32(rest, 0).ok_or_else(|| sink.corrupt("truncated frame magic"))?;
            if magic & 0xFFFF_FFF0 == SKIPPABLE_MAGIC {
                let len = le_u32(rest, 4).ok_or_else(|| sink.corrupt("truncated skippable frame"))? as usize;
                rest = rest
                    .get(8usize.saturating_add(len)..)
                    .ok_or_else(|| sink.corrupt("truncated skippable frame"))?;
                continue;
            }
            if magic != MAGIC {
                return Err(sink.corrupt(format!("not an LZ4 frame (magic {magic:#010x})")));
            }
            rest = frame(&rest[4..], sink)?;
            frames += 1;
        }
        if frames == 0 {
            return Err(sink.corrupt("no LZ4 frame"));
        }
        Ok(())
    }

    /// Decodes one frame after its magic; returns what follows it.
    fn frame<'d>(data: &'d [u8], sink: &mut Sink<'_>) -> Result<&'d [u8], DecodeError> {
        let truncated = |sink: &Sink<'_>| sink.corrupt("truncated LZ4 frame");
        let (&flg, &bd) = match data {
            [flg, bd, ..] => (flg, bd),
            _ => return Err(truncated(sink)),
        };
        if flg & FLG_VERSION_MASK != FLG_VERSION_01 {
            return Err(sink.corrupt("unsupported LZ4 frame version"));
        }
        if flg & FLG_RESERVED != 0 || bd & 0x8F != 0 {
            return Err(sink.corrupt("reserved LZ4 frame bits set"));
        }
        if flg & FLG_DICT_ID != 0 {
            return Err(sink.corrupt("LZ4 frame needs a dictionary"));
        }
        let block_max = match (bd >> 4) & 0x07 {
            id @ 4..=7 => 1usize << (2 * id + 8),
            _ => return Err(sink.corrupt("invalid LZ4 block maximum size")),
        };
        let descriptor_len = if flg & FLG_CONTENT_SIZE != 0 { 10 } else { 2 };
        let Some(&hc) = data.get(descriptor_len) else {
            return Err(truncated(sink));
        };
        if hc != (XxHash32::oneshot(0, &data[..descriptor_len]) >> 8) as u8 {
            return Err(sink.corrupt("LZ4 frame header checksum mismatch"));
        }
        let content_size = if flg & FLG_CONTENT_SIZE != 0 {
            let size = u64::from_le_bytes(data[2..10].try_into().unwrap_or_default());
            if size > sink.room() as u64 {
                return Err(sink.too_large());
            }
            sink.reserve_hint(size);
            Some(size)
        } else {
            None
        };
        let independent = flg & FLG_INDEPENDENT != 0;
        let block_checksums = flg & FLG_BLOCK_CHECKSUM != 0;
        let frame_start = sink.filled;
        let mut rest = &data[descriptor_len + 1..];
        loop {
            let word = le_u32(rest, 0).ok_or_else(|| sink.corrupt("LZ4 frame without EndMark"))?;
            rest = &rest[4..];
            if word == 0 {
                break;
            }
            let len = (word & !UNCOMPRESSED) as usize;
            if len > block_max {
                return Err(sink.corrupt("LZ4 block larger than the frame's maximum"));
            }
            let stored = len + if block_checksums { 4 } else { 0 };
            if rest.len() < stored {
                return Err(truncated(sink));
            }
            let data = &rest[..len];
            if block_checksums && le_u32(rest, len) != Some(XxHash32::oneshot(0, data)) {
                return Err(sink.corrupt("LZ4 block checksum mismatch"));
            }
            rest = &rest[stored..];
            if word & UNCOMPRESSED != 0 {
                sink.ensure_room(len)?;
                sink.push(data);
                continue;
            }
            // A valid block yields at most block_max bytes, and at most 255 per input
            // byte (one match-length byte adds at most 255). Within that, room for one
            // byte more than allowed: a block that needs it is too large.
            let natural = block_max.min(len.saturating_mul(255));
            let bound = natural.min(sink.room().saturating_add(1));
            let result = if independent {
                block::decompress_into(data, sink.spare(bound))
            } else {
                let (history, out) = sink.spare_with_history(bound, frame_start, WINDOW);
                block::decompress_into_with_dict(data, out, history)
            };
            match result {
                Ok(n) => sink.advance(n)?,
                Err(DecompressError::OutputTooSmall { .. }) if bound < natural => return Err(sink.too_large()),
                Err(e) => return Err(sink.corrupt(e.to_string())),
            }
        }
        if flg & FLG_CONTENT_CHECKSUM != 0 {
            let stored = le_u32(rest, 0).ok_or_else(|| truncated(sink))?;
            if stored != XxHash32::oneshot(0, sink.since(frame_start)) {
                return Err(sink.corrupt("LZ4 content checksum mismatch"));
            }
            rest = &rest[4..];
        }
        if let Some(size) = content_size {
            if (sink.filled - frame_start) as u64 != size {
                return Err(sink.corrupt("LZ4 frame content size mismatch"));
            }
        }
        Ok(rest)
    }
}

mod zstd_codec {
    use super::*;
    use zstd::zstd_safe::{self, CCtx, DCtx, InBuffer, OutBuffer};

    pub(super) fn compress(level: i32, records: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
        let failed = |message: &str| CompressError::Failed {
            codec: Compression::Zstd,
            message: message.to_string(),
        };
        let mut cctx = CCtx::try_create().ok_or_else(|| failed("cannot allocate a context"))?;
        let at = out.len();
        out.resize(at + zstd_safe::compress_bound(records.len()), 0);
        match cctx.compress(&mut out[at..], records, level) {
            Ok(n) => {
                out.truncate(at + n);
                Ok(())
            }
            Err(code) => Err(failed(zstd_safe::get_error_name(code))),
        }
    }

    /// Streaming decode, so frames without a content size (what Java writes) and
    /// concatenated frames both work. The window is limited by zstd's default
    /// (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`, 128 MiB, as in Java): a frame declaring a larger one
    /// is refused; the window buffer is malloc'ed but only touched as far as the output
    /// goes, and the output is bounded.
    pub(super) fn decompress(data: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        if let Ok(Some(size)) = zstd_safe::get_frame_content_size(data) {
            if size > sink.room() as u64 {
                return Err(sink.too_large());
            }
            sink.reserve_hint(size);
        }
        let mut dctx = DCtx::try_create().ok_or_else(|| sink.corrupt("cannot allocate a context"))?;
        let mut input = InBuffer::around(data);
        loop {
            let chunk = sink.stream_chunk();
            let before = input.pos();
            let mut output = OutBuffer::around(sink.spare(chunk));
            let result = dctx.decompress_stream(&mut output, &mut input);
            let n = output.pos();
            let hint = result.map_err(|code| sink.corrupt(zstd_safe::get_error_name(code)))?;
            sink.advance(n)?;
            let consumed_all = input.pos() == data.len();
            if hint == 0 && consumed_all {
                return Ok(());
            }
            if consumed_all && n < chunk {
                return Err(sink.corrupt("truncated zstd frame"));
            }
            if n == 0 && input.pos() == before {
                return Err(sink.corrupt("zstd decoder made no progress"));
            }
        }
    }
}
