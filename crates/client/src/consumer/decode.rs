//! Turns a fetched partition's record set into batches of records the app can read: CRC
//! check, control batches skipped, aborted transactions filtered for read_committed,
//! compressed batches inflated, and every record indexed (offset, timestamp, where its key,
//! value and headers are) so JS builds message objects lazily from one buffer.

use bytes::Bytes;
use nkafka_protocol::compression::{batch_records_within, InflateBudget};
use nkafka_protocol::record_batch::{index_records, Batch, Batches, Compression};
use nkafka_protocol::DecodeError;

pub use nkafka_protocol::record_batch::RecordIndex;

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
/// read_uncommitted. `budget` bounds what compressed batches inflate to, per batch and
/// for the whole fetch response (shared by its partitions): a batch that does not fit
/// what is left ends the decode there, like a bad batch after good ones, and the next
/// fetch starts at it.
pub fn decode_partition(
    topic: u32,
    partition: i32,
    records: &Bytes,
    position: i64,
    check_crcs: bool,
    aborted: Option<&[AbortedTxn]>,
    budget: &mut InflateBudget,
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
                // Over the response's budget: not an error, even for this partition's
                // first batch (an earlier partition took the budget).
                Err(DecodeError::FetchBudgetExceeded { .. }) => {
                    out.next_offset = $next;
                    return Ok(out);
                }
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
        // Batches checks that the offset after the batch fits an i64.
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
        let data = or_stop!(records_data(&batch, records, budget), good_until);
        let fetched = or_stop!(index_batch(topic, partition, &batch, data, position), good_until);
        if !fetched.records.is_empty() {
            out.bytes += fetched.data.len();
            out.batches.push(fetched);
        }
    }
    Ok(out)
}

/// The uncompressed records section of a batch, sharing `whole` when not compressed.
fn records_data(batch: &Batch<'_>, whole: &Bytes, budget: &mut InflateBudget) -> Result<Bytes, DecodeError> {
    if batch.header.compression()? == Compression::None {
        // Zero copy: a slice of the fetch response.
        let section = batch.records_section();
        let start = section.as_ptr() as usize - whole.as_ptr() as usize;
        return Ok(whole.slice(start..start + section.len()));
    }
    let mut out = Vec::new();
    let len = batch_records_within(batch, budget, &mut out)?.len();
    out.truncate(len);
    Ok(Bytes::from(out))
}

fn index_batch(
    topic: u32,
    partition: i32,
    batch: &Batch<'_>,
    data: Bytes,
    position: i64,
) -> Result<FetchedBatch, DecodeError> {
    let h = batch.header;
    let mut records = Vec::new();
    index_records(&h, &data, position, &mut records)?;
    Ok(FetchedBatch {
        topic,
        partition,
        leader_epoch: h.partition_leader_epoch,
        log_append_time: h.is_log_append_time(),
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
            let v = format!("v{}", base_offset.wrapping_add(i as i64));
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

    fn mib() -> InflateBudget {
        InflateBudget::new(1 << 20, 1 << 20)
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
        let d = decode_partition(0, 0, &Bytes::from(set), 11, true, None, &mut mib()).unwrap();
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
        let e = decode_partition(0, 0, &Bytes::from(set), 0, true, None, &mut mib()).unwrap_err();
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
        let d = decode_partition(0, 0, &set, 0, true, None, &mut mib()).unwrap();
        assert_eq!(values(&d), ["v0", "v1", "v2", "v3"]);
        assert_eq!(d.next_offset, Some(4), "the next fetch starts at the corrupt batch");
        let e = decode_partition(0, 0, &set.slice(good..), 4, true, None, &mut mib()).unwrap_err();
        assert!(matches!(e, DecodeError::CrcMismatch { .. }));
        // Without CRC checks the bytes pass (what checkCrcs: false asks for).
        assert_eq!(
            decode_partition(0, 0, &set, 0, false, None, &mut mib())
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
        let committed = decode_partition(0, 0, &set, 0, true, Some(&aborted), &mut mib()).unwrap();
        assert_eq!(values(&committed), ["v3", "v4"]);
        let uncommitted = decode_partition(0, 0, &set, 0, true, None, &mut mib()).unwrap();
        assert_eq!(values(&uncommitted), ["v0", "v1", "v3", "v4"]);
        assert_eq!(committed.next_offset, Some(5));
    }

    fn compressed(base_offset: i64, n: usize, value: &[u8]) -> Vec<u8> {
        let mut b = BatchBuilder::with_capacity(256);
        for i in 0..n {
            b.append(i as i64, None::<&[u8]>, Some(value), &[]);
        }
        let s = b.finish();
        let mut out = Vec::new();
        nkafka_protocol::compression::compress_batch(&s.bytes, Compression::Zstd, None, &mut out).unwrap();
        write_header(&mut out, Compression::Zstd, ProducerFields::NONE);
        out[0..8].copy_from_slice(&base_offset.to_be_bytes());
        out
    }

    #[test]
    fn the_response_budget_stops_the_decode_at_the_batch_that_does_not_fit() {
        // Three zstd batches of ~10 KiB each inflate to 3 x 10 KiB; each fits the
        // per-batch bound, two fit the response's budget.
        let value = vec![b'a'; 1000];
        let mut set = compressed(0, 10, &value);
        set.extend(compressed(10, 10, &value));
        let third = set.len();
        set.extend(compressed(20, 10, &value));
        let set = Bytes::from(set);
        let mut budget = InflateBudget::new(16 << 10, 24 << 10);
        let d = decode_partition(0, 0, &set, 0, true, None, &mut budget).unwrap();
        assert_eq!(d.batches.len(), 2);
        assert_eq!(
            d.next_offset,
            Some(20),
            "the next fetch starts at the batch over budget"
        );
        // Another partition of the same response finds the budget spent: nothing of it
        // is decoded and its position stays.
        let mut other = budget.clone();
        let d = decode_partition(0, 1, &set.slice(third..), 20, true, None, &mut other).unwrap();
        assert!(d.batches.is_empty());
        assert_eq!(d.next_offset, None);
        // Refetched first in a response, the batch decodes.
        let d = decode_partition(
            0,
            0,
            &set.slice(third..),
            20,
            true,
            None,
            &mut InflateBudget::new(16 << 10, 24 << 10),
        )
        .unwrap();
        assert_eq!(d.batches[0].records.len(), 10);
    }

    #[test]
    fn the_first_batch_may_take_its_whole_bound_but_not_more() {
        let value = vec![b'a'; 1000];
        let set = Bytes::from(compressed(0, 10, &value));
        // A total budget smaller than the batch does not make it undeliverable.
        let d = decode_partition(0, 0, &set, 0, true, None, &mut InflateBudget::new(64 << 10, 1)).unwrap();
        assert_eq!(d.batches[0].records.len(), 10);
        // Beyond the per-batch bound it is a typed error naming the bound.
        let e = decode_partition(0, 0, &set, 0, true, None, &mut InflateBudget::new(4096, 1 << 20)).unwrap_err();
        assert!(
            matches!(e, DecodeError::DecompressedTooLarge { limit: 4096, .. }),
            "{e}"
        );
    }

    #[test]
    fn offsets_that_overflow_are_corrupt_batches_not_wraps() {
        // lastOffsetDelta past i64::MAX.
        let set = Bytes::from(batch(i64::MAX - 1, 3, ProducerFields::NONE));
        let e = decode_partition(0, 0, &set, 0, false, None, &mut mib()).unwrap_err();
        assert!(
            matches!(e, DecodeError::OffsetOverflow { base_offset, .. } if base_offset == i64::MAX - 1),
            "{e}"
        );
        // A record's offset delta past i64::MAX while the header's last offset fits.
        let mut b = BatchBuilder::with_capacity(256);
        b.append(0, None::<&[u8]>, Some(&b"v"[..]), &[]);
        let mut s = b.finish().bytes;
        s[0..8].copy_from_slice(&(i64::MAX - 5).to_be_bytes());
        // The record's offsetDelta varint (after length, attributes, timestampDelta) is 0:
        // make it the largest one-byte value, 63, past the base offset's headroom.
        assert_eq!(s[64], 0);
        s[64] = 126; // zig-zag 63
        write_header(&mut s, Compression::None, ProducerFields::NONE);
        let e = decode_partition(0, 0, &Bytes::from(s), 0, true, None, &mut mib()).unwrap_err();
        assert!(
            matches!(e, DecodeError::OffsetOverflow { base_offset, .. } if base_offset == i64::MAX - 5),
            "{e}"
        );
    }

    #[test]
    fn a_negative_record_count_is_an_error() {
        let mut s = batch(0, 1, ProducerFields::NONE);
        s[57..61].copy_from_slice(&(-2i32).to_be_bytes());
        let crc = crc32c::crc32c(&s[21..]);
        s[17..21].copy_from_slice(&crc.to_be_bytes());
        let e = decode_partition(0, 0, &Bytes::from(s), 0, true, None, &mut mib()).unwrap_err();
        assert!(matches!(e, DecodeError::Invalid("negative record count")), "{e}");
    }
}
