//! The subsc step: managed accounts, filtered by status, on the M2M client's credentials.

use thingspace::{
    mock::Route,
    subsc::{ManagedStatus, ServiceName},
};

use super::{
    Demo,
    checks::check,
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

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
