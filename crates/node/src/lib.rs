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
mod rows;
mod share;

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

/// mimalloc keeps freed pages for reuse: batch buffers (up to `batchSize` each) are
/// allocated and freed continuously, and with the system allocator every new batch
/// faulted in fresh zeroed pages (a fifth of the produce path's time in `perf`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(test)]
mod tests {
    //! "Every exported function is `catch_unwind`", checked on the sources: there is no
    //! panicking export to call any more (it shipped in the binding), and napi-rs's
    //! `catch_unwind` itself is its own, tested code. The client's background tasks are
    //! covered by `crates/client/tests/panics.rs`.

    const SOURCES: &[(&str, &str)] = &[
        ("lib.rs", include_str!("lib.rs")),
        ("admin.rs", include_str!("admin.rs")),
        ("config.rs", include_str!("config.rs")),
        ("consumer.rs", include_str!("consumer.rs")),
        ("errors.rs", include_str!("errors.rs")),
        ("oauth.rs", include_str!("oauth.rs")),
        ("producer.rs", include_str!("producer.rs")),
    ];

    /// Each `#[napi...]` attribute (possibly over several lines) with the item line after it.
    fn napi_items(src: &str) -> Vec<(String, String)> {
        let lines: Vec<&str> = src.lines().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let t = lines[i].trim_start();
            if t.starts_with("#[napi]") || t.starts_with("#[napi(") {
                let mut attr = t.to_string();
                while !attr.trim_end().ends_with(']') {
                    i += 1;
                    attr.push_str(lines[i].trim());
                }
                // Doc comments and other attributes may sit between it and the item.
                let mut j = i + 1;
                while j < lines.len()
                    && (lines[j].trim_start().starts_with("///") || lines[j].trim_start().starts_with("#["))
                {
                    j += 1;
                }
                out.push((attr, lines.get(j).map_or(String::new(), |l| l.trim().to_string())));
                i = j;
            } else {
                i += 1;
            }
        }
        out
    }

    #[test]
    fn every_exported_function_catches_unwinds() {
        let mut functions = 0;
        for (file, src) in SOURCES {
            for (attr, item) in napi_items(src) {
                let is_fn = item.starts_with("pub fn ") || item.starts_with("pub async fn ") || item.starts_with("fn ");
                if is_fn {
                    functions += 1;
                    assert!(
                        attr.contains("catch_unwind"),
                        "{file}: `{item}` is exported without catch_unwind ({attr})"
                    );
                }
            }
        }
        assert!(functions > 30, "the scan found the exported functions ({functions})");
    }

    #[test]
    fn the_raw_fast_function_catches_unwinds_itself() {
        let src = include_str!("producer.rs");
        let start = src
            .find("unsafe extern \"C\" fn fast_produce(")
            .expect("the raw function");
        let end = start + src[start..].find("\n}\n").expect("its end");
        let body = &src[start..end];
        assert!(
            body.contains("std::panic::catch_unwind("),
            "fast_produce catches unwinds"
        );
        assert!(body.contains("\"INTERNAL\""), "and throws INTERNAL for them");
        // The only other extern "C" function is the finalizer, which only drops a box.
        assert_eq!(src.matches("extern \"C\" fn").count(), 2);
    }
}

/// The unit tests run as a plain executable, not as a module Node loads, so the N-API
/// functions are not there. The tests never call them, but the log forwarder's
/// threadsafe function keeps three of them referenced: these definitions only satisfy the
/// linker, and abort if anything ever does call them.
#[cfg(test)]
mod napi_link_stubs {
    #[no_mangle]
    extern "C" fn napi_reference_unref() -> i32 {
        std::process::abort()
    }
    #[no_mangle]
    extern "C" fn napi_delete_reference() -> i32 {
        std::process::abort()
    }
    #[no_mangle]
    extern "C" fn napi_call_threadsafe_function() -> i32 {
        std::process::abort()
    }
}
