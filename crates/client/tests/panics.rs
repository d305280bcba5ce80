//! Contained panics (docs/DESIGN.md "Panics"), against the real `single` broker: for every
//! background task, a fail point (`--features fail-points`) forces a panic in it, and the
//! test checks that everything waiting on the task ends within a bound with an INTERNAL
//! error naming the task (the client closed with it), or that the task was restarted and
//! delivery goes on. The process surviving each test is itself part of the check.
//!
//! Fail points are process-wide, so the tests run one at a time (`SERIAL`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use nkafka_client::config::{OffsetReset, ProducerConfig};
use nkafka_client::consumer::{Consumer, ConsumerEvent};
use nkafka_client::fail_points;
use nkafka_client::producer::{BatchReport, Producer, Record};
use nkafka_client::{Error, Kind};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every wait in these tests ends within this.
const BOUND: Duration = Duration::from_secs(20);

fn assert_internal(e: &Error, task: &str) {
    assert_eq!(e.kind, Kind::Internal, "{e:?}");
    assert_eq!(e.code(), "INTERNAL");
    assert!(
        e.message.contains(&format!("the `{task}` task panicked")),
        "the error names the task `{task}`: {}",
        e.message
    );
}

/// A producer whose reports are taken as soon as they are ready.
fn producer(cfg: ProducerConfig) -> (Arc<Producer>, std::sync::mpsc::Receiver<BatchReport>) {
    common::producer_with_reports(cfg)
}

fn record(i: usize) -> (String, String) {
    (format!("k{}", i % 7), format!("v{i}"))
}

/// Produces `n` records; returns how many `produce` itself refused (with the task's
/// INTERNAL error, when `task` is given).
fn produce_n(p: &Producer, topic_id: u32, n: usize, task: Option<&str>) -> usize {
    let mut refused = 0;
    for i in 0..n {
        let (k, v) = record(i);
        let r = p.produce(
            topic_id,
            &Record {
                key: Some(k.as_bytes()),
                value: Some(v.as_bytes()),
                headers: &[],
                timestamp: -1,
                partition: None,
                token: 0.0,
            },
        );
        if let Err(e) = r {
            assert_internal(&e, task.expect("produce fails only after a panic"));
            refused += 1;
        }
    }
    refused
}

/// Waits for reports covering `n` records; returns them.
fn reports(rx: &std::sync::mpsc::Receiver<BatchReport>, n: usize) -> Vec<BatchReport> {
    let deadline = Instant::now() + BOUND;
    let mut out = Vec::new();
    let mut got = 0;
    while got < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("only {got} of {n} records were reported within {BOUND:?}"));
        got += r.count.max(0) as usize;
        out.push(r);
    }
    out
}

/// Arms `task`, runs a producer through it, and checks the producer is closed with the
/// task's INTERNAL error: every record reported with it (or refused by produce), flush,
/// produce and close failing with it, all within the bound.
async fn producer_poisoned_by(task: &str, cfg: ProducerConfig, transactional: bool) {
    let _serial = SERIAL.lock().await;
    let topic = common::unique_topic(&format!("panic-{task}"));
    common::create_topic(&topic, 3).await;
    fail_points::arm(task);
    let (p, rx) = producer(cfg);
    if transactional {
        p.init_transactions(BOUND).await.unwrap();
        p.begin_transaction().unwrap();
    }
    let id = p.topic_id(&topic).unwrap();
    let n = 200;
    let refused = produce_n(&p, id, n, Some(task));
    let flushed = tokio::time::timeout(BOUND, p.flush(BOUND)).await.expect("flush ends");
    assert_internal(&flushed.unwrap_err(), task);
    assert!(!fail_points::is_armed(task), "the fail point was hit");
    let got = reports(&rx, n - refused);
    assert!(got.iter().any(|r| r.error.is_some()) || refused == n);
    for r in &got {
        // Records delivered before the panic keep their success; everything after fails
        // with the task's error.
        if let Some(e) = &r.error {
            assert_internal(e, task);
        }
    }
    assert_eq!(produce_n(&p, id, 1, Some(task)), 1, "produce fails after the panic");
    if transactional {
        let e = tokio::time::timeout(BOUND, p.commit_transaction(BOUND))
            .await
            .expect("commit ends")
            .unwrap_err();
        assert_internal(&e, task);
    }
    let closed = tokio::time::timeout(BOUND, p.close(BOUND)).await.expect("close ends");
    assert_internal(&closed.unwrap_err(), task);
    fail_points::disarm_all();
}

fn producer_config() -> ProducerConfig {
    let mut cfg = ProducerConfig::new(common::client_config());
    cfg.linger = Duration::from_millis(5);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_panic_closes_the_producer() {
    producer_poisoned_by("sender", producer_config(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_panic_closes_the_producer() {
    producer_poisoned_by("sink", producer_config(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_response_panic_closes_the_producer() {
    producer_poisoned_by("produce-response", producer_config(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_refresh_panic_closes_the_producer() {
    producer_poisoned_by("metadata-refresh", producer_config(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_producer_id_panic_closes_the_producer() {
    producer_poisoned_by("init-producer-id", producer_config(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_partitions_panic_closes_the_producer() {
    let mut cfg = producer_config();
    cfg.transactional_id = Some(common::unique_topic("panic-txn"));
    producer_poisoned_by("add-partitions", cfg, true).await;
}

/// A connection task panicking fails that connection's waiters with its INTERNAL error;
/// the next request reconnects, and the producer goes on delivering.
async fn connection_restarted_after(task: &str) {
    let _serial = SERIAL.lock().await;
    let topic = common::unique_topic(&format!("panic-{task}"));
    common::create_topic(&topic, 1).await;
    // Not idempotent and metadata first, so the next connection written to (and so the
    // panic) is the produce connection.
    let mut cfg = producer_config();
    cfg.enable_idempotence = Some(false);
    cfg.acks = nkafka_client::config::Acks::Leader;
    let (p, rx) = producer(cfg);
    let id = p.topic_id(&topic).unwrap();
    tokio::time::timeout(BOUND, p.wait_for_partitions(id))
        .await
        .unwrap()
        .unwrap();
    fail_points::arm(task);
    let deadline = Instant::now() + BOUND;
    let mut failed = 0;
    let mut delivered = 0;
    // Keep producing until a record is delivered after the panic (bounded).
    while delivered == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing delivered within {BOUND:?} after a {task} panic"
        );
        assert_eq!(produce_n(&p, id, 10, None), 0);
        for r in reports(&rx, 10) {
            match &r.error {
                Some(e) => {
                    assert_internal(e, task);
                    failed += r.count;
                }
                None if fail_points::is_armed(task) => {}
                None => delivered += r.count,
            }
        }
    }
    assert!(!fail_points::is_armed(task), "the fail point was hit");
    assert!(
        failed > 0,
        "the request on the panicked connection failed with its error"
    );
    assert!(!p.is_closed());
    p.flush(BOUND).await.unwrap();
    p.close(BOUND).await.unwrap();
    fail_points::disarm_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_writer_panic_fails_its_requests_and_reconnects() {
    connection_restarted_after("connection-writer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reader_panic_fails_its_requests_and_reconnects() {
    connection_restarted_after("connection-reader").await;
}

/// The secure broker's REAUTH listener ends SASL sessions after 3 s, so each connection's
/// re-authentication task runs every ~2.7 s. Its panic poisons its connection (in-flight
/// requests fail with its error); the next request reconnects and authenticates afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthenticate_panic_fails_its_connection_and_reconnects() {
    use nkafka_client::config::parse_bootstrap;
    use nkafka_client::security::Sasl;

    let _serial = SERIAL.lock().await;
    let secure = common::secure();
    let mut client = common::client_config();
    client.bootstrap_servers = parse_bootstrap(&[secure["listeners"]["REAUTH"].as_str().unwrap().to_string()]).unwrap();
    let ca = secure["caPem"].as_str().unwrap().as_bytes().to_vec();
    client.tls = Some(
        nkafka_client::security::tls::Tls::new(&nkafka_client::security::tls::TlsOptions {
            ca: Some(ca),
            reject_unauthorized: true,
            ..Default::default()
        })
        .unwrap(),
    );
    let user = secure["credentials"]["username"].as_str().unwrap();
    let password = secure["credentials"]["password"].as_str().unwrap();
    client.sasl = Some(Arc::new(Sasl::with_password("scram-sha-512", user, password).unwrap()));
    let topic = common::unique_topic("panic-reauthenticate");
    common::create_topic_on(client.clone(), &topic, 1).await;
    let mut cfg = ProducerConfig::new(client);
    cfg.linger = Duration::from_millis(5);
    let (p, rx) = producer(cfg);
    let id = p.topic_id(&topic).unwrap();
    tokio::time::timeout(BOUND, p.wait_for_partitions(id))
        .await
        .unwrap()
        .unwrap();
    fail_points::arm("reauthenticate");
    let deadline = Instant::now() + BOUND;
    let mut delivered_after = 0;
    // A trickle of records across the re-authentication, until some are delivered after it.
    while delivered_after == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing delivered within {BOUND:?} after a reauthenticate panic"
        );
        let hit_before = !fail_points::is_armed("reauthenticate");
        assert_eq!(produce_n(&p, id, 5, None), 0);
        for r in reports(&rx, 5) {
            match &r.error {
                Some(e) => assert_internal(e, "reauthenticate"),
                None if hit_before => delivered_after += r.count,
                None => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!p.is_closed());
    p.flush(BOUND).await.unwrap();
    p.close(BOUND).await.unwrap();
    fail_points::disarm_all();
}

async fn fill(topic: &str, partitions: i32, n: usize) {
    common::create_topic(topic, partitions).await;
    let (p, rx) = producer(producer_config());
    let id = p.topic_id(topic).unwrap();
    assert_eq!(produce_n(&p, id, n, None), 0);
    for r in reports(&rx, n) {
        assert!(r.error.is_none(), "{:?}", r.error);
    }
    p.close(BOUND).await.unwrap();
}

/// Polls until the consumer hands over an error event; checks it is `task`'s INTERNAL
/// error and that the consumer is closed with it: every later poll returns it again (an
/// iterator resumed after the error throws again instead of waiting), waits end at once,
/// other calls fail with it.
async fn expect_consumer_poisoned(c: &Consumer, task: &str) {
    let deadline = Instant::now() + BOUND;
    let err = loop {
        assert!(
            Instant::now() < deadline,
            "no error event within {BOUND:?} after a {task} panic"
        );
        c.wait_for_data(Duration::from_millis(500)).await;
        let polled = c.poll(500);
        if let Some(e) = polled.events.into_iter().find_map(|ev| match ev {
            ConsumerEvent::Error(e) => Some(e),
            _ => None,
        }) {
            break e;
        }
    };
    assert_internal(&err, task);
    assert!(!fail_points::is_armed(task), "the fail point was hit");
    assert!(c.is_closed());
    for _ in 0..3 {
        let t = Instant::now();
        assert!(c.wait_for_data(BOUND).await, "the error is there to poll");
        assert!(t.elapsed() < Duration::from_secs(1));
        let again = c.poll(500).events.into_iter().find_map(|ev| match ev {
            ConsumerEvent::Error(e) => Some(e),
            _ => None,
        });
        assert_internal(&again.expect("every poll returns the error"), task);
    }
    assert_internal(&c.subscribe(vec!["x".into()]).unwrap_err(), task);
    tokio::time::timeout(BOUND, c.close()).await.expect("close ends").ok();
}

fn consumer_config(group: bool) -> nkafka_client::config::ConsumerConfig {
    let mut cfg = nkafka_client::config::ConsumerConfig::new(common::client_config());
    cfg.auto_offset_reset = OffsetReset::Earliest;
    if group {
        cfg.group_id = Some(common::unique_topic("panic-group"));
        cfg.heartbeat_interval = Duration::from_millis(300);
        cfg.session_timeout = Duration::from_secs(10);
    }
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetcher_panic_closes_the_consumer() {
    let _serial = SERIAL.lock().await;
    let topic = common::unique_topic("panic-fetcher");
    fill(&topic, 2, 100).await;
    fail_points::arm("fetcher");
    let c = Consumer::new(consumer_config(false)).unwrap();
    c.assign(vec![(topic.clone(), 0, None), (topic, 1, None)]).unwrap();
    expect_consumer_poisoned(&c, "fetcher").await;
    fail_points::disarm_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_panic_closes_the_consumer() {
    let _serial = SERIAL.lock().await;
    let topic = common::unique_topic("panic-control");
    fill(&topic, 1, 10).await;
    fail_points::arm("consumer-control");
    let c = Consumer::new(consumer_config(false)).unwrap();
    c.assign(vec![(topic, 0, None)]).unwrap();
    expect_consumer_poisoned(&c, "consumer-control").await;
    fail_points::disarm_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_events_panic_closes_the_consumer() {
    let _serial = SERIAL.lock().await;
    let topic = common::unique_topic("panic-group-events");
    fill(&topic, 2, 10).await;
    fail_points::arm("group-events");
    let c = Consumer::new(consumer_config(true)).unwrap();
    c.subscribe(vec![topic]).unwrap();
    expect_consumer_poisoned(&c, "group-events").await;
    fail_points::disarm_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_task_panic_closes_the_consumer() {
    let _serial = SERIAL.lock().await;
    let topic = common::unique_topic("panic-group");
    fill(&topic, 2, 10).await;
    let c = Consumer::new(consumer_config(true)).unwrap();
    c.subscribe(vec![topic]).unwrap();
    // Joined and consuming first, so the panic hits a member that owns partitions.
    let deadline = Instant::now() + BOUND;
    let mut records = 0;
    while records < 10 {
        assert!(
            Instant::now() < deadline,
            "the group consumer got {records} of 10 records"
        );
        c.wait_for_data(Duration::from_millis(500)).await;
        let polled = c.poll(500);
        for ev in &polled.events {
            assert!(!matches!(ev, ConsumerEvent::Error(_)), "{ev:?}");
        }
        records += polled.batches.iter().map(|b| b.records.len()).sum::<usize>();
    }
    fail_points::arm("group");
    expect_consumer_poisoned(&c, "group").await;
    fail_points::disarm_all();
}

#[test]
fn unknown_fail_point_names_are_refused() {
    let r = std::panic::catch_unwind(|| fail_points::arm("no-such-task"));
    assert!(r.is_err());
    assert!(fail_points::TASKS.contains(&"sender"));
}
