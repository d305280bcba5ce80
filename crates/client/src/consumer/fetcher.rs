//! One fetch loop per broker: fetches the partitions it leads (those with a known position,
//! not paused, with room in the prefetch buffer), decodes the records off the JS thread, and
//! queues them for `poll`. Prefetch is bounded by `maxPartitionFetchBytes` per partition and
//! `fetchMaxBytes` overall, so a slow app slows fetching instead of growing memory.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::compression::InflateBudget;
use nkafka_protocol::error::ErrorCode;
use tokio::time::Instant;

use super::decode::{decode_partition, AbortedTxn};
use super::{FetchWanted as Wanted, Shared, FETCH_MAX_VERSION};
use crate::cluster::Purpose;
use crate::config::ClientConfig;
use crate::error::{Error, Kind};

pub(crate) async fn run(shared: Arc<Shared>, broker: i32) {
    let mut failures: u32 = 0;
    loop {
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        // Register for wake-ups before looking, so a change between the look and the wait
        // is not missed.
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let (wanted, held_back) = shared.state.lock().take_fetchable(broker, &shared.cfg);
        if !wanted.is_empty() {
            crate::task::fail_point("fetcher");
        }
        if wanted.is_empty() {
            tokio::select! {
                _ = &mut changed => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        // Short waits while a held-back partition has data to come (see take_fetchable).
        let max_wait = if held_back {
            shared.cfg.fetch_max_wait.min(SHORT_WAIT)
        } else {
            shared.cfg.fetch_max_wait
        };
        match fetch_once(&shared, broker, &wanted, max_wait).await {
            Ok(()) => failures = 0,
            Err(e) => {
                // Closing the consumer closes the connections under in-flight fetches:
                // that is the end of the loop, not a failure to report.
                if shared.closed.load(Ordering::Acquire) {
                    return;
                }
                tracing::warn!(client = shared.cfg.client.log_id, broker, attempt = failures, cause = %e, "fetch failed; retrying after the backoff");
                shared.state.lock().fetch_failed(&wanted, &e);
                shared.metadata_wanted.store(true, Ordering::Release);
                shared.changed.notify_waiters();
                let wait = ClientConfig::backoff(
                    shared.cfg.client.retry_backoff,
                    shared.cfg.client.retry_backoff_max,
                    failures,
                    broker as u64,
                );
                failures = failures.saturating_add(1);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Fetch wait while another partition of the broker waits for buffer room.
const SHORT_WAIT: Duration = Duration::from_millis(10);

async fn fetch_once(shared: &Arc<Shared>, broker: i32, wanted: &[Wanted], max_wait: Duration) -> crate::Result<()> {
    let cfg = &shared.cfg;
    let conn = shared.cluster.connection(broker, Purpose::Fetch).await?;
    let version = conn
        .versions()
        .pick(ApiKey::Fetch as i16, 4, FETCH_MAX_VERSION)
        .ok_or_else(|| {
            Error::new(
                Kind::UnsupportedVersion,
                "the broker supports no Fetch version between 4 and 12",
            )
        })?;
    let mut topics: Vec<FetchTopic> = Vec::new();
    for w in wanted {
        let p = FetchPartition::default()
            .with_partition(w.partition)
            .with_current_leader_epoch(w.leader_epoch)
            .with_fetch_offset(w.position)
            .with_partition_max_bytes(cfg.max_partition_fetch_bytes as i32);
        match topics.iter_mut().find(|t| *t.topic.0 == *w.name) {
            Some(t) => t.partitions.push(p),
            None => topics.push(
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(w.name.to_string())))
                    .with_partitions(vec![p]),
            ),
        }
    }
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait.as_millis() as i32)
        .with_min_bytes(cfg.fetch_min_bytes as i32)
        .with_max_bytes(cfg.fetch_max_bytes as i32)
        .with_isolation_level(i8::from(cfg.read_committed))
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics)
        .with_rack_id(StrBytes::from_string(cfg.client_rack.clone().unwrap_or_default()));
    let timeout = cfg.client.request_timeout + max_wait;
    let resp: FetchResponse = conn.call(ApiKey::Fetch, &req, version, timeout).await?;
    let top = ErrorCode(resp.error_code);
    if !top.is_ok() {
        return Err(Error::broker(top, None).with_broker(conn.name()));
    }
    // Decode every partition before taking the lock: decoding is the costly part. One
    // decompression budget for the whole response: each batch may inflate to 4x the
    // fetch limit (as before), and all of them together to that much too.
    let inflate = cfg.fetch_max_bytes.max(cfg.max_partition_fetch_bytes).saturating_mul(4);
    let mut budget = InflateBudget::new(inflate, inflate);
    let mut results = Vec::with_capacity(wanted.len());
    for t in &resp.responses {
        for p in &t.partitions {
            let Some(w) = wanted
                .iter()
                .find(|w| *w.name == *t.topic.0 && w.partition == p.partition_index)
            else {
                continue;
            };
            let code = ErrorCode(p.error_code);
            let outcome = if !code.is_ok() {
                Err(Error::broker(code, None).with_partition(&w.name, w.partition))
            } else {
                let aborted: Option<Vec<AbortedTxn>> = cfg.read_committed.then(|| {
                    p.aborted_transactions
                        .iter()
                        .flatten()
                        .map(|a| AbortedTxn {
                            producer_id: a.producer_id.0,
                            first_offset: a.first_offset,
                        })
                        .collect()
                });
                match &p.records {
                    Some(records) if !records.is_empty() => decode_partition(
                        w.topic,
                        w.partition,
                        records,
                        w.position,
                        cfg.check_crcs,
                        aborted.as_deref(),
                        &mut budget,
                    )
                    .map(Some)
                    .map_err(|e| {
                        Error::new(
                            Kind::CorruptRecords,
                            format!(
                                "CORRUPT_MESSAGE: {}-{} at offset {}: {e}",
                                w.name, w.partition, w.position
                            ),
                        )
                        .with_partition(&w.name, w.partition)
                    }),
                    _ => Ok(None),
                }
            };
            let watermarks = (p.high_watermark, p.last_stable_offset, p.log_start_offset);
            results.push((w, outcome, watermarks));
        }
    }
    let now = Instant::now();
    // Records or errors for the app: wake `wait_for_data`.
    let news = results.iter().any(|(_, o, _)| !matches!(o, Ok(None)));
    {
        let mut st = shared.state.lock();
        for w in wanted {
            let r = results.iter().position(|(rw, _, _)| std::ptr::eq(*rw, w));
            match r {
                None => st.fetch_done(w.topic, w.partition, w.version),
                Some(i) => {
                    let (_, outcome, marks) = &mut results[i];
                    let outcome = std::mem::replace(outcome, Ok(None));
                    st.apply_fetch(
                        w.topic,
                        w.partition,
                        w.version,
                        w.position,
                        outcome,
                        *marks,
                        now,
                        &shared.cfg,
                    );
                }
            }
        }
    }
    if news {
        shared.data_ready.notify_waiters();
    }
    shared.changed.notify_waiters();
    Ok(())
}
