//! `BindingShareConsumer`: the share consumer's thin binding. `poll` resolves with batch
//! descriptors (and each batch's delivery counts as runs); `takePollBuffer` then hands the
//! records over in the shape of [`crate::rows`], as the consumer does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::{Env, PromiseRaw, Unknown};
use napi_derive::napi;
use nkafka_client::consumer::FetchedBatch;
use nkafka_client::share::{AckResult, AckType, ShareConfig, ShareConsumer};

use crate::config::BindingClientConfig;
use crate::errors::{to_napi, BindingError, Result};
use crate::rows;

/// `ShareConsumer` settings from TS.
#[napi(object, object_to_js = false)]
pub struct BindingShareConfig {
    pub client: BindingClientConfig,
    pub group_id: String,
    pub fetch_max_wait_ms: Option<f64>,
    pub fetch_max_bytes: Option<f64>,
    pub max_poll_records: Option<f64>,
    /// 'implicit' (default) or 'explicit'.
    pub acknowledgement_mode: Option<String>,
    pub check_crcs: Option<bool>,
    pub client_rack: Option<String>,
}

impl BindingShareConfig {
    fn convert(&mut self) -> nkafka_client::Result<ShareConfig> {
        let mut c = ShareConfig::new(self.client.convert()?, self.group_id.clone());
        let d = c.consumer.clone();
        c.consumer.fetch_max_wait = crate::config::ms("fetchMaxWaitMs", self.fetch_max_wait_ms, d.fetch_max_wait)?;
        c.consumer.fetch_max_bytes = crate::config::int(
            "fetchMaxBytes",
            self.fetch_max_bytes,
            d.fetch_max_bytes as u64,
            i32::MAX as u64,
        )? as usize;
        c.consumer.check_crcs = self.check_crcs.unwrap_or(true);
        c.consumer.client_rack = self.client_rack.clone();
        c.max_poll_records = crate::config::int(
            "maxPollRecords",
            self.max_poll_records,
            c.max_poll_records as u64,
            i32::MAX as u64,
        )? as usize;
        c.explicit = match self.acknowledgement_mode.as_deref() {
            None | Some("implicit") => false,
            Some("explicit") => true,
            Some(v) => {
                return Err(nkafka_client::Error::config(
                    "acknowledgementMode",
                    format!("`{v}`; expected 'implicit' or 'explicit'"),
                ))
            }
        };
        c.validate()?;
        Ok(c)
    }
}

/// One batch of a share poll: `count` records from index row `first`.
#[napi(object)]
pub struct BindingShareBatch {
    pub topic: String,
    pub partition: i32,
    pub log_append_time: bool,
    pub first: u32,
    pub count: u32,
    /// Delivery counts as runs: [count, records, count, records, ...].
    pub delivery_counts: Vec<u32>,
}

/// A partition's acknowledgement outcome.
#[napi(object)]
pub struct BindingAckResult {
    pub topic: String,
    pub partition: i32,
    pub records: u32,
    pub error: Option<BindingError>,
}

/// What one share poll returned, or why it failed.
#[napi(object)]
pub struct BindingSharePoll {
    pub batches: Vec<BindingShareBatch>,
    pub records: u32,
    /// Unix ms when the records' acquisition lock ends.
    pub lock_expires_at: f64,
    pub acks: Vec<BindingAckResult>,
    pub error: Option<BindingError>,
}

/// Acknowledgement outcomes, or the error that prevented sending them.
#[napi(object)]
pub struct BindingAckResults {
    pub results: Vec<BindingAckResult>,
    pub error: Option<BindingError>,
}

fn ack_results(v: Vec<AckResult>) -> Vec<BindingAckResult> {
    v.into_iter()
        .map(|r| BindingAckResult {
            topic: r.tp.topic.to_string(),
            partition: r.tp.partition,
            records: r.records as u32,
            error: r.error.as_ref().map(BindingError::from),
        })
        .collect()
}

fn runs(counts: &[u16]) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for &c in counts {
        let n = out.len();
        if n >= 2 && out[n - 2] == u32::from(c) {
            out[n - 1] += 1;
        } else {
            out.extend([u32::from(c), 1]);
        }
    }
    out
}

/// The native half of `ShareConsumer`.
#[napi]
pub struct BindingShareConsumer {
    inner: Arc<ShareConsumer>,
    /// Batches of the last poll, until `take_poll_buffer` copies them out.
    pending: Arc<Mutex<Vec<FetchedBatch>>>,
}

#[napi]
impl BindingShareConsumer {
    #[napi(constructor, catch_unwind)]
    pub fn new(mut config: BindingShareConfig) -> Result<Self> {
        let cfg = config.convert().map_err(to_napi)?;
        let inner = napi::bindgen_prelude::within_runtime_if_available(|| ShareConsumer::new(cfg)).map_err(to_napi)?;
        Ok(BindingShareConsumer {
            inner: Arc::new(inner),
            pending: Arc::new(Mutex::new(Vec::new())),
        })
    }

    #[napi(catch_unwind)]
    pub fn subscribe(&self, topics: Vec<String>) -> Result<()> {
        self.inner.subscribe(topics).map_err(to_napi)
    }

    /// Member id and epoch.
    #[napi(catch_unwind)]
    pub fn member(&self) -> Vec<String> {
        vec![
            self.inner.member_id().to_string(),
            self.inner.member_epoch().to_string(),
        ]
    }

    /// The assigned partitions as 'topic', partition pairs.
    #[napi(catch_unwind)]
    pub fn assignment(&self) -> Vec<crate::consumer::BindingTopicPartition> {
        self.inner
            .assignment()
            .into_iter()
            .map(|tp| crate::consumer::BindingTopicPartition {
                topic: tp.topic.to_string(),
                partition: tp.partition,
            })
            .collect()
    }

    /// Acknowledges one record of the last poll: 'accept', 'release' or 'reject'.
    #[napi(catch_unwind)]
    pub fn acknowledge(&self, topic: String, partition: i32, offset: f64, kind: String) -> Result<()> {
        let t = AckType::from_name(&kind).map_err(to_napi)?;
        self.inner
            .acknowledge(&topic, partition, offset as i64, t)
            .map_err(to_napi)
    }

    /// Fetches records, waiting up to `timeout_ms`.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingSharePoll>")]
    pub fn poll<'e>(&self, env: &'e Env, timeout_ms: f64) -> napi::Result<PromiseRaw<'e, BindingSharePoll>> {
        let c = self.inner.clone();
        let pending = self.pending.clone();
        let t = Duration::from_millis(timeout_ms.clamp(0.0, 3_600_000.0) as u64);
        env.spawn_future(async move {
            let polled = match c.poll(t).await {
                Ok(p) => p,
                Err(e) => {
                    return Ok(BindingSharePoll {
                        batches: Vec::new(),
                        records: 0,
                        lock_expires_at: 0.0,
                        acks: Vec::new(),
                        error: Some(BindingError::from(&e)),
                    })
                }
            };
            let mut batches = Vec::with_capacity(polled.batches.len());
            let mut first = 0u32;
            let mut kept = Vec::with_capacity(polled.batches.len());
            for b in polled.batches {
                let count = b.batch.records.len() as u32;
                batches.push(BindingShareBatch {
                    topic: c.topic_name(b.batch.topic).to_string(),
                    partition: b.batch.partition,
                    log_append_time: b.batch.log_append_time,
                    first,
                    count,
                    delivery_counts: runs(&b.delivery_counts),
                });
                first += count;
                kept.push(b.batch);
            }
            *pending.lock().unwrap_or_else(|e| e.into_inner()) = kept;
            Ok(BindingSharePoll {
                batches,
                records: first,
                lock_expires_at: polled.lock_expires_at,
                acks: ack_results(polled.acks),
                error: None,
            })
        })
    }

    /// The index and bytes of the last poll in one JS-owned ArrayBuffer.
    #[napi(catch_unwind, ts_return_type = "ArrayBuffer")]
    pub fn take_poll_buffer(&self, env: Env) -> Result<Unknown<'_>> {
        let batches = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        rows::batches_buffer(env, &batches)
    }

    /// Sends the acknowledgements now; each partition's outcome.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingAckResults>")]
    pub fn commit<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, BindingAckResults>> {
        let c = self.inner.clone();
        env.spawn_future(async move {
            Ok(match c.commit().await {
                Ok(r) => BindingAckResults {
                    results: ack_results(r),
                    error: None,
                },
                Err(e) => BindingAckResults {
                    results: Vec::new(),
                    error: Some(BindingError::from(&e)),
                },
            })
        })
    }

    /// Acknowledges what is pending, closes the share sessions and leaves the group.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingAckResults>")]
    pub fn close<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, BindingAckResults>> {
        let c = self.inner.clone();
        env.spawn_future(async move {
            Ok(match c.close().await {
                Ok(r) => BindingAckResults {
                    results: ack_results(r),
                    error: None,
                },
                Err(e) => BindingAckResults {
                    results: Vec::new(),
                    error: Some(BindingError::from(&e)),
                },
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn delivery_counts_cross_as_runs() {
        assert_eq!(super::runs(&[1, 1, 1, 2, 2, 1]), vec![1, 3, 2, 2, 1, 1]);
        assert!(super::runs(&[]).is_empty());
    }
}
