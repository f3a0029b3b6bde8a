#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

// The modules, from the bottom layer up: each uses only those above it in this list.
pub mod auth;
pub mod budget;
pub mod client;
pub mod config;
pub mod credentials;
pub mod de;
pub mod device;
pub mod error;
pub mod hooks;
pub mod message;
pub mod pagination;
pub mod path;
pub mod pipeline;
pub mod replay;
pub mod request;
pub mod retry;
mod secret;
pub mod transport;
pub mod urls;

#[cfg(any(test, feature = "mockall"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mockall")))]
pub use auth::MockAuthProvider;
pub use auth::StaticAuth;
pub use auth::{
    AuthProvider, CachedAuth, Credential, CredentialSource, CredentialStore, Rejection, StoreKey,
};
pub use budget::Budget;
pub use client::{Client, ClientBuilder};
pub use config::{Config, ConfigBuilder, RetryConfig, UserProfile};
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub use config::{ConfigLoader, LoadedConfig, Origin};
pub use credentials::{
    ClientAuthStyle, ClientCredentials, M2mSession, ThingSpaceAuth, ThingSpaceUsers,
};
pub use device::DeviceId;
pub use error::{Error, ErrorKind, Result};
pub use hooks::Interceptor;
pub use message::{Request, Response};
pub use pagination::{Items, Page, PageLimits, PageSource, Pages};
pub use pipeline::Pipeline;
pub use request::ApiRequest;
pub use retry::{Idempotency, RetryPolicy};
pub use secret::SecretString;
#[cfg(any(test, feature = "mockall"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mockall")))]
pub use transport::MockTransport;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use transport::ReqwestTransport;
pub use transport::{SharedTransport, Transport};

// Re-exported so family crates and users name the same versions.
pub use http;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use reqwest;
pub use url;
