//! Each device's outcome, end to end over real HTTP: the SDK activates, the mock posts one
//! callback per device (with resends, refusals and failures injected), the listener keeps them
//! and the tracker hands each device's outcome to the waiter once.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use futures_util::StreamExt;
use thingspace::{
    DeviceId,
    callbacks::{
        Callback, Credentials, Listener as CallbackListener, Outcome, Sink, SinkError, Tracker,
    },
    m2m::{Activation, Listener},
    mock::{CallbackPlan, MockConfig},
};
use thingspace_tests::Harness;

const ACCOUNT: &str = "0000123456";
const USER: &str = "ts-callbacks";
const PASSWORD: &str = "cb-e2e-secret";

/// Refuses the first delivery of device `id`, as a full queue would, then keeps everything.
#[derive(Debug)]
struct RefuseFirst {
    id: &'static str,
    refused: AtomicBool,
}

#[async_trait::async_trait]
impl Sink for RefuseFirst {
    async fn accept(&self, callback: &Callback) -> Result<(), SinkError> {
        let ours = callback.device_ids.iter().any(|d| d.id == self.id);
        if ours && !self.refused.swap(true, Ordering::SeqCst) {
            return Err(SinkError::Full);
        }
        Ok(())
    }
}

fn devices() -> Vec<DeviceId> {
    ["990013907835573", "990013907835574", "990013907835575"]
        .into_iter()
        .map(|id| DeviceId::new("imei", id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_devices_for_a_lead_give_three_outcomes_once_each_despite_resends_and_a_refusal() {
    let h = Harness::start_with(
        MockConfig::default().callback_retry_interval(Duration::from_millis(50)),
    )
    .await
    .expect("harness");
    h.server.set_lead_count(ACCOUNT, 3);
    let lead_id = h.server.leads(ACCOUNT)[1]["leadId"]
        .as_str()
        .expect("a lead id")
        .to_owned();

    let tracker = Tracker::new();
    let refusing = RefuseFirst {
        id: "990013907835574",
        refused: AtomicBool::new(false),
    };
    let listener = CallbackListener::builder(Credentials::new(USER, PASSWORD))
        .sink(refusing)
        .sink(tracker.clone())
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("listening");
    let url = format!("http://{}/ts/carrier", listener.local_addr());
    h.m2m
        .callbacks()
        .register(
            ACCOUNT,
            &Listener::new("CarrierService", url).with_credentials(USER, PASSWORD),
        )
        .await
        .expect("registered");
    // Two devices resent while their first delivery is unanswered; the last one fails.
    h.server.plan_callbacks(
        CallbackPlan::default()
            .resend([0, 2])
            .concurrent(true)
            .fail([2]),
    );

    let activation = devices()
        .into_iter()
        .fold(Activation::new("M2MPlan", ""), |a, d| {
            a.device(d.kind, d.id)
        });
    let id = h
        .m2m
        .devices()
        .activate_for_lead(ACCOUNT, &lead_id, activation)
        .await
        .expect("activated");
    let mut wait = tracker
        .wait(&id.request_id, devices())
        .timeout(Duration::from_secs(30));
    let mut outcomes = Vec::new();
    while let Some(outcome) = wait.next().await {
        outcomes.push(outcome.expect("every device reports in time"));
    }
    assert!(h.server.settle_callbacks(Duration::from_secs(20)).await);

    let mut ids: Vec<&str> = outcomes.iter().map(|o| o.device.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["990013907835573", "990013907835574", "990013907835575"]
    );
    for o in &outcomes {
        assert_eq!(o.request_id, id.request_id);
        match (&o.outcome, o.device.id.as_str()) {
            (Outcome::Failed { fault, .. }, "990013907835575") => {
                let code = fault.as_ref().and_then(|f| f.code.as_deref());
                assert_eq!(
                    code,
                    Some("UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive")
                );
            }
            (Outcome::Success { response }, _) => {
                assert!(
                    response
                        .as_ref()
                        .is_some_and(|r| r.contains_key("activateResponse"))
                );
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    // The refused message came back with a higher count and was then delivered.
    let refused = outcomes
        .iter()
        .find(|o| o.device.id == "990013907835574")
        .and_then(|o| o.callback_count);
    assert_eq!(refused, Some(2), "delivered on its second attempt");
    let stats = listener.stats();
    assert_eq!(stats.unavailable, 1, "{stats:?}");
    assert!(tracker.stats().duplicates >= 2, "{:?}", tracker.stats());
    assert_eq!(tracker.stats().waiting, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_with_the_wrong_password_is_refused_and_never_delivered() {
    let h = Harness::start_with(
        MockConfig::default().callback_retry_interval(Duration::from_millis(20)),
    )
    .await
    .expect("harness");
    let tracker = Tracker::new();
    let listener = CallbackListener::builder(Credentials::new(USER, PASSWORD))
        .sink(tracker.clone())
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("listening");
    let url = format!("http://{}/", listener.local_addr());
    h.m2m
        .callbacks()
        .register(
            ACCOUNT,
            &Listener::new("CarrierService", url).with_credentials(USER, "guessed"),
        )
        .await
        .expect("registered");
    let activation = Activation::new("M2MPlan", "94203").device("imei", "990013907835573");
    let id = h
        .m2m
        .devices()
        .activate(&activation.account(ACCOUNT))
        .await
        .expect("activated");
    assert!(h.server.settle_callbacks(Duration::from_secs(20)).await);
    let deliveries = h.server.callback_deliveries();
    assert_eq!(
        deliveries.len(),
        4,
        "resent up to maxCallbackThreshold: {deliveries:?}"
    );
    assert!(deliveries.iter().all(|d| d.outcome == Some(401)));
    assert_eq!(listener.stats().unauthorized, 4);
    let mut wait = tracker
        .wait(&id.request_id, [DeviceId::new("imei", "990013907835573")])
        .timeout(Duration::from_millis(200));
    assert!(
        matches!(wait.next().await, Some(Err(_))),
        "nothing was delivered"
    );
}
