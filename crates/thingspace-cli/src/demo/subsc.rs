//! The subsc steps: managed accounts, filtered by status, on the M2M client's credentials; then
//! managed billing as two UWS users (add as the primary's, provision and cancel as the managed
//! account's own).

use thingspace::{
    mock::Route,
    subsc::{ManagedStatus, ServiceName, Subsc, Transaction},
};

use super::{
    Demo,
    checks::check,
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

/// The primary account of the managed-billing steps.
const PRIMARY: &str = "2024009649-00001";
/// The managed account with a UWS user of its own.
pub(super) const MANAGED: &str = "1223334444-00001";
/// Its user, configured as the profile `managed`.
pub(super) const MANAGED_USER: &str = "managed-user";
/// Its password.
pub(super) const MANAGED_PASSWORD: &str = "managed-demo-password";
/// The SKU the primary bought.
const SKU: &str = "TS-LOC-COARSE-CellID-Aggr";

/// The managed accounts of a primary account, unfiltered and by each status: the filters
/// split the whole, and no new token or login is needed.
pub(super) async fn managed_accounts(demo: &Demo) -> Result<(), CliError> {
    step(
        "subsc: managed accounts of a primary account, with the status filter no official SDK has",
    )?;
    let server = &demo.server;
    server.reset_counts();
    let mut counts = Vec::new();
    for status in [
        None,
        Some(ManagedStatus::Add),
        Some(ManagedStatus::Provision),
    ] {
        let list = demo
            .subsc
            .managed_accounts()
            .list("2024009649-00001", &ServiceName::Location, status)
            .await?;
        let shown: Vec<String> = list
            .managed_accounts
            .iter()
            .map(|a| {
                format!(
                    "{} ({})",
                    safe(&a.id),
                    a.state.map_or("state not given", |s| s.as_str())
                )
            })
            .collect();
        outln!(
            "status {:<9} {} accounts: {}",
            status.map_or("(any)", ManagedStatus::as_str),
            shown.len(),
            shown.join(", ")
        )?;
        if let Some(status) = status {
            let other = list
                .managed_accounts
                .iter()
                .find(|a| a.state.map(|s| s.as_str()) != Some(status.as_str()));
            check(other.is_none(), || {
                format!("the {} filter let through {other:?}", status.as_str())
            })?;
        }
        counts.push(shown.len());
    }
    let (tokens, logins) = (server.count(Route::Token), server.count(Route::Login));
    outln!(
        "the subsc requests reused the m2m token and session: new token requests {tokens}, new logins {logins}"
    )?;
    check(counts[0] > 0 && counts[0] == counts[1] + counts[2], || {
        format!(
            "managed accounts: {} in all, but {} ADD and {} PROVISION",
            counts[0], counts[1], counts[2]
        )
    })?;
    check((tokens, logins) == (0, 0), || {
        format!("subsc did not reuse the credentials: {tokens} token requests, {logins} logins")
    })
}

/// Managed billing: add as the primary account's user, provision and cancel as the managed
/// account's own user (a profile); the primary's session is refused for them.
pub(super) async fn add_provision_cancel(demo: &Demo) -> Result<(), CliError> {
    step(
        "subsc: add a managed account as the primary's user, provision and cancel it as its own user (--profile)",
    )?;
    let server = &demo.server;
    server.reset_counts();
    let api = demo.subsc.managed_accounts();
    let added = api
        .add(PRIMARY, &ServiceName::Location, SKU, &[MANAGED.to_owned()])
        .await?;
    outln!(
        "added {MANAGED} to {PRIMARY}: transaction {}, {}",
        safe(&added.txid),
        added
            .status_list
            .iter()
            .map(|s| safe(s.status.as_deref().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    let transaction = Transaction::new(MANAGED, PRIMARY, SKU, added.txid.as_str());
    let refused = api.provision(&transaction).await;
    let refusal = refused
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    outln!(
        "provision with the primary's session: refused ({})",
        safe(&refusal)
    )?;
    check(refusal.contains("does not manage"), || {
        format!("the primary's session provisioned the managed account: {refused:?}")
    })?;
    let as_managed = Subsc::new(demo.m2m.client().as_profile("managed")?);
    as_managed
        .managed_accounts()
        .provision(&transaction)
        .await?;
    let provisioned = api
        .list(
            PRIMARY,
            &ServiceName::Location,
            Some(ManagedStatus::Provision),
        )
        .await?;
    let listed = provisioned.managed_accounts.iter().any(|a| a.id == MANAGED);
    outln!("provisioned as {MANAGED_USER}; listed with status PROVISION: {listed}")?;
    check(listed, || format!("{MANAGED} is not listed as provisioned"))?;
    as_managed.managed_accounts().cancel(&transaction).await?;
    let after = api.list(PRIMARY, &ServiceName::Location, None).await?;
    let gone = after.managed_accounts.iter().all(|a| a.id != MANAGED);
    let (tokens, logins) = (server.count(Route::Token), server.count(Route::Login));
    outln!(
        "cancelled as {MANAGED_USER}; listed any more: {}; new token requests {tokens}, new logins {logins} (the managed user's session)",
        !gone
    )?;
    check(gone, || {
        format!("{MANAGED} is still listed after its cancel")
    })?;
    check((tokens, logins) == (0, 1), || {
        format!(
            "one bearer token serves both users and each has one session: {tokens} token requests, {logins} logins"
        )
    })
}
