//! Forwards the client crate's `tracing` events to each client's JS logger.
//!
//! One process-wide `tracing` subscriber, installed when the first logger registers. Every
//! event of the client crate carries a `client` field (its `ClientConfig::log_id`); the
//! subscriber looks that id up, checks the logger's level, formats the event and queues it.
//! The first entry queued after the JS side emptied the queue makes one non-blocking
//! threadsafe-function call; JS then takes every queued entry at once (`takeLogs`). So a
//! Tokio thread never waits on JS, and when every logger is off the static level hint is
//! OFF, which makes each `tracing` macro a single relaxed load and compare.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use napi::bindgen_prelude::{Either3, Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;

use crate::errors::Result;
use napi_derive::napi;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// Entries queued per logger before new ones are dropped (and counted) while JS is busy.
const QUEUE_CAP: usize = 10_000;

type LogsReady = ThreadsafeFunction<(), Unknown<'static>, (), Status, false, true>;

struct Sink {
    level: AtomicU8,
    queue: Mutex<Vec<BindingLogEntry>>,
    dropped: AtomicU64,
    notify: LogsReady,
}

/// One log entry for JS.
#[napi(object, object_from_js = false)]
pub struct BindingLogEntry {
    /// 'debug', 'info', 'warn' or 'error'.
    pub level: String,
    /// connection, producer, consumer, group, protocol, security, admin or client.
    pub namespace: String,
    pub message: String,
    pub fields: HashMap<String, Either3<String, f64, bool>>,
}

static SINKS: OnceLock<Mutex<HashMap<u64, Arc<Sink>>>> = OnceLock::new();
/// The most verbose level of any registered logger (0 = off, 1 = error ... 4 = debug).
static MAX: AtomicU8 = AtomicU8::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static INSTALLED: OnceLock<bool> = OnceLock::new();

fn sinks() -> &'static Mutex<HashMap<u64, Arc<Sink>>> {
    SINKS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: keep using it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn level_num(l: &Level) -> u8 {
    match *l {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        // TRACE is treated as debug: the client crate does not emit it.
        _ => 4,
    }
}

fn parse_level(s: &str) -> Result<u8> {
    Ok(match s {
        "off" => 0,
        "error" => 1,
        "warn" => 2,
        "info" => 3,
        "debug" => 4,
        _ => {
            return Err(napi::Error::new(
                "INVALID_CONFIG".to_string(),
                format!("logLevel: `{s}`; expected 'debug', 'info', 'warn', 'error' or 'off'"),
            ))
        }
    })
}

fn level_name(n: u8) -> &'static str {
    match n {
        1 => "error",
        2 => "warn",
        3 => "info",
        _ => "debug",
    }
}

fn namespace(target: &str) -> &'static str {
    let module = target.strip_prefix("nkafka_client::").unwrap_or(target);
    let head = module.split("::").next().unwrap_or("");
    match head {
        "conn" | "cluster" => "connection",
        "security" => "security",
        "producer" => "producer",
        "consumer" | "share" => "consumer",
        "group" => "group",
        "admin" | "offsets" => "admin",
        _ if target.starts_with("nkafka_protocol") => "protocol",
        _ => "client",
    }
}

/// Recomputes the static level hint after a logger was added or removed.
fn update_max() {
    let max = lock(sinks())
        .values()
        .map(|s| s.level.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    if MAX.swap(max, Ordering::AcqRel) != max {
        tracing::callsite::rebuild_interest_cache();
    }
}

struct Forward;

#[derive(Default)]
struct Fields {
    client: u64,
    message: String,
    fields: HashMap<String, Either3<String, f64, bool>>,
}

impl Visit for Fields {
    fn record_u64(&mut self, f: &Field, v: u64) {
        if f.name() == "client" {
            self.client = v;
        } else {
            self.fields.insert(f.name().to_string(), Either3::B(v as f64));
        }
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.fields.insert(f.name().to_string(), Either3::B(v as f64));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.fields.insert(f.name().to_string(), Either3::C(v));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        if f.name() == "message" {
            self.message = v.to_string();
        } else {
            self.fields.insert(f.name().to_string(), Either3::A(v.to_string()));
        }
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{v:?}"); // writing to a String cannot fail
        if f.name() == "message" {
            self.message = s;
        } else {
            self.fields.insert(f.name().to_string(), Either3::A(s));
        }
    }
}

/// The `client` field alone, so events of clients without a logger are not formatted.
struct ClientOnly(u64);

impl Visit for ClientOnly {
    fn record_u64(&mut self, f: &Field, v: u64) {
        if f.name() == "client" {
            self.0 = v;
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl Subscriber for Forward {
    fn register_callsite(&self, m: &'static Metadata<'static>) -> Interest {
        if level_num(m.level()) <= MAX.load(Ordering::Acquire) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match MAX.load(Ordering::Acquire) {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            _ => LevelFilter::DEBUG,
        })
    }

    fn enabled(&self, m: &Metadata<'_>) -> bool {
        level_num(m.level()) <= MAX.load(Ordering::Relaxed)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}

    fn event(&self, e: &Event<'_>) {
        let level = level_num(e.metadata().level());
        let mut id = ClientOnly(0);
        e.record(&mut id);
        let Some(sink) = lock(sinks()).get(&id.0).cloned() else {
            return;
        };
        if level > sink.level.load(Ordering::Relaxed) {
            return;
        }
        let mut q = lock(&sink.queue);
        if q.len() >= QUEUE_CAP {
            sink.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut f = Fields::default();
        e.record(&mut f);
        let was_empty = q.is_empty();
        q.push(BindingLogEntry {
            level: level_name(level).to_string(),
            namespace: namespace(e.metadata().target()).to_string(),
            message: f.message,
            fields: f.fields,
        });
        drop(q);
        if was_empty {
            sink.notify.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// Registers a JS logger at `level`; `on_logs` is called (no arguments) when entries are
/// queued and should call `takeLogs(id)`. Returns the id to pass as `logId` in the
/// client config. The threadsafe function is weak: it never keeps Node alive.
#[napi(catch_unwind)]
pub fn register_logger(on_logs: Function<(), Unknown<'static>>, level: String) -> Result<f64> {
    let level = parse_level(&level)?;
    let notify: LogsReady = on_logs
        .build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .weak::<true>()
        .build()
        .map_err(|e| napi::Error::new(e.status.as_ref().to_string(), e.reason.clone()))?;
    INSTALLED.get_or_init(|| tracing::subscriber::set_global_default(Forward).is_ok());
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    lock(sinks()).insert(
        id,
        Arc::new(Sink {
            level: AtomicU8::new(level),
            queue: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
            notify,
        }),
    );
    update_max();
    Ok(id as f64)
}

/// Forgets a logger (its client closed); queued entries are dropped.
#[napi(catch_unwind)]
pub fn unregister_logger(id: f64) {
    lock(sinks()).remove(&(id as u64));
    update_max();
}

/// Every entry queued for the logger, oldest first, plus a warning counting entries
/// dropped because the queue was full.
#[napi(catch_unwind)]
pub fn take_logs(id: f64) -> Vec<BindingLogEntry> {
    let Some(sink) = lock(sinks()).get(&(id as u64)).cloned() else {
        return Vec::new();
    };
    let mut out = std::mem::take(&mut *lock(&sink.queue));
    let dropped = sink.dropped.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        out.push(BindingLogEntry {
            level: "warn".to_string(),
            namespace: "client".to_string(),
            message: "log entries dropped: the logger did not keep up".to_string(),
            fields: HashMap::from([("dropped".to_string(), Either3::B(dropped as f64))]),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_namespaces() {
        assert_eq!(namespace("nkafka_client::conn"), "connection");
        assert_eq!(namespace("nkafka_client::cluster"), "connection");
        assert_eq!(namespace("nkafka_client::producer::sender"), "producer");
        assert_eq!(namespace("nkafka_client::group::member"), "group");
        assert_eq!(namespace("nkafka_client::consumer::fetcher"), "consumer");
        assert_eq!(namespace("nkafka_client::share::fetch"), "consumer");
        assert_eq!(namespace("nkafka_client::security::sasl"), "security");
        assert_eq!(namespace("nkafka_protocol::frame"), "protocol");
        assert!(parse_level("verbose").is_err());
        assert_eq!(parse_level("warn").unwrap(), 2);
    }
}
