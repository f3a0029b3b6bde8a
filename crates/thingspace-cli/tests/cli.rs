//! The `thingspace` binary against the embedded mock.

use std::process::{Command, Output};

use thingspace::mock::{MockServer, Route};

async fn run(server: &MockServer, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_thingspace"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in server.settings() {
        cmd.env(format!("THINGSPACE_{}", key.to_ascii_uppercase()), value);
    }
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_get_prints_json_with_wire_names() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["accounts", "get", "0000123456"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["accountName"], "0000123456");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_with_the_code_and_a_documented_status() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["accounts", "get", "missing-1"]).await;
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("AccountNotFound"), "{err}");
    let out = run(
        &server,
        &[
            "--base-url",
            "http://example.com/api",
            "accounts",
            "get",
            "1",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "insecure URL is a configuration error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_list_in_every_format() {
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 2_500);
    let out = run(&server, &["leads", "list", "0000123456"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("one JSON array");
    assert_eq!(v.len(), 2_500);
    assert_eq!(v[0]["leadId"], server.leads("0000123456")[0]["leadId"]);

    let out = run(
        &server,
        &[
            "leads",
            "list",
            "0000123456",
            "--output",
            "ndjson",
            "--limit",
            "1500",
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1_500);
    let last: serde_json::Value =
        serde_json::from_str(text.lines().last().unwrap_or("")).expect("line");
    assert_eq!(last["leadId"], server.leads("0000123456")[1_499]["leadId"]);

    let out = run(
        &server,
        &["leads", "list", "0000123456", "-o", "csv", "--limit", "3"],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 4);
    assert!(text.starts_with("leadId,leadState,addressLine1"));

    let out = run(
        &server,
        &["leads", "list", "0000123456", "-o", "table", "--limit", "2"],
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    assert!(
        String::from_utf8_lossy(&out.stderr).is_empty(),
        "no progress when stderr is not a terminal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_listing_says_where_to_resume_and_next_resumes() {
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 2_500);
    server.inject_on_page(Route::Leads, 2, thingspace::mock::Fault::Status(503), 3);
    let out = run(
        &server,
        &[
            "--max-attempts",
            "3",
            "leads",
            "list",
            "0000123456",
            "-o",
            "ndjson",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2_000);
    let err = String::from_utf8_lossy(&out.stderr);
    let cursor = err
        .split("--next ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("a resume hint");
    let out = run(
        &server,
        &[
            "leads",
            "list",
            "0000123456",
            "-o",
            "ndjson",
            "--next",
            cursor,
        ],
    )
    .await;
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_in_json_and_table() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["accounts", "states", "0000123456"]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["engagement"].is_array());
    let out = run(
        &server,
        &["accounts", "states", "0000123456", "-o", "table"],
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("engagement"));
}

#[test]
fn the_mock_command_serves_what_it_prints() {
    use std::io::{BufRead, BufReader};
    let mut mock = Command::new(env!("CARGO_BIN_EXE_thingspace"))
        .args(["mock", "--leads", "0000123456=1500"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the mock");
    let stdout = mock.stdout.take().expect("stdout");
    let mut vars = Vec::new();
    for line in BufReader::new(stdout).lines().take(10) {
        let line = line.expect("line");
        let (key, value) = line
            .strip_prefix("export ")
            .and_then(|l| l.split_once('='))
            .expect("an export line");
        vars.push((key.to_owned(), value.to_owned()));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_thingspace"))
        .args(["leads", "list", "0000123456", "-o", "ndjson"])
        .env_clear()
        .envs(vars)
        .output()
        .expect("run");
    mock.kill().ok();
    mock.wait().ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1_500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formats_a_command_does_not_offer_are_refused() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["accounts", "states", "0000123456", "-o", "csv"]).await;
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("prints json, table"));
    let out = run(&server, &["oc", "leads", "list", "-o", "table"]).await;
    assert_eq!(out.status.code(), Some(5));
    assert!(out.stdout.is_empty());
}
