//! `BindingConsumer`: records cross to JS in bulk. One `poll` returns the batch descriptors;
//! `takePollBuffer` then returns the records in the shape of [`crate::rows`] (an index and
//! the bytes). TS builds message objects lazily from it; no per-record call or object
//! crosses the boundary.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Env, PromiseRaw, Unknown};
use napi_derive::napi;
use nkafka_client::consumer::{Consumer, ConsumerEvent, FetchedBatch};
use nkafka_client::types::{OffsetAndMetadata, TopicPartition};

use crate::config::BindingConsumerConfig;
use crate::errors::{to_napi, BindingError, Result};
use crate::rows;

/// A partition to assign, optionally with a start offset.
#[napi(object)]
pub struct BindingAssignment {
    pub topic: String,
    pub partition: i32,
    /// Start offset; absent: committed offset or autoOffsetReset.
    pub offset: Option<f64>,
}

/// One batch of polled records: `count` records from index row `first`.
#[napi(object)]
pub struct BindingPolledBatch {
    pub topic: String,
    pub partition: i32,
    pub leader_epoch: i32,
    pub log_append_time: bool,
    pub first: u32,
    pub count: u32,
    /// Byte offset of this batch's data in the records area.
    pub data_start: f64,
}

/// A topic-partition.
#[napi(object)]
pub struct BindingTopicPartition {
    pub topic: String,
    pub partition: i32,
}

/// Something besides records: 'error', 'assigned', 'revoked' (acknowledge with
/// `revokeDone(id)`) or 'lost'.
#[napi(object)]
pub struct BindingConsumerEvent {
    pub kind: String,
    pub partitions: Vec<BindingTopicPartition>,
    pub id: f64,
    pub error: Option<BindingError>,
}

/// What one poll returned.
#[napi(object)]
pub struct BindingPoll {
    pub batches: Vec<BindingPolledBatch>,
    pub events: Vec<BindingConsumerEvent>,
    /// Records in total (rows of the index).
    pub records: u32,
}

/// An offset to commit, or a committed offset.
#[napi(object)]
pub struct BindingOffset {
    pub topic: String,
    pub partition: i32,
    /// Next offset to read; -1 when nothing is committed.
    pub offset: f64,
    pub leader_epoch: Option<i32>,
    pub metadata: Option<String>,
}

/// Committed offsets, or the error that prevented the lookup.
#[napi(object)]
pub struct BindingCommitted {
    pub offsets: Vec<BindingOffset>,
    pub error: Option<BindingError>,
}

/// Member id and generation in the group.
#[napi(object)]
pub struct BindingGroupMetadata {
    pub group_id: String,
    pub member_id: String,
    pub generation_id: i32,
    pub group_instance_id: Option<String>,
}

fn tps(v: &[TopicPartition]) -> Vec<BindingTopicPartition> {
    v.iter()
        .map(|tp| BindingTopicPartition {
            topic: tp.topic.to_string(),
            partition: tp.partition,
        })
        .collect()
}

fn event(e: &ConsumerEvent) -> BindingConsumerEvent {
    let (kind, partitions, id, error) = match e {
        ConsumerEvent::Error(err) => ("error", Vec::new(), 0.0, Some(BindingError::from(err))),
        ConsumerEvent::Assigned(p) => ("assigned", tps(p), 0.0, None),
        ConsumerEvent::Revoked { id, partitions } => ("revoked", tps(partitions), *id as f64, None),
        ConsumerEvent::Lost(p) => ("lost", tps(p), 0.0, None),
    };
    BindingConsumerEvent {
        kind: kind.to_string(),
        partitions,
        id,
        error,
    }
}

/// A list of strings, or the error that prevented it.
#[napi(object)]
pub struct BindingTopics {
    pub topics: Vec<String>,
    pub error: Option<BindingError>,
}

/// The native half of `Consumer`.
#[napi]
pub struct BindingConsumer {
    inner: Arc<Consumer>,
    /// Batches of the last poll, until `take_poll_buffer` copies them out.
    pending: RefCell<Vec<FetchedBatch>>,
}

#[napi]
impl BindingConsumer {
    #[napi(constructor, catch_unwind)]
    pub fn new(mut config: BindingConsumerConfig) -> Result<Self> {
        let cfg = config.convert().map_err(to_napi)?;
        let inner = napi::bindgen_prelude::within_runtime_if_available(|| Consumer::new(cfg)).map_err(to_napi)?;
        Ok(BindingConsumer {
            inner: Arc::new(inner),
            pending: RefCell::new(Vec::new()),
        })
    }

    /// Replaces the assignment (manual mode).
    #[napi(catch_unwind)]
    pub fn assign(&self, partitions: Vec<BindingAssignment>) -> Result<()> {
        let mut v = Vec::with_capacity(partitions.len());
        for p in partitions {
            let offset = match p.offset {
                None => None,
                Some(o) if o.is_finite() && o >= 0.0 && o.fract() == 0.0 => Some(o as i64),
                Some(o) => {
                    return Err(to_napi(nkafka_client::Error::argument(
                        "offset",
                        format!("{o} for {}-{} is not a non-negative integer", p.topic, p.partition),
                    )))
                }
            };
            v.push((p.topic, p.partition, offset));
        }
        self.inner.assign(v).map_err(to_napi)
    }

    /// The assigned partitions.
    #[napi(catch_unwind)]
    pub fn assignment(&self) -> Vec<BindingAssignment> {
        self.inner
            .assignment()
            .into_iter()
            .map(|tp| BindingAssignment {
                topic: tp.topic.to_string(),
                partition: tp.partition,
                offset: None,
            })
            .collect()
    }

    /// Takes up to `max_records` records; never waits.
    #[napi(catch_unwind)]
    pub fn poll(&self, max_records: u32) -> BindingPoll {
        let polled = self.inner.poll(max_records as usize);
        let mut batches = Vec::with_capacity(polled.batches.len());
        let mut first = 0u32;
        let mut data_start = 0usize;
        for b in &polled.batches {
            let span = match (b.records.first(), b.records.last()) {
                (Some(f), Some(l)) => (l.end - f.start) as usize,
                _ => 0,
            };
            batches.push(BindingPolledBatch {
                topic: self.inner.topic_name(b.topic).to_string(),
                partition: b.partition,
                leader_epoch: b.leader_epoch,
                log_append_time: b.log_append_time,
                first,
                count: b.records.len() as u32,
                data_start: data_start as f64,
            });
            first += b.records.len() as u32;
            data_start += span;
        }
        let events = polled.events.iter().map(event).collect();
        *self.pending.borrow_mut() = polled.batches;
        BindingPoll {
            batches,
            events,
            records: first,
        }
    }

    /// The index and bytes of the last poll in one JS-owned ArrayBuffer (see the module
    /// doc for the layout).
    #[napi(catch_unwind, ts_return_type = "ArrayBuffer")]
    pub fn take_poll_buffer(&self, env: Env) -> Result<Unknown<'_>> {
        let batches = std::mem::take(&mut *self.pending.borrow_mut());
        rows::batches_buffer(env, &batches)
    }

    /// Resolves true when records or events are ready, false after the timeout.
    #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
    pub fn wait_for_data<'e>(&self, env: &'e Env, timeout_ms: f64) -> napi::Result<PromiseRaw<'e, bool>> {
        let c = self.inner.clone();
        let t = Duration::from_millis(timeout_ms.max(0.0) as u64);
        env.spawn_future(async move { Ok(c.wait_for_data(t).await) })
    }

    #[napi(catch_unwind)]
    pub fn seek(&self, topic: String, partition: i32, offset: f64) -> Result<()> {
        if !(offset.is_finite() && offset.fract() == 0.0) {
            return Err(to_napi(nkafka_client::Error::argument(
                "offset",
                format!("{offset} is not an integer"),
            )));
        }
        self.inner.seek(&topic, partition, offset as i64).map_err(to_napi)
    }

    #[napi(catch_unwind)]
    pub fn pause(&self, topic: String, partition: i32) -> Result<()> {
        self.inner.pause(&topic, partition).map_err(to_napi)
    }

    #[napi(catch_unwind)]
    pub fn resume(&self, topic: String, partition: i32) -> Result<()> {
        self.inner.resume(&topic, partition).map_err(to_napi)
    }

    /// Next offset poll returns for a partition; -1 while unknown.
    #[napi(catch_unwind)]
    pub fn position(&self, topic: String, partition: i32) -> Result<f64> {
        Ok(self
            .inner
            .position(&topic, partition)
            .map_err(to_napi)?
            .map_or(-1.0, |o| o as f64))
    }

    /// Joins the group for these topics.
    #[napi(catch_unwind)]
    pub fn subscribe(&self, topics: Vec<String>) -> Result<()> {
        self.inner.subscribe(topics).map_err(to_napi)
    }

    /// Subscribes to a pattern the broker resolves (RE2J; consumer protocol only).
    #[napi(catch_unwind)]
    pub fn subscribe_pattern(&self, pattern: String) -> Result<()> {
        self.inner.subscribe_pattern(pattern).map_err(to_napi)
    }

    /// The app handled a 'revoked' event.
    #[napi(catch_unwind)]
    pub fn revoke_done(&self, id: f64) {
        self.inner.revoke_done(id as u64);
    }

    /// Commits offsets (or, with none given, what poll handed out).
    #[napi(catch_unwind, ts_return_type = "Promise<BindingError | null>")]
    pub fn commit<'e>(
        &self,
        env: &'e Env,
        offsets: Option<Vec<BindingOffset>>,
    ) -> napi::Result<PromiseRaw<'e, Option<BindingError>>> {
        let c = self.inner.clone();
        let offsets = offsets.map(|v| {
            v.into_iter()
                .map(|o| OffsetAndMetadata {
                    tp: TopicPartition::new(o.topic, o.partition),
                    offset: o.offset as i64,
                    leader_epoch: o.leader_epoch.unwrap_or(-1),
                    metadata: o.metadata,
                })
                .collect()
        });
        env.spawn_future(async move { Ok(c.commit(offsets).await.err().as_ref().map(BindingError::from)) })
    }

    /// The group's committed offsets for these partitions (offset -1 when none).
    #[napi(catch_unwind, ts_return_type = "Promise<BindingCommitted>")]
    pub fn committed<'e>(
        &self,
        env: &'e Env,
        partitions: Vec<BindingTopicPartition>,
    ) -> napi::Result<PromiseRaw<'e, BindingCommitted>> {
        let c = self.inner.clone();
        let tps: Vec<TopicPartition> = partitions
            .into_iter()
            .map(|p| TopicPartition::new(p.topic, p.partition))
            .collect();
        env.spawn_future(async move {
            Ok(match c.committed(tps).await {
                Ok(v) => BindingCommitted {
                    offsets: v
                        .into_iter()
                        .map(|(tp, o)| BindingOffset {
                            topic: tp.topic.to_string(),
                            partition: tp.partition,
                            offset: o.as_ref().map_or(-1.0, |o| o.offset as f64),
                            leader_epoch: o.as_ref().map(|o| o.leader_epoch),
                            metadata: o.and_then(|o| o.metadata),
                        })
                        .collect(),
                    error: None,
                },
                Err(e) => BindingCommitted {
                    offsets: Vec::new(),
                    error: Some(BindingError::from(&e)),
                },
            })
        })
    }

    /// Member id and generation, when in a group.
    #[napi(catch_unwind)]
    pub fn group_metadata(&self) -> Option<BindingGroupMetadata> {
        self.inner.group_metadata().map(|m| BindingGroupMetadata {
            group_id: m.group_id,
            member_id: m.member_id,
            generation_id: m.generation_id,
            group_instance_id: m.group_instance_id,
        })
    }

    /// Topic names in the cluster (for pattern subscriptions).
    #[napi(catch_unwind, ts_return_type = "Promise<BindingTopics>")]
    pub fn list_topics<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, BindingTopics>> {
        let c = self.inner.clone();
        env.spawn_future(async move {
            Ok(match c.list_topics().await {
                Ok(topics) => BindingTopics { topics, error: None },
                Err(e) => BindingTopics {
                    topics: Vec::new(),
                    error: Some(BindingError::from(&e)),
                },
            })
        })
    }

    /// Stops fetching and closes connections.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingError | null>")]
    pub fn close<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, Option<BindingError>>> {
        let c = self.inner.clone();
        env.spawn_future(async move { Ok(c.close().await.err().as_ref().map(BindingError::from)) })
    }
}
