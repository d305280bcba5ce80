//! Transactions (KIP-98, KIP-447): the requests to the transaction and group coordinators,
//! and the producer's transaction state. The Java client's TransactionManager is the model:
//! partitions join the transaction lazily (AddPartitionsToTxn before their first batch is
//! sent), offsets join through AddOffsetsToTxn + TxnOffsetCommit, EndTxn finishes it.
//!
//! Errors are classified as Java does: fencing and authorization errors are fatal for the
//! producer; anything else that fails a transaction (a batch error, an unknown outcome) is
//! "abortable": the app must abort, and commit refuses until it did.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey,
    EndTxnRequest, EndTxnResponse, GroupId, InitProducerIdRequest, InitProducerIdResponse, ProducerId, TopicName,
    TransactionalId, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use tokio::time::Instant;

use crate::cluster::{Cluster, Purpose};
use crate::config::ClientConfig;
use crate::error::{Error, Kind, Result};
use crate::group::coordinator::Coordinator;
use crate::group::GroupMetadata;
use crate::types::OffsetAndMetadata;

/// Where the producer's transaction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `initTransactions` not called yet.
    Uninitialized,
    /// No transaction open.
    Ready,
    /// Between `beginTransaction` and commit/abort.
    Open,
    /// The transaction failed; only `abortTransaction` is possible.
    Abortable(Error),
    /// The producer cannot go on (fenced, unauthorized).
    Fatal(Error),
}

/// Errors that end the producer, as the Java client classifies them.
pub(crate) fn is_fatal(code: ErrorCode) -> bool {
    code == ErrorCode::PRODUCER_FENCED
        || code == ErrorCode::INVALID_PRODUCER_EPOCH
        || code == ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        || code == ErrorCode::CLUSTER_AUTHORIZATION_FAILED
        || code == ErrorCode::INVALID_TXN_STATE
        || code == ErrorCode::UNSUPPORTED_VERSION
        || code == ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT
        || code == ErrorCode::INVALID_PRODUCER_ID_MAPPING
}

/// Retried without bothering the app: the coordinator is busy or moved.
fn retry_quietly(code: ErrorCode) -> bool {
    code == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
        || code == ErrorCode::CONCURRENT_TRANSACTIONS
        || code == ErrorCode::NOT_COORDINATOR
        || code == ErrorCode::COORDINATOR_NOT_AVAILABLE
        || code == ErrorCode::REQUEST_TIMED_OUT
}

/// The transaction coordinator of a transactional id, plus the identity to send.
pub(crate) struct TxnClient {
    pub transactional_id: String,
    pub timeout: Duration,
    coordinator: Coordinator,
    cluster: Arc<Cluster>,
    cfg: ClientConfig,
}

impl TxnClient {
    pub fn new(cluster: Arc<Cluster>, transactional_id: String, timeout: Duration) -> Self {
        TxnClient {
            coordinator: Coordinator::for_transaction(cluster.clone(), transactional_id.clone()),
            cfg: cluster.config().clone(),
            cluster,
            transactional_id,
            timeout,
        }
    }

    fn tid(&self) -> TransactionalId {
        TransactionalId(StrBytes::from_string(self.transactional_id.clone()))
    }

    /// Sends `call` to the transaction coordinator, retrying coordinator moves and busy
    /// answers with backoff until `deadline`. `call` returns the response's error code.
    async fn with_coordinator<T, F, Fut>(&self, deadline: Instant, mut call: F) -> Result<T>
    where
        F: FnMut(crate::conn::Connection) -> Fut,
        Fut: std::future::Future<Output = Result<(ErrorCode, T)>>,
    {
        let mut attempt = 0u32;
        loop {
            let result: Result<T> = match self.coordinator.connection(Purpose::Control, deadline).await {
                Ok((node, conn)) => match call(conn).await {
                    Ok((code, v)) if code.is_ok() => return Ok(v),
                    Ok((code, _)) => {
                        let e = Error::broker(code, None);
                        self.coordinator.on_error(node, &e);
                        Err(e)
                    }
                    Err(e) => {
                        self.coordinator.on_error(node, &e);
                        Err(e)
                    }
                },
                Err(e) => Err(e),
            };
            let e = result.err().expect("ok returned above");
            let quiet = match e.kind {
                Kind::Broker(c) => retry_quietly(c),
                _ => e.retriable(),
            };
            if !quiet || Instant::now() >= deadline {
                return Err(e);
            }
            let wait = ClientConfig::backoff(self.cfg.retry_backoff, self.cfg.retry_backoff_max, attempt, 13);
            attempt = attempt.saturating_add(1);
            tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// InitProducerId with the transactional id: a producer id and a fresh epoch, which
    /// fences older producers with the same transactional id and aborts their open
    /// transaction.
    pub async fn init_producer_id(&self, deadline: Instant) -> Result<(i64, i16)> {
        let timeout_ms = self.timeout.as_millis().min(i32::MAX as u128) as i32;
        self.with_coordinator(deadline, |conn| async move {
            let version = conn
                .versions()
                .pick_for::<InitProducerIdRequest>(ApiKey::InitProducerId)?;
            let req = InitProducerIdRequest::default()
                .with_transactional_id(Some(self.tid()))
                .with_transaction_timeout_ms(timeout_ms);
            let resp: InitProducerIdResponse = conn
                .call(ApiKey::InitProducerId, &req, version, self.cfg.request_timeout)
                .await?;
            Ok((ErrorCode(resp.error_code), (resp.producer_id.0, resp.producer_epoch)))
        })
        .await
    }

    /// AddPartitionsToTxn (v3 or lower: the client versions; v4+ is broker-to-broker).
    pub async fn add_partitions(
        &self,
        producer: (i64, i16),
        parts: &[(Arc<str>, i32)],
        deadline: Instant,
    ) -> Result<()> {
        let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
        for (t, p) in parts {
            match topics.iter_mut().find(|x| *x.name.0 == **t) {
                Some(x) => x.partitions.push(*p),
                None => topics.push(
                    AddPartitionsToTxnTopic::default()
                        .with_name(TopicName(StrBytes::from_string(t.to_string())))
                        .with_partitions(vec![*p]),
                ),
            }
        }
        self.with_coordinator(deadline, |conn| {
            let topics = topics.clone();
            async move {
                let version = conn
                    .versions()
                    .pick(ApiKey::AddPartitionsToTxn as i16, 0, 3)
                    .ok_or_else(|| {
                        Error::new(
                            Kind::UnsupportedVersion,
                            "the broker supports no AddPartitionsToTxn v0-v3",
                        )
                    })?;
                let req = AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(self.tid())
                    .with_v3_and_below_producer_id(ProducerId(producer.0))
                    .with_v3_and_below_producer_epoch(producer.1)
                    .with_v3_and_below_topics(topics);
                let resp: AddPartitionsToTxnResponse = conn
                    .call(ApiKey::AddPartitionsToTxn, &req, version, self.cfg.request_timeout)
                    .await?;
                let mut code = ErrorCode(resp.error_code);
                // Per-partition errors; OPERATION_NOT_ATTEMPTED only means another failed.
                for t in &resp.results_by_topic_v3_and_below {
                    for p in &t.results_by_partition {
                        let c = ErrorCode(p.partition_error_code);
                        if !c.is_ok() && (code.is_ok() || code == ErrorCode::OPERATION_NOT_ATTEMPTED) {
                            code = c;
                        }
                    }
                }
                Ok((code, ()))
            }
        })
        .await
    }

    /// AddOffsetsToTxn then TxnOffsetCommit to the group's coordinator (KIP-447: with the
    /// consumer's generation and member id, so a zombie consumer's offsets are fenced).
    pub async fn send_offsets(
        &self,
        producer: (i64, i16),
        offsets: &[OffsetAndMetadata],
        group: &GroupMetadata,
        deadline: Instant,
    ) -> Result<()> {
        let group_id = GroupId(StrBytes::from_string(group.group_id.clone()));
        self.with_coordinator(deadline, |conn| {
            let group_id = group_id.clone();
            async move {
                let version = conn
                    .versions()
                    .pick_for::<AddOffsetsToTxnRequest>(ApiKey::AddOffsetsToTxn)?;
                let req = AddOffsetsToTxnRequest::default()
                    .with_transactional_id(self.tid())
                    .with_producer_id(ProducerId(producer.0))
                    .with_producer_epoch(producer.1)
                    .with_group_id(group_id);
                let resp: AddOffsetsToTxnResponse = conn
                    .call(ApiKey::AddOffsetsToTxn, &req, version, self.cfg.request_timeout)
                    .await?;
                Ok((ErrorCode(resp.error_code), ()))
            }
        })
        .await?;
        // The group coordinator takes the offsets.
        let group_coord = Coordinator::new(self.cluster.clone(), group.group_id.clone());
        let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
        for o in offsets {
            let p = TxnOffsetCommitRequestPartition::default()
                .with_partition_index(o.tp.partition)
                .with_committed_offset(o.offset)
                .with_committed_leader_epoch(o.leader_epoch)
                .with_committed_metadata(o.metadata.clone().map(StrBytes::from_string));
            match topics.iter_mut().find(|t| *t.name.0 == *o.tp.topic) {
                Some(t) => t.partitions.push(p),
                None => topics.push(
                    TxnOffsetCommitRequestTopic::default()
                        .with_name(TopicName(StrBytes::from_string(o.tp.topic.to_string())))
                        .with_partitions(vec![p]),
                ),
            }
        }
        let mut attempt = 0u32;
        loop {
            let r: Result<ErrorCode> = async {
                let (node, conn) = group_coord.connection(Purpose::Control, deadline).await?;
                let version = conn
                    .versions()
                    .pick_for::<TxnOffsetCommitRequest>(ApiKey::TxnOffsetCommit)?;
                let mut req = TxnOffsetCommitRequest::default()
                    .with_transactional_id(self.tid())
                    .with_group_id(GroupId(StrBytes::from_string(group.group_id.clone())))
                    .with_producer_id(ProducerId(producer.0))
                    .with_producer_epoch(producer.1)
                    .with_topics(topics.clone());
                if version >= 3 {
                    req = req
                        .with_generation_id(group.generation_id)
                        .with_member_id(StrBytes::from_string(group.member_id.clone()))
                        .with_group_instance_id(group.group_instance_id.clone().map(StrBytes::from_string));
                }
                let resp: TxnOffsetCommitResponse = match conn
                    .call(ApiKey::TxnOffsetCommit, &req, version, self.cfg.request_timeout)
                    .await
                {
                    Ok(r) => r,
                    Err(e) => {
                        group_coord.on_error(node, &e);
                        return Err(e);
                    }
                };
                let mut code = ErrorCode::NONE;
                for t in &resp.topics {
                    for p in &t.partitions {
                        let c = ErrorCode(p.error_code);
                        if !c.is_ok() && code.is_ok() {
                            code = c;
                        }
                    }
                }
                if code == ErrorCode::NOT_COORDINATOR || code == ErrorCode::COORDINATOR_NOT_AVAILABLE {
                    group_coord.invalidate(node);
                }
                Ok(code)
            }
            .await;
            match r {
                Ok(c) if c.is_ok() => return Ok(()),
                Ok(c) if retry_quietly(c) && Instant::now() < deadline => {}
                Ok(c) => return Err(Error::broker(c, None)),
                Err(e) if e.retriable() && Instant::now() < deadline => {}
                Err(e) => return Err(e),
            }
            let wait = ClientConfig::backoff(self.cfg.retry_backoff, self.cfg.retry_backoff_max, attempt, 17);
            attempt = attempt.saturating_add(1);
            tokio::time::sleep(wait).await;
        }
    }

    /// EndTxn: commit or abort. With transactions v2 (KIP-890, EndTxn v5+) the coordinator
    /// bumps the epoch at every transaction end and returns the producer id and epoch to
    /// use next.
    pub async fn end(&self, producer: (i64, i16), commit: bool, deadline: Instant) -> Result<Option<(i64, i16)>> {
        self.with_coordinator(deadline, |conn| async move {
            let version = conn.versions().pick_for::<EndTxnRequest>(ApiKey::EndTxn)?;
            let req = EndTxnRequest::default()
                .with_transactional_id(self.tid())
                .with_producer_id(ProducerId(producer.0))
                .with_producer_epoch(producer.1)
                .with_committed(commit);
            let resp: EndTxnResponse = conn
                .call(ApiKey::EndTxn, &req, version, self.cfg.request_timeout)
                .await?;
            let next = (version >= 5 && resp.producer_id.0 >= 0 && resp.producer_epoch >= 0)
                .then_some((resp.producer_id.0, resp.producer_epoch));
            Ok((ErrorCode(resp.error_code), next))
        })
        .await
    }
}
