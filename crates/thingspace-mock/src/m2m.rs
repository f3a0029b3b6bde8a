//! The m2m routes.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, Query, State as AxumState},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{Fault, LocationForm, MISSING_ACCOUNT_PREFIX, Route, State, auth, data, fault, served};

/// The answer to a request the service would refuse: missing or expired credentials (401),
/// or an account that does not exist (404).
pub(crate) fn refuse(state: &State, headers: &HeaderMap, account: &str) -> Option<Response> {
    if let Some(r) = auth::check(state, headers) {
        return Some(r);
    }
    account.starts_with(MISSING_ACCOUNT_PREFIX).then(|| {
        fault::envelope(
            StatusCode::NOT_FOUND,
            "AccountNotFound",
            &format!("Account {account} was not found"),
        )
    })
}

/// `GET /api/m2m/v1/accounts/{accountname}`.
pub(crate) async fn account(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::Account)).await {
        return r;
    }
    if let Some(r) = refuse(&state, &headers, &name) {
        return r;
    }
    Json(served::account(&name)).into_response()
}

/// `GET /api/m2m/v1/accounts/{accountname}/stateandservices`.
pub(crate) async fn states_and_services(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::StatesAndServices)).await {
        return r;
    }
    if let Some(r) = refuse(&state, &headers, &name) {
        return r;
    }
    Json(served::states_and_services(&name)).into_response()
}

#[derive(serde::Deserialize)]
pub(crate) struct LeadsQuery {
    next: Option<String>,
}

/// `GET /api/m2m/v1/leads/{accountname}?next=N`: pages of `leads_page_size`, 202 with a
/// `Location` while more follow, 200 on the last page.
pub(crate) async fn leads(
    AxumState(state): AxumState<Arc<State>>,
    Path(name): Path<String>,
    Query(query): Query<LeadsQuery>,
    headers: HeaderMap,
) -> Response {
    let size = state.config.leads_page_size.max(1);
    let offset = match query.next.as_deref().map(data::offset_from_cursor) {
        None => 0,
        Some(Some(offset)) => offset,
        Some(None) => {
            state.arrive(Route::Leads);
            return fault::envelope(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER",
                "next is not a cursor this service issued",
            );
        }
    };
    let fault = state.arrive_page(Route::Leads, offset / size);
    let quirk = fault
        .as_ref()
        .map(|f| &f.fault)
        .filter(|f| f.is_leads_quirk())
        .cloned();
    if let Some(r) = fault::apply(fault).await {
        return r;
    }
    if let Some(r) = refuse(&state, &headers, &name) {
        return r;
    }
    if !state.config.leads_latency.is_zero() {
        tokio::time::sleep(state.config.leads_latency).await;
    }
    let total = state.lead_count(&name);
    let end = (offset + size).min(total);
    let served = if quirk == Some(Fault::IgnoreCursor) {
        0..size.min(total)
    } else {
        offset..end
    };
    let leads: Vec<_> = served.map(|i| data::lead(&name, i)).collect();
    let more = end < total;
    if !more {
        return Json(json!({ "leads": leads, "hasMoreData": false })).into_response();
    }
    let body = match quirk {
        Some(Fault::ContradictoryMoreFlag) => json!({ "leads": leads, "hasMoreData": false }),
        Some(Fault::NoMoreFlag) => json!({ "leads": leads }),
        _ => json!({ "leads": leads, "hasMoreData": true }),
    };
    let next = match quirk {
        Some(Fault::RepeatCursor) => query.next.unwrap_or_else(|| data::cursor_for(0)),
        _ => data::cursor_for(end),
    };
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let path = format!("/leads/{encoded}");
    let location = match (quirk, state.config.location_form) {
        (Some(Fault::NoLocation), _) => None,
        (Some(Fault::LocationWithoutNext), _) => Some(path),
        (_, LocationForm::Relative) => Some(format!("{path}?next={next}")),
        (_, LocationForm::Absolute) => {
            let origin = state.config.location_origin.clone().unwrap_or_else(|| {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("127.0.0.1");
                format!("http://{host}")
            });
            Some(format!("{origin}/api/m2m/v1{path}?next={next}"))
        }
    };
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, l);
    }
    response
}
