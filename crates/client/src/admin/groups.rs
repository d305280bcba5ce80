//! Groups: listing, describing, deleting, and their committed offsets.

use std::collections::BTreeMap;

use kafka_protocol::messages::{ApiKey, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};

use super::{to_error, Admin, Target};
use crate::error::{Error, Result};

/// What `list_groups` returns: the groups every broker coordinates, and the brokers that
/// could not answer (the list is then partial, as Java's `errors()` future reports).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupListing {
    /// Groups by id, sorted.
    pub groups: Vec<ListedGroup>,
    /// One error per broker that failed to list its groups.
    pub errors: Vec<Error>,
}

/// One group as ListGroups reports it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// `consumer` for consumer groups, empty for other classic uses (Connect's is `connect`).
    pub protocol_type: String,
    /// State (`Stable`, `Empty`, ...); empty when the broker does not report it (v < 4).
    pub state: String,
    /// `classic`, `consumer` or `share` (KIP-848); empty when the broker does not report it
    /// (v < 5).
    #[serde(rename = "type")]
    pub group_type: String,
    /// The coordinator that answered.
    pub coordinator: i32,
}

/// Filters for `list_groups`; empty lists match every group.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListGroupsOptions {
    /// Only groups in these states (case-insensitive on the broker).
    #[serde(default)]
    pub states: Vec<String>,
    /// Only groups of these types: `classic`, `consumer`, `share`.
    #[serde(default)]
    pub types: Vec<String>,
}

impl Admin {
    /// Every group of the cluster: ListGroups goes to every broker, since each lists only
    /// the groups it coordinates.
    pub async fn list_groups(&self, options: &ListGroupsOptions) -> Result<GroupListing> {
        for t in &options.types {
            if !matches!(t.as_str(), "classic" | "consumer" | "share") {
                return Err(Error::argument(
                    "types",
                    format!("`{t}` is not a group type; expected classic, consumer or share"),
                ));
            }
        }
        let meta = self.cluster().refresh(None, false).await?;
        let mut brokers: Vec<i32> = meta.brokers.keys().copied().collect();
        brokers.sort_unstable();
        let asks = brokers.iter().map(|&b| {
            self.retry("ListGroups", move |d| async move {
                let (_, resp): (_, ListGroupsResponse) = self
                    .send(&Target::Broker(b), ApiKey::ListGroups, d, |v| {
                        if v < 5 && !options.types.is_empty() {
                            return Err(Error::new(
                                crate::error::Kind::UnsupportedVersion,
                                format!("broker {b} cannot filter groups by type (ListGroups v{v}; needs v5)"),
                            ));
                        }
                        if v < 4 && !options.states.is_empty() {
                            return Err(Error::new(
                                crate::error::Kind::UnsupportedVersion,
                                format!("broker {b} cannot filter groups by state (ListGroups v{v}; needs v4)"),
                            ));
                        }
                        Ok(ListGroupsRequest::default()
                            .with_states_filter(
                                options
                                    .states
                                    .iter()
                                    .map(|s| StrBytes::from_string(s.clone()))
                                    .collect(),
                            )
                            .with_types_filter(
                                options.types.iter().map(|s| StrBytes::from_string(s.clone())).collect(),
                            ))
                    })
                    .await?;
                if let Some(e) = to_error(resp.error_code, None) {
                    return Err(e.with_broker(&b.to_string()));
                }
                Ok(resp.groups)
            })
        });
        let answers = futures_util::future::join_all(asks).await;
        let mut groups = BTreeMap::new();
        let mut errors = Vec::new();
        for (b, a) in brokers.iter().zip(answers) {
            match a {
                Ok(gs) => {
                    for g in gs {
                        let id = g.group_id.0.to_string();
                        groups.insert(
                            id.clone(),
                            ListedGroup {
                                group_id: id,
                                protocol_type: g.protocol_type.to_string(),
                                state: g.group_state.to_string(),
                                group_type: g.group_type.to_string(),
                                coordinator: *b,
                            },
                        );
                    }
                }
                Err(e) => errors.push(e.with_broker(&b.to_string())),
            }
        }
        Ok(GroupListing {
            groups: groups.into_values().collect(),
            errors,
        })
    }
}
