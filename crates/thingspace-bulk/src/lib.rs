#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

// Layers, from the bottom: `error` → `devices_file` (reading devices), `journal` (what a job
// did, on disk) → `job` (batches sent, outcomes awaited, the report).
mod devices_file;
mod error;
mod job;
mod journal;

pub use devices_file::{parse_devices, read_devices};
pub use error::BulkError;
pub use job::{BulkAction, BulkEvent, BulkJob, BulkReport, Unawaited, Unfinished, UnknownBatch};
pub use thingspace_callbacks::AwaitOutcomes;
pub use thingspace_m2m::devices::MAX_DEVICES_PER_REQUEST;
