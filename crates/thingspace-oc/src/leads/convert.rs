//! Turning a lead into a customer: `PATCH {oc_base}/api/v2/oc/lead?msTenantID=…` with
//! `statusChange: OCEssential`. The service answers with the id of the task that does it.

use serde::{Deserialize, Serialize};
use thingspace_core::{ApiRequest, Error, Response, Result};

use super::{ConsentStatus, OcLead, PATH};
use crate::tasks::TaskId;

/// Operation name of [`LeadsApi::convert`](super::LeadsApi::convert).
pub const CONVERT_LEAD: &str = "oc.leads.convert";

/// The status change that turns a lead into an Operator Connect Essentials customer.
pub const OC_ESSENTIAL: &str = "OCEssential";

/// The fewest characters of a customer's short name.
pub const MIN_SHORT_NAME_CHARS: usize = 3;
/// The most characters of a customer's short name.
pub const MAX_SHORT_NAME_CHARS: usize = 15;

/// The body of a conversion.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConvertBody<'a> {
    status_change: &'a str,
    customer_short_name: &'a str,
    customer_full_name: &'a str,
}

/// The request of [`LeadsApi::convert`](super::LeadsApi::convert): turn the lead of
/// `tenant_id` into a customer named `short_name` (3 to 15 letters, digits or `_`) and
/// `full_name`. The inputs are not checked here (see [`validate_short_name`] and
/// [`validate_full_name`]), nor is the lead: sent by hand, this request skips the check
/// that the lead is `Active` and not yet a customer.
///
/// Not repeated by the SDK ([`Idempotency::Unsafe`](thingspace_core::Idempotency::Unsafe), a
/// PATCH's default). Whether a second PATCH is harmful is not documented: it may start a
/// second task that provisions the customer on the Live Platform again. The lead only shows
/// the conversion once its task has finished (its `umpCustomerGuid` is set then), so while the
/// first task runs nothing on the lead says a second one would be a repeat. After a lost
/// answer, look at the lead (and wait for a task you know of) before converting again.
pub fn convert_request(tenant_id: &str, short_name: &str, full_name: &str) -> ApiRequest {
    ApiRequest::patch(CONVERT_LEAD, PATH)
        .query("msTenantID", tenant_id)
        .json(&ConvertBody {
            status_change: OC_ESSENTIAL,
            customer_short_name: short_name,
            customer_full_name: full_name,
        })
        .how_to_check(
            "get the tenant's lead (`leads().get(tenant)`, `thingspace oc leads get <GUID>`) a \
             few minutes later: a umpCustomerGuid means the conversion went through; a task that \
             is still running leaves no mark on the lead, so converting again at once may start \
             a second one",
        )
}

/// The task id of a conversion's answer: a bare JSON string (`"wst_…"`), or, leniently, an
/// object with `taskId` or `id`.
#[derive(Deserialize)]
#[serde(untagged)]
enum TaskAnswer {
    Bare(String),
    Object {
        #[serde(alias = "taskId", alias = "TaskId", alias = "Id")]
        id: String,
    },
}

/// Decodes the answer to [`LeadsApi::convert`](super::LeadsApi::convert): the id of the task
/// that turns the lead into a customer (wait for it with
/// [`TasksApi::wait`](crate::tasks::TasksApi::wait)).
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) when the answer holds no task id.
pub fn decode_convert(response: &Response) -> Result<TaskId> {
    let id = match response.json::<TaskAnswer>(CONVERT_LEAD)? {
        TaskAnswer::Bare(id) | TaskAnswer::Object { id } => id,
    };
    if id.trim().is_empty() || id.contains(char::is_control) {
        return Err(response.not_the_answer(CONVERT_LEAD, "the task id is empty or not text"));
    }
    Ok(TaskId::from(id))
}

/// Checks a customer's short name before it is sent: 3 to 15 ASCII letters, digits or `_`.
///
/// ```
/// use thingspace_oc::leads::validate_short_name;
///
/// assert!(validate_short_name("Contoso_01").is_ok());
/// assert!(validate_short_name("ab").is_err());
/// assert!(validate_short_name("Contoso Ltd").is_err());
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput), saying which rule it
/// breaks.
pub fn validate_short_name(name: &str) -> Result<()> {
    let shown: String = name.chars().take(32).filter(|c| !c.is_control()).collect();
    let chars = name.chars().count();
    if !(MIN_SHORT_NAME_CHARS..=MAX_SHORT_NAME_CHARS).contains(&chars) {
        return Err(Error::invalid_input(format!(
            "the customer short name `{shown}` is {chars} characters long; it must be \
             {MIN_SHORT_NAME_CHARS} to {MAX_SHORT_NAME_CHARS} letters, digits or `_`"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(Error::invalid_input(format!(
            "the customer short name `{shown}` holds {bad:?}; it may hold only letters (A-Z, \
             a-z), digits and `_`"
        )));
    }
    Ok(())
}

/// Checks a customer's full name before it is sent: not blank, no control characters, at most
/// 256 characters.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput).
pub fn validate_full_name(name: &str) -> Result<()> {
    super::create::check_name("customer full name", name)
}

/// Checks that `leads` (the answer to a get of `tenant_id`) hold a lead that may be
/// converted: there is one, it is `Active`, and it is not a customer yet.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) saying which, since
/// the conversion was not sent.
pub(super) fn check_convertible(tenant_id: &str, leads: &[OcLead]) -> Result<()> {
    let lead = leads
        .iter()
        .find(|l| {
            l.tenant_id
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(tenant_id))
        })
        .or(leads.first());
    let Some(lead) = lead else {
        return Err(Error::invalid_input(format!(
            "tenant {tenant_id} has no lead; create one first (`leads().create`); nothing was converted"
        )));
    };
    match &lead.status {
        Some(ConsentStatus::Active) => {}
        status => {
            let status = status.as_ref().map_or("no status", ConsentStatus::as_str);
            let status = crate::problem::clean(status);
            return Err(Error::invalid_input(format!(
                "the lead of tenant {tenant_id} is {status}, not Active; only an Active lead \
                 becomes a customer; nothing was converted"
            )));
        }
    }
    if let Some(guid) = lead
        .ump_customer_guid
        .as_deref()
        .filter(|g| !g.trim().is_empty())
    {
        return Err(Error::invalid_input(format!(
            "the lead of tenant {tenant_id} is already a customer (umpCustomerGuid {}); nothing \
             was converted",
            crate::problem::clean(guid)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::http::{HeaderMap, StatusCode};

    const TENANT: &str = "f94238e5-4f2c-4e1b-8125-2d27122ca75f";

    #[test]
    fn short_names_are_checked() {
        for good in ["abc", "ABC_123", "a_b_c_d_e_f_g_h", "___"] {
            assert!(validate_short_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ab",
            "abcdefghijklmnop",
            "has space",
            "dash-ed",
            "ümlaut",
            "tab\tx",
            "a\u{202e}bc",
            "abc\n",
        ] {
            let e = validate_short_name(bad).expect_err(bad);
            assert_eq!(e.kind(), thingspace_core::ErrorKind::InvalidInput, "{bad}");
            assert!(!e.to_string().contains(['\n', '\t']), "{e}");
        }
        assert!(validate_full_name("Contoso Ltd").is_ok());
        let e = validate_full_name(" ").expect_err("blank");
        assert!(e.to_string().contains("full name"), "{e}");
    }

    #[test]
    fn the_body_has_the_documented_names() {
        let r = convert_request(TENANT, "Contoso", "Contoso Ltd");
        assert_eq!(r.method(), thingspace_core::http::Method::PATCH);
        assert_eq!(r.idempotency(), thingspace_core::Idempotency::Unsafe);
        let built = r
            .build(&"https://oc.example/tenantui".parse().expect("url"))
            .expect("build");
        assert_eq!(
            built.url.query(),
            Some(format!("msTenantID={TENANT}").as_str())
        );
        let body: serde_json::Value = serde_json::from_slice(&built.body).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"statusChange": "OCEssential", "customerShortName": "Contoso",
                               "customerFullName": "Contoso Ltd"})
        );
    }

    #[test]
    fn the_answer_is_a_task_id() {
        let answer = |body: &'static str| {
            decode_convert(&Response::new(StatusCode::OK, HeaderMap::new(), body))
        };
        for body in [
            r#""wst_12ab""#,
            r#"{"taskId":"wst_12ab"}"#,
            r#"{"id":"wst_12ab"}"#,
        ] {
            assert_eq!(answer(body).expect(body).as_str(), "wst_12ab");
        }
        for body in ["", "null", r#""""#, "{}", "[]", "12", r#""a\u0000b""#] {
            assert!(answer(body).expect_err(body).is_decode(), "{body}");
        }
    }

    #[test]
    fn only_an_active_lead_that_is_no_customer_is_converted() {
        let lead =
            |json: serde_json::Value| -> OcLead { serde_json::from_value(json).expect("lead") };
        let active = lead(serde_json::json!({"tenantId": TENANT, "status": "Active"}));
        assert!(check_convertible(TENANT, &[active]).is_ok());
        let upper =
            lead(serde_json::json!({"tenantId": TENANT.to_uppercase(), "status": "Active"}));
        assert!(check_convertible(TENANT, &[upper]).is_ok());
        for (leads, says) in [
            (vec![], "has no lead"),
            (
                vec![lead(
                    serde_json::json!({"tenantId": TENANT, "status": "Suspended"}),
                )],
                "Suspended",
            ),
            (
                vec![lead(serde_json::json!({"tenantId": TENANT}))],
                "no status",
            ),
            (
                vec![lead(
                    serde_json::json!({"tenantId": TENANT, "status": "Active", "umpCustomerGuid": "u-1"}),
                )],
                "already a customer (umpCustomerGuid u-1)",
            ),
        ] {
            let e = check_convertible(TENANT, &leads).expect_err(says);
            assert!(e.to_string().contains(says), "{e}");
            assert!(e.to_string().contains("nothing was converted"), "{e}");
        }
    }
}
