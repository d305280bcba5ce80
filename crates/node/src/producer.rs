//! `BindingProducer`: the produce fast path (one synchronous napi call per record that
//! borrows the key and value bytes for the duration of the call and copies them straight
//! into the partition's batch), report hand-off, and the async calls.

use std::cell::RefCell;
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use napi::bindgen_prelude::{
    Buffer, Env, FromNapiValue, Function, PromiseRaw, TypeName, Unknown, ValidateNapiValue, ValueType,
};
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use nkafka_client::producer::{BatchReport, Producer, Record};
use nkafka_client::protocol::record_batch::{Header, Records};
use nkafka_client::Error;

use crate::config::BindingProducerConfig;
use crate::errors::{to_napi, BindingError, Result};

/// A JS value taken as-is, inspected with raw napi calls on the fast path.
pub struct Raw {
    env: sys::napi_env,
    value: sys::napi_value,
}

impl FromNapiValue for Raw {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        Ok(Raw { env, value })
    }
}

impl TypeName for Raw {
    fn type_name() -> &'static str {
        "Buffer | Uint8Array | string | null"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for Raw {}

/// Reads a key, value or header value: a Buffer or any ArrayBufferView is borrowed in
/// place; a string is encoded as UTF-8 into `scratch`; null and undefined are `None`.
fn read_bytes<'a>(raw: &Raw, scratch: &'a mut Vec<u8>, what: &str) -> std::result::Result<Option<&'a [u8]>, Error> {
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    let mut len: usize = 0;
    // SAFETY: env and value come from the current napi callback and stay valid for it;
    // napi_get_buffer_info only writes the two out-pointers, and fails (without a pending
    // exception) for values that are not ArrayBufferViews.
    let status = unsafe { sys::napi_get_buffer_info(raw.env, raw.value, &mut data, &mut len) };
    if status == sys::Status::napi_ok {
        if len == 0 {
            return Ok(Some(&[]));
        }
        // SAFETY: the view's bytes stay alive and unmoved during this synchronous call (JS
        // cannot run, and V8 does not move ArrayBuffer backing stores); we copy them into
        // the batch before returning.
        let bytes = unsafe { std::slice::from_raw_parts(data as *const u8, len) };
        // Extend the borrow to 'a: it ends with the call, like `scratch`'s.
        return Ok(Some(unsafe { std::mem::transmute::<&[u8], &'a [u8]>(bytes) }));
    }
    let mut t = 0;
    // SAFETY: as above; napi_typeof only writes `t`.
    unsafe { sys::napi_typeof(raw.env, raw.value, &mut t) };
    match t {
        sys::ValueType::napi_null | sys::ValueType::napi_undefined => Ok(None),
        sys::ValueType::napi_string => {
            let mut n = 0usize;
            // SAFETY: a null buffer asks for the UTF-8 length only.
            unsafe { sys::napi_get_value_string_utf8(raw.env, raw.value, ptr::null_mut(), 0, &mut n) };
            scratch.clear();
            scratch.reserve(n + 1);
            let mut written = 0usize;
            // SAFETY: scratch has room for n bytes plus the NUL napi always writes.
            unsafe {
                sys::napi_get_value_string_utf8(
                    raw.env,
                    raw.value,
                    scratch.as_mut_ptr() as *mut std::ffi::c_char,
                    n + 1,
                    &mut written,
                );
                scratch.set_len(written);
            }
            Ok(Some(&scratch[..]))
        }
        _ => Err(Error::argument(
            what,
            "must be a Buffer, Uint8Array, string, null or undefined",
        )),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The outcome of one batch, as JS sees it.
#[napi(object)]
pub struct BindingReport {
    pub topic_id: u32,
    /// -1 when the records never got a partition.
    pub partition: i32,
    /// Offset of the first record, -1 when unknown (error, acks=0).
    pub base_offset: f64,
    /// LogAppendTime, or -1 when records keep their CreateTime.
    pub log_append_time: f64,
    /// Base of the record timestamps.
    pub base_timestamp: f64,
    pub count: i32,
    /// The encoded records (RecordBatch v2 records section), when the producer was built
    /// with `withRecords`.
    pub records: Option<Buffer>,
    /// Per-record tokens, when any record carried one.
    pub tokens: Option<Vec<f64>>,
    /// Per-record timestamps, alongside tokens.
    pub timestamps: Option<Vec<f64>>,
    pub error: Option<BindingError>,
}

fn record_timestamps(r: &BatchReport) -> Vec<f64> {
    if r.log_append_time >= 0 {
        return vec![r.log_append_time as f64; r.count.max(0) as usize];
    }
    Records::new(&r.records, r.count)
        .map(|rec| {
            rec.map(|x| r.base_timestamp.wrapping_add(x.timestamp_delta) as f64)
                .unwrap_or(-1.0)
        })
        .collect()
}

/// Counters from `stats()`.
#[napi(object)]
pub struct BindingProducerStats {
    pub buffered_bytes: f64,
    pub outstanding: f64,
    pub requests: f64,
    pub max_in_flight: u32,
    pub retries: f64,
    pub metadata_refreshes: f64,
}

/// A broker in a cluster description.
#[napi(object)]
pub struct BindingBroker {
    pub node_id: i32,
    pub host: String,
    pub port: u32,
    pub rack: Option<String>,
}

/// A partition in a topic description.
#[napi(object)]
pub struct BindingPartition {
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error: Option<String>,
}

/// A topic in a cluster description.
#[napi(object)]
pub struct BindingTopic {
    pub name: String,
    pub error: Option<String>,
    pub is_internal: bool,
    pub partitions: Vec<BindingPartition>,
}

/// Cluster metadata.
#[napi(object)]
pub struct BindingCluster {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: Vec<BindingBroker>,
    pub topics: Vec<BindingTopic>,
}

/// Either a cluster description or the error that prevented it.
#[napi(object)]
pub struct BindingClusterResult {
    pub cluster: Option<BindingCluster>,
    pub error: Option<BindingError>,
}

pub fn cluster_to_js(meta: &nkafka_client::cluster::Metadata) -> BindingCluster {
    let mut brokers: Vec<BindingBroker> = meta
        .brokers
        .values()
        .map(|b| BindingBroker {
            node_id: b.id,
            host: b.addr.host.clone(),
            port: b.addr.port as u32,
            rack: b.rack.clone(),
        })
        .collect();
    brokers.sort_by_key(|b| b.node_id);
    let mut topics: Vec<BindingTopic> = meta
        .topics
        .values()
        .map(|t| BindingTopic {
            name: t.name.clone(),
            error: (!t.error.is_ok()).then(|| t.error.name().to_string()),
            is_internal: t.is_internal,
            partitions: t
                .partitions
                .iter()
                .map(|p| BindingPartition {
                    partition: p.id,
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    error: (!p.error.is_ok()).then(|| p.error.name().to_string()),
                })
                .collect(),
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    BindingCluster {
        cluster_id: meta.cluster_id.clone(),
        controller_id: meta.controller_id,
        brokers,
        topics,
    }
}

type ReportsReady = ThreadsafeFunction<(), Unknown<'static>, (), Status, false, true>;

/// The native half of `Producer`.
#[napi]
pub struct BindingProducer {
    inner: Arc<Producer>,
    notify: Arc<ReportsReady>,
    with_records: bool,
    key_scratch: RefCell<Vec<u8>>,
    value_scratch: RefCell<Vec<u8>>,
}

#[napi]
impl BindingProducer {
    /// `on_reports` is called (with no arguments) when reports are ready; it should call
    /// `takeReports()`. With `with_records`, reports carry the encoded records so JS can
    /// rebuild keys and values lazily.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        config: BindingProducerConfig,
        on_reports: Function<(), Unknown<'static>>,
        with_records: bool,
    ) -> Result<Self> {
        let cfg = config.convert().map_err(to_napi)?;
        let notify: Arc<ReportsReady> = Arc::new(
            on_reports
                .build_threadsafe_function::<()>()
                .callee_handled::<false>()
                .weak::<true>()
                .build()
                .map_err(|e| napi::Error::new(e.status.as_ref().to_string(), e.reason.clone()))?,
        );
        let n = notify.clone();
        let inner = napi::bindgen_prelude::within_runtime_if_available(|| {
            Producer::new(
                cfg,
                Box::new(move || {
                    n.call((), ThreadsafeFunctionCallMode::NonBlocking);
                }),
            )
        })
        .map_err(to_napi)?;
        Ok(BindingProducer {
            inner: Arc::new(inner),
            notify,
            with_records,
            key_scratch: RefCell::new(Vec::new()),
            value_scratch: RefCell::new(Vec::new()),
        })
    }

    /// Interns a topic name; validates it against Kafka's rules.
    #[napi(catch_unwind)]
    pub fn topic_id(&self, name: String) -> Result<u32> {
        self.inner.topic_id(&name).map_err(to_napi)
    }

    /// The fast path. `partition` < 0 lets the partitioner choose; `timestamp` < 0 means
    /// now; `token` is returned in the report (0 for none).
    #[napi(
        catch_unwind,
        ts_args_type = "topicId: number, partition: number, key: Uint8Array | string | null | undefined, value: Uint8Array | string | null | undefined, timestamp: number, token: number"
    )]
    pub fn produce(
        &self,
        topic_id: u32,
        partition: i32,
        key: Raw,
        value: Raw,
        timestamp: f64,
        token: f64,
    ) -> Result<()> {
        let mut ks = self.key_scratch.borrow_mut();
        let mut vs = self.value_scratch.borrow_mut();
        let key = read_bytes(&key, &mut ks, "key").map_err(to_napi)?;
        let value = read_bytes(&value, &mut vs, "value").map_err(to_napi)?;
        let rec = Record {
            key,
            value,
            headers: &[],
            timestamp: if timestamp < 0.0 { now_ms() } else { timestamp as i64 },
            partition: (partition >= 0).then_some(partition),
            token,
        };
        self.inner.produce(topic_id, &rec).map_err(to_napi)
    }

    /// Like `produce`, with headers given as a flat array `[key1, value1, key2, ...]`:
    /// keys are strings, values bytes, strings or null.
    #[napi(
        catch_unwind,
        ts_args_type = "topicId: number, partition: number, key: Uint8Array | string | null | undefined, value: Uint8Array | string | null | undefined, timestamp: number, token: number, headers: Array<Uint8Array | string | null | undefined>"
    )]
    #[allow(clippy::too_many_arguments)] // mirrors produce() plus headers; called from TS only
    pub fn produce_with_headers(
        &self,
        env: Env,
        topic_id: u32,
        partition: i32,
        key: Raw,
        value: Raw,
        timestamp: f64,
        token: f64,
        headers: Vec<Unknown<'_>>,
    ) -> Result<()> {
        if headers.len() % 2 != 0 {
            return Err(to_napi(Error::argument("headers", "must be [key, value] pairs")));
        }
        // Copy header bytes into one arena, then borrow slices of it.
        let mut arena: Vec<u8> = Vec::new();
        let mut spans: Vec<(usize, usize, Option<(usize, usize)>)> = Vec::with_capacity(headers.len() / 2);
        let mut scratch = Vec::new();
        for pair in headers.chunks(2) {
            let (k, v) = (&pair[0], &pair[1]);
            if k.get_type()
                .map_err(|e| to_napi(Error::argument("header key", e.reason.clone())))?
                != ValueType::String
            {
                return Err(to_napi(Error::argument("header key", "must be a string")));
            }
            let kraw = Raw {
                env: env.raw(),
                value: napi::JsValue::value(k).value,
            };
            let kb = read_bytes(&kraw, &mut scratch, "header key")
                .map_err(to_napi)?
                .unwrap_or(&[]);
            let ks = arena.len();
            arena.extend_from_slice(kb);
            let kspan = (ks, arena.len());
            let vraw = Raw {
                env: env.raw(),
                value: napi::JsValue::value(v).value,
            };
            let vb = read_bytes(&vraw, &mut scratch, "header value").map_err(to_napi)?;
            let vspan = vb.map(|b| {
                let s = arena.len();
                arena.extend_from_slice(b);
                (s, arena.len())
            });
            spans.push((kspan.0, kspan.1, vspan));
        }
        let hs: Vec<Header<'_>> = spans
            .iter()
            .map(|&(ks, ke, v)| Header {
                key: &arena[ks..ke],
                value: v.map(|(s, e)| &arena[s..e]),
            })
            .collect();
        let mut kscr = self.key_scratch.borrow_mut();
        let mut vscr = self.value_scratch.borrow_mut();
        let key = read_bytes(&key, &mut kscr, "key").map_err(to_napi)?;
        let value = read_bytes(&value, &mut vscr, "value").map_err(to_napi)?;
        let rec = Record {
            key,
            value,
            headers: &hs,
            timestamp: if timestamp < 0.0 { now_ms() } else { timestamp as i64 },
            partition: (partition >= 0).then_some(partition),
            token,
        };
        self.inner.produce(topic_id, &rec).map_err(to_napi)
    }

    /// Takes every report ready so far (frees their buffer memory).
    #[napi(catch_unwind)]
    pub fn take_reports(&self) -> Vec<BindingReport> {
        let with_records = self.with_records;
        self.inner
            .take_reports()
            .into_iter()
            .map(|r| {
                let has_tokens = !r.tokens.is_empty();
                BindingReport {
                    topic_id: r.topic,
                    partition: r.partition,
                    base_offset: r.base_offset as f64,
                    log_append_time: r.log_append_time as f64,
                    base_timestamp: r.base_timestamp as f64,
                    count: r.count,
                    timestamps: has_tokens.then(|| record_timestamps(&r)),
                    records: with_records.then(|| Buffer::from(r.records.to_vec())),
                    tokens: has_tokens.then_some(r.tokens),
                    error: r.error.as_ref().map(BindingError::from),
                }
            })
            .collect()
    }

    /// Keeps the Node process alive (true) while records are pending, or lets it exit.
    #[napi(catch_unwind)]
    pub fn set_ref(&self, env: Env, keep_alive: bool) -> Result<()> {
        let raw = self.notify.raw();
        // SAFETY: called on the JS thread with a live env; the tsfn lives as long as self.
        let status = unsafe {
            if keep_alive {
                sys::napi_ref_threadsafe_function(env.raw(), raw)
            } else {
                sys::napi_unref_threadsafe_function(env.raw(), raw)
            }
        };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(
                "INTERNAL".to_string(),
                format!("napi ref/unref failed: {status}"),
            ));
        }
        Ok(())
    }

    /// Resolves with `null` once everything produced so far is reported, or with the
    /// error (TIMEOUT names how many records are still pending).
    #[napi(catch_unwind, ts_return_type = "Promise<BindingError | null>")]
    pub fn flush<'e>(&self, env: &'e Env, timeout_ms: f64) -> napi::Result<PromiseRaw<'e, Option<BindingError>>> {
        let p = self.inner.clone();
        let t = Duration::from_millis(timeout_ms.max(0.0) as u64);
        env.spawn_future(async move { Ok(p.flush(t).await.err().as_ref().map(BindingError::from)) })
    }

    /// Flushes within the timeout, then fails what is left and closes connections.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingError | null>")]
    pub fn close<'e>(&self, env: &'e Env, timeout_ms: f64) -> napi::Result<PromiseRaw<'e, Option<BindingError>>> {
        let p = self.inner.clone();
        let t = Duration::from_millis(timeout_ms.max(0.0) as u64);
        env.spawn_future(async move { Ok(p.close(t).await.err().as_ref().map(BindingError::from)) })
    }

    /// Fetches metadata: proves the cluster is reachable and describes it.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingClusterResult>")]
    pub fn connect<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, BindingClusterResult>> {
        let p = self.inner.clone();
        env.spawn_future(async move {
            Ok(match p.connect().await {
                Ok(m) => BindingClusterResult {
                    cluster: Some(cluster_to_js(&m)),
                    error: None,
                },
                Err(e) => BindingClusterResult {
                    cluster: None,
                    error: Some(BindingError::from(&e)),
                },
            })
        })
    }

    /// Counters.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> BindingProducerStats {
        let s = self.inner.stats();
        BindingProducerStats {
            buffered_bytes: s.buffered_bytes as f64,
            outstanding: s.outstanding as f64,
            requests: s.requests as f64,
            max_in_flight: s.max_in_flight as u32,
            retries: s.retries as f64,
            metadata_refreshes: s.metadata_refreshes as f64,
        }
    }
}
