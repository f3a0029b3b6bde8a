//! `layers`: where the SDK's time goes on a real round trip, layer by layer.
//!
//! Five variants of one sequential `accounts get` loop, rotated round by round on the same mock
//! (so a noisy machine's drift hits them all alike): the hand-written baseline, the request sent
//! through `ReqwestTransport` alone, the client with a static auth provider and no retry, the
//! same with the default retry policy, and the whole SDK. Each variant's figure is the median
//! over the rounds of its time per request, and its process CPU time per request (all threads,
//! from `/proc/self/task/*/schedstat`), and the context switches per request of this process
//! and of the server's.
//!
//! With `--post`, the same five variants send the example family's webhook registration (an
//! unsafe POST with a JSON body) instead: the baseline's `register_webhook`, the same POST
//! (same URL, headers and body) through `ReqwestTransport` alone, and `Devices::register_webhook`
//! through the client variants and the whole SDK. Four more variants, with either form: the
//! baseline's code on a reqwest client with the SDK's settings, the same without the user agent
//! (which the baseline sends, as the SDK does), `ReqwestTransport` sending the request as
//! `ApiRequest::build` makes it, and the baseline's code sending one header more.
//!
//! With `--concurrent`, each round sends its requests 64 in flight, as scenarios 2 and 6b do,
//! and the server's CPU time per request is shown beside the client's: on two cores shared with
//! the server, throughput follows the sum of the two.

use std::{sync::Arc, time::Instant};

use async_trait::async_trait;
use futures_util::StreamExt;
use thingspace::{
    AuthProvider, Client, Request, ReqwestTransport, RetryPolicy, Transport,
    http::{HeaderMap, HeaderValue, Method, header},
    m2m::{M2m, accounts::Account},
    url::Url,
};

use thingspace::SecretString;
use thingspace_tests::example_family::{Devices, Webhook, decode_webhook_id};

use crate::{ServerProcess, baseline::Baseline, measure::sdk_for};

/// Adds fixed credential headers, obtained once by the baseline.
#[derive(Debug)]
struct StaticAuth(HeaderMap);

#[async_trait]
impl AuthProvider for StaticAuth {
    async fn authorize(
        &self,
        request: &mut Request,
        _budget: &thingspace::Budget,
    ) -> thingspace::Result<()> {
        for (name, value) in &self.0 {
            request.headers.insert(name.clone(), value.clone());
        }
        Ok(())
    }

    async fn invalidate(&self, _sent: &HeaderMap, _answer: &thingspace::Response) {}
}

/// CPU time so far of process `pid` (`self`: this one), in nanoseconds, summed over every
/// thread.
fn cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Context switches so far (voluntary and not), summed over every thread of process `pid`.
fn switches(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|s| {
            s.lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

const NAMES: [&str; 9] = [
    "baseline (reqwest + serde_json)",
    "ReqwestTransport alone",
    "client, static auth, no retry",
    "client, static auth, retry",
    "whole SDK",
    "baseline, SDK's client settings",
    "baseline without the user agent",
    "ReqwestTransport, ApiRequest-built",
    "baseline, one more header",
];

/// `layers [--post] [--concurrent] [--rounds N] [--per-round N] [--variant N]... [--interleave]`
/// (the baseline always runs).
pub(crate) async fn run(args: &[String]) -> Result<(), String> {
    let mut rounds = 40usize;
    let mut per_round = 300usize;
    let mut only: Vec<usize> = Vec::new();
    let mut interleave = false;
    let mut post = false;
    let mut concurrent = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--interleave" {
            interleave = true;
            continue;
        }
        if a == "--post" {
            post = true;
            continue;
        }
        if a == "--concurrent" {
            concurrent = true;
            continue;
        }
        let n = it.next().and_then(|v| v.parse().ok());
        match (a.as_str(), n) {
            ("--rounds", Some(n)) => rounds = n,
            ("--per-round", Some(n)) => per_round = n,
            ("--variant", Some(n)) if n < NAMES.len() => only.push(n),
            _ => return Err(format!("layers: bad option {a}")),
        }
    }
    // Concurrent requests are measured a round at a time, never interleaved.
    let interleave = interleave && !concurrent;
    let server = ServerProcess::start(&[])?;
    let base = Baseline::login(&server.url).await?;
    let base_url = Url::parse(&format!("{}/api", server.url)).map_err(|e| e.to_string())?;
    let mut credentials = HeaderMap::new();
    let mut bearer =
        HeaderValue::try_from(format!("Bearer {}", base.bearer)).map_err(|e| e.to_string())?;
    bearer.set_sensitive(true);
    credentials.insert(header::AUTHORIZATION, bearer);
    let mut session = HeaderValue::try_from(base.session.as_str()).map_err(|e| e.to_string())?;
    session.set_sensitive(true);
    credentials.insert(thingspace::credentials::M2M_TOKEN_HEADER, session);

    let transport = Arc::new(ReqwestTransport::new().map_err(|e| e.to_string())?);
    let layered = |retry: RetryPolicy| -> Result<M2m, String> {
        Client::builder(base_url.clone())
            .transport(Arc::new(
                ReqwestTransport::new().map_err(|e| e.to_string())?,
            ))
            .auth(Arc::new(StaticAuth(credentials.clone())))
            .retry(retry)
            .build()
            .map(M2m::new)
            .map_err(|e| e.to_string())
    };
    let no_retry = layered(RetryPolicy::disabled())?;
    let retry = layered(RetryPolicy::default())?;
    let sdk = sdk_for(&server.url)?;
    // The baseline's code on a reqwest client built as `ReqwestTransport` builds its own.
    let sdk_settings = base.with_http(
        reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(crate::baseline::USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?,
    );
    let no_ua = base.with_http(reqwest::Client::new());
    // The baseline's code with one header more than it sends (a value as long as the user
    // agent's): what one more header costs, whatever it is.
    let one_more = base.with_http({
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-extra",
            HeaderValue::from_static(crate::baseline::USER_AGENT),
        );
        reqwest::Client::builder()
            .user_agent(crate::baseline::USER_AGENT)
            .default_headers(headers)
            .build()
            .map_err(|e| e.to_string())?
    });
    let hook = Webhook {
        url: "https://hooks.example.com/in".into(),
        signing_key: SecretString::new("sk-bench"),
    };
    let devices = [&no_retry, &retry, &sdk].map(|m| Devices::new(m.client().clone()));

    let one = |variant: usize, name: String| {
        let (base, transport, no_retry, retry, sdk) = (&base, &transport, &no_retry, &retry, &sdk);
        let (base_url, credentials, hook, devices) = (&base_url, &credentials, &hook, &devices);
        let (sdk_settings, no_ua, one_more) = (&sdk_settings, &no_ua, &one_more);
        async move {
            if variant == 7 {
                // The transport alone, sending the request as the client's build stage makes
                // it (POST: `register_webhook_request`; GET: `accounts::get_request`).
                let api = if post {
                    thingspace_tests::example_family::register_webhook_request(&name, hook)
                } else {
                    thingspace::m2m::accounts::get_request(&name)
                };
                let mut request = api.build(base_url).map_err(|e| e.to_string())?;
                for (k, v) in credentials {
                    request.headers.insert(k.clone(), v.clone());
                }
                request.timeout = Some(std::time::Duration::from_secs(30));
                let response = transport.send(request).await.map_err(|e| e.to_string())?;
                return if post {
                    decode_webhook_id(&response).map(drop)
                } else {
                    response.json::<Account>("bench").map(drop)
                }
                .map_err(|e| e.to_string());
            }
            if variant >= 5 {
                let b = match variant {
                    5 => sdk_settings,
                    6 => no_ua,
                    _ => one_more,
                };
                return if post {
                    b.register_webhook(&name, &hook.url, "sk-bench")
                        .await
                        .map(drop)
                } else {
                    b.account(&name).await.map(drop)
                };
            }
            if post {
                return match variant {
                    0 => base
                        .register_webhook(&name, &hook.url, "sk-bench")
                        .await
                        .map(drop),
                    1 => {
                        // The URL and body as the baseline makes them, so that only the sending
                        // differs.
                        #[derive(serde::Serialize)]
                        #[serde(rename_all = "camelCase")]
                        struct Body<'a> {
                            url: &'a str,
                            signing_key: &'a str,
                        }
                        let url = Url::parse(&format!("{base_url}/m2m/v1/devices/{name}/webhooks"))
                            .map_err(|e| e.to_string())?;
                        let body = serde_json::to_vec(&Body {
                            url: &hook.url,
                            signing_key: "sk-bench",
                        })
                        .map_err(|e| e.to_string())?;
                        let mut request = Request::new(Method::POST, url);
                        request
                            .headers
                            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
                        request.headers.insert(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        );
                        for (k, v) in credentials {
                            request.headers.insert(k.clone(), v.clone());
                        }
                        request.body = body.into();
                        request.timeout = Some(std::time::Duration::from_secs(30));
                        let response = transport.send(request).await.map_err(|e| e.to_string())?;
                        decode_webhook_id(&response)
                            .map(drop)
                            .map_err(|e| e.to_string())
                    }
                    v => devices[v - 2]
                        .register_webhook(&name, hook)
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string()),
                };
            }
            match variant {
                0 => base.account(&name).await.map(drop),
                1 => {
                    let url = thingspace::m2m::accounts::get_request(&name)
                        .url(base_url)
                        .map_err(|e| e.to_string())?;
                    let mut request = Request::new(Method::GET, url);
                    request
                        .headers
                        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
                    for (k, v) in credentials {
                        request.headers.insert(k.clone(), v.clone());
                    }
                    request.timeout = Some(std::time::Duration::from_secs(30));
                    let response = transport.send(request).await.map_err(|e| e.to_string())?;
                    response
                        .json::<Account>("bench")
                        .map(drop)
                        .map_err(|e| e.to_string())
                }
                2 => no_retry
                    .accounts()
                    .get(&name)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                3 => retry
                    .accounts()
                    .get(&name)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                _ => sdk
                    .accounts()
                    .get(&name)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
            }
        }
    };
    {
        // The state each sequential request carries across its wake-ups.
        let name = String::from("0000000001");
        let accounts = sdk.accounts();
        let sdk_future = std::mem::size_of_val(&accounts.get(&name));
        let base_future = std::mem::size_of_val(&base.account(&name));
        println!(
            "future of one request: SDK {sdk_future} bytes (the transport's own future is boxed), baseline {base_future} bytes"
        );
    }
    // Warm every connection pool.
    for v in 0..NAMES.len() {
        one(v, "0000000001".to_owned()).await?;
    }
    let mut wall: Vec<Vec<f64>> = vec![Vec::new(); NAMES.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); NAMES.len()];
    let mut server_cpu: Vec<Vec<f64>> = vec![Vec::new(); NAMES.len()];
    let mut own_cs: Vec<Vec<f64>> = vec![Vec::new(); NAMES.len()];
    let mut server_cs: Vec<Vec<f64>> = vec![Vec::new(); NAMES.len()];
    let server_pid = server.pid().to_string();
    let active: Vec<usize> = (0..NAMES.len())
        .filter(|v| only.is_empty() || *v == 0 || only.contains(v))
        .collect();
    for round in 0..rounds {
        if interleave {
            // Request by request: every variant sees the same moment of a noisy machine.
            let mut sums = vec![0.0; NAMES.len()];
            for i in 0..per_round {
                for k in 0..active.len() {
                    let v = active[(i + k) % active.len()];
                    let t = Instant::now();
                    one(v, format!("{i:010}")).await?;
                    sums[v] += t.elapsed().as_secs_f64();
                }
            }
            for &v in &active {
                wall[v].push(sums[v] * 1e6 / per_round as f64);
            }
            continue;
        }
        for k in 0..active.len() {
            let v = active[(round + k) % active.len()];
            let (t, c, sc) = (Instant::now(), cpu_ns("self"), cpu_ns(&server_pid));
            let (own, srv) = (switches("self"), switches(&server_pid));
            if concurrent {
                let ok = futures_util::stream::iter(0..per_round)
                    .map(|i| one(v, format!("{i:010}")))
                    .buffer_unordered(64)
                    .filter(|r| std::future::ready(r.is_ok()))
                    .count()
                    .await;
                if ok != per_round {
                    return Err(format!("{}: {ok}/{per_round} succeeded", NAMES[v]));
                }
            } else {
                for i in 0..per_round {
                    one(v, format!("{i:010}")).await?;
                }
            }
            wall[v].push(t.elapsed().as_secs_f64() * 1e6 / per_round as f64);
            cpu[v].push((cpu_ns("self") - c) as f64 / 1e3 / per_round as f64);
            server_cpu[v].push((cpu_ns(&server_pid) - sc) as f64 / 1e3 / per_round as f64);
            own_cs[v].push((switches("self") - own) as f64 / per_round as f64);
            server_cs[v].push((switches(&server_pid) - srv) as f64 / per_round as f64);
        }
    }
    // Ratios are medians of the per-round ratios to the baseline of the same round.
    let ratio = |figures: &[Vec<f64>], v: usize| {
        median(
            figures[v]
                .iter()
                .zip(&figures[0])
                .map(|(x, b)| x / b)
                .collect(),
        )
    };
    println!(
        "{rounds} rounds of {per_round} {} requests per variant, {}; medians\n",
        if concurrent {
            "concurrent (64 in flight)"
        } else {
            "sequential"
        },
        if interleave {
            "interleaved request by request"
        } else {
            "one variant after another, rotated"
        }
    );
    if interleave {
        println!("{:<34} {:>10} {:>8}", "variant", "µs/req", "ratio");
    } else {
        println!(
            "{:<34} {:>10} {:>8} {:>12} {:>8} {:>10} {:>10} {:>10} {:>8}",
            "variant",
            "µs/req",
            "ratio",
            "CPU µs/req",
            "ratio",
            "switches",
            "server sw",
            "server CPU",
            "ratio"
        );
    }
    for (v, name) in NAMES.iter().enumerate() {
        if wall[v].is_empty() {
            continue;
        }
        if interleave {
            println!(
                "{name:<34} {:>10.1} {:>8.3}",
                median(wall[v].clone()),
                ratio(&wall, v)
            );
            continue;
        }
        println!(
            "{name:<34} {:>10.1} {:>8.3} {:>12.1} {:>8.3} {:>10.2} {:>10.2} {:>10.1} {:>8.3}",
            median(wall[v].clone()),
            ratio(&wall, v),
            median(cpu[v].clone()),
            ratio(&cpu, v),
            median(own_cs[v].clone()),
            median(server_cs[v].clone()),
            median(server_cpu[v].clone()),
            ratio(&server_cpu, v),
        );
    }
    drop(server);
    Ok(())
}
