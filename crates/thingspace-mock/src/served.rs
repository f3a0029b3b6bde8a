//! What the routes serve: the documents' own examples, from the committed fixtures, for the
//! accounts and leads the documents name; generated data (`data`) for every other one.

use serde_json::Value;

use crate::{
    DOCUMENT_ACCOUNT,
    data::{account_spelled, hash, oc_lead_synthetic, states_and_services_sdk},
};

/// The account `name`. Even hashes use the document's spellings (`ipPools`, `sizeKb` as text,
/// `extendedAttributes` as text), odd ones the generated SDKs' (`iPPools`, a number, a list),
/// so clients meet both.
pub(crate) fn account(name: &str) -> Value {
    if name == DOCUMENT_ACCOUNT {
        return crate::fixtures::json("m2m/account.document.json");
    }
    account_spelled(name, hash(name) % 2 == 1)
}

/// States and services of `account`: the document's example for even hashes; for odd ones
/// the generated SDKs' shape (float sequence numbers, no rating groups, a state with no plans).
pub(crate) fn states_and_services(account: &str) -> Value {
    if hash(account).is_multiple_of(2) {
        crate::fixtures::json("m2m/states-and-services.document.json")
    } else {
        states_and_services_sdk(account)
    }
}

/// Operator Connect lead `index`: the same every time. The first is the document's example.
pub(crate) fn oc_lead(index: usize) -> Value {
    if index == 0 {
        return crate::fixtures::json("oc/lead.document.json")
            .as_array()
            .and_then(|a| a.first().cloned())
            .unwrap_or_default();
    }
    oc_lead_synthetic(index)
}
