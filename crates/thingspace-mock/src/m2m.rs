//! The m2m routes.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State as AxumState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

use crate::{MISSING_ACCOUNT_PREFIX, Route, State, auth, data, fault};

/// `GET /api/m2m/v1/accounts/{accountname}`.
pub(crate) async fn account(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::Account)).await {
        return r;
    }
    if let Some(r) = auth::check(&state, &headers) {
        return r;
    }
    if name.starts_with(MISSING_ACCOUNT_PREFIX) {
        return fault::envelope(
            StatusCode::NOT_FOUND,
            "AccountNotFound",
            &format!("Account {name} was not found"),
        );
    }
    Json(data::account(&name)).into_response()
}
