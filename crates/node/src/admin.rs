//! `BindingAdmin`: cluster description and topic management. Async results come back as
//! data (`{ value, error }`); the TS layer throws `KafkaError`.
//!
//! Most operations cross as JSON through one method, `call(op, args)`: the arguments and
//! results are serde types of `nkafka_client::admin`, so an operation needs no binding code
//! beyond its line in [`dispatch`], and `ts/admin/` gives it its TypeScript types.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Either, Env, PromiseRaw};
use napi_derive::napi;
use nkafka_client::admin::{Admin, NewTopic, TopicResult};
use nkafka_client::offsets::OffsetSpec;

use crate::config::BindingClientConfig;
use crate::errors::{to_napi, BindingError, Result};
use crate::producer::{cluster_to_js, BindingClusterResult};

/// A topic to create.
#[napi(object)]
pub struct BindingNewTopic {
    pub name: String,
    pub num_partitions: Option<i32>,
    pub replication_factor: Option<i32>,
    pub configs: Option<Vec<Vec<String>>>,
}

/// Per-topic result of create/delete.
#[napi(object)]
pub struct BindingTopicResult {
    pub name: String,
    pub error: Option<BindingError>,
}

/// Results of create/delete, or the error that prevented the request.
#[napi(object)]
pub struct BindingTopicResults {
    pub results: Vec<BindingTopicResult>,
    pub error: Option<BindingError>,
}

fn results(r: nkafka_client::Result<Vec<TopicResult>>) -> BindingTopicResults {
    match r {
        Ok(v) => BindingTopicResults {
            results: v
                .into_iter()
                .map(|t| BindingTopicResult {
                    name: t.name,
                    error: t.error.as_ref().map(BindingError::from),
                })
                .collect(),
            error: None,
        },
        Err(e) => BindingTopicResults {
            results: Vec::new(),
            error: Some(BindingError::from(&e)),
        },
    }
}

fn cluster(r: nkafka_client::Result<Arc<nkafka_client::cluster::Metadata>>) -> BindingClusterResult {
    match r {
        Ok(m) => BindingClusterResult {
            cluster: Some(cluster_to_js(&m)),
            error: None,
        },
        Err(e) => BindingClusterResult {
            cluster: None,
            error: Some(BindingError::from(&e)),
        },
    }
}

/// One partition's offset.
#[napi(object)]
pub struct BindingPartitionOffset {
    pub partition: i32,
    pub offset: f64,
    pub timestamp: f64,
}

/// Offsets of a topic, or the error that prevented the lookup.
#[napi(object)]
pub struct BindingOffsetsResult {
    pub offsets: Vec<BindingPartitionOffset>,
    pub error: Option<BindingError>,
}

/// The reply of `call`: the result as JSON, or the error that failed the whole call.
#[napi(object)]
pub struct BindingAdminReply {
    pub json: Option<String>,
    pub error: Option<BindingError>,
}

/// Runs the operation `op` with JSON `args`, returning its result as JSON.
async fn dispatch(a: &Admin, op: &str, args: &str) -> nkafka_client::Result<String> {
    match op {
        // topics
        // configs
        // cluster
        // acls and SCRAM users
        "describeAcls" => reply(a.describe_acls(&parse(op, args)?).await?),
        "createAcls" => reply(a.create_acls(&parse::<Vec<_>>(op, args)?).await?),
        "deleteAcls" => reply(a.delete_acls(&parse::<Vec<_>>(op, args)?).await?),
        "describeUserScramCredentials" => reply(a.describe_user_scram_credentials(&parse(op, args)?).await?),
        "alterUserScramCredentials" => reply(a.alter_user_scram_credentials(&parse::<Vec<_>>(op, args)?).await?),
        // quotas
        "describeClientQuotas" => reply(a.describe_client_quotas(&parse(op, args)?).await?),
        "alterClientQuotas" => reply(a.alter_client_quotas(&parse(op, args)?).await?),
        // groups
        "listGroups" => reply(a.list_groups(&parse(op, args)?).await?),
        _ => Err(nkafka_client::Error::argument(
            "admin operation",
            format!("`{op}` is not one this binding knows"),
        )),
    }
}

fn parse<T: serde::de::DeserializeOwned>(op: &str, args: &str) -> nkafka_client::Result<T> {
    serde_json::from_str(args).map_err(|e| nkafka_client::Error::argument(op, format!("arguments: {e}")))
}

fn reply<T: serde::Serialize>(v: T) -> nkafka_client::Result<String> {
    serde_json::to_string(&v)
        .map_err(|e| nkafka_client::Error::new(nkafka_client::Kind::Internal, format!("encoding a result: {e}")))
}

/// The native half of `Admin`.
#[napi]
pub struct BindingAdmin {
    inner: Arc<Admin>,
}

#[napi]
impl BindingAdmin {
    #[napi(constructor, catch_unwind)]
    pub fn new(mut config: BindingClientConfig) -> Result<Self> {
        let cfg = config.convert().map_err(to_napi)?;
        Ok(BindingAdmin {
            inner: Arc::new(Admin::new(cfg).map_err(to_napi)?),
        })
    }

    /// Full metadata: brokers, controller, cluster id, all topics.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingClusterResult>")]
    pub fn describe_cluster<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, BindingClusterResult>> {
        let a = self.inner.clone();
        env.spawn_future(async move { Ok(cluster(a.describe_cluster().await)) })
    }

    /// Metadata of some topics (no auto-creation).
    #[napi(catch_unwind, ts_return_type = "Promise<BindingClusterResult>")]
    pub fn metadata<'e>(
        &self,
        env: &'e Env,
        topics: Option<Vec<String>>,
    ) -> napi::Result<PromiseRaw<'e, BindingClusterResult>> {
        let a = self.inner.clone();
        env.spawn_future(async move { Ok(cluster(a.metadata(topics.as_deref()).await)) })
    }

    /// Creates topics, then (unless validate-only) waits until each partition has a leader.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingTopicResults>")]
    pub fn create_topics<'e>(
        &self,
        env: &'e Env,
        topics: Vec<BindingNewTopic>,
        timeout_ms: f64,
        validate_only: bool,
    ) -> napi::Result<PromiseRaw<'e, BindingTopicResults>> {
        let a = self.inner.clone();
        let timeout = Duration::from_millis(timeout_ms.max(0.0) as u64);
        let topics: Vec<NewTopic> = topics
            .into_iter()
            .map(|t| NewTopic {
                name: t.name,
                num_partitions: t.num_partitions.unwrap_or(-1),
                replication_factor: t
                    .replication_factor
                    .unwrap_or(-1)
                    .clamp(i16::MIN as i32, i16::MAX as i32) as i16,
                configs: t
                    .configs
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|kv| match kv.as_slice() {
                        [k, v] => Some((k.clone(), v.clone())),
                        _ => None,
                    })
                    .collect(),
            })
            .collect();
        env.spawn_future(async move {
            let r = a.create_topics(&topics, timeout, validate_only).await;
            if let (Ok(rs), false) = (&r, validate_only) {
                let created: Vec<String> = rs
                    .iter()
                    .filter(|t| t.error.is_none())
                    .map(|t| t.name.clone())
                    .collect();
                if !created.is_empty() {
                    if let Err(e) = a.wait_for_leaders(&created, timeout).await {
                        return Ok(results(Err(e)));
                    }
                }
            }
            Ok(results(r))
        })
    }

    /// Deletes topics by name.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingTopicResults>")]
    pub fn delete_topics<'e>(
        &self,
        env: &'e Env,
        names: Vec<String>,
        timeout_ms: f64,
    ) -> napi::Result<PromiseRaw<'e, BindingTopicResults>> {
        let a = self.inner.clone();
        let timeout = Duration::from_millis(timeout_ms.max(0.0) as u64);
        env.spawn_future(async move { Ok(results(a.delete_topics(&names, timeout).await)) })
    }

    /// Offsets of every partition of `topic`: `spec` is 'earliest', 'latest' or a
    /// timestamp in ms.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingOffsetsResult>")]
    pub fn list_offsets<'e>(
        &self,
        env: &'e Env,
        topic: String,
        spec: Either<String, f64>,
    ) -> napi::Result<PromiseRaw<'e, BindingOffsetsResult>> {
        let a = self.inner.clone();
        let spec = match spec {
            Either::A(s) if s == "earliest" => Ok(OffsetSpec::Earliest),
            Either::A(s) if s == "latest" => Ok(OffsetSpec::Latest),
            Either::A(s) => Err(nkafka_client::Error::argument(
                "offset spec",
                format!("`{s}`; expected 'earliest', 'latest' or a timestamp"),
            )),
            Either::B(t) if t.is_finite() && t >= 0.0 => Ok(OffsetSpec::Timestamp(t as i64)),
            Either::B(t) => Err(nkafka_client::Error::argument(
                "offset spec",
                format!("{t} is not a timestamp"),
            )),
        };
        env.spawn_future(async move {
            let r = match spec {
                Ok(spec) => a.list_offsets(&topic, spec).await,
                Err(e) => Err(e),
            };
            Ok(match r {
                Ok(v) => BindingOffsetsResult {
                    offsets: v
                        .into_iter()
                        .map(|p| BindingPartitionOffset {
                            partition: p.partition,
                            offset: p.offset as f64,
                            timestamp: p.timestamp as f64,
                        })
                        .collect(),
                    error: None,
                },
                Err(e) => BindingOffsetsResult {
                    offsets: Vec::new(),
                    error: Some(BindingError::from(&e)),
                },
            })
        })
    }

    /// Runs an admin operation: `op` names it, `args` and the reply's `json` are JSON.
    #[napi(catch_unwind, ts_return_type = "Promise<BindingAdminReply>")]
    pub fn call<'e>(&self, env: &'e Env, op: String, args: String) -> napi::Result<PromiseRaw<'e, BindingAdminReply>> {
        let a = self.inner.clone();
        env.spawn_future(async move {
            Ok(match dispatch(&a, &op, &args).await {
                Ok(json) => BindingAdminReply {
                    json: Some(json),
                    error: None,
                },
                Err(e) => BindingAdminReply {
                    json: None,
                    error: Some(BindingError::from(&e)),
                },
            })
        })
    }

    /// Closes connections.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.inner.close();
    }
}
