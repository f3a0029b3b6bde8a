#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub use thingspace_core::*;

/// The M2M family: accounts, leads, states and services.
#[cfg(feature = "m2m")]
pub use thingspace_m2m as m2m;

/// The subsc family: managed accounts.
#[cfg(feature = "subsc")]
pub use thingspace_subsc as subsc;

/// The Operator Connect family: OC leads.
#[cfg(feature = "oc")]
pub use thingspace_oc as oc;

/// The embedded mock server.
#[cfg(feature = "mock")]
pub use thingspace_mock as mock;
