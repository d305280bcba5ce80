//! The Java-written vectors (`tests/vectors/record_batches.json`, made by scripts/vectors)
//! as the test files read them.

use serde_json::Value;

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn opt_hex(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(hex)
}

/// Every case of record_batches.json.
pub fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/record_batches.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}
