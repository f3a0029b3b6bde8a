//! `thingspace demo`: every flow of the SDK against the embedded mock server.

use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use thingspace::{
    Client, ConfigLoader, Error, ErrorKind,
    m2m::{
        Activation, ExtendedAttributes, Lead, Listener, M2m, StatesAndServices, callbacks::services,
    },
    mock::{DOCUMENT_ACCOUNT, Fault, MockServer, Route},
    oc::{OcConfig, OperatorConnect, Timestamp},
    replay::{RecordingTransport, ReplayTransport},
    subsc::{ManagedStatus, ServiceName, Subsc},
};

use crate::{
    error::CliError,
    output::{out, outln, print_json},
};

/// The custom states and services as an indented table.
pub(crate) fn states_table(states: &StatesAndServices) -> String {
    let mut out = String::new();
    // Text from the server, made safe for a terminal.
    let s = |v: &Option<String>| crate::output::terminal_safe(v.as_deref().unwrap_or_default());
    for e in &states.engagement {
        out += &format!(
            "engagement {} ({})\n",
            s(&e.engagement_id),
            s(&e.charging_group)
        );
        for svc in &e.services {
            out += &format!("  service {}: {}\n", s(&svc.name), s(&svc.description));
            for st in &svc.states {
                let groups: Vec<String> = st
                    .rating_groups
                    .iter()
                    .map(|g| {
                        format!(
                            "{} [{}..{}]",
                            s(&g.code),
                            s(&g.rating_group_min_value),
                            s(&g.rating_group_max_value)
                        )
                    })
                    .collect();
                out += &format!(
                    "    {:>4}  {:<22} plans: {:<2} rating groups: {}\n",
                    st.workflow_sequence_number
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), ToString::to_string),
                    s(&st.name),
                    st.service_plans.len(),
                    if groups.is_empty() {
                        "none".to_owned()
                    } else {
                        groups.join(", ")
                    }
                );
            }
        }
    }
    out
}

fn step(title: &str) -> Result<(), CliError> {
    outln!("\n== {title}")
}

/// A check of the demo: unless `ok`, the demo fails with `what` (and exits non-zero).
fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), CliError> {
    if ok {
        Ok(())
    } else {
        Err(CliError::Demo(what()))
    }
}

/// The error `result` must be; `what` says what happened when it is not.
fn expect_err<T>(result: Result<T, Error>, what: &str) -> Result<Error, CliError> {
    match result {
        Err(e) => Ok(e),
        Ok(_) => Err(CliError::Demo(what.to_owned())),
    }
}

/// The items of a listing up to its first error, and that error. Stops at a bound, so that a
/// listing that never ends fails the demo instead of hanging it.
async fn drain<T>(
    mut items: impl Stream<Item = Result<T, Error>> + Unpin,
) -> Result<(Vec<T>, Option<Error>), CliError> {
    const BOUND: usize = 100_000;
    let mut got = Vec::new();
    while let Some(item) = items.next().await {
        match item {
            Ok(item) => got.push(item),
            Err(e) => return Ok((got, Some(e))),
        }
        check(got.len() <= BOUND, || {
            format!("a listing went on past {BOUND} items")
        })?;
    }
    Ok((got, None))
}

/// The lead ids of `leads`, as the mock gives them.
fn mock_ids(leads: &[serde_json::Value]) -> Vec<String> {
    leads
        .iter()
        .map(|l| l["leadId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The lead ids of `leads`.
fn ids<'a>(leads: impl IntoIterator<Item = &'a Lead>) -> Vec<String> {
    leads
        .into_iter()
        .map(|l| l.lead_id.clone().unwrap_or_default())
        .collect()
}

/// Runs the demo, printing as it goes. Every step checks what the SDK did: a step that did
/// not get what the SDK promises fails the demo with [`CliError::Demo`].
///
/// # Errors
/// A flow that failed or a check that did not hold, or the output (a closed pipe stops the
/// demo quietly).
pub(crate) async fn run() -> Result<(), CliError> {
    let server = MockServer::start().await.map_err(CliError::MockStart)?;
    outln!("ThingSpace mock listening at {}", server.base_url())?;

    // Configured exactly as users configure the SDK, with the layers pointed at the mock
    // (the environment and ./thingspace.toml are left out so the demo always hits the mock).
    let mut loader = ConfigLoader::new()
        .without_env()
        .without_default_file()
        .set("retry.initial_backoff_ms", "50");
    for (key, value) in server.settings() {
        loader = loader.set(key, value);
    }
    let loaded = loader.load()?;
    let config = loaded.thingspace()?;
    outln!("config: {config:?}")?;
    let client = Client::thingspace(&config)?;
    let m2m = M2m::new(client.clone());
    let subsc = Subsc::new(client);
    let oc_config = OcConfig::load(&loaded)?;
    outln!("oc config: {oc_config:?}")?;
    let oc = OperatorConnect::from_config(&oc_config)?;

    step("Get an account (the document's example): token, login and request happen by themselves")?;
    let account = m2m.accounts().get(DOCUMENT_ACCOUNT).await?;
    print_json(&account)?;
    let (tokens, logins) = (server.count(Route::Token), server.count(Route::Login));
    outln!("token requests: {tokens}, logins: {logins}")?;
    check(
        account.account_name.as_deref() == Some(DOCUMENT_ACCOUNT),
        || {
            format!(
                "asked for {DOCUMENT_ACCOUNT}, got {:?}",
                account.account_name
            )
        },
    )?;
    check((tokens, logins) == (1, 1), || {
        format!("one token request and one login expected, not {tokens} and {logins}")
    })?;

    step("Account names are text: 0000123456 keeps its zeros; both field spellings decode")?;
    for name in ["0000123456", "0000123457"] {
        let a = m2m.accounts().get(name).await?;
        let plan = a.service_plans.first();
        outln!(
            "{}: number {}, {} IP pools, first plan sizeKb={:?} extendedAttributes={}",
            a.account_name.as_deref().unwrap_or("?"),
            a.account_number.as_deref().unwrap_or("?"),
            a.ip_pools.len(),
            plan.and_then(|p| p.size_kb_value()),
            match plan.and_then(|p| p.extended_attributes.as_ref()) {
                Some(ExtendedAttributes::List(l)) => format!("{} key/value pairs", l.len()),
                Some(ExtendedAttributes::Text(t)) => format!("text {t:?}"),
                _ => "absent".to_owned(),
            }
        )?;
        check(a.account_name.as_deref() == Some(name), || {
            format!("asked for {name}, got {:?}", a.account_name)
        })?;
        check(!a.ip_pools.is_empty(), || {
            format!("{name}: the IP pools did not decode")
        })?;
    }

    step("50 concurrent first requests of a fresh client share one token request and one login")?;
    // A client of its own: nothing cached, so all 50 requests need a token and a session.
    let fresh = M2m::new(Client::thingspace(&config)?);
    server.reset_counts();
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let m2m = fresh.clone();
            tokio::spawn(async move { m2m.accounts().get(&format!("{:010}", 4_200_000 + i)).await })
        })
        .collect();
    let (mut ok, mut first_failure) = (0, None);
    for t in tasks {
        match t.await {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => first_failure = first_failure.or(Some(e.to_string())),
            Err(e) => first_failure = first_failure.or(Some(e.to_string())),
        }
    }
    let (tokens, logins) = (server.count(Route::Token), server.count(Route::Login));
    outln!(
        "{ok}/50 succeeded in {:?}; token requests: {tokens}, logins: {logins}",
        started.elapsed(),
    )?;
    check(ok == 50, || {
        format!(
            "{} of 50 concurrent requests failed, the first with: {}",
            50 - ok,
            first_failure.unwrap_or_default()
        )
    })?;
    check((tokens, logins) == (1, 1), || {
        format!(
            "50 concurrent first requests made {tokens} token requests and {logins} logins, not 1 and 1"
        )
    })?;

    step("Transient failures are retried: a 503, then a 429 with Retry-After: 1")?;
    server.reset_counts();
    server.inject(Route::Account, Fault::Status(503));
    server.inject(Route::Account, Fault::RetryAfter(429, "1".into()));
    let started = Instant::now();
    m2m.accounts().get("0000123456").await?;
    let (attempts, took) = (server.count(Route::Account), started.elapsed());
    outln!("succeeded after {attempts} attempts in {took:?}")?;
    check(attempts == 3, || {
        format!("3 attempts expected, not {attempts}")
    })?;
    check(took >= Duration::from_millis(900), || {
        format!("Retry-After: 1 was not waited for: the retry came after {took:?}")
    })?;

    step("The session expires on the server: one re-login, one retry, no error")?;
    server.reset_counts();
    server.expire_sessions();
    m2m.accounts().get("0000123456").await?;
    let (logins, requests) = (server.count(Route::Login), server.count(Route::Account));
    outln!("logins: {logins}, account requests: {requests} (the first was refused with 401)")?;
    check((logins, requests) == (1, 2), || {
        format!("one login and two requests expected, not {logins} and {requests}")
    })?;

    step("Leads: 2,500 leads over three pages, followed automatically, one page fetched ahead")?;
    let account = "0000123456";
    server.set_lead_count(account, 2_500);
    let expected = mock_ids(&server.leads(account));
    server.reset_counts();
    let started = Instant::now();
    let mut pages = m2m.leads().pages(account)?;
    let mut listed = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page?;
        outln!(
            "page fetched with cursor {:<12} {:>5} leads, next cursor {:?}",
            page.cursor
                .map_or_else(|| "(first)".to_owned(), |c| c.to_string()),
            page.items.len(),
            page.next
        )?;
        listed.extend(ids(&page.items));
    }
    let requests = server.count(Route::Leads);
    outln!(
        "{} leads in {:?} over {requests} requests",
        listed.len(),
        started.elapsed(),
    )?;
    check(listed == expected, || {
        format!(
            "the listing gave {} leads, not the mock's {} in order",
            listed.len(),
            expected.len()
        )
    })?;
    check(requests == 3, || {
        format!("3 page requests expected, not {requests}")
    })?;
    let first = m2m.leads().list(account)?.next().await.transpose()?;
    if let Some(lead) = first {
        outln!("first lead, as the CLI prints it:")?;
        print_json(&lead)?;
    }

    step(
        "Leads under faults: a page that fails twice with 503 is retried; one that keeps failing says where to resume",
    )?;
    server.inject_on_page(Route::Leads, 1, Fault::Status(503), 2);
    let all = m2m.leads().all(account).await?;
    outln!("{} leads despite two 503s on page 2", all.len())?;
    check(ids(&all) == expected, || {
        format!(
            "{} leads after two 503s, not the mock's {}",
            all.len(),
            expected.len()
        )
    })?;
    server.inject_on_page(Route::Leads, 2, Fault::Status(503), 3);
    let (got, failure) = drain(m2m.leads().list(account)?).await?;
    let failure = failure.ok_or_else(|| {
        CliError::Demo("a page failing three times did not fail the listing".into())
    })?;
    outln!("after {} leads: {failure}", got.len())?;
    let cursor = failure
        .resume_cursor()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| CliError::Demo(format!("no cursor to resume from in: {failure}")))?;
    let rest = m2m
        .leads()
        .list_from(account, cursor)?
        .collect_all()
        .await?;
    outln!(
        "resumed from {cursor}: {} more leads, {} in all, none lost or repeated",
        rest.len(),
        got.len() + rest.len()
    )?;
    check(ids(got.iter().chain(&rest)) == expected, || {
        format!(
            "the listing and its resumption gave {} leads, not the mock's {} in order",
            got.len() + rest.len(),
            expected.len()
        )
    })?;

    step("A listing the server breaks ends with a typed error instead of looping")?;
    server.reset_counts();
    server.inject_on_page(Route::Leads, 1, Fault::RepeatCursor, 1);
    let (got, failure) = drain(m2m.leads().list(account)?).await?;
    let requests = server.count(Route::Leads);
    let failure = failure
        .ok_or_else(|| CliError::Demo("a repeated cursor did not fail the listing".into()))?;
    outln!(
        "a repeated cursor: {} leads over {requests} requests, then {:?}: {failure}",
        got.len(),
        failure.kind()
    )?;
    check(
        failure.kind() == ErrorKind::Pagination && requests == 2 && got.len() == 2_000,
        || {
            format!(
                "a repeated cursor: {requests} requests, {} leads, then {failure:?}",
                got.len()
            )
        },
    )?;
    server.reset_counts();
    server.inject_on_page(Route::Leads, 0, Fault::NoLocation, 1);
    let (got, failure) = drain(m2m.leads().list(account)?).await?;
    let requests = server.count(Route::Leads);
    let failure = failure
        .ok_or_else(|| CliError::Demo("a 202 without Location did not fail the listing".into()))?;
    outln!(
        "a 202 without Location: {} leads over {requests} request, then {:?}: {failure}",
        got.len(),
        failure.kind()
    )?;
    check(
        failure.kind() == ErrorKind::Pagination && requests == 1 && got.len() == 1_000,
        || {
            format!(
                "a 202 without Location: {requests} requests, {} leads, then {failure:?}",
                got.len()
            )
        },
    )?;
    check(failure.resume_cursor().is_none(), || {
        format!("a broken listing offered a cursor to resume from: {failure}")
    })?;

    step(
        "A body that is not what the API promises is a decode error, with the JSON path and a snippet",
    )?;
    server.inject(Route::Account, Fault::Html(200));
    let html = expect_err(
        m2m.accounts().get(account).await,
        "an HTML page answered with 200 was taken for an account",
    )?;
    outln!(
        "an HTML page: kind {:?}, snippet {:?}\n  {html}",
        html.kind(),
        html.body_snippet().unwrap_or_default()
    )?;
    check(
        html.kind() == ErrorKind::Decode
            && html.body_snippet().is_some_and(|s| s.contains("<html")),
        || format!("an HTML page: a decode error with the page's start expected, not {html:?}"),
    )?;
    let body =
        r#"{"accountName":"0000123456","ipPools":[{"poolName":"P1","isDefaultPool":"yes"}]}"#;
    server.inject(Route::Account, Fault::Json(200, body.into()));
    let malformed = expect_err(
        m2m.accounts().get(account).await,
        "an account with \"isDefaultPool\": \"yes\" was accepted",
    )?;
    outln!(
        "a malformed account: kind {:?}, JSON path {:?}\n  {malformed}",
        malformed.kind(),
        malformed.json_path().unwrap_or_default()
    )?;
    check(
        malformed.kind() == ErrorKind::Decode
            && malformed.json_path() == Some("ipPools[0].isDefaultPool"),
        || format!("a decode error at ipPools[0].isDefaultPool expected, not {malformed:?}"),
    )?;

    step("States and services of an account")?;
    let states = m2m.states_and_services().get(account).await?;
    out!("{}", states_table(&states))?;
    check(!states.engagement.is_empty(), || {
        "the states and services have no engagement".to_owned()
    })?;

    device_actions(&server, &m2m).await?;

    step(
        "subsc: managed accounts of a primary account, with the status filter no official SDK has",
    )?;
    server.reset_counts();
    let mut counts = Vec::new();
    for status in [
        None,
        Some(ManagedStatus::Add),
        Some(ManagedStatus::Provision),
    ] {
        let list = subsc
            .managed_accounts()
            .list("2024009649-00001", &ServiceName::Location, status)
            .await?;
        let shown: Vec<String> = list
            .managed_accounts
            .iter()
            .map(|a| {
                format!(
                    "{} ({})",
                    a.id,
                    a.state.map_or("state not given", |s| s.as_str())
                )
            })
            .collect();
        outln!(
            "status {:<9} {} accounts: {}",
            status.map_or("(any)", ManagedStatus::as_str),
            shown.len(),
            shown.join(", ")
        )?;
        if let Some(status) = status {
            let other = list
                .managed_accounts
                .iter()
                .find(|a| a.state.map(|s| s.as_str()) != Some(status.as_str()));
            check(other.is_none(), || {
                format!("the {} filter let through {other:?}", status.as_str())
            })?;
        }
        counts.push(shown.len());
    }
    let (tokens, logins) = (server.count(Route::Token), server.count(Route::Login));
    outln!(
        "the subsc requests reused the m2m token and session: new token requests {tokens}, new logins {logins}"
    )?;
    check(counts[0] > 0 && counts[0] == counts[1] + counts[2], || {
        format!(
            "managed accounts: {} in all, but {} ADD and {} PROVISION",
            counts[0], counts[1], counts[2]
        )
    })?;
    check((tokens, logins) == (0, 0), || {
        format!("subsc did not reuse the credentials: {tokens} token requests, {logins} logins")
    })?;

    step(
        "Operator Connect: its own base URL and an Entra ID token (client credentials with a scope)",
    )?;
    let tenant = "f94238e5-4f2c-4e1b-8125-2d27122ca75f";
    let found = oc.leads().get(tenant).await?;
    let lead = found
        .first()
        .ok_or_else(|| CliError::Demo(format!("no lead for tenant {tenant}")))?;
    outln!(
        "lead of tenant {tenant}: status {:?}, company {:?}, consented {:?}",
        lead.status.as_ref().map(ToString::to_string),
        lead.contact().and_then(|c| c.company_name.clone()),
        lead.consented_on.as_ref().and_then(Timestamp::parsed)
    )?;
    let unknown = oc
        .leads()
        .get("00000000-0000-4000-8000-000000000000")
        .await?;
    outln!(
        "an unknown tenant: {} leads (an empty answer, not an error)",
        unknown.len()
    )?;
    check(unknown.is_empty(), || {
        format!("an unknown tenant has {} leads", unknown.len())
    })?;
    let sent = server.count(Route::OcLeads);
    let e = expect_err(
        oc.leads().get("not-a-guid").await,
        "a malformed tenant id was accepted",
    )?;
    outln!("a malformed tenant id never leaves the process: {e}")?;
    check(
        e.kind() == ErrorKind::InvalidInput && server.count(Route::OcLeads) == sent,
        || format!("a malformed tenant id was sent, or refused with {e:?}"),
    )?;
    let mut pages = oc.leads().pages(10)?;
    let mut count = 0;
    while let Some(page) = pages.next().await {
        let page = page?;
        count += page.items.len();
        outln!(
            "OC page {}: {} leads",
            page.cursor.unwrap_or(1),
            page.items.len()
        )?;
    }
    let entra = server.count(Route::EntraToken);
    outln!("{count} OC leads; Entra token requests: {entra}")?;
    let served = server.oc_leads().len();
    check(count == served, || {
        format!("{count} OC leads listed, not the mock's {served}")
    })?;
    check(entra == 1, || {
        format!("one Entra token request expected, not {entra}")
    })?;

    step("Record a run, then replay it offline (secrets scrubbed from the cassette)")?;
    let cassette =
        std::env::temp_dir().join(format!("thingspace-demo-{}.json", std::process::id()));
    let recorder = std::sync::Arc::new(RecordingTransport::new(
        std::sync::Arc::new(thingspace::ReqwestTransport::new()?),
        &cassette,
    ));
    let recorded = M2m::new(Client::thingspace_with_transport(
        &config,
        recorder.clone(),
    )?)
    .accounts()
    .get("0000123456")
    .await?;
    let replay = std::sync::Arc::new(ReplayTransport::from_file(&cassette)?);
    let replayed = M2m::new(Client::thingspace_with_transport(&config, replay.clone())?)
        .accounts()
        .get("0000123456")
        .await?;
    replay.assert_done()?;
    let text = std::fs::read_to_string(&cassette);
    std::fs::remove_file(&cassette).ok();
    let text = text.map_err(|e| CliError::Demo(format!("could not read the cassette: {e}")))?;
    let secrets = [config.client_secret.as_ref(), config.password.as_ref()];
    let leaked = secrets
        .into_iter()
        .flatten()
        .any(|secret| text.contains(secret.expose_secret()));
    outln!(
        "{} exchanges recorded to {}; replayed offline: {}; secrets in the cassette: {}",
        recorder.cassette().exchanges.len(),
        cassette.display(),
        if replayed == recorded {
            "identical"
        } else {
            "DIFFERENT"
        },
        if leaked { "FOUND" } else { "none" }
    )?;
    check(replayed == recorded, || {
        "the replayed account differs from the recorded one".to_owned()
    })?;
    check(!leaked, || {
        "a secret was written to the cassette".to_owned()
    })?;

    step("Errors carry the service's errorCode and errorMessage")?;
    let e = expect_err(
        m2m.accounts().get("missing-0001").await,
        "the missing account was found",
    )?;
    outln!(
        "error: {e}\n  status={:?} code={:?} not_found={} retryable={}",
        e.status().map(|s| s.as_u16()),
        e.api_code(),
        e.is_not_found(),
        e.is_retryable()
    )?;
    check(
        e.is_not_found() && e.api_code().is_some() && !e.is_retryable(),
        || format!("a 404 with its errorCode expected, not {e:?}"),
    )?;

    step("Bad input: refused before sending, or sent encoded inside its one path segment")?;
    server.reset_counts();
    // (name, whether the SDK refuses it before sending)
    for (name, refused) in [("", true), ("../../admin", true), ("a?c#d%e", false)] {
        match m2m.accounts().get(name).await {
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                outln!("{name:?}: refused: {e}")?;
                check(refused, || format!("{name:?} was refused: {e}"))?;
            }
            Err(e) => {
                outln!("{name:?}: sent, encoded as one segment; the service said: {e}")?;
                check(!refused, || format!("{name:?} was sent: {e}"))?;
            }
            Ok(a) => {
                outln!(
                    "{name:?}: sent as one encoded segment; got {:?}",
                    a.account_name
                )?;
                check(!refused && a.account_name.as_deref() == Some(name), || {
                    format!("{name:?} reached the mock as {:?}", a.account_name)
                })?;
            }
        }
    }
    let requests = server.count(Route::Account);
    outln!("requests that reached the mock: {requests}")?;
    check(requests == 1, || {
        format!("1 request should have reached the mock, not {requests}")
    })?;

    drop(server);
    tokio::time::sleep(Duration::from_millis(10)).await;
    outln!("\nDemo finished: every check passed; the mock server is stopped.")?;
    Ok(())
}

/// Device actions: a listener registered (its password a secret), three devices activated for
/// a lead (its ZIP sent as mdnZipCode), and an activation whose answer is lost not sent twice.
async fn device_actions(server: &MockServer, m2m: &M2m) -> Result<(), CliError> {
    const ACCOUNT: &str = "0000123456";
    step("Register a callback listener: its password is a secret, even when listed back")?;
    let listener = Listener::new(
        services::CARRIER_SERVICE,
        "https://callbacks.example.com/in",
    )
    .with_credentials("demo-listener", "demo-listener-password");
    m2m.callbacks().register(ACCOUNT, &listener).await?;
    let listed = m2m.callbacks().list(ACCOUNT).await?;
    outln!("listed: {listed:?}")?;
    check(
        listed.len() == 1 && !format!("{listed:?}").contains("demo-listener-password"),
        || format!("one listener, its password hidden, expected: {listed:?}"),
    )?;

    step("Activate three devices credited to a lead: the lead's ZIP becomes mdnZipCode")?;
    server.set_lead_count(ACCOUNT, 30);
    let lead = server.leads(ACCOUNT)[12].clone();
    let lead_id = lead["leadId"].as_str().unwrap_or_default().to_owned();
    let activation = Activation::new("M2MPlan", "")
        .device("imei", "990013907835573")
        .device("imei", "990013907835574")
        .device("iccid", "89148000000800784259");
    let id = m2m
        .devices()
        .activate_for_lead(ACCOUNT, &lead_id, activation)
        .await?;
    let sent = server.request_body(&id.request_id).unwrap_or_default();
    outln!(
        "request {} for lead {lead_id}: mdnZipCode {}",
        id.request_id,
        sent["mdnZipCode"]
    )?;
    check(sent["mdnZipCode"] == lead["address"]["zip"], || {
        format!(
            "mdnZipCode {} expected, sent {}",
            lead["address"]["zip"], sent["mdnZipCode"]
        )
    })?;

    step("An activation whose answer is lost (a 503) is sent once, and says how to find out")?;
    server.reset_counts();
    server.inject(Route::Activate, Fault::Status(503));
    let lost = expect_err(
        m2m.devices()
            .activate(&Activation::new("M2MPlan", "94203").device("imei", "990013907835575"))
            .await,
        "a lost activation answer",
    )?;
    outln!("error: {lost}")?;
    check(
        lost.is_outcome_unknown() && server.count(Route::Activate) == 1,
        || format!("one attempt and an unknown outcome expected: {lost:?}"),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_that_does_not_hold_fails_the_demo() {
        assert!(check(true, || unreachable!()).is_ok());
        let failed = check(false, || "3 token requests".to_owned()).expect_err("fails");
        assert_eq!(failed.exit_code(), 1);
        assert_eq!(failed.to_string(), "demo check failed: 3 token requests");
        let accepted = expect_err(Ok(()), "a malformed id was accepted").expect_err("fails");
        assert_eq!(accepted.exit_code(), 1);
        let refused = Error::invalid_input("no");
        assert!(expect_err::<()>(Err(refused), "unused").is_ok());
    }

    #[tokio::test]
    async fn a_listing_is_drained_to_its_first_error() {
        let items =
            futures_util::stream::iter([Ok(1), Ok(2), Err(Error::invalid_input("broken")), Ok(3)]);
        let (got, failure) = drain(items).await.expect("drained");
        assert_eq!(got, [1, 2]);
        assert!(failure.is_some());
    }
}
