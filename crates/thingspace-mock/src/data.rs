//! Deterministic data sets.

use serde_json::{Value, json};

use crate::DOCUMENT_ACCOUNT;

/// FNV-1a: a stable hash, so the same name always gives the same data.
pub(crate) fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The account `name`. Even hashes use the document's spellings (`ipPools`, `sizeKb` as text,
/// `extendedAttributes` as text), odd ones the generated SDKs' (`iPPools`, a number, a list),
/// so clients meet both.
pub(crate) fn account(name: &str) -> Value {
    if name == DOCUMENT_ACCOUNT {
        return document_account();
    }
    let h = hash(name);
    let sdk_spelling = h % 2 == 1;
    let plan = |code: u64, size: u64| {
        if sdk_spelling {
            json!({
                "name": format!("M2M {}MB", size / 1024), "code": code.to_string(), "sizeKb": size,
                "carrierServicePlanCode": format!("CSP{code}"),
                "extendedAttributes": [{"key": "tier", "value": "standard"}],
            })
        } else {
            json!({
                "name": format!("M2M {}MB", size / 1024), "code": code.to_string(), "sizeKb": size.to_string(),
                "carrierServicePlanCode": format!("CSP{code}"), "extendedAttributes": "",
            })
        }
    };
    let pools = json!([
        {"poolName": format!("POOL{:04}STATIC", h % 10_000), "poolType": "Static IP", "isDefaultPool": true},
        {"poolName": format!("POOL{:04}DYNAMIC", h % 10_000), "poolType": "Dynamic IP", "isDefaultPool": false},
    ]);
    let mut v = json!({
        "accountName": name,
        "accountNumber": format!("{:010}-{:05}", h % 10_000_000_000, (h >> 40) % 100_000),
        "organizationName": format!("Organization {}", h % 1000),
        "isProvisioningAllowed": h % 3 != 0,
        "carriers": ["Verizon Wireless"],
        "features": ["Static IP", "Dynamic IP", "Customer PN"],
        "servicePlans": [plan(92_876, 5_242_880), plan(92_877 + h % 100, 1_048_576)],
    });
    v[if sdk_spelling { "iPPools" } else { "ipPools" }] = pools;
    v
}

/// The document's example, with its invalid `"sizeKb":,` repaired to an empty string.
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
