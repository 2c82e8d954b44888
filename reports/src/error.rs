//! [`ReportError`]: everything that can stop a report from being written.

use std::path::PathBuf;

/// Why a report (or one of its pieces) could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Creating a directory, writing or renaming a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// plotters could not draw a chart.
    #[error("chart {chart}: {message}")]
    Chart {
        /// The chart's file stem.
        chart: String,
        /// plotters' message.
        message: String,
    },
    /// The bundled font could not be registered with plotters.
    #[error("font: {0}")]
    Font(String),
    /// Rendering was asked to stop (a signal); nothing was left behind.
    #[error("interrupted; the previous report (if any) is unchanged")]
    Interrupted,
    /// `metrics.parquet` could not be written.
    #[error("{}: {message}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The Parquet writer's message.
        message: String,
    },
    /// `summary.json` could not be serialized.
    #[error("summary.json: {0}")]
    Json(#[from] serde_json::Error),
}
