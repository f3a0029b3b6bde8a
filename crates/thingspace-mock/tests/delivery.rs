//! Callback delivery: after accepting an activation or a go-to-state, the mock posts one
//! message per device to the registered listener, resends refused ones, and misbehaves as a
//! `CallbackPlan` says. A small axum receiver on 127.0.0.1 records what arrives.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{ACCOUNT, Arrival, CB_PASSWORD, CB_USER, IMEIS, Receiver, Rig, first_id};
use thingspace_mock::{CallbackPlan, MockConfig, Route};

#[tokio::test]
async fn three_devices_get_three_messages_in_order_with_the_listeners_credentials() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(0, Duration::ZERO).await;
    rig.register(ACCOUNT, "CarrierService", &url).await;
    let request_id = rig.activate(&IMEIS).await;
    rig.settle().await;

    let arrivals = receiver.arrivals();
    assert_eq!(arrivals.len(), 3, "{arrivals:#?}");
    for (i, arrival) in arrivals.iter().enumerate() {
        let m = &arrival.body;
        assert_eq!(arrival.content_type.as_deref(), Some("application/json"));
        assert_eq!(m["username"], CB_USER);
        assert_eq!(m["password"], CB_PASSWORD);
        assert_eq!(m["requestId"], request_id.as_str());
        assert_eq!(
            m["deviceIds"],
            json!([{"id": IMEIS[i], "kind": "imei"}]),
            "in order"
        );
        assert_eq!(m["status"], "Success");
        assert_eq!(m["callbackCount"], 1);
        assert_eq!(m["maxCallbackThreshold"], 4);
        assert!(m.get("faultResponse").is_none());
        let response = &m["deviceResponse"]["activateResponse"];
        assert_eq!(response["servicePlan"], "M2MPlan");
        let ids = response["deviceIds"].as_array().expect("deviceIds");
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert_eq!(ids[0], json!({"id": IMEIS[i], "kind": "imei"}));
        assert_eq!(ids[1]["kind"], "msisdn");
        let mdn = ids[1]["id"].as_str().expect("mdn");
        assert!(
            mdn.len() == 10 && mdn.bytes().all(|b| b.is_ascii_digit()),
            "{mdn}"
        );
    }
    let deliveries = rig.server.callback_deliveries();
    assert_eq!(deliveries.len(), 3);
    for (i, d) in deliveries.iter().enumerate() {
        assert_eq!(d.request_id, request_id);
        assert_eq!(d.device, i);
        assert_eq!(d.callback_count, 1);
        assert_eq!(d.outcome, Some(200));
        assert!(d.is_acknowledged());
    }
    assert_eq!(rig.server.count(Route::CallbackDelivery), 3);
}

#[tokio::test]
async fn callbacks_wait_the_configured_delay() {
    let rig =
        Rig::start_with(MockConfig::default().callback_delay(Duration::from_millis(400))).await;
    let (receiver, url) = Receiver::start(0, Duration::ZERO).await;
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    rig.activate(&IMEIS[..1]).await;
    assert!(
        !rig.server.settle_callbacks(Duration::from_millis(50)).await,
        "in flight while the delay runs"
    );
    assert!(receiver.bodies().is_empty(), "nothing before the delay");
    rig.settle().await;
    assert_eq!(receiver.bodies().len(), 1);
}

#[tokio::test]
async fn a_concurrent_resend_arrives_while_the_first_is_unanswered() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(0, Duration::from_millis(300)).await;
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    rig.server
        .plan_callbacks(CallbackPlan::default().resend([1]).concurrent(true));
    rig.activate(&IMEIS).await;
    rig.settle().await;

    let arrivals = receiver.arrivals();
    assert_eq!(arrivals.len(), 4, "{arrivals:#?}");
    let of = |imei: &str| -> Vec<&Arrival> {
        arrivals
            .iter()
            .filter(|a| first_id(&a.body) == imei)
            .collect()
    };
    assert_eq!(of(IMEIS[0]).len(), 1);
    assert_eq!(of(IMEIS[2]).len(), 1);
    let twice = of(IMEIS[1]);
    assert_eq!(twice.len(), 2);
    let mut counts: Vec<u64> = twice
        .iter()
        .filter_map(|a| a.body["callbackCount"].as_u64())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 2]);
    assert!(
        twice.iter().any(|a| a.overlapped),
        "the second arrived before the first was answered"
    );
    let (mut a, mut b) = (twice[0].body.clone(), twice[1].body.clone());
    a["callbackCount"] = json!(0);
    b["callbackCount"] = json!(0);
    assert_eq!(a, b, "the same message");
}

#[tokio::test]
async fn a_resend_without_concurrency_follows_the_answer() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(0, Duration::from_millis(150)).await;
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    rig.server
        .plan_callbacks(CallbackPlan::default().resend([0]));
    rig.activate(&IMEIS[..2]).await;
    rig.settle().await;

    let arrivals = receiver.arrivals();
    let ids: Vec<(&str, u64)> = arrivals
        .iter()
        .map(|a| {
            (
                first_id(&a.body),
                a.body["callbackCount"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [(IMEIS[0], 1), (IMEIS[0], 2), (IMEIS[1], 1)],
        "resent after the first answer, before the next device"
    );
    assert!(arrivals.iter().all(|a| !a.overlapped));
    // The plan was for one request: the next one is delivered once per device.
    rig.activate(&IMEIS[2..]).await;
    rig.settle().await;
    assert_eq!(receiver.arrivals().len(), 4);
}

#[tokio::test]
async fn a_failed_device_carries_a_fault_and_no_response() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(0, Duration::ZERO).await;
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    rig.server.plan_callbacks(CallbackPlan::default().fail([1]));
    rig.activate(&IMEIS).await;
    rig.settle().await;

    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 3);
    let failed = &bodies[1];
    assert_eq!(first_id(failed), IMEIS[1]);
    assert_eq!(failed["status"], "Failed");
    assert!(failed.get("deviceResponse").is_none(), "{failed}");
    assert_eq!(
        failed["faultResponse"],
        json!({
            "faultcode": "UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive",
            "faultstring": "The device is already active",
        })
    );
    for ok in [&bodies[0], &bodies[2]] {
        assert_eq!(ok["status"], "Success");
        assert!(ok.get("faultResponse").is_none());
        assert!(ok["deviceResponse"]["activateResponse"].is_object());
    }
}

#[tokio::test]
async fn a_refused_message_is_sent_again_with_a_higher_count() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(2, Duration::ZERO).await;
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    let request_id = rig.activate(&IMEIS[..1]).await;
    rig.settle().await;

    let counts: Vec<u64> = receiver
        .bodies()
        .iter()
        .filter_map(|b| b["callbackCount"].as_u64())
        .collect();
    assert_eq!(counts, [1, 2, 3]);
    let outcomes: Vec<(u32, Option<u16>)> = rig
        .server
        .callback_deliveries()
        .iter()
        .map(|d| (d.callback_count, d.outcome))
        .collect();
    assert_eq!(outcomes, [(1, Some(503)), (2, Some(503)), (3, Some(200))]);
    assert!(
        rig.server
            .callback_deliveries()
            .iter()
            .all(|d| d.request_id == request_id)
    );
    assert_eq!(rig.server.count(Route::CallbackDelivery), 3);
}

#[tokio::test]
async fn a_message_refused_four_times_is_given_up() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(100, Duration::ZERO).await;
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    rig.activate(&IMEIS[..1]).await;
    rig.settle().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let counts: Vec<u64> = receiver
        .bodies()
        .iter()
        .filter_map(|b| b["callbackCount"].as_u64())
        .collect();
    assert_eq!(counts, [1, 2, 3, 4]);
}

#[tokio::test]
async fn a_listener_that_does_not_answer_counts_as_a_refusal() {
    let rig = Rig::start().await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bound");
    let url = format!("http://{}/in", closed.local_addr().expect("addr"));
    drop(closed);
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    rig.activate(&IMEIS[..1]).await;
    rig.settle().await;
    let deliveries = rig.server.callback_deliveries();
    let seen: Vec<(u32, Option<u16>)> = deliveries
        .iter()
        .map(|d| (d.callback_count, d.outcome))
        .collect();
    assert_eq!(seen, [(1, None), (2, None), (3, None), (4, None)]);
}

#[tokio::test]
async fn nothing_is_sent_without_a_listener_for_the_account_and_service() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(0, Duration::ZERO).await;
    // The right service on another account, and another service on the right account.
    rig.register_directly("0000999999", "CarrierService", &url);
    rig.register_directly(ACCOUNT, "StateService", &url);
    rig.activate(&IMEIS[..2]).await;
    rig.settle().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(receiver.bodies().is_empty(), "{:#?}", receiver.bodies());
    assert!(rig.server.callback_deliveries().is_empty());
    assert_eq!(rig.server.count(Route::CallbackDelivery), 0);

    // The receiver works: once the listener is there, the next activation reaches it.
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    rig.activate(&IMEIS[2..]).await;
    rig.settle().await;
    assert_eq!(receiver.bodies().len(), 1);
}

#[tokio::test]
async fn devices_can_be_delivered_last_to_first() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(0, Duration::ZERO).await;
    rig.register_directly(ACCOUNT, "CarrierService", &url);
    rig.server
        .plan_callbacks(CallbackPlan::default().reverse_order(true));
    rig.activate(&IMEIS).await;
    rig.settle().await;
    let order: Vec<String> = receiver
        .bodies()
        .iter()
        .map(|b| first_id(b).to_owned())
        .collect();
    assert_eq!(order, [IMEIS[2], IMEIS[1], IMEIS[0]]);
    let devices: Vec<usize> = rig
        .server
        .callback_deliveries()
        .iter()
        .map(|d| d.device)
        .collect();
    assert_eq!(devices, [2, 1, 0], "indices name positions in the request");
}

#[tokio::test]
async fn go_to_state_results_go_to_the_only_state_service_listener() {
    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(0, Duration::ZERO).await;
    rig.register(ACCOUNT, "StateService", &url).await;
    let request_id = rig.go_to_state(&IMEIS[..2]).await;
    rig.settle().await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2);
    for (i, m) in bodies.iter().enumerate() {
        assert_eq!(m["requestId"], request_id.as_str());
        assert_eq!(first_id(m), IMEIS[i]);
        assert_eq!(m["status"], "Success");
        assert_eq!(
            m["deviceResponse"],
            json!({"goToStateResponse": {
                "serviceName": "Connectivity",
                "stateName": "Ready",
                "servicePlan": "M2MPlan",
            }})
        );
    }

    // With two accounts listening and no accountName, the mock cannot tell whose it is.
    rig.register_directly("0000999999", "StateService", &url);
    rig.go_to_state(&IMEIS[2..]).await;
    rig.settle().await;
    assert_eq!(receiver.bodies().len(), 2, "nothing more");
}

#[tokio::test]
async fn a_listener_off_loopback_is_never_contacted() {
    let rig = Rig::start().await;
    rig.register_directly(
        ACCOUNT,
        "CarrierService",
        "https://callbacks.example.com/in",
    );
    rig.activate(&IMEIS[..1]).await;
    rig.settle().await;
    assert!(rig.server.callback_deliveries().is_empty());
    assert_eq!(rig.server.count(Route::CallbackDelivery), 0);
}
