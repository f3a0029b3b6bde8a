//! The Operator Connect steps: leads by tenant and page by page, on an Entra ID token; a lead
//! turned into a customer.

use std::time::Duration;

use futures_util::StreamExt;
use thingspace::{
    ErrorKind,
    mock::Route,
    oc::{OcErrorExt, TaskWait, Timestamp},
};

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
    let mut pages = oc.leads().pages(10);
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

/// OC onboarding: a lead created (a second create refused with the service's messages), turned
/// into a customer through a task, waited for; the customer listed with its numbers, the lead
/// showing its `umpCustomerGuid`.
pub(super) async fn onboarding(demo: &Demo) -> Result<(), CliError> {
    step("Operator Connect: a lead becomes a customer (create, convert, wait for the task)")?;
    let (server, oc) = (&demo.server, &demo.oc);
    let tenant = "0c0ffee0-1234-4abc-8def-0123456789ab";
    oc.leads().create(tenant, "Demo Co").await?;
    outln!("lead created for tenant {tenant}, company Demo Co")?;
    let e = expect_err(
        oc.leads().create(tenant, "Demo Co").await,
        "a second lead for the same tenant was created",
    )?;
    let Some(exists) = e.lead_already_exists() else {
        return Err(CliError::Demo(format!("a duplicate was not typed: {e:?}")));
    };
    outln!("created again: refused, {}", safe(exists))?;
    check(exists.tenant_exists() && exists.company_exists(), || {
        format!("a duplicate was not typed with both messages: {e:?}")
    })?;
    let task = oc.leads().convert(tenant, "DemoCo", "Demo Company").await?;
    outln!("converting: task {}", safe(&task))?;
    let wait = TaskWait::default().with_initial_interval(Duration::from_millis(20));
    let output = oc.tasks().wait_with(task.as_str(), &wait).await?;
    let guid = output
        .ump_customer_guid
        .ok_or_else(|| CliError::Demo("the completed task has no umpCustomerGuid".into()))?;
    outln!("task completed: customer {}", safe(&guid))?;
    let customers = oc.customers().list().await?;
    let numbers = oc.numbers().list(tenant).await?;
    let lead = oc.leads().get(tenant).await?;
    outln!(
        "{} customers; the new one has {} numbers",
        customers.len(),
        numbers.len()
    )?;
    check(
        customers
            .iter()
            .any(|c| c.ump_customer_guid.as_deref() == Some(guid.as_str())),
        || format!("customer {guid} is not listed"),
    )?;
    check(
        lead.first()
            .is_some_and(|l| l.ump_customer_guid.as_deref() == Some(guid.as_str())),
        || format!("the lead does not show customer {guid}: {lead:?}"),
    )?;
    check(
        server.count(Route::OcLeadConvert) == 1 && !numbers.is_empty(),
        || "the conversion was not sent exactly once, or the customer has no numbers".into(),
    )
}
