//! Our RecordBatch v2 writer and reader against bytes written by the Java client
//! (`tests/vectors/record_batches.json`, made by scripts/vectors). The writer must produce
//! the Java bytes exactly; the reader must read back Java's records and header fields.

use nkafka_protocol::record_batch::{write_header, BatchBuilder, Batches, Compression, Header, ProducerFields};
use serde_json::Value;

mod common;
use common::{cases, hex, opt_hex};

struct InputRecord {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn records_of(batch: &Value) -> Vec<InputRecord> {
    batch["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| InputRecord {
            timestamp: r["timestamp"].as_i64().unwrap(),
            key: opt_hex(&r["key_hex"]),
            value: opt_hex(&r["value_hex"]),
            headers: r["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().as_bytes().to_vec(), opt_hex(&h[1])))
                .collect(),
        })
        .collect()
}

#[test]
fn writer_matches_java_bytes() {
    let mut checked = 0;
    for case in cases() {
        for batch in case["batches"].as_array().unwrap() {
            let producer_side = batch["compression"] == "none"
                && batch["timestamp_type"] == "CreateTime"
                && batch["is_control"] == false;
            if !producer_side {
                continue;
            }
            let mut b = BatchBuilder::with_capacity(128);
            for r in records_of(batch) {
                let headers: Vec<Header<'_>> = r
                    .headers
                    .iter()
                    .map(|(k, v)| Header {
                        key: k,
                        value: v.as_deref(),
                    })
                    .collect();
                b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers);
            }
            let mut sealed = b.finish();
            write_header(
                &mut sealed.bytes,
                Compression::None,
                ProducerFields {
                    producer_id: batch["producer_id"].as_i64().unwrap(),
                    producer_epoch: batch["producer_epoch"].as_i64().unwrap() as i16,
                    base_sequence: batch["base_sequence"].as_i64().unwrap() as i32,
                    transactional: batch["is_transactional"].as_bool().unwrap(),
                },
            );
            // baseOffset and partitionLeaderEpoch are set by the broker and lie outside the
            // CRC: patch them to the case's values before comparing.
            let bytes = &mut sealed.bytes;
            bytes[0..8].copy_from_slice(&batch["base_offset"].as_i64().unwrap().to_be_bytes());
            bytes[12..16].copy_from_slice(&(batch["partition_leader_epoch"].as_i64().unwrap() as i32).to_be_bytes());
            assert_eq!(
                hex_string(bytes),
                batch["hex"].as_str().unwrap(),
                "case {} differs from the Java client's bytes",
                case["name"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} writer cases checked");
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn reader_reads_java_batches() {
    for case in cases() {
        let all = hex(case["hex"].as_str().unwrap());
        let inputs = case["batches"].as_array().unwrap();
        let mut batches = Batches::new(&all);
        for want in inputs {
            let batch = batches.next().expect("batch missing").expect("batch did not parse");
            batch.verify_crc().unwrap();
            let exp = &want["expected"];
            let h = &batch.header;
            let name = &case["name"];
            assert_eq!(h.base_offset, want["base_offset"].as_i64().unwrap(), "{name}");
            assert_eq!(h.batch_length as i64, exp["batch_length"].as_i64().unwrap(), "{name}");
            assert_eq!(h.attributes as i64, exp["attributes"].as_i64().unwrap(), "{name}");
            assert_eq!(h.crc as i64, exp["crc"].as_i64().unwrap(), "{name}");
            assert_eq!(
                h.last_offset_delta as i64,
                exp["last_offset_delta"].as_i64().unwrap(),
                "{name}"
            );
            assert_eq!(h.base_timestamp, exp["base_timestamp"].as_i64().unwrap(), "{name}");
            assert_eq!(h.max_timestamp, exp["max_timestamp"].as_i64().unwrap(), "{name}");
            assert_eq!(h.record_count as i64, exp["record_count"].as_i64().unwrap(), "{name}");
            assert_eq!(h.producer_id, want["producer_id"].as_i64().unwrap(), "{name}");
            assert_eq!(
                h.base_sequence as i64,
                want["base_sequence"].as_i64().unwrap(),
                "{name}"
            );
            assert_eq!(h.is_control(), want["is_control"].as_bool().unwrap(), "{name}");
            assert_eq!(
                h.is_transactional(),
                want["is_transactional"].as_bool().unwrap(),
                "{name}"
            );
            assert_eq!(h.last_offset(), exp["last_offset"].as_i64().unwrap(), "{name}");
            assert_eq!(
                h.compression().unwrap() == Compression::None,
                want["compression"] == "none",
                "{name}"
            );
            if h.compression().unwrap() != Compression::None || h.is_control() {
                continue;
            }
            let offsets = exp["record_offsets"].as_array().unwrap();
            let timestamps = exp["record_timestamps"].as_array().unwrap();
            let records = records_of(want);
            let mut n = 0;
            for (i, rec) in batch.records().unwrap().enumerate() {
                let rec = rec.unwrap();
                let input = &records[i];
                assert_eq!(
                    h.base_offset + rec.offset_delta as i64,
                    offsets[i].as_i64().unwrap(),
                    "{name}"
                );
                let ts = if h.is_log_append_time() {
                    h.max_timestamp
                } else {
                    h.base_timestamp + rec.timestamp_delta
                };
                assert_eq!(ts, timestamps[i].as_i64().unwrap(), "{name} record {i}");
                assert_eq!(rec.key, input.key.as_deref(), "{name} record {i}");
                assert_eq!(rec.value, input.value.as_deref(), "{name} record {i}");
                let hs: Vec<(Vec<u8>, Option<Vec<u8>>)> = rec
                    .headers
                    .iter()
                    .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
                    .collect();
                assert_eq!(hs, input.headers, "{name} record {i}");
                n += 1;
            }
            assert_eq!(n, records.len(), "{name}");
        }
        assert!(batches.next().is_none(), "extra batches in {}", case["name"]);
    }
}
