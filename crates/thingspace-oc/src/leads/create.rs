//! Creating a consentless lead: `POST {oc_base}/api/v2/oc/lead`.

use std::fmt;

use serde::Serialize;
use thingspace_core::{ApiRequest, Error, Response, Result};

use super::{OcLead, PATH};
use crate::problem::{FieldError, ValidationProblem, with_problem};

/// Operation name of [`LeadsApi::create`](super::LeadsApi::create).
pub const CREATE_LEAD: &str = "oc.leads.create";

/// The longest company name sent, in characters (the service states no limit; this one
/// keeps a mistake, such as a whole file pasted, from being sent).
pub const MAX_COMPANY_NAME_CHARS: usize = 256;

/// The body of a create.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    tenant_id: &'a str,
    company_name: &'a str,
}

/// The request of [`LeadsApi::create`](super::LeadsApi::create): a consentless lead for the
/// customer tenant `tenant_id`, named `company_name`. The inputs are not checked here: see
/// [`validate_tenant_id`](super::validate_tenant_id) and [`validate_company_name`].
///
/// Not repeated by the SDK ([`Idempotency::Unsafe`](thingspace_core::Idempotency::Unsafe), a
/// POST's default): a second create cannot make a second lead, since the service refuses a
/// tenant or company that already has one, but it would turn a lead that was created into an
/// "already exists" error. When the answer is lost, the error says to look the lead up.
pub fn create_request(tenant_id: &str, company_name: &str) -> ApiRequest {
    ApiRequest::post(CREATE_LEAD, PATH)
        .json(&CreateBody {
            tenant_id,
            company_name,
        })
        .how_to_check(
            "get the tenant's lead (`leads().get(tenant)`, `thingspace oc leads get <GUID>`): if it \
             is there, the create went through; sending it again cannot make a second lead, the \
             service refuses it as already existing",
        )
}

/// Decodes the answer to [`LeadsApi::create`](super::LeadsApi::create): the lead, when the
/// service answered with one; `None` for an empty body or anything else.
///
/// Lenient on purpose: a 200 means the lead was created, and an error here would have the
/// caller create it again, only to be told it already exists.
///
/// # Errors
/// None so far; a `Result` as every decoder.
pub fn decode_create(response: &Response) -> Result<Option<OcLead>> {
    let lead = serde_json::from_slice::<OcLead>(&response.body)
        .ok()
        .filter(|lead| *lead != OcLead::default());
    if lead.is_none() {
        tracing::debug!(
            body_bytes = response.body.len(),
            "the create's answer holds no lead"
        );
    }
    Ok(lead)
}

/// The error of a refused create, typed: a validation problem that says the tenant or the
/// company already has a lead becomes [`LeadAlreadyExists`] (find it with
/// [`OcErrorExt::lead_already_exists`](crate::OcErrorExt::lead_already_exists)); any other
/// validation problem is attached as a [`ValidationProblem`]; any other error is returned as
/// it is.
pub fn decode_create_error(err: Error) -> Error {
    if std::error::Error::source(&err).is_some() {
        return err;
    }
    match ValidationProblem::of_error(&err) {
        Some(problem) if LeadAlreadyExists::says_so(&problem) => {
            err.with_source(LeadAlreadyExists { problem })
        }
        _ => with_problem(err),
    }
}

/// Checks a company name before it is sent: not blank, no control characters, at most
/// [`MAX_COMPANY_NAME_CHARS`] characters.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput).
pub fn validate_company_name(name: &str) -> Result<()> {
    check_name("company name", name)
}

/// Checks a name of a customer (`what` it is) before it is sent: not blank, no control
/// characters, at most [`MAX_COMPANY_NAME_CHARS`] characters.
pub(super) fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid_input(format!("the {what} is empty")));
    }
    if name.contains(char::is_control) {
        return Err(Error::invalid_input(format!(
            "the {what} holds control characters (a line break, a tab)"
        )));
    }
    let chars = name.chars().count();
    if chars > MAX_COMPANY_NAME_CHARS {
        return Err(Error::invalid_input(format!(
            "the {what} is {chars} characters long, more than {MAX_COMPANY_NAME_CHARS}"
        )));
    }
    Ok(())
}

/// A create refused because the tenant or the company already has a lead, with the service's
/// field messages (every message of the problem, those about other fields too).
///
/// ```
/// # use thingspace_core::{Error, Response, http::{HeaderMap, StatusCode}};
/// use thingspace_oc::{OcErrorExt, leads::decode_create_error};
///
/// # let body = r#"{"title":"One or more validation errors occurred.","status":400,
/// #   "errors":{"TenantId":["This MsTenant already exists as an UMP lead!"]}}"#;
/// # let err = Error::from_response("oc.leads.create",
/// #     &Response::new(StatusCode::BAD_REQUEST, HeaderMap::new(), body));
/// // `err`: what `leads().create(..)` failed with.
/// let err = decode_create_error(err);
/// let exists = err.lead_already_exists().expect("a duplicate");
/// assert!(exists.tenant_exists() && !exists.company_exists());
/// assert_eq!(exists.messages()[0].message, "This MsTenant already exists as an UMP lead!");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeadAlreadyExists {
    /// The service's problem.
    pub problem: ValidationProblem,
}

impl LeadAlreadyExists {
    /// The field of the tenant id.
    pub const TENANT_FIELD: &'static str = "TenantId";
    /// The field of the company name.
    pub const COMPANY_FIELD: &'static str = "CompanyName";

    /// Whether `problem` says a tenant or company already has a lead: a message about
    /// `TenantId` or `CompanyName` that says "already".
    fn says_so(problem: &ValidationProblem) -> bool {
        [Self::TENANT_FIELD, Self::COMPANY_FIELD]
            .iter()
            .any(|field| Self::field_says_so(problem, field))
    }

    fn field_says_so(problem: &ValidationProblem, field: &str) -> bool {
        problem
            .messages_for(field)
            .any(|m| m.to_ascii_lowercase().contains("already"))
    }

    /// Whether the tenant already has a lead.
    pub fn tenant_exists(&self) -> bool {
        Self::field_says_so(&self.problem, Self::TENANT_FIELD)
    }

    /// Whether the company name is already used by a lead.
    pub fn company_exists(&self) -> bool {
        Self::field_says_so(&self.problem, Self::COMPANY_FIELD)
    }

    /// The service's field messages.
    pub fn messages(&self) -> &[FieldError] {
        &self.problem.errors
    }
}

impl fmt::Display for LeadAlreadyExists {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a lead already exists: {}", self.problem)
    }
}

impl std::error::Error for LeadAlreadyExists {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OcErrorExt;
    use thingspace_core::http::{HeaderMap, StatusCode};

    fn refusal(status: StatusCode, body: &'static str) -> Error {
        Error::from_response(CREATE_LEAD, &Response::new(status, HeaderMap::new(), body))
    }

    #[test]
    fn the_body_has_the_documented_names() {
        let r = create_request("f94238e5-4f2c-4e1b-8125-2d27122ca75f", "Contoso");
        assert_eq!(r.method(), thingspace_core::http::Method::POST);
        assert_eq!(
            r.idempotency(),
            thingspace_core::Idempotency::Unsafe,
            "never sent twice"
        );
        let built = r
            .build(&"https://oc.example/tenantui".parse().expect("url"))
            .expect("build");
        let body: serde_json::Value = serde_json::from_slice(&built.body).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"tenantId": "f94238e5-4f2c-4e1b-8125-2d27122ca75f", "companyName": "Contoso"})
        );
        assert_eq!(built.url.path(), "/tenantui/api/v2/oc/lead");
    }

    #[test]
    fn a_duplicate_is_typed_and_keeps_every_message() {
        let err = decode_create_error(refusal(
            StatusCode::BAD_REQUEST,
            r#"{"title":"One or more validation errors occurred.","status":400,
                "errors":{"CompanyName":["Company name is already used for an UMP lead."]}}"#,
        ));
        let exists = err.lead_already_exists().expect("typed");
        assert!(exists.company_exists() && !exists.tenant_exists());
        assert_eq!(
            exists.to_string(),
            "a lead already exists: CompanyName: Company name is already used for an UMP lead."
        );
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(err.validation_problem(), Some(&exists.problem));
    }

    #[test]
    fn other_refusals_are_not_duplicates() {
        let err = decode_create_error(refusal(
            StatusCode::BAD_REQUEST,
            r#"{"errors":{"TenantId":["The value 'x' is not valid."]}}"#,
        ));
        assert!(err.lead_already_exists().is_none());
        assert_eq!(
            err.validation_problem().map(ToString::to_string).as_deref(),
            Some("TenantId: The value 'x' is not valid.")
        );
        let err = decode_create_error(refusal(StatusCode::BAD_REQUEST, "not json"));
        assert!(err.lead_already_exists().is_none() && err.validation_problem().is_none());
        let err = decode_create_error(refusal(
            StatusCode::BAD_GATEWAY,
            r#"{"errors":{"TenantId":["already exists"]}}"#,
        ));
        assert!(err.lead_already_exists().is_none(), "a 5xx is no refusal");
    }

    #[test]
    fn any_answer_to_a_create_is_a_success() {
        let answer = |body: &'static str| {
            decode_create(&Response::new(StatusCode::OK, HeaderMap::new(), body)).expect("ok")
        };
        assert_eq!(
            answer(r#"{"tenantId":"t","status":"Active"}"#)
                .and_then(|l| l.tenant_id)
                .as_deref(),
            Some("t")
        );
        for body in ["", "null", "{}", "[]", "\"done\"", "<html>"] {
            assert_eq!(answer(body), None, "{body}");
        }
    }

    #[test]
    fn company_names_are_checked() {
        for bad in ["", "  ", "a\nb", &"x".repeat(MAX_COMPANY_NAME_CHARS + 1)] {
            assert!(validate_company_name(bad).is_err(), "{bad}");
        }
        assert!(validate_company_name("Contoso, Inc. (Ünïcode)").is_ok());
    }
}
