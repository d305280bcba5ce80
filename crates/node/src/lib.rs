//! napi-rs binding for nkafka.
use napi_derive::napi;

/// Version of the native core, to check that JS and the addon match.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
