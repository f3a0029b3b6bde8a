//! The subsc routes: managed accounts.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State as AxumState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ManagedSpelling, Route, State, auth, data, fault, lock, m2m::refuse};

/// The state of a cancelled managed account (it leaves the lists).
const CANCELLED: &str = "CANCELLED";

/// A managed account the mock added, provisioned or cancelled.
#[derive(Debug, Clone)]
pub(crate) struct Managed {
    id: String,
    txid: String,
    state: &'static str,
}

/// The body of `add`, `provision` and `cancel` (`txid` in either spelling).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Action {
    #[serde(default)]
    account_name: String,
    #[serde(default)]
    paccount_name: String,
    #[serde(default)]
    service_name: String,
    #[serde(default, rename = "type")]
    sku: String,
    #[serde(default, alias = "TxId")]
    txid: String,
    #[serde(default)]
    managed_acc_list: Vec<String>,
}

fn invalid(message: &str) -> Response {
    fault::envelope(StatusCode::BAD_REQUEST, "INPUT_INVALID", message)
}

/// The fault, the credential check and the body of an action.
async fn admit(state: &State, headers: &HeaderMap, body: &str) -> Result<Action, Response> {
    if let Some(r) = fault::apply(state.arrive(Route::ManagedAccountActions)).await {
        return Err(r);
    }
    if let Some(r) = auth::check(state, headers) {
        return Err(r);
    }
    let action: Action =
        serde_json::from_str(body).map_err(|_| invalid("The body must be a JSON object"))?;
    if action.service_name != "Location" {
        return Err(fault::envelope(
            StatusCode::BAD_REQUEST,
            "INVALID_SERVICE_NAME",
            "serviceName must be Location",
        ));
    }
    if action.sku.trim().is_empty() {
        return Err(invalid("type (the SKU) is required"));
    }
    Ok(action)
}

/// `POST /api/subsc/v1/managedaccounts/actions/add`, with the primary account's session.
pub(crate) async fn add(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let action = match admit(&state, &headers, &body).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if action.account_name.trim().is_empty() || action.managed_acc_list.is_empty() {
        return invalid("accountName and managedAccList are required");
    }
    if let Some(r) = refuse(&state, &headers, &action.account_name) {
        return r;
    }
    let n = state.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let txid = data::guid(n.wrapping_mul(0x51_7cc1_b727_220a));
    let mut managed = lock(&state.managed);
    let entries = managed
        .entry((action.account_name.clone(), action.service_name.clone()))
        .or_default();
    let statuses: Vec<Value> = action
        .managed_acc_list
        .iter()
        .map(|id| {
            if entries.iter().any(|m| m.id == *id && m.state != CANCELLED) {
                return json!({"id": id, "status": "Fail", "reason": "The account is already managed"});
            }
            entries.retain(|m| m.id != *id);
            entries.push(Managed {
                id: id.clone(),
                txid: txid.clone(),
                state: "ADD",
            });
            json!({"id": id, "status": "Success", "reason": ""})
        })
        .collect();
    Json(json!({"txid": txid, "statusList": statuses})).into_response()
}

/// `POST /api/subsc/v1/managedaccounts/actions/provision`, with the managed account's session.
pub(crate) async fn provision(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    provision_or_cancel(&state, &headers, &body, false).await
}

/// `POST /api/subsc/v1/managedaccounts/actions/cancel`, with the managed account's session.
pub(crate) async fn cancel(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    provision_or_cancel(&state, &headers, &body, true).await
}

async fn provision_or_cancel(
    state: &State,
    headers: &HeaderMap,
    body: &str,
    cancel: bool,
) -> Response {
    let action = match admit(state, headers, body).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (managed_account, primary) = (&action.account_name, &action.paccount_name);
    if managed_account.trim().is_empty() || primary.trim().is_empty() || action.txid.is_empty() {
        return invalid("accountName, paccountName and txid are required");
    }
    // Only the managed account's own user acts on it.
    if let Some((user, _)) = state.config.managed_users.get(managed_account)
        && auth::session_user(state, headers).as_deref() != Some(user.as_str())
    {
        return fault::envelope(
            StatusCode::BAD_REQUEST,
            "UnauthorizedAccess",
            &format!("The session's user does not manage account {managed_account}"),
        );
    }
    let mut managed = lock(&state.managed);
    let entry = managed
        .get_mut(&(primary.clone(), action.service_name.clone()))
        .and_then(|entries| entries.iter_mut().find(|m| m.id == *managed_account));
    let (status, reason) = match entry {
        None => (
            "Fail",
            format!("Account {managed_account} was not added to {primary}"),
        ),
        Some(m) if m.txid != action.txid => ("Fail", "Unknown transaction id".to_owned()),
        Some(m) if cancel && m.state == CANCELLED => {
            ("Fail", "The account is not managed".to_owned())
        }
        Some(m) if !cancel && m.state != "ADD" => (
            "Fail",
            format!("The account cannot be provisioned from state {}", m.state),
        ),
        Some(m) => {
            m.state = if cancel { CANCELLED } else { "PROVISION" };
            ("Success", String::new())
        }
    };
    Json(json!({
        "txid": action.txid,
        "accountName": managed_account,
        "paccountName": primary,
        "serviceName": action.service_name,
        "status": status,
        "reason": reason,
    }))
    .into_response()
}

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

    let mut all = data::managed_accounts(account);
    if let Some(changed) = lock(&state.managed).get(&(account.to_owned(), service.to_owned())) {
        for m in changed {
            all.retain(|(id, _, _)| *id != m.id);
            if m.state != CANCELLED {
                all.push((m.id.clone(), m.txid.clone(), m.state));
            }
        }
    }
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
