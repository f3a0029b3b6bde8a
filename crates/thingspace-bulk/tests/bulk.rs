//! Bulk jobs end to end over real HTTP on 127.0.0.1: the SDK sends each batch to the embedded
//! mock, the mock posts one callback per device to a real listener, the tracker hands each
//! outcome to the job, and the journal lets a rerun pick up where a crash left off.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    time::Duration,
};

use thingspace_bulk::{BulkAction, BulkError, BulkEvent, BulkJob, BulkReport};
use thingspace_callbacks::{Credentials, Listener, RunningListener, Tracker};
use thingspace_core::{Client, ConfigLoader, DeviceId};
use thingspace_m2m::{
    M2m,
    devices::{Activation, StateChange},
};
use thingspace_mock::{Fault, MockServer, Route};

const ACCOUNT: &str = "0000123456";
const USER: &str = "ts-callbacks";
const PASSWORD: &str = "cb-bulk-secret";

/// The M2M family on a client configured for `server`.
fn m2m(server: &MockServer) -> M2m {
    let mut loader = ConfigLoader::new().without_env().without_default_file();
    for (key, value) in server.settings() {
        loader = loader.set(key, value);
    }
    let config = loader
        .load()
        .and_then(|l| l.thingspace())
        .expect("configuration");
    M2m::new(Client::thingspace(&config).expect("client"))
}

/// A listener feeding a new tracker (a new process, as far as outcomes go), registered with
/// the mock for `service`.
async fn listen(server: &MockServer, service: &str) -> (Tracker, RunningListener) {
    let tracker = Tracker::new();
    let running = Listener::builder(Credentials::new(USER, PASSWORD))
        .sink(tracker.clone())
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("listener");
    server.register_listener(
        ACCOUNT,
        service,
        thingspace_mock::Listener {
            url: format!("http://{}/cb", running.local_addr()),
            username: Some(USER.into()),
            password: Some(PASSWORD.into()),
        },
    );
    (tracker, running)
}

fn devices(n: usize) -> Vec<DeviceId> {
    (0..n)
        .map(|i| DeviceId::new("imei", format!("99001{i:010}")))
        .collect()
}

/// A journal path of its own for the test `name`, removed first.
fn journal(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "thingspace-bulk-{name}-{}.journal",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

fn activation() -> BulkAction {
    BulkAction::activate(ACCOUNT, Activation::new("M2MPlan", "94203"))
}

/// The devices of every activation the mock received, request by request.
fn activated(server: &MockServer, request_ids: &[String]) -> Vec<Vec<String>> {
    request_ids
        .iter()
        .map(|id| {
            let body = server
                .request_body(id)
                .expect("a request the mock received");
            body["devices"]
                .as_array()
                .expect("devices")
                .iter()
                .map(|d| {
                    d["deviceIds"][0]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .collect()
}

/// Runs `job` with `tracker`, collecting the request ids sent and the devices reported.
async fn run(
    job: &BulkJob,
    m2m: &M2m,
    tracker: &Tracker,
) -> (BulkReport, Vec<String>, Vec<DeviceId>) {
    let mut sent = Vec::new();
    let mut reported = Vec::new();
    let report = job
        .run(m2m, tracker, |event| match event {
            BulkEvent::Sent { request_id, .. } => sent.push((*request_id).to_owned()),
            BulkEvent::Outcome { outcome, .. } => reported.push(outcome.device.clone()),
            _ => {}
        })
        .await
        .expect("the job runs");
    (report, sent, reported)
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record a line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_five_thousand_devices_go_in_three_requests_and_every_outcome_arrives_once() {
    let server = MockServer::start().await.expect("mock");
    let m2m = m2m(&server);
    let (tracker, listener) = listen(&server, "CarrierService").await;
    let path = journal("25k");
    let all = devices(25_000);
    let job = BulkJob::new(activation(), all.clone(), &path)
        .expect("job")
        .timeout(Duration::from_secs(120));
    let (report, sent, reported) = run(&job, &m2m, &tracker).await;

    assert_eq!(server.count(Route::Activate), 3);
    assert_eq!((report.sent, report.batches), (3, 3));
    let sizes: Vec<usize> = activated(&server, &sent).iter().map(Vec::len).collect();
    assert_eq!(sizes, [10_000, 10_000, 5_000]);
    let in_order: Vec<String> = activated(&server, &sent).concat();
    let expected: Vec<String> = all.iter().map(|d| d.id.clone()).collect();
    assert_eq!(in_order, expected, "each device sent once, in order");
    assert_eq!(reported.len(), 25_000, "every outcome once");
    let unique: HashSet<&DeviceId> = reported.iter().collect();
    assert_eq!(unique.len(), 25_000);
    assert_eq!(report.succeeded, 25_000);
    assert!(report.is_complete(), "{report:?}");

    let records = lines(&path);
    let count = |t: &str| records.iter().filter(|r| r["type"] == t).count();
    assert_eq!(records[0]["type"], "job");
    assert_eq!(
        (count("intent"), count("sent"), count("outcome")),
        (3, 3, 25_000)
    );

    // The same job again: all done, nothing sent.
    let (again, sent, reported) = run(&job, &m2m, &tracker).await;
    assert!(sent.is_empty() && reported.is_empty());
    assert_eq!((again.sent, again.succeeded), (0, 25_000));
    assert_eq!(server.count(Route::Activate), 3);
    listener.shutdown().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_sends_only_the_unsent_batch_and_awaits_the_pending_one() {
    let server = MockServer::start().await.expect("mock");
    let m2m = m2m(&server);
    let path = journal("resume");
    let all = devices(25);
    let job = BulkJob::new(activation(), all.clone(), &path)
        .expect("job")
        .batch_size(10)
        .timeout(Duration::from_secs(30));

    // Run 1: batch 1 is sent and all its devices report; batch 2 is refused (the service did
    // not act), which stops the sending.
    let (tracker, first) = listen(&server, "CarrierService").await;
    let mut refuse_next = |event: &BulkEvent<'_>| {
        if let BulkEvent::Sent { .. } = event {
            server.inject(Route::Activate, Fault::Status(400));
        }
    };
    let report = job
        .run(&m2m, &tracker, &mut refuse_next)
        .await
        .expect("run 1");
    assert_eq!((report.sent, report.succeeded), (1, 10));
    assert_eq!(report.unsent, [2, 3]);
    assert!(report.stopped.is_some());
    first.shutdown().await;

    // Run 2, without awaiting, while the service holds its callbacks back: batch 2 is sent,
    // batch 3 refused. Batch 2's outcomes are still to come.
    server.pause_callbacks();
    let report = job
        .send(&m2m, |event| {
            if let BulkEvent::Sent { .. } = event {
                server.inject(Route::Activate, Fault::Status(400));
            }
        })
        .await
        .expect("run 2");
    assert_eq!((report.sent, report.unsent.as_slice()), (1, &[3][..]));
    assert_eq!(report.unfinished.len(), 1);
    let before = server.count(Route::Activate);
    assert_eq!(before, 4);

    // The rerun, in a "new process" (a new listener and tracker): batch 1 is skipped, batch 2
    // awaited (not sent), batch 3 sent.
    let (tracker, listener) = listen(&server, "CarrierService").await;
    server.resume_callbacks();
    let mut resumed = Vec::new();
    let mut sent = Vec::new();
    let mut reported = Vec::new();
    let report = job
        .run(&m2m, &tracker, |event| match event {
            BulkEvent::Resumed { batch, pending, .. } => resumed.push((*batch, *pending)),
            BulkEvent::Sent {
                batch, request_id, ..
            } => sent.push((*batch, (*request_id).to_owned())),
            BulkEvent::Outcome { outcome, .. } => reported.push(outcome.device.id.clone()),
            _ => {}
        })
        .await
        .expect("the rerun");
    assert_eq!(
        server.count(Route::Activate),
        before + 1,
        "only batch 3 is sent"
    );
    assert_eq!(resumed, [(2, 10)]);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, 3);
    let batch_3: Vec<String> = all[20..].iter().map(|d| d.id.clone()).collect();
    assert_eq!(activated(&server, &[sent[0].1.clone()]), [batch_3]);
    reported.sort();
    let mut expected: Vec<String> = all[10..].iter().map(|d| d.id.clone()).collect();
    expected.sort();
    assert_eq!(
        reported, expected,
        "batch 2's and batch 3's outcomes, once each"
    );
    assert_eq!(report.succeeded, 25);
    assert!(report.is_complete(), "{report:?}");
    listener.shutdown().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_without_a_request_id_is_never_sent_again_and_names_its_devices() {
    let server = MockServer::start().await.expect("mock");
    let m2m = m2m(&server);
    let (tracker, listener) = listen(&server, "CarrierService").await;
    let path = journal("unknown");
    let all = devices(25);
    let job = BulkJob::new(activation(), all.clone(), &path)
        .expect("job")
        .batch_size(10)
        .timeout(Duration::from_secs(30));

    // Batch 2's answer is lost (a 503 after the request went out): its outcome is unknown,
    // and the sending stops there.
    let report = job
        .run(&m2m, &tracker, |event| {
            if let BulkEvent::Sent { batch: 1, .. } = event {
                server.inject(Route::Activate, Fault::Status(503));
            }
        })
        .await
        .expect("run 1");
    assert_eq!(report.unknown.len(), 1);
    assert_eq!(report.unknown[0].batch, 2);
    assert!(
        report.unknown[0]
            .error
            .as_ref()
            .is_some_and(|e| e.is_outcome_unknown())
    );
    assert_eq!(report.unsent, [3]);
    assert_eq!(server.count(Route::Activate), 2);

    // The rerun: batch 2 is reported, with its devices and how to find out, and never sent;
    // batch 3, never sent, is.
    let mut unknown_events = Vec::new();
    let report = job
        .run(&m2m, &tracker, |event| {
            if let BulkEvent::Unknown { batch, devices } = event {
                unknown_events.push((*batch, devices.to_vec()));
            }
        })
        .await
        .expect("the rerun");
    assert_eq!(server.count(Route::Activate), 3, "batch 3 only");
    assert_eq!(unknown_events, [(2, all[10..20].to_vec())]);
    assert_eq!(report.unknown.len(), 1);
    let unknown = &report.unknown[0];
    assert_eq!(
        (unknown.batch, unknown.devices.as_slice()),
        (2, &all[10..20])
    );
    assert!(unknown.error.is_none(), "an earlier run's");
    assert!(
        unknown.how_to_check.contains("devices list"),
        "{}",
        unknown.how_to_check
    );
    assert_eq!(report.succeeded, 15);
    assert!(!report.is_complete());
    listener.shutdown().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_of_another_command_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await.expect("mock");
    let m2m = m2m(&server);
    let (tracker, listener) = listen(&server, "CarrierService").await;
    let path = journal("other");
    let job = BulkJob::new(activation(), devices(3), &path).expect("job");
    let (report, _, _) = run(&job, &m2m, &tracker).await;
    assert!(report.is_complete());
    let sent = server.count(Route::Activate);

    let others = [
        (
            BulkJob::new(activation(), devices(4), &path),
            "number of devices",
        ),
        (
            BulkJob::new(
                activation(),
                vec![
                    DeviceId::new("imei", "1"),
                    DeviceId::new("imei", "2"),
                    DeviceId::new("imei", "3"),
                ],
                &path,
            ),
            "devices (SHA-256 of the list)",
        ),
        (
            BulkJob::new(
                BulkAction::activate("0000999999", Activation::new("M2MPlan", "94203")),
                devices(3),
                &path,
            ),
            "account",
        ),
        (
            BulkJob::new(
                BulkAction::activate_for_lead(ACCOUNT, "1234", Activation::new("M2MPlan", "")),
                devices(3),
                &path,
            ),
            "lead",
        ),
        (
            BulkJob::new(
                BulkAction::go_to_state(
                    ACCOUNT,
                    StateChange::new("Svc1", "Active", "M2MPlan", "94203"),
                ),
                devices(3),
                &path,
            ),
            "action",
        ),
    ];
    for (other, what) in others {
        let other = other.expect("job");
        match other.run(&m2m, &tracker, |_| {}).await {
            Err(BulkError::OtherCommand { what: w, .. }) => assert_eq!(w, what),
            other => panic!("{what}: {other:?}"),
        }
    }
    assert_eq!(server.count(Route::Activate), sent, "nothing sent");
    listener.shutdown().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_line_is_cut_and_a_malformed_line_is_named() {
    let server = MockServer::start().await.expect("mock");
    let m2m = m2m(&server);
    let (tracker, listener) = listen(&server, "StateService").await;
    let path = journal("torn");
    let action = BulkAction::go_to_state(
        ACCOUNT,
        StateChange::new("Svc1", "Active", "M2MPlan", "94203"),
    );
    let job = BulkJob::new(action, devices(4), &path)
        .expect("job")
        .batch_size(2)
        .timeout(Duration::from_secs(30));
    let (report, _, _) = run(&job, &m2m, &tracker).await;
    assert_eq!((report.sent, report.succeeded), (2, 4));
    let sent = server.count(Route::GoToState);

    // A crash mid-write leaves half a line: cut off, the rest stands.
    let whole = std::fs::read(&path).expect("journal");
    let mut torn = whole.clone();
    torn.extend_from_slice(br#"{"type":"outcome","batch":1,"ki"#);
    std::fs::write(&path, &torn).expect("write");
    let (report, _, _) = run(&job, &m2m, &tracker).await;
    assert_eq!((report.sent, report.succeeded), (0, 4));
    assert_eq!(
        std::fs::read(&path).expect("journal"),
        whole,
        "the torn line was cut"
    );

    // A whole line that is not a record is an error naming it, not a panic.
    let text = String::from_utf8(whole).expect("text");
    let mut lines: Vec<&str> = text.lines().collect();
    for (bad, what) in [
        ("not json", "line 3"),
        (r#"{"type":"sent","batch":9,"requestId":"x"}"#, "line 3"),
        (
            r#"{"type":"outcome","batch":1,"kind":"imei","id":"nope","status":"success"}"#,
            "line 3",
        ),
    ] {
        let saved = lines[2];
        lines[2] = bad;
        std::fs::write(&path, format!("{}\n", lines.join("\n"))).expect("write");
        match job.run(&m2m, &tracker, |_| {}).await {
            Err(e @ BulkError::Malformed { line: 3, .. }) => {
                assert!(e.to_string().contains(what), "{e}");
            }
            other => panic!("{bad}: {other:?}"),
        }
        lines[2] = saved;
    }
    assert_eq!(server.count(Route::GoToState), sent, "nothing sent");
    listener.shutdown().await;
    let _ = std::fs::remove_file(&path);
}
