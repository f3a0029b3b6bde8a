//! One line of the report: a scenario's figure for the SDK and the baseline, their ratio and
//! the target.

use serde::{Deserialize, Serialize};

/// One line of the report.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Figure {
    pub(crate) scenario: String,
    pub(crate) metric: String,
    pub(crate) sdk: f64,
    pub(crate) baseline: f64,
    pub(crate) ratio: f64,
    pub(crate) target: String,
    pub(crate) met: bool,
}
