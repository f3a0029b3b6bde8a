//! Deterministic JSON fixtures for every operation, generated from one seed.
//!
//! `cargo xtask fixtures` writes [`generate`]'s output to `crates/thingspace-mock/fixtures/`;
//! `cargo xtask fixtures --check` fails when the committed files differ from it. The mock
//! serves the documents' examples from these files, and the SDK's tests read them with [`get`],
//! so no test keeps a private copy of a payload.

use serde_json::{Value, json};

use crate::data;

/// The seed the committed fixtures are generated from.
pub const SEED: u64 = 2026;

/// The primary account of the managed-accounts fixtures.
pub const PRIMARY_ACCOUNT: &str = "2024009649-00001";

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        /// Every fixture, as committed: `(path under fixtures/, contents)`.
        pub const EMBEDDED: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../fixtures/", $name)))),*
        ];
    };
}

embedded!(
    "m2m/account.document.json",
    "m2m/account.sdk.json",
    "m2m/leads.document.json",
    "m2m/leads.page.json",
    "m2m/states-and-services.document.json",
    "m2m/states-and-services.sdk.json",
    "subsc/managed-accounts.document.json",
    "subsc/managed-accounts.sdk.json",
    "oc/lead.document.json",
    "oc/leads.page.json",
    "errors/thingspace-envelope.json",
    "errors/oauth-invalid-client.json",
    "errors/entra-invalid-scope.json",
);

/// The committed fixture `name` (such as `m2m/account.document.json`).
pub fn get(name: &str) -> Option<&'static str> {
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The committed fixture `name`, parsed (`null` if it is missing or invalid).
pub(crate) fn json(name: &str) -> Value {
    get(name)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// Every fixture, generated from `seed`: `(path under fixtures/, contents)`, in the order of
/// [`EMBEDDED`].
pub fn generate(seed: u64) -> Vec<(&'static str, String)> {
    let synthetic_account = format!("{seed:010}");
    let managed = |sdk: bool| {
        let all = data::managed_accounts(PRIMARY_ACCOUNT);
        if sdk {
            let list = |want: &str| -> Vec<Value> {
                all.iter()
                    .filter(|(_, _, s)| *s == want)
                    .map(|(id, tx, _)| json!({ "id": id, "txid": tx }))
                    .collect()
            };
            json!({
                "accountName": PRIMARY_ACCOUNT,
                "ManagedAccAddedList": list("ADD"),
                "managedAccProvisionedList": list("PROVISION"),
            })
        } else {
            let list: Vec<Value> = all
                .iter()
                .map(|(id, tx, _)| json!({ "id": id, "TxId": tx }))
                .collect();
            json!({ "accountName": PRIMARY_ACCOUNT, "managedAccList": list })
        }
    };
    let leads: Vec<Value> = (0..1000)
        .map(|i| data::lead(&synthetic_account, i))
        .collect();
    let oc_leads: Vec<Value> = (1..=20)
        .map(|i| data::oc_lead_synthetic(i + (seed as usize % 1000)))
        .collect();
    vec![
        ("m2m/account.document.json", pretty(&document_account())),
        (
            "m2m/account.sdk.json",
            pretty(&data::account_spelled(&synthetic_account, true)),
        ),
        ("m2m/leads.document.json", pretty(&document_leads())),
        (
            "m2m/leads.page.json",
            pretty(&json!({ "leads": leads, "hasMoreData": true })),
        ),
        (
            "m2m/states-and-services.document.json",
            pretty(&data::states_and_services_document()),
        ),
        (
            "m2m/states-and-services.sdk.json",
            pretty(&data::states_and_services_sdk(&synthetic_account)),
        ),
        (
            "subsc/managed-accounts.document.json",
            pretty(&managed(false)),
        ),
        ("subsc/managed-accounts.sdk.json", pretty(&managed(true))),
        (
            "oc/lead.document.json",
            pretty(&json!([data::oc_lead_document()])),
        ),
        ("oc/leads.page.json", pretty(&Value::Array(oc_leads))),
        (
            "errors/thingspace-envelope.json",
            pretty(
                &json!({ "errorCode": "INVALID_REQUEST", "errorMessage": "The account name is not valid." }),
            ),
        ),
        (
            "errors/oauth-invalid-client.json",
            pretty(
                &json!({ "error": "invalid_client", "error_description": "Client authentication failed" }),
            ),
        ),
        (
            "errors/entra-invalid-scope.json",
            pretty(&json!({
                "error": "invalid_scope",
                "error_description": "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
                "error_codes": [70011],
            })),
        ),
    ]
}

/// The account document's example, with its invalid `"sizeKb":,` repaired to an empty string.
fn document_account() -> Value {
    let plan = json!({"name": "", "code": "92876", "sizeKb": "", "carrierServicePlanCode": "", "extendedAttributes": ""});
    json!({
        "accountName": "Chintan_CPNStaticBulk",
        "accountNumber": "1234567890-77777",
        "organizationName": "ChintanCPNBulk",
        "isProvisioningAllowed": true,
        "carriers": ["Verizon Wireless"],
        "features": ["Static IP", "Dynamic IP", "Customer PN"],
        "ipPools": [
            {"poolName": "ACMESTATIC001", "poolType": "Static IP", "isDefaultPool": true},
            {"poolName": "ACMEDYNAMIC001", "poolType": "Dynamic IP", "isDefaultPool": false}
        ],
        "servicePlans": [plan.clone(), plan]
    })
}

/// The leads document's example.
fn document_leads() -> Value {
    json!({
        "leads": [
            { "leadId": "L-10001", "leadState": "Qualified", "address": {
                "addressLine1": "1600 Pennsylvania Avenue", "addressLine2": "", "city": "Washington",
                "state": "DC", "zip": "20500" } },
            { "leadId": "L-10003", "leadState": "Closed", "address": {
                "addressLine1": "2000 Las Vegas Blvd S", "addressLine2": "", "city": "Las Vegas City",
                "state": "Nevada", "zip": "89104-0001" } }
        ],
        "hasMoreData": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_fixtures_are_what_the_generator_makes() {
        let generated = generate(SEED);
        assert_eq!(generated.len(), EMBEDDED.len());
        for ((name, text), (committed_name, committed)) in generated.iter().zip(EMBEDDED) {
            assert_eq!(name, committed_name);
            assert!(
                text == committed,
                "{name} is stale: run `cargo xtask fixtures`"
            );
        }
    }

    #[test]
    fn generation_is_deterministic_and_depends_on_the_seed() {
        assert_eq!(generate(7), generate(7));
        assert_ne!(generate(7)[3], generate(8)[3]);
    }
}
