//! Topics: metadata, creation, deletion, offsets.
//! In KRaft clusters any broker accepts CreateTopics/DeleteTopics and forwards them to the
//! controller, so requests go to any live broker, as the Java AdminClient does.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use tokio::time::Instant;

use super::{timeout_ms, to_error, Admin, Target};
use crate::cluster::{validate_topic_name, Metadata};
use crate::error::{Error, Result};
use crate::offsets::{self, OffsetSpec, PartitionOffset};

/// A topic to create.
#[derive(Clone, Debug)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Partitions; -1 for the broker default.
    pub num_partitions: i32,
    /// Replication factor; -1 for the broker default.
    pub replication_factor: i16,
    /// Topic configs (`cleanup.policy`, `retention.ms`, ...).
    pub configs: Vec<(String, String)>,
}

/// Per-topic outcome of a create or delete.
#[derive(Clone, Debug)]
pub struct TopicResult {
    /// Topic name.
    pub name: String,
    /// The error, if the operation failed for this topic.
    pub error: Option<Error>,
}

impl Admin {
    /// Metadata for the named topics (all topics when `None`), without auto-creation.
    pub async fn metadata(&self, topics: Option<&[String]>) -> Result<Arc<Metadata>> {
        if let Some(ts) = topics {
            for t in ts {
                validate_topic_name(t)?;
            }
        }
        self.cluster().refresh(topics, false).await
    }

    /// Creates topics; waits up to `timeout` for the controller. With `wait_for_leaders`,
    /// also waits until metadata shows a leader for every partition, so a producer can
    /// use the topics at once.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        timeout: Duration,
        validate_only: bool,
    ) -> Result<Vec<TopicResult>> {
        for t in topics {
            validate_topic_name(&t.name)?;
            if t.num_partitions == 0 || t.num_partitions < -1 {
                return Err(Error::argument(
                    "numPartitions",
                    format!("{} for topic `{}`", t.num_partitions, t.name),
                ));
            }
            if t.replication_factor == 0 || t.replication_factor < -1 {
                return Err(Error::argument(
                    "replicationFactor",
                    format!("{} for topic `{}`", t.replication_factor, t.name),
                ));
            }
        }
        let req = CreateTopicsRequest::default()
            .with_timeout_ms(timeout_ms(timeout))
            .with_validate_only(validate_only)
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        CreatableTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.name.clone())))
                            .with_num_partitions(t.num_partitions)
                            .with_replication_factor(t.replication_factor)
                            .with_configs(
                                t.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        CreatableTopicConfig::default()
                                            .with_name(StrBytes::from_string(k.clone()))
                                            .with_value(Some(StrBytes::from_string(v.clone())))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        // The broker itself waits up to `timeout` for the controller.
        let deadline = Instant::now() + timeout + self.cluster().config().request_timeout;
        let (_, resp): (_, CreateTopicsResponse) = self
            .retry_until("CreateTopics", deadline, |d| {
                self.send(&Target::Any, ApiKey::CreateTopics, d, |_| Ok(req.clone()))
            })
            .await?;
        Ok(resp
            .topics
            .into_iter()
            .map(|t| TopicResult {
                name: t.name.0.to_string(),
                error: to_error(t.error_code, t.error_message.as_deref()),
            })
            .collect())
    }

    /// Deletes topics by name.
    pub async fn delete_topics(&self, names: &[String], timeout: Duration) -> Result<Vec<TopicResult>> {
        for n in names {
            validate_topic_name(n)?;
        }
        let build = |version: i16| {
            let req = DeleteTopicsRequest::default().with_timeout_ms(timeout_ms(timeout));
            Ok(if version >= 6 {
                req.with_topics(
                    names
                        .iter()
                        .map(|n| {
                            kafka_protocol::messages::delete_topics_request::DeleteTopicState::default()
                                .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                        })
                        .collect(),
                )
            } else {
                req.with_topic_names(
                    names
                        .iter()
                        .map(|n| TopicName(StrBytes::from_string(n.clone())))
                        .collect(),
                )
            })
        };
        let deadline = Instant::now() + timeout + self.cluster().config().request_timeout;
        let (_, resp): (_, DeleteTopicsResponse) = self
            .retry_until("DeleteTopics", deadline, |d| {
                self.send(&Target::Any, ApiKey::DeleteTopics, d, build)
            })
            .await?;
        Ok(resp
            .responses
            .into_iter()
            .map(|t| TopicResult {
                name: t.name.map(|n| n.0.to_string()).unwrap_or_default(),
                error: to_error(t.error_code, t.error_message.as_deref()),
            })
            .collect())
    }

    /// Waits until metadata shows every partition of `topics` with a leader.
    pub async fn wait_for_leaders(&self, topics: &[String], timeout: Duration) -> Result<Arc<Metadata>> {
        let deadline = Instant::now() + timeout;
        loop {
            let meta = self.cluster().refresh(Some(topics), false).await?;
            let ready = topics.iter().all(|t| {
                meta.topics.get(t).is_some_and(|tm| {
                    tm.error.is_ok() && !tm.partitions.is_empty() && tm.partitions.iter().all(|p| p.leader >= 0)
                })
            });
            if ready {
                return Ok(meta);
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    crate::error::Kind::Timeout,
                    format!(
                        "topics {topics:?} have no leader for every partition after {} ms",
                        timeout.as_millis()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Earliest, latest or by-timestamp offsets of every partition of `topic`.
    pub async fn list_offsets(&self, topic: &str, spec: OffsetSpec) -> Result<Vec<PartitionOffset>> {
        validate_topic_name(topic)?;
        let meta = self.cluster().refresh(Some(&[topic.to_string()]), false).await?;
        let partitions: Vec<i32> = meta
            .topics
            .get(topic)
            .map(|t| t.partitions.iter().map(|p| p.id).collect())
            .unwrap_or_default();
        if partitions.is_empty() {
            return Err(Error::broker(
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                Some(&format!("topic `{topic}` does not exist")),
            ));
        }
        offsets::list_offsets(&self.cluster, topic, &partitions, spec, false).await
    }
}
