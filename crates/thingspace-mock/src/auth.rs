//! The token endpoint, the M2M login and the checks every API route makes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, atomic::Ordering},
    time::Instant,
};

use axum::{
    Json,
    extract::State as AxumState,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use crate::{Route, State, fault, lock};

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn new_secret(state: &State, kind: &str) -> String {
    let n = state.seq.fetch_add(1, Ordering::Relaxed);
    format!("mock-{kind}-{n}-{:016x}", fastrand::u64(..))
}

/// `POST /api/ts/v1/oauth2/token`: Basic client credentials, `grant_type=client_credentials`.
pub(crate) async fn token(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::Token)).await {
        return r;
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if field("grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let ok = basic.as_deref().and_then(|s| s.split_once(':'))
        == Some((
            state.config.client_id.as_str(),
            state.config.client_secret.as_str(),
        ));
    if !ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let token = new_secret(&state, "bearer");
    let ttl = state.config.token_ttl;
    lock(&state.tokens).insert(token.clone(), Instant::now() + ttl);
    Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ttl.as_secs().max(1),
        "scope": "m2m",
    }))
    .into_response()
}

fn bearer_ok(state: &State, headers: &HeaderMap) -> bool {
    bearer_in(&state.tokens, headers)
}

/// Whether the request's bearer token is one of `issued` and has not expired.
pub(crate) fn bearer_in(issued: &Mutex<HashMap<String, Instant>>, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| {
            lock(issued)
                .get(token)
                .is_some_and(|exp| Instant::now() < *exp)
        })
}

fn unauthorized(message: &str) -> Response {
    fault::envelope(StatusCode::UNAUTHORIZED, "UnauthorizedAccess", message)
}

/// The gateway's (WSO2's) answer to a missing, wrong or expired bearer token: 401 with its own
/// body, before the request reaches the service.
fn gateway_refusal() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"fault": {
            "code": "900901",
            "message": "Invalid Credentials",
            "description": "Invalid Credentials. Make sure you have provided the correct security credentials",
        }})),
    )
        .into_response()
}

/// The service's answer to an expired or unknown session.
fn session_refusal(state: &State) -> Response {
    match state.config.session_refusal {
        crate::SessionRefusal::Unauthorized => {
            unauthorized("The VZ-M2M-Token session is missing, invalid or expired")
        }
        _ => fault::envelope(
            StatusCode::BAD_REQUEST,
            "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired",
            "SessionToken Expired",
        ),
    }
}

/// Middleware for the caller's own routes: the same credential check as the mock's.
pub(crate) async fn require(
    AxumState(state): AxumState<Arc<State>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(refused) = check(&state, request.headers()) {
        return refused;
    }
    next.run(request).await
}

/// Checks the bearer token and the M2M session of an API request: the refusal, when refused
/// (the gateway's 401 for the bearer token, the service's answer for the session).
pub(crate) fn check(state: &State, headers: &HeaderMap) -> Option<Response> {
    if !bearer_ok(state, headers) {
        return Some(gateway_refusal());
    }
    let session = headers.get("vz-m2m-token").and_then(|v| v.to_str().ok());
    let valid = session.is_some_and(|s| {
        lock(&state.sessions)
            .get(s)
            .is_some_and(|exp| Instant::now() < *exp)
    });
    (!valid).then(|| session_refusal(state))
}

#[derive(Deserialize)]
pub(crate) struct Login {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /api/m2m/v1/session/login`.
pub(crate) async fn login(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::Login)).await {
        return r;
    }
    if !bearer_ok(&state, &headers) {
        return gateway_refusal();
    }
    let Ok(login) = serde_json::from_str::<Login>(&body) else {
        return fault::envelope(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "The body must be JSON with username and password",
        );
    };
    let default_user =
        login.username == state.config.username && login.password == state.config.password;
    let managed_user = state
        .config
        .managed_users
        .values()
        .any(|(u, p)| *u == login.username && *p == login.password);
    if !default_user && !managed_user {
        return fault::envelope(
            StatusCode::BAD_REQUEST,
            "UnauthorizedAccess",
            "Invalid username or password",
        );
    }
    let session = new_secret(&state, "session");
    let ttl = state.config.session_ttl;
    lock(&state.sessions).insert(session.clone(), Instant::now() + ttl);
    lock(&state.session_users).insert(session.clone(), login.username.clone());
    let mut body = json!({ "sessionToken": session });
    if state.config.send_session_expiry {
        body["expiresIn"] = json!(ttl.as_secs().max(1));
    }
    Json(body).into_response()
}

/// `POST /api/m2m/v1/session/logout`.
pub(crate) async fn logout(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::Logout)).await {
        return r;
    }
    if let Some(r) = check(&state, &headers) {
        return r;
    }
    if let Some(s) = headers.get("vz-m2m-token").and_then(|v| v.to_str().ok()) {
        lock(&state.sessions).remove(s);
    }
    Json(json!({ "sessionToken": null })).into_response()
}

/// The UWS user whose session `headers` carry.
pub(crate) fn session_user(state: &State, headers: &HeaderMap) -> Option<String> {
    let session = headers.get("vz-m2m-token")?.to_str().ok()?;
    lock(&state.session_users).get(session).cloned()
}
