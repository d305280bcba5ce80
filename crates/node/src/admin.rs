//! `BindingAdmin`: the admin client. Async results come back as data (`{ value, error }`);
//! the TS layer throws `KafkaError`.
//!
//! Most operations cross as JSON through one method, `call(op, args)`: the arguments and
//! results are serde types of `nkafka_client::admin`, so an operation needs no binding code
//! beyond its line in [`dispatch`], and `ts/admin/` gives it its TypeScript types.

use std::sync::Arc;

use napi::bindgen_prelude::{Env, PromiseRaw};
use napi_derive::napi;
use nkafka_client::admin::{self, Admin, ItemsCall};

use crate::config::BindingClientConfig;
use crate::errors::{to_napi, BindingError, Result};
use crate::producer::{cluster_to_js, BindingClusterResult};

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
        "listTopics" => reply(a.list_topics(&parse(op, args)?).await?),
        "describeTopics" => {
            let c: ItemsCall<String, admin::DescribeTopicsOptions> = parse(op, args)?;
            reply(a.describe_topics(&c.items, &c.options).await?)
        }
        "createTopics" => {
            let c: ItemsCall<admin::NewTopic, admin::CreateTopicsOptions> = parse(op, args)?;
            reply(a.create_topics(&c.items, &c.options).await?)
        }
        "deleteTopics" => {
            let c: ItemsCall<String, admin::DeleteTopicsOptions> = parse(op, args)?;
            reply(a.delete_topics(&c.items, &c.options).await?)
        }
        "createPartitions" => {
            let c: ItemsCall<admin::NewPartitions, admin::CreatePartitionsOptions> = parse(op, args)?;
            reply(a.create_partitions(&c.items, &c.options).await?)
        }
        "deleteRecords" => {
            let c: ItemsCall<admin::RecordsToDelete, admin::DeleteRecordsOptions> = parse(op, args)?;
            reply(a.delete_records(&c.items, &c.options).await?)
        }
        "listOffsets" => {
            let c: ItemsCall<admin::OffsetQuery, admin::ListOffsetsOptions> = parse(op, args)?;
            reply(a.list_offsets(&c.items, &c.options).await?)
        }
        // configs
        "describeConfigs" => reply(a.describe_configs(&parse(op, args)?).await?),
        "incrementalAlterConfigs" => reply(a.incremental_alter_configs(&parse(op, args)?).await?),
        // cluster
        "describeCluster" => reply(a.describe_cluster_info(&parse(op, args)?).await?),
        "describeLogDirs" => reply(a.describe_log_dirs(&parse(op, args)?).await?),
        "alterPartitionReassignments" => reply(a.alter_partition_reassignments(&parse(op, args)?).await?),
        "listPartitionReassignments" => reply(a.list_partition_reassignments(&parse(op, args)?).await?),
        "electLeaders" => reply(a.elect_leaders(&parse(op, args)?).await?),
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
        "describeGroups" => reply(a.describe_groups(&parse(op, args)?).await?),
        "deleteGroups" => reply(a.delete_groups(&parse(op, args)?).await?),
        "listConsumerGroupOffsets" => reply(a.list_consumer_group_offsets(&parse(op, args)?).await?),
        "alterConsumerGroupOffsets" => reply(a.alter_consumer_group_offsets(&parse(op, args)?).await?),
        "deleteConsumerGroupOffsets" => reply(a.delete_consumer_group_offsets(&parse(op, args)?).await?),
        "removeMembersFromConsumerGroup" => reply(a.remove_members_from_consumer_group(&parse(op, args)?).await?),
        // share groups
        "describeShareGroups" => reply(a.describe_share_groups(&parse(op, args)?).await?),
        "listShareGroupOffsets" => reply(a.list_share_group_offsets(&parse(op, args)?).await?),
        "alterShareGroupOffsets" => reply(a.alter_share_group_offsets(&parse(op, args)?).await?),
        "deleteShareGroupOffsets" => reply(a.delete_share_group_offsets(&parse(op, args)?).await?),
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
