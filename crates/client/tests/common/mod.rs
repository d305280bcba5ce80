//! Shared set-up for integration tests: a real broker. `KAFKA_BROKERS` names one (npm test
//! starts one and sets it); without it the tests start the project's local broker with
//! scripts/kafka.mjs (and leave it running for the next run; stop it with
//! `npm run kafka -- stop`).

use std::process::Command;
use std::sync::OnceLock;

use nkafka_client::admin::{Admin, CreateTopicsOptions, NewTopic};
use nkafka_client::config::{parse_bootstrap, ClientConfig};

pub fn brokers() -> String {
    static BROKERS: OnceLock<String> = OnceLock::new();
    BROKERS
        .get_or_init(|| {
            if let Ok(b) = std::env::var("KAFKA_BROKERS") {
                if !b.trim().is_empty() {
                    return b;
                }
            }
            let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
            let out = Command::new("node")
                .args(["scripts/kafka.mjs", "start", "single"])
                .current_dir(root)
                .output()
                .expect("KAFKA_BROKERS is not set and `node scripts/kafka.mjs start` could not run");
            assert!(
                out.status.success(),
                "starting the local broker failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string();
            eprintln!("using local broker at {last} (started by scripts/kafka.mjs)");
            last
        })
        .clone()
}

pub fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new(parse_bootstrap(&[brokers()]).unwrap());
    c.client_id = "nkafka-rust-tests".into();
    c
}

pub fn unique_topic(prefix: &str) -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{n}", std::process::id())
}

/// Creates a topic (replication factor 1); it has a leader for every partition on return.
#[allow(dead_code)] // not every test file creates topics
pub async fn create_topic(topic: &str, partitions: i32) {
    create_topic_on(client_config(), topic, partitions).await
}

/// `create_topic` on the cluster `cfg` reaches (another listener, another broker).
#[allow(dead_code)] // not every test file creates topics
pub async fn create_topic_on(cfg: nkafka_client::config::ClientConfig, topic: &str, partitions: i32) {
    let admin = Admin::new(cfg).unwrap();
    let r = admin
        .create_topics(
            &[NewTopic {
                topic: topic.into(),
                num_partitions: Some(partitions),
                replication_factor: Some(1),
                ..NewTopic::default()
            }],
            &CreateTopicsOptions::default(),
        )
        .await
        .unwrap();
    // create_topics waits for every partition's leader.
    assert!(r[0].error.is_none(), "{:?}", r[0].error);
}

/// The `secure` broker's description (`scripts/kafka.mjs start secure --json`): the file
/// `KAFKA_SECURE_JSON` names (npm test sets it), else the broker is started here.
#[allow(dead_code)] // only the tests that need SSL/SASL use it
pub fn secure() -> &'static serde_json::Value {
    static STATE: OnceLock<serde_json::Value> = OnceLock::new();
    STATE.get_or_init(|| {
        let text = match std::env::var("KAFKA_SECURE_JSON") {
            Ok(f) if !f.is_empty() => std::fs::read_to_string(f).expect("KAFKA_SECURE_JSON is readable"),
            _ => {
                let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
                let out = Command::new("node")
                    .args(["scripts/kafka.mjs", "start", "secure", "--json"])
                    .current_dir(root)
                    .output()
                    .expect("node scripts/kafka.mjs start secure could not run");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                String::from_utf8(out.stdout).unwrap()
            }
        };
        serde_json::from_str(&text).expect("start secure --json prints JSON")
    })
}

/// A producer whose delivery reports arrive on a channel (the report callback only wakes
/// the test; it takes the reports itself, as the binding does).
#[allow(dead_code)] // not every test file produces
pub fn producer_with_reports(
    cfg: nkafka_client::config::ProducerConfig,
) -> (
    std::sync::Arc<nkafka_client::producer::Producer>,
    std::sync::mpsc::Receiver<nkafka_client::producer::BatchReport>,
) {
    use nkafka_client::producer::Producer;
    use std::sync::{Arc, Mutex, Weak};
    let (tx, rx) = std::sync::mpsc::channel();
    let slot: Arc<Mutex<Option<Weak<Producer>>>> = Arc::default();
    let s2 = slot.clone();
    let p = Arc::new(
        Producer::new(
            cfg,
            Box::new(move || {
                if let Some(p) = s2.lock().unwrap().as_ref().and_then(|w| w.upgrade()) {
                    for r in p.take_reports() {
                        let _ = tx.send(r);
                    }
                }
            }),
        )
        .unwrap(),
    );
    *slot.lock().unwrap() = Some(Arc::downgrade(&p));
    (p, rx)
}
