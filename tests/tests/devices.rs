//! Device activation over HTTP against the mock: credited to a lead (its ZIP sent as
//! `mdnZipCode`), refused before sending when it cannot be right, never sent twice, and the
//! status of a single-device request.

use thingspace::{
    ErrorKind,
    m2m::{Activation, RequestState},
    mock::{Fault, MockConfig, Route},
};
use thingspace_tests::Harness;

const ACCOUNT: &str = "0000123456";

#[tokio::test]
async fn three_devices_activated_for_a_lead_carry_its_zip_and_id() {
    let h = Harness::start_with(MockConfig::default().leads_page_size(10))
        .await
        .expect("harness");
    h.server.set_lead_count(ACCOUNT, 35);
    // A lead on the third page: found by streaming, stopping there.
    let lead = h.server.leads(ACCOUNT)[23].clone();
    let lead_id = lead["leadId"].as_str().expect("id").to_owned();
    let zip = lead["address"]["zip"].as_str().expect("zip").to_owned();
    let activation = Activation::new("M2MPlan", "")
        .device("imei", "990013907835573")
        .device("IMEI", "990013907835574")
        .device("iccid", "89148000000800784259");
    let id = h
        .m2m
        .devices()
        .activate_for_lead(ACCOUNT, &lead_id, activation)
        .await
        .expect("activated");
    let body = h.server.request_body(&id.request_id).expect("received");
    assert_eq!(body["mdnZipCode"].as_str(), Some(zip.as_str()));
    assert_eq!(body["leadId"].as_str(), Some(lead_id.as_str()));
    assert_eq!(body["accountName"].as_str(), Some(ACCOUNT));
    assert_eq!(body["devices"].as_array().map(Vec::len), Some(3));
    assert_eq!(h.server.count(Route::Activate), 1);
    assert_eq!(
        h.server.count(Route::Leads),
        3,
        "stopped at the lead's page"
    );

    let e = h
        .m2m
        .requests()
        .status(ACCOUNT, &id.request_id)
        .await
        .expect_err("several devices");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e}");
}

#[tokio::test]
async fn a_lead_that_is_not_there_activates_nothing() {
    let h = Harness::start().await.expect("harness");
    h.server.set_lead_count(ACCOUNT, 5);
    let e = h
        .m2m
        .devices()
        .activate_for_lead(
            ACCOUNT,
            "no-such-lead",
            Activation::new("M2MPlan", "").device("imei", "1"),
        )
        .await
        .expect_err("not found");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("no-such-lead"), "{e}");
    assert_eq!(h.server.count(Route::Activate), 0);
}

#[tokio::test]
async fn an_activation_answered_503_is_sent_once_and_its_outcome_is_unknown() {
    let h = Harness::start().await.expect("harness");
    h.server.inject(Route::Activate, Fault::Status(503));
    let e = h
        .m2m
        .devices()
        .activate(&Activation::new("M2MPlan", "94203").device("imei", "990013907835573"))
        .await
        .expect_err("unknown");
    assert!(e.is_outcome_unknown(), "{e}");
    assert!(e.to_string().contains("CarrierService callbacks"), "{e}");
    assert_eq!(h.server.count(Route::Activate), 1, "never sent twice");
}

#[tokio::test]
async fn a_line_has_five_provisioning_actions_a_day_and_single_requests_report_status() {
    let h = Harness::start().await.expect("harness");
    let one = || Activation::new("M2MPlan", "94203").device("imei", "990013907835599");
    for _ in 0..5 {
        let id = h
            .m2m
            .devices()
            .activate(&one())
            .await
            .expect("within the limit");
        let status = h
            .m2m
            .requests()
            .status("", &id.request_id)
            .await
            .expect_err("an empty account is refused before sending");
        assert_eq!(status.kind(), ErrorKind::InvalidInput);
        let status = h.m2m.requests().status(ACCOUNT, &id.request_id).await;
        // Activations without an account name are the account's own here.
        let status = status.expect("single-device status");
        assert_eq!(status.status, RequestState::Success);
    }
    let e = h.m2m.devices().activate(&one()).await.expect_err("sixth");
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(
        e.api_code(),
        Some("REQUEST_FAILED.ProvisioningActionsExceeded"),
        "{e}"
    );
    assert_eq!(
        h.server.count(Route::Activate),
        6,
        "a refusal is not retried"
    );
}

#[tokio::test]
async fn the_device_list_follows_every_page_once_and_resumes() {
    use thingspace::m2m::DeviceFilter;
    let h = Harness::start().await.expect("harness");
    h.server.set_device_count(ACCOUNT, 4_500);
    let expected: Vec<String> = h
        .server
        .devices(ACCOUNT)
        .iter()
        .map(|d| {
            d["deviceIds"][0]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let devices = h
        .m2m
        .devices()
        .list(DeviceFilter::account(ACCOUNT))
        .collect_all()
        .await
        .expect("every page");
    let got: Vec<String> = devices.iter().map(|d| d.device_ids[0].id.clone()).collect();
    assert_eq!(got, expected, "every device once, in order");
    assert_eq!(h.server.count(Route::DeviceList), 3, "2,000 a page");

    // A failure mid-listing carries the cursor; resuming there repeats nothing.
    h.server.reset_counts();
    h.server
        .inject_on_page(Route::DeviceList, 1, Fault::Status(404), 1);
    let mut listing = h.m2m.devices().list(DeviceFilter::account(ACCOUNT));
    let (first, e) = thingspace_tests::until_error(&mut listing).await;
    assert_eq!(first.len(), 2_000);
    let cursor: i64 = e
        .resume_cursor()
        .expect("a resume cursor")
        .parse()
        .expect("numeric");
    let rest = h
        .m2m
        .devices()
        .list_from(DeviceFilter::account(ACCOUNT), Some(cursor))
        .collect_all()
        .await
        .expect("the rest");
    let all: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|d| d.device_ids[0].id.clone())
        .collect();
    assert_eq!(all, expected);

    let e = h
        .m2m
        .devices()
        .list(DeviceFilter::account(" "))
        .collect_all()
        .await
        .expect_err("no account");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn go_to_state_finds_the_spelling_the_service_answers_and_checks_the_state_first() {
    use thingspace::m2m::StateChange;
    use thingspace::mock::StatesPaths;
    let h = Harness::start_with(MockConfig::default().go_to_state_paths(StatesPaths::Sdk))
        .await
        .expect("harness");
    let states = h
        .m2m
        .states_and_services()
        .get(ACCOUNT)
        .await
        .expect("states");
    let service = &states.engagement[0].services[0];
    let state = &service.states[0];
    let change = StateChange::new(
        service.name.clone().unwrap_or_default(),
        state.name.clone().unwrap_or_default(),
        state.service_plans[0].clone(),
        "94203",
    )
    .device("imei", "990013907835573");
    change
        .check_against(&states)
        .expect("a state the account has");
    let wrong = StateChange::new(
        service.name.clone().unwrap_or_default(),
        "NoSuchState",
        "P",
        "94203",
    );
    let e = wrong.check_against(&states).expect_err("no such state");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);

    let before = h.server.total_requests();
    let first = h.m2m.devices().go_to_state(&change).await.expect("moved");
    assert_eq!(
        h.server.total_requests() - before,
        2,
        "goToState answered 404, then gotostate"
    );
    let body = h.server.request_body(&first.request_id).expect("received");
    assert_eq!(body["stateName"], serde_json::json!(state.name));
    let before = h.server.total_requests();
    h.m2m.devices().go_to_state(&change).await.expect("moved");
    assert_eq!(
        h.server.total_requests() - before,
        1,
        "the spelling remembered"
    );
    assert_eq!(h.server.count(Route::GoToState), 2);

    h.server.inject(Route::GoToState, Fault::Status(504));
    let e = h
        .m2m
        .devices()
        .go_to_state(&change)
        .await
        .expect_err("lost");
    assert!(
        e.is_outcome_unknown() && e.to_string().contains("StateService"),
        "{e}"
    );
    assert_eq!(h.server.count(Route::GoToState), 3, "sent once");
}
