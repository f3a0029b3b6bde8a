//! Deterministic data sets.

use serde_json::{Value, json};

/// FNV-1a: a stable hash, so the same name always gives the same data.
pub(crate) fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The account `name` in the SDKs' spelling (`sdk_spelling`) or the document's.
pub(crate) fn account_spelled(name: &str, sdk_spelling: bool) -> Value {
    let h = hash(name);
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
        "isProvisioningAllowed": !h.is_multiple_of(3),
        "carriers": ["Verizon Wireless"],
        "features": ["Static IP", "Dynamic IP", "Customer PN"],
        "servicePlans": [plan(92_876, 5_242_880), plan(92_877 + h % 100, 1_048_576)],
    });
    v[if sdk_spelling { "iPPools" } else { "ipPools" }] = pools;
    v
}

/// Cursors are offsets in disguise, so a client cannot guess them by counting.
const CURSOR_BASE: u64 = 7_340_000_000;

/// The `next` value for the page starting at `offset`.
pub(crate) fn cursor_for(offset: usize) -> String {
    (CURSOR_BASE + offset as u64).to_string()
}

/// The offset a `next` value stands for, if the mock issued it.
pub(crate) fn offset_from_cursor(next: &str) -> Option<usize> {
    let n: u64 = next.trim().parse().ok()?;
    usize::try_from(n.checked_sub(CURSOR_BASE)?).ok()
}

const STREETS: &[&str] = &[
    "Pennsylvania Avenue",
    "Las Vegas Blvd S",
    "Main Street",
    "Market Street",
    "Broadway",
    "Elm Street",
    "Ocean Drive",
    "Peachtree Road",
    "Michigan Avenue",
    "Congress Avenue",
];
const CITIES: &[(&str, &str, u32)] = &[
    ("Washington", "DC", 20500),
    ("Las Vegas", "NV", 89104),
    ("Austin", "TX", 78701),
    ("Denver", "CO", 80202),
    ("Seattle", "WA", 98101),
    ("Boston", "MA", 2108),
    ("Atlanta", "GA", 30303),
    ("Chicago", "IL", 60601),
    ("Miami", "FL", 33139),
    ("Basking Ridge", "NJ", 7920),
];
const LEAD_STATES: &[&str] = &["Qualified", "Closed", "Qualified", "Open", "Qualified"];

/// Lead `index` of `account`: the same every time.
pub(crate) fn lead(account: &str, index: usize) -> Value {
    let h = hash(account) ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let (city, state, zip) = CITIES[(h % CITIES.len() as u64) as usize];
    let mut address = json!({
        "addressLine1": format!("{} {}", 100 + (h >> 8) % 9_000, STREETS[((h >> 20) % STREETS.len() as u64) as usize]),
        "addressLine2": if h.is_multiple_of(4) { format!("Suite {}", (h >> 30) % 900 + 100) } else { String::new() },
        "city": city,
        "state": state,
        "zip": format!("{zip:05}"),
    });
    if h.is_multiple_of(3) {
        address["zip4"] = json!(format!("{:04}", (h >> 12) % 10_000));
        address["country"] = json!("USA");
    }
    json!({
        "leadId": format!("L-{:05}-{:07}", hash(account) % 100_000, index + 1),
        "leadState": LEAD_STATES[((h >> 40) % LEAD_STATES.len() as u64) as usize],
        "address": address,
    })
}

/// The document's example of states and services (what the fixture holds).
pub(crate) fn states_and_services_document() -> Value {
    let rg = |code: &str| json!([{ "code": code, "ratingGroupMinValue": "10001", "ratingGroupMaxValue": "10008" }]);
    let plans2 = json!(["4523aef7250f67205fd5", "4d4090c0f2d48814c94d"]);
    let plans1 = json!(["4d4090c0f2d48814c94d"]);
    {
        json!({ "engagement": [{
            "engagementId": "1234",
            "chargingGroup": "Engagement1234",
            "services": [
                { "name": "Svc1", "description": "Usage Segmentation - Main Line", "states": [
                    { "name": "Svc1 Activate", "workflowSequenceNumber": 1, "servicePlans": plans2 },
                    { "name": "Svc1 No Telematics", "workflowSequenceNumber": 3, "servicePlans": plans2 },
                    { "name": "Svc1 Deactivate", "workflowSequenceNumber": 2, "servicePlans": plans2 },
                ]},
                { "name": "WIFI", "description": "Usage Segmentation - WiFi", "states": [
                    { "name": "WIFI Redirect", "workflowSequenceNumber": 2, "ratingGroups": rg("124"), "servicePlans": plans1 },
                    { "name": "WIFI Trial", "workflowSequenceNumber": 4, "ratingGroups": rg("126"), "servicePlans": plans1 },
                    { "name": "WIFI Goodwill", "workflowSequenceNumber": 6, "ratingGroups": rg("128"), "servicePlans": plans1 },
                    { "name": "WIFI Disable", "workflowSequenceNumber": 3, "ratingGroups": rg("125"), "servicePlans": plans1 },
                ]},
            ],
        }]})
    }
}

/// States and services in the generated SDKs' shape: float sequence numbers, no rating groups,
/// a service with no states.
pub(crate) fn states_and_services_sdk(account: &str) -> Value {
    let plans1 = json!(["4d4090c0f2d48814c94d"]);
    {
        json!({ "engagement": [{
            "engagementId": format!("{}", hash(account) % 10_000),
            "chargingGroup": null,
            "services": [
                { "name": "Fleet", "description": "Fleet telematics", "states": [
                    { "name": "Fleet Active", "workflowSequenceNumber": 1.0, "servicePlans": plans1 },
                    { "name": "Fleet Parked", "workflowSequenceNumber": 2.5 },
                ]},
                { "name": "Spare", "description": "A service with no states yet" },
            ],
        }]})
    }
}

/// The managed accounts of a primary account: `(id, transaction id, status)`.
pub(crate) fn managed_accounts(primary: &str) -> Vec<(String, String, &'static str)> {
    let h = hash(primary);
    (0..5u64)
        .map(|i| {
            let x = h.wrapping_add(i.wrapping_mul(0x9e37_79b9));
            (
                format!("{:010}-{:05}", x % 10_000_000_000, i + 1),
                guid(x),
                if i % 5 < 3 { "ADD" } else { "PROVISION" },
            )
        })
        .collect()
}

/// A GUID made from `x`, the same every time.
pub(crate) fn guid(x: u64) -> String {
    let a = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let b = a.rotate_left(29) ^ 0x5851_f42d_4c95_7f2d;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 52) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

const COMPANIES: &[&str] = &[
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Tailspin",
    "Woodgrove",
    "Litware",
];
const OC_STATUSES: &[&str] = &["Active", "Active", "Suspended", "Removed"];

/// The document's Operator Connect lead (what the fixture holds, in an array).
pub(crate) fn oc_lead_document() -> Value {
    {
        json!({
            "civicAddresses": null, "comments": null, "umpCustomerGuid": null, "isNotActive": null,
            "ovocChannelId": null, "isDirectLead": true, "id": "da68eafc-d3c6-4d3b-9a10-c48b26c6086b",
            "tenantId": "f94238e5-4f2c-4e1b-8125-2d27122ca75f", "tenantOrigin": null, "operatorId": null,
            "status": "Active", "consentedOn": "2024-04-03T13:32:12.8286742Z",
            "lastModifiedOn": "2024-04-03T13:32:12.82872Z", "consentedCountries": [],
            "contactDetails": { "fullName": null, "email": null, "phoneNumber": null,
                "companyName": "SIPTest", "companySize": null, "contacts": null },
        })
    }
}

/// A synthetic Operator Connect lead.
pub(crate) fn oc_lead_synthetic(index: usize) -> Value {
    let x = (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x0c0f_fee0;
    let company = COMPANIES[index % COMPANIES.len()];
    let tenant = guid(x);
    json!({
        "civicAddresses": [{
            "id": guid(x ^ 1), "country": "US", "houseNumber": format!("{}", 100 + x % 900),
            "houseNumberSuffix": null, "preDirectional": null, "streetName": "Main", "streetSuffix": "St",
            "postDirectional": null, "stateOrProvince": "TX", "countyOrDistrict": "Travis",
            "cityOrTown": "Austin", "cityOrTownAlias": null, "postalOrZipCode": "78701",
            "description": "Headquarters", "companyName": format!("{company} {index}"), "companyId": null,
            "defaultLocationId": guid(x ^ 2), "validationStatus": "Validated", "tenantId": tenant,
            "partnerId": null,
            "locations": [{ "id": guid(x ^ 2), "civicAddressId": guid(x ^ 1), "description": "Floor 1",
                "additionalInfo": null, "isDefault": true, "elin": null }],
        }],
        "comments": if index.is_multiple_of(3) { json!(["Onboarding scheduled"]) } else { Value::Null },
        "umpCustomerGuid": if index.is_multiple_of(2) { json!(guid(x ^ 3)) } else { Value::Null },
        "isNotActive": index.is_multiple_of(7),
        "ovocChannelId": null,
        "isDirectLead": index.is_multiple_of(4),
        "id": guid(x ^ 4),
        "tenantId": tenant,
        "tenantOrigin": "Office365",
        "operatorId": guid(x ^ 5),
        "status": OC_STATUSES[index % OC_STATUSES.len()],
        "consentedOn": format!("2024-{:02}-{:02}T10:{:02}:00.1234567Z", 1 + index % 12, 1 + index % 28, index % 60),
        "lastModifiedOn": format!("2024-{:02}-{:02}T11:00:00Z", 1 + index % 12, 1 + index % 28),
        "consentedCountries": ["US", "CA"],
        "contactDetails": {
            "fullName": format!("Admin {index}"), "email": format!("admin{index}@{}.example", company.to_lowercase()),
            "phoneNumber": format!("+1555{:07}", x % 10_000_000), "companyName": format!("{company} {index}"),
            "companySize": "L250_U999",
            "contacts": [{ "fullName": format!("Ops {index}"), "email": null, "phoneNumber": null }],
        },
    })
}
