//! The analytics sink port, shaped like Workers Analytics Engine.
//!
//! A [`DataPoint`] has at most 20 blobs, 20 doubles and 1 index; the index is at
//! most 96 bytes and all blobs together at most 16 KB. [`DataPoint::validate`]
//! enforces these for every adapter, so a point that works in tests works on
//! the platform.

use std::sync::{Arc, Mutex};

/// Analytics Engine limits.
pub mod limits {
    /// Maximum blobs per data point.
    pub const MAX_BLOBS: usize = 20;
    /// Maximum doubles per data point.
    pub const MAX_DOUBLES: usize = 20;
    /// Maximum indexes per data point.
    pub const MAX_INDEXES: usize = 1;
    /// Maximum index length in bytes.
    pub const MAX_INDEX_BYTES: usize = 96;
    /// Maximum total size of all blobs in bytes (16 KB).
    pub const MAX_BLOB_BYTES_TOTAL: usize = 16 * 1024;
}

/// Why a data point was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyticsError {
    /// More than 20 blobs.
    #[error("data point has {count} blobs; Analytics Engine allows at most {max}")]
    TooManyBlobs {
        /// Number of blobs.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More than 20 doubles.
    #[error("data point has {count} doubles; Analytics Engine allows at most {max}")]
    TooManyDoubles {
        /// Number of doubles.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More than one index.
    #[error("data point has {count} indexes; Analytics Engine allows at most {max}")]
    TooManyIndexes {
        /// Number of indexes.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An index longer than 96 bytes.
    #[error("index is {len} bytes; Analytics Engine allows at most {max} (truncate or hash it)")]
    IndexTooLong {
        /// Length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Blobs larger than 16 KB in total.
    #[error("blobs total {len} bytes; Analytics Engine allows at most {max} per data point")]
    BlobsTooLarge {
        /// Total size in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A NaN or infinite double, which would poison sums and quantiles.
    #[error("double {position} is not finite")]
    NonFiniteDouble {
        /// 1-based position (`double{position}` in SQL).
        position: usize,
    },
    /// The platform refused the write.
    #[error("analytics backend error: {0}")]
    Backend(String),
}

/// One Analytics Engine data point. Positions matter: `blobs[0]` is `blob1`
/// in SQL, `doubles[0]` is `double1`, `indexes[0]` is `index1`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataPoint {
    /// At most one sampling index.
    pub indexes: Vec<String>,
    /// Dimensions (strings).
    pub blobs: Vec<String>,
    /// Numeric values.
    pub doubles: Vec<f64>,
}

impl DataPoint {
    /// Checks the point against Analytics Engine's limits.
    pub fn validate(&self) -> Result<(), AnalyticsError> {
        use limits::*;
        if self.indexes.len() > MAX_INDEXES {
            return Err(AnalyticsError::TooManyIndexes {
                count: self.indexes.len(),
                max: MAX_INDEXES,
            });
        }
        if let Some(idx) = self.indexes.iter().find(|i| i.len() > MAX_INDEX_BYTES) {
            return Err(AnalyticsError::IndexTooLong {
                len: idx.len(),
                max: MAX_INDEX_BYTES,
            });
        }
        if self.blobs.len() > MAX_BLOBS {
            return Err(AnalyticsError::TooManyBlobs {
                count: self.blobs.len(),
                max: MAX_BLOBS,
            });
        }
        if self.doubles.len() > MAX_DOUBLES {
            return Err(AnalyticsError::TooManyDoubles {
                count: self.doubles.len(),
                max: MAX_DOUBLES,
            });
        }
        let total: usize = self.blobs.iter().map(String::len).sum();
        if total > MAX_BLOB_BYTES_TOTAL {
            return Err(AnalyticsError::BlobsTooLarge {
                len: total,
                max: MAX_BLOB_BYTES_TOTAL,
            });
        }
        if let Some(i) = self.doubles.iter().position(|d| !d.is_finite()) {
            return Err(AnalyticsError::NonFiniteDouble { position: i + 1 });
        }
        Ok(())
    }
}

/// A fire-and-forget analytics sink (Analytics Engine's `writeDataPoint`).
///
/// Writing is synchronous and never awaited, as on the platform; adapters
/// validate the point first and return the error instead of dropping it
/// silently.
pub trait AnalyticsSink {
    /// Validates and records one data point.
    fn write(&self, point: DataPoint) -> Result<(), AnalyticsError>;
}

impl<S: AnalyticsSink + ?Sized> AnalyticsSink for &S {
    fn write(&self, point: DataPoint) -> Result<(), AnalyticsError> {
        (**self).write(point)
    }
}

impl<S: AnalyticsSink + ?Sized> AnalyticsSink for Arc<S> {
    fn write(&self, point: DataPoint) -> Result<(), AnalyticsError> {
        (**self).write(point)
    }
}

impl<S: AnalyticsSink + ?Sized> AnalyticsSink for std::rc::Rc<S> {
    fn write(&self, point: DataPoint) -> Result<(), AnalyticsError> {
        (**self).write(point)
    }
}

/// Keeps written points in memory for inspection. Clones share the points.
///
/// ```
/// use edge_ports::{AnalyticsSink, DataPoint, MemoryAnalytics};
/// let sink = MemoryAnalytics::new();
/// sink.write(DataPoint { blobs: vec!["/v1/chat".into()], doubles: vec![12.5], ..Default::default() }).unwrap();
/// assert_eq!(sink.points()[0].doubles, vec![12.5]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryAnalytics {
    points: Arc<Mutex<Vec<DataPoint>>>,
}

impl MemoryAnalytics {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every point written so far, oldest first.
    pub fn points(&self) -> Vec<DataPoint> {
        self.points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Removes and returns every point written so far.
    pub fn take(&self) -> Vec<DataPoint> {
        std::mem::take(&mut *self.points.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl AnalyticsSink for MemoryAnalytics {
    fn write(&self, point: DataPoint) -> Result<(), AnalyticsError> {
        point.validate()?;
        self.points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(point);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(blobs: usize, doubles: usize) -> DataPoint {
        DataPoint {
            indexes: vec!["idx".into()],
            blobs: vec!["b".into(); blobs],
            doubles: vec![1.0; doubles],
        }
    }

    #[test]
    fn limits_are_inclusive_at_the_edge_and_rejected_past_it() {
        let sink = MemoryAnalytics::new();
        assert!(sink.write(point(20, 20)).is_ok());
        assert_eq!(
            sink.write(point(21, 0)),
            Err(AnalyticsError::TooManyBlobs { count: 21, max: 20 })
        );
        assert_eq!(
            sink.write(point(0, 21)),
            Err(AnalyticsError::TooManyDoubles { count: 21, max: 20 })
        );
        let mut p = point(0, 0);
        p.indexes.push("second".into());
        assert!(matches!(
            sink.write(p),
            Err(AnalyticsError::TooManyIndexes { .. })
        ));
        let mut p = point(0, 0);
        p.indexes = vec!["i".repeat(96)];
        assert!(sink.write(p.clone()).is_ok());
        p.indexes = vec!["i".repeat(97)];
        assert!(matches!(
            sink.write(p),
            Err(AnalyticsError::IndexTooLong { len: 97, max: 96 })
        ));
        let mut p = point(0, 0);
        p.blobs = vec!["x".repeat(8 * 1024), "y".repeat(8 * 1024)];
        assert!(sink.write(p.clone()).is_ok());
        p.blobs.push("z".into());
        assert!(matches!(
            sink.write(p),
            Err(AnalyticsError::BlobsTooLarge { .. })
        ));
        let mut p = point(0, 3);
        p.doubles[2] = f64::NAN;
        assert_eq!(
            sink.write(p),
            Err(AnalyticsError::NonFiniteDouble { position: 3 })
        );
        // Only the valid points were kept.
        assert_eq!(sink.points().len(), 3);
        assert_eq!(sink.take().len(), 3);
        assert!(sink.points().is_empty());
    }
}
