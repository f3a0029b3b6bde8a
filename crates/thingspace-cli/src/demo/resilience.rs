//! Steps on what the SDK rides out: many first requests at once, transient failures, and a
//! session that expires on the server.

use std::time::{Duration, Instant};

use thingspace::{
    Client,
    m2m::M2m,
    mock::{Fault, Route},
};

use super::{ACCOUNT, Demo, checks::check, print::step};
use crate::{error::CliError, output::outln};

/// 50 concurrent first requests of a client with nothing cached: one token request and one
/// login between them.
pub(super) async fn first_requests_share_one_login(demo: &Demo) -> Result<(), CliError> {
    step("50 concurrent first requests of a fresh client share one token request and one login")?;
    let server = &demo.server;
    // A client of its own: nothing cached, so all 50 requests need a token and a session.
    let fresh = M2m::new(Client::thingspace(&demo.config)?);
    server.reset_counts();
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let m2m = fresh.clone();
            tokio::spawn(async move { m2m.accounts().get(&format!("{:010}", 4_200_000 + i)).await })
        })
        .collect();
    let (mut ok, mut first_failure) = (0, None);
    for t in tasks {
        match t.await {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => first_failure = first_failure.or(Some(e.to_string())),
            Err(e) => first_failure = first_failure.or(Some(e.to_string())),
        }
    }
    let (tokens, logins) = (server.count(Route::Token), server.count(Route::Login));
    outln!(
        "{ok}/50 succeeded in {:?}; token requests: {tokens}, logins: {logins}",
        started.elapsed(),
    )?;
    check(ok == 50, || {
        format!(
            "{} of 50 concurrent requests failed, the first with: {}",
            50 - ok,
            first_failure.unwrap_or_default()
        )
    })?;
    check((tokens, logins) == (1, 1), || {
        format!(
            "50 concurrent first requests made {tokens} token requests and {logins} logins, not 1 and 1"
        )
    })
}

/// A 503, then a 429 with `Retry-After: 1`: both retried, the second after the second it asks.
pub(super) async fn transient_failures_are_retried(demo: &Demo) -> Result<(), CliError> {
    step("Transient failures are retried: a 503, then a 429 with Retry-After: 1")?;
    let server = &demo.server;
    server.reset_counts();
    server.inject(Route::Account, Fault::Status(503));
    server.inject(Route::Account, Fault::RetryAfter(429, "1".into()));
    let started = Instant::now();
    demo.m2m.accounts().get(ACCOUNT).await?;
    let (attempts, took) = (server.count(Route::Account), started.elapsed());
    outln!("succeeded after {attempts} attempts in {took:?}")?;
    check(attempts == 3, || {
        format!("3 attempts expected, not {attempts}")
    })?;
    check(took >= Duration::from_millis(900), || {
        format!("Retry-After: 1 was not waited for: the retry came after {took:?}")
    })
}

/// A session the server forgot: the 401 is answered with one login and one retry.
pub(super) async fn an_expired_session_is_renewed(demo: &Demo) -> Result<(), CliError> {
    step("The session expires on the server: one re-login, one retry, no error")?;
    let server = &demo.server;
    server.reset_counts();
    server.expire_sessions();
    demo.m2m.accounts().get(ACCOUNT).await?;
    let (logins, requests) = (server.count(Route::Login), server.count(Route::Account));
    outln!("logins: {logins}, account requests: {requests} (the first was refused with 401)")?;
    check((logins, requests) == (1, 2), || {
        format!("one login and two requests expected, not {logins} and {requests}")
    })
}
