//! A hostile fetch response's record set: batches, decompression and records must give
//! Ok or a typed error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nkafka_protocol::compression::batch_records;
use nkafka_protocol::record_batch::{Batches, Records};

fuzz_target!(|data: &[u8]| {
    let mut scratch = Vec::new();
    for batch in Batches::new(data) {
        let Ok(batch) = batch else {
            break;
        };
        // Fuzzed bytes rarely have a valid CRC; decode regardless, as a reader that
        // skips the check (check.crcs=false) would.
        let _ = batch.verify_crc();
        let Ok(section) = batch_records(&batch, 1 << 20, &mut scratch) else {
            continue;
        };
        for record in Records::new(section, batch.header.record_count) {
            if record.is_err() {
                break;
            }
        }
    }
});
