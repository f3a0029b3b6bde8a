//! The service's refusals: the ASP.NET validation problem (RFC 7807 with an `errors` map of
//! field messages) it answers a bad request with, and how an [`Error`] carries it.
//!
//! ```json
//! {"type":"https://tools.ietf.org/html/rfc7231#section-6.5.1",
//!  "title":"One or more validation errors occurred.","status":400,"traceId":"00-…-00",
//!  "errors":{"TenantId":["This MsTenant already exists as an UMP lead!"]}}
//! ```
//!
//! The core reads the `title` as the error's code; the field messages are this crate's to
//! read: [`with_problem`] attaches them to the error as its source, and
//! [`OcErrorExt::validation_problem`](crate::OcErrorExt::validation_problem) finds them there.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use thingspace_core::{Error, ErrorKind};

/// The most field messages kept from one problem.
const MAX_MESSAGES: usize = 32;
/// The longest field name or message kept, in characters.
const MAX_TEXT_CHARS: usize = 512;

/// One message of a validation problem, about one field of the request (`TenantId`,
/// `CompanyName`, …; empty for the request as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FieldError {
    /// The field, as the service names it (such as `TenantId`).
    pub field: String,
    /// What the service says about it.
    pub message: String,
}

impl FieldError {
    /// A message about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// An ASP.NET validation problem: the `title`, `status` and `traceId` of an RFC 7807 problem,
/// and its field messages, in the order the service sent them.
///
/// Text from the service is kept bounded (at most 32 messages of 512 characters) and with its
/// control characters blanked, so it can go into messages and logs as it is.
///
/// ```
/// use thingspace_oc::problem::ValidationProblem;
///
/// let body = br#"{"title":"One or more validation errors occurred.","status":400,
///     "errors":{"TenantId":["This MsTenant already exists as an UMP lead!"]}}"#;
/// let problem = ValidationProblem::from_body(body).expect("a problem");
/// assert_eq!(problem.messages_for("tenantid").collect::<Vec<_>>(),
///            ["This MsTenant already exists as an UMP lead!"]);
/// assert_eq!(problem.to_string(), "TenantId: This MsTenant already exists as an UMP lead!");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ValidationProblem {
    /// The problem's title, such as `One or more validation errors occurred.`.
    pub title: Option<String>,
    /// The status the problem states.
    pub status: Option<u16>,
    /// The service's trace id, to quote to its support.
    pub trace_id: Option<String>,
    /// The field messages.
    pub errors: Vec<FieldError>,
}

impl ValidationProblem {
    /// Reads a validation problem from a response body: `None` unless it is a JSON object
    /// whose `errors` is an object holding at least one message (a list of texts or one
    /// text per field; a number is kept as its text, other values are skipped).
    pub fn from_body(body: &[u8]) -> Option<Self> {
        let raw: RawProblem = serde_json::from_slice(body).ok()?;
        let mut errors = Vec::new();
        for (field, messages) in raw.errors?.0 {
            let texts: Vec<&Value> = match &messages {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for text in texts {
                let message = match text {
                    Value::String(s) => clean(s),
                    Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                if errors.len() < MAX_MESSAGES {
                    errors.push(FieldError::new(clean(&field), message));
                }
            }
        }
        if errors.is_empty() {
            return None;
        }
        let text = |v: Option<Value>| v.as_ref().and_then(Value::as_str).map(clean);
        Some(Self {
            title: text(raw.title),
            status: raw
                .status
                .as_ref()
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok()),
            trace_id: text(raw.trace_id),
            errors,
        })
    }

    /// The problem of a service's refusal (an [`ErrorKind::Api`] error with a 4xx status and
    /// a problem body), read from the body the error kept.
    pub fn of_error(err: &Error) -> Option<Self> {
        if err.kind() != ErrorKind::Api || !err.status()?.is_client_error() {
            return None;
        }
        Self::from_body(err.response_body()?)
    }

    /// The messages about `field` (compared without regard to case), in order.
    pub fn messages_for<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.errors
            .iter()
            .filter(move |e| e.field.eq_ignore_ascii_case(field))
            .map(|e| e.message.as_str())
    }
}

impl fmt::Display for ValidationProblem {
    /// The field messages, `Field: message` separated by `; `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationProblem {}

/// A problem as sent: the fields this crate reads, any JSON type (checked when read).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProblem {
    #[serde(default, alias = "Errors")]
    errors: Option<InOrder>,
    #[serde(default, alias = "Title")]
    title: Option<Value>,
    #[serde(default, alias = "Status")]
    status: Option<Value>,
    #[serde(default, alias = "TraceId")]
    trace_id: Option<Value>,
}

/// The entries of a JSON object in the order they were sent (a `serde_json::Map` sorts them).
struct InOrder(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for InOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = InOrder;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<InOrder, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(InOrder(entries))
            }
        }
        d.deserialize_map(Entries)
    }
}

/// `err` with the service's validation problem attached as its source, when its answer held
/// one (and it has no source yet); otherwise `err` as it is. Every operation of this crate
/// passes its errors through this.
pub fn with_problem(err: Error) -> Error {
    if std::error::Error::source(&err).is_some() {
        return err;
    }
    match ValidationProblem::of_error(&err) {
        Some(problem) => err.with_source(problem),
        None => err,
    }
}

/// Text from the service as it goes into messages: control characters blanked, bounded.
pub(crate) fn clean(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    let mut out: String = flat.chars().take(MAX_TEXT_CHARS).collect();
    if flat.chars().nth(MAX_TEXT_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::Response;
    use thingspace_core::http::{HeaderMap, StatusCode};

    const DUPLICATE: &str = r#"{"type":"https://tools.ietf.org/html/rfc7231#section-6.5.1",
        "title":"One or more validation errors occurred.","status":400,"traceId":"00-abc-01-00",
        "errors":{"TenantId":["This MsTenant already exists as an UMP lead!"],
                  "CompanyName":["Company name is already used for an UMP lead."]}}"#;

    #[test]
    fn reads_the_field_messages_in_order() {
        let p = ValidationProblem::from_body(DUPLICATE.as_bytes()).expect("problem");
        assert_eq!(
            p.title.as_deref(),
            Some("One or more validation errors occurred.")
        );
        assert_eq!(
            (p.status, p.trace_id.as_deref()),
            (Some(400), Some("00-abc-01-00"))
        );
        assert_eq!(
            p.errors,
            [
                FieldError::new("TenantId", "This MsTenant already exists as an UMP lead!"),
                FieldError::new(
                    "CompanyName",
                    "Company name is already used for an UMP lead."
                ),
            ]
        );
        assert_eq!(
            p.messages_for("companyname").collect::<Vec<_>>(),
            ["Company name is already used for an UMP lead."]
        );
    }

    #[test]
    fn odd_problems_are_read_as_far_as_they_go() {
        // One text instead of a list, a number, values that are not text, a field-less message.
        let p = ValidationProblem::from_body(
            br#"{"Errors":{"A":"one","B":[2,null,{"x":1}],"":["whole body"]},"status":"400","title":7}"#,
        )
        .expect("problem");
        let shown: Vec<String> = p.errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["A: one", "B: 2", "whole body"]);
        assert_eq!((p.status, p.title), (None, None));
        for body in [
            "",
            "null",
            "[]",
            r#"{"title":"Bad Request","status":400}"#,
            r#"{"errors":{}}"#,
            r#"{"errors":["a"]}"#,
            r#"{"errors":{"A":[null]}}"#,
        ] {
            assert_eq!(
                ValidationProblem::from_body(body.as_bytes()),
                None,
                "{body}"
            );
        }
    }

    #[test]
    fn text_is_bounded_and_has_no_control_characters() {
        let long = "x".repeat(10_000);
        let many: Vec<String> = (0..100).map(|i| format!("\"m{i}\"")).collect();
        let body = format!(
            r#"{{"errors":{{"F\u001b[2J":["a\nb\u0007", "{long}"], "G":[{}]}}}}"#,
            many.join(",")
        );
        let p = ValidationProblem::from_body(body.as_bytes()).expect("problem");
        assert_eq!(p.errors.len(), MAX_MESSAGES);
        assert_eq!(p.errors[0].field, "F [2J");
        assert_eq!(p.errors[0].message, "a b");
        assert_eq!(p.errors[1].message.chars().count(), MAX_TEXT_CHARS + 1);
        assert!(!p.to_string().contains(char::is_control));
    }

    #[test]
    fn only_a_refusal_carries_a_problem() {
        let response = |status: StatusCode| {
            Error::from_response("op", &Response::new(status, HeaderMap::new(), DUPLICATE))
        };
        let err = with_problem(response(StatusCode::BAD_REQUEST));
        let source = std::error::Error::source(&err).expect("a source");
        assert!(source.to_string().starts_with("TenantId: This MsTenant"));
        // A 5xx with the same body is the service failing, not refusing.
        let err = with_problem(response(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(std::error::Error::source(&err).is_none());
        let err = with_problem(Error::invalid_input("x"));
        assert!(std::error::Error::source(&err).is_none());
    }
}
