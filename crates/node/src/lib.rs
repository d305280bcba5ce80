//! napi-rs binding for nkafka: `Binding*` classes over `nkafka-client`, conversions, and the
//! threadsafe functions that tell JS when delivery reports are ready and ask the JS
//! OAUTHBEARER token provider for tokens (`oauth.rs`). No Kafka logic here.
//!
//! Every exported function is `catch_unwind`: a Rust panic becomes a JS exception with code
//! `INTERNAL`, never an abort of the Node process.

mod admin;
mod config;
mod consumer;
mod errors;
// Only napi's registration code (absent under `cargo test`) uses its exports.
#[cfg_attr(test, allow(dead_code))]
mod log;
mod oauth;
mod producer;

use napi_derive::napi;

/// One tokio runtime for every client in the process. Two workers: the machines this
/// targets often run the broker on the same cores, and the sender's work per request is
/// small; `NKAFKA_WORKER_THREADS` overrides it.
#[napi_derive::module_init]
fn init() {
    let workers = std::env::var("NKAFKA_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("nkafka")
        .enable_all()
        .build()
        .expect("cannot start the nkafka runtime threads");
    napi::bindgen_prelude::create_custom_tokio_runtime(rt);
}

/// Version of the native core, to check that JS and the addon match.
#[napi(catch_unwind)]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Kafka's error table (code, name, retriable), so JS can classify codes it sees.
#[napi(object)]
pub struct BindingErrorCode {
    /// Wire code.
    pub code: i32,
    /// Kafka's name, e.g. `NOT_LEADER_OR_FOLLOWER`.
    pub name: String,
    /// Whether retrying can succeed.
    pub retriable: bool,
    /// Kafka's description.
    pub description: String,
}

/// Every Kafka error code this build knows.
#[napi(catch_unwind)]
pub fn error_codes() -> Vec<BindingErrorCode> {
    nkafka_client::protocol::error::all()
        .iter()
        .map(|e| BindingErrorCode {
            code: e.code.0 as i32,
            name: e.name.to_string(),
            retriable: e.retriable,
            description: e.description.to_string(),
        })
        .collect()
}

/// Panics on purpose, so tests can prove a panic becomes a JS exception.
#[napi(catch_unwind)]
pub fn debug_panic(message: String) {
    panic!("{message}");
}

/// mimalloc keeps freed pages for reuse: batch buffers (up to `batchSize` each) are
/// allocated and freed continuously, and with the system allocator every new batch
/// faulted in fresh zeroed pages (a fifth of the produce path's time in `perf`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
