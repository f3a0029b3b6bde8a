//! The operator's customers: `GET {oc_base}/api/v3/customer`, a JSON array with PascalCase
//! keys (unlike the rest of the API).

use serde::{Deserialize, Deserializer, Serialize};
use thingspace_core::de::opt_string_or_number;
use thingspace_core::{ApiRequest, Client, Response, Result};

use crate::problem::with_problem;

/// Operation name of [`CustomersApi::list`].
pub const LIST_CUSTOMERS: &str = "oc.customers.list";

/// A customer of the operator on the Live Platform: what a converted lead becomes. Every field
/// may be null; serialises with the wire names (PascalCase).
///
/// Decoding is lenient as for leads: the camelCase spellings are read too, text fields accept
/// numbers (kept as their text), counts accept numeric text and whole floats; unknown fields
/// are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
#[non_exhaustive]
pub struct OcCustomer {
    /// The Live Platform customer id (a task's `umpCustomerGuid`, a lead's once converted).
    #[serde(alias = "umpCustomerGuid", deserialize_with = "opt_string_or_number")]
    pub ump_customer_guid: Option<String>,
    /// The short name given at the conversion (3 to 15 letters, digits or `_`).
    #[serde(alias = "customerShortName", deserialize_with = "opt_string_or_number")]
    pub customer_short_name: Option<String>,
    /// The full name given at the conversion.
    #[serde(alias = "customerFullName", deserialize_with = "opt_string_or_number")]
    pub customer_full_name: Option<String>,
    /// The license, such as `OCEssential`.
    #[serde(alias = "licenseType", deserialize_with = "opt_string_or_number")]
    pub license_type: Option<String>,
    /// How many users the license covers.
    #[serde(alias = "licensedUsersCount", deserialize_with = "opt_count")]
    pub licensed_users_count: Option<u64>,
    /// The customer's Microsoft tenant id.
    #[serde(alias = "msTenantId", deserialize_with = "opt_string_or_number")]
    pub ms_tenant_id: Option<String>,
    /// How many users are active.
    #[serde(alias = "activeUserCount", deserialize_with = "opt_count")]
    pub active_user_count: Option<u64>,
}

/// A count: a whole number, numeric text or a whole float; `null` or blank text is `None`.
fn opt_count<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    let Some(text) = opt_string_or_number(d)? else {
        return Ok(None);
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(n) = text.parse::<u64>() {
        return Ok(Some(n));
    }
    match text.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&f) => Ok(Some(f as u64)),
        _ => Err(serde::de::Error::custom(format!(
            "expected a count, found `{}`",
            crate::problem::clean(text)
        ))),
    }
}

/// The customers resource. Get it with
/// [`OperatorConnect::customers`](crate::OperatorConnect::customers).
#[derive(Debug, Clone, Copy)]
pub struct CustomersApi<'a> {
    client: &'a Client,
}

impl<'a> CustomersApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Every customer of the operator (`[]` when it has none).
    ///
    /// # Errors
    /// The service's error, or [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for
    /// an answer that is not an array of customers.
    pub async fn list(&self) -> Result<Vec<OcCustomer>> {
        let response = self
            .client
            .send(&list_request())
            .await
            .map_err(with_problem)?;
        decode_list(&response)
    }
}

/// The request of [`CustomersApi::list`].
pub fn list_request() -> ApiRequest {
    ApiRequest::get(LIST_CUSTOMERS, "/api/v3/customer")
}

/// Decodes the answer to [`CustomersApi::list`]: a JSON array of customers. Only `[]` (or a
/// 204 without a body) is an empty answer: an empty 200 body or `null` is what a failing
/// gateway sends. An element with none of a customer's fields is an error, not an empty
/// customer.
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for anything that is not an array
/// of customers.
pub fn decode_list(response: &Response) -> Result<Vec<OcCustomer>> {
    crate::decode::decode_array(LIST_CUSTOMERS, response, "a customer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::http::{HeaderMap, StatusCode};

    fn answer(body: &'static str) -> Result<Vec<OcCustomer>> {
        decode_list(&Response::new(StatusCode::OK, HeaderMap::new(), body))
    }

    #[test]
    fn reads_pascal_case_and_writes_it_back() {
        let c = answer(
            r#"[{"UmpCustomerGuid":"c-1","CustomerShortName":"Contoso","CustomerFullName":"Contoso Ltd",
                 "LicenseType":"OCEssential","LicensedUsersCount":25,"MsTenantId":"t-1",
                 "ActiveUserCount":"3","Unknown":[1]}]"#,
        )
        .expect("customers");
        let c = &c[0];
        assert_eq!(c.ump_customer_guid.as_deref(), Some("c-1"));
        assert_eq!(c.customer_short_name.as_deref(), Some("Contoso"));
        assert_eq!(
            (c.licensed_users_count, c.active_user_count),
            (Some(25), Some(3))
        );
        assert_eq!(c.ms_tenant_id.as_deref(), Some("t-1"));
        let v = serde_json::to_value(c).expect("encode");
        assert_eq!(v["UmpCustomerGuid"], "c-1");
        assert_eq!(v["LicensedUsersCount"], 25);
    }

    #[test]
    fn tolerates_camel_case_nulls_and_odd_counts() {
        let c = answer(
            r#"[{"umpCustomerGuid":"c-2","msTenantId":null,"LicensedUsersCount":10.0,"ActiveUserCount":" "}]"#,
        )
        .expect("customers");
        assert_eq!(c[0].ump_customer_guid.as_deref(), Some("c-2"));
        assert_eq!(c[0].ms_tenant_id, None);
        assert_eq!(
            (c[0].licensed_users_count, c[0].active_user_count),
            (Some(10), None)
        );
        for body in [
            r#"[{"LicensedUsersCount":-1}]"#,
            r#"[{"LicensedUsersCount":1.5}]"#,
            r#"[{"LicensedUsersCount":"many"}]"#,
            r#"[{"LicensedUsersCount":1e300}]"#,
        ] {
            let e = answer(body).expect_err(body);
            assert!(e.is_decode() && e.to_string().contains("count"), "{e}");
        }
    }

    #[test]
    fn only_an_array_of_customers_is_the_answer() {
        assert!(answer("[]").expect("none").is_empty());
        for body in [
            "",
            "null",
            "{}",
            "[{}]",
            r#"[{"UmpCustomerGuid":"c"},{"other":1}]"#,
        ] {
            let e = answer(body).expect_err(body);
            assert!(e.is_decode(), "{body}: {e}");
            assert_eq!(e.operation(), Some(LIST_CUSTOMERS));
        }
    }
}
