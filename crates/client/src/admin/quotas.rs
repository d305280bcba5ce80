//! Client quotas (KIP-546): describe and alter the quotas of users, client ids and IPs.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, ApiKey, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
};
use kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};

use super::acls::named;
use super::ItemOutcome;
use super::{to_error, Admin, Target};
use crate::error::{Error, Kind, Result};

const ENTITY_TYPES: &[&str] = &["user", "client-id", "ip"];

/// An entity: its type (`user`, `client-id`, `ip`) to its name, null for the type's
/// default entity. `{ user: 'alice', 'client-id': null }` is alice's quota for clients
/// without a quota of their own.
pub type QuotaEntity = BTreeMap<String, Option<String>>;

/// One part of a `describe_client_quotas` filter.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaFilterComponent {
    /// `user`, `client-id` or `ip`.
    pub entity_type: String,
    /// `exact` (the entity named `match`), `default` (the default entity) or `any` (any
    /// entity of this type with a quota of its own).
    pub match_type: String,
    /// The name, for `exact`.
    #[serde(default, rename = "match")]
    pub matches: Option<String>,
}

/// Which quotas `describe_client_quotas` returns.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaFilter {
    /// The components; an entity matches when each component matches its entry.
    pub components: Vec<QuotaFilterComponent>,
    /// Only entities with no other types than the components name.
    #[serde(default)]
    pub strict: bool,
}

/// An entity's quotas.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaEntry {
    /// The entity.
    pub entity: QuotaEntity,
    /// Quota keys (`producer_byte_rate`, ...) to values.
    pub values: BTreeMap<String, f64>,
}

/// One change of a quota: `value` null removes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaOp {
    /// `producer_byte_rate`, `consumer_byte_rate`, `request_percentage`,
    /// `controller_mutation_rate`, `connection_creation_rate` (ip entities).
    pub key: String,
    /// The new value, or null to remove the quota.
    pub value: Option<f64>,
}

/// The changes of one entity.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaAlteration {
    /// The entity.
    pub entity: QuotaEntity,
    /// Its changes.
    pub ops: Vec<QuotaOp>,
}

/// What `alter_client_quotas` takes.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlterQuotasArgs {
    /// One entry per entity.
    pub entries: Vec<QuotaAlteration>,
    /// Checks the changes without applying them.
    #[serde(default)]
    pub validate_only: bool,
}

/// The outcome of one entity of `alter_client_quotas`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlterQuotaResult {
    /// The entity.
    pub entity: QuotaEntity,
    /// Why its changes were not applied.
    pub error: Option<Error>,
}

impl ItemOutcome for AlterQuotaResult {
    fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

fn entity_label(entity: &QuotaEntity) -> String {
    let parts: Vec<String> = entity
        .iter()
        .map(|(t, n)| match n {
            Some(n) => format!("{t}=`{n}`"),
            None => format!("{t}=<default>"),
        })
        .collect();
    format!("quota entity {{{}}}", parts.join(", "))
}

fn check_entity_type(t: &str, what: &str) -> Result<()> {
    if ENTITY_TYPES.contains(&t) {
        Ok(())
    } else {
        Err(Error::argument(
            &format!("entity type `{t}` of {what}"),
            format!("expected one of {}", ENTITY_TYPES.join(", ")),
        ))
    }
}

impl QuotaAlteration {
    fn encode(&self, i: usize) -> Result<EntryData> {
        let item = format!("quota alteration {i} ({})", entity_label(&self.entity));
        if self.entity.is_empty() {
            return Err(Error::argument(&item, "the entity names no type"));
        }
        for (t, n) in &self.entity {
            check_entity_type(t, &item)?;
            if n.as_deref() == Some("") {
                return Err(Error::argument(
                    &format!("{t} of {item}"),
                    "an empty name; use null for the default entity",
                ));
            }
        }
        if self.ops.is_empty() {
            return Err(Error::argument(&item, "no ops"));
        }
        let mut ops = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            if op.key.is_empty() {
                return Err(Error::argument(&format!("quota key of {item}"), "must not be empty"));
            }
            if let Some(v) = op.value {
                if !v.is_finite() {
                    return Err(Error::argument(
                        &format!("value of `{}` in {item}", op.key),
                        format!("{v} is not a finite number"),
                    ));
                }
            }
            ops.push(
                OpData::default()
                    .with_key(StrBytes::from_string(op.key.clone()))
                    .with_value(op.value.unwrap_or(0.0))
                    .with_remove(op.value.is_none()),
            );
        }
        Ok(EntryData::default()
            .with_entity(
                self.entity
                    .iter()
                    .map(|(t, n)| {
                        EntityData::default()
                            .with_entity_type(StrBytes::from_string(t.clone()))
                            .with_entity_name(n.clone().map(StrBytes::from_string))
                    })
                    .collect(),
            )
            .with_ops(ops))
    }
}

impl Admin {
    /// The quotas of the entities `filter` matches (DescribeClientQuotas, any broker).
    pub async fn describe_client_quotas(&self, filter: &QuotaFilter) -> Result<Vec<QuotaEntry>> {
        let mut components = Vec::with_capacity(filter.components.len());
        for (i, c) in filter.components.iter().enumerate() {
            let what = format!("quota filter component {i}");
            check_entity_type(&c.entity_type, &what)?;
            let match_type = match (c.match_type.as_str(), &c.matches) {
                ("exact", Some(_)) => 0,
                ("default", None) => 1,
                ("any", None) => 2,
                ("exact", None) => return Err(Error::argument(&what, "matchType `exact` needs a name in `match`")),
                ("default" | "any", Some(m)) => {
                    return Err(Error::argument(
                        &what,
                        format!("matchType `{}` takes no name, got `{m}`", c.match_type),
                    ))
                }
                (m, _) => {
                    return Err(Error::argument(
                        &format!("matchType `{m}` of {what}"),
                        "expected exact, default or any",
                    ))
                }
            };
            components.push(
                ComponentData::default()
                    .with_entity_type(StrBytes::from_string(c.entity_type.clone()))
                    .with_match_type(match_type)
                    .with_match(c.matches.clone().map(StrBytes::from_string)),
            );
        }
        let components = &components;
        let resp: DescribeClientQuotasResponse = self
            .retry("DescribeClientQuotas", move |d| async move {
                let (_, resp): (_, DescribeClientQuotasResponse) = self
                    .send(&Target::Any, ApiKey::DescribeClientQuotas, d, |_| {
                        Ok(DescribeClientQuotasRequest::default()
                            .with_components(components.clone())
                            .with_strict(filter.strict))
                    })
                    .await?;
                if let Some(e) = to_error(resp.error_code, resp.error_message.as_deref()) {
                    return Err(e);
                }
                Ok(resp)
            })
            .await?;
        let mut out: Vec<QuotaEntry> = resp
            .entries
            .unwrap_or_default()
            .into_iter()
            .map(|e| QuotaEntry {
                entity: e
                    .entity
                    .into_iter()
                    .map(|x| (x.entity_type.to_string(), x.entity_name.map(|n| n.to_string())))
                    .collect(),
                values: e.values.into_iter().map(|v| (v.key.to_string(), v.value)).collect(),
            })
            .collect();
        out.sort_by(|a, b| a.entity.cmp(&b.entity));
        Ok(out)
    }

    /// Changes quotas (AlterClientQuotas, any broker; the controller applies them): one
    /// outcome per entity, in order.
    pub async fn alter_client_quotas(&self, args: &AlterQuotasArgs) -> Result<Vec<AlterQuotaResult>> {
        let mut coded = Vec::with_capacity(args.entries.len());
        let mut settled = Vec::with_capacity(args.entries.len());
        for (i, a) in args.entries.iter().enumerate() {
            // The broker answers per entity: a second alteration of one would be ambiguous.
            let first = args.entries[..i].iter().position(|b| b.entity == a.entity);
            let encoded = match first {
                Some(j) => Err(Error::argument(
                    &format!("quota alteration {i} ({})", entity_label(&a.entity)),
                    format!("the same entity as alteration {j}; put their ops in one alteration"),
                )),
                None => a.encode(i),
            };
            match encoded {
                Ok(c) => {
                    coded.push(Some(c));
                    settled.push(None);
                }
                Err(e) => {
                    coded.push(None);
                    settled.push(Some(AlterQuotaResult {
                        entity: a.entity.clone(),
                        error: Some(e),
                    }));
                }
            }
        }
        let coded = &coded;
        self.retry_items("AlterClientQuotas", settled, move |pending, d| async move {
            let entries: Vec<EntryData> = pending.iter().filter_map(|&i| coded[i].clone()).collect();
            let (_, resp): (_, AlterClientQuotasResponse) = self
                .send(&Target::Any, ApiKey::AlterClientQuotas, d, |_| {
                    Ok(AlterClientQuotasRequest::default()
                        .with_entries(entries)
                        .with_validate_only(args.validate_only))
                })
                .await?;
            let answered: Vec<(QuotaEntity, i16, Option<String>)> = resp
                .entries
                .iter()
                .map(|e| {
                    (
                        e.entity
                            .iter()
                            .map(|x| (x.entity_type.to_string(), x.entity_name.as_ref().map(|n| n.to_string())))
                            .collect(),
                        e.error_code,
                        e.error_message.as_ref().map(|m| m.to_string()),
                    )
                })
                .collect();
            Ok(pending
                .iter()
                .map(|&i| {
                    let entity = &args.entries[i].entity;
                    let error = match answered.iter().find(|(e, _, _)| e == entity) {
                        Some((_, code, msg)) => {
                            to_error(*code, msg.as_deref()).map(|e| named(e, &entity_label(entity)))
                        }
                        None => Some(Error::new(
                            Kind::Protocol,
                            format!("{}: the broker's answer does not mention it", entity_label(entity)),
                        )),
                    };
                    AlterQuotaResult {
                        entity: entity.clone(),
                        error,
                    }
                })
                .collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alteration(entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]) -> QuotaAlteration {
        QuotaAlteration {
            entity: entity
                .iter()
                .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
                .collect(),
            ops: ops
                .iter()
                .map(|(k, v)| QuotaOp {
                    key: k.to_string(),
                    value: *v,
                })
                .collect(),
        }
    }

    #[test]
    fn alterations_encode_removals_and_defaults() {
        let e = alteration(
            &[("user", Some("alice")), ("client-id", None)],
            &[("producer_byte_rate", Some(1024.0)), ("consumer_byte_rate", None)],
        )
        .encode(0)
        .unwrap();
        assert_eq!(e.entity.len(), 2);
        assert!(e
            .entity
            .iter()
            .any(|x| x.entity_type.as_str() == "client-id" && x.entity_name.is_none()));
        assert!(!e.ops[0].remove && e.ops[0].value == 1024.0);
        assert!(e.ops[1].remove);
    }

    #[test]
    fn bad_alterations_name_the_problem() {
        for (a, want) in [
            (
                alteration(&[("usr", Some("a"))], &[("k", Some(1.0))]),
                "entity type `usr`",
            ),
            (alteration(&[], &[("k", Some(1.0))]), "names no type"),
            (alteration(&[("user", Some(""))], &[("k", Some(1.0))]), "empty name"),
            (alteration(&[("user", Some("a"))], &[]), "no ops"),
            (
                alteration(&[("user", Some("a"))], &[("k", Some(f64::NAN))]),
                "not a finite number",
            ),
        ] {
            let e = a.encode(2).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            assert!(
                e.message.contains(want) && e.message.contains("quota alteration 2"),
                "{want}: {e}"
            );
        }
    }
}
