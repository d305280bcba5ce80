//! Checks `nkafka_protocol::murmur2` against the Java client's own values
//! (`vectors/murmur2.json`, written by scripts/vectors/GenerateVectors.java), so keyed
//! records land on the partitions a Java producer would pick.

use nkafka_protocol::murmur2::{murmur2, partition_for_key, to_positive};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    kafka_clients_version: String,
    partition_counts: Vec<u32>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    label: String,
    key_text: Option<String>,
    key_hex: String,
    murmur2: i32,
    to_positive: i32,
    /// `[n, partition]` pairs.
    partitions: Vec<(u32, u32)>,
}

fn load() -> Vectors {
    let text = include_str!("vectors/murmur2.json");
    serde_json::from_str(text).expect("murmur2.json parses")
}

fn from_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd-length hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("valid hex"))
        .collect()
}

#[test]
fn murmur2_matches_java() {
    let v = load();
    assert!(v.kafka_clients_version.starts_with("4."));
    assert!(v.cases.len() >= 190, "expected ~200 keys, got {}", v.cases.len());
    for case in &v.cases {
        let key = from_hex(&case.key_hex);
        if let Some(text) = &case.key_text {
            assert_eq!(text.as_bytes(), key.as_slice(), "key_text of {}", case.key_hex);
        }
        let h = murmur2(&key);
        assert_eq!(h, case.murmur2, "murmur2 of {} key {}", case.label, case.key_hex);
        assert_eq!(to_positive(h), case.to_positive, "toPositive of {}", case.key_hex);
    }
}

#[test]
fn partition_for_key_matches_java() {
    let v = load();
    let mut checked = 0;
    for case in &v.cases {
        let key = from_hex(&case.key_hex);
        let counts: Vec<u32> = case.partitions.iter().map(|&(n, _)| n).collect();
        assert_eq!(counts, v.partition_counts, "partition counts of {}", case.key_hex);
        for &(n, expected) in &case.partitions {
            assert_eq!(
                partition_for_key(&key, n),
                expected,
                "partition of key {} with {n} partitions",
                case.key_hex
            );
            checked += 1;
        }
    }
    assert_eq!(checked, v.cases.len() * v.partition_counts.len());
}

#[test]
fn vectors_cover_every_tail_length_and_sign() {
    let v = load();
    let mut tails = [false; 4];
    let (mut negative, mut positive) = (false, false);
    for case in &v.cases {
        tails[(case.key_hex.len() / 2) % 4] = true;
        negative |= case.murmur2 < 0;
        positive |= case.murmur2 >= 0;
    }
    assert_eq!(tails, [true; 4]);
    assert!(negative && positive);
}
