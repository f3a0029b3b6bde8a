#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub use thingspace_core::*;

/// The M2M family: accounts, leads, states and services.
#[cfg(feature = "m2m")]
#[cfg_attr(docsrs, doc(cfg(feature = "m2m")))]
pub use thingspace_m2m as m2m;

/// The subsc family: managed accounts.
#[cfg(feature = "subsc")]
#[cfg_attr(docsrs, doc(cfg(feature = "subsc")))]
pub use thingspace_subsc as subsc;

/// The Operator Connect family: OC leads.
#[cfg(feature = "oc")]
#[cfg_attr(docsrs, doc(cfg(feature = "oc")))]
pub use thingspace_oc as oc;

/// The embedded mock server.
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use thingspace_mock as mock;

/// The callback listener: receives, checks, keeps and deduplicates ThingSpace's callbacks, and
/// awaits each device's outcome.
#[cfg(feature = "callbacks")]
#[cfg_attr(docsrs, doc(cfg(feature = "callbacks")))]
pub use thingspace_callbacks as callbacks;

/// Bulk device actions: activate, or move into a custom state, any number of devices, in
/// requests of at most 10,000, every outcome awaited, journaled so that a rerun after a crash
/// sends nothing twice.
#[cfg(feature = "bulk")]
#[cfg_attr(docsrs, doc(cfg(feature = "bulk")))]
pub use thingspace_bulk as bulk;

/// A fleet of processes on Redis: shared credentials, callback fan-in and a shared rate limit
/// (`thingspace-redis`).
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use thingspace_redis as redis;
