//! Steps on errors: a body that is not what the API promises, the service's own error code,
//! and input that must not reach the service as it is.

use thingspace::{
    ErrorKind,
    mock::{Fault, Route},
};

use super::{
    ACCOUNT, Demo,
    checks::{check, expect_err},
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

/// An HTML page and a malformed account, both answered with 200: decode errors, the first
/// with the page's start, the second with the JSON path of the wrong field.
pub(super) async fn an_unexpected_body_is_a_decode_error(demo: &Demo) -> Result<(), CliError> {
    step(
        "A body that is not what the API promises is a decode error, with the JSON path and a snippet",
    )?;
    let (server, m2m) = (&demo.server, &demo.m2m);
    server.inject(Route::Account, Fault::Html(200));
    let html = expect_err(
        m2m.accounts().get(ACCOUNT).await,
        "an HTML page answered with 200 was taken for an account",
    )?;
    outln!(
        "an HTML page: kind {:?}, snippet {}\n  {}",
        html.kind(),
        safe(format!("{:?}", html.body_snippet().unwrap_or_default())),
        safe(&html)
    )?;
    check(
        html.kind() == ErrorKind::Decode
            && html.body_snippet().is_some_and(|s| s.contains("<html")),
        || format!("an HTML page: a decode error with the page's start expected, not {html:?}"),
    )?;
    let body =
        r#"{"accountName":"0000123456","ipPools":[{"poolName":"P1","isDefaultPool":"yes"}]}"#;
    server.inject(Route::Account, Fault::Json(200, body.into()));
    let malformed = expect_err(
        m2m.accounts().get(ACCOUNT).await,
        "an account with \"isDefaultPool\": \"yes\" was accepted",
    )?;
    outln!(
        "a malformed account: kind {:?}, JSON path {}\n  {}",
        malformed.kind(),
        safe(format!("{:?}", malformed.json_path().unwrap_or_default())),
        safe(&malformed)
    )?;
    check(
        malformed.kind() == ErrorKind::Decode
            && malformed.json_path() == Some("ipPools[0].isDefaultPool"),
        || format!("a decode error at ipPools[0].isDefaultPool expected, not {malformed:?}"),
    )
}

/// A missing account: a 404 whose error carries the service's `errorCode`, not retryable.
pub(super) async fn service_errors_carry_their_code(demo: &Demo) -> Result<(), CliError> {
    step("Errors carry the service's errorCode and errorMessage")?;
    let e = expect_err(
        demo.m2m.accounts().get("missing-0001").await,
        "the missing account was found",
    )?;
    outln!(
        "error: {}\n  status={:?} code={} not_found={} retryable={}",
        safe(&e),
        e.status().map(|s| s.as_u16()),
        safe(format!("{:?}", e.api_code())),
        e.is_not_found(),
        e.is_retryable()
    )?;
    check(
        e.is_not_found() && e.api_code().is_some() && !e.is_retryable(),
        || format!("a 404 with its errorCode expected, not {e:?}"),
    )
}

/// Account names that are empty or would climb out of their path segment are refused before
/// sending; one with `?`, `#` and `%` is sent, encoded inside its one segment.
pub(super) async fn bad_input(demo: &Demo) -> Result<(), CliError> {
    step("Bad input: refused before sending, or sent encoded inside its one path segment")?;
    demo.server.reset_counts();
    // (name, whether the SDK refuses it before sending)
    for (name, refused) in [("", true), ("../../admin", true), ("a?c#d%e", false)] {
        match demo.m2m.accounts().get(name).await {
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                outln!("{name:?}: refused: {}", safe(&e))?;
                check(refused, || format!("{name:?} was refused: {e}"))?;
            }
            Err(e) => {
                outln!(
                    "{name:?}: sent, encoded as one segment; the service said: {}",
                    safe(&e)
                )?;
                check(!refused, || format!("{name:?} was sent: {e}"))?;
            }
            Ok(a) => {
                outln!(
                    "{name:?}: sent as one encoded segment; got {}",
                    safe(format!("{:?}", a.account_name))
                )?;
                check(!refused && a.account_name.as_deref() == Some(name), || {
                    format!("{name:?} reached the mock as {:?}", a.account_name)
                })?;
            }
        }
    }
    let requests = demo.server.count(Route::Account);
    outln!("requests that reached the mock: {requests}")?;
    check(requests == 1, || {
        format!("1 request should have reached the mock, not {requests}")
    })
}
