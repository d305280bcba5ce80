//! The client's ceiling without the broker: RecordBatch v2 encoding (ns per record, the
//! work `produce()` does after the napi call) and each codec's speed on a 256 KiB batch of
//! 100-byte records. A measurement, not a test:
//!
//! `cargo run --release -p nkafka-protocol --example speed [-- --json <file>]`

use std::time::Instant;

use nkafka_protocol::compression::{compress, decompress};
use nkafka_protocol::record_batch::{write_header, BatchBuilder, Compression, ProducerFields, HEADER_LEN};

fn main() {
    let json = std::env::args().skip_while(|a| a != "--json").nth(1);
    let value = [b'x'; 100];
    // Encode: records into 256 KiB batches, sealed with header and CRC.
    let records = 5_000_000usize;
    let per_batch = 256 * 1024 / 110;
    let t = Instant::now();
    let mut sealed_bytes = 0usize;
    let mut left = records;
    let mut ts = 1_700_000_000_000i64;
    while left > 0 {
        let n = left.min(per_batch);
        let mut b = BatchBuilder::with_capacity(256 * 1024);
        for _ in 0..n {
            b.append(ts, None::<&[u8]>, Some(&value[..]), &[]);
            ts += 1;
        }
        let mut s = b.finish();
        write_header(&mut s.bytes, Compression::None, ProducerFields::NONE);
        sealed_bytes += s.bytes.len();
        left -= n;
    }
    let encode_ns = t.elapsed().as_nanos() as f64 / records as f64;
    println!(
        "encode: {records} x 100-byte records into sealed batches: {encode_ns:.1} ns/record ({:.0} MB/s)",
        sealed_bytes as f64 / t.elapsed().as_secs_f64() / 1e6
    );

    // Codecs on one batch's records section.
    let mut b = BatchBuilder::with_capacity(256 * 1024);
    for i in 0..per_batch {
        let v = format!("{i:08}-{}", "payload ".repeat(11));
        b.append(ts, None::<&[u8]>, Some(v.as_bytes()), &[]);
    }
    let sealed = b.finish().bytes;
    let section = &sealed[HEADER_LEN..];
    let mut rows = Vec::new();
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut packed = Vec::new();
        let rounds = 50;
        let t = Instant::now();
        for _ in 0..rounds {
            packed.clear();
            compress(codec, None, section, &mut packed).expect("compress");
        }
        let c = t.elapsed().as_secs_f64() / rounds as f64;
        let mut out = Vec::new();
        let t = Instant::now();
        for _ in 0..rounds {
            out.clear();
            decompress(codec, &packed, 1 << 22, &mut out).expect("decompress");
        }
        let d = t.elapsed().as_secs_f64() / rounds as f64;
        let mb = section.len() as f64 / 1e6;
        println!(
            "{:7} ratio {:4.2}  compress {:6.0} MB/s  decompress {:6.0} MB/s",
            format!("{codec:?}"),
            section.len() as f64 / packed.len() as f64,
            mb / c,
            mb / d
        );
        rows.push(format!(
            "{{\"codec\":\"{codec:?}\",\"ratio\":{:.3},\"compressMBps\":{:.1},\"decompressMBps\":{:.1}}}",
            section.len() as f64 / packed.len() as f64,
            mb / c,
            mb / d
        ));
    }
    if let Some(path) = json {
        let date = std::process::Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%dT%H:%M:%SZ")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let body = format!(
            "{{\"what\":\"RecordBatch v2 encode into sealed batches (CRC-32C), no broker, no napi\",\"nsPerRecord\":{encode_ns:.2},\"recordsPerSec\":{:.0},\"recordSize\":100,\"key\":\"null key\",\"date\":\"{date}\",\"codecs\":[{}]}}\n",
            1e9 / encode_ns,
            rows.join(",")
        );
        std::fs::write(&path, body).expect("write json");
        println!("wrote {path}");
    }
}
