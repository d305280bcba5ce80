//! `BindingProducer`: the produce fast path (one synchronous napi call per record that
//! borrows the key and value bytes for the duration of the call and copies them straight
//! into the partition's batch), report hand-off, and the async calls.

use std::cell::RefCell;
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use napi::bindgen_prelude::{
    Env, FromNapiValue, Function, PromiseRaw, TypeName, Unknown, ValidateNapiValue, ValueType,
};
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use nkafka_client::producer::{BatchReport, Persisted, Producer, Record};
use nkafka_client::protocol::record_batch::{Header, Records};
use nkafka_client::Error;

use crate::config::BindingProducerConfig;
use crate::errors::{to_napi, BindingError, Result};
use crate::rows;

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
    /// Row of this batch's first record in the index `takeRecords()` returns (producers
    /// built with `withRecords` only).
    pub first_row: u32,
    /// Per-record tokens, when any record carried one.
    pub tokens: Option<Vec<f64>>,
    /// Per-record timestamps, alongside tokens.
    pub timestamps: Option<Vec<f64>>,
    pub error: Option<BindingError>,
    /// 'persisted', 'not_persisted' or 'possibly_persisted'.
    pub persisted: String,
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
    pub producer_id: f64,
    pub producer_epoch: i32,
    /// Broker connections attempted (bad credentials show as slow growth, not a storm).
    pub connection_attempts: f64,
    /// KIP-368 re-authentications of live connections.
    pub reauthentications: f64,
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

/// A topic's partition count, or the error that kept it unknown.
#[napi(object)]
pub struct BindingPartitionCount {
    pub count: i32,
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

/// What the raw fast-path function needs, owned by that JS function (freed by its
/// finalizer).
struct FastState {
    producer: Arc<Producer>,
    key_scratch: RefCell<Vec<u8>>,
    value_scratch: RefCell<Vec<u8>>,
}

/// Throws a JS Error with `code` set, the way napi-rs errors appear.
unsafe fn throw(env: sys::napi_env, code: &str, message: &str) {
    let code = std::ffi::CString::new(code).unwrap_or_default();
    let message = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: env is the live env of the current callback; both strings are
    // NUL-terminated and outlive the call.
    unsafe { sys::napi_throw_error(env, code.as_ptr(), message.as_ptr()) };
}

/// Reads the arguments of the fast function. Its shapes, by argument count:
/// 2: `(topicId, value)` (null key); 3: `(topicId, key, value)`;
/// 6: `(topicId, partition, key, value, timestamp, token)`. The short forms mean
/// partition -1 (partitioner), timestamp now, token 0, and save napi calls on the hottest
/// path.
fn produce_args(
    state: &FastState,
    env: sys::napi_env,
    argc: usize,
    argv: &[sys::napi_value; 6],
) -> nkafka_client::Result<()> {
    let mut topic_id = 0u32;
    let mut partition = -1i32;
    let mut timestamp = -1f64;
    let mut token = 0f64;
    let bad = || {
        Error::argument(
            "produce arguments",
            "topic id, partition, timestamp and token must be numbers",
        )
    };
    // SAFETY: env/argv come from this callback. A number getter fails on a non-number
    // (status != ok) and leaves the out value untouched.
    unsafe {
        if sys::napi_get_value_uint32(env, argv[0], &mut topic_id) != sys::Status::napi_ok {
            return Err(bad());
        }
        if argc == 6
            && (sys::napi_get_value_int32(env, argv[1], &mut partition) != sys::Status::napi_ok
                || sys::napi_get_value_double(env, argv[4], &mut timestamp) != sys::Status::napi_ok
                || sys::napi_get_value_double(env, argv[5], &mut token) != sys::Status::napi_ok)
        {
            return Err(bad());
        }
    }
    let (key_arg, value_arg) = match argc {
        2 => (None, argv[1]),
        3 => (Some(argv[1]), argv[2]),
        _ => (Some(argv[2]), argv[3]),
    };
    let mut ks = state.key_scratch.borrow_mut();
    let mut vs = state.value_scratch.borrow_mut();
    let key = match key_arg {
        Some(k) => read_bytes(&Raw { env, value: k }, &mut ks, "key")?,
        None => None,
    };
    let value = read_bytes(&Raw { env, value: value_arg }, &mut vs, "value")?;
    let rec = Record {
        key,
        value,
        headers: &[],
        timestamp: if timestamp < 0.0 { now_ms() } else { timestamp as i64 },
        partition: (partition >= 0).then_some(partition),
        token,
    };
    state.producer.produce(topic_id, &rec)
}

/// The fast path as a plain N-API callback: no class unwrapping, no argument marshalling
/// beyond the raw getters. `data` is the function's FastState.
unsafe extern "C" fn fast_produce(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut argc = 6usize;
    let mut argv: [sys::napi_value; 6] = [ptr::null_mut(); 6];
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    // SAFETY: info is this callback's; argv has room for argc values.
    let status = unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) };
    if status != sys::Status::napi_ok || !matches!(argc, 2 | 3 | 6) || data.is_null() {
        // SAFETY: live env of this callback.
        unsafe { throw(env, "INVALID_ARGUMENT", "produce takes 2, 3 or 6 arguments") };
        return ptr::null_mut();
    }
    // SAFETY: data is the FastState boxed in fast_produce_fn, alive until this function
    // object is finalized, which cannot happen while it is being called.
    let state = unsafe { &*(data as *const FastState) };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| produce_args(state, env, argc, &argv)));
    match result {
        Ok(Ok(())) => {}
        // SAFETY: live env of this callback.
        Ok(Err(e)) => unsafe { throw(env, e.code(), &e.message) },
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            // SAFETY: live env of this callback.
            unsafe { throw(env, "INTERNAL", &format!("nkafka internal error (a bug): {msg}")) };
        }
    }
    ptr::null_mut()
}

unsafe extern "C" fn drop_fast_state(_env: sys::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    // SAFETY: data is the Box<FastState> leaked in fast_produce_fn; the finalizer runs once.
    drop(unsafe { Box::from_raw(data as *mut FastState) });
}

/// What `take_records` needs of a reported batch.
struct StashedBatch {
    records: bytes::Bytes,
    count: i32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: i64,
}

/// The native half of `Producer`.
#[napi]
pub struct BindingProducer {
    inner: Arc<Producer>,
    notify: Arc<ReportsReady>,
    with_records: bool,
    /// Batches of the last `take_reports`, until `take_records` copies them to JS.
    records_stash: RefCell<Vec<StashedBatch>>,
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
        mut config: BindingProducerConfig,
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
            records_stash: RefCell::new(Vec::new()),
            key_scratch: RefCell::new(Vec::new()),
            value_scratch: RefCell::new(Vec::new()),
        })
    }

    /// The fast path as a plain function bound to this producer, a fraction of a class
    /// method's call overhead (measured: ~0.35 us against ~1.4 us per call). Forms:
    /// `(topicId, value)`, `(topicId, key, value)`, and
    /// `(topicId, partition, key, value, timestamp, token)` with `produce`'s meaning.
    #[napi(
        catch_unwind,
        ts_return_type = "{ (topicId: number, value: Uint8Array | string | null | undefined): void; (topicId: number, key: Uint8Array | string | null | undefined, value: Uint8Array | string | null | undefined): void; (topicId: number, partition: number, key: Uint8Array | string | null | undefined, value: Uint8Array | string | null | undefined, timestamp: number, token: number): void }"
    )]
    pub fn fast_produce_fn(&self, env: Env) -> Result<Unknown<'_>> {
        let state = Box::into_raw(Box::new(FastState {
            producer: self.inner.clone(),
            key_scratch: RefCell::new(Vec::new()),
            value_scratch: RefCell::new(Vec::new()),
        }));
        let name = c"produce";
        let mut f: sys::napi_value = ptr::null_mut();
        // SAFETY: env is live; state stays valid until the finalizer below frees it.
        let ok = unsafe {
            sys::napi_create_function(env.raw(), name.as_ptr(), 7, Some(fast_produce), state as *mut _, &mut f)
                == sys::Status::napi_ok
                && sys::napi_add_finalizer(
                    env.raw(),
                    f,
                    state as *mut _,
                    Some(drop_fast_state),
                    ptr::null_mut(),
                    ptr::null_mut(),
                ) == sys::Status::napi_ok
        };
        if !ok {
            // SAFETY: not handed to JS: reclaim it.
            drop(unsafe { Box::from_raw(state) });
            return Err(napi::Error::new(
                "INTERNAL".to_string(),
                "cannot create the produce function".to_string(),
            ));
        }
        // SAFETY: f is a valid function value in this env.
        unsafe { Unknown::from_napi_value(env.raw(), f) }
            .map_err(|e| napi::Error::new("INTERNAL".to_string(), e.reason.clone()))
    }

    /// Interns a topic name; validates it against Kafka's rules.
    #[napi(catch_unwind)]
    pub fn topic_id(&self, name: String) -> Result<u32> {
        self.inner.topic_id(&name).map_err(to_napi)
    }

    /// The fast function's 6-argument form plus headers, given as a flat array
    /// `[key1, value1, key2, ...]`: keys are strings, values bytes, strings or null.
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
        if !headers.len().is_multiple_of(2) {
            return Err(to_napi(Error::argument("headers", "must be [key, value] pairs")));
        }
        // Copy header bytes into one arena, then borrow slices of it.
        let mut arena: Vec<u8> = Vec::new();
        // (key start, key end, value span) per header, into `arena`.
        type Span = (usize, usize, Option<(usize, usize)>);
        let mut spans: Vec<Span> = Vec::with_capacity(headers.len() / 2);
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

    /// Takes every report ready so far (frees their buffer memory). With `withRecords`,
    /// each report's records are at rows `firstRow..+count` of the index the next
    /// `takeRecords()` returns.
    #[napi(catch_unwind)]
    pub fn take_reports(&self) -> Vec<BindingReport> {
        let with_records = self.with_records;
        let mut stash = self.records_stash.borrow_mut();
        let mut rows = 0u32;
        self.inner
            .take_reports()
            .into_iter()
            .map(|r| {
                let has_tokens = !r.tokens.is_empty();
                let first_row = rows;
                if with_records {
                    rows += r.count.max(0) as u32;
                    stash.push(StashedBatch {
                        records: r.records.clone(),
                        count: r.count,
                        base_offset: r.base_offset,
                        base_timestamp: r.base_timestamp,
                        log_append_time: r.log_append_time,
                    });
                }
                BindingReport {
                    topic_id: r.topic,
                    partition: r.partition,
                    base_offset: r.base_offset as f64,
                    log_append_time: r.log_append_time as f64,
                    base_timestamp: r.base_timestamp as f64,
                    count: r.count,
                    timestamps: has_tokens.then(|| record_timestamps(&r)),
                    first_row,
                    tokens: has_tokens.then_some(r.tokens),
                    error: r.error.as_ref().map(BindingError::from),
                    persisted: match r.persisted {
                        Persisted::Yes => "persisted",
                        Persisted::No => "not_persisted",
                        Persisted::Maybe => "possibly_persisted",
                    }
                    .to_string(),
                }
            })
            .collect()
    }

    /// The records of the reports the last `takeReports()` returned, indexed by the one
    /// record reader, in the shape of [`crate::rows`]: each report's records start at its
    /// `firstRow`.
    #[napi(catch_unwind, ts_return_type = "ArrayBuffer")]
    pub fn take_records(&self, env: Env) -> Result<Unknown<'_>> {
        let batches = std::mem::take(&mut *self.records_stash.borrow_mut());
        let log_id = self.inner.config().client.log_id;
        let rows: usize = batches.iter().map(|b| b.count.max(0) as usize).sum();
        let data: usize = batches.iter().map(|b| b.records.len()).sum();
        rows::array_buffer(env, rows, data, |index, area| {
            let mut base = 0usize;
            for b in &batches {
                area[base..base + b.records.len()].copy_from_slice(&b.records);
                let shift = |pos: u32| (base + pos as usize) as f64;
                let mut records = Records::new(&b.records, b.count);
                for _ in 0..b.count.max(0) {
                    match records.next_index() {
                        Some(Ok(r)) => index.push([
                            if b.base_offset < 0 {
                                -1.0
                            } else {
                                (b.base_offset + i64::from(r.offset_delta)) as f64
                            },
                            if b.log_append_time >= 0 {
                                b.log_append_time as f64
                            } else {
                                b.base_timestamp.wrapping_add(r.timestamp_delta) as f64
                            },
                            shift(r.key_start),
                            r.key_len as f64,
                            shift(r.value_start),
                            r.value_len as f64,
                            shift(r.headers_start),
                            r.header_count as f64,
                        ]),
                        // These are the bytes this producer encoded: unreadable means a bug.
                        // The report still carries offset and outcome; key, value and
                        // headers read as null.
                        other => {
                            if let Some(Err(e)) = other {
                                tracing::error!(client = log_id, cause = %e, "a delivered batch's own records do not parse (a bug)");
                            }
                            index.push([-1.0, b.base_timestamp as f64, 0.0, -1.0, 0.0, -1.0, 0.0, 0.0]);
                        }
                    }
                }
                base += b.records.len();
            }
        })
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

    /// Registers the transactional id (fences older producers with it).
    #[napi(catch_unwind, ts_return_type = "Promise<BindingError | null>")]
    pub fn init_transactions<'e>(
        &self,
        env: &'e Env,
        timeout_ms: f64,
    ) -> napi::Result<PromiseRaw<'e, Option<BindingError>>> {
        let p = self.inner.clone();
        let t = Duration::from_millis(timeout_ms.max(0.0) as u64);
        env.spawn_future(async move { Ok(p.init_transactions(t).await.err().as_ref().map(BindingError::from)) })
    }

    /// Opens a transaction.
    #[napi(catch_unwind)]
    pub fn begin_transaction(&self) -> Result<()> {
        self.inner.begin_transaction().map_err(to_napi)
    }

    /// Adds a consumer's offsets to the open transaction.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingError | null>")]
    pub fn send_offsets_to_transaction<'e>(
        &self,
        env: &'e Env,
        offsets: Vec<crate::consumer::BindingOffset>,
        group: crate::consumer::BindingGroupMetadata,
        timeout_ms: f64,
    ) -> napi::Result<PromiseRaw<'e, Option<BindingError>>> {
        let p = self.inner.clone();
        let t = Duration::from_millis(timeout_ms.max(0.0) as u64);
        let offsets = offsets
            .into_iter()
            .map(|o| nkafka_client::types::OffsetAndMetadata {
                tp: nkafka_client::types::TopicPartition::new(o.topic, o.partition),
                offset: o.offset as i64,
                leader_epoch: o.leader_epoch.unwrap_or(-1),
                metadata: o.metadata,
            })
            .collect();
        let group = nkafka_client::group::GroupMetadata {
            group_id: group.group_id,
            member_id: group.member_id,
            generation_id: group.generation_id,
            group_instance_id: group.group_instance_id,
        };
        env.spawn_future(async move {
            Ok(p.send_offsets_to_transaction(offsets, group, t)
                .await
                .err()
                .as_ref()
                .map(BindingError::from))
        })
    }

    /// Commits the open transaction.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingError | null>")]
    pub fn commit_transaction<'e>(
        &self,
        env: &'e Env,
        timeout_ms: f64,
    ) -> napi::Result<PromiseRaw<'e, Option<BindingError>>> {
        let p = self.inner.clone();
        let t = Duration::from_millis(timeout_ms.max(0.0) as u64);
        env.spawn_future(async move { Ok(p.commit_transaction(t).await.err().as_ref().map(BindingError::from)) })
    }

    /// Aborts the open (or failed) transaction.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingError | null>")]
    pub fn abort_transaction<'e>(
        &self,
        env: &'e Env,
        timeout_ms: f64,
    ) -> napi::Result<PromiseRaw<'e, Option<BindingError>>> {
        let p = self.inner.clone();
        let t = Duration::from_millis(timeout_ms.max(0.0) as u64);
        env.spawn_future(async move { Ok(p.abort_transaction(t).await.err().as_ref().map(BindingError::from)) })
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

    /// Partition count of an interned topic; -1 until metadata names it.
    #[napi(catch_unwind)]
    pub fn partition_count(&self, topic_id: u32) -> i32 {
        self.inner.partition_count(topic_id).map_or(-1, |n| n as i32)
    }

    /// Waits (up to maxBlockMs) until metadata names the topic's partitions.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingPartitionCount>")]
    pub fn wait_for_partitions<'e>(
        &self,
        env: &'e Env,
        topic_id: u32,
    ) -> napi::Result<PromiseRaw<'e, BindingPartitionCount>> {
        let p = self.inner.clone();
        env.spawn_future(async move {
            Ok(match p.wait_for_partitions(topic_id).await {
                Ok(n) => BindingPartitionCount {
                    count: n as i32,
                    error: None,
                },
                Err(e) => BindingPartitionCount {
                    count: -1,
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
            producer_id: s.producer_id as f64,
            producer_epoch: s.producer_epoch as i32,
            connection_attempts: s.connection_attempts as f64,
            reauthentications: s.reauthentications as f64,
        }
    }
}
