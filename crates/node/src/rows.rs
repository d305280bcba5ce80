//! The one shape in which records cross to JS, for the consumer's polls
//! (`takePollBuffer`) and the producer's delivery reports (`takeRecords`) alike: one
//! JS-owned ArrayBuffer holding a Float64 index, [`FIELDS`] numbers per record (offset,
//! timestamp, key start, key length, value start, value length, headers start, header
//! count; positions relative to the bytes area), followed by the records' bytes.
//! `RecordRows` in `ts/message.ts` is its one reader. Plain garbage for V8 to collect: no
//! finalizer, no external memory.

use std::ptr;

use napi::bindgen_prelude::{Env, FromNapiValue, Unknown};
use napi::sys;

use nkafka_client::consumer::FetchedBatch;

use crate::errors::Result;

/// Numbers per record in the index.
pub const FIELDS: usize = 8;

/// Writes index rows in order.
pub struct RowWriter<'a> {
    index: &'a mut [u8],
    row: usize,
}

impl RowWriter<'_> {
    /// Appends one record's row.
    pub fn push(&mut self, fields: [f64; FIELDS]) {
        for (i, f) in fields.iter().enumerate() {
            let at = (self.row * FIELDS + i) * 8;
            self.index[at..at + 8].copy_from_slice(&f.to_le_bytes());
        }
        self.row += 1;
    }
}

/// An ArrayBuffer for `rows` index rows and `data` bytes; `fill` writes the rows (exactly
/// `rows` of them) and the bytes area.
pub fn array_buffer<'a>(
    env: Env,
    rows: usize,
    data: usize,
    fill: impl FnOnce(&mut RowWriter<'_>, &mut [u8]),
) -> Result<Unknown<'a>> {
    let index_bytes = rows * FIELDS * 8;
    let total = index_bytes + data;
    let mut raw: *mut std::ffi::c_void = ptr::null_mut();
    let mut value: sys::napi_value = ptr::null_mut();
    // SAFETY: live env; napi_create_arraybuffer gives `total` writable bytes at `raw`.
    let status = unsafe { sys::napi_create_arraybuffer(env.raw(), total, &mut raw, &mut value) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(
            "INTERNAL".to_string(),
            format!("cannot allocate a {total}-byte ArrayBuffer"),
        ));
    }
    if total > 0 {
        // SAFETY: `raw` points to `total` bytes owned by the new ArrayBuffer, which no JS
        // code can see yet.
        let bytes = unsafe { std::slice::from_raw_parts_mut(raw as *mut u8, total) };
        let (index, area) = bytes.split_at_mut(index_bytes);
        let mut w = RowWriter { index, row: 0 };
        fill(&mut w, area);
        debug_assert_eq!(w.row, rows, "every row written");
    }
    // SAFETY: value is an ArrayBuffer in this env.
    unsafe { Unknown::from_napi_value(env.raw(), value) }
        .map_err(|e| napi::Error::new("INTERNAL".to_string(), e.reason.clone()))
}

/// The records of polled batches in this module's shape: only the bytes of the records
/// handed over (a batch split across polls is not copied whole each time).
pub fn batches_buffer<'a>(env: Env, batches: &[FetchedBatch]) -> Result<Unknown<'a>> {
    let rows: usize = batches.iter().map(|b| b.records.len()).sum();
    let span = |b: &FetchedBatch| match (b.records.first(), b.records.last()) {
        (Some(f), Some(l)) => (f.start as usize, l.end as usize),
        _ => (0, 0),
    };
    let data: usize = batches.iter().map(|b| span(b).1 - span(b).0).sum();
    array_buffer(env, rows, data, |index, area| {
        let mut base = 0usize;
        for b in batches {
            let (from, to) = span(b);
            area[base..base + (to - from)].copy_from_slice(&b.data[from..to]);
            // Positions in the batch become positions in `area`.
            let shift = |pos: u32| (base + pos as usize - from) as f64;
            for r in &b.records {
                index.push([
                    r.offset as f64,
                    r.timestamp as f64,
                    shift(r.key_start),
                    r.key_len as f64,
                    shift(r.value_start),
                    r.value_len as f64,
                    shift(r.headers_start),
                    r.header_count as f64,
                ]);
            }
            base += to - from;
        }
    })
}
