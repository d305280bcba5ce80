//! The admin client.
//!
//! Every operation is built from two pieces that live here, so that all of them behave the
//! same under faults:
//! - [`Admin::send`] reaches the broker a request must go to ([`Target`]: any broker, the
//!   controller, one broker, or a group's coordinator) and makes one attempt;
//! - [`Admin::retry`] is the one retry policy: it repeats an attempt while the error says
//!   that trying again can help (a moved controller, coordinator or leader, a dead
//!   connection, a retriable broker code), with the client's backoff, until
//!   `requestTimeoutMs` from the start of the call has passed.
//!
//! The operations live in one file per area, each an `impl Admin` block: `topics`
//! (metadata, create, delete, partitions, records, offsets), `configs`, `groups`,
//! `cluster` (log dirs, reassignments, elections), `acls` (ACLs and SCRAM users),
//! `quotas`, `share` (share groups). An operation on many items (topics, groups, resources) reports an outcome per
//! item: one bad item never fails the others. Only a failure of the whole request (no
//! broker reachable, a malformed argument) fails the call.

pub mod acls;
pub mod cluster;
pub mod configs;
pub mod groups;
pub mod quotas;
pub mod share;
pub mod topics;

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Message, Request};
use nkafka_protocol::error::ErrorCode;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::cluster::{Cluster, Purpose};
use crate::config::ClientConfig;
use crate::conn::Connection;
use crate::error::{Error, Kind, Result};
use crate::group::coordinator::Coordinator;

// The topic calls' types are used most (by tests and the binding); the other areas' are
// reached through their modules (`admin::groups::PartitionResult` and
// `admin::cluster::PartitionResult` are different things).
pub use topics::{
    CreatePartitionsOptions, CreateTopicResult, CreateTopicsOptions, DeleteRecordsOptions, DeleteTopicsOptions,
    DeletedRecords, DescribeTopicsOptions, IsolationLevel, ItemsCall, ListOffsetsOptions, ListTopicsOptions,
    ListedOffset, NewPartitions, NewTopic, OffsetQuery, RecordsToDelete, TopicDescription, TopicPartitionInfo,
    TopicResult,
};

/// Where a request must go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// Any live broker (KRaft brokers forward controller requests themselves).
    Any,
    /// The controller the metadata names (KIP-590: in KRaft a broker that forwards).
    Controller,
    /// One broker by id (log dirs, broker configs, partition leaders).
    Broker(i32),
    /// The coordinator of a consumer or share group.
    Group(String),
}

/// An admin client.
pub struct Admin {
    cluster: Arc<Cluster>,
    /// Coordinators by group id, found once and forgotten when they move.
    coordinators: Mutex<HashMap<String, Arc<Coordinator>>>,
    /// Group types (`classic`, `consumer`, `share`) by group id, as ListGroups and earlier
    /// describes told them: `describe_groups` sends a known classic group's DescribeGroups
    /// first instead of a ConsumerGroupDescribe that would say GROUP_ID_NOT_FOUND.
    group_types: Mutex<HashMap<String, String>>,
    jitter: AtomicU64,
}

/// Coordinators remembered at most; past this the cache starts over (an admin client that
/// touches more groups than this pays one FindCoordinator per group again).
const MAX_COORDINATORS: usize = 1024;

impl Admin {
    /// An admin client for the cluster in `cfg`.
    pub fn new(cfg: ClientConfig) -> Result<Admin> {
        cfg.validate()?;
        Ok(Admin {
            cluster: Cluster::new(cfg, 16),
            coordinators: Mutex::new(HashMap::new()),
            group_types: Mutex::new(HashMap::new()),
            jitter: AtomicU64::new(11),
        })
    }

    /// The shared metadata and connections.
    pub(crate) fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.cluster.config().request_timeout
    }

    /// Runs `attempt` until it succeeds, fails with an error that retrying cannot fix, or
    /// `requestTimeoutMs` from now has passed; `what` names the operation in the timeout
    /// error. Each attempt gets the call's deadline. Before the next attempt a stale route
    /// is dropped (metadata refreshed for a moved controller or leader; a moved coordinator
    /// is forgotten by [`Admin::send`] itself).
    pub(crate) async fn retry<T, F, Fut>(&self, what: &str, attempt: F) -> Result<T>
    where
        F: FnMut(Instant) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.retry_until(what, self.deadline(), attempt).await
    }

    /// [`Admin::retry`] with a deadline of the caller's, for requests the broker itself
    /// holds (CreateTopics waits up to its `timeout_ms`).
    pub(crate) async fn retry_until<T, F, Fut>(&self, what: &str, deadline: Instant, mut attempt: F) -> Result<T>
    where
        F: FnMut(Instant) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let cfg = self.cluster.config();
        let budget = deadline.saturating_duration_since(Instant::now());
        let mut tries: u32 = 0;
        loop {
            let err = match tokio::time::timeout_at(deadline, attempt(deadline)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(_) => Error::new(
                    Kind::Timeout,
                    format!(
                        "{what} did not finish within {} ms ({} attempts)",
                        budget.as_millis(),
                        tries + 1
                    ),
                ),
            };
            tries += 1;
            let seed = self.jitter.fetch_add(1, Ordering::Relaxed);
            let wait = ClientConfig::backoff(cfg.retry_backoff, cfg.retry_backoff_max, tries - 1, seed);
            if !should_retry(&err) || Instant::now() + wait >= deadline {
                return Err(err);
            }
            tracing::debug!(
                client = cfg.log_id,
                operation = what,
                attempt = tries,
                retry_in_ms = wait.as_millis() as u64,
                cause = %err,
                "admin request failed; retrying"
            );
            if stale_metadata(&err) {
                // A failed refresh is not this call's error: the next attempt reports
                // whatever is still wrong.
                if let Err(e) = self.cluster.refresh(None, false).await {
                    tracing::debug!(client = cfg.log_id, cause = %e, "metadata refresh before an admin retry failed");
                }
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// The retry of a call on many items (topics, partitions, ACLs, quotas...), keyed: runs
    /// `attempt` on the items still pending until each has an outcome that another attempt
    /// cannot change, or the deadline passes: items whose error [`retry_item`]
    /// accepts are sent again (after the backoff and metadata refresh of
    /// [`Admin::retry_until`]); the others are kept. When the attempts stop, a pending item
    /// gets its own last error; if no item ever got an answer, the call fails with the
    /// request's error (no broker reachable, an unsupported version).
    pub(crate) async fn retry_each<K, V, F, Fut>(
        &self,
        what: &str,
        deadline: Instant,
        keys: Vec<K>,
        mut attempt: F,
    ) -> Result<HashMap<K, Result<V>>>
    where
        K: Clone + Eq + Hash,
        F: FnMut(Vec<K>, Instant) -> Fut,
        Fut: Future<Output = Result<Answers<K, V>>>,
    {
        let done: Mutex<HashMap<K, Result<V>>> = Mutex::new(HashMap::new());
        if keys.is_empty() {
            return Ok(done.into_inner());
        }
        let pending = Mutex::new(keys);
        let last: Mutex<HashMap<K, Error>> = Mutex::new(HashMap::new());
        let (done_ref, pending_ref, last_ref) = (&done, &pending, &last);
        let outcome = self
            .retry_until(what, deadline, |d| {
                let sent = pending_ref.lock().clone();
                let answers = attempt(sent.clone(), d);
                async move {
                    let answers = answers.await?;
                    let mut again = Vec::new();
                    let mut first_retriable = None;
                    let mut done = done_ref.lock();
                    let mut last = last_ref.lock();
                    for (k, r) in answers {
                        match r {
                            Err(e) if retry_item(&e) => {
                                first_retriable.get_or_insert_with(|| e.clone());
                                last.insert(k.clone(), e);
                                again.push(k);
                            }
                            r => {
                                last.remove(&k);
                                done.insert(k, r);
                            }
                        }
                    }
                    for k in sent {
                        if !done.contains_key(&k) && !again.contains(&k) {
                            done.insert(
                                k,
                                Err(Error::new(
                                    Kind::Protocol,
                                    format!("the broker did not answer {what} for it"),
                                )),
                            );
                        }
                    }
                    *pending_ref.lock() = again;
                    first_retriable.map_or(Ok(()), Err)
                }
            })
            .await;
        let mut done = done.into_inner();
        if let Err(e) = outcome {
            let mut last = last.into_inner();
            if done.is_empty() && last.is_empty() {
                return Err(e);
            }
            for k in pending.into_inner() {
                let err = last.remove(&k).unwrap_or_else(|| e.clone());
                done.insert(k, Err(err));
            }
        }
        Ok(done)
    }

    /// [`Admin::retry_each`] for calls whose outcomes carry their error inside (`R`), by
    /// position: `settled` has one entry per item, `Some` for items decided without the
    /// broker (invalid ones), `None` for those to send; `attempt` gets the positions to send
    /// and returns their outcomes in that order. An item still retriable at the deadline
    /// keeps its last outcome; the call fails only if some item never got an answer.
    pub(crate) async fn retry_items<R, F, Fut>(&self, what: &str, settled: Vec<Option<R>>, attempt: F) -> Result<Vec<R>>
    where
        R: ItemOutcome,
        F: Fn(Vec<usize>, Instant) -> Fut,
        Fut: Future<Output = Result<Vec<R>>>,
    {
        let mut out = settled;
        let keys: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_none()).collect();
        // Every item's last outcome, whatever it said.
        let last: Mutex<HashMap<usize, R>> = Mutex::new(HashMap::new());
        let (last_ref, attempt_ref) = (&last, &attempt);
        let answers = self
            .retry_each(what, self.deadline(), keys, move |pending: Vec<usize>, d| async move {
                let outs = attempt_ref(pending.clone(), d).await?;
                if outs.len() != pending.len() {
                    return Err(Error::new(
                        Kind::Protocol,
                        format!(
                            "{what}: the broker answered {} items of {} sent",
                            outs.len(),
                            pending.len()
                        ),
                    ));
                }
                let mut last = last_ref.lock();
                Ok(pending
                    .into_iter()
                    .zip(outs)
                    .map(|(i, o)| {
                        let verdict = match o.error() {
                            Some(e) if retry_item(e) => Err(e.clone()),
                            _ => Ok(()),
                        };
                        last.insert(i, o);
                        (i, verdict)
                    })
                    .collect())
            })
            .await?;
        let mut last = last.into_inner();
        for (i, verdict) in answers {
            match last.remove(&i) {
                Some(o) => out[i] = Some(o),
                None => {
                    return Err(verdict.err().unwrap_or_else(|| {
                        Error::new(Kind::Internal, format!("{what}: an item was left without an outcome"))
                    }))
                }
            }
        }
        out.into_iter()
            .collect::<Option<Vec<R>>>()
            .ok_or_else(|| Error::new(Kind::Internal, format!("{what}: an item was left without an outcome")))
    }

    /// A connection to `target`, and the id of the broker it reached (-1 for
    /// [`Target::Any`], which does not say).
    pub(crate) async fn connect(&self, target: &Target, deadline: Instant) -> Result<(i32, Connection)> {
        match target {
            Target::Any => {
                let c = self.cluster.any_connection(deadline).await?;
                Ok((-1, c))
            }
            Target::Controller => {
                let mut meta = self.cluster.metadata();
                if meta.controller_id < 0 || !meta.brokers.contains_key(&meta.controller_id) {
                    meta = self.cluster.refresh(None, false).await?;
                }
                if meta.controller_id < 0 {
                    return Err(Error::broker(
                        ErrorCode::NOT_CONTROLLER,
                        Some("the metadata names no controller"),
                    ));
                }
                let id = meta.controller_id;
                Ok((id, self.broker(id, deadline).await?))
            }
            Target::Broker(id) => Ok((*id, self.broker(*id, deadline).await?)),
            Target::Group(group) => {
                let coordinator = self.coordinator(group);
                coordinator.connection(Purpose::Control, deadline).await
            }
        }
    }

    async fn broker(&self, id: i32, deadline: Instant) -> Result<Connection> {
        if !self.cluster.metadata().brokers.contains_key(&id) {
            self.cluster.refresh(None, false).await?;
        }
        match tokio::time::timeout_at(deadline, self.cluster.connection(id, Purpose::Control)).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                Kind::RequestTimeout,
                format!("connecting to broker {id} timed out"),
            )),
        }
    }

    fn coordinator(&self, group: &str) -> Arc<Coordinator> {
        let mut map = self.coordinators.lock();
        if let Some(c) = map.get(group) {
            return c.clone();
        }
        if map.len() >= MAX_COORDINATORS {
            map.clear();
        }
        let c = Arc::new(Coordinator::new(self.cluster.clone(), group.to_string()));
        map.insert(group.to_string(), c.clone());
        c
    }

    /// One attempt: sends the request `build` makes for the negotiated version to `target`
    /// and returns the broker's response with the id of the broker that answered. A
    /// top-level error in the response is the caller's to read (responses differ in where
    /// they put it); a failure to reach the broker forgets a group's coordinator.
    pub(crate) async fn send<R, F>(
        &self,
        target: &Target,
        api: ApiKey,
        deadline: Instant,
        build: F,
    ) -> Result<(i32, R::Response)>
    where
        R: Request + Message,
        F: FnOnce(i16) -> Result<R>,
    {
        let (node, conn) = self.connect(target, deadline).await?;
        let version = conn.versions().pick_for::<R>(api)?;
        let req = build(version)?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let r = conn.call(api, &req, version, left).await;
        if let (Target::Group(g), Err(e)) = (target, &r) {
            self.coordinator(g).on_error(node, e);
        }
        Ok((node, r?))
    }

    /// The type `group` was last seen with, if any.
    pub(crate) fn group_type(&self, group: &str) -> Option<String> {
        self.group_types.lock().get(group).cloned()
    }

    /// Remembers the type of `group` (bounded like the coordinators: past the bound the
    /// hints start over, which costs a describe one more round trip, nothing else).
    pub(crate) fn note_group_type(&self, group: &str, group_type: &str) {
        let mut map = self.group_types.lock();
        if map.len() >= MAX_COORDINATORS && !map.contains_key(group) {
            map.clear();
        }
        map.insert(group.to_string(), group_type.to_string());
    }

    /// Requests this client has written on its connections (tests count round trips
    /// with it).
    pub fn requests_sent(&self) -> usize {
        self.cluster.requests_sent(Purpose::Control)
    }

    /// Forgets the coordinator of `group` when `code` says it moved, so the next attempt
    /// looks it up again; returns the error for `code`, if any.
    pub(crate) fn group_error(&self, group: &str, node: i32, code: i16, message: Option<&str>) -> Option<Error> {
        let e = to_error(code, message)?;
        self.coordinator(group).on_error(node, &e);
        Some(e)
    }

    /// Closes connections.
    pub fn close(&self) {
        self.cluster.close();
    }
}

/// i64 values (offsets, sizes) cross to JS as decimal strings: JS numbers end at 2^53, and
/// the TS layer makes them bigints. Read back from a string or a plain number.
pub(crate) mod i64_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Number(i64),
            String(String),
        }
        match Text::deserialize(d)? {
            Text::Number(n) => Ok(n),
            Text::String(s) => s
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a 64-bit integer"))),
        }
    }

    /// The same for an optional value (null stays null).
    pub mod option {
        use serde::Serializer;

        pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.collect_str(v),
                None => s.serialize_none(),
            }
        }
    }
}

/// Java's `AclOperation` names by code, from READ (3): UNKNOWN, ANY and ALL (0-2) are not
/// operations a client is ever granted.
const ACL_OPERATIONS: [&str; 13] = [
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
    "CREATE_TOKENS",
    "DESCRIBE_TOKENS",
    "TWO_PHASE_COMMIT",
];

/// The operation names in a KIP-430 `authorized_operations` bit field (topics, groups, the
/// cluster); `None` for `i32::MIN`, which means "not asked for". A bit this client does
/// not know is named `UNKNOWN(<bit>)`.
pub(crate) fn authorized_operations(bits: i32) -> Option<Vec<String>> {
    (bits != i32::MIN).then(|| {
        (3..32usize)
            .filter(|&b| bits as u32 & (1u32 << b) != 0)
            .map(|b| {
                ACL_OPERATIONS
                    .get(b - 3)
                    .map_or_else(|| format!("UNKNOWN({b})"), |n| n.to_string())
            })
            .collect()
    })
}

/// The outcome of one item of a call on many, for [`Admin::retry_items`].
pub(crate) trait ItemOutcome {
    fn error(&self) -> Option<&Error>;
}

/// The outcome of each item an attempt tried.
pub(crate) type Answers<K, V> = Vec<(K, Result<V>)>;

/// Whether an item's error may go away on another attempt. Unlike the request-level policy,
/// an unknown topic is an answer here (Kafka counts it retriable because metadata may lag,
/// but these calls ask the broker that knows), and so is a broker's per-item timeout (the
/// controller may still finish the operation: sending it again could fail as a duplicate).
pub(crate) fn retry_item(e: &Error) -> bool {
    should_retry(e)
        && !matches!(
            e.kind,
            Kind::Broker(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION | ErrorCode::REQUEST_TIMED_OUT)
        )
}

/// Whether another attempt can succeed: any retriable error, and the codes that only mean
/// "ask another broker" (Java's admin client retries these too).
pub(crate) fn should_retry(e: &Error) -> bool {
    if e.retriable() {
        return true;
    }
    matches!(
        e.kind,
        Kind::Broker(
            ErrorCode::NOT_CONTROLLER
                | ErrorCode::NOT_COORDINATOR
                | ErrorCode::COORDINATOR_NOT_AVAILABLE
                | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                | ErrorCode::BROKER_NOT_AVAILABLE
        )
    )
}

fn stale_metadata(e: &Error) -> bool {
    match e.kind {
        Kind::Broker(c) => {
            c == ErrorCode::NOT_CONTROLLER || c == ErrorCode::BROKER_NOT_AVAILABLE || c.is_invalid_metadata()
        }
        Kind::Network => true,
        _ => false,
    }
}

/// The error for a response's error code and message, if the code is not NONE.
pub(crate) fn to_error(code: i16, message: Option<&str>) -> Option<Error> {
    let code = ErrorCode(code);
    (!code.is_ok()).then(|| Error::broker(code, message))
}

/// Clamps a duration into a request's `timeout_ms` field.
pub(crate) fn timeout_ms(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorized_operations_name_each_bit() {
        assert_eq!(authorized_operations(i32::MIN), None);
        let names = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // READ, DELETE, DESCRIBE: what a broker without an authorizer grants on a group.
        assert_eq!(
            authorized_operations((1 << 3) | (1 << 8) | (1 << 6)),
            names(&["READ", "DELETE", "DESCRIBE"])
        );
        assert_eq!(authorized_operations(1 << 15), names(&["TWO_PHASE_COMMIT"]));
        assert_eq!(authorized_operations(0b111), names(&[]));
        assert_eq!(authorized_operations(1 << 20), names(&["UNKNOWN(20)"]));
    }

    #[test]
    fn i64_values_cross_as_strings() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct T {
            #[serde(with = "i64_string")]
            v: i64,
        }
        assert_eq!(
            serde_json::to_string(&T {
                v: 9_007_199_254_740_993
            })
            .unwrap(),
            r#"{"v":"9007199254740993"}"#
        );
        assert_eq!(
            serde_json::from_str::<T>(r#"{"v":"9007199254740993"}"#).unwrap().v,
            9_007_199_254_740_993
        );
        assert_eq!(serde_json::from_str::<T>(r#"{"v":5}"#).unwrap().v, 5);
        assert!(serde_json::from_str::<T>(r#"{"v":"x"}"#).is_err());
    }
}
