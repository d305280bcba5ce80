//! Configs: describing and incrementally altering topic, broker, broker-logger, group
//! (KIP-848/932 per-group settings) and client-metrics configs.
//!
//! A broker's own configs and loggers live on that broker, so those resources go to it
//! (Java's AdminClient does the same); topics and the cluster-wide broker default (broker
//! name `""`) go to any broker. One request per destination broker, all at once; a broker
//! that cannot be reached fails only its own resources.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI16, Ordering};

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource as WireAlterResource, AlterableConfig,
};
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;
use nkafka_protocol::error::ErrorCode;
use serde::{Deserialize, Serialize};

use super::{to_error, Admin, Target};
use crate::cluster::validate_topic_name;
use crate::error::{Error, Kind, Result};

/// A resource whose configs to describe.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigResource {
    /// `topic`, `broker`, `broker-logger`, `group` or `client-metrics`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Topic name, or broker id (`""` for the cluster-wide broker default).
    pub name: String,
    /// Only these configs (all when absent).
    #[serde(default)]
    pub config_names: Option<Vec<String>>,
}

/// Options of `describe_configs`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DescribeConfigsOptions {
    /// Also report where else each value is set (broker, default, ...), by precedence.
    #[serde(default)]
    pub include_synonyms: bool,
    /// Also report each config's documentation.
    #[serde(default)]
    pub include_documentation: bool,
}

/// The arguments of `describe_configs` as they cross from JS.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DescribeConfigsArgs {
    /// What to describe.
    pub resources: Vec<ConfigResource>,
    /// Options.
    #[serde(default)]
    pub options: DescribeConfigsOptions,
}

/// The configs of one resource, or why they could not be read.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigResourceResult {
    /// The resource type as given.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The resource name as given.
    pub name: String,
    /// Why this resource failed, if it did.
    pub error: Option<Error>,
    /// Its configs (empty on error).
    pub configs: Vec<ConfigEntry>,
}

/// One config as the broker reports it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigEntry {
    /// Config name.
    pub name: String,
    /// Value; null for sensitive configs and unset ones.
    pub value: Option<String>,
    /// Where the value comes from (`DYNAMIC_TOPIC_CONFIG`, `DEFAULT_CONFIG`, ...).
    pub source: &'static str,
    /// Whether it cannot be altered.
    pub is_read_only: bool,
    /// Whether the value is hidden (passwords).
    pub is_sensitive: bool,
    /// Whether the value is Kafka's default (`source` is `DEFAULT_CONFIG`).
    pub is_default: bool,
    /// `BOOLEAN`, `STRING`, `INT`, ...; absent before DescribeConfigs v3.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub config_type: Option<&'static str>,
    /// The documentation, when asked for (DescribeConfigs v3+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// Where else the config is set, by precedence (when asked for).
    pub synonyms: Vec<ConfigSynonym>,
}

/// A place a config is set: the value in effect and the ones it overrides.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSynonym {
    /// The name at that level (a broker config can differ from the topic config's name).
    pub name: String,
    /// The value there.
    pub value: Option<String>,
    /// Which level.
    pub source: &'static str,
}

/// A resource's config changes.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlterConfigsResource {
    /// `topic`, `broker`, `broker-logger`, `group` or `client-metrics`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Topic name, or broker id (`""` for the cluster-wide broker default).
    pub name: String,
    /// The changes, applied together.
    pub ops: Vec<AlterConfigOp>,
}

/// One change of one config.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlterConfigOp {
    /// Config name.
    pub name: String,
    /// The value to set, or to append to / subtract from a list; none for `delete`.
    #[serde(default)]
    pub value: Option<String>,
    /// `set`, `delete` (back to the inherited value), `append` or `subtract` (list configs).
    pub op: String,
}

/// The arguments of `incremental_alter_configs` as they cross from JS.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlterConfigsArgs {
    /// What to change.
    pub resources: Vec<AlterConfigsResource>,
    /// Only check the changes; apply nothing.
    #[serde(default)]
    pub validate_only: bool,
}

/// The outcome of one resource's changes.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlterConfigsResult {
    /// The resource type as given.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The resource name as given.
    pub name: String,
    /// Why the changes failed, if they did (none of them is applied then).
    pub error: Option<Error>,
}

/// The wire code of a config resource type (Java's `ConfigResource.Type`).
fn type_code(t: &str) -> Option<i8> {
    match t {
        "topic" => Some(2),
        "broker" => Some(4),
        "broker-logger" => Some(8),
        "client-metrics" => Some(16),
        "group" => Some(32),
        _ => None,
    }
}

/// Java's `ConfigEntry.ConfigSource` names.
fn source_name(code: i8) -> &'static str {
    match code {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

/// Java's `ConfigEntry.ConfigType` names.
fn type_name(code: i8) -> &'static str {
    match code {
        1 => "BOOLEAN",
        2 => "STRING",
        3 => "INT",
        4 => "SHORT",
        5 => "LONG",
        6 => "DOUBLE",
        7 => "LIST",
        8 => "CLASS",
        9 => "PASSWORD",
        _ => "UNKNOWN",
    }
}

/// The wire code of an incremental alter operation.
fn op_code(op: &str) -> Option<i8> {
    match op {
        "set" => Some(0),
        "delete" => Some(1),
        "append" => Some(2),
        "subtract" => Some(3),
        _ => None,
    }
}

/// How a resource names itself in its errors: "topic `x`", "broker `1`".
fn label(resource_type: &str, name: &str) -> String {
    format!("{resource_type} `{name}`")
}

/// `e` with its message prefixed by the resource it belongs to (and the topic attached).
fn for_resource(mut e: Error, resource_type: &str, name: &str) -> Error {
    let label = label(resource_type, name);
    if !e.message.starts_with(&label) {
        e.message = format!("{label}: {}", e.message);
    }
    if resource_type == "topic" {
        e.topic = Some(name.into());
    }
    e
}

fn invalid(resource_type: &str, name: &str, problem: impl std::fmt::Display) -> Error {
    Error::new(
        Kind::InvalidArgument,
        format!("{}: {problem}", label(resource_type, name)),
    )
}

/// Where a resource's request goes: `None` for any broker, else that broker's id.
fn destination(resource_type: &str, name: &str) -> Result<Option<i32>> {
    match resource_type {
        "topic" => {
            validate_topic_name(name).map_err(|e| invalid(resource_type, name, e.message))?;
            Ok(None)
        }
        "broker" if name.is_empty() => Ok(None),
        // Stored in the cluster metadata: any broker serves them.
        "group" | "client-metrics" if !name.is_empty() => Ok(None),
        "group" | "client-metrics" => Err(invalid(resource_type, name, "the name is empty")),
        "broker" | "broker-logger" => match name.parse::<i32>() {
            Ok(id) if id >= 0 => Ok(Some(id)),
            _ => Err(invalid(
                resource_type,
                name,
                if resource_type == "broker" {
                    "the name must be a broker id, or '' for the cluster-wide default"
                } else {
                    "the name must be a broker id"
                },
            )),
        },
        _ => Err(invalid(
            resource_type,
            name,
            "unknown resource type; expected topic, broker, broker-logger, group or client-metrics",
        )),
    }
}

/// The broker request of one destination: the indexes of the caller's resources it holds.
type Groups = BTreeMap<Option<i32>, Vec<usize>>;

impl Admin {
    /// Sorts resources by destination; a resource that cannot be sent (invalid, or naming a
    /// broker the cluster does not have) gets its error in `errors` instead.
    async fn route_resources<'a>(
        &self,
        resources: impl Iterator<Item = (&'a str, &'a str)>,
        errors: &mut [Option<Error>],
    ) -> Groups {
        let mut groups = Groups::new();
        for (i, (t, n)) in resources.enumerate() {
            match destination(t, n) {
                Ok(d) => groups.entry(d).or_default().push(i),
                Err(e) => errors[i] = Some(e),
            }
        }
        let wanted: Vec<i32> = groups.keys().flatten().copied().collect();
        let mut meta = self.cluster().metadata();
        if wanted.iter().any(|b| !meta.brokers.contains_key(b)) {
            match self.cluster().refresh(None, false).await {
                Ok(m) => meta = m,
                // Then the requests themselves report what is wrong.
                Err(e) => tracing::debug!(cause = %e, "metadata refresh before a config request failed"),
            }
        }
        let mut known: Vec<i32> = meta.brokers.keys().copied().collect();
        known.sort_unstable();
        // An empty broker list means the refresh failed: leave the brokers to the requests.
        if !known.is_empty() {
            for b in wanted.iter().filter(|b| !meta.brokers.contains_key(b)) {
                for i in groups.remove(&Some(*b)).unwrap_or_default() {
                    errors[i] = Some(Error::broker(
                        ErrorCode::BROKER_NOT_AVAILABLE,
                        Some(&format!("broker {b} is not in the cluster (brokers: {known:?})")),
                    ));
                }
            }
        }
        groups
    }

    /// The configs of each resource, in the caller's order.
    pub async fn describe_configs(&self, args: &DescribeConfigsArgs) -> Result<Vec<ConfigResourceResult>> {
        let resources = &args.resources;
        let mut errors: Vec<Option<Error>> = vec![None; resources.len()];
        let groups = self
            .route_resources(
                resources.iter().map(|r| (r.resource_type.as_str(), r.name.as_str())),
                &mut errors,
            )
            .await;
        let mut configs: Vec<Vec<ConfigEntry>> = vec![Vec::new(); resources.len()];
        let asks = groups.iter().map(|(dest, items)| self.describe_on(*dest, items, args));
        let answers = futures_util::future::join_all(asks).await;
        for (items, answer) in groups.values().zip(answers) {
            match answer {
                Ok(per_item) => {
                    for (&i, r) in items.iter().zip(per_item) {
                        match r {
                            Ok(c) => configs[i] = c,
                            Err(e) => errors[i] = Some(e),
                        }
                    }
                }
                Err(e) => {
                    for &i in items {
                        errors[i] = Some(e.clone());
                    }
                }
            }
        }
        Ok(resources
            .iter()
            .zip(errors.into_iter().zip(configs))
            .map(|(r, (error, configs))| ConfigResourceResult {
                resource_type: r.resource_type.clone(),
                error: error.map(|e| for_resource(e, &r.resource_type, &r.name)),
                name: r.name.clone(),
                configs,
            })
            .collect())
    }

    /// One DescribeConfigs to `dest` for the resources `items`: each one's configs or error.
    async fn describe_on(
        &self,
        dest: Option<i32>,
        items: &[usize],
        args: &DescribeConfigsArgs,
    ) -> Result<Vec<Result<Vec<ConfigEntry>>>> {
        let target = dest.map_or(Target::Any, Target::Broker);
        let request = DescribeConfigsRequest::default()
            .with_include_synonyms(args.options.include_synonyms)
            .with_include_documentation(args.options.include_documentation)
            .with_resources(
                items
                    .iter()
                    .map(|&i| {
                        let r = &args.resources[i];
                        DescribeConfigsResource::default()
                            .with_resource_type(type_code(&r.resource_type).unwrap_or_default())
                            .with_resource_name(StrBytes::from_string(r.name.clone()))
                            .with_configuration_keys(
                                r.config_names
                                    .as_ref()
                                    .map(|ks| ks.iter().map(|k| StrBytes::from_string(k.clone())).collect()),
                            )
                    })
                    .collect(),
            );
        let version = AtomicI16::new(0);
        let resp: DescribeConfigsResponse = self
            .retry("DescribeConfigs", |d| {
                let (req, version, target) = (&request, &version, &target);
                async move {
                    let (_, resp): (_, DescribeConfigsResponse) = self
                        .send(target, ApiKey::DescribeConfigs, d, |v| {
                            version.store(v, Ordering::Relaxed);
                            Ok(req.clone())
                        })
                        .await?;
                    // A forwarding broker whose controller moved: the whole request again.
                    if let Some(r) = resp
                        .results
                        .iter()
                        .find(|r| r.error_code == ErrorCode::NOT_CONTROLLER.0)
                    {
                        return Err(Error::broker(ErrorCode::NOT_CONTROLLER, r.error_message.as_deref()));
                    }
                    Ok(resp)
                }
            })
            .await?;
        let with_types = version.load(Ordering::Relaxed) >= 3;
        let mut by_key: HashMap<(i8, String), VecDeque<Result<Vec<ConfigEntry>>>> = HashMap::new();
        for r in resp.results {
            let answer = match to_error(r.error_code, r.error_message.as_deref()) {
                Some(e) => Err(e),
                None => Ok(r
                    .configs
                    .into_iter()
                    .map(|c| entry(c, with_types, args.options.include_documentation))
                    .collect()),
            };
            by_key
                .entry((r.resource_type, r.resource_name.to_string()))
                .or_default()
                .push_back(answer);
        }
        Ok(items
            .iter()
            .map(|&i| {
                let r = &args.resources[i];
                let key = (type_code(&r.resource_type).unwrap_or_default(), r.name.clone());
                by_key.get_mut(&key).and_then(VecDeque::pop_front).unwrap_or_else(|| {
                    Err(Error::new(
                        Kind::Protocol,
                        "the broker's DescribeConfigs response left this resource out",
                    ))
                })
            })
            .collect())
    }

    /// Applies each resource's config changes (each resource all or nothing), in the
    /// caller's order.
    pub async fn incremental_alter_configs(&self, args: &AlterConfigsArgs) -> Result<Vec<AlterConfigsResult>> {
        let resources = &args.resources;
        let mut errors: Vec<Option<Error>> = vec![None; resources.len()];
        // Checked before routing so an invalid op is not sent; routing keeps these errors.
        for (i, r) in resources.iter().enumerate() {
            errors[i] = check_ops(r).err();
            let twice = resources
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.resource_type == r.resource_type && o.name == r.name);
            if errors[i].is_none() && twice {
                errors[i] = Some(invalid(
                    &r.resource_type,
                    &r.name,
                    "the resource is listed more than once; put all its ops in one entry",
                ));
            }
        }
        let bad: Vec<bool> = errors.iter().map(Option::is_some).collect();
        let mut groups = self
            .route_resources(
                resources.iter().map(|r| (r.resource_type.as_str(), r.name.as_str())),
                &mut errors,
            )
            .await;
        for items in groups.values_mut() {
            items.retain(|&i| !bad[i]);
        }
        groups.retain(|_, items| !items.is_empty());
        let asks = groups.iter().map(|(dest, items)| self.alter_on(*dest, items, args));
        let answers = futures_util::future::join_all(asks).await;
        for (items, answer) in groups.values().zip(answers) {
            match answer {
                Ok(per_item) => {
                    for (&i, e) in items.iter().zip(per_item) {
                        errors[i] = e;
                    }
                }
                Err(e) => {
                    for &i in items {
                        errors[i] = Some(e.clone());
                    }
                }
            }
        }
        Ok(resources
            .iter()
            .zip(errors)
            .map(|(r, error)| AlterConfigsResult {
                resource_type: r.resource_type.clone(),
                error: error.map(|e| for_resource(e, &r.resource_type, &r.name)),
                name: r.name.clone(),
            })
            .collect())
    }

    /// One IncrementalAlterConfigs to `dest` for the resources `items`: each one's error.
    async fn alter_on(
        &self,
        dest: Option<i32>,
        items: &[usize],
        args: &AlterConfigsArgs,
    ) -> Result<Vec<Option<Error>>> {
        let target = dest.map_or(Target::Any, Target::Broker);
        let request = IncrementalAlterConfigsRequest::default()
            .with_validate_only(args.validate_only)
            .with_resources(
                items
                    .iter()
                    .map(|&i| {
                        let r = &args.resources[i];
                        WireAlterResource::default()
                            .with_resource_type(type_code(&r.resource_type).unwrap_or_default())
                            .with_resource_name(StrBytes::from_string(r.name.clone()))
                            .with_configs(
                                r.ops
                                    .iter()
                                    .map(|o| {
                                        AlterableConfig::default()
                                            .with_name(StrBytes::from_string(o.name.clone()))
                                            .with_config_operation(op_code(&o.op).unwrap_or_default())
                                            .with_value(o.value.clone().map(StrBytes::from_string))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let resp: IncrementalAlterConfigsResponse = self
            .retry("IncrementalAlterConfigs", |d| {
                let (req, target) = (&request, &target);
                async move {
                    let (_, resp): (_, IncrementalAlterConfigsResponse) = self
                        .send(target, ApiKey::IncrementalAlterConfigs, d, |_| Ok(req.clone()))
                        .await?;
                    // The controller moved before it applied anything: the whole request
                    // again (setting the same values twice is harmless).
                    if let Some(r) = resp
                        .responses
                        .iter()
                        .find(|r| r.error_code == ErrorCode::NOT_CONTROLLER.0)
                    {
                        return Err(Error::broker(ErrorCode::NOT_CONTROLLER, r.error_message.as_deref()));
                    }
                    Ok(resp)
                }
            })
            .await?;
        let mut by_key: HashMap<(i8, String), Option<Error>> = HashMap::new();
        for r in resp.responses {
            by_key.insert(
                (r.resource_type, r.resource_name.to_string()),
                to_error(r.error_code, r.error_message.as_deref()),
            );
        }
        Ok(items
            .iter()
            .map(|&i| {
                let r = &args.resources[i];
                let key = (type_code(&r.resource_type).unwrap_or_default(), r.name.clone());
                by_key.remove(&key).unwrap_or_else(|| {
                    Some(Error::new(
                        Kind::Protocol,
                        "the broker's IncrementalAlterConfigs response left this resource out",
                    ))
                })
            })
            .collect())
    }
}

/// One config; `documentation` only when asked for (brokers send an empty one for loggers
/// regardless).
fn entry(c: DescribeConfigsResourceResult, with_types: bool, with_docs: bool) -> ConfigEntry {
    ConfigEntry {
        name: c.name.to_string(),
        value: c.value.map(|v| v.to_string()),
        source: source_name(c.config_source),
        is_read_only: c.read_only,
        is_sensitive: c.is_sensitive,
        is_default: c.config_source == 5,
        config_type: with_types.then(|| type_name(c.config_type)),
        documentation: c.documentation.filter(|_| with_docs).map(|d| d.to_string()),
        synonyms: c
            .synonyms
            .into_iter()
            .map(|s| ConfigSynonym {
                name: s.name.to_string(),
                value: s.value.map(|v| v.to_string()),
                source: source_name(s.source),
            })
            .collect(),
    }
}

/// The ops of one resource are well-formed: known op names, a value where one is needed.
fn check_ops(r: &AlterConfigsResource) -> Result<()> {
    for (k, o) in r.ops.iter().enumerate() {
        let at = |problem: String| invalid(&r.resource_type, &r.name, format!("ops[{k}] ({}): {problem}", o.name));
        if o.name.is_empty() {
            return Err(invalid(
                &r.resource_type,
                &r.name,
                format!("ops[{k}]: the config name is empty"),
            ));
        }
        match op_code(&o.op) {
            None => {
                return Err(at(format!(
                    "`{}` is not an op; expected set, delete, append or subtract",
                    o.op
                )))
            }
            Some(1) => {}
            Some(_) if o.value.is_none() => return Err(at(format!("`{}` needs a value", o.op))),
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(destination("topic", "orders").unwrap(), None);
        assert_eq!(destination("broker", "3").unwrap(), Some(3));
        assert_eq!(destination("broker", "").unwrap(), None);
        assert_eq!(destination("broker-logger", "1").unwrap(), Some(1));
        let e = destination("broker-logger", "").unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        assert!(e.message.contains("broker-logger ``"), "{}", e.message);
        assert!(destination("broker", "-1").is_err());
        assert!(destination("broker", "one").is_err());
        let e = destination("topic", "bad name").unwrap_err();
        assert!(e.message.starts_with("topic `bad name`: "), "{}", e.message);
        assert_eq!(destination("group", "g").unwrap(), None);
        assert!(destination("group", "").is_err());
        let e = destination("consumer-group", "g").unwrap_err();
        assert!(e.message.contains("unknown resource type"), "{}", e.message);
    }

    #[test]
    fn ops_are_checked() {
        let r = |op: &str, value: Option<&str>| AlterConfigsResource {
            resource_type: "topic".into(),
            name: "t".into(),
            ops: vec![AlterConfigOp {
                name: "retention.ms".into(),
                value: value.map(String::from),
                op: op.into(),
            }],
        };
        assert!(check_ops(&r("set", Some("1"))).is_ok());
        assert!(check_ops(&r("delete", None)).is_ok());
        let e = check_ops(&r("set", None)).unwrap_err();
        assert_eq!(e.message, "topic `t`: ops[0] (retention.ms): `set` needs a value");
        let e = check_ops(&r("put", Some("1"))).unwrap_err();
        assert!(e.message.contains("`put` is not an op"), "{}", e.message);
    }

    #[test]
    fn names_follow_java() {
        assert_eq!(source_name(1), "DYNAMIC_TOPIC_CONFIG");
        assert_eq!(source_name(5), "DEFAULT_CONFIG");
        assert_eq!(source_name(42), "UNKNOWN");
        assert_eq!(type_name(7), "LIST");
        assert_eq!(type_code("broker-logger"), Some(8));
    }
}
