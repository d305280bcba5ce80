//! Checks the error-code table in `nkafka_protocol::error` against every entry of the Java
//! client's `Errors.java` (`vectors/errors.json`, written by
//! scripts/vectors/GenerateVectors.java): same codes, names, retriable and
//! invalid-metadata flags, and descriptions, and nothing missing either way.

use std::collections::{BTreeMap, HashSet};

use nkafka_protocol::error::{all, ErrorCode};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    kafka_clients_version: String,
    errors: Vec<JavaError>,
}

#[derive(Deserialize)]
struct JavaError {
    code: i16,
    name: String,
    retriable: bool,
    invalid_metadata: bool,
    exception: Option<String>,
    description: Option<String>,
}

fn load() -> Vectors {
    serde_json::from_str(include_str!("vectors/errors.json")).expect("errors.json parses")
}

#[test]
fn table_matches_java_errors() {
    let v = load();
    assert!(v.kafka_clients_version.starts_with("4."));
    for java in &v.errors {
        let code = ErrorCode(java.code);
        let info = code
            .info()
            .unwrap_or_else(|| panic!("code {} ({}) missing from the table", java.code, java.name));
        assert_eq!(info.name, java.name, "name of code {}", java.code);
        assert_eq!(code.name(), java.name);
        assert_eq!(
            code.is_retriable(),
            java.retriable,
            "retriable flag of {} (Java {:?})",
            java.name,
            java.exception
        );
        assert_eq!(
            code.is_invalid_metadata(),
            java.invalid_metadata,
            "invalid_metadata flag of {}",
            java.name
        );
        assert_eq!(
            code.description(),
            java.description.as_deref().unwrap_or(""),
            "description of {}",
            java.name
        );
        assert_eq!(code.is_ok(), java.exception.is_none(), "is_ok of {}", java.name);
    }
}

#[test]
fn table_has_nothing_java_lacks() {
    let v = load();
    let java: BTreeMap<i16, &str> = v.errors.iter().map(|e| (e.code, e.name.as_str())).collect();
    assert_eq!(java.len(), v.errors.len(), "Java codes are unique");
    let ours: BTreeMap<i16, &str> = all().iter().map(|i| (i.code.0, i.name)).collect();
    assert_eq!(ours, java);
}

#[test]
fn codes_and_names_unique() {
    let codes: HashSet<ErrorCode> = all().iter().map(|i| i.code).collect();
    let names: HashSet<&str> = all().iter().map(|i| i.name).collect();
    assert_eq!(codes.len(), all().len());
    assert_eq!(names.len(), all().len());
}

#[test]
fn constants_match_table() {
    assert_eq!(ErrorCode::UNKNOWN_SERVER_ERROR, ErrorCode(-1));
    assert_eq!(ErrorCode::NONE, ErrorCode(0));
    assert_eq!(ErrorCode::NOT_LEADER_OR_FOLLOWER, ErrorCode(6));
    assert_eq!(ErrorCode::NOT_ENOUGH_REPLICAS, ErrorCode(19));
    assert_eq!(ErrorCode::UNKNOWN_PRODUCER_ID, ErrorCode(59));
    assert_eq!(ErrorCode::TRANSACTION_ABORTABLE, ErrorCode(120));
    assert_eq!(ErrorCode::SHARE_SESSION_LIMIT_REACHED, ErrorCode(133));
}
