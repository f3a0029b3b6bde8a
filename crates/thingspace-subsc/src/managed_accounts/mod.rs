//! Managed accounts: `GET /subsc/v1/managedaccounts/{accountName}/service/{serviceName}[/status/{status}]`,
//! and adding, provisioning and cancelling them ([`actions`]).

pub mod actions;

use std::fmt;

use serde::{Deserialize, Serialize};
use thingspace_core::de::{nonempty_text, opt_string_or_number, present_list};
use thingspace_core::{ApiRequest, Client, Result};

/// Operation name of [`ManagedAccountsApi::list`].
pub const LIST_MANAGED_ACCOUNTS: &str = "subsc.managed_accounts.list";

/// The name of a managed service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServiceName {
    /// `Location`: the Device Location Service.
    Location,
    /// Any other service, by its name.
    Other(String),
}

impl ServiceName {
    /// The name as sent in the path.
    pub fn as_str(&self) -> &str {
        match self {
            ServiceName::Location => "Location",
            ServiceName::Other(s) => s,
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ServiceName {
    fn from(s: &str) -> Self {
        if s == "Location" {
            ServiceName::Location
        } else {
            ServiceName::Other(s.to_owned())
        }
    }
}

/// The status filter of a managed-accounts request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManagedStatus {
    /// `ADD`: added but not activated, or cancelled.
    Add,
    /// `PROVISION`: added and activated.
    Provision,
}

impl ManagedStatus {
    /// The value sent in the path.
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedStatus::Add => "ADD",
            ManagedStatus::Provision => "PROVISION",
        }
    }

    fn state(self) -> ManagedAccountState {
        match self {
            ManagedStatus::Add => ManagedAccountState::Added,
            ManagedStatus::Provision => ManagedAccountState::Provisioned,
        }
    }
}

impl ManagedAccountState {
    /// The wire value: `ADD` or `PROVISION`.
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedAccountState::Added => "ADD",
            ManagedAccountState::Provisioned => "PROVISION",
        }
    }
}

impl std::str::FromStr for ManagedStatus {
    type Err = thingspace_core::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "ADD" => Ok(ManagedStatus::Add),
            "PROVISION" => Ok(ManagedStatus::Provision),
            _ => Err(thingspace_core::Error::invalid_input(format!(
                "status must be ADD or PROVISION, not `{s}`"
            ))),
        }
    }
}

/// The state of a managed account, when the response tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ManagedAccountState {
    /// Added but not activated, or cancelled (`ADD`).
    #[serde(rename = "ADD")]
    Added,
    /// Added and activated (`PROVISION`).
    #[serde(rename = "PROVISION")]
    Provisioned,
}

/// One managed account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManagedAccount {
    /// The managed account's name.
    pub id: String,
    /// The transaction id of the latest add or provision request (`TxId` or `txid` on the wire).
    #[serde(rename = "TxId", skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    /// Its state: known from the list it came in, or from the status filter; `None` when the
    /// response did not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ManagedAccountState>,
}

/// The managed accounts of a primary account, from whichever list spelling the service used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ManagedAccounts {
    /// The primary account.
    #[serde(rename = "accountName")]
    pub account_name: Option<String>,
    /// The managed accounts (`managedAccList` on output).
    #[serde(rename = "managedAccList")]
    pub managed_accounts: Vec<ManagedAccount>,
}

#[derive(Deserialize)]
struct WireItem {
    /// Required: an entry without a name is a decode error, never silently dropped.
    #[serde(deserialize_with = "nonempty_text")]
    id: String,
    #[serde(
        default,
        alias = "TxId",
        alias = "txId",
        alias = "TXID",
        deserialize_with = "opt_string_or_number"
    )]
    txid: Option<String>,
}

/// The body as sent, every spelling; it must hold at least one of the lists.
#[derive(Deserialize)]
struct RawWire {
    #[serde(
        default,
        rename = "accountName",
        deserialize_with = "opt_string_or_number"
    )]
    account_name: Option<String>,
    #[serde(
        default,
        rename = "managedAccList",
        alias = "ManagedAccList",
        deserialize_with = "present_list"
    )]
    list: Option<Vec<WireItem>>,
    #[serde(
        default,
        rename = "ManagedAccAddedList",
        alias = "managedAccAddedList",
        deserialize_with = "present_list"
    )]
    added: Option<Vec<WireItem>>,
    #[serde(
        default,
        rename = "managedAccProvisionedList",
        alias = "ManagedAccProvisionedList",
        deserialize_with = "present_list"
    )]
    provisioned: Option<Vec<WireItem>>,
}

#[derive(Deserialize)]
#[serde(try_from = "RawWire")]
struct Wire {
    account_name: Option<String>,
    list: Vec<WireItem>,
    added: Vec<WireItem>,
    provisioned: Vec<WireItem>,
}

impl TryFrom<RawWire> for Wire {
    type Error = &'static str;

    fn try_from(raw: RawWire) -> std::result::Result<Self, Self::Error> {
        if raw.list.is_none() && raw.added.is_none() && raw.provisioned.is_none() {
            // `{}` or another object is not "no managed accounts".
            return Err(
                "no list of managed accounts (managedAccList, ManagedAccAddedList or managedAccProvisionedList)",
            );
        }
        Ok(Wire {
            account_name: raw.account_name,
            list: raw.list.unwrap_or_default(),
            added: raw.added.unwrap_or_default(),
            provisioned: raw.provisioned.unwrap_or_default(),
        })
    }
}

impl Wire {
    fn into_model(self, filter: Option<ManagedStatus>) -> ManagedAccounts {
        let tag = |items: Vec<WireItem>, state: Option<ManagedAccountState>| {
            items.into_iter().map(move |i| ManagedAccount {
                id: i.id,
                tx_id: i.txid,
                state,
            })
        };
        let generic_state = filter.map(ManagedStatus::state);
        let managed_accounts = tag(self.list, generic_state)
            .chain(tag(self.added, Some(ManagedAccountState::Added)))
            .chain(tag(
                self.provisioned,
                Some(ManagedAccountState::Provisioned),
            ))
            .collect();
        ManagedAccounts {
            account_name: self.account_name,
            managed_accounts,
        }
    }
}

/// The managed-accounts resource. Get it with
/// [`Subsc::managed_accounts`](crate::Subsc::managed_accounts).
#[derive(Debug, Clone, Copy)]
pub struct ManagedAccountsApi<'a> {
    client: &'a Client,
}

impl<'a> ManagedAccountsApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The managed accounts of primary account `account` for `service`, optionally only those
    /// in `status` (without it, the `/status` segment is left out).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before any request
    /// for an empty account or service name; the service's error otherwise.
    pub async fn list(
        &self,
        account: &str,
        service: &ServiceName,
        status: Option<ManagedStatus>,
    ) -> Result<ManagedAccounts> {
        let response = self
            .client
            .send(&list_request(account, service, status))
            .await?;
        decode_list(&response, status)
    }

    /// Adds `accounts` as managed accounts of `primary` for `service`, under the SKU `sku`
    /// (the `type`). Run it as the primary account's UWS user. Sent once.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before sending for
    /// an empty field; [`ErrorKind::Api`](thingspace_core::ErrorKind::Api) when every account
    /// failed (with the reasons); [`ErrorKind::OutcomeUnknown`](thingspace_core::ErrorKind::OutcomeUnknown)
    /// when the answer was lost.
    pub async fn add(
        &self,
        primary: &str,
        service: &ServiceName,
        sku: &str,
        accounts: &[String],
    ) -> Result<actions::Added> {
        let request = actions::add_request(primary, service, sku, accounts)?;
        actions::decode_add(&self.client.send(&request).await?)
    }

    /// Provisions the managed account of `transaction`. Run it as the managed account's own
    /// UWS user ([`Client::as_profile`]). Sent once.
    ///
    /// # Errors
    /// As [`add`](Self::add); a `Fail` answer is [`ErrorKind::Api`](thingspace_core::ErrorKind::Api)
    /// with the service's reason.
    pub async fn provision(
        &self,
        transaction: &actions::Transaction,
    ) -> Result<actions::ManagedAction> {
        let request = actions::provision_request(transaction)?;
        actions::decode_action(
            &self.client.send(&request).await?,
            actions::PROVISION_MANAGED_ACCOUNT,
        )
    }

    /// Cancels the managed account of `transaction`. Run it as the managed account's own UWS
    /// user. Sent once.
    ///
    /// # Errors
    /// As [`provision`](Self::provision).
    pub async fn cancel(
        &self,
        transaction: &actions::Transaction,
    ) -> Result<actions::ManagedAction> {
        let request = actions::cancel_request(transaction)?;
        actions::decode_action(
            &self.client.send(&request).await?,
            actions::CANCEL_MANAGED_ACCOUNT,
        )
    }
}

/// The request of [`ManagedAccountsApi::list`].
pub fn list_request(
    account: &str,
    service: &ServiceName,
    status: Option<ManagedStatus>,
) -> ApiRequest {
    let base = match status {
        None => ApiRequest::get(
            LIST_MANAGED_ACCOUNTS,
            "/subsc/v1/managedaccounts/{accountName}/service/{serviceName}",
        ),
        Some(s) => ApiRequest::get(
            LIST_MANAGED_ACCOUNTS,
            "/subsc/v1/managedaccounts/{accountName}/service/{serviceName}/status/{status}",
        )
        .path_param("status", s.as_str()),
    };
    base.path_param("accountName", account)
        .path_param("serviceName", service.as_str())
}

/// Decodes the response of [`ManagedAccountsApi::list`], in any of its spellings, for a
/// request made with `status` (which says the state of accounts in the document's
/// `managedAccList`).
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for a body that is not a
/// managed-accounts response.
pub fn decode_list(
    response: &thingspace_core::Response,
    status: Option<ManagedStatus>,
) -> Result<ManagedAccounts> {
    Ok(response
        .json::<Wire>(LIST_MANAGED_ACCOUNTS)?
        .into_model(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str, filter: Option<ManagedStatus>) -> ManagedAccounts {
        serde_json::from_str::<Wire>(body)
            .expect("decode")
            .into_model(filter)
    }

    fn fixture(name: &str) -> &'static str {
        thingspace_mock::fixtures::get(name).expect("fixture")
    }

    #[test]
    fn document_spelling() {
        let m = decode(fixture("subsc/managed-accounts.document.json"), None);
        assert_eq!(m.account_name.as_deref(), Some("2024009649-00001"));
        assert_eq!(m.managed_accounts.len(), 5);
        assert!(m.managed_accounts.iter().all(|a| a.tx_id.is_some()));
        assert_eq!(
            m.managed_accounts[0].state, None,
            "the document's list does not say"
        );
        let m = decode(
            r#"{"managedAccList":[{"id":"1","TxId":"t"}]}"#,
            Some(ManagedStatus::Add),
        );
        assert_eq!(
            m.managed_accounts[0].state,
            Some(ManagedAccountState::Added)
        );
    }

    #[test]
    fn sdk_spellings() {
        let m = decode(fixture("subsc/managed-accounts.sdk.json"), None);
        let added = m
            .managed_accounts
            .iter()
            .filter(|a| a.state == Some(ManagedAccountState::Added))
            .count();
        let provisioned = m
            .managed_accounts
            .iter()
            .filter(|a| a.state == Some(ManagedAccountState::Provisioned))
            .count();
        assert_eq!((added, provisioned), (3, 2));
        assert!(m.managed_accounts.iter().all(|a| a.tx_id.is_some()), "txid");
        let m = decode(
            r#"{"accountName":"p","managedAccList":null,"extra":1}"#,
            None,
        );
        assert!(m.managed_accounts.is_empty());
    }

    #[test]
    fn nothing_is_dropped_and_nothing_else_passes_for_a_list() {
        let response = |body: &'static str| {
            thingspace_core::Response::new(
                thingspace_core::http::StatusCode::OK,
                Default::default(),
                body,
            )
        };
        // An entry without an id is an error, not one account fewer.
        for body in [
            r#"{"managedAccList":[{"id":"a","TxId":"1"},{"TxId":"2"}]}"#,
            r#"{"managedAccList":[{"id":null}]}"#,
            r#"{"managedAccList":[{"id":"","TxId":"1"}]}"#,
            r#"{"ManagedAccAddedList":{"id":"a"}}"#,
            "{}",
            r#"{"accountName":"2024009649-00001"}"#,
        ] {
            let e = decode_list(&response(body), None).expect_err(body);
            assert!(e.is_decode(), "{body}: {e}");
        }
        // A present but null or empty list is an answer: no managed accounts.
        for body in [
            r#"{"managedAccList":null}"#,
            r#"{"ManagedAccAddedList":[]}"#,
        ] {
            let m = decode_list(&response(body), None).expect(body);
            assert!(m.managed_accounts.is_empty());
        }
    }

    #[test]
    fn paths_with_and_without_status() {
        let base = thingspace_core::url::Url::parse("https://h/api").expect("url");
        let u = list_request("2024009649-00001", &ServiceName::Location, None)
            .url(&base)
            .expect("url");
        assert_eq!(
            u.path(),
            "/api/subsc/v1/managedaccounts/2024009649-00001/service/Location"
        );
        let u = list_request("0001", &"My Svc".into(), Some(ManagedStatus::Provision))
            .url(&base)
            .expect("url");
        assert_eq!(
            u.path(),
            "/api/subsc/v1/managedaccounts/0001/service/My%20Svc/status/PROVISION"
        );
        assert!(
            list_request("", &ServiceName::Location, None)
                .url(&base)
                .is_err()
        );
        assert!(
            "provision".parse::<ManagedStatus>().is_ok() && "x".parse::<ManagedStatus>().is_err()
        );
    }
}
