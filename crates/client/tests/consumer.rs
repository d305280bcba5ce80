//! The consumer's fetch path against a real broker (manual assignment).

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nkafka_client::config::{ConsumerConfig, OffsetReset, ProducerConfig};
use nkafka_client::consumer::Consumer;
use nkafka_client::producer::{Producer, Record};

async fn create(topic: &str, partitions: i32) {
    common::create_topic(topic, partitions).await;
}

async fn produce(topic: &str, n: usize) {
    let slot: Arc<std::sync::Mutex<Option<std::sync::Weak<Producer>>>> = Arc::default();
    let s2 = slot.clone();
    let p = Arc::new(
        Producer::new(
            ProducerConfig::new(common::client_config()),
            Box::new(move || {
                if let Some(p) = s2.lock().unwrap().as_ref().and_then(|w| w.upgrade()) {
                    for r in p.take_reports() {
                        assert!(r.error.is_none(), "{:?}", r.error);
                    }
                }
            }),
        )
        .unwrap(),
    );
    *slot.lock().unwrap() = Some(Arc::downgrade(&p));
    let id = p.topic_id(topic).unwrap();
    for i in 0..n {
        let key = format!("k{}", i % 13);
        let value = format!("v{i}");
        p.produce(
            id,
            &Record {
                key: Some(key.as_bytes()),
                value: Some(value.as_bytes()),
                headers: &[],
                timestamp: 1_700_000_000_000 + i as i64,
                partition: None,
                token: 0.0,
            },
        )
        .unwrap();
    }
    p.flush(Duration::from_secs(60)).await.unwrap();
    p.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_record_once_in_order_per_partition() {
    let topic = common::unique_topic("rust-consume");
    create(&topic, 3).await;
    let n = 3000;
    produce(&topic, n).await;

    let mut cfg = ConsumerConfig::new(common::client_config());
    cfg.auto_offset_reset = OffsetReset::Earliest;
    cfg.max_partition_fetch_bytes = 4096; // several fetches per partition
    let c = Consumer::new(cfg).unwrap();
    c.assign((0..3).map(|p| (topic.clone(), p, None)).collect()).unwrap();
    let mut seen: HashMap<i32, Vec<(i64, String)>> = HashMap::new();
    let mut total = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while total < n {
        assert!(tokio::time::Instant::now() < deadline, "only {total} of {n} records");
        if !c.wait_for_data(Duration::from_secs(5)).await {
            continue;
        }
        let polled = c.poll(500);
        assert!(polled.events.is_empty(), "{:?}", polled.events);
        for b in polled.batches {
            for r in &b.records {
                let v = &b.data[r.value_start as usize..r.value_start as usize + r.value_len as usize];
                seen.entry(b.partition)
                    .or_default()
                    .push((r.offset, String::from_utf8(v.to_vec()).unwrap()));
                total += 1;
            }
        }
    }
    assert_eq!(total, n);
    let mut all = Vec::new();
    for (p, recs) in &seen {
        for (i, (off, v)) in recs.iter().enumerate() {
            assert_eq!(*off, i as i64, "partition {p}: offsets from 0 without gaps");
            all.push(v[1..].parse::<usize>().unwrap());
        }
        // Producer order is kept per partition.
        let seqs: Vec<usize> = recs.iter().map(|(_, v)| v[1..].parse().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "partition {p} out of order");
    }
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>());
    assert_eq!(c.position(&topic, 0).unwrap(), Some(seen[&0].len() as i64));

    // Seek back and read again.
    c.seek(&topic, 1, 5).unwrap();
    let mut again = Vec::new();
    while again.is_empty() {
        assert!(c.wait_for_data(Duration::from_secs(10)).await);
        for b in c.poll(10).batches {
            again.extend(b.records.iter().map(|r| (b.partition, r.offset)));
        }
    }
    assert_eq!(again[0], (1, 5));
    assert!(
        c.seek(&topic, 7, 0).is_err(),
        "seek on an unassigned partition is an error"
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_reset_reads_only_new_records() {
    let topic = common::unique_topic("rust-latest");
    create(&topic, 1).await;
    produce(&topic, 10).await;
    let cfg = ConsumerConfig::new(common::client_config()); // autoOffsetReset latest
    let c = Consumer::new(cfg).unwrap();
    c.assign(vec![(topic.clone(), 0, None)]).unwrap();
    // Wait until the position is resolved to the end.
    for _ in 0..100 {
        if c.position(&topic, 0).unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.position(&topic, 0).unwrap(), Some(10));
    produce(&topic, 5).await;
    let mut got = 0;
    while got < 5 {
        assert!(c.wait_for_data(Duration::from_secs(10)).await);
        for b in c.poll(100).batches {
            assert!(b.records.iter().all(|r| r.offset >= 10));
            got += b.records.len();
        }
    }
    c.close().await.unwrap();
}

/// Produces `n` highly compressible 10 KB values with zstd in batches of `batch_size`.
async fn produce_compressible(topic: &str, n: usize, batch_size: usize) {
    let mut cfg = ProducerConfig::new(common::client_config());
    cfg.compression = nkafka_client::protocol::record_batch::Compression::Zstd;
    cfg.batch_size = batch_size;
    cfg.linger = Duration::from_millis(50);
    let slot: Arc<std::sync::Mutex<Option<std::sync::Weak<Producer>>>> = Arc::default();
    let s2 = slot.clone();
    let p = Arc::new(
        Producer::new(
            cfg,
            Box::new(move || {
                if let Some(p) = s2.lock().unwrap().as_ref().and_then(|w| w.upgrade()) {
                    for r in p.take_reports() {
                        assert!(r.error.is_none(), "{:?}", r.error);
                    }
                }
            }),
        )
        .unwrap(),
    );
    *slot.lock().unwrap() = Some(Arc::downgrade(&p));
    let id = p.topic_id(topic).unwrap();
    for i in 0..n {
        let value = format!("{i:08}").repeat(1250);
        p.produce(
            id,
            &Record {
                key: None,
                value: Some(value.as_bytes()),
                headers: &[],
                timestamp: 1_700_000_000_000,
                partition: None,
                token: 0.0,
            },
        )
        .unwrap();
    }
    p.flush(Duration::from_secs(60)).await.unwrap();
    p.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_response_inflates_within_its_budget_and_loses_nothing() {
    // ~30 KB batches that compress to a few hundred bytes: one 16 KiB fetch holds dozens
    // of them, inflating far beyond the response's budget (4 x 16 KiB), so every fetch
    // stops the decode after a couple of batches and the next one resumes there.
    let topic = common::unique_topic("rust-inflate-budget");
    create(&topic, 1).await;
    let n = 400;
    produce_compressible(&topic, n, 32 * 1024).await;
    let mut cfg = ConsumerConfig::new(common::client_config());
    cfg.auto_offset_reset = OffsetReset::Earliest;
    cfg.fetch_max_bytes = 16 * 1024;
    cfg.max_partition_fetch_bytes = 16 * 1024;
    let c = Consumer::new(cfg).unwrap();
    c.assign(vec![(topic.clone(), 0, None)]).unwrap();
    let mut offsets = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while offsets.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} records",
            offsets.len()
        );
        if !c.wait_for_data(Duration::from_secs(5)).await {
            continue;
        }
        let polled = c.poll(500);
        assert!(polled.events.is_empty(), "{:?}", polled.events);
        for b in polled.batches {
            for r in &b.records {
                let v = &b.data[r.value_start as usize..r.value_start as usize + r.value_len as usize];
                assert_eq!(&v[..8], format!("{:08}", r.offset).as_bytes());
                offsets.push(r.offset);
            }
        }
    }
    assert_eq!(offsets, (0..n as i64).collect::<Vec<_>>());
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_beyond_the_per_batch_bound_is_a_typed_error_naming_it() {
    // One ~500 KB batch with 16 KiB fetch limits: it can never inflate within 64 KiB.
    let topic = common::unique_topic("rust-inflate-bound");
    create(&topic, 1).await;
    produce_compressible(&topic, 50, 1 << 20).await;
    let mut cfg = ConsumerConfig::new(common::client_config());
    cfg.auto_offset_reset = OffsetReset::Earliest;
    cfg.fetch_max_bytes = 16 * 1024;
    cfg.max_partition_fetch_bytes = 16 * 1024;
    let c = Consumer::new(cfg).unwrap();
    c.assign(vec![(topic.clone(), 0, None)]).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let error = loop {
        assert!(tokio::time::Instant::now() < deadline, "no error surfaced");
        c.wait_for_data(Duration::from_secs(5)).await;
        let polled = c.poll(500);
        assert!(polled.batches.is_empty(), "nothing of the batch is delivered");
        if let Some(e) = polled.events.into_iter().find_map(|e| match e {
            nkafka_client::consumer::ConsumerEvent::Error(e) => Some(e),
            _ => None,
        }) {
            break e;
        }
    };
    let text = error.to_string();
    assert!(text.contains("CORRUPT_MESSAGE") && text.contains("65536"), "{text}");
    c.close().await.unwrap();
}
