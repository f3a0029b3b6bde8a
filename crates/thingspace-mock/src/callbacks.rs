//! Callback listener registration (`/m2m/v1/callbacks/{accountname}`): one listener per service
//! per account, listed with its password in clear text, as the real service does.

use std::{fmt, sync::Arc};

use axum::{
    Json,
    extract::{Path, State as AxumState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use crate::{Route, State, fault, lock, m2m::refuse};

/// A registered listener. Its `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Listener {
    /// The URL ThingSpace posts to.
    pub url: String,
    /// The user name posted in each callback's body.
    pub username: Option<String>,
    /// The password posted in each callback's body.
    pub password: Option<String>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Deserialize)]
pub(crate) struct Registration {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    username: Option<String>,
    password: Option<String>,
}

/// What a callbacks route answers before looking at the request: an injected fault, or the
/// service's refusal (credentials, a missing account).
async fn admit(state: &State, headers: &HeaderMap, account: &str) -> Option<Response> {
    if let Some(r) = fault::apply(state.arrive(Route::Callbacks)).await {
        return Some(r);
    }
    refuse(state, headers, account)
}

fn invalid(message: &str) -> Response {
    fault::envelope(StatusCode::BAD_REQUEST, "INPUT_INVALID", message)
}

/// `POST /api/m2m/v1/callbacks/{accountname}`.
pub(crate) async fn register(
    AxumState(state): AxumState<Arc<State>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = admit(&state, &headers, &account).await {
        return r;
    }
    let Ok(r) = serde_json::from_str::<Registration>(&body) else {
        return invalid("The body must be JSON with name and url");
    };
    if r.name.trim().is_empty() || r.url.trim().is_empty() {
        return invalid("name and url are required");
    }
    let too_long = |v: &Option<String>| v.as_ref().is_some_and(|s| s.chars().count() > 40);
    if too_long(&r.username) || too_long(&r.password) {
        return invalid("username and password are at most 40 characters");
    }
    lock(&state.listeners).insert(
        (account.clone(), r.name.clone()),
        Listener {
            url: r.url,
            username: r.username,
            password: r.password,
        },
    );
    Json(json!({"accountName": account, "serviceName": r.name})).into_response()
}

/// `GET /api/m2m/v1/callbacks/{accountname}`: every listener of the account, passwords in
/// clear text.
pub(crate) async fn list(
    AxumState(state): AxumState<Arc<State>>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, &headers, &account).await {
        return r;
    }
    let listeners = lock(&state.listeners);
    let mut all: Vec<serde_json::Value> = listeners
        .iter()
        .filter(|((a, _), _)| *a == account)
        .map(|((a, service), l)| {
            let mut v = json!({"accountName": a, "serviceName": service, "url": l.url});
            if let Some(u) = &l.username {
                v["username"] = json!(u);
            }
            if let Some(p) = &l.password {
                v["password"] = json!(p);
            }
            v
        })
        .collect();
    all.sort_by_key(|v| v["serviceName"].as_str().unwrap_or_default().to_owned());
    Json(all).into_response()
}

/// `DELETE /api/m2m/v1/callbacks/{accountname}/name/{serviceName}`.
pub(crate) async fn delete(
    AxumState(state): AxumState<Arc<State>>,
    Path((account, service)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, &headers, &account).await {
        return r;
    }
    if lock(&state.listeners)
        .remove(&(account.clone(), service.clone()))
        .is_none()
    {
        return fault::envelope(
            StatusCode::NOT_FOUND,
            "REQUEST_FAILED.CallbackNotFound",
            &format!("No listener is registered for {service}"),
        );
    }
    Json(json!({"accountName": account, "serviceName": service})).into_response()
}
