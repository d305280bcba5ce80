//! The cluster: brokers, controller, log dirs, partition reassignments, leader elections.

use std::sync::Arc;

use super::Admin;
use crate::cluster::Metadata;
use crate::error::Result;

impl Admin {
    /// Brokers, controller and cluster id (a full metadata request).
    pub async fn describe_cluster(&self) -> Result<Arc<Metadata>> {
        self.cluster().refresh(None, false).await
    }
}
