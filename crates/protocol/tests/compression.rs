//! Record batch compression: the Java client's compressed batches
//! (`tests/vectors/record_batches.json`) decode to their inputs, our compressed batches
//! round-trip, corrupt input and decompression bombs give typed errors.

use nkafka_protocol::compression::{
    batch_records, check_level, compress, compress_batch, decompress, default_level, CompressError,
};
use nkafka_protocol::record_batch::{
    write_header, BatchBuilder, Batches, Compression, Header, ProducerFields, Records, HEADER_LEN,
};
use nkafka_protocol::DecodeError;
use proptest::prelude::*;
use serde_json::Value;

mod common;
use common::{cases, hex, opt_hex};

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// A bound that no test vector comes near.
const BIG: usize = 64 << 20;

fn codec_named(name: &str) -> Compression {
    match name {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        other => panic!("unknown codec {other}"),
    }
}

/// (timestamp, key, value, headers) of one record.
type TestRecord = (i64, Option<Vec<u8>>, Option<Vec<u8>>, Vec<(Vec<u8>, Option<Vec<u8>>)>);

fn records_of(batch: &Value) -> Vec<TestRecord> {
    batch["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["timestamp"].as_i64().unwrap(),
                opt_hex(&r["key_hex"]),
                opt_hex(&r["value_hex"]),
                r["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| (h[0].as_str().unwrap().as_bytes().to_vec(), opt_hex(&h[1])))
                    .collect(),
            )
        })
        .collect()
}

/// Checks that `section` holds exactly `want`, relative to `base_timestamp`.
fn assert_records(section: &[u8], count: i32, base_timestamp: i64, want: &[TestRecord], what: &str) {
    let mut n = 0;
    for (i, (rec, want)) in Records::new(section, count).zip(want).enumerate() {
        let rec = rec.unwrap_or_else(|e| panic!("{what} record {i}: {e}"));
        assert_eq!(rec.offset_delta as usize, i, "{what} record {i}");
        assert_eq!(
            base_timestamp.wrapping_add(rec.timestamp_delta),
            want.0,
            "{what} record {i}"
        );
        assert_eq!(rec.key, want.1.as_deref(), "{what} record {i}");
        assert_eq!(rec.value, want.2.as_deref(), "{what} record {i}");
        let hs: Vec<(Vec<u8>, Option<Vec<u8>>)> = rec
            .headers
            .iter()
            .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(hs, want.3, "{what} record {i}");
        n += 1;
    }
    assert_eq!(n, want.len(), "{what}: record count");
}

/// An uncompressed sealed batch of `records` (header not yet written).
fn sealed(records: &[TestRecord]) -> Vec<u8> {
    let mut b = BatchBuilder::with_capacity(256);
    for (ts, k, v, hs) in records {
        let headers: Vec<Header<'_>> = hs
            .iter()
            .map(|(k, v)| Header {
                key: k,
                value: v.as_deref(),
            })
            .collect();
        b.append(*ts, k.as_deref(), v.as_deref(), &headers);
    }
    b.finish().bytes
}

/// What the producer does: seal, compress, write header and CRC.
fn compressed_batch(records: &[TestRecord], codec: Compression, level: Option<i32>) -> Vec<u8> {
    let plain = sealed(records);
    let mut out = Vec::new();
    compress_batch(&plain, codec, level, &mut out).unwrap();
    write_header(&mut out, codec, ProducerFields::NONE);
    out
}

/// `n` records of 100-byte values that look like real payloads: text with some repetition.
fn realistic_records(n: usize, seed: u64) -> Vec<TestRecord> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let words: [&[u8]; 8] = [
        b"order", b"user", b"amount", b"status", b"ok", b"pending", b"eur", b"id",
    ];
    (0..n)
        .map(|i| {
            let mut value = Vec::with_capacity(100);
            while value.len() < 100 {
                value.extend_from_slice(words[(next() % 8) as usize]);
                value.extend_from_slice(format!("={} ", next() % 1000).as_bytes());
            }
            value.truncate(100);
            (
                1_700_000_000_000 + i as i64,
                Some(format!("key-{i}").into_bytes()),
                Some(value),
                vec![],
            )
        })
        .collect()
}

/// The values of [`realistic_records`], concatenated.
fn payload(n: usize, seed: u64) -> Vec<u8> {
    realistic_records(n, seed)
        .into_iter()
        .flat_map(|r| r.2.unwrap())
        .collect()
}

#[test]
fn java_compressed_batches_decode_to_their_inputs() {
    let cases = cases();
    let mut checked = [0usize; 5];
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let all = hex(case["hex"].as_str().unwrap());
        let mut batches = Batches::new(&all);
        for want in case["batches"].as_array().unwrap() {
            let batch = batches.next().unwrap().unwrap();
            batch.verify_crc().unwrap();
            let codec = codec_named(want["compression"].as_str().unwrap());
            assert_eq!(batch.header.compression().unwrap(), codec, "{name}");
            if codec == Compression::None || batch.header.is_control() {
                continue;
            }
            let mut scratch = Vec::new();
            let section = batch_records(&batch, BIG, &mut scratch).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_records(
                section,
                batch.header.record_count,
                batch.header.base_timestamp,
                &records_of(want),
                name,
            );
            checked[codec as usize] += 1;

            // The same records uncompressed, written by Java too: byte-identical section.
            let plain_name = name.rsplit_once('_').unwrap().0;
            if let Some(plain) = cases.iter().find(|c| c["name"] == plain_name) {
                let plain = hex(plain["batches"][0]["hex"].as_str().unwrap());
                assert_eq!(section, &plain[HEADER_LEN..], "{name} vs {plain_name}");
            }
        }
    }
    for codec in CODECS {
        assert!(
            checked[codec as usize] >= 3,
            "{codec:?}: only {} cases",
            checked[codec as usize]
        );
    }
}

/// Framing details that other clients rely on: our lz4 and snappy headers are Java's bytes,
/// and Java's snappy chunks hold 32 KiB of input, as ours do.
#[test]
fn framing_matches_java() {
    let cases = cases();
    let java = |name: &str| {
        let case = cases.iter().find(|c| c["name"] == name).unwrap();
        hex(case["hex"].as_str().unwrap())[HEADER_LEN..].to_vec()
    };
    let plain = java("many_records_300x100");
    assert!(plain.len() > 32 * 1024, "want more than one snappy chunk");

    for (codec, name, header_len) in [
        (Compression::Gzip, "many_records_300x100_gzip", 3), // 1f 8b 08 (deflate)
        (Compression::Snappy, "many_records_300x100_snappy", 16),
        (Compression::Lz4, "many_records_300x100_lz4", 7),
        (Compression::Zstd, "many_records_300x100_zstd", 4),
    ] {
        let java = java(name);
        let mut ours = Vec::new();
        compress(codec, None, &plain, &mut ours).unwrap();
        assert_eq!(ours[..header_len], java[..header_len], "{codec:?} header");
        let mut back = Vec::new();
        decompress(codec, &ours, BIG, &mut back).unwrap();
        assert_eq!(back, plain, "{codec:?}");
        println!(
            "{codec:?}: Java {} bytes, ours {} bytes, for {} bytes of records",
            java.len(),
            ours.len(),
            plain.len()
        );
    }

    // Java's snappy: 16-byte header, then (length, block) chunks of 32 KiB input each.
    let java = java("many_records_300x100_snappy");
    let mut rest = &java[16..];
    let mut sizes = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        sizes.push(snap::raw::decompress_len(&rest[4..4 + len]).unwrap());
        rest = &rest[4 + len..];
    }
    assert_eq!(sizes[..sizes.len() - 1], vec![32 * 1024; sizes.len() - 1]);
    assert_eq!(sizes.iter().sum::<usize>(), plain.len());
}

#[test]
fn compressed_batch_round_trips_for_each_codec() {
    let records = realistic_records(500, 7);
    let plain = sealed(&records);
    for codec in CODECS {
        let bytes = compressed_batch(&records, codec, None);
        let mut batches = Batches::new(&bytes);
        let batch = batches.next().unwrap().unwrap();
        assert!(batches.next().is_none());
        batch.verify_crc().unwrap();
        assert_eq!(batch.header.compression().unwrap(), codec);
        assert_eq!(batch.header.batch_length as usize, bytes.len() - 12);
        assert_eq!(batch.header.record_count, 500);
        // Offsets, timestamps and count are the uncompressed header's.
        assert_eq!(bytes[23..43], plain[23..43]);
        assert_eq!(bytes[57..HEADER_LEN], plain[57..HEADER_LEN]);
        assert!(bytes.len() * 4 < plain.len() * 3, "{codec:?} compresses text poorly");
        let mut scratch = Vec::new();
        let section = batch_records(&batch, BIG, &mut scratch).unwrap();
        assert_eq!(section, &plain[HEADER_LEN..], "{codec:?}");
        assert_records(
            section,
            500,
            batch.header.base_timestamp,
            &records,
            &format!("{codec:?}"),
        );
    }
}

/// One scratch buffer for a whole fetch: big and small batches of every codec, in turn.
#[test]
fn scratch_is_reused_across_batches() {
    let mut fetch = Vec::new();
    let mut inputs = Vec::new();
    for (i, n) in [800, 1, 50, 3000, 2, 400, 1, 1200].into_iter().enumerate() {
        let records = realistic_records(n, i as u64 + 100);
        let codec = CODECS[i % 4];
        fetch.extend_from_slice(&compressed_batch(&records, codec, None));
        inputs.push(records);
    }
    let mut scratch = vec![0xEE; 10];
    for (batch, records) in Batches::new(&fetch).zip(&inputs) {
        let batch = batch.unwrap();
        batch.verify_crc().unwrap();
        let section = batch_records(&batch, BIG, &mut scratch).unwrap();
        assert_eq!(section, &sealed(records)[HEADER_LEN..]);
    }
}

#[test]
fn producer_fields_and_transactional_bit_survive_compression() {
    let records = realistic_records(3, 1);
    let plain = sealed(&records);
    let fields = ProducerFields {
        producer_id: 1000,
        producer_epoch: 3,
        base_sequence: 42,
        transactional: true,
    };
    let mut out = vec![0xAA; 5]; // appends after what is there
    compress_batch(&plain, Compression::Zstd, Some(19), &mut out).unwrap();
    write_header(&mut out[5..], Compression::Zstd, fields);
    let batch = Batches::new(&out[5..]).next().unwrap().unwrap();
    batch.verify_crc().unwrap();
    assert!(batch.header.is_transactional());
    assert_eq!(batch.header.producer_id, 1000);
    assert_eq!(batch.header.base_sequence, 42);
    assert_eq!(batch.header.compression().unwrap(), Compression::Zstd);
}

#[test]
fn uncompressed_batches_are_returned_in_place() {
    let records = realistic_records(2, 3);
    let mut bytes = sealed(&records);
    write_header(&mut bytes, Compression::None, ProducerFields::NONE);
    let batch = Batches::new(&bytes).next().unwrap().unwrap();
    let mut scratch = Vec::new();
    let section = batch_records(&batch, 0, &mut scratch).unwrap();
    assert!(std::ptr::eq(section, batch.records_section()));
}

#[test]
fn empty_compressed_batch_is_not_decompressed() {
    // As Java: a batch with no records (compaction leaves them) yields nothing, even when
    // its (empty) records section would not decode.
    let mut bytes = sealed(&realistic_records(1, 3));
    bytes.truncate(HEADER_LEN);
    bytes[8..12].copy_from_slice(&((HEADER_LEN - 12) as i32).to_be_bytes());
    bytes[57..61].copy_from_slice(&0i32.to_be_bytes());
    write_header(&mut bytes, Compression::Lz4, ProducerFields::NONE);
    let batch = Batches::new(&bytes).next().unwrap().unwrap();
    let mut scratch = Vec::new();
    assert_eq!(batch_records(&batch, BIG, &mut scratch).unwrap(), b"");
}

#[test]
fn compress_batch_rejects_non_batches() {
    let mut out = Vec::new();
    assert!(matches!(
        compress_batch(&[0; 60], Compression::Gzip, None, &mut out),
        Err(CompressError::InvalidBatch(_))
    ));
    let once = compressed_batch(&realistic_records(2, 3), Compression::Gzip, None);
    assert!(matches!(
        compress_batch(&once, Compression::Gzip, None, &mut out),
        Err(CompressError::InvalidBatch(_))
    ));
    assert!(out.is_empty());
}

#[test]
fn levels_follow_java_validation() {
    for (codec, good, bad) in [
        (Compression::Gzip, &[-1, 1, 6, 9][..], &[0, 10, -2][..]),
        (Compression::Lz4, &[1, 9, 17][..], &[0, 18][..]),
        (Compression::Zstd, &[-131_072, -5, 0, 3, 22][..], &[-131_073, 23][..]),
        (Compression::Snappy, &[][..], &[0, 1][..]),
        (Compression::None, &[][..], &[0][..]),
    ] {
        for &level in good {
            check_level(codec, level).unwrap();
            let mut out = Vec::new();
            compress(codec, Some(level), b"hello hello hello hello", &mut out).unwrap();
            let mut back = Vec::new();
            decompress(codec, &out, 100, &mut back).unwrap();
            assert_eq!(back, b"hello hello hello hello", "{codec:?} level {level}");
        }
        for &level in bad {
            let mut out = vec![1];
            assert_eq!(
                compress(codec, Some(level), b"x", &mut out),
                Err(CompressError::InvalidLevel { codec, level })
            );
            assert_eq!(out, vec![1]);
        }
    }
    assert_eq!(default_level(Compression::Gzip), Some(6));
    assert_eq!(default_level(Compression::Lz4), Some(9));
    assert_eq!(default_level(Compression::Zstd), Some(3));
    assert_eq!(default_level(Compression::Snappy), None);
}

#[test]
fn snappy_accepts_raw_and_xerial_framing() {
    let data = realistic_records(300, 9)
        .into_iter()
        .flat_map(|r| r.2.unwrap())
        .collect::<Vec<u8>>();
    // Raw (unframed) snappy, as some non-Java clients write it.
    let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
    let mut out = Vec::new();
    decompress(Compression::Snappy, &raw, BIG, &mut out).unwrap();
    assert_eq!(out, data);

    // xerial, ours.
    let mut xerial = Vec::new();
    compress(Compression::Snappy, None, &data, &mut xerial).unwrap();
    assert_eq!(xerial[..16], *b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01");
    out.clear();
    decompress(Compression::Snappy, &xerial, BIG, &mut out).unwrap();
    assert_eq!(out, data);

    // Two xerial streams back to back, which snappy-java reads as one.
    let mut twice = xerial.clone();
    twice.extend_from_slice(&xerial);
    out.clear();
    decompress(Compression::Snappy, &twice, BIG, &mut out).unwrap();
    assert_eq!(out.len(), 2 * data.len());
    assert_eq!(out[data.len()..], data[..]);
}

#[test]
fn truncated_data_is_a_typed_error() {
    // 80 KB: more than one block of each codec.
    let data: Vec<u8> = payload(800, 5);
    for codec in CODECS {
        let mut compressed = Vec::new();
        compress(codec, None, &data, &mut compressed).unwrap();
        // Snappy's xerial chunks are self-contained: a cut at a chunk boundary is a valid,
        // shorter stream (as in snappy-java). Every other cut must fail.
        let mut boundaries = vec![];
        if codec == Compression::Snappy {
            let mut at = 16;
            while at < compressed.len() {
                boundaries.push(at);
                at += 4 + u32::from_be_bytes(compressed[at..at + 4].try_into().unwrap()) as usize;
            }
        }
        let step = (compressed.len() / 400).max(1);
        for cut in (0..compressed.len())
            .step_by(step)
            .chain(compressed.len() - 8..compressed.len())
        {
            let mut out = vec![7];
            let result = decompress(codec, &compressed[..cut], BIG, &mut out);
            if boundaries.contains(&cut) {
                assert!(result.is_ok(), "{codec:?} cut at chunk boundary {cut}");
                assert!(data.starts_with(&out[1..]));
                continue;
            }
            match result {
                Err(DecodeError::Decompress { codec: c, .. }) => assert_eq!(c, codec),
                other => panic!("{codec:?} cut at {cut} of {}: {other:?}", compressed.len()),
            }
            assert_eq!(out, vec![7], "output restored after an error");
        }
    }
}

#[test]
fn corrupt_data_never_panics() {
    let data: Vec<u8> = payload(100, 11);
    for codec in CODECS {
        let mut compressed = Vec::new();
        compress(codec, None, &data, &mut compressed).unwrap();
        let mut errors = 0;
        // Every byte of the framing at the start, then a sample.
        let step = (compressed.len() / 600).max(1);
        for i in (0..32).chain((32..compressed.len()).step_by(step)) {
            for bit in [0x01u8, 0x80] {
                let mut bad = compressed.clone();
                bad[i] ^= bit;
                let mut out = Vec::new();
                match decompress(codec, &bad, 1 << 20, &mut out) {
                    Ok(()) => assert!(out.len() <= 1 << 20),
                    Err(DecodeError::Decompress { .. } | DecodeError::DecompressedTooLarge { .. }) => errors += 1,
                    Err(e) => panic!("{codec:?}: unexpected error {e:?}"),
                }
            }
        }
        // gzip and zstd-less-checksum streams still catch most flips; snappy/lz4 have no
        // checksum here (the batch CRC covers them), so only structural damage is caught.
        assert!(errors > 0, "{codec:?} accepted every corruption");
    }
    for codec in CODECS {
        let mut out = Vec::new();
        assert!(matches!(
            decompress(codec, b"", BIG, &mut out),
            Err(DecodeError::Decompress { .. })
        ));
    }
}

/// A small input that inflates beyond the bound fails, whatever the codec, and the
/// buffer never grows to the inflated size.
#[test]
fn output_bound_is_enforced() {
    let bomb = vec![0u8; 4 << 20];
    for codec in CODECS {
        let mut compressed = Vec::new();
        compress(codec, None, &bomb, &mut compressed).unwrap();
        assert!(compressed.len() < 1 << 20, "{codec:?}: {}", compressed.len());

        let mut out = Vec::new();
        let limit = 256 << 10;
        assert_eq!(
            decompress(codec, &compressed, limit, &mut out),
            Err(DecodeError::DecompressedTooLarge { codec, limit })
        );
        assert!(out.is_empty());
        assert!(out.capacity() <= limit + 1, "{codec:?}: capacity {}", out.capacity());

        // Exactly at the bound is fine, one byte less is not.
        out.clear();
        decompress(codec, &compressed, bomb.len(), &mut out).unwrap();
        assert_eq!(out.len(), bomb.len());
        let mut out = Vec::new();
        assert!(matches!(
            decompress(codec, &compressed, bomb.len() - 1, &mut out),
            Err(DecodeError::DecompressedTooLarge { .. })
        ));
    }
    // The bound applies through batch_records too.
    let records = vec![(0, None, Some(vec![0u8; 1 << 20]), vec![])];
    for codec in CODECS {
        let bytes = compressed_batch(&records, codec, None);
        let batch = Batches::new(&bytes).next().unwrap().unwrap();
        let mut scratch = Vec::new();
        assert!(matches!(
            batch_records(&batch, 1000, &mut scratch),
            Err(DecodeError::DecompressedTooLarge { .. })
        ));
    }
}

/// Size fields that claim more than the bound are refused before anything is allocated.
#[test]
fn lying_size_headers_are_not_trusted() {
    let mut out = Vec::new();
    // Raw snappy declaring 4 GiB - 1 (varint ff ff ff ff 0f), then a literal.
    let raw = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, b'x'];
    assert!(matches!(
        decompress(Compression::Snappy, &raw, 1 << 20, &mut out),
        Err(DecodeError::DecompressedTooLarge { .. })
    ));
    // The same inside xerial framing.
    let mut xerial = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x07".to_vec();
    xerial.extend_from_slice(&raw);
    assert!(matches!(
        decompress(Compression::Snappy, &xerial, 1 << 20, &mut out),
        Err(DecodeError::DecompressedTooLarge { .. })
    ));
    // Raw snappy within the bound but shorter than it claims.
    let short = [0x64, 0x00, b'x'];
    assert!(matches!(
        decompress(Compression::Snappy, &short, 1 << 20, &mut out),
        Err(DecodeError::Decompress { .. })
    ));
    // zstd frame header with a content size of 2^40.
    let big = zstd_big_content_size();
    assert!(matches!(
        decompress(Compression::Zstd, &big, 1 << 20, &mut out),
        Err(DecodeError::DecompressedTooLarge { .. })
    ));
    // lz4 frame with a content size flag claiming 2^40 (header checksum made right).
    let lz4 = lz4_frame_with_content_size(1 << 40);
    assert!(matches!(
        decompress(Compression::Lz4, &lz4, 1 << 20, &mut out),
        Err(DecodeError::DecompressedTooLarge { .. })
    ));
    assert!(out.capacity() < 1 << 20);
}

/// A zstd frame header (single segment, 8-byte content size 2^40) and one raw block.
fn zstd_big_content_size() -> Vec<u8> {
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd];
    f.push(0b1110_0000); // FCS 8 bytes, single segment
    f.extend_from_slice(&(1u64 << 40).to_le_bytes());
    f.extend_from_slice(&[0x09, 0x00, 0x00, b'x']); // last raw block of 1 byte
    f
}

fn lz4_frame_with_content_size(size: u64) -> Vec<u8> {
    let mut descriptor = vec![0x68, 0x40];
    descriptor.extend_from_slice(&size.to_le_bytes());
    let hc = (twox_hash::XxHash32::oneshot(0, &descriptor) >> 8) as u8;
    let mut f = vec![0x04, 0x22, 0x4d, 0x18];
    f.extend_from_slice(&descriptor);
    f.push(hc);
    f.extend_from_slice(&(1u32 | 0x8000_0000).to_le_bytes());
    f.push(b'x');
    f.extend_from_slice(&[0; 4]);
    f
}

/// LZ4 frames as other writers make them: linked blocks, checksums, content size,
/// skippable frames (lz4_flex's frame encoder stands in for them).
#[test]
fn lz4_frame_variants_decode() {
    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
    use std::io::Write;
    let data: Vec<u8> = payload(3000, 13);
    for (mode, size) in [
        (BlockMode::Linked, BlockSize::Max64KB),
        (BlockMode::Independent, BlockSize::Max256KB),
        (BlockMode::Linked, BlockSize::Max1MB),
    ] {
        let info = FrameInfo::new()
            .block_mode(mode)
            .block_size(size)
            .block_checksums(true)
            .content_checksum(true)
            .content_size(Some(data.len() as u64));
        let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
        enc.write_all(&data).unwrap();
        let mut frame = enc.finish().unwrap();
        // A skippable frame and a second copy after it.
        let copy = frame.clone();
        frame.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        frame.extend_from_slice(&copy);
        let mut out = Vec::new();
        decompress(Compression::Lz4, &frame, BIG, &mut out).unwrap();
        assert_eq!(out.len(), 2 * data.len());
        assert_eq!(out[..data.len()], data[..]);
        assert_eq!(out[data.len()..], data[..]);
        // A flipped content byte is caught by the block checksum.
        let mut bad = copy.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 1;
        assert!(decompress(Compression::Lz4, &bad, BIG, &mut Vec::new()).is_err());
    }
}

#[test]
fn gzip_reads_concatenated_members_like_java() {
    let mut two = Vec::new();
    compress(Compression::Gzip, None, b"first ", &mut two).unwrap();
    compress(Compression::Gzip, Some(1), b"second", &mut two).unwrap();
    let mut out = Vec::new();
    decompress(Compression::Gzip, &two, 100, &mut out).unwrap();
    assert_eq!(out, b"first second");
}

#[test]
fn zstd_reads_streamed_frames_without_content_size() {
    // Java's zstd-jni streams: no content size in the frame header.
    let data: Vec<u8> = payload(2000, 17);
    let streamed = zstd::stream::encode_all(&data[..], 3).unwrap();
    assert_eq!(streamed[4] & 0xc0, 0, "expected no content size");
    let mut out = Vec::new();
    decompress(Compression::Zstd, &streamed, BIG, &mut out).unwrap();
    assert_eq!(out, data);
    let limit = data.len() - 1;
    assert_eq!(
        decompress(Compression::Zstd, &streamed, limit, &mut Vec::new()),
        Err(DecodeError::DecompressedTooLarge {
            codec: Compression::Zstd,
            limit
        })
    );
}

fn arb_record() -> impl Strategy<Value = TestRecord> {
    let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300));
    (
        any::<i64>(),
        bytes(),
        bytes(),
        proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..10), bytes()), 0..3),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_batches_round_trip(records in proptest::collection::vec(arb_record(), 1..40), codec_ix in 0usize..4) {
        let codec = CODECS[codec_ix];
        let bytes = compressed_batch(&records, codec, None);
        let batch = Batches::new(&bytes).next().unwrap().unwrap();
        batch.verify_crc().unwrap();
        let mut scratch = Vec::new();
        let section = batch_records(&batch, BIG, &mut scratch).unwrap();
        prop_assert_eq!(section, &sealed(&records)[HEADER_LEN..]);
        assert_records(section, batch.header.record_count, batch.header.base_timestamp, &records, "random");
    }

    #[test]
    fn random_bytes_round_trip(data in proptest::collection::vec(any::<u8>(), 0..40_000), repeat in 1usize..4) {
        // Repetition makes some inputs compressible, some blocks stay incompressible.
        let data: Vec<u8> = data.iter().copied().cycle().take(data.len() * repeat).collect();
        for codec in CODECS {
            let mut compressed = Vec::new();
            compress(codec, None, &data, &mut compressed).unwrap();
            let mut out = vec![1, 2, 3];
            decompress(codec, &compressed, data.len(), &mut out).unwrap();
            prop_assert_eq!(&out[..3], &[1, 2, 3]);
            prop_assert_eq!(&out[3..], &data[..]);
        }
    }

    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000), prefix in 0usize..5) {
        // Garbage, and garbage behind each codec's real magic so the decoders get further.
        let magics: [&[u8]; 5] = [
            b"",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
            b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01",
            b"\x04\x22\x4d\x18\x60\x40\x82",
            b"\x28\xb5\x2f\xfd",
        ];
        let mut input = magics[prefix].to_vec();
        input.extend_from_slice(&data);
        for codec in CODECS {
            let mut out = Vec::new();
            if decompress(codec, &input, 1 << 16, &mut out).is_ok() {
                prop_assert!(out.len() <= 1 << 16);
            }
        }
    }
}
