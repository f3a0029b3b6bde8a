//! Device actions (`POST /api/m2m/v1/devices/actions/activate`) and the status of the
//! requests they start (`GET /api/m2m/v1/accounts/{accountname}/requests/{id}/status`).
//!
//! The mock enforces the documented limits: at most 10,000 devices a request, and five
//! provisioning actions per line per day. Activations succeed at once; status is reported for
//! single-device requests only, as the real service does. The result of each device is posted
//! later to the registered listener (see [`crate::delivery`]).

use std::sync::{Arc, atomic::Ordering};

use axum::{
    Json,
    extract::{Path, State as AxumState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    Route, State, auth,
    delivery::{self, Job, Operation},
    fault, lock,
    m2m::refuse,
};

/// The most devices one request takes.
const MAX_DEVICES: usize = 10_000;

/// Provisioning actions a line may take per day.
const DAILY_ACTIONS: u32 = 5;

/// A request the mock accepted.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub(crate) account: String,
    pub(crate) devices: usize,
    pub(crate) body: Value,
}

fn invalid(code: &str, message: &str) -> Response {
    fault::envelope(StatusCode::BAD_REQUEST, code, message)
}

/// The text field `field` of `body`, or empty.
fn text(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap_or_default().to_owned()
}

/// Each device's `deviceIds`, as sent.
fn device_ids(devices: &[Value]) -> Vec<Value> {
    devices.iter().map(|d| d["deviceIds"].clone()).collect()
}

/// `POST /api/m2m/v1/devices/actions/activate`.
pub(crate) async fn activate(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::Activate)).await {
        return r;
    }
    if let Some(r) = auth::check(&state, &headers) {
        return r;
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return invalid("INPUT_INVALID", "The body must be JSON");
    };
    let account = body["accountName"].as_str().unwrap_or_default().to_owned();
    if !account.is_empty()
        && let Some(r) = refuse(&state, &headers, &account)
    {
        return r;
    }
    let devices = body["devices"].as_array().cloned().unwrap_or_default();
    if devices.is_empty() {
        return invalid("INPUT_INVALID", "devices is required");
    }
    if devices.len() > MAX_DEVICES {
        return invalid(
            "INPUT_INVALID.MaxRequestsExceeded",
            "A request takes at most 10000 devices",
        );
    }
    for field in ["servicePlan", "mdnZipCode"] {
        if body[field].as_str().is_none_or(|v| v.trim().is_empty()) {
            return invalid("INPUT_INVALID", &format!("{field} is required"));
        }
    }
    // The line of each device: its first identifier, kinds compared without case.
    let lines: Vec<String> = devices
        .iter()
        .filter_map(|d| {
            let first = d["deviceIds"].get(0)?;
            Some(format!(
                "{}:{}",
                first["kind"].as_str()?.to_ascii_lowercase(),
                first["id"].as_str()?
            ))
        })
        .collect();
    if lines.len() != devices.len() {
        return invalid(
            "INPUT_INVALID",
            "every device needs deviceIds with id and kind",
        );
    }
    {
        let mut actions = lock(&state.line_actions);
        if let Some(line) = lines
            .iter()
            .find(|l| actions.get(*l).copied().unwrap_or(0) >= DAILY_ACTIONS)
        {
            return invalid(
                "REQUEST_FAILED.ProvisioningActionsExceeded",
                &format!(
                    "Device {line} has used its {DAILY_ACTIONS} provisioning actions for today"
                ),
            );
        }
        for line in &lines {
            *actions.entry(line.clone()).or_default() += 1;
        }
    }
    let n = state.seq.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("595f5c44-c31c-4552-8670-{n:012x}");
    let job = Job {
        request_id: request_id.clone(),
        account: account.clone(),
        operation: Operation::Activate {
            service_plan: text(&body, "servicePlan"),
        },
        devices: device_ids(&devices),
    };
    lock(&state.requests).insert(
        request_id.clone(),
        Accepted {
            account,
            devices: devices.len(),
            body,
        },
    );
    delivery::schedule(&state, job);
    Json(json!({ "requestId": request_id })).into_response()
}

/// `GET /api/m2m/v1/accounts/{accountname}/requests/{id}/status`.
pub(crate) async fn status(
    AxumState(state): AxumState<Arc<State>>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::RequestStatus)).await {
        return r;
    }
    if let Some(r) = refuse(&state, &headers, &account) {
        return r;
    }
    let Some(request) = lock(&state.requests).get(&id).cloned() else {
        return fault::envelope(
            StatusCode::NOT_FOUND,
            "REQUEST_FAILED.RequestNotFound",
            &format!("Request {id} was not found"),
        );
    };
    if !request.account.is_empty() && request.account != account {
        return fault::envelope(
            StatusCode::NOT_FOUND,
            "REQUEST_FAILED.RequestNotFound",
            &format!("Request {id} was not found for account {account}"),
        );
    }
    if request.devices > 1 {
        return invalid(
            "REQUEST_FAILED.MultipleDevices",
            "Status is reported for single-device requests only",
        );
    }
    Json(json!({ "requestId": id, "status": "Success" })).into_response()
}

/// Devices a page of the device list holds at most.
const DEVICES_PER_PAGE: usize = 2_000;

/// The device of `account` at `index` (from 0): its numeric id grows with the index.
pub(crate) fn device(account: &str, index: usize) -> Value {
    let device_id = 1_000_000 + index as u64 * 7;
    json!({
        "accountName": account,
        "deviceIds": [
            {"id": format!("99001390{:07}", index), "kind": "imei"},
            {"id": format!("891480000{:010}", index), "kind": "iccid"}
        ],
        "carrierInformations": [{"carrierName": "Verizon Wireless", "servicePlan": "M2MPlan", "state": "active"}],
        "connected": !index.is_multiple_of(3),
        "createdAt": "2026-01-05T10:00:00Z",
        "extendedAttributes": [{"key": "DeviceId", "value": device_id.to_string()}],
        "groupNames": ["Fleet"],
        "ipAddress": format!("10.0.{}.{}", (index / 250) % 250, index % 250)
    })
}

/// `POST /api/m2m/v1/devices/actions/list`: 2,000 devices a page past `largestDeviceIdSeen`,
/// 202 with `hasMoreData: true` while more follow.
pub(crate) async fn list(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body = serde_json::from_str::<Value>(&body).unwrap_or(Value::Null);
    let seen = body["largestDeviceIdSeen"].as_u64().unwrap_or(0);
    // Ids are 1,000,000 + 7 × index: the first index past `seen`.
    let start = if seen < 1_000_000 {
        0
    } else {
        ((seen - 1_000_000) / 7 + 1) as usize
    };
    let fault = state.arrive_page(Route::DeviceList, start / DEVICES_PER_PAGE);
    if let Some(r) = fault::apply(fault).await {
        return r;
    }
    if let Some(r) = auth::check(&state, &headers) {
        return r;
    }
    if !body.is_object() {
        return invalid("INPUT_INVALID", "The body must be JSON");
    }
    let account = body["accountName"].as_str().unwrap_or_default().to_owned();
    if let Some(r) = refuse(&state, &headers, &account) {
        return r;
    }
    let total = lock(&state.device_counts)
        .get(&account)
        .copied()
        .unwrap_or(0);
    let end = (start + DEVICES_PER_PAGE).min(total);
    let devices: Vec<Value> = (start.min(total)..end)
        .map(|i| device(&account, i))
        .collect();
    let more = end < total;
    let status = if more {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    (
        status,
        Json(json!({"hasMoreData": more, "devices": devices})),
    )
        .into_response()
}

/// `PUT /api/m2m/v1/devices/actions/goToState` (and the SDKs' `gotostate`): moves devices into
/// a custom state of the account's states and services.
pub(crate) async fn go_to_state(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = fault::apply(state.arrive(Route::GoToState)).await {
        return r;
    }
    if let Some(r) = auth::check(&state, &headers) {
        return r;
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return invalid("INPUT_INVALID", "The body must be JSON");
    };
    for field in ["serviceName", "stateName", "servicePlan", "mdnZipCode"] {
        if body[field].as_str().is_none_or(|v| v.trim().is_empty()) {
            return invalid("INPUT_INVALID", &format!("{field} is required"));
        }
    }
    let listed = body["devices"].as_array().cloned().unwrap_or_default();
    let devices = listed.len();
    if devices == 0 && body["groupName"].as_str().is_none() {
        return invalid("INPUT_INVALID", "devices or groupName is required");
    }
    if devices > MAX_DEVICES {
        return invalid(
            "INPUT_INVALID.MaxRequestsExceeded",
            "A request takes at most 10000 devices",
        );
    }
    let n = state.seq.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("7c1d0a2e-51b3-4f4e-9a7d-{n:012x}");
    let account = text(&body, "accountName");
    let job = (!listed.is_empty()).then(|| Job {
        request_id: request_id.clone(),
        account: account.clone(),
        operation: Operation::GoToState {
            service_name: text(&body, "serviceName"),
            state_name: text(&body, "stateName"),
            service_plan: text(&body, "servicePlan"),
        },
        devices: device_ids(&listed),
    });
    lock(&state.requests).insert(
        request_id.clone(),
        Accepted {
            account,
            devices: devices.max(1),
            body,
        },
    );
    if let Some(job) = job {
        delivery::schedule(&state, job);
    }
    Json(json!({ "requestId": request_id })).into_response()
}
