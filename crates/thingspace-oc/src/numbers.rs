//! The telephone numbers of a customer: `GET {oc_base}/api/v2/oc/numbers?msTenantId=…`.

use serde::{Deserialize, Serialize};
use thingspace_core::de::{null_as_default, opt_string_or_number};
use thingspace_core::{ApiRequest, Client, Response, Result};

use crate::leads::validate_tenant_id;
use crate::problem::with_problem;
use crate::timestamp::{Timestamp, opt_timestamp};

/// Operation name of [`NumbersApi::list`].
pub const LIST_NUMBERS: &str = "oc.numbers.list";

/// A telephone number of a customer. Nearly every field may be null; serialises with the wire
/// names.
///
/// Decoding is lenient as for leads: text fields accept numbers (kept as their text),
/// timestamps that are not RFC 3339 are kept as sent, `null` lists are empty, a capability
/// list may be one text; unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct OcNumber {
    /// The number's id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    /// The number, in E.164 (`+1…`).
    #[serde(deserialize_with = "opt_string_or_number")]
    pub telephone_number: Option<String>,
    /// Whether and how it is assigned, such as `Unassigned` or `UserAssigned`.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub assignment_status: Option<String>,
    /// Where its acquisition stands in Teams.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub acquired_number_status: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub iso_country_code: Option<String>,
    /// The capabilities the customer acquired, such as `UserAssignment`.
    #[serde(deserialize_with = "text_list")]
    pub acquired_capabilities: Vec<String>,
    /// The capabilities the number offers.
    #[serde(deserialize_with = "text_list")]
    pub available_capabilities: Vec<String>,
    /// The calling profile.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub calling_profile_id: Option<String>,
    /// The civic address (emergency address) of the number.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub civic_address_id: Option<String>,
    /// The location within the civic address.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub location_id: Option<String>,
    /// The customer's Microsoft tenant id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub tenant_id: Option<String>,
    /// When the number was added.
    #[serde(deserialize_with = "opt_timestamp")]
    pub when_created: Option<Timestamp>,
    /// When the customer acquired it.
    #[serde(deserialize_with = "opt_timestamp")]
    pub acquired_on: Option<Timestamp>,
    /// The session border controllers the number is routed through.
    #[serde(deserialize_with = "null_as_default")]
    pub sbc_list: Vec<Sbc>,
}

/// A session border controller of a number. Text fields also accept numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Sbc {
    /// Its name.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub sbc_name: Option<String>,
    /// Its id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub sbc_id: Option<String>,
}

/// A list of texts: `null` is empty, one text is a list of one, numbers are kept as text.
fn text_list<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Text(#[serde(deserialize_with = "opt_string_or_number")] Option<String>);
    let items: Vec<Text> = thingspace_core::de::one_or_many(d)?;
    Ok(items.into_iter().filter_map(|t| t.0).collect())
}

/// The numbers resource. Get it with [`OperatorConnect::numbers`](crate::OperatorConnect::numbers).
#[derive(Debug, Clone, Copy)]
pub struct NumbersApi<'a> {
    client: &'a Client,
}

impl<'a> NumbersApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The telephone numbers of the customer tenant `ms_tenant_id` (`[]` when it has none).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before any
    /// request when the id is not a GUID; the service's error otherwise.
    pub async fn list(&self, ms_tenant_id: &str) -> Result<Vec<OcNumber>> {
        validate_tenant_id(ms_tenant_id).map_err(|e| e.with_operation(LIST_NUMBERS))?;
        let response = self
            .client
            .send(&list_request(ms_tenant_id))
            .await
            .map_err(with_problem)?;
        decode_list(&response)
    }
}

/// The request of [`NumbersApi::list`] (the id is not checked here: see
/// [`validate_tenant_id`]). The service spells this parameter `msTenantId`, the leads'
/// `msTenantID`.
pub fn list_request(ms_tenant_id: &str) -> ApiRequest {
    ApiRequest::get(LIST_NUMBERS, "/api/v2/oc/numbers").query("msTenantId", ms_tenant_id)
}

/// Decodes the answer to [`NumbersApi::list`]: a JSON array of numbers. Only `[]` (or a 204
/// without a body) is an empty answer: an empty 200 body or `null` is what a failing gateway
/// sends. An element with none of a number's fields is an error, not an empty number.
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for anything that is not an array
/// of numbers.
pub fn decode_list(response: &Response) -> Result<Vec<OcNumber>> {
    crate::decode::decode_array(LIST_NUMBERS, response, "a number")
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::http::{HeaderMap, StatusCode};

    fn answer(status: StatusCode, body: &'static str) -> Result<Vec<OcNumber>> {
        decode_list(&Response::new(status, HeaderMap::new(), body))
    }

    #[test]
    fn decodes_the_documented_fields_and_their_quirks() {
        let numbers = answer(
            StatusCode::OK,
            r#"[{"id":"n1","telephoneNumber":"+15125550100","assignmentStatus":"Unassigned",
                "acquiredNumberStatus":"Acquired","isoCountryCode":"US",
                "acquiredCapabilities":["UserAssignment"],"availableCapabilities":null,
                "callingProfileId":"cp","civicAddressId":"ca","locationId":"l","tenantId":"t",
                "whenCreated":"2024-04-03T13:32:12.8286742","acquiredOn":null,
                "sbcList":[{"sbcName":"sbc1.example","sbcId":1}],"unknown":true},
               {"telephoneNumber":15125550101,"acquiredCapabilities":"UserAssignment",
                "sbcList":null,"whenCreated":"soon"}]"#,
        )
        .expect("numbers");
        let n = &numbers[0];
        assert_eq!(n.telephone_number.as_deref(), Some("+15125550100"));
        assert_eq!(n.acquired_capabilities, ["UserAssignment"]);
        assert!(n.available_capabilities.is_empty());
        assert!(
            n.when_created
                .as_ref()
                .and_then(Timestamp::parsed)
                .is_some()
        );
        assert_eq!(n.sbc_list[0].sbc_id.as_deref(), Some("1"));
        let m = &numbers[1];
        assert_eq!(m.telephone_number.as_deref(), Some("15125550101"));
        assert_eq!(m.acquired_capabilities, ["UserAssignment"]);
        assert_eq!(m.when_created, Some(Timestamp::Unparsed("soon".into())));
        let v = serde_json::to_value(n).expect("encode");
        assert_eq!(v["telephoneNumber"], "+15125550100");
        assert_eq!(v["sbcList"][0]["sbcName"], "sbc1.example");
    }

    #[test]
    fn only_an_array_of_numbers_is_the_answer() {
        assert!(answer(StatusCode::OK, "[]").expect("none").is_empty());
        assert!(answer(StatusCode::NO_CONTENT, "").expect("none").is_empty());
        for body in ["", "null", "{}", "[{}]", r#"[{"id":"n"},{"x":1}]"#] {
            let e = answer(StatusCode::OK, body).expect_err(body);
            assert!(e.is_decode(), "{body}: {e}");
            assert_eq!(e.operation(), Some(LIST_NUMBERS));
        }
    }

    #[test]
    fn the_request_spells_the_parameter_as_the_service() {
        let built = list_request("f94238e5-4f2c-4e1b-8125-2d27122ca75f")
            .build(&"https://oc.example/tenantui".parse().expect("url"))
            .expect("build");
        assert_eq!(built.url.path(), "/tenantui/api/v2/oc/numbers");
        assert_eq!(
            built.url.query(),
            Some("msTenantId=f94238e5-4f2c-4e1b-8125-2d27122ca75f")
        );
    }
}
