//! The scenarios, their targets, the table and the JSON report.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use thingspace::{
    Client, Response,
    http::{HeaderMap, HeaderValue, StatusCode, header::LOCATION},
    m2m::{M2m, leads::decode_list},
};

use thingspace::SecretString;
use thingspace_tests::example_family::{Devices, Webhook};

use crate::{
    Options, ServerProcess,
    baseline::Baseline,
    figure::Figure,
    measure::{alternating, back_to_back, count, counts, median, peak_kb, sdk_for, side},
    report,
};

/// Sizes of a run: full, or smoke (a few hundred requests, so the harness cannot rot).
struct Sizes {
    reps: usize,
    sequential: usize,
    concurrent: usize,
    big: usize,
    small: usize,
    pipeline_pages: usize,
    pipeline_ms: u64,
    decode_iterations: usize,
}

impl Sizes {
    fn new(smoke: bool) -> Self {
        if smoke {
            Sizes {
                reps: 1,
                sequential: 50,
                concurrent: 200,
                big: 10_000,
                small: 2_000,
                pipeline_pages: 5,
                pipeline_ms: 5,
                decode_iterations: 5,
            }
        } else {
            Sizes {
                reps: 5,
                sequential: 5_000,
                concurrent: 20_000,
                big: 1_000_000,
                small: 100_000,
                pipeline_pages: 50,
                pipeline_ms: 20,
                decode_iterations: 300,
            }
        }
    }
}

/// Runs `rounds` rounds of `per_round` requests, SDK and baseline alternating request by request
/// (who goes first alternating too), each request `request(sdk_side, i)` timed on its own, so
/// both sides see the same moment of a noisy machine. Returns the medians over the rounds of
/// each side's µs per request and of their ratio, `(sdk, baseline, sdk / baseline)`.
async fn interleaved<F, Fut>(
    rounds: usize,
    per_round: usize,
    mut request: F,
) -> Result<(f64, f64, f64), String>
where
    F: FnMut(bool, usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let (mut s, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (mut sdk_s, mut base_s) = (0.0, 0.0);
        for i in 0..per_round {
            for sdk_side in [i % 2 == 0, i % 2 != 0] {
                let request = request(sdk_side, i);
                let t = Instant::now();
                request.await?;
                let secs = t.elapsed().as_secs_f64();
                if sdk_side {
                    sdk_s += secs;
                } else {
                    base_s += secs;
                }
            }
        }
        let (sdk_us, base_us) = (
            sdk_s * 1e6 / per_round as f64,
            base_s * 1e6 / per_round as f64,
        );
        s.push(sdk_us);
        b.push(base_us);
        r.push(sdk_us / base_us);
    }
    Ok((median(s), median(b), median(r)))
}

/// Sends the `n` requests `request(sdk_side, 0..n)` of one side, 64 in flight; an error naming
/// the run (`what`) and the side unless every one succeeded.
async fn concurrently<F, Fut>(
    n: usize,
    sdk_side: bool,
    what: &str,
    request: F,
) -> Result<(), String>
where
    F: Fn(bool, usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let ok = futures_util::stream::iter(0..n)
        .map(|i| request(sdk_side, i))
        .buffer_unordered(64)
        .filter(|result| std::future::ready(result.is_ok()))
        .count()
        .await;
    if ok == n {
        Ok(())
    } else {
        Err(format!("{what} {} run: {ok}/{n} succeeded", side(sdk_side)))
    }
}

/// How many blocks, alternating between the sides, each rep of a concurrent scenario sends its
/// requests in: a drift of the machine over the second or so a side's run lasts then hits both
/// sides alike.
const BLOCKS: usize = 10;

/// The requests per second of each side over [`back_to_back`] reps of `n` requests each, and
/// the ratio baseline time / SDK time: medians over the reps, `(sdk, baseline, ratio)`.
fn per_second(n: usize, timed: &[(f64, f64)]) -> (f64, f64, f64) {
    let rate = |secs: f64| n as f64 / secs;
    (
        median(timed.iter().map(|&(sdk, _)| rate(sdk)).collect()),
        median(timed.iter().map(|&(_, base)| rate(base)).collect()),
        median(timed.iter().map(|&(sdk, base)| base / sdk).collect()),
    )
}

/// One `accounts get` of `name`, by the SDK or the baseline.
async fn get_account(
    sdk: &M2m,
    base: &Baseline,
    sdk_side: bool,
    name: String,
) -> Result<(), String> {
    if sdk_side {
        sdk.accounts().get(&name).await.map_err(|e| e.to_string())?;
    } else {
        base.account(&name).await?;
    }
    Ok(())
}

/// `run`: every scenario, the table, the JSON.
pub(crate) async fn run(options: Options) -> Result<(), String> {
    let sizes = Sizes::new(options.smoke);
    let big = format!("bench-{}", sizes.big);
    let small = format!("bench-{}", sizes.small);
    let pipelined = "bench-pipeline";
    let pipeline_leads = (sizes.pipeline_pages * 1000).to_string();
    let server = ServerProcess::start(&[
        "--leads",
        &format!("{big}={}", sizes.big),
        "--leads",
        &format!("{small}={}", sizes.small),
    ])?;
    let slow = ServerProcess::start(&[
        "--latency-ms",
        &sizes.pipeline_ms.to_string(),
        "--leads",
        &format!("{pipelined}={pipeline_leads}"),
    ])?;
    let url = server.url.clone();
    let mut figures = Vec::new();
    let sdk = sdk_for(&url)?;
    let base = Baseline::login(&url).await?;
    sdk.accounts()
        .get("0000000001")
        .await
        .map_err(|e| e.to_string())?;

    // 1. Sequential `accounts get`.
    if options.wants(1) {
        // SDK and baseline alternate request by request (who goes first alternates too), each
        // request timed on its own, so both sides see the same moment of a noisy machine. The
        // ratio is the median of the per-round ratios.
        let rounds = sizes.reps * 4;
        let per_round = (sizes.sequential / rounds).max(1);
        let (s, b, ratio) = interleaved(rounds, per_round, |sdk_side, i| {
            get_account(&sdk, &base, sdk_side, format!("{i:010}"))
        })
        .await?;
        figures.push(Figure {
            scenario: format!("1. sequential accounts get ×{}", per_round * rounds),
            metric: "µs per request".into(),
            sdk: s,
            baseline: b,
            ratio,
            target: "≤ 1.05".into(),
            met: ratio <= 1.05,
        });
    }

    // 2. Concurrent `accounts get`, 64 in flight, one token and one login for the whole run.
    if options.wants(2) {
        let before = counts(&url).await?;
        let fresh = sdk_for(&url)?;
        // Single reps swing by ±15 % on a shared 2-core machine, so this scenario runs nearly
        // twice as many reps as the others, and each rep's requests go in blocks that
        // alternate between the sides.
        let n = sizes.concurrent;
        let (fresh, base) = (&fresh, &base);
        let get = move |sdk_side, i: usize| get_account(fresh, base, sdk_side, format!("{i:010}"));
        let timed = alternating(sizes.reps * 2 - 1, BLOCKS, |sdk_side| {
            concurrently(n / BLOCKS, sdk_side, "concurrent", get)
        })
        .await?;
        let (s, b, ratio) = per_second(n, &timed);
        let after = counts(&url).await?;
        let tokens = count(&after, "Token") - count(&before, "Token");
        let logins = count(&after, "Login") - count(&before, "Login");
        figures.push(Figure {
            scenario: format!(
                "2. concurrent accounts get ×{}, 64 in flight",
                sizes.concurrent
            ),
            metric: "requests per second".into(),
            sdk: s,
            baseline: b,
            ratio,
            target: format!("≥ 0.95; tokens {tokens}, logins {logins} (1 each)"),
            met: ratio >= 0.95 && tokens == 1 && logins == 1,
        });
    }

    // 3. Streaming leads: wall time in process, peak memory in child processes.
    if options.wants(3) {
        let expected = sizes.big;
        let timed = back_to_back(sizes.reps, |sdk_side| {
            let (sdk, base, big) = (sdk.clone(), base.clone(), big.clone());
            async move {
                let n = if sdk_side {
                    let mut leads = sdk.leads().list(&big);
                    let mut n = 0;
                    while let Some(lead) = leads.next().await {
                        std::hint::black_box(lead.map_err(|e| e.to_string())?);
                        n += 1;
                    }
                    n
                } else {
                    base.all_leads(&big, |_| {}, Duration::ZERO).await?
                };
                if n == expected {
                    Ok(())
                } else {
                    Err(format!(
                        "{} streamed {n} leads, expected {expected}",
                        side(sdk_side)
                    ))
                }
            }
        })
        .await?;
        let s = median(timed.iter().map(|&(sdk, _)| sdk).collect());
        let b = median(timed.iter().map(|&(_, base)| base).collect());
        let ratio = median(timed.iter().map(|&(sdk, base)| sdk / base).collect());
        figures.push(Figure {
            scenario: format!(
                "3a. stream {} leads ({} pages)",
                sizes.big,
                sizes.big / 1000
            ),
            metric: "seconds".into(),
            sdk: s,
            baseline: b,
            ratio,
            target: "≤ 1.10".into(),
            met: ratio <= 1.10,
        });
        let big_kb = child_peak_kb(&url, &big, "--sdk")?;
        let small_kb = child_peak_kb(&url, &small, "--sdk")?;
        let base_kb = child_peak_kb(&url, &big, "--baseline")?;
        figures.push(Figure {
            scenario: format!("3b. peak memory streaming {} leads", sizes.big),
            metric: "MiB (VmHWM)".into(),
            sdk: big_kb / 1024.0,
            baseline: base_kb / 1024.0,
            ratio: big_kb / base_kb,
            target: "SDK ≤ 64 MiB".into(),
            met: big_kb / 1024.0 <= 64.0,
        });
        figures.push(Figure {
            scenario: format!(
                "3c. peak memory, {} vs {} leads (SDK)",
                sizes.big, sizes.small
            ),
            metric: "MiB (VmHWM)".into(),
            sdk: big_kb / 1024.0,
            baseline: small_kb / 1024.0,
            ratio: big_kb / small_kb,
            target: "≤ 1.2".into(),
            met: big_kb / small_kb <= 1.2,
        });
    }

    // 4. Pipelining: server latency and consumer work overlap in the SDK.
    if options.wants(4) {
        let sdk_slow = sdk_for(&slow.url)?;
        let base_slow = Baseline::login(&slow.url).await?;
        let work = Duration::from_millis(sizes.pipeline_ms);
        let (mut s, mut b) = (Vec::new(), Vec::new());
        for _ in 0..sizes.reps.min(3) {
            let t = Instant::now();
            let mut pages = sdk_slow.leads().pages(pipelined);
            while let Some(page) = pages.next().await {
                page.map_err(|e| e.to_string())?;
                tokio::time::sleep(work).await;
            }
            s.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            base_slow.all_leads(pipelined, |_| {}, work).await?;
            b.push(t.elapsed().as_secs_f64());
        }
        let (s, b) = (median(s), median(b));
        figures.push(Figure {
            scenario: format!(
                "4. pipelining: {} pages, {} ms server + {} ms consumer each",
                sizes.pipeline_pages, sizes.pipeline_ms, sizes.pipeline_ms
            ),
            metric: "seconds".into(),
            sdk: s,
            baseline: b,
            ratio: b / s,
            target: "speed-up ≥ 1.5".into(),
            met: b / s >= 1.5,
        });
    }

    // 5. Decoding one 1,000-lead page.
    if options.wants(5) {
        let first_page = base.page_body(&big).await?;
        let mut headers = HeaderMap::new();
        headers.insert(
            LOCATION,
            HeaderValue::from_static("/leads/x?next=7340001000"),
        );
        let response = Response::new(StatusCode::ACCEPTED, headers, first_page.clone());
        let mb = first_page.len() as f64 / 1e6;
        // The two decoders alternate page by page, each timed on its own, so both see the
        // same moment of a noisy machine; the ratio is the median of the per-rep ratios.
        let (mut s, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..sizes.reps * 2 - 1 {
            let (mut sdk_s, mut base_s) = (0.0, 0.0);
            for i in 0..sizes.decode_iterations {
                for sdk_side in [i % 2 == 0, i % 2 != 0] {
                    let t = Instant::now();
                    if sdk_side {
                        let page = decode_list(&response).map_err(|e| e.to_string())?;
                        std::hint::black_box(page);
                        sdk_s += t.elapsed().as_secs_f64();
                    } else {
                        let page: crate::baseline::PlainPage =
                            serde_json::from_slice(&first_page).map_err(|e| e.to_string())?;
                        std::hint::black_box(page);
                        base_s += t.elapsed().as_secs_f64();
                    }
                }
            }
            let total = mb * sizes.decode_iterations as f64;
            s.push(total / sdk_s);
            b.push(total / base_s);
            r.push(base_s / sdk_s);
        }
        let (s, b, ratio) = (median(s), median(b), median(r));
        figures.push(Figure {
            scenario: format!("5. decode one 1,000-lead page ({:.0} KB)", mb * 1000.0),
            metric: "MB/s".into(),
            sdk: s,
            baseline: b,
            ratio,
            target: "≥ 0.9".into(),
            met: ratio >= 0.9,
        });
    }

    // 6. A POST with a JSON body (the example family's webhook registration, unsafe, with a
    // secret field), sequential and 64 in flight.
    if options.wants(6) {
        let devices = Devices::new(sdk.client().clone());
        let hook = Webhook {
            url: "https://hooks.example.com/in".into(),
            signing_key: SecretString::new("sk-bench"),
        };
        let (devices, base, hook) = (&devices, &base, &hook);
        let register = move |sdk_side: bool, i: usize| {
            let name = format!("{i:010}");
            async move {
                if sdk_side {
                    devices
                        .register_webhook(&name, hook)
                        .await
                        .map_err(|e| e.to_string())?;
                } else {
                    base.register_webhook(&name, &hook.url, "sk-bench").await?;
                }
                Ok(())
            }
        };
        // Sequential, alternating request by request as in scenario 1.
        let rounds = sizes.reps * 4;
        let per_round = (sizes.sequential / rounds).max(1);
        let (s, b, ratio) = interleaved(rounds, per_round, register).await?;
        figures.push(Figure {
            scenario: format!("6a. sequential POST with a body ×{}", per_round * rounds),
            metric: "µs per request".into(),
            sdk: s,
            baseline: b,
            ratio,
            target: "≤ 1.05".into(),
            met: ratio <= 1.05,
        });

        // 64 in flight, as in scenario 2.
        let n = sizes.concurrent;
        let timed = alternating(sizes.reps * 2 - 1, BLOCKS, |sdk_side| {
            concurrently(n / BLOCKS, sdk_side, "concurrent POST", register)
        })
        .await?;
        let (s, b, ratio) = per_second(n, &timed);
        figures.push(Figure {
            scenario: format!("6b. concurrent POST with a body ×{n}, 64 in flight"),
            metric: "requests per second".into(),
            sdk: s,
            baseline: b,
            ratio,
            target: "≥ 0.95".into(),
            met: ratio >= 0.95,
        });
    }

    // 7. The callback listener's ingest: 64 concurrent senders on loopback, against a
    // hand-written axum handler that parses the same JSON and acknowledges.
    if options.wants(7) {
        figures.extend(crate::ingest::figures(options.smoke).await?);
    }

    // 8 and 9. The device list streamed, and an activation whose callbacks are all awaited.
    if options.wants(8) || options.wants(9) {
        figures.extend(crate::devices::figures(options.smoke).await?);
    }

    // 10. Credentials shared by a fleet through Redis, against in-process ones.
    if options.wants(10) {
        figures.extend(crate::fleet::figures(&url, options.smoke).await?);
    }

    report(&options, &figures)
}

/// Streams every lead of `account` in a child process and returns its peak resident memory, KiB.
fn child_peak_kb(url: &str, account: &str, mode: &str) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["stream", "--url", url, "--account", account, mode])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "stream child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    v["vm_hwm_kb"]
        .as_f64()
        .ok_or_else(|| "no VmHWM from the child".to_owned())
}

/// `stream`: one listing in this process; prints the count and the peak resident memory.
pub(crate) async fn stream_child(args: &[String]) -> Result<(), String> {
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .ok_or(format!("{name} is required"))
    };
    let url = arg("--url")?;
    let account = arg("--account")?;
    let t = Instant::now();
    let n = if args.iter().any(|a| a == "--baseline") {
        Baseline::login(&url)
            .await?
            .all_leads(&account, |_| {}, Duration::ZERO)
            .await?
    } else {
        let sdk = sdk_for(&url)?;
        let mut leads = sdk.leads().list(&account);
        let mut n = 0;
        while let Some(lead) = leads.next().await {
            std::hint::black_box(lead.map_err(|e| e.to_string())?);
            n += 1;
        }
        n
    };
    let hwm = peak_kb();
    println!(
        "{}",
        serde_json::json!({ "leads": n, "secs": t.elapsed().as_secs_f64(), "vm_hwm_kb": hwm })
    );
    Ok(())
}

fn report(options: &Options, figures: &[Figure]) -> Result<(), String> {
    println!(
        "{:<58} {:>20} {:>12} {:>12} {:>8}  {:<40} met",
        "scenario", "metric", "SDK", "baseline", "ratio", "target"
    );
    for f in figures {
        println!(
            "{:<58} {:>20} {:>12.2} {:>12.2} {:>8.3}  {:<40} {}",
            f.scenario,
            f.metric,
            f.sdk,
            f.baseline,
            f.ratio,
            f.target,
            if f.met { "yes" } else { "NO" }
        );
    }
    std::fs::create_dir_all(&options.out).map_err(|e| e.to_string())?;
    let stem = if options.smoke { "smoke" } else { "bench" };
    let path = options.out.join(format!("{stem}.json"));
    let machine = machine();
    let written = report::now_utc();
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "smoke": options.smoke,
        "machine": machine,
        "written": written,
        "figures": figures,
    }))
    .map_err(|e| e.to_string())?;
    std::fs::write(&path, json).map_err(|e| e.to_string())?;
    println!("figures written to {}", path.display());
    let run = report::Run {
        smoke: options.smoke,
        machine: &machine,
        written: Some(&written),
        figures,
    };
    let (html, svg) = report::write(&options.out, stem, &run)?;
    println!("report written to {} and {}", html.display(), svg.display());
    let missed: Vec<&str> = figures
        .iter()
        .filter(|f| !f.met)
        .map(|f| f.scenario.as_str())
        .collect();
    if options.smoke || missed.is_empty() {
        // A smoke run is a debug build with a few hundred requests: its figures say nothing
        // about the targets, only that every scenario still runs.
        Ok(())
    } else {
        Err(format!(
            "{} of {} targets missed: {}",
            missed.len(),
            figures.len(),
            missed.join("; ")
        ))
    }
}

/// What the figures were measured on: CPU count and model, kernel.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_owned());
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "kernel": kernel,
    })
}

/// `overhead`: the SDK's own cost per request, with a transport that answers at once (no
/// network), against decoding the same body by hand.
pub(crate) async fn overhead() -> Result<(), String> {
    use std::sync::Arc;
    use thingspace::{Request, Transport};

    #[derive(Debug)]
    struct Instant200(bytes::Bytes);

    #[async_trait::async_trait]
    impl Transport for Instant200 {
        async fn send(&self, _request: Request) -> thingspace::Result<Response> {
            Ok(Response::new(
                StatusCode::OK,
                HeaderMap::new(),
                self.0.clone(),
            ))
        }
    }

    let body = bytes::Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "accountName": "0000000001", "accountNumber": "1-1", "organizationName": "O",
            "isProvisioningAllowed": true, "carriers": ["Verizon Wireless"], "features": ["Static IP"],
            "ipPools": [{"poolName": "P", "poolType": "Static IP", "isDefaultPool": true}],
            "servicePlans": [{"name": "n", "code": "1", "sizeKb": "5", "carrierServicePlanCode": "c", "extendedAttributes": ""}]
        }))
        .map_err(|e| e.to_string())?,
    );
    let client = Client::builder(
        thingspace::url::Url::parse("http://127.0.0.1:1/api").map_err(|e| e.to_string())?,
    )
    .transport(Arc::new(Instant200(body.clone())))
    .build()
    .map_err(|e| e.to_string())?;
    let m2m = M2m::new(client);
    let n = 200_000;
    let t = Instant::now();
    for i in 0..n {
        m2m.accounts()
            .get(&format!("{i:010}"))
            .await
            .map_err(|e| e.to_string())?;
    }
    let sdk = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = Instant::now();
    for i in 0..n {
        std::hint::black_box(format!("{i:010}"));
        let a: crate::baseline::PlainAccount =
            serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        std::hint::black_box(a);
    }
    let plain = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!(
        "SDK pipeline without network: {sdk:.2} µs per request; decoding by hand: {plain:.2} µs"
    );

    // The same for a POST with a JSON body (scenario 6's operation).
    let created = bytes::Bytes::from_static(br#"{"webhookId":"wh-1"}"#);
    let client = Client::builder(
        thingspace::url::Url::parse("http://127.0.0.1:1/api").map_err(|e| e.to_string())?,
    )
    .transport(Arc::new(Instant200(created.clone())))
    .build()
    .map_err(|e| e.to_string())?;
    let devices = Devices::new(client);
    let hook = Webhook {
        url: "https://hooks.example.com/in".into(),
        signing_key: SecretString::new("sk-bench"),
    };
    let t = Instant::now();
    for i in 0..n {
        devices
            .register_webhook(&format!("{i:010}"), &hook)
            .await
            .map_err(|e| e.to_string())?;
    }
    let sdk = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = Instant::now();
    for i in 0..n {
        std::hint::black_box(format!("{i:010}"));
        let body =
            serde_json::to_vec(&serde_json::json!({"url": hook.url, "signingKey": "sk-bench"}))
                .map_err(|e| e.to_string())?;
        std::hint::black_box(body);
        let v: serde_json::Value = serde_json::from_slice(&created).map_err(|e| e.to_string())?;
        std::hint::black_box(v);
    }
    let plain = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!(
        "POST without network: SDK {sdk:.2} µs per request; serialising and decoding by hand: {plain:.2} µs"
    );
    Ok(())
}
