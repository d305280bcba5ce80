//! The consumer's record reader on a hostile record set, exactly as
//! `crates/client/src/consumer/decode.rs` runs it: batches, CRC check, decompression under
//! one response budget, then `index_records`. Every outcome must be Ok or a typed error,
//! never a panic, an overflow or an out-of-bounds index; indexed records must lie inside
//! their section.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nkafka_protocol::compression::{batch_records_within, InflateBudget};
use nkafka_protocol::record_batch::{index_records, Batches, Compression, Records};
use nkafka_protocol::DecodeError;

fuzz_target!(|input: &[u8]| {
    // First byte: whether to check CRCs (fuzzed bytes rarely carry a valid one) and the
    // budget's size; the rest is the record set.
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    let check_crcs = flags & 1 != 0;
    let per_batch = 1usize << (10 + (flags >> 1 & 0x0f).min(10));
    let mut budget = InflateBudget::new(per_batch, per_batch);
    let mut index = Vec::new();
    for batch in Batches::new(data) {
        let Ok(batch) = batch else {
            break;
        };
        let h = batch.header;
        // Batches guarantees the offset after the batch exists.
        assert!(h.base_offset.checked_add(i64::from(h.last_offset_delta) + 1).is_some());
        if check_crcs && batch.verify_crc().is_err() {
            break;
        }
        let mut scratch = Vec::new();
        // Over budget or corrupt: the consumer stops its decode there too.
        let section = match batch_records_within(&batch, &mut budget, &mut scratch) {
            Ok(s) => s,
            Err(DecodeError::FetchBudgetExceeded { .. }) => break,
            Err(_) => break,
        };
        if h.compression().ok() != Some(Compression::None) {
            assert!(section.len() <= per_batch);
        }
        index.clear();
        let indexed = index_records(&h, section, i64::MIN, &mut index);
        for r in &index {
            assert!(r.start <= r.end && r.end as usize <= section.len());
            if r.key_len >= 0 {
                assert!(r.key_start as usize + r.key_len as usize <= r.end as usize);
            }
            if r.value_len >= 0 {
                assert!(r.value_start as usize + r.value_len as usize <= r.end as usize);
            }
            assert!(r.headers_start <= r.end);
        }
        // The slice reader is the same parser: it agrees on how many records parse.
        let parsed = Records::new(section, h.record_count).take_while(Result::is_ok).count();
        match indexed {
            Ok(()) => assert_eq!(parsed, index.len()),
            Err(_) => assert!(parsed <= h.record_count.max(0) as usize),
        }
    }
});
