//! Hostile brokers: a fake TCP server on 127.0.0.1 that answers requests with garbage,
//! impossible frame sizes, truncated or trickled frames, wrong correlation ids, silence,
//! or well-framed responses whose array counts are huge or negative. Each must end in a
//! typed error that names the fault, within `requestTimeoutMs` plus slack, with the
//! process's peak RSS (VmHWM) less than 64 MB above where the tests started.
//! This is the one place a fake server is right: no real broker misbehaves on purpose.

#[allow(dead_code)] // only the producer helper is used here
mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, FetchRequest, JoinGroupRequest, MetadataRequest, ProduceRequest,
};
use kafka_protocol::protocol::Encodable;
use nkafka_client::config::{parse_bootstrap, ClientConfig, HostPort, ProducerConfig};
use nkafka_client::conn::{ConnStats, ConnectOptions, Connection};
use nkafka_client::producer::Record;
use nkafka_client::protocol::frame::response_header_version;
use nkafka_client::{Error, Kind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_millis(1500);
const SLACK: Duration = Duration::from_millis(1500);

/// What the fake broker does with one request.
#[derive(Clone)]
enum Reply {
    /// Write these bytes as they are (no framing added) and keep the connection open.
    Raw(Vec<u8>),
    /// A response frame with this body and the request's correlation id (plus `skew`).
    Body { body: Vec<u8>, skew: i32 },
    /// A valid ApiVersions response.
    Versions,
    /// Write these bytes one per 100 ms.
    Trickle(Vec<u8>),
    /// Write these bytes, then close.
    ThenClose(Vec<u8>),
    /// Read and never answer.
    Silence,
}

/// Answers each request with `script(api_key, version)`.
async fn fake_broker(script: impl Fn(i16, i16) -> Reply + Send + Sync + 'static) -> HostPort {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = Arc::new(script);
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(serve(sock, script.clone()));
        }
    });
    HostPort {
        host: "127.0.0.1".into(),
        port,
    }
}

async fn serve(mut sock: TcpStream, script: Arc<impl Fn(i16, i16) -> Reply + Send + Sync>) {
    loop {
        let Ok(size) = sock.read_i32().await else { return };
        let mut req = vec![0; size.max(0) as usize];
        if sock.read_exact(&mut req).await.is_err() || req.len() < 8 {
            return;
        }
        let api = i16::from_be_bytes([req[0], req[1]]);
        let version = i16::from_be_bytes([req[2], req[3]]);
        let correlation = i32::from_be_bytes([req[4], req[5], req[6], req[7]]);
        let frame = |body: &[u8], skew: i32| {
            let mut f = BytesMut::new();
            f.put_i32(0);
            f.put_i32(correlation.wrapping_add(skew));
            if response_header_version(api, version) >= 1 {
                f.put_u8(0); // no tagged fields
            }
            f.put_slice(body);
            let n = (f.len() - 4) as i32;
            f[..4].copy_from_slice(&n.to_be_bytes());
            f.to_vec()
        };
        let ok = match script(api, version) {
            Reply::Raw(b) => sock.write_all(&b).await.is_ok(),
            Reply::Body { body, skew } => sock.write_all(&frame(&body, skew)).await.is_ok(),
            Reply::Versions => sock.write_all(&frame(&versions_body(version), 0)).await.is_ok(),
            Reply::Trickle(b) => {
                for byte in b {
                    if sock.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                true
            }
            Reply::ThenClose(b) => {
                let _ = sock.write_all(&b).await;
                return;
            }
            Reply::Silence => true,
        };
        if !ok {
            return;
        }
    }
}

/// A valid ApiVersions body naming the APIs these tests call.
fn versions_body(version: i16) -> Vec<u8> {
    let keys = [
        (0, 3, 11),
        (1, 4, 16),
        (3, 0, 12),
        (10, 0, 4),
        (11, 0, 9),
        (18, 0, 4),
        (22, 0, 5),
    ]
    .iter()
    .map(|&(k, min, max)| {
        ApiVersion::default()
            .with_api_key(k)
            .with_min_version(min)
            .with_max_version(max)
    })
    .collect();
    let mut b = BytesMut::new();
    ApiVersionsResponse::default()
        .with_api_keys(keys)
        .encode(&mut b, version)
        .unwrap();
    b.to_vec()
}

fn config(addr: &HostPort) -> ClientConfig {
    let mut c = ClientConfig::new(parse_bootstrap(&[addr.to_string()]).unwrap());
    c.request_timeout = TIMEOUT;
    c.reconnect_backoff = Duration::from_millis(50);
    c.reconnect_backoff_max = Duration::from_millis(200);
    c
}

async fn connect(addr: &HostPort) -> Result<Connection, Error> {
    let opts = ConnectOptions::from_config(&config(addr), 4);
    Connection::connect(addr, &opts, Arc::new(ConnStats::default())).await
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Peak RSS when the first test started.
fn baseline_kb() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    *BASE.get_or_init(peak_rss_kb)
}

/// Checks the error, the time it took and the memory it cost.
fn check(what: &str, started: Instant, result: Result<impl Sized, Error>, kind: Kind, needle: &str) {
    let elapsed = started.elapsed();
    let err = match result {
        Ok(_) => panic!("{what}: succeeded against a hostile broker"),
        Err(e) => e,
    };
    eprintln!(
        "{what}: {:?} after {} ms: {}",
        err.kind,
        elapsed.as_millis(),
        err.message
    );
    assert_eq!(err.kind, kind, "{what}: {}", err.message);
    assert!(
        err.message.contains(needle),
        "{what}: `{}` does not mention `{needle}`",
        err.message
    );
    assert!(elapsed < TIMEOUT + SLACK, "{what}: took {} ms", elapsed.as_millis());
    let grown = peak_rss_kb().saturating_sub(baseline_kb());
    assert!(grown < 64 * 1024, "{what}: peak RSS grew by {grown} kB");
}

async fn hostile_handshake(what: &str, reply: Reply, kind: Kind, needle: &str) {
    baseline_kb();
    let addr = fake_broker(move |_, _| reply.clone()).await;
    let started = Instant::now();
    let result = connect(&addr).await;
    check(what, started, result, kind, needle);
}

#[tokio::test]
async fn garbage_bytes() {
    let http = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec();
    hostile_handshake("garbage", Reply::Raw(http), Kind::Protocol, "out of range").await;
}

#[tokio::test]
async fn a_two_gib_frame() {
    let mut b = i32::MAX.to_be_bytes().to_vec();
    b.extend_from_slice(&[0; 64]);
    hostile_handshake("2 GiB frame", Reply::Raw(b), Kind::Protocol, "response size 2147483647").await;
}

#[tokio::test]
async fn a_truncated_frame_then_silence() {
    let mut b = 64i32.to_be_bytes().to_vec();
    b.extend_from_slice(&[0; 10]);
    hostile_handshake(
        "truncated",
        Reply::Raw(b),
        Kind::RequestTimeout,
        "did not answer ApiVersions",
    )
    .await;
}

#[tokio::test]
async fn close_mid_frame() {
    let mut b = 64i32.to_be_bytes().to_vec();
    b.extend_from_slice(&[0; 10]);
    hostile_handshake(
        "close mid-frame",
        Reply::ThenClose(b),
        Kind::Network,
        "closed the connection",
    )
    .await;
}

#[tokio::test]
async fn silence() {
    hostile_handshake(
        "silence",
        Reply::Silence,
        Kind::RequestTimeout,
        "did not answer ApiVersions",
    )
    .await;
}

#[tokio::test]
async fn trickled_bytes() {
    // A valid ApiVersions v0 frame is ~50 bytes: 5 s at one byte per 100 ms.
    let body = versions_body(0);
    let mut b = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&body);
    hostile_handshake(
        "trickle",
        Reply::Trickle(b),
        Kind::RequestTimeout,
        "did not answer ApiVersions",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_correlation_id() {
    let reply = Reply::Body {
        body: versions_body(0),
        skew: 7,
    };
    hostile_handshake("correlation id", reply, Kind::Protocol, "correlation id mismatch").await;
}

/// A maximal unsigned varint: a compact array count of 2^32 - 2.
const HUGE_COMPACT: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 0x0f];

#[tokio::test]
async fn api_versions_with_hostile_counts() {
    // Flexible (v3+): error code, then a compact count of ~2^32.
    let mut huge = vec![0, 0];
    huge.extend_from_slice(&HUGE_COMPACT);
    huge.extend_from_slice(&[0; 8]);
    hostile_handshake(
        "ApiVersions huge count",
        Reply::Body { body: huge, skew: 0 },
        Kind::Protocol,
        "ApiVersions",
    )
    .await;
    // The v0 fallback reads the same bytes with an i32 count: -5.
    let mut negative = vec![0, 0];
    negative.extend_from_slice(&(-5i32).to_be_bytes());
    let reply = Reply::Body {
        body: negative,
        skew: 0,
    };
    hostile_handshake("ApiVersions negative count", reply, Kind::Protocol, "ApiVersions").await;
}

/// A broker that handshakes correctly, then answers `api` with `body`.
async fn hostile_call(what: &str, api: ApiKey, version: i16, body: Vec<u8>) {
    baseline_kb();
    let addr = fake_broker(move |k, _| {
        if k == ApiKey::ApiVersions as i16 {
            Reply::Versions
        } else {
            Reply::Body {
                body: body.clone(),
                skew: 0,
            }
        }
    })
    .await;
    let conn = connect(&addr).await.expect("the handshake is valid");
    let started = Instant::now();
    let result = match api {
        ApiKey::Metadata => conn
            .call(api, &MetadataRequest::default(), version, TIMEOUT)
            .await
            .map(drop),
        ApiKey::Fetch => conn
            .call(api, &FetchRequest::default(), version, TIMEOUT)
            .await
            .map(drop),
        ApiKey::JoinGroup => conn
            .call(api, &JoinGroupRequest::default(), version, TIMEOUT)
            .await
            .map(drop),
        ApiKey::Produce => conn
            .call(api, &ProduceRequest::default().with_acks(1), version, TIMEOUT)
            .await
            .map(drop),
        other => panic!("no request for {other:?}"),
    };
    check(
        what,
        started,
        result,
        Kind::Protocol,
        &format!("cannot decode {api:?} v{version}"),
    );
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const NEG: [u8; 4] = (-5i32).to_be_bytes();
const MAX: [u8; 4] = i32::MAX.to_be_bytes();

#[tokio::test]
async fn metadata_with_hostile_counts() {
    // v1: brokers first (i32 count). v12: throttle, then compact brokers.
    hostile_call("Metadata v1 negative", ApiKey::Metadata, 1, NEG.to_vec()).await;
    hostile_call("Metadata v1 huge", ApiKey::Metadata, 1, cat(&[&MAX, &[0; 16]])).await;
    hostile_call(
        "Metadata v12 huge",
        ApiKey::Metadata,
        12,
        cat(&[&[0; 4], &HUGE_COMPACT, &[0; 16]]),
    )
    .await;
}

#[tokio::test]
async fn fetch_with_hostile_counts() {
    // v4: throttle, responses. v12: throttle, error, session, compact responses.
    hostile_call("Fetch v4 negative", ApiKey::Fetch, 4, cat(&[&[0; 4], &NEG])).await;
    hostile_call("Fetch v4 huge", ApiKey::Fetch, 4, cat(&[&[0; 4], &MAX, &[0; 16]])).await;
    hostile_call(
        "Fetch v12 huge",
        ApiKey::Fetch,
        12,
        cat(&[&[0; 10], &HUGE_COMPACT, &[0; 16]]),
    )
    .await;
}

#[tokio::test]
async fn join_group_with_hostile_counts() {
    // v2: throttle, error, generation, protocol name, leader, member id (empty strings),
    // then members. v6: the same with compact strings.
    let head = [0u8; 4 + 2 + 4 + 2 + 2 + 2];
    hostile_call("JoinGroup v2 negative", ApiKey::JoinGroup, 2, cat(&[&head, &NEG])).await;
    hostile_call("JoinGroup v2 huge", ApiKey::JoinGroup, 2, cat(&[&head, &MAX, &[0; 16]])).await;
    let head = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
    hostile_call(
        "JoinGroup v6 huge",
        ApiKey::JoinGroup,
        6,
        cat(&[&head, &HUGE_COMPACT, &[0; 16]]),
    )
    .await;
}

#[tokio::test]
async fn produce_with_hostile_counts() {
    // v3: responses first. v9: compact responses first.
    hostile_call("Produce v3 negative", ApiKey::Produce, 3, NEG.to_vec()).await;
    hostile_call("Produce v3 huge", ApiKey::Produce, 3, cat(&[&MAX, &[0; 16]])).await;
    hostile_call("Produce v9 huge", ApiKey::Produce, 9, cat(&[&HUGE_COMPACT, &[0; 16]])).await;
}

/// Records sent to a broker that answers with a 2 GiB frame fail with that cause, not
/// with "topic not present in metadata (UNKNOWN_TOPIC_OR_PARTITION)".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_to_a_hostile_broker_reports_the_connection_cause() {
    baseline_kb();
    let mut b = i32::MAX.to_be_bytes().to_vec();
    b.extend_from_slice(&[0; 16]);
    let addr = fake_broker(move |_, _| Reply::Raw(b.clone())).await;
    let mut cfg = ProducerConfig::new(config(&addr));
    cfg.max_block = Duration::from_millis(2000);
    let (p, rx) = common::producer_with_reports(cfg);
    let id = p.topic_id("hostile").unwrap();
    let started = Instant::now();
    p.produce(
        id,
        &Record {
            key: None,
            value: Some(b"v"),
            headers: &[],
            timestamp: 0,
            partition: None,
            token: 0.0,
        },
    )
    .unwrap();
    let report = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("no report within 10 s");
    let err = report.error.expect("the record must fail");
    eprintln!(
        "produce: {:?} after {} ms: {}",
        err.kind,
        started.elapsed().as_millis(),
        err.message
    );
    assert!(err.message.contains("response size 2147483647"), "{}", err.message);
    assert!(!err.message.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_millis(2000) + SLACK);
    // The partition-count wait (send() with a partitioner) says the same.
    let started = Instant::now();
    let err = p.wait_for_partitions(id).await.expect_err("no metadata can arrive");
    assert!(err.message.contains("response size 2147483647"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_millis(2000) + SLACK);
    let _ = p.close(Duration::from_secs(1)).await;
}
