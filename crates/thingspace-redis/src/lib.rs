#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

// Layers, from the bottom: `fleet` (the connection and the key names) → `sink` (what replicas
// write) and `tracker` (what waiters read).
mod fleet;
mod sink;
mod tracker;

pub use fleet::{FleetError, RedisFleet};
pub use sink::RedisSink;
pub use tracker::{RedisTracker, RedisWait};
