//! Whatever we compress, we decompress back to the same bytes, for every codec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nkafka_protocol::compression::{compress, decompress};
use nkafka_protocol::record_batch::Compression;

fuzz_target!(|data: &[u8]| {
    for codec in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut compressed = Vec::new();
        compress(codec, None, data, &mut compressed).unwrap();
        let mut out = Vec::new();
        decompress(codec, &compressed, data.len(), &mut out).unwrap();
        assert_eq!(out, data, "{codec:?}");
    }
});
