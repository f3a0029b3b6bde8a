//! Record a run against the mock, then replay it offline: same results, no secret on disk.

use std::sync::Arc;

use thingspace::{
    Client, ErrorKind, ReqwestTransport,
    m2m::M2m,
    mock::{CLIENT_SECRET, MockServer, PASSWORD},
    replay::{RecordingTransport, ReplayTransport},
};
use thingspace_tests::loader_for;

#[tokio::test]
async fn a_recorded_run_replays_offline_with_identical_results() {
    let cassette =
        std::env::temp_dir().join(format!("thingspace-replay-{}.json", std::process::id()));
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 1_200);
    let config = loader_for(&server)
        .load()
        .expect("load")
        .thingspace()
        .expect("config");

    let recorder = Arc::new(RecordingTransport::new(
        Arc::new(ReqwestTransport::new().expect("http")),
        &cassette,
    ));
    let live =
        M2m::new(Client::thingspace_with_transport(&config, recorder.clone()).expect("client"));
    let account = live.accounts().get("0000123456").await.expect("account");
    let leads = live.leads().all("0000123456").await.expect("leads");
    let states = live
        .states_and_services()
        .get("0000123456")
        .await
        .expect("states");
    assert_eq!(
        recorder.cassette().exchanges.len(),
        6,
        "token, login, account, two lead pages, states"
    );

    let text = std::fs::read_to_string(&cassette).expect("cassette");
    for secret in [CLIENT_SECRET, PASSWORD, "mock-bearer-", "mock-session-"] {
        assert!(!text.contains(secret), "the cassette holds {secret}");
    }

    drop(server);
    let replay = Arc::new(ReplayTransport::from_file(&cassette).expect("load"));
    let offline =
        M2m::new(Client::thingspace_with_transport(&config, replay.clone()).expect("client"));
    assert_eq!(
        offline.accounts().get("0000123456").await.expect("account"),
        account
    );
    assert_eq!(
        offline.leads().all("0000123456").await.expect("leads"),
        leads
    );
    assert_eq!(
        offline
            .states_and_services()
            .get("0000123456")
            .await
            .expect("states"),
        states
    );
    replay.assert_done().expect("every exchange replayed");

    // A different request than recorded is refused, and so is one more than recorded.
    let replay = Arc::new(ReplayTransport::from_file(&cassette).expect("load"));
    let offline =
        M2m::new(Client::thingspace_with_transport(&config, replay.clone()).expect("client"));
    let e = offline
        .accounts()
        .get("0000999999")
        .await
        .expect_err("not recorded");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("the cassette expected"), "{e}");
    assert!(replay.assert_done().is_err());
    std::fs::remove_file(cassette).ok();
}
