//! Operator Connect: the Entra ID token endpoint and the lead routes.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use axum::{
    Json,
    extract::{Path, Query, State as AxumState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use crate::{OC_TENANT, Route, State, fault, lock};

fn entra_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description, "error_codes": [7000215] })),
    )
        .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`: client credentials in the form body, with a scope.
pub(crate) async fn token(
    AxumState(state): AxumState<Arc<State>>,
    Path(tenant): Path<String>,
    body: String,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::EntraToken)).await {
        return r;
    }
    let c = &state.config;
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if tenant != OC_TENANT {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS90002: Tenant not found.",
        );
    }
    if field("grant_type") != Some("client_credentials") {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if field("client_id") != Some(c.oc_client_id.as_str()) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application was not found in the directory.",
        );
    }
    if field("client_secret") != Some(c.oc_client_secret.as_str()) {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        );
    }
    if field("scope") != Some(c.oc_scope.as_str()) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
        );
    }
    let n = state.seq.fetch_add(1, Ordering::Relaxed);
    let token = format!("mock-entra-{n}-{:016x}", fastrand::u64(..));
    lock(&state.oc_tokens).insert(token.clone(), Instant::now() + c.oc_token_ttl);
    Json(json!({
        "token_type": "Bearer",
        "expires_in": c.oc_token_ttl.as_secs().max(1),
        "ext_expires_in": c.oc_token_ttl.as_secs().max(1),
        "access_token": token,
    }))
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct LeadQuery {
    #[serde(rename = "msTenantID")]
    ms_tenant_id: Option<String>,
    #[serde(rename = "PageNumber")]
    page_number: Option<String>,
    #[serde(rename = "PageSize")]
    page_size: Option<String>,
}

fn bad_request(message: &str) -> Response {
    fault::problem(StatusCode::BAD_REQUEST, Some(message))
}

/// Whether `id` is a GUID (`8-4-4-4-12` hexadecimal digits, either case).
fn is_guid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `GET /tenantui/api/v2/oc/lead`: one tenant's lead (`msTenantID`), or a page of all leads.
pub(crate) async fn leads(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<LeadQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::OcLeads)).await {
        return r;
    }
    let authorized = crate::auth::bearer_in(&state.oc_tokens, &headers);
    if !authorized {
        return fault::problem(StatusCode::UNAUTHORIZED, None);
    }
    let number = |v: &Option<String>, default: usize| -> Option<usize> {
        v.as_deref().map_or(Some(default), |s| s.parse().ok())
    };
    if let Some(tenant) = query.ms_tenant_id {
        // The specific-lead request (oc-get-specific-lead.txt): PageNumber from 0 (default 0),
        // PageSize default 100. Tenant ids are GUIDs, which compare without regard to case.
        let (Some(page), Some(size)) =
            (number(&query.page_number, 0), number(&query.page_size, 100))
        else {
            return bad_request("PageNumber and PageSize must be integers");
        };
        if !(1..=20_000).contains(&size) {
            return bad_request("PageSize is 1 to 20000");
        }
        if !is_guid(&tenant) {
            return bad_request("msTenantID must be a GUID");
        }
        let found: Vec<_> = state
            .oc
            .leads_of(&state.config, &tenant)
            .into_iter()
            .skip(page.saturating_mul(size))
            .take(size)
            .collect();
        return Json(found).into_response();
    }
    let (Some(page), Some(size)) = (number(&query.page_number, 1), number(&query.page_size, 100))
    else {
        return bad_request("PageNumber and PageSize must be integers");
    };
    if page < 1 || !(1..=20_000).contains(&size) {
        return bad_request("PageNumber starts at 1; PageSize is 1 to 20000");
    }
    let size = size.min(state.config.oc_max_page_size.max(1));
    let page = if state.config.oc_ignore_page_number {
        1
    } else {
        page
    };
    let count = state.oc.lead_count(&state.config);
    let start = (page - 1).saturating_mul(size).min(count);
    let end = start.saturating_add(size).min(count);
    let leads = state.oc.leads_page(&state.config, start, end);
    Json(leads).into_response()
}
