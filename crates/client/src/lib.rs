//! Tokio core of nkafka.
