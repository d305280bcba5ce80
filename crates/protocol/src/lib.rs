//! Sans-IO Kafka wire protocol for nkafka.
