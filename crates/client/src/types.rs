//! Small types shared by the consumer, its group membership and the admin client.

use std::fmt;
use std::sync::Arc;

/// A partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic-partition.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// An offset to commit for a partition: the offset of the next record to consume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    /// The partition.
    pub tp: TopicPartition,
    /// Next offset to consume (last processed + 1).
    pub offset: i64,
    /// Leader epoch of the last consumed record, -1 when unknown (KIP-320).
    pub leader_epoch: i32,
    /// Free-form commit metadata.
    pub metadata: Option<String>,
}
