//! Finding the group coordinator (FindCoordinator) and remembering it until a request says
//! it moved (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE) or its connection fails.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::cluster::{Cluster, Purpose};
use crate::config::ClientConfig;
use crate::conn::Connection;
use crate::error::{Error, Kind, Result};

/// The coordinator of one group (or, with `key_type` 1, one transactional id), shared by
/// the membership task and commits.
pub(crate) struct Coordinator {
    cluster: Arc<Cluster>,
    group_id: String,
    /// FindCoordinator key type: 0 group, 1 transaction.
    key_type: i8,
    node: Mutex<Option<i32>>,
    /// One FindCoordinator at a time; later callers reuse its answer.
    lookup: tokio::sync::Mutex<()>,
    jitter: AtomicU64,
}

fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

impl Coordinator {
    pub fn new(cluster: Arc<Cluster>, group_id: String) -> Self {
        Self::with_key_type(cluster, group_id, 0)
    }

    /// The transaction coordinator of a transactional id (FindCoordinator key type 1).
    pub fn for_transaction(cluster: Arc<Cluster>, transactional_id: String) -> Self {
        Self::with_key_type(cluster, transactional_id, 1)
    }

    fn with_key_type(cluster: Arc<Cluster>, group_id: String, key_type: i8) -> Self {
        Coordinator {
            cluster,
            key_type,
            group_id,
            node: Mutex::new(None),
            lookup: tokio::sync::Mutex::new(()),
            jitter: AtomicU64::new(7),
        }
    }

    /// Forgets `node` as the coordinator (if it still is the cached one), so the next
    /// request looks it up again.
    pub fn invalidate(&self, node: i32) {
        let mut n = self.node.lock();
        if *n == Some(node) {
            *n = None;
        }
    }

    /// Classifies a failed request: errors that mean "ask someone else" drop the cached
    /// coordinator.
    pub fn on_error(&self, node: i32, e: &Error) {
        let moved = match e.kind {
            Kind::Broker(c) => c == ErrorCode::NOT_COORDINATOR || c == ErrorCode::COORDINATOR_NOT_AVAILABLE,
            Kind::Network | Kind::RequestTimeout => true,
            _ => false,
        };
        if moved {
            self.invalidate(node);
        }
    }

    /// The coordinator's node id, looked up if unknown, until `deadline`.
    pub async fn node(&self, deadline: Instant) -> Result<i32> {
        if let Some(n) = *self.node.lock() {
            return Ok(n);
        }
        let _g = tokio::time::timeout_at(deadline, self.lookup.lock())
            .await
            .map_err(|_| self.timeout_error())?;
        if let Some(n) = *self.node.lock() {
            return Ok(n);
        }
        let n = self.find(deadline).await?;
        *self.node.lock() = Some(n);
        Ok(n)
    }

    /// A connection to the coordinator for `purpose`.
    pub async fn connection(&self, purpose: Purpose, deadline: Instant) -> Result<(i32, Connection)> {
        let node = self.node(deadline).await?;
        match tokio::time::timeout_at(deadline, self.cluster.connection(node, purpose)).await {
            Ok(Ok(c)) => Ok((node, c)),
            Ok(Err(e)) => {
                self.invalidate(node);
                Err(e)
            }
            Err(_) => {
                self.invalidate(node);
                Err(Error::new(
                    Kind::RequestTimeout,
                    format!(
                        "connecting to the coordinator (broker {node}) of group `{}` timed out",
                        self.group_id
                    ),
                ))
            }
        }
    }

    fn timeout_error(&self) -> Error {
        Error::new(
            Kind::Timeout,
            format!("could not find the coordinator of group `{}` in time", self.group_id),
        )
    }

    /// FindCoordinator until an answer or `deadline`; COORDINATOR_NOT_AVAILABLE (the
    /// offsets topic is still being created, or its leader is moving) and connection
    /// failures are retried with exponential backoff.
    async fn find(&self, deadline: Instant) -> Result<i32> {
        let mut attempt = 0u32;
        loop {
            let err = match self.find_once(deadline).await {
                Ok(n) => return Ok(n),
                Err(e) if e.retriable() => e,
                Err(e) => return Err(e),
            };
            let cfg = self.cluster.config();
            let wait = ClientConfig::backoff(
                cfg.retry_backoff,
                cfg.retry_backoff_max,
                attempt,
                self.jitter.fetch_add(1, Ordering::Relaxed),
            );
            attempt = attempt.saturating_add(1);
            if Instant::now().checked_add(wait).is_none_or(|t| t >= deadline) {
                return Err(err);
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn find_once(&self, deadline: Instant) -> Result<i32> {
        let conn = self.cluster.any_connection(deadline).await?;
        let version = conn
            .versions()
            .pick_for::<FindCoordinatorRequest>(ApiKey::FindCoordinator)?;
        let key = StrBytes::from_string(self.group_id.clone());
        // v4+ batches keys (KIP-699); we ask for one. v0 knows only groups.
        let req = if version >= 4 {
            FindCoordinatorRequest::default()
                .with_key_type(self.key_type)
                .with_coordinator_keys(vec![key])
        } else if version >= 1 {
            FindCoordinatorRequest::default()
                .with_key(key)
                .with_key_type(self.key_type)
        } else {
            FindCoordinatorRequest::default().with_key(key)
        };
        let resp: FindCoordinatorResponse = conn
            .call(ApiKey::FindCoordinator, &req, version, remaining(deadline))
            .await?;
        let (code, message, node) = if version >= 4 {
            let c = resp
                .coordinators
                .iter()
                .find(|c| *c.key == *self.group_id)
                .or(resp.coordinators.first())
                .ok_or_else(|| {
                    Error::new(
                        Kind::Protocol,
                        format!("FindCoordinator for group `{}` answered no coordinator", self.group_id),
                    )
                })?;
            (
                ErrorCode(c.error_code),
                c.error_message.as_ref().map(|m| m.to_string()),
                c.node_id.0,
            )
        } else {
            (
                ErrorCode(resp.error_code),
                resp.error_message.as_ref().map(|m| m.to_string()),
                resp.node_id.0,
            )
        };
        if !code.is_ok() {
            let mut e = Error::broker(code, message.as_deref());
            e.message = format!("finding the coordinator of group `{}`: {}", self.group_id, e.message);
            return Err(e);
        }
        if node < 0 {
            return Err(Error::broker(ErrorCode::COORDINATOR_NOT_AVAILABLE, None));
        }
        // The pool connects by node id, so the coordinator must be in the metadata.
        if !self.cluster.metadata().brokers.contains_key(&node) {
            self.cluster.refresh(Some(&[]), false).await?;
            if !self.cluster.metadata().brokers.contains_key(&node) {
                return Err(Error::broker(
                    ErrorCode::COORDINATOR_NOT_AVAILABLE,
                    Some(&format!("coordinator broker {node} is not in the cluster metadata")),
                ));
            }
        }
        Ok(node)
    }
}
