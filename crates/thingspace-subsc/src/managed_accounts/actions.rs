//! Adding, provisioning and cancelling managed accounts:
//! `POST /subsc/v1/managedaccounts/actions/{add,provision,cancel}`.
//!
//! `add` runs as the **primary** account's UWS user; `provision` and `cancel` as the **managed**
//! account's own user: give them a client of that user's profile
//! ([`Client::as_profile`](thingspace_core::Client::as_profile)). None of them is sent twice
//! by the SDK: a second `add` may add the accounts again under another transaction, a second
//! `provision` or `cancel` is answered `Fail` for an account already in that state, and which
//! of the two happened is not knowable from a lost answer. After an unknown outcome, list the
//! primary's managed accounts (by status) to see where each stands.

use serde::{Deserialize, Serialize};
use thingspace_core::de::opt_string_or_number;
use thingspace_core::{ApiRequest, Error, ErrorKind, Response, Result};

use super::ServiceName;

/// Operation name of [`ManagedAccountsApi::add`](super::ManagedAccountsApi::add).
pub const ADD_MANAGED_ACCOUNTS: &str = "subsc.managed_accounts.add";
/// Operation name of [`ManagedAccountsApi::provision`](super::ManagedAccountsApi::provision).
pub const PROVISION_MANAGED_ACCOUNT: &str = "subsc.managed_accounts.provision";
/// Operation name of [`ManagedAccountsApi::cancel`](super::ManagedAccountsApi::cancel).
pub const CANCEL_MANAGED_ACCOUNT: &str = "subsc.managed_accounts.cancel";

const HOW_TO_CHECK: &str = "list the primary account's managed accounts (thingspace \
     managed-accounts list <PRIMARY> --status ADD or PROVISION) to see where each stands; do not \
     send it again blind";

/// What `add` answered for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountStatus {
    /// The managed account.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    /// `Success` or `Fail`.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub status: Option<String>,
    /// Why it failed.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub reason: Option<String>,
}

impl AccountStatus {
    /// True when the service says `Success` (in any case).
    pub fn is_success(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("success"))
    }
}

/// The answer of `add`: the transaction that `provision` and `cancel` name, and each account's
/// status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Added {
    /// The transaction id (`txid` or `TxId` on the wire).
    pub txid: String,
    /// One status per account sent.
    pub status_list: Vec<AccountStatus>,
}

/// The answer of `provision` or `cancel`, when the service says `Success`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ManagedAction {
    /// The transaction id.
    #[serde(default, alias = "TxId", deserialize_with = "opt_string_or_number")]
    pub txid: Option<String>,
    /// The managed account.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub account_name: Option<String>,
    /// The primary account.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub paccount_name: Option<String>,
    /// The service.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub service_name: Option<String>,
    /// `Success`.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub status: Option<String>,
    /// The service's words, if any.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub reason: Option<String>,
}

/// A managed account's transaction: what `provision` and `cancel` name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transaction {
    /// The managed account.
    pub managed: String,
    /// Its primary account.
    pub primary: String,
    /// The managed service.
    pub service: ServiceName,
    /// The SKU the primary bought (the `type`), such as `TS-LOC-COARSE-CellID-Aggr`.
    pub sku: String,
    /// The transaction id `add` answered.
    pub txid: String,
}

impl Transaction {
    /// The transaction `txid` of `managed` under `primary`, for the `Location` service and `sku`.
    pub fn new(
        managed: impl Into<String>,
        primary: impl Into<String>,
        sku: impl Into<String>,
        txid: impl Into<String>,
    ) -> Self {
        Self {
            managed: managed.into(),
            primary: primary.into(),
            service: ServiceName::Location,
            sku: sku.into(),
            txid: txid.into(),
        }
    }

    /// For another service than `Location`.
    pub fn service(mut self, service: ServiceName) -> Self {
        self.service = service;
        self
    }
}

fn required(operation: &'static str, what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(format!("{what} is empty")).with_operation(operation));
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddBody<'a> {
    account_name: &'a str,
    service_name: &'a str,
    #[serde(rename = "type")]
    sku: &'a str,
    managed_acc_list: &'a [String],
}

/// The request of [`ManagedAccountsApi::add`](super::ManagedAccountsApi::add).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for an empty primary, SKU, or list of accounts, or an empty
/// account in it.
pub fn add_request(
    primary: &str,
    service: &ServiceName,
    sku: &str,
    accounts: &[String],
) -> Result<ApiRequest> {
    required(ADD_MANAGED_ACCOUNTS, "the primary account", primary)?;
    required(ADD_MANAGED_ACCOUNTS, "the SKU (type)", sku)?;
    if accounts.is_empty() || accounts.iter().any(|a| a.trim().is_empty()) {
        return Err(Error::invalid_input(
            "add needs at least one managed account, none of them empty",
        )
        .with_operation(ADD_MANAGED_ACCOUNTS));
    }
    Ok(ApiRequest::post(
        ADD_MANAGED_ACCOUNTS,
        "/subsc/v1/managedaccounts/actions/add",
    )
    .json(&AddBody {
        account_name: primary,
        service_name: service.as_str(),
        sku,
        managed_acc_list: accounts,
    })
    .how_to_check(HOW_TO_CHECK))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddWire {
    #[serde(default, alias = "TxId", deserialize_with = "opt_string_or_number")]
    txid: Option<String>,
    #[serde(default, alias = "StatusList")]
    status_list: Vec<AccountStatus>,
}

/// Decodes the answer of `add`.
///
/// # Errors
/// [`ErrorKind::Decode`] without a transaction id; [`ErrorKind::Api`] when every account
/// failed (with each one's reason); when only some failed the answer is returned, and
/// [`AccountStatus::is_success`] tells which.
pub fn decode_add(response: &Response) -> Result<Added> {
    let wire: AddWire = response.json(ADD_MANAGED_ACCOUNTS)?;
    let Some(txid) = wire.txid.filter(|t| !t.trim().is_empty()) else {
        return Err(response.not_the_answer(ADD_MANAGED_ACCOUNTS, "no txid"));
    };
    if !wire.status_list.is_empty() && wire.status_list.iter().all(|s| !s.is_success()) {
        let reasons: Vec<String> = wire
            .status_list
            .iter()
            .map(|s| {
                format!(
                    "{}: {}",
                    s.id.as_deref().unwrap_or("?"),
                    s.reason.as_deref().unwrap_or("no reason given")
                )
            })
            .collect();
        return Err(Error::new(
            ErrorKind::Api,
            format!("no account was added: {}", reasons.join("; ")),
        )
        .with_operation(ADD_MANAGED_ACCOUNTS));
    }
    Ok(Added {
        txid,
        status_list: wire.status_list,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionBody<'a> {
    account_name: &'a str,
    paccount_name: &'a str,
    service_name: &'a str,
    #[serde(rename = "type")]
    sku: &'a str,
    txid: &'a str,
}

fn action_request(
    operation: &'static str,
    template: &'static str,
    t: &Transaction,
) -> Result<ApiRequest> {
    for (what, value) in [
        ("the managed account", &t.managed),
        ("the primary account", &t.primary),
        ("the SKU (type)", &t.sku),
        ("the transaction id", &t.txid),
    ] {
        required(operation, what, value)?;
    }
    Ok(ApiRequest::post(operation, template)
        .json(&ActionBody {
            account_name: &t.managed,
            paccount_name: &t.primary,
            service_name: t.service.as_str(),
            sku: &t.sku,
            txid: &t.txid,
        })
        .how_to_check(HOW_TO_CHECK))
}

/// The request of [`ManagedAccountsApi::provision`](super::ManagedAccountsApi::provision).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for an empty field of the transaction.
pub fn provision_request(t: &Transaction) -> Result<ApiRequest> {
    action_request(
        PROVISION_MANAGED_ACCOUNT,
        "/subsc/v1/managedaccounts/actions/provision",
        t,
    )
}

/// The request of [`ManagedAccountsApi::cancel`](super::ManagedAccountsApi::cancel).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for an empty field of the transaction.
pub fn cancel_request(t: &Transaction) -> Result<ApiRequest> {
    action_request(
        CANCEL_MANAGED_ACCOUNT,
        "/subsc/v1/managedaccounts/actions/cancel",
        t,
    )
}

/// Decodes the answer of `provision` or `cancel` (`operation`): a `Fail` status is an error
/// with the service's reason, not a success.
///
/// # Errors
/// [`ErrorKind::Api`] for `Fail` (or any status but `Success`); [`ErrorKind::Decode`] for a
/// body that is not the answer.
pub fn decode_action(response: &Response, operation: &'static str) -> Result<ManagedAction> {
    let action: ManagedAction = response.json(operation)?;
    match action.status.as_deref().map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case("success") => Ok(action),
        Some(s) => Err(Error::new(
            ErrorKind::Api,
            format!(
                "the service answered {s}: {}",
                action.reason.as_deref().unwrap_or("no reason given")
            ),
        )
        .with_operation(operation)),
        None => Err(response.not_the_answer(operation, "no status")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::http::{HeaderMap, StatusCode};

    fn ok(body: &'static str) -> Response {
        Response::new(StatusCode::OK, HeaderMap::new(), body)
    }

    #[test]
    fn add_reads_both_spellings_and_fails_only_when_every_account_did() {
        let a = decode_add(&ok(
            r#"{"TxId":"t-1","statusList":[{"id":"1","status":"Success"},{"id":"2","status":"Fail","reason":"dup"}]}"#,
        ))
        .expect("added");
        assert_eq!(a.txid, "t-1");
        assert!(a.status_list[0].is_success() && !a.status_list[1].is_success());
        let e = decode_add(&ok(
            r#"{"txid":"t-2","statusList":[{"id":"2","status":"Fail","reason":"already managed"}]}"#,
        ))
        .expect_err("all failed");
        assert_eq!(e.kind(), ErrorKind::Api);
        assert!(e.to_string().contains("2: already managed"), "{e}");
        assert!(decode_add(&ok(r#"{"statusList":[]}"#)).is_err(), "no txid");
    }

    #[test]
    fn a_fail_status_in_a_200_is_an_error_with_the_reason() {
        let e = decode_action(
            &ok(r#"{"txid":"t","status":"Fail","reason":"Unknown transaction id"}"#),
            PROVISION_MANAGED_ACCOUNT,
        )
        .expect_err("fail");
        assert_eq!(e.kind(), ErrorKind::Api);
        assert!(e.to_string().contains("Unknown transaction id"), "{e}");
        let ok = decode_action(
            &ok(r#"{"TxId":"t","accountName":"m","status":"Success"}"#),
            CANCEL_MANAGED_ACCOUNT,
        )
        .expect("success");
        assert_eq!(ok.txid.as_deref(), Some("t"));
    }

    #[test]
    fn empty_fields_are_refused_before_sending() {
        assert!(add_request("", &ServiceName::Location, "SKU", &["1".into()]).is_err());
        assert!(add_request("p", &ServiceName::Location, "SKU", &[]).is_err());
        assert!(add_request("p", &ServiceName::Location, "SKU", &[" ".into()]).is_err());
        let t = Transaction::new("m", "p", "SKU", "");
        assert_eq!(
            provision_request(&t).err().map(|e| e.kind()),
            Some(ErrorKind::InvalidInput)
        );
    }
}
