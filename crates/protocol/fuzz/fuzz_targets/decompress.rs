//! Hostile compressed data: every codec must return Ok or a typed error, never panic,
//! and never produce more than the bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nkafka_protocol::compression::decompress;
use nkafka_protocol::record_batch::Compression;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let codec = match selector % 5 {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        _ => Compression::Zstd,
    };
    // Small bounds exercise the bound checks, large ones the decoders.
    let max_output = if selector >= 128 {
        1 << 20
    } else {
        (selector as usize) * 64
    };
    let mut out = vec![0xAB; 3];
    match decompress(codec, data, max_output, &mut out) {
        Ok(()) => assert!(out.len() - 3 <= max_output),
        Err(_) => assert_eq!(out, [0xAB; 3]),
    }
});
