//! `GET /m2m/v1/accounts/{accountname}` end to end over HTTP.

use thingspace::{
    ErrorKind,
    m2m::ExtendedAttributes,
    mock::{DOCUMENT_ACCOUNT, Fault, Route},
};
use thingspace_tests::Harness;

#[tokio::test]
async fn gets_an_account_with_credentials_from_the_environment() {
    let h = Harness::start().await.expect("harness");
    let a = h
        .m2m
        .accounts()
        .get(DOCUMENT_ACCOUNT)
        .await
        .expect("account");
    assert_eq!(a.account_number.as_deref(), Some("1234567890-77777"));
    assert_eq!(a.ip_pools.len(), 2);
    assert_eq!(h.server.count(Route::Token), 1);
    assert_eq!(h.server.count(Route::Login), 1);
    assert_eq!(h.server.count(Route::Account), 1);
}

#[tokio::test]
async fn leading_zeros_and_both_spellings_survive() {
    let h = Harness::start().await.expect("harness");
    let mut list_seen = false;
    let mut text_seen = false;
    for i in 0..8 {
        let name = format!("00001234{i:02}");
        let a = h.m2m.accounts().get(&name).await.expect("account");
        assert_eq!(a.account_name.as_deref(), Some(name.as_str()));
        assert_eq!(a.ip_pools.len(), 2, "ipPools or iPPools for {name}");
        assert!(a.service_plans[0].size_kb_value().is_some());
        match &a.service_plans[0].extended_attributes {
            Some(ExtendedAttributes::List(_)) => list_seen = true,
            Some(ExtendedAttributes::Text(_)) => text_seen = true,
            _ => {}
        }
    }
    assert!(list_seen && text_seen, "the mock serves both spellings");
}

#[tokio::test]
async fn hostile_names_stay_one_segment() {
    let h = Harness::start().await.expect("harness");
    for name in ["x?y=1", "#frag", "100%", "..admin", "zürich", "a b"] {
        let a = h.m2m.accounts().get(name).await.expect(name);
        assert_eq!(
            a.account_name.as_deref(),
            Some(name),
            "the server saw exactly {name:?}"
        );
    }
}

#[tokio::test]
async fn empty_names_fail_before_any_request() {
    let h = Harness::start().await.expect("harness");
    for name in ["", "  ", "..", "a/b", "../admin", "a\\b", " 0000123456"] {
        let e = h.m2m.accounts().get(name).await.expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(h.server.count(Route::Token), 0);
    assert_eq!(h.server.count(Route::Account), 0);
}

#[tokio::test]
async fn the_error_envelope_reaches_the_caller() {
    let h = Harness::start().await.expect("harness");
    let e = h.m2m.accounts().get("missing-42").await.expect_err("404");
    assert!(e.is_not_found());
    assert_eq!(e.api_code(), Some("AccountNotFound"));
    assert!(
        e.to_string().contains("Account missing-42 was not found"),
        "{e}"
    );

    h.server.inject(
        Route::Account,
        Fault::Json(
            400,
            r#"{"errorCode":"INVALID_REQUEST","errorMessage":"bad"}"#.into(),
        ),
    );
    let e = h.m2m.accounts().get("0000123456").await.expect_err("400");
    assert_eq!(e.api_code(), Some("INVALID_REQUEST"));
    assert_eq!(e.api_message(), Some("bad"));
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn transient_failures_are_retried_within_the_attempt_limit() {
    let h = Harness::start().await.expect("harness");
    h.server.inject(Route::Account, Fault::Status(503));
    h.server
        .inject(Route::Account, Fault::RetryAfter(429, "0".into()));
    h.m2m
        .accounts()
        .get("0000123456")
        .await
        .expect("third attempt succeeds");
    assert_eq!(h.server.count(Route::Account), 3);

    h.server.reset_counts();
    h.server.inject_times(Route::Account, Fault::Status(502), 3);
    let e = h
        .m2m
        .accounts()
        .get("0000123456")
        .await
        .expect_err("gives up");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(h.server.count(Route::Account), 3);

    h.server.reset_counts();
    h.server.inject(Route::Account, Fault::Status(404));
    h.m2m.accounts().get("0000123456").await.expect_err("404");
    assert_eq!(h.server.count(Route::Account), 1, "a 404 is never retried");
}

#[tokio::test]
async fn html_and_truncated_bodies_are_typed_errors() {
    let h = Harness::start().await.expect("harness");
    h.server.inject(Route::Account, Fault::Html(400));
    let e = h.m2m.accounts().get("0000123456").await.expect_err("html");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
    assert!(
        e.body_snippet().is_some_and(|s| s.contains("<html>")),
        "{e:?}"
    );

    h.server.inject(Route::Account, Fault::Truncated);
    let e = h
        .m2m
        .accounts()
        .get("0000123456")
        .await
        .expect_err("truncated");
    assert!(e.is_decode(), "{e:?}");
    assert!(e.body_snippet().is_some());
}
