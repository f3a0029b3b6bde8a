//! Operator Connect end to end: Entra auth, one tenant's lead, every lead over pages.

use std::time::Duration;

use thingspace::{
    ErrorKind,
    mock::{Fault, MockConfig, MockServer, OC_SCOPE, Route},
    oc::{ConsentStatus, OcConfig, OcLead, OperatorConnect},
};
use thingspace_tests::loader_for;

const DOCUMENT_TENANT: &str = "f94238e5-4f2c-4e1b-8125-2d27122ca75f";

async fn oc_with(config: MockConfig) -> (MockServer, OperatorConnect) {
    let server = MockServer::start_with(config).await.expect("mock");
    let oc = OperatorConnect::from_config(
        &OcConfig::load(&loader_for(&server).load().expect("load")).expect("oc"),
    )
    .expect("client");
    (server, oc)
}

fn tenants(leads: &[OcLead]) -> Vec<Option<String>> {
    leads.iter().map(|l| l.tenant_id.clone()).collect()
}

fn expected_tenants(server: &MockServer) -> Vec<Option<String>> {
    server
        .oc_leads()
        .iter()
        .map(|v| v["tenantId"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn one_tenant_unknown_tenant_and_malformed_tenant() {
    let (server, oc) = oc_with(MockConfig::default()).await;
    let leads = oc.leads().get(DOCUMENT_TENANT).await.expect("lead");
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].status, Some(ConsentStatus::Active));
    assert_eq!(leads[0].tenant_id.as_deref(), Some(DOCUMENT_TENANT));

    let none = oc
        .leads()
        .get("00000000-0000-4000-8000-000000000000")
        .await
        .expect("empty answer");
    assert!(none.is_empty());
    assert_eq!(server.count(Route::OcLeads), 2);

    let e = oc
        .leads()
        .get("f94238e5-4f2c-4e1b-8125-2d27122ca75f&PageSize=1")
        .await
        .expect_err("not a GUID");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        server.count(Route::OcLeads),
        2,
        "a malformed id never reaches the server"
    );
    assert_eq!(server.count(Route::EntraToken), 1);
    assert_eq!(
        server.count(Route::Token),
        0,
        "no ThingSpace credential is involved"
    );
}

#[tokio::test]
async fn every_lead_over_several_pages() {
    let (server, oc) = oc_with(MockConfig::default().oc_lead_count(45)).await;
    let all = oc.leads().all(20).await.expect("all");
    assert_eq!(tenants(&all), expected_tenants(&server));
    assert_eq!(
        server.count(Route::OcLeads),
        4,
        "20 + 20 + 5, then the empty page that ends it"
    );

    let (server40, oc40) = oc_with(MockConfig::default().oc_lead_count(40)).await;
    assert_eq!(oc40.leads().all(20).await.expect("all").len(), 40);
    assert_eq!(
        server40.count(Route::OcLeads),
        3,
        "a full last page is followed by an empty one"
    );
    for size in [0, 20_001] {
        let e = oc
            .leads()
            .list(size)
            .collect_all()
            .await
            .expect_err("out of range");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
}

#[tokio::test]
async fn a_service_with_a_lower_page_cap_loses_no_lead() {
    // Asked for 20 a page, it serves 7: a short page is not the end.
    let (server, oc) = oc_with(MockConfig::default().oc_lead_count(45).oc_max_page_size(7)).await;
    let all = oc.leads().all(20).await.expect("all");
    assert_eq!(tenants(&all), expected_tenants(&server));
}

#[tokio::test]
async fn a_service_ignoring_the_page_number_is_a_typed_error_not_a_loop() {
    let (server, oc) = oc_with(
        MockConfig::default()
            .oc_lead_count(45)
            .oc_ignore_page_number(true),
    )
    .await;
    let mut leads = oc.leads().list(20);
    let (got, err) = thingspace_tests::until_error(&mut leads).await;
    assert_eq!(err.kind(), ErrorKind::Pagination, "{err}");
    assert!(err.to_string().contains("same page again"), "{err}");
    assert_eq!(got.len(), 20, "the first page, once");
    assert_eq!(server.count(Route::OcLeads), 2);
}

#[tokio::test]
async fn a_failing_page_reports_where_to_resume() {
    let (server, oc) = oc_with(MockConfig::default().oc_lead_count(45)).await;
    let _ = oc.leads().get(DOCUMENT_TENANT).await.expect("token first");
    let mut pages = oc.leads().pages(20);
    use futures_util::StreamExt;
    let first = pages.next().await.expect("page").expect("ok");
    assert_eq!(first.items.len(), 20);
    server.inject_times(Route::OcLeads, Fault::Status(503), 3);
    let (_, err) = thingspace_tests::until_error(&mut pages).await;
    assert_eq!(err.resume_cursor(), Some("2"));
    let rest = oc.leads().pages_from(20, 2);
    let rest: Vec<_> = rest.collect::<Vec<_>>().await;
    let n: usize = rest.into_iter().map(|p| p.expect("page").items.len()).sum();
    assert_eq!(n, 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_entra_token_is_renewed_once_under_concurrency() {
    let (server, oc) = oc_with(MockConfig::default().oc_token_ttl(Duration::from_secs(2))).await;
    for round in 0..2 {
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let oc = oc.clone();
                tokio::spawn(async move { oc.leads().get(DOCUMENT_TENANT).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("join").expect("lead").len(), 1);
        }
        if round == 0 {
            tokio::time::sleep(Duration::from_millis(2100)).await;
        }
    }
    assert_eq!(server.count(Route::EntraToken), 2);

    server.expire_oc_tokens();
    oc.leads()
        .get(DOCUMENT_TENANT)
        .await
        .expect("renewed after a 401");
    assert_eq!(server.count(Route::EntraToken), 3);
}

#[tokio::test]
async fn a_wrong_secret_or_scope_is_refused_as_entra_does() {
    let server = MockServer::start().await.expect("mock");
    for (key, value, error) in [
        ("oc.client_secret", "wrong", "invalid_client"),
        ("oc.scope", "api://other/.default", "invalid_scope"),
    ] {
        let loaded = loader_for(&server).set(key, value).load().expect("load");
        let oc =
            OperatorConnect::from_config(&OcConfig::load(&loaded).expect("oc")).expect("client");
        let e = oc.leads().get(DOCUMENT_TENANT).await.expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert_eq!(e.oauth_error().map(|o| o.error.as_str()), Some(error));
        assert!(!e.to_string().contains("mock-oc-secret"));
        assert!(e.to_string().contains("Entra app"), "{e}");
    }
    assert_eq!(server.count(Route::OcLeads), 0);
    assert!(OC_SCOPE.starts_with("api://"));
}

#[tokio::test]
async fn missing_oc_settings_name_the_keys() {
    let loaded = thingspace::ConfigLoader::new()
        .without_default_file()
        .without_env()
        .load()
        .expect("load");
    let e =
        OperatorConnect::from_config(&OcConfig::load(&loaded).expect("oc")).expect_err("missing");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("oc.token_url"), "{e}");
}

#[tokio::test]
async fn check_online_is_sent_only_when_asked_for() {
    use std::sync::Arc;
    use thingspace::{ReqwestTransport, replay::RecordingTransport};
    let server = MockServer::start_with(MockConfig::default().oc_lead_count(3))
        .await
        .expect("mock");
    let cassette =
        std::env::temp_dir().join(format!("oc-check-online-{}.json", std::process::id()));
    let recorder = Arc::new(RecordingTransport::new(
        Arc::new(ReqwestTransport::new().expect("transport")),
        &cassette,
    ));
    let oc = OperatorConnect::from_config_with_transport(
        &OcConfig::load(&loader_for(&server).load().expect("load")).expect("oc"),
        recorder.clone(),
    )
    .expect("client");
    oc.leads().all(10).await.expect("plain");
    oc.leads()
        .check_online(true)
        .all(10)
        .await
        .expect("checked");
    let _ = std::fs::remove_file(&cassette);
    let lists: Vec<String> = recorder
        .cassette()
        .exchanges
        .into_iter()
        .map(|e| e.request.path_and_query)
        .filter(|p| p.contains("/api/v2/oc/lead"))
        .collect();
    // Each listing: its page, then the empty page that ends it.
    assert_eq!(lists.len(), 4, "{lists:?}");
    assert!(
        lists[..2].iter().all(|p| !p.contains("checkOnline")),
        "{lists:?}"
    );
    assert!(
        lists[2..].iter().all(|p| p.contains("checkOnline=true")),
        "{lists:?}"
    );
}

#[tokio::test]
async fn the_specific_lead_request_sends_the_documented_defaults_and_ignores_case() {
    use std::sync::Arc;
    use thingspace::{ApiRequest, ReqwestTransport, replay::RecordingTransport};
    let server = MockServer::start().await.expect("mock");
    let cassette =
        std::env::temp_dir().join(format!("oc-specific-lead-{}.json", std::process::id()));
    let recorder = Arc::new(RecordingTransport::new(
        Arc::new(ReqwestTransport::new().expect("transport")),
        &cassette,
    ));
    let oc = OperatorConnect::from_config_with_transport(
        &OcConfig::load(&loader_for(&server).load().expect("load")).expect("oc"),
        recorder.clone(),
    )
    .expect("client");

    // A GUID in capitals (which validate_tenant_id accepts) names the same tenant.
    let upper = DOCUMENT_TENANT.to_ascii_uppercase();
    let leads = oc.leads().get(&upper).await.expect("lead");
    assert_eq!(tenants(&leads), [Some(DOCUMENT_TENANT.to_owned())]);
    // Pages count from 0 here: page 1 of 100 is past the tenant's one lead.
    let past = oc
        .leads()
        .get_page(DOCUMENT_TENANT, 1, 100)
        .await
        .expect("page 1");
    assert!(past.is_empty(), "{past:?}");
    let _ = std::fs::remove_file(&cassette);

    let queries: Vec<Vec<(String, String)>> = recorder
        .cassette()
        .exchanges
        .into_iter()
        .map(|e| e.request.path_and_query)
        .filter(|p| p.contains("/api/v2/oc/lead"))
        .map(|p| {
            let url = thingspace::url::Url::parse(&format!("http://h{p}")).expect("url");
            url.query_pairs().into_owned().collect()
        })
        .collect();
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        queries,
        [
            vec![
                pair("msTenantID", &upper),
                pair("PageNumber", "0"),
                pair("PageSize", "100"),
            ],
            vec![
                pair("msTenantID", DOCUMENT_TENANT),
                pair("PageNumber", "1"),
                pair("PageSize", "100"),
            ],
        ],
        "the documented parameters and defaults"
    );

    // The mock checks those parameters as the service does: malformed ones are a 400
    // problem, read as the service's error.
    for (key, value) in [
        ("PageNumber", "-1"),
        ("PageNumber", "first"),
        ("PageSize", "0"),
        ("PageSize", "20001"),
        ("msTenantID", "not-a-guid"),
    ] {
        let mut request = ApiRequest::get("oc.test", "/api/v2/oc/lead");
        if key != "msTenantID" {
            request = request.query("msTenantID", DOCUMENT_TENANT);
        }
        let e = oc
            .client()
            .get_json::<serde_json::Value>(&request.query(key, value))
            .await
            .expect_err(&format!("{key}={value}"));
        assert_eq!(
            e.status().map(|s| s.as_u16()),
            Some(400),
            "{key}={value}: {e}"
        );
        assert_eq!(e.api_code(), Some("Bad Request"), "{key}={value}: {e}");
        let detail = e.api_message().unwrap_or_default();
        assert!(detail.contains(key), "{key}={value}: {detail}");
    }
}
