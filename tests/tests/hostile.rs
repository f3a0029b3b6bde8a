//! Hostile input from the network and from the user; credentials under concurrency.

use std::{net::Ipv4Addr, time::Duration};

use thingspace::{
    ApiRequest, Client, ErrorKind, RetryPolicy,
    m2m::M2m,
    mock::{Fault, MockConfig, MockServer, Route},
    oc::{OcConfig, OperatorConnect},
    subsc::{ServiceName, Subsc},
};
use thingspace_tests::{Harness, loader_for, raw_server::RawServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_while_bearer_and_session_expire() {
    let h = Harness::start_with(
        MockConfig::default()
            .token_ttl(Duration::from_secs(2))
            .session_ttl(Duration::from_secs(2)),
    )
    .await
    .expect("harness");
    let mut handles = Vec::new();
    for wave in 0..2u32 {
        for i in 0..500u32 {
            let m2m = h.m2m.clone();
            handles.push(tokio::spawn(async move {
                m2m.accounts().get(&format!("{wave}{i:09}")).await
            }));
        }
        if wave == 0 {
            // Half the requests are in flight or done; then both credentials expire.
            tokio::time::sleep(Duration::from_millis(2_200)).await;
        }
    }
    for handle in handles {
        handle.await.expect("join").expect("no request fails");
    }
    assert_eq!(h.server.count(Route::Account), 1_000);
    assert_eq!(
        h.server.count(Route::Token),
        2,
        "one token per expiry, not one per request"
    );
    assert_eq!(
        h.server.count(Route::Login),
        2,
        "one login per expiry, not one per request"
    );
}

#[tokio::test]
async fn a_location_naming_another_host_is_never_followed() {
    let elsewhere = MockServer::start_on(Ipv4Addr::new(127, 0, 0, 2), MockConfig::default())
        .await
        .expect("second server on 127.0.0.2");
    let h = Harness::start_with(
        MockConfig::default()
            .leads_page_size(100)
            .location_origin(elsewhere.url()),
    )
    .await
    .expect("harness");
    h.server.set_lead_count("0000123456", 350);
    let leads = h
        .m2m
        .leads()
        .all("0000123456")
        .await
        .expect("all pages from the configured host");
    assert_eq!(leads.len(), 350);
    assert_eq!(h.server.count(Route::Leads), 4);
    assert_eq!(
        elsewhere.total_requests(),
        0,
        "no request, so no credential, went to the Location's host"
    );
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_without_reading_it_all() {
    let server = MockServer::start().await.expect("mock");
    let config = loader_for(&server)
        .set("max_body_bytes", "65536")
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    let m2m = M2m::new(Client::thingspace(&config).expect("client"));
    let huge = format!(
        r#"{{"accountName":"x","features":["{}"]}}"#,
        "a".repeat(200_000)
    );
    server.inject(Route::Account, Fault::Json(200, huge));
    let e = m2m
        .accounts()
        .get("0000123456")
        .await
        .expect_err("too large");
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{e}");
    assert!(e.to_string().contains("65536"));
    m2m.accounts()
        .get("0000123456")
        .await
        .expect("normal bodies still pass");

    // Operator Connect inherits the cap (its pages can be far larger: up to 20,000 leads).
    let oc = OperatorConnect::from_config(
        &OcConfig::load(
            &loader_for(&server)
                .set("max_body_bytes", "8192")
                .load()
                .expect("load"),
        )
        .expect("oc"),
    )
    .expect("oc client");
    let small = oc.leads().all(2).await.map(|l| l.len());
    assert_eq!(small.ok(), Some(25), "pages of two leads pass");
    let big = oc.leads().all(100).await.map(|l| l.len());
    assert_eq!(
        big.map_err(|e| e.kind()),
        Err(ErrorKind::BodyTooLarge),
        "25 leads in a page are too large"
    );

    // Servers that send more than the cap, or announce it, and then say nothing more: the
    // error comes from what was read, at once, not from a timeout waiting for the rest (the
    // timeout is long, and the error's kind tells which came first).
    let chunked = {
        let mut answer = String::from(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        for _ in 0..20 {
            answer.push_str(&format!("2000\r\n{}\r\n", "a".repeat(0x2000)));
        }
        answer
    };
    let announced = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10737418240\r\n\r\n{\"a\":".to_owned();
    for (what, answer) in [
        ("160 KiB in chunks, no length", chunked),
        ("a length of 10 GiB", announced),
    ] {
        let server = answer_then_stall(answer).await;
        let client = raw_client(&server, 1, Duration::from_secs(60));
        let e = client
            .send(&ApiRequest::get("test.body", "things"))
            .await
            .expect_err(what);
        assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{what}: {e}");
        assert!(e.to_string().contains("65536"), "{what}: {e}");
        assert_eq!(server.connections(), 1, "{what}");
    }
}

/// A server answering with `answer` and then holding the connection open, silent, until the
/// client hangs up.
async fn answer_then_stall(answer: String) -> RawServer {
    RawServer::start(move |mut socket| {
        let answer = answer.clone();
        async move {
            if socket.write_all(answer.as_bytes()).await.is_ok() {
                let _ = socket.read(&mut [0u8; 1]).await;
            }
        }
    })
    .await
    .expect("raw server")
}

/// A client without credentials on `server`, making `attempts` attempts (fast retries) of at
/// most `timeout` each, and reading bodies of at most 65,536 bytes.
fn raw_client(server: &RawServer, attempts: u32, timeout: Duration) -> Client {
    Client::builder(server.url())
        .retry(
            RetryPolicy::default()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .timeout(timeout)
        .max_body_bytes(65_536)
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_response_head_too_large_is_refused_once_not_retried() {
    let server = RawServer::start(|mut socket| async move {
        let mut head = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..10_000 {
            head.push_str(&format!("x-header-{i}: {i}\r\n"));
        }
        head.push_str("content-length: 2\r\n\r\n{}");
        // The client may hang up before it is all written.
        let _ = socket.write_all(head.as_bytes()).await;
        let _ = socket.shutdown().await;
    })
    .await
    .expect("raw server");
    let client = raw_client(&server, 3, Duration::from_secs(30));
    let e = client
        .send(&ApiRequest::get("test.head", "things"))
        .await
        .expect_err("head too large");
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{e}");
    assert!(e.to_string().contains("head"), "{e}");
    assert!(!e.is_retryable(), "{e}");
    assert_eq!(server.connections(), 1, "never retried");
}

#[tokio::test]
async fn hostile_account_names_are_refused_or_reach_exactly_the_resource_named() {
    let h = Harness::start().await.expect("harness");
    let server = &h.server;
    let subsc = Subsc::new(h.m2m.client().clone());
    let refused = [
        "",
        "   ",
        ".",
        "..",
        "a\u{0}b",
        "tab\there",
        "new\nline",
        "a/b",
        "../admin",
        "a/../../b",
        "a\\b",
        " 0000123456",
        &"9".repeat(300),
    ];
    for name in refused {
        assert_eq!(
            h.m2m.accounts().get(name).await.expect_err(name).kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            h.m2m
                .states_and_services()
                .get(name)
                .await
                .expect_err(name)
                .kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            h.m2m
                .leads()
                .list(name)
                .collect_all()
                .await
                .expect_err(name)
                .kind(),
            ErrorKind::InvalidInput
        );
        let e = subsc
            .managed_accounts()
            .list(name, &ServiceName::Location, None)
            .await
            .expect_err(name);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(
        server.total_requests(),
        0,
        "nothing was sent for a refused name"
    );

    for name in [
        "x?y=1",
        "#frag",
        "100%",
        "..admin",
        "a..b",
        "a b",
        "zürich",
        "名前",
        "%2e%2e",
        "0000123456",
    ] {
        let account = h.m2m.accounts().get(name).await.expect(name);
        assert_eq!(
            account.account_name.as_deref(),
            Some(name),
            "the server saw exactly {name:?}"
        );
        let managed = subsc
            .managed_accounts()
            .list(name, &ServiceName::Location, None)
            .await
            .expect(name);
        assert_eq!(managed.account_name.as_deref(), Some(name));
    }
    assert_eq!(server.count(Route::Account), 10);
    assert_eq!(server.count(Route::ManagedAccounts), 10);
}

#[tokio::test]
async fn credentials_never_travel_over_plain_http_to_a_remote_host() {
    let server = MockServer::start().await.expect("mock");
    let config = loader_for(&server)
        .set("base_url", "http://thingspace.example.com/api")
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    assert_eq!(
        Client::thingspace(&config).expect_err("insecure").kind(),
        ErrorKind::Insecure
    );
    let config = loader_for(&server)
        .set("token_url", "http://login.example.com/token")
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    assert_eq!(
        Client::thingspace(&config).expect_err("insecure").kind(),
        ErrorKind::Insecure
    );
    let loaded = loader_for(&server)
        .set(
            "oc.token_url",
            "http://login.example.com/t/oauth2/v2.0/token",
        )
        .load()
        .expect("load");
    let oc = OperatorConnect::from_config(&OcConfig::load(&loaded).expect("oc")).expect("client");
    let e = oc
        .leads()
        .get("f94238e5-4f2c-4e1b-8125-2d27122ca75f")
        .await
        .expect_err("insecure token URL");
    assert_eq!(e.kind(), ErrorKind::Insecure);
    assert_eq!(server.total_requests(), 0);
}

#[tokio::test]
async fn a_redirect_is_an_error_and_is_never_followed() {
    let elsewhere = MockServer::start_on(Ipv4Addr::new(127, 0, 0, 2), MockConfig::default())
        .await
        .expect("second server on 127.0.0.2");
    let h = Harness::start().await.expect("harness");
    // The login first: following it would carry the password and the bearer elsewhere.
    for (route, code) in [
        (Route::Login, 307),
        (Route::Account, 308),
        (Route::Account, 302),
    ] {
        h.server.expire_sessions();
        h.server.inject(
            route,
            Fault::Redirect(
                code,
                format!("{}/api/m2m/v1/accounts/0000123456", elsewhere.url()),
            ),
        );
        let e = h
            .m2m
            .accounts()
            .get("0000123456")
            .await
            .expect_err("a redirect is not followed");
        assert_eq!(e.status().map(|s| s.as_u16()), Some(code), "{e}");
        assert!(!e.is_retryable(), "{e}");
    }
    assert_eq!(
        elsewhere.total_requests(),
        0,
        "no request, so no credential, went to the redirect's host"
    );
    // The client still works afterwards.
    h.m2m.accounts().get("0000123456").await.expect("normal");
}

#[tokio::test]
async fn a_transport_from_a_builder_that_follows_redirects_still_follows_none() {
    use thingspace::{ReqwestTransport, reqwest};
    let elsewhere = MockServer::start_on(Ipv4Addr::new(127, 0, 0, 2), MockConfig::default())
        .await
        .expect("second server on 127.0.0.2");
    let server = MockServer::start().await.expect("mock");
    let config = loader_for(&server)
        .load()
        .and_then(|l| l.thingspace())
        .expect("config");
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(10));
    let transport = ReqwestTransport::from_builder(builder).expect("transport");
    let m2m = M2m::new(
        Client::thingspace_with_transport(&config, std::sync::Arc::new(transport)).expect("client"),
    );
    for (route, code) in [(Route::Login, 307), (Route::Account, 302)] {
        server.expire_sessions();
        server.inject(
            route,
            Fault::Redirect(
                code,
                format!("{}/api/m2m/v1/accounts/0000123456", elsewhere.url()),
            ),
        );
        let e = m2m
            .accounts()
            .get("0000123456")
            .await
            .expect_err("a redirect is not followed");
        assert_eq!(e.status().map(|s| s.as_u16()), Some(code), "{e}");
    }
    assert_eq!(
        elsewhere.total_requests(),
        0,
        "nothing went to the redirect's host"
    );
}
