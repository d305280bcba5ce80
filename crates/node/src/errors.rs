//! Client errors to JS: thrown errors carry Kafka's (or the client's) code as `error.code`;
//! errors inside reports and results are plain objects the TS layer turns into `KafkaError`.

use napi_derive::napi;
use nkafka_client::Error;

/// A thrown error: `code` is the stable code string, the message names the problem.
pub fn to_napi(e: Error) -> napi::Error<String> {
    napi::Error::new(e.code().to_string(), e.message)
}

/// Shorthand for binding results.
pub type Result<T> = std::result::Result<T, napi::Error<String>>;

/// An error as data (inside reports and per-topic results).
#[napi(object)]
#[derive(Clone)]
pub struct BindingError {
    /// Kafka's error name or a client code.
    pub code: String,
    /// What happened.
    pub message: String,
    /// Whether retrying can succeed.
    pub retriable: bool,
    /// Broker involved, if any.
    pub broker: Option<String>,
    /// Topic involved, if any.
    pub topic: Option<String>,
    /// Partition involved, if any.
    pub partition: Option<i32>,
}

impl From<&Error> for BindingError {
    fn from(e: &Error) -> Self {
        BindingError {
            code: e.code().to_string(),
            message: e.message.clone(),
            retriable: e.retriable(),
            broker: e.broker.as_deref().map(str::to_string),
            topic: e.topic.as_deref().map(str::to_string),
            partition: e.partition,
        }
    }
}
