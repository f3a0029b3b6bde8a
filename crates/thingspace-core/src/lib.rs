#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod auth;
pub mod client;
pub mod config;
pub mod de;
pub mod error;
pub mod pagination;
pub mod path;
pub mod replay;
pub mod retry;
mod secret;
pub mod transport;

#[cfg(any(test, feature = "mock"))]
pub use auth::MockAuthProvider;
pub use auth::{AuthProvider, CachedAuth, Credential, CredentialSource};
pub use client::{ApiRequest, Client, ClientBuilder};
pub use config::{Config, ConfigLoader, LoadedConfig};
pub use error::{Error, ErrorKind, Result};
pub use pagination::{Items, Page, PageSource, Pages};
pub use retry::{RetryConfig, RetryPolicy};
pub use secret::SecretString;
#[cfg(any(test, feature = "mock"))]
pub use transport::MockTransport;
#[cfg(feature = "reqwest")]
pub use transport::ReqwestTransport;
pub use transport::{Request, Response, SharedTransport, Transport};

// Re-exported so family crates and users name the same versions.
pub use http;
#[cfg(feature = "reqwest")]
pub use reqwest;
pub use url;
