//! Scenarios 8 and 9, the devices. 8: the device list (2,000 a page) streamed by the SDK and by
//! a hand-written loop, and the SDK's peak memory for a large and a small listing (flat with
//! size). 9: one activation whose every callback is awaited through the listener and the
//! tracker, peak memory in a child process.

use std::{process::Command, time::Duration};

use futures_util::StreamExt;
use thingspace::{
    DeviceId,
    callbacks::{Credentials, Listener, Tracker},
    m2m::{Activation, DeviceFilter, Listener as Registration},
};

use crate::{
    ServerProcess, arg,
    baseline::Baseline,
    figure::Figure,
    measure::{back_to_back, median, peak_kb, sdk_for, side},
};

const USER: &str = "bench-callbacks";
const PASSWORD: &str = "bench-callbacks-password";
const ACTIVATION_ACCOUNT: &str = "bench-activation";

/// Runs this program as a child with `args`; its JSON line.
fn child(args: &[&str]) -> Result<serde_json::Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{} child failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn child_peak_kb(args: &[&str]) -> Result<f64, String> {
    child(args)?["vm_hwm_kb"]
        .as_f64()
        .ok_or_else(|| "no VmHWM from the child".to_owned())
}

/// Every device of `account` through the SDK's stream.
async fn sdk_devices(url: &str, account: &str) -> Result<usize, String> {
    let sdk = sdk_for(url)?;
    let mut devices = sdk.devices().list(DeviceFilter::account(account));
    let mut n = 0;
    while let Some(device) = devices.next().await {
        std::hint::black_box(device.map_err(|e| e.to_string())?);
        n += 1;
    }
    Ok(n)
}

/// `stream-devices --url URL --account A --sdk|--baseline`: one listing; prints the count and
/// the peak resident memory.
pub(crate) async fn stream_child(args: &[String]) -> Result<(), String> {
    let url = arg(args, "--url")?;
    let account = arg(args, "--account")?;
    let n = if args.iter().any(|a| a == "--baseline") {
        Baseline::login(&url).await?.all_devices(&account).await?
    } else {
        sdk_devices(&url, &account).await?
    };
    println!(
        "{}",
        serde_json::json!({ "devices": n, "vm_hwm_kb": peak_kb() })
    );
    Ok(())
}

/// `await-activation --url URL --devices N`: a listener and a tracker, one activation of N
/// devices, every outcome awaited; prints the count and the peak resident memory.
pub(crate) async fn activation_child(args: &[String]) -> Result<(), String> {
    let url = arg(args, "--url")?;
    let n: usize = arg(args, "--devices")?
        .parse()
        .map_err(|_| "--devices N".to_owned())?;
    let sdk = sdk_for(&url)?;
    let tracker = Tracker::new();
    let listener = Listener::builder(Credentials::new(USER, PASSWORD))
        .sink(tracker.clone())
        .build()
        .bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let registration = Registration::new(
        "CarrierService",
        format!("http://{}/", listener.local_addr()),
    )
    .with_credentials(USER, PASSWORD);
    sdk.callbacks()
        .register(ACTIVATION_ACCOUNT, &registration)
        .await
        .map_err(|e| e.to_string())?;
    let devices: Vec<DeviceId> = (0..n)
        .map(|i| DeviceId::new("imei", format!("35{i:013}")))
        .collect();
    let activation = devices
        .iter()
        .fold(Activation::new("M2MPlan", "94203"), |a, d| {
            a.device(d.kind.as_str(), d.id.as_str())
        })
        .account(ACTIVATION_ACCOUNT);
    let id = sdk
        .devices()
        .activate(&activation)
        .await
        .map_err(|e| e.to_string())?;
    drop(activation);
    let mut outcomes = tracker
        .wait(id.request_id, devices)
        .timeout(Duration::from_secs(600));
    let mut succeeded = 0;
    while let Some(outcome) = outcomes.next().await {
        if outcome.map_err(|e| e.to_string())?.is_success() {
            succeeded += 1;
        }
    }
    listener.shutdown().await;
    if succeeded != n {
        return Err(format!("{succeeded} of {n} devices succeeded"));
    }
    println!(
        "{}",
        serde_json::json!({ "devices": succeeded, "vm_hwm_kb": peak_kb() })
    );
    Ok(())
}

/// Scenario 8's and 9's figures.
pub(crate) async fn figures(smoke: bool) -> Result<Vec<Figure>, String> {
    let (big, small, reps, activated) = if smoke {
        (6_000, 2_000, 1, 300)
    } else {
        (1_000_000, 100_000, 3, 10_000)
    };
    let server = ServerProcess::start(&[
        "--devices",
        &format!("devices-big={big}"),
        "--devices",
        &format!("devices-small={small}"),
    ])?;
    let url = server.url.clone();
    let base = Baseline::login(&url).await?;
    let mut figures = Vec::new();

    let timed = back_to_back(reps, |sdk_side| {
        let (url, base) = (url.clone(), base.clone());
        async move {
            let n = if sdk_side {
                sdk_devices(&url, "devices-big").await?
            } else {
                base.all_devices("devices-big").await?
            };
            if n == big {
                Ok(())
            } else {
                Err(format!(
                    "{} streamed {n} devices, expected {big}",
                    side(sdk_side)
                ))
            }
        }
    })
    .await?;
    let ratio = median(timed.iter().map(|&(sdk, base)| sdk / base).collect());
    figures.push(Figure {
        scenario: format!("8a. stream {big} devices ({} pages)", big.div_ceil(2_000)),
        metric: "seconds".into(),
        sdk: median(timed.iter().map(|&(sdk, _)| sdk).collect()),
        baseline: median(timed.iter().map(|&(_, base)| base).collect()),
        ratio,
        target: "≤ 1.10".into(),
        met: ratio <= 1.10,
    });

    let stream = |account: &'static str, mode: &'static str| {
        let url = url.clone();
        move || child_peak_kb(&["stream-devices", "--url", &url, "--account", account, mode])
    };
    let big_kb = stream("devices-big", "--sdk")()?;
    let small_kb = stream("devices-small", "--sdk")()?;
    let base_kb = stream("devices-big", "--baseline")()?;
    figures.push(Figure {
        scenario: format!("8b. peak memory streaming {big} vs {small} devices (SDK)"),
        metric: "MiB (VmHWM)".into(),
        sdk: big_kb / 1024.0,
        baseline: small_kb / 1024.0,
        ratio: big_kb / small_kb,
        target: format!("≤ 1.2 (hand-written loop: {:.1} MiB)", base_kb / 1024.0),
        met: big_kb / small_kb <= 1.2,
    });

    let awaited = |n: usize| {
        let url = url.clone();
        move || {
            child_peak_kb(&[
                "await-activation",
                "--url",
                &url,
                "--devices",
                &n.to_string(),
            ])
        }
    };
    let full_kb = awaited(activated)()?;
    let tenth_kb = awaited(activated / 10)()?;
    figures.push(Figure {
        scenario: format!("9. one activation of {activated} devices, every callback awaited"),
        metric: "MiB (VmHWM)".into(),
        sdk: full_kb / 1024.0,
        baseline: tenth_kb / 1024.0,
        ratio: full_kb / tenth_kb,
        target: format!("SDK ≤ 64 MiB (baseline: {} devices)", activated / 10),
        met: full_kb / 1024.0 <= 64.0,
    });
    Ok(figures)
}
