//! The status of an asynchronous request:
//! `GET /m2m/v1/accounts/{accountname}/requests/{requestId}/status`. The service reports on
//! single-device requests only; results of requests for several devices arrive as callbacks.

use serde::{Deserialize, Serialize};
use thingspace_core::{ApiRequest, Client, Response, Result};

/// Operation name of [`RequestsApi::status`].
pub const REQUEST_STATUS: &str = "m2m.requests.status";

/// Where an asynchronous request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum RequestState {
    /// Not finished.
    Pending,
    /// Done.
    Success,
    /// Failed.
    Failure,
    /// Another state, as the service spelt it.
    Other(String),
}

impl From<String> for RequestState {
    fn from(s: String) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" => Self::Pending,
            "success" => Self::Success,
            "failure" | "failed" => Self::Failure,
            _ => Self::Other(s),
        }
    }
}

impl From<RequestState> for String {
    fn from(s: RequestState) -> Self {
        match s {
            RequestState::Pending => "Pending".into(),
            RequestState::Success => "Success".into(),
            RequestState::Failure => "Failure".into(),
            RequestState::Other(s) => s,
        }
    }
}

/// The answer of [`RequestsApi::status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RequestStatus {
    /// The request.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Where it stands.
    pub status: RequestState,
}

/// The asynchronous requests resource. Get it with [`M2m::requests`](crate::M2m::requests).
#[derive(Debug, Clone, Copy)]
pub struct RequestsApi<'a> {
    client: &'a Client,
}

impl<'a> RequestsApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Where the single-device request `request_id` of `account` stands.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) for an empty name
    /// or id, before any request; the service's error otherwise (it refuses requests for
    /// several devices).
    pub async fn status(&self, account: &str, request_id: &str) -> Result<RequestStatus> {
        decode_status(
            &self
                .client
                .send(&status_request(account, request_id))
                .await?,
        )
    }
}

/// The request of [`RequestsApi::status`].
pub fn status_request(account: &str, request_id: &str) -> ApiRequest {
    ApiRequest::get(
        REQUEST_STATUS,
        "/m2m/v1/accounts/{accountname}/requests/{requestid}/status",
    )
    .path_param("accountname", account)
    .path_param("requestid", request_id)
}

/// Decodes the answer to [`RequestsApi::status`].
///
/// # Errors
/// A decode error for an answer without `status`.
pub fn decode_status(response: &Response) -> Result<RequestStatus> {
    response.json(REQUEST_STATUS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_state_in_any_case() {
        for (text, state) in [
            ("Pending", RequestState::Pending),
            ("SUCCESS", RequestState::Success),
            ("Failure", RequestState::Failure),
            ("Queued", RequestState::Other("Queued".into())),
        ] {
            let s: RequestStatus =
                serde_json::from_str(&format!(r#"{{"requestId":"r","status":"{text}"}}"#))
                    .expect("decode");
            assert_eq!(s.status, state);
        }
        assert!(serde_json::from_str::<RequestStatus>(r#"{"requestId":"r"}"#).is_err());
    }
}
