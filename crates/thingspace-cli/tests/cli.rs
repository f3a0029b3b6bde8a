//! The `thingspace` binary against the embedded mock.

#[path = "support/carried.rs"]
mod carried;

use std::process::{Command, Output, Stdio};

use carried::carried;
use thingspace::mock::{MockServer, Route};

/// The binary with `args`, configured by the environment to use `server` and nothing else.
fn command<S: AsRef<std::ffi::OsStr>>(server: &MockServer, args: &[S]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_thingspace"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in server.settings() {
        cmd.env(format!("THINGSPACE_{}", key.to_ascii_uppercase()), value);
    }
    cmd
}

async fn run<S: AsRef<std::ffi::OsStr>>(server: &MockServer, args: &[S]) -> Output {
    output(command(server, args)).await
}

/// Runs `cmd` to its end, off the runtime's threads.
async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run")
}

/// `devices activate` of one device near a ZIP code.
const ACTIVATE_ONE: &[&str] = &[
    "devices",
    "activate",
    "0000123456",
    "--plan",
    "M2MPlan",
    "--zip",
    "94203",
    "--device",
    "imei=1",
];

/// The words of the `resume with:` hint on stderr, after `thingspace`.
fn resume_args(stderr: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("resume with: thingspace "))
        .unwrap_or_else(|| panic!("a resume hint in {text}"));
    assert!(
        !line.contains('\''),
        "the test's words need no quoting: {line}"
    );
    line.split_whitespace().map(str::to_owned).collect()
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
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("engagement"), "{table}");
    // The outline shows every value the JSON holds (the plans by name, not only their count).
    let mut values = Vec::new();
    scalar_leaves("", &v, &mut values);
    assert!(
        values.iter().any(|(path, _)| path.contains("servicePlans")),
        "{values:?}"
    );
    for (path, value) in &values {
        assert!(
            table.contains(value.as_str()),
            "-o table lacks {path} = {value:?}:\n{table}"
        );
    }
}

/// The scalar values in `value`, each with its path.
fn scalar_leaves(path: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => out.push((path.to_owned(), s.clone())),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                scalar_leaves(&format!("{path}[{i}]"), item, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                scalar_leaves(&format!("{path}.{key}"), inner, out);
            }
        }
        other => out.push((path.to_owned(), other.to_string())),
    }
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
async fn formats_a_command_does_not_offer_are_refused_before_any_request() {
    let server = MockServer::start().await.expect("mock");
    for args in [
        &["accounts", "states", "0000123456", "-o", "csv"][..],
        &["accounts", "states", "0000123456", "--output", "ndjson"],
        &["oc", "leads", "list", "-o", "table"],
        &["oc", "leads", "list", "-o", "csv"],
    ] {
        let out = run(&server, args).await;
        assert_eq!(out.status.code(), Some(2), "a usage error: {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("possible values"), "{err}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(server.total_requests(), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_or_negative_timeouts_and_attempts_are_usage_errors() {
    let server = MockServer::start().await.expect("mock");
    for (args, flag) in [
        (&["--timeout-secs", "0"][..], "--timeout-secs"),
        (&["--timeout-secs", "-1"], "--timeout-secs"),
        (&["--timeout-secs=-0.5"], "--timeout-secs"),
        (&["--timeout-secs", "NaN"], "--timeout-secs"),
        (&["--max-attempts", "0"], "--max-attempts"),
        (&["--max-attempts", "-1"], "--max-attempts"),
    ] {
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["accounts", "get", "0000123456"])
            .collect();
        let out = run(&server, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{err}");
    }
    for args in [
        &["oc", "leads", "list", "--page-size", "0"][..],
        &["oc", "leads", "list", "--page-size", "20001"],
        &["oc", "leads", "list", "--page", "0"],
    ] {
        assert_eq!(run(&server, args).await.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(server.total_requests(), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_a_listing_quietly() {
    use std::io::{BufRead, BufReader};
    let server = MockServer::start().await.expect("mock");
    // Far more than a pipe holds, so the command is still writing when the reader goes.
    server.set_lead_count("0000123456", 20_000);
    for format in ["json", "ndjson", "csv"] {
        let mut cmd = command(&server, &["leads", "list", "0000123456", "-o", format]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = tokio::task::spawn_blocking(move || {
            let mut child = cmd.spawn().expect("start");
            let stdout = child.stdout.take().expect("stdout");
            let mut first = String::new();
            BufReader::new(stdout)
                .read_line(&mut first)
                .expect("a line");
            assert!(!first.is_empty());
            // The reader is dropped here, as `| head -1` does.
            child.wait_with_output().expect("wait")
        })
        .await
        .expect("join");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.is_empty(), "a closed pipe is not an error: {err}");
        assert_eq!(out.status.code(), Some(0), "{format}");
    }
}

#[test]
fn a_closed_pipe_ends_the_demo_quietly() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_thingspace"))
        .arg("demo")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a line");
    assert!(first.contains("mock listening"), "{first}");
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_that_cannot_be_written_has_its_own_status() {
    let server = MockServer::start().await.expect("mock");
    for args in [
        &["accounts", "get", "0000123456"][..],
        &["leads", "list", "0000123456", "-o", "ndjson"],
    ] {
        let mut cmd = command(&server, args);
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        cmd.stdout(full);
        let out = output(cmd).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(8), "{args:?}: {err}");
        assert!(err.contains("could not write the output"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resume_hint_repeats_the_flags_and_the_rest_of_the_limit() {
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 2_500);
    server.inject_on_page(Route::Leads, 2, thingspace::mock::Fault::Status(503), 1);
    let config =
        std::env::temp_dir().join(format!("thingspace-cli-resume-{}.toml", std::process::id()));
    std::fs::write(&config, "[retry]\ninitial_backoff_ms = 10\n").expect("config");
    let config_arg = config.display().to_string();
    let out = run(
        &server,
        &[
            "--config",
            &config_arg,
            "--max-attempts",
            "1",
            "leads",
            "list",
            "0000123456",
            "-o",
            "json",
            "--limit",
            "2200",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(5));
    let printed: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("what was printed is one closed JSON array");
    assert_eq!(printed.len(), 2_000);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("separate document"), "{err}");
    let args = resume_args(&out.stderr);
    let at = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    assert_eq!(at("--config"), Some(config_arg.as_str()), "{args:?}");
    assert_eq!(at("--max-attempts"), Some("1"), "{args:?}");
    assert_eq!(at("--output"), Some("json"), "{args:?}");
    assert_eq!(at("--limit"), Some("200"), "{args:?}");
    assert!(at("--next").is_some(), "{args:?}");

    let out = run(&server, &args).await;
    std::fs::remove_file(&config).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rest: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("a new array");
    assert_eq!(rest.len(), 200);
    assert_eq!(
        rest[0]["leadId"],
        server.leads("0000123456")[2_000]["leadId"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_the_server_broke_exits_5_with_no_resume_hint() {
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 2_500);
    server.inject_on_page(Route::Leads, 1, thingspace::mock::Fault::RepeatCursor, 1);
    let out = run(&server, &["leads", "list", "0000123456", "-o", "ndjson"]).await;
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("resume with"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oc_listings_start_at_a_page_and_say_which_page_resumes_them() {
    use thingspace::mock::Fault;
    let server = MockServer::start().await.expect("mock");
    // The leads' ids, in the order the mock serves them.
    let all: Vec<serde_json::Value> = server.oc_leads().iter().map(|l| l["id"].clone()).collect();
    assert_eq!(all.len(), 25);
    let lines = |out: &Output| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).expect("a lead per line")["id"].clone()
            })
            .collect()
    };

    let out = run(
        &server,
        &[
            "oc",
            "leads",
            "list",
            "--page-size",
            "10",
            "--page",
            "3",
            "-o",
            "ndjson",
        ],
    )
    .await;
    assert!(out.status.success());
    assert_eq!(lines(&out), all[20..]);

    // The first page is served (after no delay), the second fails.
    server.inject(Route::OcLeads, Fault::Delay(std::time::Duration::ZERO));
    server.inject(Route::OcLeads, Fault::Status(503));
    let out = run(
        &server,
        &[
            "--max-attempts",
            "1",
            "oc",
            "leads",
            "list",
            "--page-size",
            "10",
            "-o",
            "ndjson",
            "--limit",
            "15",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(lines(&out), all[..10]);
    let args = resume_args(&out.stderr);
    assert_eq!(
        args.join(" "),
        "--max-attempts 1 oc leads list --page-size 10 --page 2 --output ndjson --limit 5",
        "ThingSpace flags are left out"
    );
    let out = run(&server, &args).await;
    assert!(out.status.success());
    assert_eq!(lines(&out), all[10..15]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_says_which_settings_oc_commands_read() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["--help"]).await;
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("THINGSPACE_OC__BASE_URL"), "{help}");
    assert!(help.contains("THINGSPACE_OC__CLIENT_ID"), "{help}");
    let out = run(&server, &["oc", "leads", "list", "--help"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("--page <N>"));
}

#[test]
fn the_demo_runs_to_completion_and_every_step_checks_out() {
    let out = Command::new(env!("CARGO_BIN_EXE_thingspace"))
        .arg("demo")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run the demo");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}\n{text}");
    assert!(err.is_empty(), "{err}");
    // One line of each step, with the numbers the step checks.
    for line in [
        "token requests: 1, logins: 1\n",
        "0000123456: number ",
        "50/50 succeeded in ",
        "; token requests: 1, logins: 1\n",
        "succeeded after 3 attempts in ",
        "logins: 1, account requests: 2 ",
        "2500 leads in ",
        "2500 leads despite two 503s on page 2",
        "500 more leads, 2500 in all",
        "a repeated cursor: 2000 leads over 2 requests, then Pagination: ",
        "a 202 without Location: 1000 leads over 1 request, then Pagination: ",
        "an HTML page: kind Decode, snippet \"<html>",
        "a malformed account: kind Decode, JSON path \"ipPools[0].isDefaultPool\"",
        "engagement ",
        "status PROVISION 2 accounts",
        "provision with the primary's session: refused",
        "provisioned as managed-user; listed with status PROVISION: true",
        "new token requests 0, new logins 1 (the managed user's session)",
        "new token requests 0, new logins 0",
        "a malformed tenant id never leaves the process: ",
        "25 OC leads; Entra token requests: 1",
        "created again: refused, a lead already exists: TenantId: This MsTenant already exists as an UMP lead!; CompanyName: ",
        "task completed: customer ",
        "replayed offline: identical; secrets in the cassette: none",
        "code=Some(\"AccountNotFound\") not_found=true",
        "requests that reached the mock: 1\n",
        "Demo finished: every check passed",
        "password: Some(SecretString(\"[redacted]\"))",
        ": mdnZipCode \"",
        "the request was sent but its outcome is unknown",
        // The workflow: a lead, a real listener, three activations, one state change.
        ", qualified, in ",
        "registered for CarrierService at http://127.0.0.1:",
        "succeeded: activateResponse, MDN ",
        "failed (Failed): UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive: ",
        "the mock posted 4 callbacks for 3 devices; resends dropped by the tracker: 1\n",
        "succeeded: goToStateResponse, now in ",
        "resends dropped: 1; refused: 0 for credentials, 0 malformed, 0 by a sink\n",
        // The fleet on a real Redis (`cargo xtask test` installs redis-server).
        "3 replicas' first requests: token requests: 1, logins: 1\n",
        "replica C: 990013907835599 succeeded\n",
        "redis-server stopped\n",
    ] {
        assert!(
            text.contains(line),
            "`{line}` missing from the demo:\n{text}"
        );
    }
    assert_eq!(text.matches("\n== ").count(), 25, "every step ran:\n{text}");
    // Each device's outcome once: three activations, two state changes.
    assert_eq!(text.matches("\n  after ").count(), 5, "{text}");
    for secret in [
        "mock-client-secret",
        "mock-password",
        "mock-oc-secret",
        "demo-listener-password",
        "demo-callbacks-password",
        "demo-fleet-callbacks-password",
    ] {
        assert!(!text.contains(secret), "the demo printed {secret}");
    }
}

/// Starts a server on 127.0.0.1 that answers every request with a 503 and sends the request
/// line (`GET /path?query HTTP/1.1`) on the channel.
fn recording_server() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut buf = [0; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let line = head.lines().next().unwrap_or_default().to_owned();
            let body = r#"{"title":"Service Unavailable","status":503}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oc_leads_list_check_online_is_sent_and_repeated_by_the_resume_hint() {
    let server = MockServer::start().await.expect("mock");
    // The Entra token comes from the mock; the leads from a server that records the query.
    let (url, requests) = recording_server();
    // From page 2, so that the failure of the first page fetched has a page to resume from.
    let request_line = |flags: &[&str]| {
        let mut args = vec!["--max-attempts", "1", "oc", "leads", "list"];
        args.extend(["--page-size", "10", "--page", "2"]);
        args.extend(flags);
        let mut cmd = command(&server, &args);
        cmd.env_remove("THINGSPACE_OC.BASE_URL")
            .env("THINGSPACE_OC__BASE_URL", format!("{url}/tenantui"));
        let out = cmd.output().expect("run");
        let line = requests
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("a request reached the recording server");
        (out, line)
    };

    let (out, line) = request_line(&["--check-online"]);
    assert_eq!(out.status.code(), Some(5), "the 503 fails the listing");
    assert!(line.contains("checkOnline=true"), "{line}");
    let args = resume_args(&out.stderr);
    assert!(args.iter().any(|a| a == "--check-online=true"), "{args:?}");
    // The hint is a command line that works (the mock ignores checkOnline).
    let out = run(&server, &args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("an array");
    assert_eq!(printed.len(), server.oc_leads().len() - 10, "pages 2 and 3");

    let (_, line) = request_line(&["--check-online=false"]);
    assert!(line.contains("checkOnline=false"), "{line}");
    let (out, line) = request_line(&[]);
    assert!(!line.contains("checkOnline"), "{line}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("--check-online"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v_logs_one_line_per_request_without_secrets() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["-v", "accounts", "get", "0000123456"]).await;
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let requests: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("thingspace.operation{") && l.contains(": close"))
        .filter(|l| l.contains("thingspace_core::pipeline"))
        .collect();
    // The token request, the login and the logout are operations too, traced the same way.
    assert_eq!(requests.len(), 4, "one line per request:\n{err}");
    assert!(
        requests[3].contains("operation=\"m2m.session.logout\""),
        "{}",
        requests[3]
    );
    assert!(
        requests[0].contains("operation=\"oauth2.token\""),
        "{}",
        requests[0]
    );
    assert!(
        requests[1].contains("operation=\"m2m.session.login\""),
        "{}",
        requests[1]
    );
    let requests = &requests[2..];
    for field in [
        "operation=\"m2m.accounts.get\"",
        "method=GET",
        "status=200",
        "attempts=1",
        "latency_ms=",
    ] {
        assert!(requests[0].contains(field), "{field} in {}", requests[0]);
    }
    assert!(
        !err.contains("\x1b["),
        "no colours when stderr is not a terminal"
    );
    // Nothing logged without -v; no secret logged at any level.
    let quiet = run(&server, &["accounts", "get", "0000123456"]).await;
    assert!(quiet.stderr.is_empty());
    for verbose in ["-v", "-vv", "-vvv"] {
        let out = run(&server, &[verbose, "accounts", "get", "0000123457"]).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.is_empty(), "{verbose} logs");
        for secret in [
            "mock-client-secret",
            "mock-password",
            "mock-bearer-",
            "mock-session-",
        ] {
            assert!(!err.contains(secret), "{verbose} logged {secret}");
        }
    }
}

#[test]
fn mock_refuses_a_bad_leads_spec_as_a_bad_command_line() {
    for spec in ["foo", "=5", "0000123456=many", "0000123456=-1"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_thingspace"))
            .args(["mock", "--leads", spec])
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start");
        // A server that started would run until killed.
        let started = std::time::Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > std::time::Duration::from_secs(20) {
                child.kill().ok();
                panic!("`mock --leads {spec}` started the server");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("output");
        assert_eq!(out.status.code(), Some(2), "{spec}");
        assert!(out.stdout.is_empty(), "no export lines for {spec}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ACCOUNT=N"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_accounts_status_lists_its_values_and_accepts_any_case() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["managed-accounts", "list", "--help"]).await;
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[possible values: ADD, PROVISION]"), "{help}");
    assert!(help.contains("[default: Location]"), "{help}");
    for status in ["ADD", "add", "Provision"] {
        let out = run(
            &server,
            &[
                "managed-accounts",
                "list",
                "2024009649-00001",
                "--status",
                status,
            ],
        )
        .await;
        assert!(
            out.status.success(),
            "{status}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let want = status.to_ascii_uppercase();
        assert!(
            v["managedAccList"]
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|m| m["state"] == want.as_str())),
            "{v}"
        );
    }
    let requests = server.total_requests();
    let out = run(
        &server,
        &[
            "managed-accounts",
            "list",
            "2024009649-00001",
            "--status",
            "added",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("possible values: ADD, PROVISION"), "{err}");
    assert_eq!(server.total_requests(), requests, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_caused_them_one_line_each() {
    let server = MockServer::start().await.expect("mock");
    let out = run(
        &server,
        &[
            "--max-attempts",
            "1",
            "--base-url",
            "http://127.0.0.1:1/api",
            "accounts",
            "get",
            "0000123456",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    let mut lines = err.lines();
    assert!(
        lines.next().is_some_and(|l| l.starts_with("error: ")),
        "{err}"
    );
    let causes: Vec<&str> = lines.collect();
    assert!(!causes.is_empty(), "the causes are printed: {err}");
    assert!(
        causes.iter().all(|l| l.starts_with("  caused by: ")),
        "{err}"
    );
    assert!(
        causes.iter().any(|l| l.to_lowercase().contains("refused")),
        "the cause at the root says why: {err}"
    );
    for secret in ["mock-client-secret", "mock-password"] {
        assert!(!err.contains(secret), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_register_list_and_delete_with_the_password_masked() {
    let server = MockServer::start().await.expect("mock");
    let mut register = command(
        &server,
        &[
            "callbacks",
            "register",
            "0000123456",
            "--service",
            "CarrierService",
            "--url",
            "https://cb.example.com/in",
        ],
    );
    register
        .env("THINGSPACE_CALLBACKS__USERNAME", "cb-user")
        .env("THINGSPACE_CALLBACKS__PASSWORD", "cb-pass-91");
    let out = output(register).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = server
        .listener("0000123456", "CarrierService")
        .expect("registered");
    assert_eq!(stored.username.as_deref(), Some("cb-user"));
    assert_eq!(stored.password.as_deref(), Some("cb-pass-91"));

    let out = run(&server, &["callbacks", "list", "0000123456"]).await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("cb-pass-91") && text.contains("***"),
        "{text}"
    );
    let out = run(
        &server,
        &["callbacks", "list", "0000123456", "--show-secrets"],
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("cb-pass-91"));

    let out = run(
        &server,
        &[
            "callbacks",
            "delete",
            "0000123456",
            "--service",
            "CarrierService",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.listener("0000123456", "CarrierService").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_activate_for_a_lead_prints_the_request_id_and_its_status() {
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 20);
    let lead = server.leads("0000123456")[7].clone();
    let lead_id = lead["leadId"].as_str().expect("id").to_owned();
    let dir = std::env::temp_dir().join(format!("thingspace-cli-devices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("devices.csv");
    std::fs::write(
        &file,
        "kind,id\nimei,990013907835001\niccid,89148000000800784259\n",
    )
    .expect("file");
    let out = run(
        &server,
        &[
            "devices",
            "activate",
            "0000123456",
            "--plan",
            "M2MPlan",
            "--lead",
            &lead_id,
            "--device",
            "imei=990013907835000",
            "--devices-file",
            file.to_str().expect("path"),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let request_id = printed["requestId"].as_str().expect("requestId").to_owned();
    let body = server.request_body(&request_id).expect("received");
    assert_eq!(body["mdnZipCode"], lead["address"]["zip"]);
    assert_eq!(body["devices"].as_array().map(Vec::len), Some(3));

    // One device: its status can be asked for.
    let out = run(&server, ACTIVATE_ONE).await;
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let single = printed["requestId"].as_str().expect("requestId").to_owned();
    let out = run(&server, &["requests", "status", "0000123456", &single]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Success"));

    // Neither --lead nor --zip, or no device: refused as a usage error.
    let out = run(
        &server,
        &[
            "devices",
            "activate",
            "0000123456",
            "--plan",
            "P",
            "--device",
            "imei=1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        &server,
        &[
            "devices",
            "activate",
            "0000123456",
            "--plan",
            "P",
            "--zip",
            "1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_whose_answer_is_lost_exits_9_and_says_how_to_check() {
    let server = MockServer::start().await.expect("mock");
    server.inject(Route::Activate, thingspace::mock::Fault::Status(503));
    let out = run(&server, ACTIVATE_ONE).await;
    assert_eq!(out.status.code(), Some(9));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("outcome is unknown") && err.contains("CarrierService callbacks"),
        "{err}"
    );
    assert_eq!(server.count(Route::Activate), 1);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variable_that_is_not_utf8_neither_panics_nor_prints() {
    use std::os::unix::ffi::OsStrExt;
    let server = MockServer::start().await.expect("mock");
    let mut unrelated = command(&server, &["accounts", "get", "0000123456"]);
    unrelated.env("FOO", std::ffi::OsStr::from_bytes(b"\xff\xfe"));
    let out = output(unrelated).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut ours = command(&server, &["accounts", "get", "0000123456"]);
    ours.env(
        "THINGSPACE_PASSWORD",
        std::ffi::OsStr::from_bytes(b"hunter2-secret\xff"),
    );
    let out = output(ours).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "a configuration error, not a panic"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("THINGSPACE_PASSWORD") && !err.contains("hunter2"),
        "{err}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_file_that_redirects_or_exposes_credentials_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start().await.expect("mock");
    let dir = std::env::temp_dir().join(format!("thingspace-cli-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("thingspace.toml");
    // A file in the working directory that says where requests go, while the secrets come
    // from the environment.
    std::fs::write(&file, format!("base_url = \"{}\"\n", server.base_url())).expect("file");
    let mut cmd = command(&server, &["-v", "accounts", "get", "0000123456"]);
    cmd.env_remove("THINGSPACE_BASE_URL").current_dir(&dir);
    let out = output(cmd).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("configuration file in use"), "{err}");
    assert!(
        err.contains("in the working directory sets base_url"),
        "{err}"
    );

    // A file holding the password, readable by others: warned; by its owner only: not.
    write_url_and_password(&file, &server);
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let mut cmd = command(&server, &["accounts", "get", "0000123456"]);
        cmd.env_remove("THINGSPACE_BASE_URL")
            .env_remove("THINGSPACE_PASSWORD")
            .current_dir(&dir);
        let out = output(cmd).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.contains("chmod 600"), warned, "{mode:o}: {err}");
        assert!(!err.contains(thingspace::mock::PASSWORD), "{err}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_ends_a_listing_with_valid_output_and_a_resume_hint() {
    use std::io::Read;
    let server = MockServer::start_with(
        thingspace::mock::MockConfig::default()
            .leads_page_size(10)
            .leads_latency(std::time::Duration::from_millis(400)),
    )
    .await
    .expect("mock");
    server.set_lead_count("0000123456", 200);
    let mut cmd = command(&server, &["leads", "list", "0000123456", "-o", "json"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    // Some pages in, interrupt it as a terminal's Ctrl-C would.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || {
        let (mut stdout, mut stderr) = (String::new(), String::new());
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut stdout)
            .expect("read");
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read");
        (child.wait().expect("wait"), stdout, stderr)
    })
    .await
    .expect("join");
    let (status, stdout, stderr) = out;
    assert_eq!(status.code(), Some(130), "{stderr}");
    let printed: Vec<serde_json::Value> =
        serde_json::from_str(&stdout).expect("the JSON array was closed");
    assert!(
        !printed.is_empty() && printed.len() < 200,
        "{}",
        printed.len()
    );
    assert!(stderr.contains("resume with: thingspace"), "{stderr}");
    assert!(stderr.contains("--next"), "{stderr}");
}

/// A port on 127.0.0.1 free a moment ago, for a listener the binary starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

const CALLBACK_USER: &str = "ts-callbacks";
const CALLBACK_PASSWORD: &str = "cb-secret-pa55";

/// Registers a `CarrierService` listener at `port` with the callback credentials (the password
/// `password`).
fn register_carrier_listener(server: &MockServer, port: u16, password: &str) {
    server.register_listener(
        "0000123456",
        "CarrierService",
        thingspace::mock::Listener {
            url: format!("http://127.0.0.1:{port}/ts/carrier"),
            username: Some(CALLBACK_USER.into()),
            password: Some(password.into()),
        },
    );
}

/// `devices activate` of three devices, waiting on `port` for `timeout` seconds.
fn activate_three_and_wait(server: &MockServer, port: u16, timeout: &str) -> Command {
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = command(
        server,
        &[
            "devices",
            "activate",
            "0000123456",
            "--plan",
            "M2MPlan",
            "--zip",
            "94203",
            "--device",
            "imei=1",
            "--device",
            "imei=2",
            "--device",
            "imei=3",
            "--wait",
            "--listen",
            &listen,
            "--timeout",
            timeout,
        ],
    );
    cmd.env("THINGSPACE_CALLBACKS__USERNAME", CALLBACK_USER)
        .env("THINGSPACE_CALLBACKS__PASSWORD", CALLBACK_PASSWORD);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_wait_prints_each_outcome_once_and_exits_10_when_one_failed() {
    let server = MockServer::start().await.expect("mock");
    let port = free_port();
    register_carrier_listener(&server, port, CALLBACK_PASSWORD);
    server.plan_callbacks(
        thingspace::mock::CallbackPlan::default()
            .resend([0, 2])
            .concurrent(true)
            .fail([1]),
    );
    let out = output(activate_three_and_wait(&server, port, "20")).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{stdout}\n{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(
        lines.len(),
        4,
        "the request id, then one line per device: {stdout}"
    );
    let request_id = lines[0]["requestId"].as_str().expect("a request id");
    let mut ids: Vec<&str> = lines[1..].iter().filter_map(|l| l["id"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["1", "2", "3"], "each device once, resends dropped");
    for line in &lines[1..] {
        assert_eq!(line["requestId"], request_id);
        assert_eq!(line["kind"], "imei");
        let expected = if line["id"] == "2" {
            "failed"
        } else {
            "success"
        };
        assert_eq!(line["status"], expected, "{line}");
    }
    assert!(
        stderr
            .contains("device imei=2 failed: UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive"),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 3 devices failed"), "{stderr}");
    assert!(!stdout.contains(CALLBACK_PASSWORD) && !stderr.contains(CALLBACK_PASSWORD));
    let delivered = server.callback_deliveries();
    assert!(
        delivered.len() >= 5,
        "the mock resent two messages: {delivered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_with_the_wrong_password_are_refused_and_the_timeout_names_the_devices() {
    let server = MockServer::start().await.expect("mock");
    let port = free_port();
    register_carrier_listener(&server, port, "not-the-configured-one");
    let out = output(activate_three_and_wait(&server, port, "2")).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    assert!(
        stderr.contains("3 device(s) did not report in time: imei=1 imei=2 imei=3"),
        "{stderr}"
    );
    assert!(stderr.contains("requests status"), "{stderr}");
    let refused = server.callback_deliveries();
    assert!(
        !refused.is_empty() && refused.iter().all(|d| d.outcome == Some(401)),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_listen_keeps_each_callback_in_the_file_without_its_password() {
    let server = MockServer::start().await.expect("mock");
    let port = free_port();
    register_carrier_listener(&server, port, CALLBACK_PASSWORD);
    let dir = std::env::temp_dir().join(format!("ts-cli-listen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("callbacks.ndjson");
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = command(
        &server,
        &[
            "callbacks",
            "listen",
            "--listen",
            &listen,
            "--out",
            &file.display().to_string(),
        ],
    );
    cmd.env("THINGSPACE_CALLBACKS__USERNAME", CALLBACK_USER)
        .env("THINGSPACE_CALLBACKS__PASSWORD", CALLBACK_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("started");
    let mut up = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(up, "the listener never came up");
    server.plan_callbacks(thingspace::mock::CallbackPlan::default().resend([1]));
    let out = run(
        &server,
        &[
            "devices",
            "activate",
            "0000123456",
            "--plan",
            "M2MPlan",
            "--zip",
            "94203",
            "--device",
            "imei=7",
            "--device",
            "imei=8",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        server
            .settle_callbacks(std::time::Duration::from_secs(20))
            .await
    );
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .map(|s| s.success());
    assert_eq!(interrupted.ok(), Some(true));
    let done = output_of(child).await;
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("the file");
    assert_eq!(
        text.lines().count(),
        3,
        "every delivery, the resend included: {text}"
    );
    assert!(!text.contains(CALLBACK_PASSWORD), "{text}");
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits for a spawned child, off the runtime's threads.
async fn output_of(child: std::process::Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_list_pages_through_in_every_format() {
    let server = MockServer::start().await.expect("mock");
    server.set_device_count("0000123456", 2_500);
    let out = run(&server, &["devices", "list", "0000123456", "-o", "ndjson"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 2_500);
    assert_eq!(server.count(Route::DeviceList), 2, "two pages");
    let out = run(
        &server,
        &["devices", "list", "0000123456", "-o", "csv", "--limit", "2"],
    )
    .await;
    let csv = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[0].starts_with("deviceIds,state,servicePlan,connected,ipAddress,lastActivationDate,"),
        "the columns of earlier versions come first, in their order: {}",
        rows[0]
    );
    assert!(
        rows[1].starts_with("imei=990013900000000 iccid=8914800000000000000,active,M2MPlan,"),
        "{csv}"
    );
    let out = run(
        &server,
        &[
            "devices",
            "list",
            "0000123456",
            "-o",
            "table",
            "--limit",
            "1",
        ],
    )
    .await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table
            .lines()
            .next()
            .is_some_and(|h| h.starts_with("deviceIds ")),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_state_waits_for_each_device_of_the_state_change() {
    let server = MockServer::start().await.expect("mock");
    let port = free_port();
    server.register_listener(
        "0000123456",
        "StateService",
        thingspace::mock::Listener {
            url: format!("http://127.0.0.1:{port}/"),
            username: Some(CALLBACK_USER.into()),
            password: Some(CALLBACK_PASSWORD.into()),
        },
    );
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = command(
        &server,
        &[
            "devices",
            "state",
            "0000123456",
            "--service",
            "Hibernate",
            "--state",
            "Sleeping",
            "--plan",
            "M2MPlan",
            "--zip",
            "94203",
            "--device",
            "imei=5",
            "--device",
            "imei=6",
            "--wait",
            "--listen",
            &listen,
            "--timeout",
            "20",
        ],
    );
    cmd.env("THINGSPACE_CALLBACKS__USERNAME", CALLBACK_USER)
        .env("THINGSPACE_CALLBACKS__PASSWORD", CALLBACK_PASSWORD);
    let out = output(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l["status"] == "success" && l["response"]["goToStateResponse"].is_object()),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_logs_out_the_session_it_opened() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["accounts", "get", "0000123456"]).await;
    assert!(out.status.success());
    assert_eq!(server.count(Route::Login), 1);
    assert_eq!(server.count(Route::Logout), 1, "the session was ended");
    let out = run(&server, &["accounts", "get", "missing-1"]).await;
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(server.count(Route::Logout), 2, "after a failure too");
    let out = run(
        &server,
        &[
            "devices",
            "activate",
            "0000123456",
            "--plan",
            "P",
            "--zip",
            "1",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "no device: refused before any login"
    );
    assert_eq!(server.count(Route::Logout), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_device_wait_that_times_out_reports_the_request_status() {
    let server = MockServer::start().await.expect("mock");
    // No listener registered: no callback will come.
    let listen = format!("127.0.0.1:{}", free_port());
    let mut cmd = command(
        &server,
        &[
            "devices",
            "activate",
            "0000123456",
            "--plan",
            "M2MPlan",
            "--zip",
            "94203",
            "--device",
            "imei=42",
            "--wait",
            "--listen",
            &listen,
            "--timeout",
            "1",
        ],
    );
    cmd.env("THINGSPACE_CALLBACKS__USERNAME", CALLBACK_USER)
        .env("THINGSPACE_CALLBACKS__PASSWORD", CALLBACK_PASSWORD);
    let out = output(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    assert!(
        stderr.contains("1 device(s) did not report in time: imei=42"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the request's status, as the service reports it: Success"),
        "{stderr}"
    );
    assert_eq!(server.count(Route::RequestStatus), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_accounts_add_then_provision_and_cancel_as_the_managed_profile() {
    let server = MockServer::start_with(thingspace::mock::MockConfig::default().managed_user(
        "1223334444-00001",
        "managed-user",
        "managed-pass",
    ))
    .await
    .expect("mock");
    let with_profile = |args: &[&str]| {
        let mut cmd = command(&server, args);
        cmd.env("THINGSPACE_PROFILES__MANAGED__USERNAME", "managed-user")
            .env("THINGSPACE_PROFILES__MANAGED__PASSWORD", "managed-pass");
        cmd
    };
    let sku = "TS-LOC-COARSE-CellID-Aggr";
    let out = output(with_profile(&[
        "managed-accounts",
        "add",
        "2024009649-00001",
        "1223334444-00001",
        "--type",
        sku,
    ]))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let txid = added["txid"].as_str().expect("a txid").to_owned();
    let transaction = [
        "1223334444-00001",
        "--primary",
        "2024009649-00001",
        "--type",
        sku,
        "--txid",
        &txid,
    ];
    // Without --profile the primary's user is refused by the service.
    let mut args = vec!["managed-accounts", "provision"];
    args.extend(transaction);
    let out = output(with_profile(&args)).await;
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not manage"));
    args.extend(["--profile", "managed"]);
    let out = output(with_profile(&args)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = output(with_profile(&[
        "managed-accounts",
        "list",
        "2024009649-00001",
        "--status",
        "provision",
    ]))
    .await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&txid));
    let mut cancel = vec!["managed-accounts", "cancel", "--profile", "managed"];
    cancel.extend(transaction);
    let out = output(with_profile(&cancel)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Again: the service answers Fail, an error with its reason.
    let out = output(with_profile(&cancel)).await;
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not managed"));
    let unknown = output(with_profile(&[
        "--profile",
        "billing",
        "accounts",
        "get",
        "1",
    ]))
    .await;
    assert_eq!(
        unknown.status.code(),
        Some(3),
        "an unknown profile is a configuration error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oc_lead_create_then_convert_wait_prints_the_customer() {
    const TENANT: &str = "0c0ffee0-1234-4abc-8def-0123456789ab";
    let server = MockServer::start().await.expect("mock");
    let out = run(
        &server,
        &[
            "oc",
            "leads",
            "create",
            "--tenant",
            TENANT,
            "--company",
            "Cli Co",
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let lead: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(lead["tenantId"], TENANT);
    assert_eq!(lead["contactDetails"][0]["companyName"], "Cli Co");

    // The same create again: the service's messages, one line each, status 5.
    let out = run(
        &server,
        &[
            "oc",
            "leads",
            "create",
            "--tenant",
            TENANT,
            "--company",
            "Cli Co",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("This MsTenant already exists as an UMP lead!")
            && err.contains("Company name is already used for an UMP lead."),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = run(
        &server,
        &[
            "oc",
            "leads",
            "convert",
            TENANT,
            "--short-name",
            "Cli_Co",
            "--full-name",
            "Cli Company",
            "--wait",
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (task, output) = stdout
        .split_once('\n')
        .expect("the task id, then the output");
    let task: String = serde_json::from_str(task).expect("the task id");
    assert!(task.starts_with("wst_"), "{task}");
    let output: serde_json::Value = serde_json::from_str(output).expect("json");
    let guid = output["umpCustomerGuid"].as_str().expect("umpCustomerGuid");
    assert!(err.contains(&format!("waiting for task {task}")), "{err}");
    assert_eq!(
        server.oc_lead(TENANT).expect("lead")["umpCustomerGuid"],
        guid,
        "the lead became the customer"
    );

    let out = run(&server, &["oc", "customers", "list"]).await;
    assert!(out.status.success());
    let customers: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        customers
            .iter()
            .any(|c| c["UmpCustomerGuid"] == guid && c["CustomerShortName"] == "Cli_Co"),
        "{customers:?}"
    );
    let out = run(&server, &["oc", "tasks", "get", &task]).await;
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(done["status"], "CompletedSuccess");
    let out = run(&server, &["oc", "numbers", "list", TENANT]).await;
    let numbers: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(numbers.len(), server.oc_numbers(TENANT).len());
    assert!(!numbers.is_empty());

    // A short name the service would refuse is refused before anything is sent.
    server.reset_counts();
    let out = run(
        &server,
        &[
            "oc",
            "leads",
            "convert",
            TENANT,
            "--short-name",
            "no",
            "--full-name",
            "X",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3 to 15 letters, digits or `_`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        server.count(Route::EntraToken) + server.count(Route::OcLeads),
        0
    );
    assert_eq!(server.count(Route::OcLeadConvert), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oc_convert_wait_of_a_failed_task_exits_5_with_its_messages() {
    const TENANT: &str = "f94238e5-4f2c-4e1b-8125-2d27122ca75f";
    let server = MockServer::start().await.expect("mock");
    server.fail_next_oc_task(&["Provisioning refused\u{1b}[2J by the Live Platform"]);
    let out = run(
        &server,
        &[
            "oc",
            "leads",
            "convert",
            TENANT,
            "--short-name",
            "SIPTest",
            "--full-name",
            "SIP Test",
            "--wait",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("failed: Error: Provisioning refused [2J by the Live Platform"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
    let task: String = serde_json::from_slice(&out.stdout).expect("the task id was printed");
    assert!(task.starts_with("wst_"));

    // Traced at every level, the Entra client secret and tokens are never printed.
    let out = run(
        &server,
        &[
            "-vvv",
            "oc",
            "leads",
            "create",
            "--tenant",
            "0c0ffee0-1234-4abc-8def-0123456789ab",
            "--company",
            "Traced Co",
        ],
    )
    .await;
    assert!(out.status.success());
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("oc.leads.create"), "traced");
    for secret in [thingspace::mock::OC_CLIENT_SECRET, "mock-entra-"] {
        assert!(!printed.contains(secret), "{secret} printed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_printed_for_each_shell() {
    let server = MockServer::start().await.expect("mock");
    for (shell, marker) in [
        ("bash", "_thingspace()"),
        ("zsh", "#compdef thingspace"),
        ("fish", "complete -c thingspace"),
    ] {
        let out = run(&server, &["completions", shell]).await;
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("managed-accounts") && script.contains("callbacks"),
            "{shell}"
        );
    }
    assert_eq!(server.total_requests(), 0, "nothing was sent");
    let bad = run(&server, &["completions", "tcsh"]).await;
    assert_eq!(bad.status.code(), Some(2));
}

/// A directory of its own for one test, removed by the test when it ends.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("thingspace-cli-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// `cmd` run with its stderr (and stdout, unless `stdout_to` names a file for it) on a
/// terminal, through `script` (util-linux): what the terminal showed is the output's stdout.
async fn in_terminal(cmd: &Command, stdout_to: Option<&std::path::Path>) -> Output {
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
    let mut line: Vec<String> = vec![quote(cmd.get_program())];
    line.extend(cmd.get_args().map(quote));
    if let Some(path) = stdout_to {
        line.push(format!("> {}", quote(path.as_os_str())));
    }
    let mut script = Command::new("script");
    script
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env_clear()
        // A terminal that draws: without TERM, indicatif takes it for a dumb one.
        .env("TERM", "xterm")
        .stdin(Stdio::null());
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            script.env(key, value);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        script.current_dir(dir);
    }
    output(script).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_man_page_is_generated_from_the_command_line_definitions() {
    let server = MockServer::start().await.expect("mock");
    let out = run(&server, &["man"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH thingspace 1"), "{page}");
    for word in [
        "GLOBAL OPTIONS",
        "managed\\-accounts",
        "\\-\\-base\\-url",
        "\\-\\-quiet",
    ] {
        assert!(page.contains(word), "{word} in {page}");
    }
    let dir = temp_dir("man");
    let out = run(&server, &["man", "--dir", dir.to_str().expect("utf-8")]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "thingspace.1",
        "thingspace-leads-list.1",
        "thingspace-config-show.1",
    ] {
        assert!(dir.join(page).is_file(), "{page}");
    }
    assert_eq!(server.total_requests(), 0, "nothing was sent");
    std::fs::remove_dir_all(dir).ok();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colours_follow_color_and_no_color() {
    let server = MockServer::start().await.expect("mock");
    let args = ["-v", "accounts", "get", "0000123456"];
    let coloured = |out: &Output| out.stdout.windows(2).any(|w| w == b"\x1b[");
    // On a terminal: colours unless NO_COLOR or --color never.
    let out = in_terminal(&command(&server, &args), None).await;
    assert!(coloured(&out), "{}", String::from_utf8_lossy(&out.stdout));
    let mut cmd = command(&server, &args);
    cmd.env("NO_COLOR", "1");
    let out = in_terminal(&cmd, None).await;
    assert!(
        !coloured(&out),
        "NO_COLOR: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut never = vec!["--color", "never"];
    never.extend(args);
    let out = in_terminal(&command(&server, &never), None).await;
    assert!(!coloured(&out), "--color never");
    // Into a pipe: none, unless --color always (which overrides NO_COLOR).
    let mut always = vec!["--color", "always"];
    always.extend(args);
    let mut cmd = command(&server, &always);
    cmd.env("NO_COLOR", "1");
    let out = output(cmd).await;
    assert!(
        out.stderr.windows(2).any(|w| w == b"\x1b["),
        "--color always"
    );
    let bad = run(&server, &["--color", "pink", "accounts", "get", "1"]).await;
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v_lines_carry_each_field_once_and_nothing_else_is_logged() {
    let server = MockServer::start().await.expect("mock");
    let out = run(
        &server,
        &["-v", "leads", "list", "0000123456", "-o", "ndjson"],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    // The token, the login, the leads page and the logout: one line each, nothing else.
    assert_eq!(lines.len(), 4, "{err}");
    for line in &lines {
        assert!(
            line.contains("thingspace.operation{") && line.ends_with(": close"),
            "{line}"
        );
        assert_eq!(
            line.matches("thingspace.operation{").count(),
            1,
            "no parent span: {line}"
        );
        for field in ["operation=", "status=", "attempts=", "latency_ms="] {
            assert_eq!(line.matches(field).count(), 1, "{field} once in {line}");
        }
        assert!(!line.contains("http.response.status_code"), "{line}");
    }
    assert!(
        lines[2].contains("operation=\"m2m.leads.list\""),
        "{}",
        lines[2]
    );
    // -vv adds the attempts, each a line of its own.
    let out = run(&server, &["-vv", "accounts", "get", "0000123456"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.contains("thingspace.attempt{attempt=1")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_options_have_a_heading_and_flags_a_command_ignores_are_refused() {
    let server = MockServer::start().await.expect("mock");
    for args in [&["--help"][..], &["leads", "list", "--help"]] {
        let out = run(&server, args).await;
        let help = String::from_utf8_lossy(&out.stdout);
        let global = help
            .split("Global options:")
            .nth(1)
            .unwrap_or_else(|| panic!("{help}"));
        for flag in [
            "--config",
            "--base-url",
            "--profile",
            "--verbose",
            "--quiet",
            "--color",
        ] {
            assert!(global.contains(flag), "{flag} under Global options: {help}");
        }
    }
    for args in [
        &[
            "--base-url",
            "http://127.0.0.1:1/api",
            "oc",
            "leads",
            "list",
        ][..],
        &["oc", "customers", "list", "--username", "someone"],
        &["oc", "tasks", "get", "wst_1", "--profile", "ops"],
        &["--config", "x.toml", "completions", "bash"],
        &["demo", "--max-attempts", "2"],
        &[
            "callbacks",
            "listen",
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            "x",
        ],
        &["config", "show", "--profile", "ops"],
    ] {
        let out = run(&server, args).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("does not apply here"), "{args:?}: {err}");
    }
    assert_eq!(server.total_requests(), 0, "nothing was sent");
    // The flags a command reads are still taken.
    let out = run(&server, &["--max-attempts", "2", "oc", "customers", "list"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The settings `config show -o json` printed, by key: (value, source).
fn shown_settings(out: &Output) -> std::collections::BTreeMap<String, (serde_json::Value, String)> {
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("json: {}", String::from_utf8_lossy(&out.stdout)));
    rows.into_iter()
        .map(|r| {
            let key = r["key"].as_str().expect("key").to_owned();
            let source = r["source"].as_str().expect("source").to_owned();
            (key, (r["value"].clone(), source))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_show_says_where_each_setting_came_from_with_secrets_masked() {
    let server = MockServer::start().await.expect("mock");
    let dir = temp_dir("config-show");
    let xdg = dir.join("xdg");
    std::fs::create_dir_all(xdg.join("thingspace")).expect("dir");
    let user_file = xdg.join("thingspace").join("config.toml");
    std::fs::write(&user_file, "scope = \"from-user\"\nusername = \"user-u\"\n[callbacks]\nusername = \"cb\"\npassword = \"cb-pw-in-file\"\n").expect("file");
    std::fs::write(dir.join("thingspace.toml"), "scope = \"from-cwd\"\n").expect("file");
    let mut cmd = command(
        &server,
        &["--max-attempts", "4", "config", "show", "-o", "json"],
    );
    cmd.current_dir(&dir)
        .env("XDG_CONFIG_HOME", &xdg)
        .env("THINGSPACE_PROFILES__OPS__USERNAME", "ops")
        .env("THINGSPACE_PROFILES__OPS__PASSWORD", "ops-pw-in-env")
        .env(
            "THINGSPACE_REDIS__URL",
            "redis://:redis-pw-in-env@127.0.0.1:1/0",
        );
    let out = output(cmd).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = shown_settings(&out);
    let source = |key: &str| {
        shown
            .get(key)
            .map(|(_, s)| s.as_str())
            .unwrap_or_else(|| panic!("{key} in {shown:?}"))
    };
    let value = |key: &str| shown[key].0.clone();
    assert_eq!(source("client_id"), "environment THINGSPACE_CLIENT_ID");
    assert_eq!(source("retry.max_attempts"), "flag --max-attempts");
    assert_eq!(value("retry.max_attempts"), "4");
    assert!(
        source("callbacks.username").starts_with("user file ")
            && source("callbacks.username").ends_with("config.toml"),
        "{}",
        source("callbacks.username")
    );
    assert!(
        source("scope").starts_with("file ") && source("scope").ends_with("thingspace.toml"),
        "{}",
        source("scope")
    );
    assert_eq!(
        value("scope"),
        "from-cwd",
        "the working directory's file wins over the user's"
    );
    assert_eq!(source("timeout_secs"), "default");
    assert_eq!(source("retry.initial_backoff_ms"), "default");
    for key in [
        "client_secret",
        "password",
        "profiles.ops.password",
        "callbacks.password",
        "oc.client_secret",
    ] {
        assert_eq!(value(key), "***", "{key}");
    }
    assert_eq!(value("redis.url"), "redis://:***@127.0.0.1:1/0");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [
        thingspace::mock::PASSWORD,
        "mock-client-secret",
        "mock-oc-secret",
        "ops-pw-in-env",
        "redis-pw-in-env",
        "cb-pw-in-file",
    ] {
        assert!(!printed.contains(secret), "{secret} printed");
    }
    // The table names the same sources.
    let mut cmd = command(&server, &["config", "show"]);
    cmd.current_dir(&dir).env("XDG_CONFIG_HOME", &xdg);
    let out = output(cmd).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("KEY"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("client_secret") && l.contains("\"***\"")),
        "{table}"
    );
    assert!(!table.contains("mock-client-secret"));
    // A malformed value is shown with the rest, then reported as a configuration error.
    let mut cmd = command(&server, &["config", "show"]);
    cmd.env("THINGSPACE_TIMEOUT_SECS", "soon");
    let out = output(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("timeout_secs"));
    assert_eq!(server.total_requests(), 0, "nothing was sent");
    std::fs::remove_dir_all(dir).ok();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_file_is_read_below_the_working_directorys_under_the_same_rules() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start().await.expect("mock");
    let dir = temp_dir("user-file");
    let home = dir.join("home");
    let user_dir = home.join(".config").join("thingspace");
    std::fs::create_dir_all(&user_dir).expect("dir");
    let user_file = user_dir.join("config.toml");
    let work = dir.join("work");
    std::fs::create_dir_all(&work).expect("dir");
    // The user file alone says where to go and who to be: the command works from it.
    write_url_and_password(&user_file, &server);
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        std::fs::set_permissions(&user_file, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let mut cmd = command(&server, &["-v", "accounts", "get", "0000123456"]);
        cmd.env_remove("THINGSPACE_BASE_URL")
            .env_remove("THINGSPACE_PASSWORD")
            .env("HOME", &home)
            .current_dir(&work);
        let out = output(cmd).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("configuration file in use") && err.contains("config.toml"),
            "{err}"
        );
        assert_eq!(err.contains("chmod 600"), warned, "{mode:o}: {err}");
        assert!(!err.contains(thingspace::mock::PASSWORD), "{err}");
    }
    // A file in the working directory wins over it, and setting the URL there while the
    // password comes from the user file is warned about.
    std::fs::write(
        work.join("thingspace.toml"),
        "base_url = \"http://127.0.0.1:1/api\"\n",
    )
    .expect("file");
    let mut cmd = command(
        &server,
        &["--max-attempts", "1", "accounts", "get", "0000123456"],
    );
    cmd.env_remove("THINGSPACE_BASE_URL")
        .env_remove("THINGSPACE_PASSWORD")
        .env("HOME", &home)
        .current_dir(&work);
    let out = output(cmd).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(6),
        "the working directory's URL was used: {err}"
    );
    assert!(
        err.contains("in the working directory sets base_url"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_of_a_lead_is_a_column_of_csv_and_table() {
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 100);
    let args =
        |format: &'static str| ["leads", "list", "0000123456", "-o", format, "--limit", "60"];
    let out = run(&server, &args("json")).await;
    let leads: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let mut names = std::collections::BTreeSet::new();
    for lead in &leads {
        for (key, value) in lead.as_object().expect("object") {
            match value.as_object() {
                Some(inner) => names.extend(inner.keys().cloned()),
                None => {
                    names.insert(key.clone());
                }
            }
        }
    }
    assert!(
        names.contains("country"),
        "the mock gives some leads a country: {names:?}"
    );
    for format in ["csv", "table"] {
        let out = run(&server, &args(format)).await;
        let text = String::from_utf8_lossy(&out.stdout);
        let header: Vec<&str> = text
            .lines()
            .next()
            .unwrap_or_default()
            .split([',', ' '])
            .filter(|h| !h.is_empty())
            .collect();
        for name in &names {
            assert!(
                header.contains(&name.as_str()),
                "{format}: {name} in {header:?}"
            );
        }
        let with_country = leads
            .iter()
            .position(|l| l["address"]["country"].is_string())
            .expect("a lead with a country");
        let row = text.lines().nth(with_country + 1).expect("row");
        assert!(row.contains("USA"), "{format}: {row}");
    }
}

/// The records of CSV `text` (RFC 4180: `"` quotes a field, `""` is a quote in it).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => record.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c => field.push(c),
        }
    }
    records
}

/// The cells of each line of a table, cut where the header's names begin.
fn table_records(text: &str) -> Vec<Vec<String>> {
    let mut lines = text.lines();
    let header: Vec<char> = lines.next().unwrap_or_default().chars().collect();
    let starts: Vec<usize> = (0..header.len())
        .filter(|&i| header[i] != ' ' && (i == 0 || header[i - 1] == ' '))
        .collect();
    std::iter::once(header.iter().collect::<String>())
        .chain(lines.map(str::to_owned))
        .map(|line| {
            let chars: Vec<char> = line.chars().collect();
            starts
                .iter()
                .enumerate()
                .map(|(i, &start)| {
                    let end = starts.get(i + 1).map_or(chars.len(), |next| next - 1);
                    let cell: String = chars
                        .get(start..end.min(chars.len()).max(start))
                        .unwrap_or_default()
                        .iter()
                        .collect();
                    cell.trim_end().to_owned()
                })
                .collect()
        })
        .collect()
}

/// Writes a configuration file at `path` that points at `server` and holds its password.
fn write_url_and_password(path: &std::path::Path, server: &MockServer) {
    std::fs::write(
        path,
        format!(
            "base_url = \"{}\"\npassword = \"{}\"\n",
            server.base_url(),
            thingspace::mock::PASSWORD
        ),
    )
    .expect("file");
}

/// Runs the listing `args` with `-o json`, `csv` and `table`, and asserts that the CSV carries
/// every value of every item's JSON in the column named for its field, and the table every CSV
/// cell (cut to its column's width, with `…`, when it is longer).
async fn assert_every_format_carries_the_json(server: &MockServer, args: &[&str]) {
    let output = |format: &'static str| {
        let args: Vec<&str> = args.iter().copied().chain(["-o", format]).collect();
        let cmd = command(server, &args);
        async move {
            let out = output(cmd).await;
            assert!(
                out.status.success(),
                "{format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).expect("utf-8")
        }
    };
    let items: Vec<serde_json::Value> = serde_json::from_str(&output("json").await).expect("json");
    assert!(items.len() > 1, "{args:?}: a listing of several items");
    let csv = csv_records(&output("csv").await);
    let header = &csv[0];
    assert_eq!(csv.len(), items.len() + 1, "{args:?}: a CSV row per item");
    for (item, row) in items.iter().zip(&csv[1..]) {
        for (path, column, value) in carried(item, header) {
            let index = header.iter().position(|h| *h == column).unwrap_or_else(|| {
                panic!("{args:?} -o csv: no column `{column}` for {path} in {header:?}")
            });
            // A value a spreadsheet would run is shown behind a `'`.
            let cell = row[index]
                .strip_prefix('\'')
                .filter(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r']))
                .unwrap_or(&row[index]);
            assert!(
                cell.contains(&value),
                "{args:?} -o csv: {path} = {value:?} is not in the column {column}: {cell:?}"
            );
        }
    }
    let table = table_records(&output("table").await);
    assert_eq!(
        &table[0], header,
        "{args:?}: the table's columns are the CSV's"
    );
    assert_eq!(table.len(), csv.len(), "{args:?}: a table row per item");
    for (row, csv_row) in table[1..].iter().zip(&csv[1..]) {
        for ((cell, full), column) in row.iter().zip(csv_row).zip(header) {
            let full = full
                .strip_prefix('\'')
                .filter(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r']))
                .unwrap_or(full);
            let whole = cell == full;
            let cut = cell
                .strip_suffix('…')
                .is_some_and(|kept| full.starts_with(kept));
            assert!(
                whole || cut,
                "{args:?} -o table: the column {column} shows {cell:?}, not {full:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_a_listing_prints_as_json_is_in_its_csv_and_table() {
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 120);
    server.set_device_count("0000123456", 40);
    assert_every_format_carries_the_json(
        &server,
        &["leads", "list", "0000123456", "--limit", "60"],
    )
    .await;
    assert_every_format_carries_the_json(&server, &["devices", "list", "0000123456"]).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_show_progress_with_rate_and_elapsed_time_on_a_terminal_unless_quiet() {
    let server = MockServer::start().await.expect("mock");
    server.set_lead_count("0000123456", 2_500);
    server.inject(
        Route::Leads,
        thingspace::mock::Fault::Delay(std::time::Duration::from_millis(700)),
    );
    let dir = temp_dir("progress");
    let file = dir.join("leads.json");
    let out = in_terminal(
        &command(&server, &["leads", "list", "0000123456"]),
        Some(&file),
    )
    .await;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{:?} {shown} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains(" leads, ") && shown.contains("/s") && shown.contains("s)"),
        "{shown}"
    );
    let listed: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&file).expect("file")).expect("json");
    assert_eq!(listed.len(), 2_500);
    let out = in_terminal(
        &command(&server, &["-q", "leads", "list", "0000123456"]),
        Some(&file),
    )
    .await;
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "--quiet: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Not on a terminal: nothing on stderr.
    let out = run(&server, &["leads", "list", "0000123456"]).await;
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_shows_the_devices_reported_on_a_terminal_and_quiet_silences_information() {
    let server = std::sync::Arc::new(MockServer::start().await.expect("mock"));
    let port = free_port();
    register_carrier_listener(&server, port, CALLBACK_PASSWORD);
    server.pause_callbacks();
    let resume = {
        let server = server.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
            server.resume_callbacks();
        })
    };
    let dir = temp_dir("wait-progress");
    let file = dir.join("outcomes.ndjson");
    let out = in_terminal(&activate_three_and_wait(&server, port, "20"), Some(&file)).await;
    resume.await.expect("join");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("/3 devices reported ("), "{shown}");
    assert!(shown.contains("/s"), "{shown}");
    let lines = std::fs::read_to_string(&file).expect("file");
    assert_eq!(lines.lines().count(), 4, "{lines}");
    // --quiet: no "listening for callbacks" line, no bar; errors still said.
    let loud = output(activate_three_and_wait(&server, free_port(), "1")).await;
    assert!(String::from_utf8_lossy(&loud.stderr).contains("listening for callbacks"));
    let port = free_port();
    register_carrier_listener(&server, port, CALLBACK_PASSWORD);
    let mut cmd = activate_three_and_wait(&server, port, "20");
    cmd.arg("--quiet");
    let out = output(cmd).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let failed = output({
        let mut cmd = command(&server, &["-q", "accounts", "get", "missing-1"]);
        cmd.stdin(Stdio::null());
        cmd
    })
    .await;
    assert_eq!(failed.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("AccountNotFound"));
    std::fs::remove_dir_all(dir).ok();
}
