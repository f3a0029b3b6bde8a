#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

// Layers, from the bottom: `message`, `credentials`, `network` (values) → `sink`, `file`,
// `tracker` (where callbacks go) → `listener` (the checks, in order) → `server` (sockets).
mod credentials;
mod file;
mod listener;
mod message;
mod network;
mod server;
mod sink;
mod tracker;

pub use credentials::Credentials;
pub use file::FileSink;
pub use listener::{Listener, ListenerBuilder, ListenerStats};
pub use message::{Callback, Fault, MalformedCallback, decode_callback};
pub use network::{InvalidNetwork, Network};
pub use server::RunningListener;
pub use sink::{ChannelSink, Sink, SinkError};
pub use thingspace_core::DeviceId;
pub use tracker::{
    AwaitOutcomes, DeviceOutcome, Outcome, OutcomeStream, Tracker, TrackerStats, Wait, WaitError,
};
