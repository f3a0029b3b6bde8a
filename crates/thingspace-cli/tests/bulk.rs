//! `devices activate|state --devices-file`: bulk jobs, journaled, against the embedded mock,
//! with the binary's listener receiving the mock's callbacks over real HTTP.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

use thingspace::mock::{CallbackPlan, Fault, MockServer, Route};

const ACCOUNT: &str = "0000123456";
const CALLBACK_USER: &str = "ts-callbacks";
const CALLBACK_PASSWORD: &str = "cb-bulk-pa55";

/// The binary with `args`, configured by the environment to use `server` and nothing else.
fn command(server: &MockServer, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_thingspace"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("THINGSPACE_CALLBACKS__USERNAME", CALLBACK_USER)
        .env("THINGSPACE_CALLBACKS__PASSWORD", CALLBACK_PASSWORD);
    for (key, value) in server.settings() {
        cmd.env(format!("THINGSPACE_{}", key.to_ascii_uppercase()), value);
    }
    cmd
}

/// Runs `cmd` to its end, off the runtime's threads.
async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run")
}

/// A port on 127.0.0.1 free a moment ago, registered as the account's listener for `service`.
fn listener_port(server: &MockServer, service: &str) -> u16 {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    server.register_listener(
        ACCOUNT,
        service,
        thingspace::mock::Listener {
            url: format!("http://127.0.0.1:{port}/cb"),
            username: Some(CALLBACK_USER.into()),
            password: Some(CALLBACK_PASSWORD.into()),
        },
    );
    port
}

/// A directory of its own for the test `name`, with a devices file of `text`.
fn devices_file(name: &str, text: &str) -> (PathBuf, PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("thingspace-cli-bulk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("devices.txt");
    std::fs::write(&file, text).expect("devices file");
    (dir, file)
}

/// `devices activate` of `file`, `--batch-size 3`, waiting on `port`, with `more` flags.
fn activate(server: &MockServer, file: &Path, port: u16, more: &[&str]) -> Command {
    activate_with(server, file, port, "M2MPlan", "20", more)
}

/// As [`activate`], on `plan`, with `--timeout timeout`.
fn activate_with(
    server: &MockServer,
    file: &Path,
    port: u16,
    plan: &str,
    timeout: &str,
    more: &[&str],
) -> Command {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "devices",
        "activate",
        ACCOUNT,
        "--plan",
        plan,
        "--zip",
        "94203",
        "--devices-file",
        file.to_str().expect("path"),
        "--batch-size",
        "3",
        "--wait",
        "--listen",
        &listen,
        "--timeout",
        timeout,
    ];
    args.extend_from_slice(more);
    command(server, &args)
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

/// The device ids of the outcome lines, sorted.
fn reported(lines: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = lines
        .iter()
        .filter(|l| l.get("status").is_some())
        .filter_map(|l| l["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devices_file_goes_in_batches_each_outcome_once_and_a_rerun_sends_nothing() {
    let server = MockServer::start().await.expect("mock");
    let port = listener_port(&server, "CarrierService");
    let (dir, file) = devices_file(
        "batches",
        "# spring fleet\nkind,id\n1\n2\n\niccid,3\n4\n5\n6\n7\n",
    );
    server.plan_callbacks(
        CallbackPlan::default()
            .fail([1])
            .resend([0])
            .concurrent(true),
    );
    let out = output(activate(&server, &file, port, &[])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    let lines = json_lines(&out);
    let batches: Vec<u64> = lines.iter().filter_map(|l| l["batch"].as_u64()).collect();
    assert_eq!(batches, [1, 2, 3], "{lines:?}");
    assert_eq!(server.count(Route::Activate), 3);
    assert_eq!(
        reported(&lines),
        ["1", "2", "3", "4", "5", "6", "7"],
        "each device once"
    );
    assert!(stderr.contains("device imei=2 failed"), "{stderr}");
    assert!(stderr.contains("1 of 7 devices failed"), "{stderr}");
    assert!(!stderr.contains(CALLBACK_PASSWORD));
    let journal = dir.join("devices.txt.journal");
    assert!(
        journal.is_file(),
        "the default journal is next to the devices file"
    );

    // Again: every outcome is in the journal; nothing is sent, the failure still counts.
    let out = output(activate(&server, &file, port, &[])).await;
    assert_eq!(out.status.code(), Some(10), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("failed in an earlier run"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(server.count(Route::Activate), 3);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_sends_only_the_unsent_batch_and_awaits_the_pending_one() {
    let server = MockServer::start().await.expect("mock");
    let port = listener_port(&server, "CarrierService");
    let (dir, file) = devices_file("resume", "1\n2\n3\n4\n");
    let journal = dir.join("job.journal");
    let journal_flag = ["--journal", journal.to_str().expect("path")];

    // Run 1: batch 1 is sent but its outcomes are late; batch 2 is refused (the service did
    // not act on it), which stops the sending; the wait gives up.
    server.pause_callbacks();
    server.inject(Route::Activate, Fault::Delay(Duration::ZERO));
    server.inject(Route::Activate, Fault::Status(400));
    let first = activate_with(&server, &file, port, "M2MPlan", "1", &journal_flag);
    let out = output(first).await;
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert_eq!(server.count(Route::Activate), 2);

    // The rerun: batch 1 awaited, not sent; batch 2 sent. The outcomes come once its
    // listener is up.
    let child = activate(&server, &file, port, &journal_flag)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the listener never came up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.resume_callbacks();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("run");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(server.count(Route::Activate), 3, "only batch 2 is sent");
    let lines = json_lines(&out);
    let batches: Vec<u64> = lines.iter().filter_map(|l| l["batch"].as_u64()).collect();
    assert_eq!(batches, [2]);
    assert_eq!(reported(&lines), ["1", "2", "3", "4"], "each device once");
    assert!(
        stderr.contains("batch 1: awaiting the 3 devices"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_answer_was_lost_exits_9_names_its_devices_and_is_never_sent_again() {
    let server = MockServer::start().await.expect("mock");
    let port = listener_port(&server, "CarrierService");
    let (dir, file) = devices_file("unknown", "1\n2\n3\n4\n5\n");
    // Batch 2's answer is lost (a 503 after it went out).
    server.inject(Route::Activate, Fault::Delay(Duration::ZERO));
    server.inject(Route::Activate, Fault::Status(503));
    for run in 1..=2 {
        let out = output(activate(&server, &file, port, &[])).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(9), "run {run}: {stderr}");
        assert!(
            stderr.contains("batch 2: the outcome is unknown") && stderr.contains("imei=4 imei=5"),
            "run {run} names the devices: {stderr}"
        );
        assert!(
            stderr.contains("devices list 0000123456"),
            "how to check: {stderr}"
        );
        assert_eq!(
            server.count(Route::Activate),
            2,
            "run {run}: batch 2 is not sent again"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_of_another_command_or_a_bad_line_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await.expect("mock");
    let port = listener_port(&server, "CarrierService");
    let (dir, file) = devices_file("other", "1\n2\n");
    let out = output(activate(&server, &file, port, &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sent = server.count(Route::Activate);

    // Another plan, then other devices, with the same journal.
    let other_plan = activate_with(&server, &file, port, "OtherPlan", "20", &[]);
    let out = output(other_plan).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("written by another command (its plan is `M2MPlan`"),
        "{stderr}"
    );
    std::fs::write(&file, "1\n3\n").expect("devices file");
    let out = output(activate(&server, &file, port, &[])).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("written by another command"));

    // A bad line of the devices file is named.
    std::fs::write(&file, "1\n2\nimei,3,4\n").expect("devices file");
    let out = output(activate(&server, &file, port, &[])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("devices.txt, line 3"), "{stderr}");
    assert_eq!(server.count(Route::Activate), sent, "nothing sent");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_state_takes_a_devices_file_too() {
    let server = MockServer::start().await.expect("mock");
    let port = listener_port(&server, "StateService");
    let (dir, file) = devices_file("state", "1\n2\n3\n4\n");
    let listen = format!("127.0.0.1:{port}");
    let out = output(command(
        &server,
        &[
            "devices",
            "state",
            ACCOUNT,
            "--service",
            "Svc1",
            "--state",
            "Active",
            "--plan",
            "M2MPlan",
            "--zip",
            "94203",
            "--devices-file",
            file.to_str().expect("path"),
            "--batch-size",
            "2",
            "--wait",
            "--listen",
            &listen,
            "--timeout",
            "20",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(server.count(Route::GoToState), 2);
    assert_eq!(reported(&json_lines(&out)), ["1", "2", "3", "4"]);
    let _ = std::fs::remove_dir_all(dir);
}
