//! Tokio core of nkafka: connections, cluster metadata, the producer and admin.
//! No napi here: the binding crate (`crates/node`) is a thin layer over this one, and
//! everything in it can be used and tested from Rust alone.
//!
//! Every async function must run inside a tokio runtime; the binding supplies one.

pub mod admin;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod consumer;
pub mod error;
#[cfg(feature = "fail-points")]
pub mod fail_points;
pub mod group;
pub mod offsets;
pub mod producer;
pub mod security;
pub mod share;
pub(crate) mod task;
pub mod types;

pub use error::{Error, Kind, Result};
pub use nkafka_protocol as protocol;
