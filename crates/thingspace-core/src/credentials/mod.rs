//! Credential sources: where credentials come from (an OAuth token request, a ThingSpace
//! login), each sending its requests through the client's [`Pipeline`](crate::Pipeline).
//!
//! The caching every source shares is [`CachedAuth`](crate::CachedAuth), in [`auth`](crate::auth).

mod oauth;
mod thingspace;

pub use self::oauth::{ClientAuthStyle, ClientCredentials, TOKEN_OPERATION};
pub use self::thingspace::{LOGIN_OPERATION, M2M_TOKEN_HEADER, M2mSession, ThingSpaceAuth};

use crate::error::{ApiErrorBody, Error, ErrorKind, OAuthErrorBody, Result};
use crate::message::Response;

/// Refuses an empty token from a token or login answer: a request carrying `Bearer ` would
/// only come back 401, and the error would point at the API instead of the endpoint at fault.
pub(crate) fn require_token(
    operation: &'static str,
    field: &str,
    token: &crate::secret::SecretString,
) -> Result<()> {
    if token.expose_secret().trim().is_empty() {
        return Err(Error::new(
            ErrorKind::Decode,
            format!("the answer holds an empty `{field}`"),
        )
        .with_operation(operation));
    }
    Ok(())
}

/// A token or login answer that is 2xx but carries an OAuth error or ThingSpace's error
/// envelope instead of a credential: the error it is (a refusal, with the service's words).
pub(crate) fn refused_in_a_success(operation: &'static str, response: &Response) -> Option<Error> {
    let body = response.body.as_ref();
    if !body.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let oauth = serde_json::from_slice::<OAuthErrorBody>(body).is_ok();
    let envelope =
        serde_json::from_slice::<ApiErrorBody>(body).is_ok_and(|api| api.error_code.is_some());
    (oauth || envelope).then(|| Error::from_response(operation, response))
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
}
