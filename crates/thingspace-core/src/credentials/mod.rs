//! Credential sources: where credentials come from (an OAuth token request, a ThingSpace
//! login), each sending its requests through the client's [`Pipeline`](crate::Pipeline).
//!
//! The caching every source shares is [`CachedAuth`](crate::CachedAuth), in [`auth`](crate::auth).

mod oauth;
mod thingspace;

pub use self::oauth::{ClientAuthStyle, ClientCredentials, TOKEN_OPERATION};
pub(crate) use self::thingspace::require_credentials;
pub use self::thingspace::{
    LOGIN_OPERATION, LOGOUT_OPERATION, M2M_TOKEN_HEADER, M2mSession, ThingSpaceAuth,
    ThingSpaceUsers,
};

use crate::de::decode_json;
use crate::error::{Error, ErrorKind, OAuthErrorBody, Result, is_error_envelope};
use crate::message::Response;

/// Refuses an empty token from a token or login answer: a request carrying `Bearer ` would
/// only come back 401, and the error would point at the API instead of the endpoint at fault.
pub(crate) fn require_token(
    operation: &'static str,
    field: &str,
    token: &crate::secret::SecretString,
) -> Result<()> {
    let token = token.expose_secret();
    if token.trim().is_empty() {
        return Err(Error::new(
            ErrorKind::Decode,
            format!("the answer holds an empty `{field}`"),
        )
        .with_operation(operation));
    }
    // Real tokens are a few hundred bytes (a JWT a few kilobytes); one this long would be sent
    // with every request, and most servers refuse headers of that size.
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::new(
            ErrorKind::Decode,
            format!(
                "the answer's `{field}` is {} bytes long, more than the {MAX_TOKEN_BYTES} a token can be",
                token.len()
            ),
        )
        .with_operation(operation));
    }
    Ok(())
}

/// The longest token accepted, in bytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A token or login answer that is 2xx but carries an OAuth error or ThingSpace's error
/// envelope instead of a credential: the error it is (a refusal, with the service's words).
fn refused_in_a_success(operation: &'static str, response: &Response) -> Option<Error> {
    let body = response.body.as_ref();
    let refusal = is_error_envelope(body)
        || (body.trim_ascii_start().starts_with(b"{")
            && serde_json::from_slice::<OAuthErrorBody>(body).is_ok());
    refusal.then(|| Error::from_response(operation, response))
}

/// What a token request or a login sent through the pipeline came to, as the answer `T`: a
/// refusal of the credentials (in an error status, or in a 2xx) is an [`ErrorKind::Auth`]
/// error saying whose (`refused`), a failing endpoint an [`ErrorKind::Api`] one (`failed`),
/// and the answer is decoded without ever quoting it.
pub(crate) fn read_answer<T: serde::de::DeserializeOwned>(
    operation: &'static str,
    sent: Result<Response>,
    refused: impl FnOnce() -> String,
    failed: impl FnOnce() -> String,
) -> Result<T> {
    let response = match sent {
        Ok(response) => response,
        Err(e) => return Err(e.into_credential_failure(operation, refused, failed)),
    };
    if let Some(refusal) = refused_in_a_success(operation, &response) {
        return Err(refusal.into_credential_failure(operation, refused, failed));
    }
    decode_json(operation, &response.body, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn an_error_body_in_a_success_is_a_refusal() {
        let ok = |body: &'static str| Response::new(StatusCode::OK, Default::default(), body);
        let e = refused_in_a_success("op", &ok(r#"{"error":"invalid_client"}"#))
            .expect("oauth error")
            .into_credential_failure("op", || "refused".into(), || "failed".into());
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert_eq!(
            e.oauth_error().map(|o| o.error.as_str()),
            Some("invalid_client")
        );
        assert!(refused_in_a_success("op", &ok(r#"{"errorCode":"UnauthorizedAccess"}"#)).is_some());
        assert!(refused_in_a_success("op", &ok(r#"{"access_token":"a"}"#)).is_none());
        assert!(refused_in_a_success("op", &ok("<html>")).is_none());
    }

    #[test]
    fn an_empty_or_huge_token_is_refused() {
        use crate::secret::SecretString;
        assert!(require_token("op", "access_token", &SecretString::new("abc")).is_ok());
        assert!(require_token("op", "access_token", &SecretString::new(" ")).is_err());
        let huge = SecretString::new("x".repeat(MAX_TOKEN_BYTES + 1));
        let e = require_token("op", "access_token", &huge).expect_err("huge");
        assert!(e.is_decode() && e.to_string().contains("bytes long"), "{e}");
    }
}
