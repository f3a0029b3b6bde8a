//! Operator Connect onboarding: leads created (`POST /api/v2/oc/lead`) and turned into
//! customers (`PATCH /api/v2/oc/lead?msTenantID=…`) through a task (`GET /api/v2/task/{id}`)
//! that finishes [`MockConfig::oc_task_delay`](crate::MockConfig::oc_task_delay) after it was
//! started; a customer's numbers (`GET /api/v2/oc/numbers`); the customers
//! (`GET /api/v3/customer`, PascalCase keys); the ASP.NET validation problems a refusal
//! answers with.
//!
//! The seeded leads are generated (`served::oc_lead`), not stored: what onboarding changes is
//! kept here (created leads, the customer each converted tenant became, the tasks), and the
//! lead routes read the leads through [`Store`], so a lead shows its `umpCustomerGuid` as
//! soon as its task has finished. Tasks finish when the mock is next asked about anything
//! onboarding touches: no timer runs in the background.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, atomic::Ordering},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    Json,
    extract::{Path, Query, State as AxumState},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{MockConfig, MockServer, Route, State, data, fault, lock, served};

/// The title of ASP.NET's validation problems.
const VALIDATION_TITLE: &str = "One or more validation errors occurred.";
/// What the service says of a tenant that already has a lead.
pub(crate) const TENANT_EXISTS: &str = "This MsTenant already exists as an UMP lead!";
/// What the service says of a company name that a lead already uses.
pub(crate) const COMPANY_EXISTS: &str = "Company name is already used for an UMP lead.";

/// What onboarding changed, over the generated leads.
#[derive(Default)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Leads created, in order: served after the generated ones.
    created: Vec<Value>,
    /// The customer each converted tenant became (tenant in lower case → `umpCustomerGuid`).
    customer_of: HashMap<String, String>,
    /// Customers made by conversions, in order: served after the generated ones.
    customers: Vec<Value>,
    /// Every task, by id.
    tasks: HashMap<String, Task>,
    /// Execution messages of the next conversions' tasks that are to fail, one per conversion.
    failures: VecDeque<Vec<String>>,
}

/// A conversion's task.
struct Task {
    id: String,
    tenant: String,
    short_name: String,
    full_name: String,
    started: Instant,
    create_time: String,
    /// `Some(messages)`: the task fails with these.
    failure: Option<Vec<String>>,
    /// The answer once finished.
    finished: Option<Value>,
}

impl Task {
    fn running(&self) -> Value {
        json!({
            "id": self.id, "status": "InProgress", "details": [],
            "executionMessages": [
                {"level": "Info", "message": format!("Creating customer {}", self.short_name)},
            ],
            "outputData": {}, "createTime": self.create_time, "completeTime": null,
        })
    }
}

impl Inner {
    /// Finishes every task whose time has come.
    fn settle(&mut self, delay: Duration) {
        let due: Vec<String> = self
            .tasks
            .values()
            .filter(|t| t.finished.is_none() && t.started.elapsed() >= delay)
            .map(|t| t.id.clone())
            .collect();
        for id in due {
            let Some(task) = self.tasks.get(&id) else {
                continue;
            };
            let done = rfc3339(SystemTime::now());
            let started = json!({"level": "Info", "message": format!("Creating customer {}", task.short_name)});
            let answer = match &task.failure {
                Some(messages) => {
                    let mut all = vec![started];
                    all.extend(
                        messages
                            .iter()
                            .map(|m| json!({"level": "Error", "message": m})),
                    );
                    json!({
                        "id": task.id, "status": "Failed", "details": [],
                        "executionMessages": all, "outputData": {},
                        "createTime": task.create_time, "completeTime": done,
                    })
                }
                None => {
                    let guid = data::guid(data::hash(&task.id));
                    self.customers.push(customer(
                        &guid,
                        &task.short_name,
                        &task.full_name,
                        &task.tenant,
                        data::hash(&task.tenant),
                    ));
                    self.customer_of
                        .insert(task.tenant.to_ascii_lowercase(), guid.clone());
                    json!({
                        "id": task.id, "status": "CompletedSuccess", "details": [],
                        "executionMessages": [started, {"level": "Info", "message": "Customer created"}],
                        "outputData": {"umpCustomerGuid": guid},
                        "createTime": task.create_time, "completeTime": done,
                    })
                }
            };
            if let Some(task) = self.tasks.get_mut(&id) {
                task.finished = Some(answer);
            }
        }
    }

    /// Lead `index` of `seeded + created`, with what onboarding changed.
    fn lead_at(&self, seeded: usize, index: usize) -> Option<Value> {
        let mut lead = if index < seeded {
            served::oc_lead(index)
        } else {
            self.created.get(index - seeded)?.clone()
        };
        if let Some(guid) = lead["tenantId"]
            .as_str()
            .and_then(|t| self.customer_of.get(&t.to_ascii_lowercase()))
        {
            lead["umpCustomerGuid"] = json!(guid);
        }
        Some(lead)
    }

    fn leads(&self, seeded: usize) -> impl Iterator<Item = Value> + '_ {
        (0..seeded + self.created.len()).filter_map(move |i| self.lead_at(seeded, i))
    }

    /// The lead of `tenant` (any case).
    fn lead_of(&self, seeded: usize, tenant: &str) -> Option<Value> {
        self.leads(seeded).find(|l| {
            l["tenantId"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(tenant))
        })
    }

    /// Every customer: those of the generated leads that have a `umpCustomerGuid`, then those
    /// conversions made.
    fn customers(&self, seeded: usize) -> Vec<Value> {
        (0..seeded)
            .map(served::oc_lead)
            .filter_map(|lead| {
                let guid = lead["umpCustomerGuid"].as_str()?.to_owned();
                let tenant = lead["tenantId"].as_str()?.to_owned();
                let company = lead["contactDetails"]["companyName"]
                    .as_str()
                    .unwrap_or("Customer");
                let short: String = company
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .take(15)
                    .collect();
                Some(customer(
                    &guid,
                    &short,
                    company,
                    &tenant,
                    data::hash(&tenant),
                ))
            })
            .chain(self.customers.iter().cloned())
            .collect()
    }
}

/// A customer, with PascalCase keys as the service sends them.
fn customer(guid: &str, short: &str, full: &str, tenant: &str, h: u64) -> Value {
    json!({
        "UmpCustomerGuid": guid, "CustomerShortName": short, "CustomerFullName": full,
        "LicenseType": "OCEssential", "LicensedUsersCount": 25 + h % 100, "MsTenantId": tenant,
        "ActiveUserCount": h % 25,
    })
}

/// The numbers of `tenant`: a customer has one to three, anyone else none.
fn numbers(tenant: &str, is_customer: bool) -> Vec<Value> {
    if !is_customer {
        return Vec::new();
    }
    let h = data::hash(&tenant.to_ascii_lowercase());
    (0..1 + h % 3)
        .map(|i| {
            let x = h.wrapping_add(i.wrapping_mul(0x9e37_79b9));
            json!({
                "id": data::guid(x), "telephoneNumber": format!("+1512555{:04}", x % 10_000),
                "assignmentStatus": if i == 0 { "UserAssigned" } else { "Unassigned" },
                "acquiredNumberStatus": "Acquired", "isoCountryCode": "US",
                "acquiredCapabilities": ["UserAssignment"],
                "availableCapabilities": ["UserAssignment", "ConferenceAssignment"],
                "callingProfileId": data::guid(x ^ 7), "civicAddressId": null, "locationId": null,
                "tenantId": tenant, "whenCreated": "2024-04-03T13:32:12.8286742Z",
                "acquiredOn": "2024-04-04T09:00:00Z",
                "sbcList": [{"sbcName": "sbc1.mock.example", "sbcId": format!("{}", 1 + i)}],
            })
        })
        .collect()
}

/// `t` in RFC 3339, UTC, to the second.
fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// ASP.NET's answer to a request that fails validation: 400, a problem with field messages,
/// the fields in the order of their first message (as the service validates them).
fn validation_problem(errors: &[(&str, String)]) -> Response {
    let mut fields: Vec<(&str, Vec<&str>)> = Vec::new();
    for (field, message) in errors {
        match fields.iter_mut().find(|(f, _)| f == field) {
            Some((_, messages)) => messages.push(message),
            None => fields.push((field, vec![message])),
        }
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Problem<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        title: &'static str,
        status: u16,
        trace_id: String,
        errors: InOrder<'a>,
    }
    let body = Problem {
        kind: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        title: VALIDATION_TITLE,
        status: 400,
        trace_id: format!(
            "00-{:032x}-{:016x}-00",
            fastrand::u128(..),
            fastrand::u64(..)
        ),
        errors: InOrder(&fields),
    };
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response()
}

/// An object whose entries stay in order (a `serde_json::Map` sorts them).
struct InOrder<'a>(&'a [(&'a str, Vec<&'a str>)]);

impl serde::Serialize for InOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (field, messages) in self.0 {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

/// Whether `id` is a GUID.
fn is_guid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The fault queued for `route`, or a 401 without a valid Entra token; `None` to go on.
async fn admit(state: &State, route: Route, headers: &HeaderMap) -> Option<Response> {
    if let Some(r) = fault::apply(state.arrive(route)).await {
        return Some(r);
    }
    if !crate::auth::bearer_in(&state.oc_tokens, headers) {
        return Some(fault::problem(StatusCode::UNAUTHORIZED, None));
    }
    None
}

impl Store {
    fn with<T>(&self, config: &MockConfig, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = lock(&self.inner);
        inner.settle(config.oc_task_delay);
        f(&mut inner)
    }

    /// How many leads there are, generated and created.
    pub(crate) fn lead_count(&self, config: &MockConfig) -> usize {
        self.with(config, |i| config.oc_lead_count + i.created.len())
    }

    /// The leads `start..end` (clamped to the leads there are).
    pub(crate) fn leads_page(&self, config: &MockConfig, start: usize, end: usize) -> Vec<Value> {
        self.with(config, |i| {
            (start..end)
                .map_while(|n| i.lead_at(config.oc_lead_count, n))
                .collect()
        })
    }

    /// Every lead of `tenant` (any case).
    pub(crate) fn leads_of(&self, config: &MockConfig, tenant: &str) -> Vec<Value> {
        self.with(config, |i| {
            i.leads(config.oc_lead_count)
                .filter(|l| {
                    l["tenantId"]
                        .as_str()
                        .is_some_and(|t| t.eq_ignore_ascii_case(tenant))
                })
                .collect()
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct TenantQuery {
    #[serde(rename = "msTenantID", alias = "msTenantId", alias = "MsTenantId")]
    ms_tenant_id: Option<String>,
}

/// `POST /tenantui/api/v2/oc/lead`: a consentless lead, `{"tenantId", "companyName"}`.
pub(crate) async fn create(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = admit(&state, Route::OcLeadCreate, &headers).await {
        return r;
    }
    let Ok(Value::Object(body)) = serde_json::from_str::<Value>(&body) else {
        return validation_problem(&[("", "A non-empty request body is required.".to_owned())]);
    };
    let text = |k: &str| {
        body.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let (tenant, company) = (text("tenantId"), text("companyName"));
    let mut errors = Vec::new();
    match tenant {
        None => errors.push(("TenantId", "The TenantId field is required.".to_owned())),
        Some(t) if !is_guid(t) => errors.push((
            "TenantId",
            format!("The value '{t}' is not valid for TenantId."),
        )),
        Some(_) => {}
    }
    if company.is_none() {
        errors.push((
            "CompanyName",
            "The CompanyName field is required.".to_owned(),
        ));
    }
    let (Some(tenant), Some(company), true) = (tenant, company, errors.is_empty()) else {
        return validation_problem(&errors);
    };
    let config = &state.config;
    let created = state.oc.with(config, |inner| {
        let seeded = config.oc_lead_count;
        if inner.lead_of(seeded, tenant).is_some() {
            errors.push(("TenantId", TENANT_EXISTS.to_owned()));
        }
        let company_used = inner.leads(seeded).any(|l| {
            l["contactDetails"]["companyName"]
                .as_str()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case(company))
        });
        if company_used {
            errors.push(("CompanyName", COMPANY_EXISTS.to_owned()));
        }
        if !errors.is_empty() {
            return None;
        }
        let n = state.seq.fetch_add(1, Ordering::Relaxed);
        let lead = json!({
            "civicAddresses": [], "comments": null, "umpCustomerGuid": null, "isNotActive": null,
            "ovocChannelId": null, "isDirectLead": true, "id": data::guid(n ^ 0x0c1e_ad00),
            "tenantId": tenant, "tenantOrigin": null, "operatorId": null, "status": "Active",
            "consentedOn": null, "lastModifiedOn": rfc3339(SystemTime::now()),
            "consentedCountries": [],
            "contactDetails": { "fullName": null, "email": null, "phoneNumber": null,
                "companyName": company, "companySize": null, "contacts": null },
        });
        inner.created.push(lead.clone());
        Some(lead)
    });
    match created {
        Some(lead) => Json(lead).into_response(),
        None => validation_problem(&errors),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConvertBody {
    status_change: Option<String>,
    customer_short_name: Option<String>,
    customer_full_name: Option<String>,
}

/// Why a conversion was refused (the field messages are kept beside it).
enum Refused {
    NoLead,
    Invalid,
}

/// Whether `name` is a short name the service takes: 3 to 15 letters, digits or `_`.
fn is_short_name(name: &str) -> bool {
    (3..=15).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `PATCH /tenantui/api/v2/oc/lead?msTenantID=…`: turn an Active lead into a customer;
/// answers the task id as a bare JSON string.
pub(crate) async fn convert(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = admit(&state, Route::OcLeadConvert, &headers).await {
        return r;
    }
    let Some(tenant) = query.ms_tenant_id.filter(|t| is_guid(t)) else {
        return validation_problem(&[(
            "MsTenantID",
            "The MsTenantID field must be a GUID.".to_owned(),
        )]);
    };
    let Ok(body) = serde_json::from_str::<ConvertBody>(&body) else {
        return validation_problem(&[("", "A non-empty request body is required.".to_owned())]);
    };
    let mut errors = Vec::new();
    if body.status_change.as_deref() != Some("OCEssential") {
        errors.push((
            "StatusChange",
            "The only status change supported is OCEssential.".to_owned(),
        ));
    }
    let short = body.customer_short_name.unwrap_or_default();
    if !is_short_name(&short) {
        errors.push((
            "CustomerShortName",
            "The customer short name must be 3 to 15 letters, digits or underscores.".to_owned(),
        ));
    }
    let full = body.customer_full_name.unwrap_or_default();
    if full.trim().is_empty() {
        errors.push((
            "CustomerFullName",
            "The CustomerFullName field is required.".to_owned(),
        ));
    }
    if !errors.is_empty() {
        return validation_problem(&errors);
    }
    let config = &state.config;
    let answer = state.oc.with(config, |inner| {
        let seeded = config.oc_lead_count;
        let Some(lead) = inner.lead_of(seeded, &tenant) else {
            return Err(Refused::NoLead);
        };
        if lead["status"] != "Active" {
            errors.push((
                "StatusChange",
                "Only an Active lead can become a customer.".to_owned(),
            ));
        } else if lead["umpCustomerGuid"].as_str().is_some() {
            errors.push(("MsTenantID", "This lead is already a customer.".to_owned()));
        } else if inner
            .tasks
            .values()
            .any(|t| t.finished.is_none() && t.tenant.eq_ignore_ascii_case(&tenant))
        {
            errors.push((
                "MsTenantID",
                "A task is already running for this lead.".to_owned(),
            ));
        }
        let taken = inner.customers(seeded).iter().any(|c| {
            c["CustomerShortName"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(&short))
        });
        if taken {
            errors.push((
                "CustomerShortName",
                "The customer short name is already used.".to_owned(),
            ));
        }
        if !errors.is_empty() {
            return Err(Refused::Invalid);
        }
        let n = state.seq.fetch_add(1, Ordering::Relaxed);
        let id = format!("wst_{:016x}{:04x}", fastrand::u64(..), n % 0x1_0000);
        let task = Task {
            id: id.clone(),
            tenant: tenant.clone(),
            short_name: short.clone(),
            full_name: full.trim().to_owned(),
            started: Instant::now(),
            create_time: rfc3339(SystemTime::now()),
            failure: inner.failures.pop_front(),
            finished: None,
        };
        inner.tasks.insert(id.clone(), task);
        Ok(id)
    });
    match answer {
        Ok(id) => Json(id).into_response(),
        Err(Refused::NoLead) => {
            fault::problem(StatusCode::NOT_FOUND, Some("No lead for this MsTenantID"))
        }
        Err(Refused::Invalid) => validation_problem(&errors),
    }
}

/// `GET /tenantui/api/v2/task/{taskId}`.
pub(crate) async fn task(
    AxumState(state): AxumState<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, Route::OcTask, &headers).await {
        return r;
    }
    let found = state.oc.with(&state.config, |inner| {
        inner
            .tasks
            .get(&id)
            .map(|t| t.finished.clone().unwrap_or_else(|| t.running()))
    });
    match found {
        Some(task) => Json(task).into_response(),
        None => fault::problem(StatusCode::NOT_FOUND, Some("No task with this id")),
    }
}

/// `GET /tenantui/api/v2/oc/numbers?msTenantId=…`.
pub(crate) async fn numbers_of(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, Route::OcNumbers, &headers).await {
        return r;
    }
    let Some(tenant) = query.ms_tenant_id.filter(|t| is_guid(t)) else {
        return validation_problem(&[(
            "MsTenantId",
            "The MsTenantId field must be a GUID.".to_owned(),
        )]);
    };
    Json(state.numbers(&tenant)).into_response()
}

/// `GET /tenantui/api/v3/customer`.
pub(crate) async fn customers(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, Route::OcCustomers, &headers).await {
        return r;
    }
    let config = &state.config;
    Json(state.oc.with(config, |i| i.customers(config.oc_lead_count))).into_response()
}

impl State {
    /// The numbers of `tenant`, as served.
    fn numbers(&self, tenant: &str) -> Vec<Value> {
        let config = &self.config;
        let is_customer = self.oc.with(config, |i| {
            i.lead_of(config.oc_lead_count, tenant)
                .is_some_and(|l| l["umpCustomerGuid"].is_string())
        });
        numbers(tenant, is_customer)
    }
}

impl MockConfig {
    /// Operator Connect: a conversion's task finishes `delay` after it started (50 ms by
    /// default; the real service takes minutes).
    pub fn oc_task_delay(mut self, delay: Duration) -> Self {
        self.oc_task_delay = delay;
        self
    }
}

impl MockServer {
    /// Makes the task of the next conversion of an Operator Connect lead end `Failed`, with
    /// an `Info` message and then `messages` as `Error` execution messages (after the task
    /// delay, as a success would); the lead stays a lead. Failures queue up, one per
    /// conversion.
    pub fn fail_next_oc_task(&self, messages: &[&str]) {
        lock(&self.state.oc.inner)
            .failures
            .push_back(messages.iter().map(|m| (*m).to_owned()).collect());
    }

    /// The Operator Connect lead of `tenant` (any case), as served now.
    pub fn oc_lead(&self, tenant: &str) -> Option<Value> {
        let config = &self.state.config;
        self.state
            .oc
            .with(config, |i| i.lead_of(config.oc_lead_count, tenant))
    }

    /// The Operator Connect customers, as served now: those of the generated leads that have
    /// a `umpCustomerGuid`, then those conversions made.
    pub fn oc_customers(&self) -> Vec<Value> {
        let config = &self.state.config;
        self.state
            .oc
            .with(config, |i| i.customers(config.oc_lead_count))
    }

    /// The telephone numbers of the Operator Connect customer `tenant`, as served now: one to
    /// three, derived from the tenant id, for a lead that is a customer; none otherwise.
    pub fn oc_numbers(&self, tenant: &str) -> Vec<Value> {
        self.state.numbers(tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_712_151_132);
        assert_eq!(rfc3339(t), "2024-04-03T13:32:12Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn short_names_follow_the_services_rule() {
        assert!(is_short_name("abc") && is_short_name("A_1234567890123"));
        assert!(
            !is_short_name("ab") && !is_short_name("a-bc") && !is_short_name("abcdefghijklmnop")
        );
    }
}
