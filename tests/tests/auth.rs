//! Tokens and sessions: obtained once, shared, renewed on expiry and after a 401.

use std::time::Duration;

use thingspace::{
    Client, ErrorKind,
    m2m::M2m,
    mock::{Fault, MockConfig, Route, SessionRefusal},
};
use thingspace_tests::{CapturedLogs, Harness, loader_for};

/// The M2M family for `h`'s mock with a password the mock refuses.
fn with_wrong_password(h: &Harness) -> M2m {
    let config = loader_for(&h.server)
        .set("password", "wrong-password")
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    M2m::new(Client::thingspace(&config).expect("client"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_requests_cause_one_token_and_one_login() {
    let h = Harness::start().await.expect("harness");
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let m2m = h.m2m.clone();
            tokio::spawn(async move { m2m.accounts().get(&format!("{i:010}")).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("account");
    }
    assert_eq!(h.server.count(Route::Token), 1);
    assert_eq!(h.server.count(Route::Login), 1);
    assert_eq!(h.server.count(Route::Account), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_expires_mid_run_is_refreshed_once() {
    let h = Harness::start_with(MockConfig::default().token_ttl(Duration::from_secs(2)))
        .await
        .expect("harness");
    for round in 0..2 {
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let m2m = h.m2m.clone();
                tokio::spawn(async move { m2m.accounts().get(&format!("{round}{i:09}")).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("join").expect("account");
        }
        if round == 0 {
            tokio::time::sleep(Duration::from_millis(2100)).await;
        }
    }
    assert_eq!(
        h.server.count(Route::Token),
        2,
        "one token per lifetime, not one per request"
    );
}

#[tokio::test]
async fn a_401_leads_to_one_relogin_and_one_retry() {
    let h = Harness::start().await.expect("harness");
    h.m2m.accounts().get("0000000001").await.expect("first");
    h.server.expire_sessions();
    h.m2m
        .accounts()
        .get("0000000002")
        .await
        .expect("renewed transparently");
    assert_eq!(h.server.count(Route::Login), 2);
    assert_eq!(
        h.server.count(Route::Token),
        1,
        "the bearer token was still good"
    );
    assert_eq!(
        h.server.count(Route::Account),
        3,
        "one refused, one retried"
    );
}

#[tokio::test]
async fn a_bearer_expired_on_the_server_is_renewed_through_the_login() {
    let h = Harness::start().await.expect("harness");
    h.m2m.accounts().get("0000000001").await.expect("first");
    h.server.expire_tokens();
    h.server.expire_sessions();
    h.m2m
        .accounts()
        .get("0000000002")
        .await
        .expect("renewed transparently");
    assert_eq!(h.server.count(Route::Token), 2);
    assert_eq!(h.server.count(Route::Account), 3);
}

#[tokio::test]
async fn a_persistent_401_is_an_auth_error_after_one_retry() {
    let h = Harness::start().await.expect("harness");
    h.server
        .inject_times(Route::Account, Fault::Unauthorized, 2);
    let e = h.m2m.accounts().get("0000000001").await.expect_err("401");
    assert!(e.is_auth());
    assert_eq!(h.server.count(Route::Account), 2);
}

#[tokio::test]
async fn refused_credentials_fail_fast_and_name_the_credential() {
    let h = Harness::start().await.expect("harness");
    let config = loader_for(&h.server)
        .set("client_secret", "wrong-secret")
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    let m2m = M2m::new(Client::thingspace(&config).expect("client"));
    let e = m2m.accounts().get("0000000001").await.expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("mock-client-id"), "{e}");
    assert_eq!(
        e.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_client")
    );
    assert_eq!(h.server.count(Route::Token), 1, "a refusal is not retried");

    let m2m = with_wrong_password(&h);
    let e = m2m.accounts().get("0000000001").await.expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("mock-user"), "{e}");
    assert_eq!(h.server.count(Route::Account), 0);
}

#[tokio::test]
async fn transient_token_and_login_failures_are_retried() {
    let h = Harness::start().await.expect("harness");
    h.server.inject(Route::Token, Fault::Status(503));
    h.server.inject(Route::Login, Fault::Status(502));
    h.m2m.accounts().get("0000000001").await.expect("retried");
    assert_eq!(h.server.count(Route::Token), 2);
    assert_eq!(h.server.count(Route::Login), 2);
}

#[tokio::test]
async fn missing_credentials_are_a_config_error_naming_them() {
    let h = Harness::start().await.expect("harness");
    let config = thingspace::ConfigLoader::new()
        .without_default_file()
        .env_vars([("THINGSPACE_BASE_URL", h.server.base_url())])
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    let e = Client::thingspace(&config).expect_err("no credentials");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.to_string().contains("client_secret") && e.to_string().contains("password"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_tried_once_for_many_concurrent_callers() {
    let h = Harness::start().await.expect("harness");
    let m2m = with_wrong_password(&h);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let m2m = m2m.clone();
            tokio::spawn(async move { m2m.accounts().get(&format!("{i:010}")).await })
        })
        .collect();
    for t in tasks {
        let e = t.await.expect("join").expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    }
    // Callers that waited on the refused login share its answer: an account lockout policy
    // sees one failed login, not fifty.
    assert_eq!(h.server.count(Route::Login), 1);
    assert_eq!(h.server.count(Route::Token), 1);
    assert_eq!(h.server.count(Route::Account), 0);
}

#[tokio::test]
async fn an_unavailable_token_endpoint_is_retried_by_its_own_policy_only() {
    let h = Harness::start().await.expect("harness");
    h.server.inject_times(Route::Token, Fault::Status(503), 10);
    let e = h
        .m2m
        .accounts()
        .get("0000000001")
        .await
        .expect_err("no token");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503), "{e}");
    // Three attempts (the policy's), not three for each of the operation's three attempts.
    assert_eq!(h.server.count(Route::Token), 3);
}

#[tokio::test]
async fn a_rate_limited_token_endpoint_is_retried_and_is_not_a_refusal() {
    let h = Harness::start().await.expect("harness");
    h.server
        .inject_times(Route::Token, Fault::RetryAfter(429, "0".into()), 3);
    let e = h
        .m2m
        .accounts()
        .get("0000000001")
        .await
        .expect_err("rate limited");
    assert_eq!(e.kind(), ErrorKind::Api, "{e}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429), "{e}");
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("failed for"), "{e}");
    assert_eq!(h.server.count(Route::Token), 3, "retried by its own policy");
    // Not held as a refusal: the next call asks again, and succeeds.
    h.m2m.accounts().get("0000000001").await.expect("recovered");

    // A login rate-limited the same way.
    h.server.expire_sessions();
    h.server
        .inject_times(Route::Login, Fault::RetryAfter(429, "0".into()), 3);
    let e = h
        .m2m
        .accounts()
        .get("0000000001")
        .await
        .expect_err("rate limited");
    assert_eq!(e.kind(), ErrorKind::Api, "{e}");
    h.m2m.accounts().get("0000000001").await.expect("recovered");
}

#[tokio::test]
async fn an_empty_token_or_an_html_page_from_the_token_endpoint_says_so() {
    let h = Harness::start().await.expect("harness");
    h.server.inject(
        Route::Token,
        Fault::Json(
            200,
            r#"{"access_token":"","token_type":"bearer","expires_in":3600}"#.into(),
        ),
    );
    let e = h.m2m.accounts().get("0000000001").await.expect_err("empty");
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert!(e.to_string().contains("empty `access_token`"), "{e}");
    assert_eq!(
        h.server.count(Route::Account),
        0,
        "no request with `Bearer `"
    );

    h.server.inject(
        Route::Token,
        Fault::Json(200, "<html><body>Sign in</body></html>".into()),
    );
    let e = h.m2m.accounts().get("0000000001").await.expect_err("html");
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert!(e.to_string().contains("HTML"), "{e}");
}

/// The real login may leave out `expiresIn` (sessions then end after 20 minutes of
/// inactivity): the session is taken to last 20 minutes, reused meanwhile, and renewed once
/// when the service ends it sooner (its 401), however many requests were refused.
#[tokio::test]
async fn a_login_without_expires_in_counts_as_twenty_minutes_and_is_renewed_after_a_401() {
    let h = Harness::start_with(
        MockConfig::default()
            .send_session_expiry(false)
            .session_ttl(Duration::from_secs(1)),
    )
    .await
    .expect("harness");
    let get = |i: usize| {
        let m2m = h.m2m.clone();
        async move { m2m.accounts().get(&format!("{i:010}")).await }
    };

    for i in 0..5 {
        get(i).await.expect("account");
    }
    assert_eq!(
        h.server.count(Route::Login),
        1,
        "one session for every request"
    );
    assert_eq!(h.server.count(Route::Account), 5, "none refused");

    // The mock ends the session after 1 s without having said so: the client learns it from
    // the 401s, and logs in again once for all the requests refused at the same time.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // Logs of the renewal, captured on this thread. The interest cache is rebuilt last thing
    // before the requests: tests running on other threads (with no subscriber) can leave
    // callsites they reach cached as "never", which would hide the events from this one.
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    tracing::callsite::rebuild_interest_cache();
    let results = futures_util::future::join_all((0..20).map(get)).await;
    for r in results {
        r.expect("renewed transparently");
    }
    assert_eq!(h.server.count(Route::Login), 2, "one re-login");
    assert_eq!(
        h.server.count(Route::Token),
        1,
        "the bearer token was still good"
    );
    assert!(
        h.server.count(Route::Account) > 25,
        "some requests were refused with 401 and retried: {}",
        h.server.count(Route::Account)
    );
    for i in 0..3 {
        get(i).await.expect("account");
    }
    assert_eq!(h.server.count(Route::Login), 2, "the new session is reused");

    let text = logs.text();
    let opened: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("opened an M2M session"))
        .collect();
    assert_eq!(opened.len(), 1, "{text}");
    assert!(
        opened.iter().all(|l| l.contains("lifetime_secs=1200")),
        "the documented 20 minutes: {opened:?}"
    );
}

#[tokio::test]
async fn a_session_ended_by_the_server_mid_listing_costs_one_login_and_no_lead() {
    use futures_util::StreamExt;
    // Refused as documented (400 SessionToken.Expired), and logins say no `expiresIn`.
    let h = Harness::start_with(
        MockConfig::default()
            .send_session_expiry(false)
            .session_refusal(SessionRefusal::Documented)
            .leads_page_size(10),
    )
    .await
    .expect("harness");
    h.server.set_lead_count("0000123456", 45);
    let expected: Vec<String> = h
        .server
        .leads("0000123456")
        .iter()
        .map(|v| v["leadId"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut pages = h.m2m.leads().pages("0000123456");
    let mut ids = Vec::new();
    let mut n = 0;
    while let Some(page) = pages.next().await {
        let page = page.expect("every page, the session's end included");
        ids.extend(
            page.items
                .into_iter()
                .map(|l| l.lead_id.unwrap_or_default()),
        );
        n += 1;
        if n == 2 {
            // The server forgets every session: the next page is refused with 400.
            h.server.expire_sessions();
        }
    }
    assert_eq!(ids, expected, "every lead once, in order");
    assert_eq!(h.server.count(Route::Login), 2, "one more login");
    assert_eq!(
        h.server.count(Route::Token),
        1,
        "the bearer token was not refused"
    );
    assert_eq!(
        h.server.count(Route::Leads),
        6,
        "five pages and the one refused"
    );
}

#[tokio::test]
async fn a_slow_login_and_a_silent_api_end_within_the_operations_budget() {
    let h = Harness::start().await.expect("harness");
    // The login takes most of the 2 s budget; the API never answers in time.
    h.server
        .inject(Route::Login, Fault::Delay(Duration::from_millis(1500)));
    h.server
        .inject(Route::Account, Fault::Delay(Duration::from_secs(60)));
    let config = loader_for(&h.server)
        .set("retry.deadline_secs", "2")
        .set("timeout_secs", "30")
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    let m2m = M2m::new(Client::thingspace(&config).expect("client"));
    let started = std::time::Instant::now();
    let e = m2m
        .accounts()
        .get("0000123456")
        .await
        .expect_err("out of budget");
    let took = started.elapsed();
    assert!(e.is_timeout(), "{e}");
    assert!(e.to_string().contains("deadline_secs"), "{e}");
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    // Not 2 s for the login plus 2 s for the request: one budget for both (with room for a
    // slow machine, far below twice the budget).
    assert!(took < Duration::from_millis(3000), "{took:?}: {e}");
    assert_eq!(h.server.count(Route::Login), 1);
    assert_eq!(h.server.count(Route::Account), 1);
}

#[tokio::test]
async fn a_login_refused_by_the_service_is_never_sent_twice() {
    // A 401 without the gateway's body is the service's answer to the password: sending it
    // again could spend one of the five failures that lock the UWS user.
    let h = Harness::start().await.expect("harness");
    h.server.inject(Route::Login, Fault::Unauthorized);
    let e = h
        .m2m
        .accounts()
        .get("0000000001")
        .await
        .expect_err("refused");
    assert!(e.is_auth(), "{e}");
    assert_eq!(h.server.count(Route::Login), 1);
    assert_eq!(
        h.server.count(Route::Token),
        1,
        "the bearer token was not refused"
    );
    assert_eq!(h.server.count(Route::Account), 0);
}

#[tokio::test]
async fn ending_the_session_logs_out_once_and_the_next_request_logs_in_again() {
    let h = thingspace_tests::Harness::start().await.expect("harness");
    let client = h.m2m.client();
    assert_eq!(
        client.end_session().await.ok(),
        Some(false),
        "no session yet"
    );
    assert_eq!(
        h.server.count(thingspace::mock::Route::Logout),
        0,
        "nothing sent"
    );
    h.m2m
        .accounts()
        .get("0000123456")
        .await
        .expect("a first request");
    assert_eq!(client.end_session().await.ok(), Some(true));
    assert_eq!(client.end_session().await.ok(), Some(false), "ended once");
    assert_eq!(h.server.count(thingspace::mock::Route::Logout), 1);
    h.m2m
        .accounts()
        .get("0000123456")
        .await
        .expect("after the logout");
    assert_eq!(
        h.server.count(thingspace::mock::Route::Login),
        2,
        "a new session"
    );
}

#[tokio::test]
async fn a_refused_password_is_remembered_so_later_requests_never_try_it_again() {
    let h = Harness::start().await.expect("harness");
    let m2m = with_wrong_password(&h);
    for i in 0..6 {
        let e = m2m
            .accounts()
            .get(&format!("{i:010}"))
            .await
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        let text = e.to_string();
        assert!(text.contains("mock-user"), "names the user: {text}");
        assert!(!text.contains("wrong-password"), "{text}");
        assert!(
            text.contains("not sent again") && text.contains("lock"),
            "{text}"
        );
    }
    // Five refused logins in a row lock a UWS user: the password was tried once.
    assert_eq!(h.server.count(Route::Login), 1);
    assert_eq!(h.server.count(Route::Account), 0);
}
