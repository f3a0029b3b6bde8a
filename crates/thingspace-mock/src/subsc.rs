//! The subsc routes: managed accounts.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State as AxumState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{ManagedSpelling, Route, State, data, fault};

/// `GET /api/subsc/v1/managedaccounts/{account}/service/{service}`.
pub(crate) async fn managed_accounts(
    AxumState(state): AxumState<Arc<State>>,
    Path((account, service)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    respond(&state, &account, &service, None, &headers).await
}

/// `GET /api/subsc/v1/managedaccounts/{account}/service/{service}/status/{status}`.
pub(crate) async fn managed_accounts_with_status(
    AxumState(state): AxumState<Arc<State>>,
    Path((account, service, status)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    respond(&state, &account, &service, Some(&status), &headers).await
}

async fn respond(
    state: &State,
    account: &str,
    service: &str,
    status: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::ManagedAccounts)).await {
        return r;
    }

    if let Some(r) = crate::m2m::refuse(state, headers, account) {
        return r;
    }
    if service != "Location" {
        return fault::envelope(
            StatusCode::BAD_REQUEST,
            "INVALID_SERVICE_NAME",
            &format!("Unknown managed service {service}"),
        );
    }
    if let Some(s) = status
        && s != "ADD"
        && s != "PROVISION"
    {
        return fault::envelope(
            StatusCode::BAD_REQUEST,
            "INVALID_STATUS",
            "status must be ADD or PROVISION",
        );
    }

    let all = data::managed_accounts(account);
    let pick = |want: &str| -> Vec<&(String, String, &'static str)> {
        all.iter().filter(|(_, _, s)| *s == want).collect()
    };
    let wanted = |s: &str| status.is_none_or(|w| w == s);
    let body = match state.config.managed_spelling {
        ManagedSpelling::Document => {
            let list: Vec<Value> = all
                .iter()
                .filter(|(_, _, s)| wanted(s))
                .map(|(id, tx, _)| json!({ "id": id, "TxId": tx }))
                .collect();
            json!({ "accountName": account, "managedAccList": list })
        }
        ManagedSpelling::Sdk => {
            let sdk = |s: &str| -> Vec<Value> {
                pick(s)
                    .into_iter()
                    .map(|(id, tx, _)| json!({ "id": id, "txid": tx }))
                    .collect()
            };
            let mut body = json!({ "accountName": account });
            if wanted("ADD") {
                body["ManagedAccAddedList"] = json!(sdk("ADD"));
            }
            if wanted("PROVISION") {
                body["managedAccProvisionedList"] = json!(sdk("PROVISION"));
            }
            body
        }
    };
    Json(body).into_response()
}
