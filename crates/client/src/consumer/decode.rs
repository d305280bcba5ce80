//! Turns a fetched partition's record set into batches of records the app can read: CRC
//! check, control batches skipped, aborted transactions filtered for read_committed,
//! compressed batches inflated, and every record indexed (offset, timestamp, where its key,
//! value and headers are) so JS builds message objects lazily from one buffer.

use bytes::Bytes;
use nkafka_protocol::codec::Reader;
use nkafka_protocol::record_batch::{Batch, Batches, Compression};
use nkafka_protocol::DecodeError;

/// Where one record's parts are in its batch's `data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordIndex {
    /// Where the record's bytes start in `data` (its length varint).
    pub start: u32,
    /// Where they end.
    pub end: u32,
    /// Absolute offset.
    pub offset: i64,
    /// Timestamp in ms (LogAppendTime when the batch uses it).
    pub timestamp: i64,
    /// Key start in `data`.
    pub key_start: u32,
    /// Key length; -1 for a null key.
    pub key_len: i32,
    /// Value start in `data`.
    pub value_start: u32,
    /// Value length; -1 for a tombstone.
    pub value_len: i32,
    /// Start of the first header in `data`.
    pub headers_start: u32,
    /// Number of headers.
    pub header_count: u32,
}

/// Records of one batch, ready to hand to the app.
#[derive(Clone, Debug)]
pub struct FetchedBatch {
    /// Consumer-local topic id.
    pub topic: u32,
    /// Partition.
    pub partition: i32,
    /// Leader epoch the batch was written in (KIP-320), -1 when unknown.
    pub leader_epoch: i32,
    /// True when timestamps are LogAppendTime.
    pub log_append_time: bool,
    /// The uncompressed records section.
    pub data: Bytes,
    /// The records, in offset order, at or after the fetch position.
    pub records: Vec<RecordIndex>,
}

/// An aborted transaction from the fetch response (read_committed).
#[derive(Clone, Copy, Debug)]
pub struct AbortedTxn {
    /// Producer id of the transaction.
    pub producer_id: i64,
    /// Offset of its first record.
    pub first_offset: i64,
}

/// What decoding a partition's record set gave.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Batches with records to deliver.
    pub batches: Vec<FetchedBatch>,
    /// Offset after the last batch looked at (delivered or skipped): the next fetch offset.
    pub next_offset: Option<i64>,
    /// Uncompressed bytes held by `batches`.
    pub bytes: usize,
}

/// Decodes `records` (a fetch response partition's record set).
///
/// `position` is the offset the app expects next: records below it (a batch fetched from
/// its start) are dropped. `aborted` is the response's aborted-transaction list, `None` for
/// read_uncommitted. `max_inflate` bounds each compressed batch's inflated size.
pub fn decode_partition(
    topic: u32,
    partition: i32,
    records: &Bytes,
    position: i64,
    check_crcs: bool,
    aborted: Option<&[AbortedTxn]>,
    max_inflate: usize,
) -> Result<Decoded, DecodeError> {
    let mut out = Decoded::default();
    // read_committed: producers whose current transaction is aborted (Java's algorithm:
    // a producer enters the set at its aborted transaction's first offset and leaves it at
    // the abort marker).
    let mut aborted_txns: Vec<AbortedTxn> = aborted.map(<[AbortedTxn]>::to_vec).unwrap_or_default();
    aborted_txns.sort_by_key(|a| a.first_offset);
    let mut next_aborted = 0usize;
    let mut aborting: Vec<i64> = Vec::new();
    // A bad batch after good ones: hand out the good ones and stop before it, so that the
    // next fetch starts at the bad batch and its error names that offset (as Java does).
    macro_rules! or_stop {
        ($e:expr, $next:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) if out.batches.is_empty() => return Err(e.into()),
                Err(_) => {
                    out.next_offset = $next;
                    return Ok(out);
                }
            }
        };
    }
    for batch in Batches::new(records) {
        let good_until = out.next_offset;
        let batch = or_stop!(batch, good_until);
        let h = batch.header;
        if check_crcs {
            or_stop!(batch.verify_crc(), good_until);
        }
        out.next_offset = Some(h.last_offset() + 1);
        if h.last_offset() < position {
            continue;
        }
        if aborted.is_some() {
            while next_aborted < aborted_txns.len() && aborted_txns[next_aborted].first_offset <= h.last_offset() {
                aborting.push(aborted_txns[next_aborted].producer_id);
                next_aborted += 1;
            }
            if h.is_control() {
                // An abort (or commit) marker ends the producer's transaction.
                aborting.retain(|p| *p != h.producer_id);
                continue;
            }
            if h.is_transactional() && aborting.contains(&h.producer_id) {
                continue;
            }
        }
        // Control batches carry markers, not records; compaction can leave batches with
        // no records (and an empty, undecompressable section), which Java skips too.
        if h.is_control() || h.record_count == 0 {
            continue;
        }
        let data = or_stop!(records_data(&batch, records, max_inflate), good_until);
        let fetched = or_stop!(index_batch(topic, partition, &batch, data, position), good_until);
        if !fetched.records.is_empty() {
            out.bytes += fetched.data.len();
            out.batches.push(fetched);
        }
    }
    Ok(out)
}

/// The uncompressed records section of a batch, sharing `whole` when not compressed.
fn records_data(batch: &Batch<'_>, whole: &Bytes, max_inflate: usize) -> Result<Bytes, DecodeError> {
    let section = batch.records_section();
    match batch.header.compression()? {
        Compression::None => {
            // Zero copy: a slice of the fetch response.
            let start = section.as_ptr() as usize - whole.as_ptr() as usize;
            Ok(whole.slice(start..start + section.len()))
        }
        codec => {
            let mut out = Vec::new();
            nkafka_protocol::compression::decompress(codec, section, max_inflate, &mut out)?;
            Ok(Bytes::from(out))
        }
    }
}

fn index_batch(
    topic: u32,
    partition: i32,
    batch: &Batch<'_>,
    data: Bytes,
    position: i64,
) -> Result<FetchedBatch, DecodeError> {
    let h = batch.header;
    let count = h.record_count.max(0) as usize;
    // Each record takes at least 7 bytes: a hostile count cannot make us over-allocate.
    let mut records = Vec::with_capacity(count.min(data.len() / 7 + 1));
    let log_append = h.is_log_append_time();
    let mut r = Reader::new(&data);
    for _ in 0..count {
        let record_start = r.position();
        let len = r.varint()?;
        if len < 0 {
            return Err(DecodeError::Invalid("negative record length"));
        }
        let start = r.position();
        let body = r.bytes(len as usize)?;
        let mut b = Reader::new(body);
        b.i8()?; // attributes
        let ts_delta = b.varlong()?;
        let offset_delta = b.varint()?;
        let key_len = b.varint()?;
        let key_start = start + b.position();
        if key_len > 0 {
            b.bytes(key_len as usize)?;
        }
        let value_len = b.varint()?;
        let value_start = start + b.position();
        if value_len > 0 {
            b.bytes(value_len as usize)?;
        }
        let header_count = b.varint()?;
        if header_count < 0 {
            return Err(DecodeError::Invalid("negative header count"));
        }
        let headers_start = start + b.position();
        for _ in 0..header_count {
            if b.varint_bytes()?.is_none() {
                return Err(DecodeError::Invalid("null header key"));
            }
            b.varint_bytes()?;
        }
        if !b.is_empty() {
            return Err(DecodeError::Invalid("record longer than its fields"));
        }
        if key_len < -1 || value_len < -1 {
            return Err(DecodeError::Invalid("negative length other than -1"));
        }
        let offset = h.base_offset + offset_delta as i64;
        if offset < position {
            continue;
        }
        records.push(RecordIndex {
            start: record_start as u32,
            end: (start + len as usize) as u32,
            offset,
            timestamp: if log_append {
                h.max_timestamp
            } else {
                h.base_timestamp.wrapping_add(ts_delta)
            },
            key_start: key_start as u32,
            key_len,
            value_start: value_start as u32,
            value_len,
            headers_start: headers_start as u32,
            header_count: header_count as u32,
        });
    }
    Ok(FetchedBatch {
        topic,
        partition,
        leader_epoch: h.partition_leader_epoch,
        log_append_time: log_append,
        data,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nkafka_protocol::record_batch::{write_header, BatchBuilder, Header, ProducerFields};

    fn batch(base_offset: i64, n: usize, fields: ProducerFields) -> Vec<u8> {
        let mut b = BatchBuilder::with_capacity(256);
        for i in 0..n {
            let v = format!("v{}", base_offset + i as i64);
            let hs = [Header {
                key: b"h",
                value: Some(b"x"),
            }];
            b.append(1000 + i as i64, Some(&b"k"[..]), Some(v.as_bytes()), &hs);
        }
        let mut s = b.finish();
        write_header(&mut s.bytes, Compression::None, fields);
        s.bytes[0..8].copy_from_slice(&base_offset.to_be_bytes());
        s.bytes
    }

    fn values(d: &Decoded) -> Vec<String> {
        d.batches
            .iter()
            .flat_map(|b| {
                b.records.iter().map(move |r| {
                    String::from_utf8(
                        b.data[r.value_start as usize..(r.value_start as i32 + r.value_len) as usize].to_vec(),
                    )
                    .unwrap()
                })
            })
            .collect()
    }

    #[test]
    fn skips_records_before_the_position_and_indexes_the_rest() {
        let mut set = batch(10, 3, ProducerFields::NONE);
        set.extend(batch(13, 2, ProducerFields::NONE));
        let d = decode_partition(0, 0, &Bytes::from(set), 11, true, None, 1 << 20).unwrap();
        assert_eq!(values(&d), ["v11", "v12", "v13", "v14"]);
        assert_eq!(d.next_offset, Some(15));
        let r = d.batches[0].records[0];
        assert_eq!((r.offset, r.timestamp, r.key_len, r.header_count), (11, 1001, 1, 1));
    }

    #[test]
    fn corrupt_batch_is_a_crc_error() {
        let mut set = batch(0, 2, ProducerFields::NONE);
        let n = set.len();
        set[n - 3] ^= 0xff;
        let e = decode_partition(0, 0, &Bytes::from(set), 0, true, None, 1 << 20).unwrap_err();
        assert!(matches!(e, DecodeError::CrcMismatch { .. }));
    }

    #[test]
    fn a_corrupt_batch_after_good_ones_stops_there_and_fails_on_its_own_offset() {
        let mut set = batch(0, 2, ProducerFields::NONE);
        set.extend(batch(2, 2, ProducerFields::NONE));
        let good = set.len();
        set.extend(batch(4, 2, ProducerFields::NONE));
        let n = set.len();
        set[n - 3] ^= 0xff;
        let set = Bytes::from(set);
        let d = decode_partition(0, 0, &set, 0, true, None, 1 << 20).unwrap();
        assert_eq!(values(&d), ["v0", "v1", "v2", "v3"]);
        assert_eq!(d.next_offset, Some(4), "the next fetch starts at the corrupt batch");
        let e = decode_partition(0, 0, &set.slice(good..), 4, true, None, 1 << 20).unwrap_err();
        assert!(matches!(e, DecodeError::CrcMismatch { .. }));
        // Without CRC checks the bytes pass (what checkCrcs: false asks for).
        assert_eq!(
            decode_partition(0, 0, &set, 0, false, None, 1 << 20)
                .unwrap()
                .batches
                .len(),
            3
        );
    }

    #[test]
    fn read_committed_drops_aborted_transactions() {
        let txn = |pid| ProducerFields {
            producer_id: pid,
            producer_epoch: 0,
            base_sequence: 0,
            transactional: true,
        };
        // Producer 7 writes offsets 0-1 then aborts (marker at 2); producer 8 writes 3-4.
        let mut set = batch(0, 2, txn(7));
        let mut marker = batch(2, 1, txn(7));
        marker[21..23].copy_from_slice(&(0x30i16).to_be_bytes()); // transactional + control
        let crc = crc32c::crc32c(&marker[21..]);
        marker[17..21].copy_from_slice(&crc.to_be_bytes());
        set.extend(marker);
        set.extend(batch(3, 2, txn(8)));
        let set = Bytes::from(set);
        let aborted = [AbortedTxn {
            producer_id: 7,
            first_offset: 0,
        }];
        let committed = decode_partition(0, 0, &set, 0, true, Some(&aborted), 1 << 20).unwrap();
        assert_eq!(values(&committed), ["v3", "v4"]);
        let uncommitted = decode_partition(0, 0, &set, 0, true, None, 1 << 20).unwrap();
        assert_eq!(values(&uncommitted), ["v0", "v1", "v3", "v4"]);
        assert_eq!(committed.next_offset, Some(5));
    }
}
