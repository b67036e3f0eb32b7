//! Analytics Engine adapter.

use edge_ports::{AnalyticsError, AnalyticsSink, DataPoint};
use worker::{AnalyticsEngineDataPointBuilder, AnalyticsEngineDataset};

/// An [`AnalyticsSink`] over an Analytics Engine dataset binding.
///
/// `writeDataPoint` is fire-and-forget on the platform; points are validated
/// against the limits first so a bad point is an error, not a silent drop.
pub struct AnalyticsEngine {
    dataset: AnalyticsEngineDataset,
}

impl std::fmt::Debug for AnalyticsEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsEngine").finish_non_exhaustive()
    }
}

impl AnalyticsEngine {
    /// Wraps a binding (`env.analytics_engine("NAME")?`).
    pub fn new(dataset: AnalyticsEngineDataset) -> Self {
        Self { dataset }
    }
}

impl AnalyticsSink for AnalyticsEngine {
    fn write(&self, point: DataPoint) -> Result<(), AnalyticsError> {
        point.validate()?;
        let indexes: Vec<&str> = point.indexes.iter().map(String::as_str).collect();
        AnalyticsEngineDataPointBuilder::new()
            .indexes(indexes)
            .doubles(point.doubles)
            .blobs(point.blobs)
            .write_to(&self.dataset)
            .map_err(|e| AnalyticsError::Backend(e.to_string()))
    }
}
