//! The Operator Connect step: leads by tenant and page by page, on an Entra ID token.

use futures_util::StreamExt;
use thingspace::{ErrorKind, mock::Route, oc::Timestamp};

use super::{
    Demo,
    checks::{check, expect_err},
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

/// OC leads: a tenant's, an unknown tenant's (none), a malformed tenant id (refused before
/// sending), then every lead page by page, all on one Entra ID token.
pub(super) async fn leads(demo: &Demo) -> Result<(), CliError> {
    step(
        "Operator Connect: its own base URL and an Entra ID token (client credentials with a scope)",
    )?;
    let (server, oc) = (&demo.server, &demo.oc);
    let tenant = "f94238e5-4f2c-4e1b-8125-2d27122ca75f";
    let found = oc.leads().get(tenant).await?;
    let lead = found
        .first()
        .ok_or_else(|| CliError::Demo(format!("no lead for tenant {tenant}")))?;
    outln!(
        "lead of tenant {tenant}: status {}, company {}, consented {:?}",
        safe(format!(
            "{:?}",
            lead.status.as_ref().map(ToString::to_string)
        )),
        safe(format!(
            "{:?}",
            lead.contact().and_then(|c| c.company_name.clone())
        )),
        lead.consented_on.as_ref().and_then(Timestamp::parsed)
    )?;
    let unknown = oc
        .leads()
        .get("00000000-0000-4000-8000-000000000000")
        .await?;
    outln!(
        "an unknown tenant: {} leads (an empty answer, not an error)",
        unknown.len()
    )?;
    check(unknown.is_empty(), || {
        format!("an unknown tenant has {} leads", unknown.len())
    })?;
    let sent = server.count(Route::OcLeads);
    let e = expect_err(
        oc.leads().get("not-a-guid").await,
        "a malformed tenant id was accepted",
    )?;
    outln!(
        "a malformed tenant id never leaves the process: {}",
        safe(&e)
    )?;
    check(
        e.kind() == ErrorKind::InvalidInput && server.count(Route::OcLeads) == sent,
        || format!("a malformed tenant id was sent, or refused with {e:?}"),
    )?;
    let mut pages = oc.leads().pages(10)?;
    let mut count = 0;
    while let Some(page) = pages.next().await {
        let page = page?;
        count += page.items.len();
        outln!(
            "OC page {}: {} leads",
            page.cursor.unwrap_or(1),
            page.items.len()
        )?;
    }
    let entra = server.count(Route::EntraToken);
    outln!("{count} OC leads; Entra token requests: {entra}")?;
    let served = server.oc_leads().len();
    check(count == served, || {
        format!("{count} OC leads listed, not the mock's {served}")
    })?;
    check(entra == 1, || {
        format!("one Entra token request expected, not {entra}")
    })
}
