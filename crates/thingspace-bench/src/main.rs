//! `thingspace-bench`: the SDK against hand-written `reqwest` + `serde_json` code, side by side.
//!
//! `thingspace-bench run [--smoke] [--out DIR]` starts the mock server in a separate process,
//! runs every scenario through the SDK and through the baseline, prints a table (figures,
//! ratio, target, met) and writes the figures as JSON, with a self-contained HTML report and
//! its chart as SVG beside it. `report <JSON>` writes the report of an earlier run again;
//! `overhead` and `layers` are diagnostics (docs/performance.md). The others are the children
//! `run` starts: `serve` (the mock), `stream` and `stream-devices` (one listing, reporting its
//! peak resident memory), `await-activation` (one activation whose every callback is awaited)
//! and `fleet-worker` (one process of scenario 10's fleet).

mod baseline;
mod devices;
mod figure;
mod fleet;
mod ingest;
mod layers;
mod measure;
mod report;
mod scenarios;

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, ExitCode, Stdio},
    time::Duration,
};

use thingspace::mock::{MockConfig, MockServer};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("thingspace-bench: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("run") => Options::parse(&args[1..])
            .and_then(|options| runtime.block_on(scenarios::run(options))),
        Some("serve") => runtime.block_on(serve(&args[1..])),
        Some("overhead") => runtime.block_on(scenarios::overhead()),
        Some("report") => report::from_json(&args[1..]),
        Some("layers") => runtime.block_on(layers::run(&args[1..])),
        Some("stream") => runtime.block_on(scenarios::stream_child(&args[1..])),
        Some("stream-devices") => runtime.block_on(devices::stream_child(&args[1..])),
        Some("await-activation") => runtime.block_on(devices::activation_child(&args[1..])),
        Some("fleet-worker") => runtime.block_on(fleet::worker(&args[1..])),
        _ => Err("usage: thingspace-bench run [--smoke] [--only 1,2,...] [--out DIR] | report <JSON> | layers [--post] [--concurrent] [--interleave] [--rounds N] [--per-round N] [--variant N]... | overhead | serve [--latency-ms N] [--leads ACCOUNT=N]... [--devices ACCOUNT=N]... | stream --url URL --account A --sdk|--baseline | stream-devices --url URL --account A --sdk|--baseline | await-activation --url URL --devices N | fleet-worker --url URL --redis URL".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("thingspace-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Options of `run`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) smoke: bool,
    pub(crate) out: PathBuf,
    /// Scenario numbers to run (all when empty).
    pub(crate) only: Vec<u32>,
}

impl Options {
    /// Whether scenario `n` runs.
    pub(crate) fn wants(&self, n: u32) -> bool {
        self.only.is_empty() || self.only.contains(&n)
    }
}

impl Options {
    /// Parses the options of `run`, refusing anything it does not know: a misspelt flag or a
    /// scenario that does not exist would otherwise run something else than asked, silently.
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Options {
            smoke: false,
            out: PathBuf::from("target/bench"),
            only: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--smoke" => o.smoke = true,
                "--only" => {
                    let list = it
                        .next()
                        .ok_or("--only needs scenario numbers, as in 1,2")?;
                    for n in list.split(',') {
                        match n.trim().parse::<u32>() {
                            Ok(n @ 1..=10) => o.only.push(n),
                            _ => {
                                return Err(format!(
                                    "--only {list}: `{n}` is not a scenario (1 to 10)"
                                ));
                            }
                        }
                    }
                }
                "--out" => o.out = PathBuf::from(it.next().ok_or("--out needs a directory")?),
                other => return Err(format!("unknown run option `{other}`")),
            }
        }
        Ok(o)
    }
}

/// The value after the option `name` in a child's arguments (`--url URL`).
pub(crate) fn arg(args: &[String], name: &str) -> Result<String, String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .ok_or(format!("{name} is required"))
}

/// `serve`: runs a mock until stdin closes, after printing `LISTENING <url>`.
async fn serve(args: &[String]) -> Result<(), String> {
    let mut config = MockConfig::default();
    let mut leads = Vec::new();
    let mut devices = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--latency-ms" => {
                let ms: u64 = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--latency-ms N")?;
                config = config.leads_latency(Duration::from_millis(ms));
            }
            "--leads" => {
                let spec = it.next().ok_or("--leads ACCOUNT=N")?;
                let (account, n) = spec.split_once('=').ok_or("--leads ACCOUNT=N")?;
                leads.push((
                    account.to_owned(),
                    n.parse::<usize>().map_err(|e| e.to_string())?,
                ));
            }
            "--devices" => {
                let spec = it.next().ok_or("--devices ACCOUNT=N")?;
                let (account, n) = spec.split_once('=').ok_or("--devices ACCOUNT=N")?;
                devices.push((
                    account.to_owned(),
                    n.parse::<usize>().map_err(|e| e.to_string())?,
                ));
            }
            other => return Err(format!("unknown serve option {other}")),
        }
    }
    // The example family's webhook registration (scenario 6): read the body, answer an id.
    let webhooks = axum::Router::new().route(
        "/api/m2m/v1/devices/{accountname}/webhooks",
        axum::routing::post(|body: bytes::Bytes| async move {
            std::hint::black_box(body);
            axum::Json(serde_json::json!({"webhookId": "wh-1"}))
        }),
    );
    let server = MockServer::start_with(config.routes(webhooks))
        .await
        .map_err(|e| e.to_string())?;
    for (account, n) in leads {
        server.set_lead_count(&account, n);
    }
    for (account, n) in devices {
        server.set_device_count(&account, n);
    }
    println!("LISTENING {}", server.url());
    // Serve until the parent closes our stdin (or dies).
    let mut line = String::new();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    use tokio::io::AsyncBufReadExt;
    while stdin
        .read_line(&mut line)
        .await
        .map_err(|e| e.to_string())?
        > 0
    {
        line.clear();
    }
    drop(server);
    Ok(())
}

/// A mock server in a child process, stopped when dropped.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) url: String,
}

impl ServerProcess {
    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl ServerProcess {
    pub(crate) fn start(args: &[&str]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start the mock process: {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("no stdout from the mock process")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let url = line
            .trim()
            .strip_prefix("LISTENING ")
            .ok_or_else(|| format!("unexpected first line from the mock: {line:?}"))?
            .to_owned();
        Ok(Self { child, url })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}
