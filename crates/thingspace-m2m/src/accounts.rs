//! Accounts: `GET /m2m/v1/accounts/{accountname}`.

use serde::{Deserialize, Serialize};
use thingspace_core::de::{null_as_default, opt_string_or_number, required_text};
use thingspace_core::{ApiRequest, Client, Result};

/// Operation name of [`AccountsApi::get`], as it appears in errors and traces.
pub const GET_ACCOUNT: &str = "m2m.accounts.get";

/// An M2M account. Serialises with the wire field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Account {
    /// The account name (kept as text: `0000123456` keeps its zeros). Every account answer
    /// has one: a body without it, or with `null` there, is a decode error, not an empty
    /// account. Always `Some` in a decoded account.
    #[serde(deserialize_with = "required_text")]
    pub account_name: Option<String>,
    /// The billing number of the account.
    #[serde(default)]
    pub account_number: Option<String>,
    /// The organisation the account belongs to.
    #[serde(default)]
    pub organization_name: Option<String>,
    /// True if devices can be added and activated in one request.
    #[serde(default)]
    pub is_provisioning_allowed: Option<bool>,
    /// The carriers of the account.
    #[serde(default, deserialize_with = "null_as_default")]
    pub carriers: Vec<String>,
    /// The features enabled for the account.
    #[serde(default, deserialize_with = "null_as_default")]
    pub features: Vec<String>,
    /// The IP pools (`ipPools` in the document, `iPPools` in the generated SDKs).
    #[serde(default, alias = "iPPools", deserialize_with = "null_as_default")]
    pub ip_pools: Vec<IpPool>,
    /// The service plans available to the account.
    #[serde(default, deserialize_with = "null_as_default")]
    pub service_plans: Vec<ServicePlan>,
}

/// An IP pool of an account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IpPool {
    /// The pool name.
    #[serde(default)]
    pub pool_name: Option<String>,
    /// The pool type, such as "Static IP".
    #[serde(default)]
    pub pool_type: Option<String>,
    /// True for the account's default pool.
    #[serde(default)]
    pub is_default_pool: Option<bool>,
}

/// A service plan of an account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServicePlan {
    /// The plan name.
    #[serde(default)]
    pub name: Option<String>,
    /// The plan code, used when adding devices or changing plans.
    #[serde(default)]
    pub code: Option<String>,
    /// The data included, in kB, as the service sent it (text in the document, a number in
    /// the SDKs). See [`ServicePlan::size_kb_value`].
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub size_kb: Option<String>,
    /// Internal plan reference code.
    #[serde(default)]
    pub carrier_service_plan_code: Option<String>,
    /// Extended attributes: text in the document, a key/value list in the SDKs.
    #[serde(default)]
    pub extended_attributes: Option<ExtendedAttributes>,
}

impl ServicePlan {
    /// `sizeKb` as a number, when it is one.
    pub fn size_kb_value(&self) -> Option<u64> {
        self.size_kb.as_deref()?.trim().parse().ok()
    }
}

/// `extendedAttributes`, in either spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ExtendedAttributes {
    /// Free text, as in the document.
    Text(String),
    /// Key/value pairs, as in the generated SDKs.
    List(Vec<KeyValue>),
}

impl<'de> Deserialize<'de> for ExtendedAttributes {
    /// Text or a list, told apart by the JSON type without buffering the value (as
    /// `#[serde(untagged)]` would).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ExtendedAttributes;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("text or a list of {key, value}")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ExtendedAttributes::Text(v.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(ExtendedAttributes::Text(v))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                Vec::<KeyValue>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(ExtendedAttributes::List)
            }
        }
        d.deserialize_any(V)
    }
}

/// A key/value pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyValue {
    /// The key.
    #[serde(default)]
    pub key: Option<String>,
    /// The value.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub value: Option<String>,
}

/// The accounts resource. Get it with [`M2m::accounts`](crate::M2m::accounts).
#[derive(Debug, Clone, Copy)]
pub struct AccountsApi<'a> {
    client: &'a Client,
}

impl<'a> AccountsApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Information about one account.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before any request
    /// for an empty name; the service's error (with `errorCode`/`errorMessage`) otherwise.
    pub async fn get(&self, account_name: &str) -> Result<Account> {
        decode_get(&self.client.send(&get_request(account_name)).await?)
    }
}

/// The request of [`AccountsApi::get`].
pub fn get_request(account_name: &str) -> ApiRequest {
    ApiRequest::get(GET_ACCOUNT, "/m2m/v1/accounts/{accountname}")
        .for_account(account_name)
        .path_param("accountname", account_name)
}

/// Decodes the response of [`AccountsApi::get`].
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for a body that is not an
/// account; the service's error for an error envelope in a success response.
pub fn decode_get(response: &thingspace_core::Response) -> Result<Account> {
    response.json(GET_ACCOUNT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's example (its invalid `"sizeKb":,` repaired), from the shared fixtures.
    fn document() -> &'static str {
        thingspace_mock::fixtures::get("m2m/account.document.json").expect("fixture")
    }

    #[test]
    fn decodes_the_document_example() {
        let a: Account = serde_json::from_str(document()).expect("decode");
        assert_eq!(a.account_number.as_deref(), Some("1234567890-77777"));
        assert_eq!(a.ip_pools.len(), 2);
        assert_eq!(a.ip_pools[0].is_default_pool, Some(true));
        assert_eq!(
            a.service_plans[0].extended_attributes,
            Some(ExtendedAttributes::Text(String::new()))
        );
    }

    #[test]
    fn decodes_the_sdk_spellings_and_ignores_unknown_fields() {
        let a: Account = serde_json::from_str(
            r#"{"accountName":"0000123456","iPPools":[{"poolName":"P"}],"carriers":null,"newField":{"x":1},
                "servicePlans":[{"sizeKb":2048,"extendedAttributes":[{"key":"k","value":"v"}]}]}"#,
        )
        .expect("decode");
        assert_eq!(a.account_name.as_deref(), Some("0000123456"));
        assert_eq!(a.ip_pools[0].pool_name.as_deref(), Some("P"));
        assert!(a.carriers.is_empty());
        assert_eq!(a.service_plans[0].size_kb_value(), Some(2048));
        assert!(
            matches!(&a.service_plans[0].extended_attributes, Some(ExtendedAttributes::List(l)) if l.len() == 1)
        );
    }

    #[test]
    fn decodes_the_sdk_fixture() {
        let text = thingspace_mock::fixtures::get("m2m/account.sdk.json").expect("fixture");
        let a: Account = serde_json::from_str(text).expect("decode");
        assert_eq!(a.ip_pools.len(), 2, "iPPools");
        assert!(a.service_plans.iter().all(|p| p.size_kb_value().is_some()));
    }

    #[test]
    fn extended_attributes_reject_other_types() {
        let e = serde_json::from_str::<ExtendedAttributes>("12").expect_err("a number");
        assert!(e.to_string().contains("text or a list"), "{e}");
        let l: ExtendedAttributes =
            serde_json::from_str(r#"[{"key":"a","value":1}]"#).expect("list");
        assert!(matches!(l, ExtendedAttributes::List(v) if v[0].value.as_deref() == Some("1")));
    }

    #[test]
    fn serialises_with_wire_names() {
        let a: Account = serde_json::from_str(document()).expect("decode");
        let v = serde_json::to_value(&a).expect("encode");
        assert!(v.get("accountName").is_some() && v.get("ipPools").is_some());
    }
}
