#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

// Layers, from the bottom: `fleet` (the connection and the key names) → `sink` (what replicas
// write), `tracker` (what waiters read), `credentials` and `rate_limit` (what every process
// shares); `config` (the `[redis]` table) on top.
mod config;
mod credentials;
mod fleet;
mod rate_limit;
mod sink;
mod tracker;

pub use config::{RateLimitConfig, RedisConfig};
pub use credentials::RedisCredentials;
pub use fleet::{FleetError, RedisFleet};
pub use rate_limit::{RateLimit, RedisRateLimiter};
pub use sink::RedisSink;
pub use tracker::{RedisTracker, RedisWait};
