//! The producer against a real broker.

mod common;

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use nkafka_client::config::{Acks, ProducerConfig};
use nkafka_client::producer::{BatchReport, Producer, Record};
use nkafka_client::protocol::record_batch::Header;

/// A producer whose reports are taken as soon as they are ready and sent to a channel.
fn producer(cfg: ProducerConfig) -> (Arc<Producer>, mpsc::Receiver<BatchReport>) {
    common::producer_with_reports(cfg)
}

async fn create(topic: &str, partitions: i32) {
    common::create_topic(topic, partitions).await;
}

fn collect(rx: &mpsc::Receiver<BatchReport>, records: usize) -> Vec<BatchReport> {
    let mut out = Vec::new();
    let mut n = 0;
    while n < records {
        let r = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("reports stopped arriving");
        n += r.count as usize;
        out.push(r);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produces_keyed_records_to_six_partitions_with_contiguous_offsets() {
    let topic = common::unique_topic("rust-produce");
    create(&topic, 6).await;
    let mut cfg = ProducerConfig::new(common::client_config());
    cfg.acks = Acks::All;
    cfg.linger = Duration::from_millis(2);
    cfg.batch_size = 4096; // several batches per partition
    let (p, rx) = producer(cfg);
    let id = p.topic_id(&topic).unwrap();
    let n = 5000;
    for i in 0..n {
        let key = format!("key-{}", i % 97);
        let value = format!("value-{i}");
        let headers = [Header {
            key: b"i",
            value: Some(value.as_bytes()),
        }];
        p.produce(
            id,
            &Record {
                key: Some(key.as_bytes()),
                value: Some(value.as_bytes()),
                headers: &headers,
                timestamp: 1_700_000_000_000 + i as i64,
                partition: None,
                token: 0.0,
            },
        )
        .unwrap();
    }
    p.flush(Duration::from_secs(60)).await.unwrap();
    let reports = collect(&rx, n);
    let mut per_partition: HashMap<i32, Vec<(i64, i32)>> = HashMap::new();
    for r in &reports {
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.topic, id);
        per_partition
            .entry(r.partition)
            .or_default()
            .push((r.base_offset, r.count));
    }
    assert_eq!(
        per_partition.len(),
        6,
        "murmur2 of 97 keys spreads over all 6 partitions"
    );
    for (part, mut batches) in per_partition {
        batches.sort();
        let mut next = 0;
        for (base, count) in batches {
            assert_eq!(base, next, "partition {part}: offsets must be contiguous from 0");
            next += count as i64;
        }
    }
    let stats = p.stats();
    assert_eq!(stats.outstanding, 0);
    assert_eq!(
        stats.buffered_bytes, 0,
        "all buffer memory is released once reports are taken"
    );
    p.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_several_requests_on_one_connection() {
    let topic = common::unique_topic("rust-pipeline");
    create(&topic, 1).await;
    let mut cfg = ProducerConfig::new(common::client_config());
    cfg.acks = Acks::All;
    cfg.batch_size = 16 * 1024;
    cfg.linger = Duration::from_millis(50);
    let (p, rx) = producer(cfg);
    let id = p.topic_id(&topic).unwrap();
    let value = vec![7u8; 1000];
    let n = 20_000;
    for _ in 0..n {
        loop {
            match p.produce(
                id,
                &Record {
                    key: None,
                    value: Some(&value),
                    headers: &[],
                    timestamp: 0,
                    partition: None,
                    token: 0.0,
                },
            ) {
                Ok(()) => break,
                Err(e) if e.code() == "BUFFER_FULL" => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(e) => panic!("{e}"),
            }
        }
    }
    p.flush(Duration::from_secs(60)).await.unwrap();
    let reports = collect(&rx, n);
    assert!(reports.iter().all(|r| r.error.is_none()));
    let stats = p.stats();
    assert!(
        stats.max_in_flight > 1,
        "expected pipelined produce requests, max in flight was {}",
        stats.max_in_flight
    );
    p.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_out_of_range_is_rejected_once_metadata_is_known() {
    let topic = common::unique_topic("rust-range");
    create(&topic, 2).await;
    let (p, _rx) = producer(ProducerConfig::new(common::client_config()));
    let id = p.topic_id(&topic).unwrap();
    p.connect().await.unwrap();
    // Metadata is applied by the sender shortly after connect: wait for it.
    let rec = Record {
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp: 0,
        partition: Some(5),
        token: 0.0,
    };
    let mut err = None;
    for _ in 0..100 {
        match p.produce(id, &rec) {
            Err(e) => {
                err = Some(e);
                break;
            }
            Ok(()) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    // Records produced while metadata was unknown were parked; they fail alone.
    let err = err.unwrap_or_else(|| panic!("an out-of-range partition was accepted"));
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(err.message.contains("out of range"), "{}", err.message);
    p.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_close_after_connections_max_idle() {
    let mut cfg = common::client_config();
    cfg.connections_max_idle = Duration::from_millis(200);
    let cluster = nkafka_client::cluster::Cluster::new(cfg, 5);
    let conn = cluster
        .connection(-1, nkafka_client::cluster::Purpose::Control)
        .await
        .unwrap();
    assert!(conn.is_alive());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!conn.is_alive(), "an idle connection must be closed");
    // The next use connects again.
    let again = cluster
        .connection(-1, nkafka_client::cluster::Purpose::Control)
        .await
        .unwrap();
    assert!(again.is_alive());
    cluster.refresh(None, false).await.unwrap();
}
