//! How the scenarios measure: both sides back to back, medians, peak memory, and the SDK
//! client they use.

use std::time::Instant;

use thingspace::{
    Client, Config, ConfigLoader,
    m2m::M2m,
    mock::{CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME},
};

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) fn side(sdk_side: bool) -> &'static str {
    if sdk_side { "SDK" } else { "baseline" }
}

/// Runs `run(sdk_side)` for both sides in each of `reps` reps, back to back, who goes first
/// alternating, so both sides see the same moment of a noisy machine; returns the seconds each
/// side took in each rep, `(sdk, baseline)`. Ratios are then taken per rep, and their median.
pub(crate) async fn back_to_back<F, Fut>(reps: usize, run: F) -> Result<Vec<(f64, f64)>, String>
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    alternating(reps, 1, run).await
}

/// As [`back_to_back`], with each rep's run of each side made of `blocks` calls of `run`,
/// alternating between the sides block by block (who goes first flipping each time), so that
/// a drift of the machine within a rep hits both sides alike; each side's seconds in a rep are
/// the sum of its blocks.
pub(crate) async fn alternating<F, Fut>(
    reps: usize,
    blocks: usize,
    mut run: F,
) -> Result<Vec<(f64, f64)>, String>
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut timed = Vec::with_capacity(reps);
    for rep in 0..reps {
        let (mut sdk_secs, mut base_secs) = (0.0, 0.0);
        for block in 0..blocks {
            let first = (rep + block) % 2 == 0;
            for sdk_side in [first, !first] {
                let t = Instant::now();
                run(sdk_side).await?;
                let secs = t.elapsed().as_secs_f64();
                if sdk_side {
                    sdk_secs += secs;
                } else {
                    base_secs += secs;
                }
            }
        }
        timed.push((sdk_secs, base_secs));
    }
    Ok(timed)
}

pub(crate) fn sdk_for(url: &str) -> Result<M2m, String> {
    Ok(M2m::new(
        Client::thingspace(&mock_config(url)?).map_err(|e| e.to_string())?,
    ))
}

/// The configuration of a client of the mock at `url`, with the mock's credentials.
pub(crate) fn mock_config(url: &str) -> Result<Config, String> {
    ConfigLoader::new()
        .without_env()
        .without_default_file()
        .set("base_url", format!("{url}/api"))
        .set("client_id", CLIENT_ID)
        .set("client_secret", CLIENT_SECRET)
        .set("username", USERNAME)
        .set("password", PASSWORD)
        .load()
        .and_then(|l| l.thingspace())
        .map_err(|e| e.to_string())
}

/// The mock's request counts per route (`GET /__mock/counts`), for a mock in another process.
pub(crate) async fn counts(url: &str) -> Result<serde_json::Value, String> {
    let body = reqwest::get(format!("{url}/__mock/counts"))
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// The count of `route` (`Token`, `Login`, …) in the mock's `counts`; 0 when absent.
pub(crate) fn count(counts: &serde_json::Value, route: &str) -> u64 {
    counts[route].as_u64().unwrap_or(0)
}

/// This process's peak resident memory so far (VmHWM), KiB; 0 where /proc is not there.
pub(crate) fn peak_kb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}
