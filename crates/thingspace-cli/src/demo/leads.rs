//! Steps on leads: 2,500 leads over three pages, pages that fail or that the server breaks, and
//! the lead the workflow's activation is credited to.

use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use thingspace::{
    ErrorKind,
    m2m::Lead,
    mock::{Fault, Route},
};

use super::{
    ACCOUNT, Demo,
    checks::{check, drain},
    print::{json, safe, step},
};
use crate::{error::CliError, output::outln};

/// How many leads the workflow lists to choose one from.
const CANDIDATES: usize = 8;

/// The lead ids of `leads`, as the mock gives them.
fn mock_ids(leads: &[serde_json::Value]) -> Vec<String> {
    leads
        .iter()
        .map(|l| l["leadId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The lead ids of `leads`.
fn ids<'a>(leads: impl IntoIterator<Item = &'a Lead>) -> Vec<String> {
    leads
        .into_iter()
        .map(|l| l.lead_id.clone().unwrap_or_default())
        .collect()
}

/// 2,500 leads listed over three pages, each page's cursor followed, every lead once and in
/// order.
pub(super) async fn pages_are_followed(demo: &Demo) -> Result<(), CliError> {
    step("Leads: 2,500 leads over three pages, followed automatically, one page fetched ahead")?;
    let (server, m2m) = (&demo.server, &demo.m2m);
    server.set_lead_count(ACCOUNT, 2_500);
    let expected = mock_ids(&server.leads(ACCOUNT));
    server.reset_counts();
    let started = Instant::now();
    let mut pages = m2m.leads().pages(ACCOUNT);
    let mut listed = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page?;
        outln!(
            "page fetched with cursor {:<12} {:>5} leads, next cursor {:?}",
            page.cursor
                .map_or_else(|| "(first)".to_owned(), |c| c.to_string()),
            page.items.len(),
            page.next
        )?;
        listed.extend(ids(&page.items));
    }
    let requests = server.count(Route::Leads);
    outln!(
        "{} leads in {:?} over {requests} requests",
        listed.len(),
        started.elapsed(),
    )?;
    check(listed == expected, || {
        format!(
            "the listing gave {} leads, not the mock's {} in order",
            listed.len(),
            expected.len()
        )
    })?;
    check(requests == 3, || {
        format!("3 page requests expected, not {requests}")
    })?;
    let first = m2m.leads().list(ACCOUNT).next().await.transpose()?;
    if let Some(lead) = first {
        outln!("first lead, as the CLI prints it:")?;
        json(&lead)?;
    }
    Ok(())
}

/// A page that fails twice is retried; one that keeps failing ends the listing with the cursor
/// to resume from, and the resumed listing gives the rest, none lost or repeated.
pub(super) async fn failed_pages_are_retried_or_resumed(demo: &Demo) -> Result<(), CliError> {
    step(
        "Leads under faults: a page that fails twice with 503 is retried; one that keeps failing says where to resume",
    )?;
    let (server, m2m) = (&demo.server, &demo.m2m);
    let expected = mock_ids(&server.leads(ACCOUNT));
    server.inject_on_page(Route::Leads, 1, Fault::Status(503), 2);
    let all = m2m.leads().all(ACCOUNT).await?;
    outln!("{} leads despite two 503s on page 2", all.len())?;
    check(ids(&all) == expected, || {
        format!(
            "{} leads after two 503s, not the mock's {}",
            all.len(),
            expected.len()
        )
    })?;
    server.inject_on_page(Route::Leads, 2, Fault::Status(503), 3);
    let (got, failure) = drain(m2m.leads().list(ACCOUNT)).await?;
    let failure = failure.ok_or_else(|| {
        CliError::Demo("a page failing three times did not fail the listing".into())
    })?;
    outln!("after {} leads: {}", got.len(), safe(&failure))?;
    let cursor = failure
        .resume_cursor()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| CliError::Demo(format!("no cursor to resume from in: {failure}")))?;
    let rest = m2m.leads().list_from(ACCOUNT, cursor).collect_all().await?;
    outln!(
        "resumed from {cursor}: {} more leads, {} in all, none lost or repeated",
        rest.len(),
        got.len() + rest.len()
    )?;
    check(ids(got.iter().chain(&rest)) == expected, || {
        format!(
            "the listing and its resumption gave {} leads, not the mock's {} in order",
            got.len() + rest.len(),
            expected.len()
        )
    })
}

/// A server that repeats a cursor, or says more follow without a cursor: the listing ends
/// with a pagination error instead of looping, and offers no cursor to resume from.
pub(super) async fn a_broken_listing_ends_with_an_error(demo: &Demo) -> Result<(), CliError> {
    step("A listing the server breaks ends with a typed error instead of looping")?;
    let (server, m2m) = (&demo.server, &demo.m2m);
    server.reset_counts();
    server.inject_on_page(Route::Leads, 1, Fault::RepeatCursor, 1);
    let (got, failure) = drain(m2m.leads().list(ACCOUNT)).await?;
    let requests = server.count(Route::Leads);
    let failure = failure
        .ok_or_else(|| CliError::Demo("a repeated cursor did not fail the listing".into()))?;
    outln!(
        "a repeated cursor: {} leads over {requests} requests, then {:?}: {}",
        got.len(),
        failure.kind(),
        safe(&failure)
    )?;
    check(
        failure.kind() == ErrorKind::Pagination && requests == 2 && got.len() == 2_000,
        || {
            format!(
                "a repeated cursor: {requests} requests, {} leads, then {failure:?}",
                got.len()
            )
        },
    )?;
    server.reset_counts();
    server.inject_on_page(Route::Leads, 0, Fault::NoLocation, 1);
    let (got, failure) = drain(m2m.leads().list(ACCOUNT)).await?;
    let requests = server.count(Route::Leads);
    let failure = failure
        .ok_or_else(|| CliError::Demo("a 202 without Location did not fail the listing".into()))?;
    outln!(
        "a 202 without Location: {} leads over {requests} request, then {:?}: {}",
        got.len(),
        failure.kind(),
        safe(&failure)
    )?;
    check(
        failure.kind() == ErrorKind::Pagination && requests == 1 && got.len() == 1_000,
        || {
            format!(
                "a 202 without Location: {requests} requests, {} leads, then {failure:?}",
                got.len()
            )
        },
    )?;
    check(failure.resume_cursor().is_none(), || {
        format!("a broken listing offered a cursor to resume from: {failure}")
    })
}

/// The workflow's first step: the account's first leads, listed through the SDK, and the
/// first qualified one with a ZIP chosen to credit the activation to.
///
/// # Errors
/// The listing's, or [`CliError::Demo`] when none of them is qualified with a ZIP.
pub(super) async fn choose_one_to_credit(demo: &Demo) -> Result<Lead, CliError> {
    step("Choose the lead to credit: the account's first leads, listed through the SDK")?;
    let candidates: Vec<Lead> = demo
        .m2m
        .leads()
        .list(ACCOUNT)
        .take(CANDIDATES)
        .try_collect()
        .await?;
    let text = |v: &Option<String>| safe(v.as_deref().unwrap_or("-"));
    for lead in &candidates {
        outln!(
            "  {:<18} {:<10} {:<14} ZIP {}",
            text(&lead.lead_id),
            text(&lead.lead_state),
            text(&lead.address.city),
            text(&lead.address.zip)
        )?;
    }
    let has = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    let chosen = candidates
        .into_iter()
        .find(|l| {
            l.lead_state.as_deref() == Some("Qualified") && has(&l.lead_id) && has(&l.address.zip)
        })
        .ok_or_else(|| {
            CliError::Demo(format!(
                "none of the first {CANDIDATES} leads is qualified with a ZIP"
            ))
        })?;
    outln!(
        "chosen: {}, qualified, in {} (ZIP {})",
        text(&chosen.lead_id),
        text(&chosen.address.city),
        text(&chosen.address.zip)
    )?;
    Ok(chosen)
}
