//! ACLs (describe, create, delete) and SCRAM users (describe, alter).
//!
//! Enum values cross as the lower-case, dash-separated names of Java's `ResourceType`,
//! `PatternType`, `AclOperation` and `AclPermissionType` (`transactional-id`,
//! `idempotent-write`, ...). An unknown name is an INVALID_ARGUMENT on that item, naming
//! the field and the value, and the item is not sent.

use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::describe_user_scram_credentials_response::DescribeUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey, CreateAclsRequest, CreateAclsResponse,
    DeleteAclsRequest, DeleteAclsResponse, DescribeAclsRequest, DescribeAclsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};

use super::{to_error, Admin, ItemOutcome, Target};
use crate::error::{Error, Kind, Result};
use crate::security::scram::{ScramHash, MAX_ITERATIONS, MIN_ITERATIONS};

// Kafka's wire codes (org.apache.kafka.common.{resource,acl}); 0 is UNKNOWN everywhere.
const RESOURCE_TYPES: &[(&str, i8)] = &[
    ("any", 1),
    ("topic", 2),
    ("group", 3),
    ("cluster", 4),
    ("transactional-id", 5),
    ("delegation-token", 6),
    ("user", 7),
];
const PATTERN_TYPES: &[(&str, i8)] = &[("any", 1), ("match", 2), ("literal", 3), ("prefixed", 4)];
const OPERATIONS: &[(&str, i8)] = &[
    ("any", 1),
    ("all", 2),
    ("read", 3),
    ("write", 4),
    ("create", 5),
    ("delete", 6),
    ("alter", 7),
    ("describe", 8),
    ("cluster-action", 9),
    ("describe-configs", 10),
    ("alter-configs", 11),
    ("idempotent-write", 12),
    ("create-tokens", 13),
    ("describe-tokens", 14),
    ("two-phase-commit", 15),
];
const PERMISSIONS: &[(&str, i8)] = &[("any", 1), ("deny", 2), ("allow", 3)];
/// Names that only filters take.
const FILTER_ONLY: &[&str] = &["any", "match"];

const SCRAM_MECHANISMS: &[(&str, i8)] = &[("SCRAM-SHA-256", 1), ("SCRAM-SHA-512", 2)];
/// Salt bytes per credential (Kafka's own formatter makes 26 random characters).
const SALT_LEN: usize = 32;
/// Iterations when an upsertion names none (Kafka's default).
const DEFAULT_ITERATIONS: u32 = 4096;

fn name_of(table: &[(&'static str, i8)], code: i8) -> String {
    table
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| format!("unknown({code})"), |(n, _)| n.to_string())
}

/// The code of `value` for `field` of `item`; `filter` says whether `any`/`match` are allowed.
fn code_of(table: &[(&str, i8)], field: &str, value: &str, item: &str, filter: bool) -> Result<i8> {
    let allowed: Vec<&str> = table
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| filter || !FILTER_ONLY.contains(n))
        .collect();
    match table.iter().find(|(n, _)| *n == value) {
        Some((n, c)) if allowed.contains(n) => Ok(*c),
        _ => Err(Error::argument(
            &format!("{field} `{value}` of {item}"),
            format!("expected one of {}", allowed.join(", ")),
        )),
    }
}

/// Prefixes an item's error with the item, so that an aggregate error names every failure.
pub(super) fn named(mut e: Error, item: &str) -> Error {
    e.message = format!("{item}: {}", e.message);
    e
}

// ---------------------------------------------------------------------------------------
// ACLs

fn literal() -> String {
    "literal".into()
}
fn any_host() -> String {
    "*".into()
}
fn any() -> String {
    "any".into()
}

/// One ACL: who (`principal` from `host`) may or may not (`permissionType`) do what
/// (`operation`) to which resources (`resourceType`, `resourceName`, `patternType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AclBinding {
    /// `topic`, `group`, `cluster`, `transactional-id`, `delegation-token`, `user`.
    pub resource_type: String,
    /// The resource's name (`kafka-cluster` for the cluster), `*` for every resource.
    pub resource_name: String,
    /// `literal` (default) or `prefixed`.
    #[serde(default = "literal")]
    pub pattern_type: String,
    /// `User:<name>` (or another principal type of the broker's).
    pub principal: String,
    /// The client's address, `*` (default) for any.
    #[serde(default = "any_host")]
    pub host: String,
    /// `all`, `read`, `write`, `create`, `delete`, `alter`, `describe`, `cluster-action`,
    /// `describe-configs`, `alter-configs`, `idempotent-write`, `create-tokens`,
    /// `describe-tokens`, `two-phase-commit`.
    pub operation: String,
    /// `allow` or `deny`.
    pub permission_type: String,
}

/// Which ACLs to describe or delete: omitted fields (or `any`, or null names) match all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AclBindingFilter {
    /// A resource type, or `any`.
    #[serde(default = "any")]
    pub resource_type: String,
    /// A name, or null for any.
    #[serde(default)]
    pub resource_name: Option<String>,
    /// `literal`, `prefixed`, `any`, or `match` (the ACLs that apply to the named
    /// resource: literal, wildcard and matching prefixes).
    #[serde(default = "any")]
    pub pattern_type: String,
    /// A principal, or null for any.
    #[serde(default)]
    pub principal: Option<String>,
    /// A host, or null for any.
    #[serde(default)]
    pub host: Option<String>,
    /// An operation, or `any`.
    #[serde(default = "any")]
    pub operation: String,
    /// `allow`, `deny` or `any`.
    #[serde(default = "any")]
    pub permission_type: String,
}

impl Default for AclBindingFilter {
    fn default() -> Self {
        AclBindingFilter {
            resource_type: any(),
            resource_name: None,
            pattern_type: any(),
            principal: None,
            host: None,
            operation: any(),
            permission_type: any(),
        }
    }
}

/// The outcome of one binding of `create_acls`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAclResult {
    /// The binding, as asked (with defaults filled in).
    pub binding: AclBinding,
    /// Why it was not created.
    pub error: Option<Error>,
}

impl ItemOutcome for CreateAclResult {
    fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

/// One ACL a delete filter matched, and whether deleting it failed.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AclMatch {
    /// The ACL.
    pub binding: AclBinding,
    /// Why this ACL was not deleted.
    pub error: Option<Error>,
}

/// The outcome of one filter of `delete_acls`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteAclsResult {
    /// The filter, as asked (with defaults filled in).
    pub filter: AclBindingFilter,
    /// Why the filter failed as a whole (nothing was deleted for it).
    pub error: Option<Error>,
    /// The ACLs it matched.
    pub matches: Vec<AclMatch>,
}

impl ItemOutcome for DeleteAclsResult {
    fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

/// A filter in wire codes.
struct CodedFilter {
    resource_type: i8,
    resource_name: Option<StrBytes>,
    pattern_type: i8,
    principal: Option<StrBytes>,
    host: Option<StrBytes>,
    operation: i8,
    permission_type: i8,
}

fn opt_str(s: &Option<String>) -> Option<StrBytes> {
    s.as_ref().map(|s| StrBytes::from_string(s.clone()))
}

impl AclBinding {
    fn label(&self) -> String {
        format!(
            "ACL {} {} `{}` ({}) for {} from {}",
            self.permission_type, self.operation, self.resource_name, self.resource_type, self.principal, self.host
        )
    }

    fn encode(&self, i: usize) -> Result<AclCreation> {
        let item = format!("ACL binding {i}");
        if self.resource_name.is_empty() {
            return Err(Error::argument(&format!("resourceName of {item}"), "must not be empty"));
        }
        if !self.principal.contains(':') {
            return Err(Error::argument(
                &format!("principal `{}` of {item}", self.principal),
                "expected `<type>:<name>`, e.g. `User:alice`",
            ));
        }
        if self.host.is_empty() {
            return Err(Error::argument(
                &format!("host of {item}"),
                "must not be empty (`*` is any host)",
            ));
        }
        Ok(AclCreation::default()
            .with_resource_type(code_of(
                RESOURCE_TYPES,
                "resourceType",
                &self.resource_type,
                &item,
                false,
            )?)
            .with_resource_name(StrBytes::from_string(self.resource_name.clone()))
            .with_resource_pattern_type(code_of(PATTERN_TYPES, "patternType", &self.pattern_type, &item, false)?)
            .with_principal(StrBytes::from_string(self.principal.clone()))
            .with_host(StrBytes::from_string(self.host.clone()))
            .with_operation(code_of(OPERATIONS, "operation", &self.operation, &item, false)?)
            .with_permission_type(code_of(
                PERMISSIONS,
                "permissionType",
                &self.permission_type,
                &item,
                false,
            )?))
    }

    fn decode(
        resource_type: i8,
        resource_name: &StrBytes,
        pattern_type: i8,
        principal: &StrBytes,
        host: &StrBytes,
        operation: i8,
        permission_type: i8,
    ) -> AclBinding {
        AclBinding {
            resource_type: name_of(RESOURCE_TYPES, resource_type),
            resource_name: resource_name.to_string(),
            pattern_type: name_of(PATTERN_TYPES, pattern_type),
            principal: principal.to_string(),
            host: host.to_string(),
            operation: name_of(OPERATIONS, operation),
            permission_type: name_of(PERMISSIONS, permission_type),
        }
    }
}

impl AclBindingFilter {
    fn label(&self) -> String {
        let or_any = |s: &Option<String>| s.as_deref().map_or("any".to_string(), |s| format!("`{s}`"));
        format!(
            "ACL filter ({} {} name {} ({}, {}) principal {} host {})",
            self.permission_type,
            self.operation,
            or_any(&self.resource_name),
            self.resource_type,
            self.pattern_type,
            or_any(&self.principal),
            or_any(&self.host)
        )
    }

    fn encode(&self, item: &str) -> Result<CodedFilter> {
        Ok(CodedFilter {
            resource_type: code_of(RESOURCE_TYPES, "resourceType", &self.resource_type, item, true)?,
            resource_name: opt_str(&self.resource_name),
            pattern_type: code_of(PATTERN_TYPES, "patternType", &self.pattern_type, item, true)?,
            principal: opt_str(&self.principal),
            host: opt_str(&self.host),
            operation: code_of(OPERATIONS, "operation", &self.operation, item, true)?,
            permission_type: code_of(PERMISSIONS, "permissionType", &self.permission_type, item, true)?,
        })
    }
}

impl Admin {
    /// The ACLs that match `filter` (DescribeAcls, any broker).
    pub async fn describe_acls(&self, filter: &AclBindingFilter) -> Result<Vec<AclBinding>> {
        let f = filter.encode("the ACL filter")?;
        let f = &f;
        self.retry("DescribeAcls", move |d| async move {
            let (_, resp): (_, DescribeAclsResponse) = self
                .send(&Target::Any, ApiKey::DescribeAcls, d, |_| {
                    Ok(DescribeAclsRequest::default()
                        .with_resource_type_filter(f.resource_type)
                        .with_resource_name_filter(f.resource_name.clone())
                        .with_pattern_type_filter(f.pattern_type)
                        .with_principal_filter(f.principal.clone())
                        .with_host_filter(f.host.clone())
                        .with_operation(f.operation)
                        .with_permission_type(f.permission_type))
                })
                .await?;
            if let Some(e) = to_error(resp.error_code, resp.error_message.as_deref()) {
                return Err(e);
            }
            let mut out = Vec::new();
            for r in &resp.resources {
                for a in &r.acls {
                    out.push(AclBinding::decode(
                        r.resource_type,
                        &r.resource_name,
                        r.pattern_type,
                        &a.principal,
                        &a.host,
                        a.operation,
                        a.permission_type,
                    ));
                }
            }
            Ok(out)
        })
        .await
    }

    /// Creates ACLs (CreateAcls, any broker): one outcome per binding, in order. Creating
    /// an ACL that exists already succeeds (the broker keeps one).
    pub async fn create_acls(&self, bindings: &[AclBinding]) -> Result<Vec<CreateAclResult>> {
        let mut coded = Vec::with_capacity(bindings.len());
        let mut settled = Vec::with_capacity(bindings.len());
        for (i, b) in bindings.iter().enumerate() {
            match b.encode(i) {
                Ok(c) => {
                    coded.push(Some(c));
                    settled.push(None);
                }
                Err(e) => {
                    coded.push(None);
                    settled.push(Some(CreateAclResult {
                        binding: b.clone(),
                        error: Some(e),
                    }));
                }
            }
        }
        let coded = &coded;
        self.retry_items("CreateAcls", settled, move |pending, d| async move {
            let creations: Vec<AclCreation> = pending.iter().filter_map(|&i| coded[i].clone()).collect();
            let (_, resp): (_, CreateAclsResponse) = self
                .send(&Target::Any, ApiKey::CreateAcls, d, |_| {
                    Ok(CreateAclsRequest::default().with_creations(creations))
                })
                .await?;
            Ok(pending
                .iter()
                .zip(resp.results)
                .map(|(&i, r)| {
                    let b = &bindings[i];
                    CreateAclResult {
                        binding: b.clone(),
                        error: to_error(r.error_code, r.error_message.as_deref()).map(|e| named(e, &b.label())),
                    }
                })
                .collect())
        })
        .await
    }

    /// Deletes the ACLs each filter matches (DeleteAcls, any broker): one outcome per
    /// filter, in order, with the ACLs it matched.
    pub async fn delete_acls(&self, filters: &[AclBindingFilter]) -> Result<Vec<DeleteAclsResult>> {
        let mut coded = Vec::with_capacity(filters.len());
        let mut settled = Vec::with_capacity(filters.len());
        for (i, f) in filters.iter().enumerate() {
            match f.encode(&format!("ACL filter {i}")) {
                Ok(c) => {
                    coded.push(Some(c));
                    settled.push(None);
                }
                Err(e) => {
                    coded.push(None);
                    settled.push(Some(DeleteAclsResult {
                        filter: f.clone(),
                        error: Some(e),
                        matches: Vec::new(),
                    }));
                }
            }
        }
        let coded = &coded;
        self.retry_items("DeleteAcls", settled, move |pending, d| async move {
            let wire: Vec<DeleteAclsFilter> = pending
                .iter()
                .filter_map(|&i| coded[i].as_ref())
                .map(|f| {
                    DeleteAclsFilter::default()
                        .with_resource_type_filter(f.resource_type)
                        .with_resource_name_filter(f.resource_name.clone())
                        .with_pattern_type_filter(f.pattern_type)
                        .with_principal_filter(f.principal.clone())
                        .with_host_filter(f.host.clone())
                        .with_operation(f.operation)
                        .with_permission_type(f.permission_type)
                })
                .collect();
            let (_, resp): (_, DeleteAclsResponse) = self
                .send(&Target::Any, ApiKey::DeleteAcls, d, |_| {
                    Ok(DeleteAclsRequest::default().with_filters(wire))
                })
                .await?;
            Ok(pending
                .iter()
                .zip(resp.filter_results)
                .map(|(&i, r)| {
                    let f = &filters[i];
                    DeleteAclsResult {
                        filter: f.clone(),
                        error: to_error(r.error_code, r.error_message.as_deref()).map(|e| named(e, &f.label())),
                        matches: r
                            .matching_acls
                            .iter()
                            .map(|m| {
                                let binding = AclBinding::decode(
                                    m.resource_type,
                                    &m.resource_name,
                                    m.pattern_type,
                                    &m.principal,
                                    &m.host,
                                    m.operation,
                                    m.permission_type,
                                );
                                let error = to_error(m.error_code, m.error_message.as_deref())
                                    .map(|e| named(e, &binding.label()));
                                AclMatch { binding, error }
                            })
                            .collect(),
                    }
                })
                .collect())
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------
// SCRAM users

/// Which users `describe_user_scram_credentials` describes: all when `users` is null or
/// empty (as Java's admin client does).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DescribeScramOptions {
    /// User names.
    #[serde(default)]
    pub users: Option<Vec<String>>,
}

/// One SCRAM credential of a user (the broker never returns salts or keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScramCredentialInfo {
    /// `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    /// PBKDF2 iterations.
    pub iterations: i32,
}

/// The SCRAM credentials of one user.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScramUserResult {
    /// User name.
    pub user: String,
    /// Why the user could not be described (RESOURCE_NOT_FOUND: no credential).
    pub error: Option<Error>,
    /// Its credentials, one per mechanism.
    pub credentials: Vec<ScramCredentialInfo>,
}

/// One change of `alter_user_scram_credentials`: set the `mechanism` credential of `user`
/// from `password` (with `iterations`, 4096 by default), or remove it (`delete: true`).
/// No `Debug`: it holds a password.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScramAlteration {
    /// User name.
    pub user: String,
    /// `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    /// PBKDF2 iterations (Kafka accepts 4096 to 16384).
    #[serde(default)]
    pub iterations: Option<i64>,
    /// The password; only the salted form goes to the broker.
    #[serde(default)]
    pub password: Option<String>,
    /// Removes the credential instead.
    #[serde(default)]
    pub delete: bool,
}

/// The outcome of one alteration. The broker answers per user: alterations of the same
/// user in one call share its outcome.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlterScramResult {
    /// User name.
    pub user: String,
    /// The mechanism asked.
    pub mechanism: String,
    /// Why it failed.
    pub error: Option<Error>,
}

impl ItemOutcome for AlterScramResult {
    fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

enum ScramChange {
    Upsert(ScramCredentialUpsertion),
    Delete(ScramCredentialDeletion),
}

impl ScramAlteration {
    /// The wire change: for an upsertion, a fresh salt from the OS CSPRNG and the salted
    /// password computed by the same PBKDF2 as the SCRAM login.
    fn encode(&self, i: usize) -> Result<ScramChange> {
        let item = format!("SCRAM alteration {i} (user `{}`)", self.user);
        if self.user.is_empty() {
            return Err(Error::argument(
                &format!("user of SCRAM alteration {i}"),
                "must not be empty",
            ));
        }
        let (mechanism, hash) = match self.mechanism.as_str() {
            "SCRAM-SHA-256" => (1, ScramHash::Sha256),
            "SCRAM-SHA-512" => (2, ScramHash::Sha512),
            m => {
                return Err(Error::argument(
                    &format!("mechanism `{m}` of {item}"),
                    "expected SCRAM-SHA-256 or SCRAM-SHA-512",
                ))
            }
        };
        let name = StrBytes::from_string(self.user.clone());
        if self.delete {
            if self.password.is_some() || self.iterations.is_some() {
                return Err(Error::argument(&item, "a deletion takes no password or iterations"));
            }
            return Ok(ScramChange::Delete(
                ScramCredentialDeletion::default()
                    .with_name(name)
                    .with_mechanism(mechanism),
            ));
        }
        let password = match &self.password {
            Some(p) if !p.is_empty() => p,
            _ => {
                return Err(Error::argument(
                    &format!("password of {item}"),
                    "must be a non-empty string",
                ))
            }
        };
        let iterations = match self.iterations {
            None => DEFAULT_ITERATIONS,
            Some(n) if (MIN_ITERATIONS as i64..=MAX_ITERATIONS as i64).contains(&n) => n as u32,
            Some(n) => {
                return Err(Error::argument(
                    &format!("iterations {n} of {item}"),
                    format!("Kafka accepts {MIN_ITERATIONS} to {MAX_ITERATIONS}"),
                ))
            }
        };
        let mut salt = vec![0u8; SALT_LEN];
        getrandom::fill(&mut salt)
            .map_err(|e| Error::new(Kind::Internal, format!("no random bytes for a SCRAM salt: {e}")))?;
        let salted = hash.salted_password(password.as_bytes(), &salt, iterations);
        Ok(ScramChange::Upsert(
            ScramCredentialUpsertion::default()
                .with_name(name)
                .with_mechanism(mechanism)
                .with_iterations(iterations as i32)
                .with_salt(Bytes::from(salt))
                .with_salted_password(Bytes::from(salted)),
        ))
    }
}

fn scram_result(r: &DescribeUserScramCredentialsResult) -> ScramUserResult {
    let user = r.user.to_string();
    ScramUserResult {
        error: to_error(r.error_code, r.error_message.as_deref()).map(|e| named(e, &format!("user `{user}`"))),
        credentials: r
            .credential_infos
            .iter()
            .map(|c| ScramCredentialInfo {
                mechanism: name_of(SCRAM_MECHANISMS, c.mechanism),
                iterations: c.iterations,
            })
            .collect(),
        user,
    }
}

impl Admin {
    /// The SCRAM credentials of `users` (all users when none are named), one result per
    /// named user in order (DescribeUserScramCredentials, any broker). An empty name is
    /// that item's INVALID_ARGUMENT.
    pub async fn describe_user_scram_credentials(
        &self,
        options: &DescribeScramOptions,
    ) -> Result<Vec<ScramUserResult>> {
        let Some(users) = options.users.as_ref().filter(|u| !u.is_empty()) else {
            let mut all: Vec<ScramUserResult> = self.describe_scram(None).await?.iter().map(scram_result).collect();
            all.sort_by(|a, b| a.user.cmp(&b.user));
            return Ok(all);
        };
        let mut unique: Vec<String> = users.iter().filter(|u| !u.is_empty()).cloned().collect();
        unique.sort_unstable();
        unique.dedup();
        // Only empty names: nothing to ask (an empty list would ask for every user).
        let results = if unique.is_empty() {
            Vec::new()
        } else {
            self.describe_scram(Some(unique)).await?
        };
        Ok(users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let error = if u.is_empty() {
                    Error::argument(&format!("users[{i}]"), "a user name must not be empty")
                } else if let Some(r) = results.iter().find(|r| r.user.as_str() == u.as_str()) {
                    return scram_result(r);
                } else {
                    Error::new(
                        Kind::Protocol,
                        format!("user `{u}`: the broker's answer does not mention this user"),
                    )
                };
                ScramUserResult {
                    user: u.clone(),
                    error: Some(error),
                    credentials: Vec::new(),
                }
            })
            .collect())
    }

    async fn describe_scram(&self, users: Option<Vec<String>>) -> Result<Vec<DescribeUserScramCredentialsResult>> {
        let users = &users;
        self.retry("DescribeUserScramCredentials", move |d| async move {
            let (_, resp): (_, DescribeUserScramCredentialsResponse) = self
                .send(&Target::Any, ApiKey::DescribeUserScramCredentials, d, |_| {
                    Ok(
                        DescribeUserScramCredentialsRequest::default().with_users(users.as_ref().map(|u| {
                            u.iter()
                                .map(|n| UserName::default().with_name(StrBytes::from_string(n.clone())))
                                .collect()
                        })),
                    )
                })
                .await?;
            if let Some(e) = to_error(resp.error_code, resp.error_message.as_deref()) {
                return Err(e);
            }
            Ok(resp.results)
        })
        .await
    }

    /// Sets or removes SCRAM credentials (AlterUserScramCredentials, any broker; the
    /// controller applies them): one outcome per alteration, in order. An invalid
    /// alteration fails every alteration of its user, which is then not sent (the broker
    /// answers per user, not per alteration).
    pub async fn alter_user_scram_credentials(&self, alterations: &[ScramAlteration]) -> Result<Vec<AlterScramResult>> {
        let mut changes: Vec<Option<ScramChange>> = Vec::with_capacity(alterations.len());
        let mut settled: Vec<Option<AlterScramResult>> = Vec::with_capacity(alterations.len());
        let result = |a: &ScramAlteration, error| AlterScramResult {
            user: a.user.clone(),
            mechanism: a.mechanism.clone(),
            error,
        };
        for (i, a) in alterations.iter().enumerate() {
            match a.encode(i) {
                Ok(c) => {
                    changes.push(Some(c));
                    settled.push(None);
                }
                Err(e) => {
                    changes.push(None);
                    settled.push(Some(result(a, Some(e))));
                }
            }
        }
        // Alterations of a user with an invalid one stay unsent.
        let invalid: Vec<bool> = changes.iter().map(Option::is_none).collect();
        for (i, a) in alterations.iter().enumerate() {
            if invalid[i] {
                continue;
            }
            if let Some(bad) = (0..alterations.len()).find(|&j| invalid[j] && alterations[j].user == a.user) {
                changes[i] = None;
                settled[i] = Some(result(
                    a,
                    Some(Error::argument(
                        &format!("SCRAM alteration {i} (user `{}`)", a.user),
                        format!("not sent: alteration {bad} of the same user is invalid"),
                    )),
                ));
            }
        }
        let changes = &changes;
        let result = &result;
        self.retry_items("AlterUserScramCredentials", settled, move |pending, d| async move {
            let mut req = AlterUserScramCredentialsRequest::default();
            for &i in &pending {
                match &changes[i] {
                    Some(ScramChange::Upsert(u)) => req.upsertions.push(u.clone()),
                    Some(ScramChange::Delete(del)) => req.deletions.push(del.clone()),
                    None => {}
                }
            }
            let (_, resp): (_, AlterUserScramCredentialsResponse) = self
                .send(&Target::Any, ApiKey::AlterUserScramCredentials, d, |_| Ok(req))
                .await?;
            Ok(pending
                .iter()
                .map(|&i| {
                    let a = &alterations[i];
                    let error = match resp.results.iter().find(|r| r.user.as_str() == a.user.as_str()) {
                        Some(r) => to_error(r.error_code, r.error_message.as_deref())
                            .map(|e| named(e, &format!("user `{}` ({})", a.user, a.mechanism))),
                        None => Some(Error::new(
                            Kind::Protocol,
                            format!("user `{}`: the broker's answer does not mention this user", a.user),
                        )),
                    };
                    result(a, error)
                })
                .collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nkafka_protocol::error::ErrorCode;
    use parking_lot::Mutex;

    struct Outcome(usize, Option<Error>);
    impl ItemOutcome for Outcome {
        fn error(&self) -> Option<&Error> {
            self.1.as_ref()
        }
    }

    fn admin(request_timeout_ms: u64) -> Admin {
        let servers = crate::config::parse_bootstrap(&["localhost:9".to_string()]).unwrap();
        let mut cfg = crate::config::ClientConfig::new(servers);
        cfg.request_timeout = std::time::Duration::from_millis(request_timeout_ms);
        cfg.retry_backoff = std::time::Duration::from_millis(5);
        cfg.retry_backoff_max = std::time::Duration::from_millis(20);
        Admin::new(cfg).unwrap()
    }

    #[tokio::test]
    async fn retry_items_resends_only_the_retriable_items() {
        let a = admin(5_000);
        let sent = Mutex::new(Vec::new());
        let settled = vec![None, Some(Outcome(1, Some(Error::argument("x", "bad")))), None, None];
        let out = a
            .retry_items("Test", settled, |pending: Vec<usize>, _| {
                let round = {
                    let mut s = sent.lock();
                    s.push(pending.clone());
                    s.len()
                };
                async move {
                    Ok(pending
                        .into_iter()
                        .map(|i| {
                            // Item 2 is "loading" in the first round, item 3 fails for good.
                            let e = match (i, round) {
                                (2, 1) => Some(Error::broker(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS, None)),
                                (3, _) => Some(Error::broker(ErrorCode::INVALID_REQUEST, None)),
                                _ => None,
                            };
                            Outcome(i, e)
                        })
                        .collect())
                }
            })
            .await
            .unwrap();
        assert_eq!(*sent.lock(), vec![vec![0, 2, 3], vec![2]]);
        let codes: Vec<_> = out.iter().map(|o| (o.0, o.1.as_ref().map(Error::code))).collect();
        assert_eq!(
            codes,
            vec![
                (0, None),
                (1, Some("INVALID_ARGUMENT")),
                (2, None),
                (3, Some("INVALID_REQUEST"))
            ]
        );
    }

    #[tokio::test]
    async fn retry_items_keeps_the_last_retriable_outcome_at_the_deadline_and_fails_unanswered_calls() {
        let a = admin(200);
        let out = a
            .retry_items("Test", vec![None], |pending: Vec<usize>, _| async move {
                Ok(pending
                    .into_iter()
                    .map(|i| Outcome(i, Some(Error::broker(ErrorCode::NOT_CONTROLLER, None))))
                    .collect())
            })
            .await
            .unwrap();
        assert_eq!(out[0].1.as_ref().map(Error::code), Some("NOT_CONTROLLER"));
        // No answer at all: the call fails with the request's error.
        let e = a
            .retry_items("Test", vec![None::<Outcome>], |_, _| async {
                Err(Error::new(Kind::Protocol, "garbage"))
            })
            .await
            .err()
            .unwrap();
        assert_eq!(e.code(), "PROTOCOL_ERROR");
    }

    #[test]
    fn enum_names_round_trip_and_bad_ones_name_field_and_value() {
        for (n, c) in OPERATIONS {
            assert_eq!(name_of(OPERATIONS, *c), *n);
        }
        assert_eq!(name_of(OPERATIONS, 99), "unknown(99)");
        let e = code_of(OPERATIONS, "operation", "wrte", "ACL binding 3", false).unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        assert!(e.message.contains("operation `wrte` of ACL binding 3"), "{e}");
        assert!(!e.message.contains("any"), "a binding cannot take `any`: {e}");
        // Filters take `any` and `match`, bindings do not.
        assert_eq!(code_of(PATTERN_TYPES, "patternType", "match", "f", true).unwrap(), 2);
        assert!(code_of(PATTERN_TYPES, "patternType", "match", "b", false).is_err());
    }

    #[test]
    fn bindings_are_checked_before_sending() {
        let good = AclBinding {
            resource_type: "topic".into(),
            resource_name: "t".into(),
            pattern_type: literal(),
            principal: "User:alice".into(),
            host: any_host(),
            operation: "write".into(),
            permission_type: "deny".into(),
        };
        let c = good.encode(0).unwrap();
        assert_eq!(
            (c.resource_type, c.resource_pattern_type, c.operation, c.permission_type),
            (2, 3, 4, 2)
        );
        let bad = AclBinding {
            principal: "alice".into(),
            ..good.clone()
        };
        assert!(bad
            .encode(1)
            .unwrap_err()
            .message
            .contains("principal `alice` of ACL binding 1"));
        let bad = AclBinding {
            resource_type: "any".into(),
            ..good
        };
        assert!(bad.encode(2).unwrap_err().message.contains("resourceType `any`"));
    }

    #[test]
    fn scram_upsertions_are_salted_here_and_checked() {
        let a = ScramAlteration {
            user: "u".into(),
            mechanism: "SCRAM-SHA-512".into(),
            iterations: None,
            password: Some("pw".into()),
            delete: false,
        };
        let (s1, s2) = match (a.encode(0).unwrap(), a.encode(0).unwrap()) {
            (ScramChange::Upsert(x), ScramChange::Upsert(y)) => (x, y),
            _ => panic!("an upsertion"),
        };
        assert_eq!(s1.iterations, 4096);
        assert_eq!(s1.salt.len(), SALT_LEN);
        assert_ne!(s1.salt, s2.salt, "a fresh salt each time");
        assert_eq!(
            s1.salted_password.to_vec(),
            ScramHash::Sha512.salted_password(b"pw", &s1.salt, 4096)
        );
        for (alt, want) in [
            (
                ScramAlteration {
                    iterations: Some(100),
                    ..a.clone()
                },
                "iterations 100",
            ),
            (
                ScramAlteration {
                    mechanism: "SCRAM-SHA-1".into(),
                    ..a.clone()
                },
                "mechanism `SCRAM-SHA-1`",
            ),
            (
                ScramAlteration {
                    password: None,
                    ..a.clone()
                },
                "password of",
            ),
            (
                ScramAlteration {
                    delete: true,
                    ..a.clone()
                },
                "takes no password",
            ),
        ] {
            let e = match alt.encode(4) {
                Err(e) => e,
                Ok(_) => panic!("{want}: accepted"),
            };
            assert!(e.message.contains(want), "{want}: {e}");
        }
    }
}
