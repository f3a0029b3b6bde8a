//! Leads: every page followed, exactly once, in order; typed errors instead of loops; resume.

use std::time::Duration;

use futures_util::StreamExt;
use thingspace::{
    ErrorKind,
    m2m::Lead,
    mock::{Fault, LocationForm, MockConfig, Route},
};
use thingspace_tests::{Harness, until_error};

const ACCOUNT: &str = "0000123456";

fn ids(leads: &[Lead]) -> Vec<String> {
    leads
        .iter()
        .map(|l| l.lead_id.clone().unwrap_or_default())
        .collect()
}

fn expected(h: &Harness, account: &str) -> Vec<String> {
    h.server
        .leads(account)
        .iter()
        .map(|v| v["leadId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn twenty_five_hundred_leads_arrive_once_and_in_order() {
    let h = Harness::start().await.expect("harness");
    h.server.set_lead_count(ACCOUNT, 2_500);
    let mut pages = h.m2m.leads().pages(ACCOUNT);
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("page");
        sizes.push(page.items.len());
        all.extend(page.items);
    }
    assert_eq!(sizes, vec![1000, 1000, 500]);
    assert_eq!(ids(&all), expected(&h, ACCOUNT));
    assert_eq!(h.server.count(Route::Leads), 3);
    let v = serde_json::to_value(&all[0]).expect("json");
    assert!(
        v["leadId"].is_string() && v["address"]["addressLine1"].is_string(),
        "{v}"
    );
}

#[tokio::test]
async fn empty_and_single_page_accounts() {
    let h = Harness::start().await.expect("harness");
    h.server.set_lead_count("empty", 0);
    assert!(h.m2m.leads().all("empty").await.expect("empty").is_empty());
    h.server.set_lead_count("one", 999);
    let leads = h.m2m.leads().all("one").await.expect("one page");
    assert_eq!(leads.len(), 999);
    assert_eq!(h.server.count(Route::Leads), 2);
}

#[tokio::test]
async fn absolute_and_relative_locations_are_followed() {
    for form in [LocationForm::Relative, LocationForm::Absolute] {
        let h = Harness::start_with(
            MockConfig::default()
                .leads_page_size(100)
                .location_form(form),
        )
        .await
        .expect("harness");
        h.server.set_lead_count(ACCOUNT, 350);
        let leads = h.m2m.leads().all(ACCOUNT).await.expect("all");
        assert_eq!(ids(&leads), expected(&h, ACCOUNT), "{form:?}");
        assert_eq!(h.server.count(Route::Leads), 4);
    }
}

#[tokio::test]
async fn a_202_without_location_or_next_ends_with_a_typed_error() {
    for fault in [Fault::NoLocation, Fault::LocationWithoutNext] {
        let h = Harness::start_with(MockConfig::default().leads_page_size(10))
            .await
            .expect("harness");
        h.server.set_lead_count(ACCOUNT, 100);
        h.server.inject_on_page(Route::Leads, 1, fault.clone(), 1);
        let mut s = h.m2m.leads().list(ACCOUNT);
        let (leads, err) = until_error(&mut s).await;
        assert_eq!(err.kind(), ErrorKind::Pagination, "{fault:?}: {err}");
        assert_eq!(err.operation(), Some("m2m.leads.list"), "{err}");
        assert!(s.next().await.is_none(), "nothing after the error");
        // The broken page's own leads are delivered, then the listing stops: resuming from its
        // cursor would repeat it, so the error offers none.
        assert_eq!(ids(&leads), expected(&h, ACCOUNT)[..20], "{fault:?}");
        assert_eq!(err.resume_cursor(), None, "{fault:?}");
        if fault == Fault::LocationWithoutNext {
            assert!(err.to_string().contains("no `next` value"), "{err}");
        }
        assert!(h.server.count(Route::Leads) <= 2, "never loops");
    }
}

#[tokio::test]
async fn a_202_page_is_never_taken_for_the_last_whatever_its_body_says() {
    // A 202 whose body says no more (or says nothing): the status means more, and stopping
    // there would lose the remaining leads without a word.
    for fault in [Fault::ContradictoryMoreFlag, Fault::NoMoreFlag] {
        let h = Harness::start_with(MockConfig::default().leads_page_size(10))
            .await
            .expect("harness");
        h.server.set_lead_count(ACCOUNT, 35);
        h.server.inject_on_page(Route::Leads, 1, fault.clone(), 1);
        let leads = h.m2m.leads().all(ACCOUNT).await.expect("all");
        assert_eq!(ids(&leads), expected(&h, ACCOUNT), "{fault:?}");
        assert_eq!(h.server.count(Route::Leads), 4, "{fault:?}");
    }
}

#[tokio::test]
async fn a_repeated_cursor_ends_with_a_typed_error() {
    let h = Harness::start_with(MockConfig::default().leads_page_size(10))
        .await
        .expect("harness");
    h.server.set_lead_count(ACCOUNT, 100);
    h.server
        .inject_on_page(Route::Leads, 2, Fault::RepeatCursor, 1);
    let mut s = h.m2m.leads().list(ACCOUNT);
    let (leads, err) = until_error(&mut s).await;
    let got = leads.len();
    assert_eq!(err.kind(), ErrorKind::Pagination);
    assert!(err.to_string().contains("repeated"), "{err}");
    assert_eq!(got, 30);
    assert_eq!(h.server.count(Route::Leads), 3);
}

#[tokio::test]
async fn a_page_failing_twice_is_retried_transparently() {
    let h = Harness::start().await.expect("harness");
    h.server.set_lead_count(ACCOUNT, 2_500);
    h.server
        .inject_on_page(Route::Leads, 1, Fault::Status(503), 2);
    let leads = h.m2m.leads().all(ACCOUNT).await.expect("retried");
    assert_eq!(ids(&leads), expected(&h, ACCOUNT));
    assert_eq!(h.server.count(Route::Leads), 5);
}

#[tokio::test]
async fn a_page_that_keeps_failing_resumes_with_no_loss_and_no_duplicates() {
    let h = Harness::start_with(MockConfig::default().leads_page_size(100))
        .await
        .expect("harness");
    h.server.set_lead_count(ACCOUNT, 1_000);
    h.server
        .inject_on_page(Route::Leads, 4, Fault::Status(503), 3);
    let mut s = h.m2m.leads().list(ACCOUNT);
    let (mut got, err) = until_error(&mut s).await;
    assert_eq!(got.len(), 400);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    let cursor: i64 = err.resume_cursor().expect("cursor").parse().expect("int64");
    let rest = h
        .m2m
        .leads()
        .list_from(ACCOUNT, cursor)
        .collect_all()
        .await
        .expect("rest");
    got.extend(rest);
    assert_eq!(ids(&got), expected(&h, ACCOUNT));
}

#[tokio::test]
async fn a_session_expiring_mid_listing_is_renewed_unnoticed() {
    let h = Harness::start_with(MockConfig::default().leads_page_size(100))
        .await
        .expect("harness");
    h.server.set_lead_count(ACCOUNT, 1_000);
    let mut s = h.m2m.leads().list(ACCOUNT);
    let mut got = Vec::new();
    while let Some(lead) = s.next().await {
        got.push(lead.expect("no error reaches the caller"));
        if got.len() == 250 {
            h.server.expire_sessions();
        }
    }
    assert_eq!(ids(&got), expected(&h, ACCOUNT));
    assert_eq!(h.server.count(Route::Login), 2);
}

#[tokio::test]
async fn the_next_page_is_fetched_while_the_caller_works() {
    let h = Harness::start_with(MockConfig::default().leads_page_size(100))
        .await
        .expect("harness");
    h.server.set_lead_count(ACCOUNT, 500);
    let mut pages = h.m2m.leads().pages(ACCOUNT);
    let _first = pages.next().await.expect("page").expect("ok");
    // The caller "works" on page 1; page 2 is requested meanwhile, page 3 is not.
    for _ in 0..100 {
        if h.server.count(Route::Leads) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(h.server.count(Route::Leads), 2, "exactly one page ahead");
}

#[tokio::test]
async fn invalid_account_names_fail_before_any_request() {
    let h = Harness::start().await.expect("harness");
    // The refusal is the listing's first item, and its last.
    let mut listing = h.m2m.leads().list(" ");
    let e = listing.next().await.expect("an item").expect_err("blank");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.operation(), Some("m2m.leads.list"));
    assert!(e.resume_cursor().is_none(), "nothing to resume");
    assert!(listing.next().await.is_none(), "then the end");
    let mut pages = h.m2m.leads().pages_from("", 42);
    let e = pages.next().await.expect("an item").expect_err("empty");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(pages.next().await.is_none());
    assert_eq!(h.server.count(Route::Leads), 0);
}

#[tokio::test]
async fn states_and_services_decode_both_shapes() {
    let h = Harness::start().await.expect("harness");
    let mut seen_rating_groups = false;
    let mut seen_float = false;
    for name in ["0000123456", "0000123457", "0000123458", "0000123459"] {
        let s = h.m2m.states_and_services().get(name).await.expect("states");
        for svc in s.engagement.iter().flat_map(|e| &e.services) {
            for st in &svc.states {
                seen_rating_groups |= !st.rating_groups.is_empty();
                seen_float |= st.sequence().is_some_and(|f| f.fract() != 0.0);
            }
        }
    }
    assert!(seen_rating_groups && seen_float);
    assert_eq!(h.server.count(Route::StatesAndServices), 4);
}

#[tokio::test]
async fn states_and_services_answer_under_either_path_spelling() {
    use thingspace::mock::StatesPaths;
    // Only the generated SDKs' `statesandservices`: found on the second try, then used first.
    let h = Harness::start_with(MockConfig::default().states_paths(StatesPaths::Sdk))
        .await
        .expect("harness");
    h.m2m.accounts().get("0000123456").await.expect("warm");
    let before = h.server.total_requests();
    h.m2m
        .states_and_services()
        .get("0000123456")
        .await
        .expect("the SDKs' spelling");
    assert_eq!(
        h.server.total_requests() - before,
        2,
        "404, then the other spelling"
    );
    let clone = h.m2m.clone();
    clone
        .states_and_services()
        .get("0000123457")
        .await
        .expect("again");
    assert_eq!(
        h.server.total_requests() - before,
        3,
        "the working spelling, at once"
    );

    // Only the document's: one request.
    let h = Harness::start_with(MockConfig::default().states_paths(StatesPaths::Document))
        .await
        .expect("harness");
    h.m2m.accounts().get("0000123456").await.expect("warm");
    let before = h.server.total_requests();
    h.m2m
        .states_and_services()
        .get("0000123456")
        .await
        .expect("the document's spelling");
    assert_eq!(h.server.total_requests() - before, 1);
}

#[tokio::test]
async fn a_missing_account_is_the_services_404_whichever_spelling_it_serves() {
    use thingspace::mock::StatesPaths;
    // When the spelling is not known yet, both are tried on a 404. The error must be the one
    // from the path the service serves (its `AccountNotFound`), not the gateway's 404 for the
    // path it does not serve, whichever of the two that is.
    for paths in [StatesPaths::Sdk, StatesPaths::Document, StatesPaths::Both] {
        let h = Harness::start_with(MockConfig::default().states_paths(paths))
            .await
            .expect("harness");
        h.m2m.accounts().get("0000123456").await.expect("warm");
        let before = h.server.total_requests();
        let e = h
            .m2m
            .states_and_services()
            .get("missing-0001")
            .await
            .expect_err("a missing account");
        assert!(e.is_not_found(), "{paths:?}: {e}");
        assert_eq!(e.api_code(), Some("AccountNotFound"), "{paths:?}: {e}");
        assert!(
            e.api_message().is_some_and(|m| m.contains("missing-0001")),
            "{paths:?}: {e}"
        );
        assert_eq!(
            h.server.total_requests() - before,
            2,
            "{paths:?}: both spellings tried"
        );
    }
}

#[tokio::test]
async fn a_server_that_ignores_the_cursor_is_caught_not_repeated() {
    // The second page comes back as the first, under a fresh cursor: its leads are not
    // delivered twice, and the listing ends with a typed error.
    let h = Harness::start_with(MockConfig::default().leads_page_size(10))
        .await
        .expect("harness");
    h.server.set_lead_count(ACCOUNT, 100);
    h.server
        .inject_on_page(Route::Leads, 1, Fault::IgnoreCursor, 1);
    let mut s = h.m2m.leads().list(ACCOUNT);
    let (leads, err) = until_error(&mut s).await;
    assert_eq!(
        ids(&leads),
        expected(&h, ACCOUNT)[..10],
        "the first page once"
    );
    assert_eq!(err.kind(), ErrorKind::Pagination, "{err}");
    assert!(err.to_string().contains("same page again"), "{err}");
    assert_eq!(err.resume_cursor(), None);
}

#[tokio::test]
async fn a_server_answering_the_resume_cursor_with_itself_delivers_the_page_once() {
    let h = Harness::start_with(MockConfig::default().leads_page_size(10))
        .await
        .expect("harness");
    h.server.set_lead_count(ACCOUNT, 100);
    // A listing that fails on its fourth page gives the cursor to resume from.
    h.server
        .inject_on_page(Route::Leads, 3, Fault::Status(503), 3);
    let mut s = h.m2m.leads().list(ACCOUNT);
    let (first, err) = until_error(&mut s).await;
    assert_eq!(first.len(), 30, "{err}");
    let cursor: i64 = err
        .resume_cursor()
        .expect("a resume cursor")
        .parse()
        .expect("int64");
    drop(s);

    // Resumed there, the server names the cursor just requested as the next page's.
    h.server.reset_counts();
    h.server
        .inject_on_page(Route::Leads, 3, Fault::RepeatCursor, 1);
    let mut resumed = h.m2m.leads().list_from(ACCOUNT, cursor);
    let (leads, err) = until_error(&mut resumed).await;
    assert_eq!(
        ids(&leads),
        expected(&h, ACCOUNT)[30..40],
        "the resumed page, once"
    );
    assert_eq!(err.kind(), ErrorKind::Pagination, "{err}");
    assert!(err.to_string().contains("repeated cursor"), "{err}");
    assert_eq!(err.resume_cursor(), None, "resuming would repeat the page");
    assert_eq!(
        h.server.count(Route::Leads),
        1,
        "the page is not asked for again"
    );
}
