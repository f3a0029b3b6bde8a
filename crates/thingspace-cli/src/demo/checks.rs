//! The demo's checks: a step that did not get what the SDK promises fails the demo with
//! [`CliError::Demo`] (and exits non-zero).

use futures_util::{Stream, StreamExt};
use thingspace::Error;

use crate::error::CliError;

/// A check of the demo: unless `ok`, the demo fails with `what` (and exits non-zero).
pub(super) fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), CliError> {
    if ok {
        Ok(())
    } else {
        Err(CliError::Demo(what()))
    }
}

/// The error `result` must be; `what` says what happened when it is not.
pub(super) fn expect_err<T>(result: Result<T, Error>, what: &str) -> Result<Error, CliError> {
    match result {
        Err(e) => Ok(e),
        Ok(_) => Err(CliError::Demo(what.to_owned())),
    }
}

/// The items of a listing up to its first error, and that error. Stops at a bound, so that a
/// listing that never ends fails the demo instead of hanging it.
pub(super) async fn drain<T>(
    mut items: impl Stream<Item = Result<T, Error>> + Unpin,
) -> Result<(Vec<T>, Option<Error>), CliError> {
    const BOUND: usize = 100_000;
    let mut got = Vec::new();
    while let Some(item) = items.next().await {
        match item {
            Ok(item) => got.push(item),
            Err(e) => return Ok((got, Some(e))),
        }
        check(got.len() <= BOUND, || {
            format!("a listing went on past {BOUND} items")
        })?;
    }
    Ok((got, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_that_does_not_hold_fails_the_demo() {
        assert!(check(true, || unreachable!()).is_ok());
        let failed = check(false, || "3 token requests".to_owned()).expect_err("fails");
        assert_eq!(failed.exit_code(), 1);
        assert_eq!(failed.to_string(), "demo check failed: 3 token requests");
        let accepted = expect_err(Ok(()), "a malformed id was accepted").expect_err("fails");
        assert_eq!(accepted.exit_code(), 1);
        let refused = Error::invalid_input("no");
        assert!(expect_err::<()>(Err(refused), "unused").is_ok());
    }

    #[tokio::test]
    async fn a_listing_is_drained_to_its_first_error() {
        let items =
            futures_util::stream::iter([Ok(1), Ok(2), Err(Error::invalid_input("broken")), Ok(3)]);
        let (got, failure) = drain(items).await.expect("drained");
        assert_eq!(got, [1, 2]);
        assert!(failure.is_some());
    }
}
