//! Callback listeners: registered, listed (the password a secret both ways) and deleted,
//! over HTTP against the mock; a registration whose answer is lost is not sent again.

use thingspace::{
    ErrorKind, SecretString,
    m2m::{Listener, callbacks::services},
    mock::{Fault, Route},
};
use thingspace_tests::{CapturedLogs, Harness};

const ACCOUNT: &str = "0000123456";
const PASSWORD: &str = "cb-pass-7d1e";

fn listener() -> Listener {
    Listener::new(
        services::CARRIER_SERVICE,
        "https://callbacks.example.com/in",
    )
    .with_credentials("cb-user", PASSWORD)
}

#[tokio::test]
async fn a_listener_is_registered_listed_and_deleted() {
    let h = Harness::start().await.expect("harness");
    let logs = CapturedLogs::default();
    let guard = tracing::subscriber::set_default(logs.subscriber());
    tracing::callsite::rebuild_interest_cache();
    let registered = h
        .m2m
        .callbacks()
        .register(ACCOUNT, &listener())
        .await
        .expect("registered");
    drop(guard);
    assert_eq!(registered.service_name, services::CARRIER_SERVICE);
    let stored = h
        .server
        .listener(ACCOUNT, services::CARRIER_SERVICE)
        .expect("the mock has it");
    assert_eq!(stored.password.as_deref(), Some(PASSWORD), "sent as given");
    assert!(!logs.text().contains(PASSWORD), "the password is in no log");

    let listed = h.m2m.callbacks().list(ACCOUNT).await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].url.as_deref(),
        Some("https://callbacks.example.com/in")
    );
    assert_eq!(
        listed[0].password.as_ref().map(SecretString::expose_secret),
        Some(PASSWORD),
        "the clear-text password comes back as a secret"
    );
    assert!(!format!("{listed:?}").contains(PASSWORD));

    h.m2m
        .callbacks()
        .delete(ACCOUNT, services::CARRIER_SERVICE)
        .await
        .expect("deleted");
    assert!(
        h.m2m
            .callbacks()
            .list(ACCOUNT)
            .await
            .expect("listed")
            .is_empty()
    );
    let e = h
        .m2m
        .callbacks()
        .delete(ACCOUNT, services::CARRIER_SERVICE)
        .await
        .expect_err("nothing to delete");
    assert!(e.is_not_found(), "{e}");
}

#[tokio::test]
async fn a_bad_listener_is_refused_before_anything_is_sent() {
    let h = Harness::start().await.expect("harness");
    let long = Listener::new(services::STATE_SERVICE, "https://x.example.com")
        .with_credentials("u", "p".repeat(41));
    let e = h
        .m2m
        .callbacks()
        .register(ACCOUNT, &long)
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(h.server.count(Route::Callbacks), 0);
}

#[tokio::test]
async fn a_registration_whose_answer_is_lost_is_not_sent_again() {
    let h = Harness::start().await.expect("harness");
    h.server.inject(Route::Callbacks, Fault::Status(503));
    let e = h
        .m2m
        .callbacks()
        .register(ACCOUNT, &listener())
        .await
        .expect_err("unknown");
    assert!(e.is_outcome_unknown(), "{e}");
    assert!(e.to_string().contains("callbacks list"), "{e}");
    assert_eq!(h.server.count(Route::Callbacks), 1);
    assert!(!format!("{e} {e:?}").contains(PASSWORD));
}
