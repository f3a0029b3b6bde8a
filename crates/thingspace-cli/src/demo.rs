//! `thingspace demo`: every flow of the SDK against the embedded mock server.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use thingspace::{
    Client, ConfigLoader, Error, ErrorKind,
    m2m::{ExtendedAttributes, M2m, StatesAndServices},
    mock::{DOCUMENT_ACCOUNT, Fault, MockServer, Route},
    oc::{OcConfig, OperatorConnect},
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
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
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

/// Runs the demo, printing as it goes.
///
/// # Errors
/// A flow that failed, or the output (a closed pipe stops the demo quietly).
pub(crate) async fn run() -> Result<(), CliError> {
    let server = MockServer::start()
        .await
        .map_err(|e| Error::config("could not start the embedded mock server").with_source(e))?;
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
    outln!(
        "token requests: {}, logins: {}",
        server.count(Route::Token),
        server.count(Route::Login)
    )?;

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
    }

    step("50 concurrent requests share one token and one session")?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let m2m = m2m.clone();
            tokio::spawn(async move { m2m.accounts().get(&format!("{:010}", 4_200_000 + i)).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if matches!(t.await, Ok(Ok(_))) {
            ok += 1;
        }
    }
    outln!(
        "{ok}/50 succeeded in {:?}; token requests so far: {}, logins so far: {}",
        started.elapsed(),
        server.count(Route::Token),
        server.count(Route::Login)
    )?;

    step("Transient failures are retried: a 503, then a 429 with Retry-After: 1")?;
    server.reset_counts();
    server.inject(Route::Account, Fault::Status(503));
    server.inject(Route::Account, Fault::RetryAfter(429, "1".into()));
    let started = Instant::now();
    m2m.accounts().get("0000123456").await?;
    outln!(
        "succeeded after {} attempts in {:?}",
        server.count(Route::Account),
        started.elapsed()
    )?;

    step("The session expires on the server: one re-login, one retry, no error")?;
    server.reset_counts();
    server.expire_sessions();
    m2m.accounts().get("0000123456").await?;
    outln!(
        "logins: {}, account requests: {} (the first was refused with 401)",
        server.count(Route::Login),
        server.count(Route::Account)
    )?;

    step("Leads: 2,500 leads over three pages, followed automatically, one page fetched ahead")?;
    let account = "0000123456";
    server.set_lead_count(account, 2_500);
    server.reset_counts();
    let started = Instant::now();
    let mut pages = m2m.leads().pages(account)?;
    let mut total = 0;
    while let Some(page) = pages.next().await {
        let page = page?;
        total += page.items.len();
        outln!(
            "page fetched with cursor {:<12} {:>5} leads, next cursor {:?}",
            page.cursor
                .map_or_else(|| "(first)".to_owned(), |c| c.to_string()),
            page.items.len(),
            page.next
        )?;
    }
    outln!(
        "{total} leads in {:?} over {} requests",
        started.elapsed(),
        server.count(Route::Leads)
    )?;
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
    server.inject_on_page(Route::Leads, 2, Fault::Status(503), 3);
    let mut got = 0;
    let mut stream = m2m.leads().list(account)?;
    let mut cursor = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => got += 1,
            Err(e) => {
                outln!("after {got} leads: {e}")?;
                cursor = e.resume_cursor().and_then(|c| c.parse().ok());
            }
        }
    }
    if let Some(cursor) = cursor {
        let rest = m2m
            .leads()
            .list_from(account, cursor)?
            .collect_all()
            .await?;
        outln!(
            "resumed from {cursor}: {} more leads, {} in all, none lost or repeated",
            rest.len(),
            got + rest.len()
        )?;
    }

    step("States and services of an account")?;
    let states = m2m.states_and_services().get(account).await?;
    out!("{}", states_table(&states))?;

    step(
        "subsc: managed accounts of a primary account, with the status filter no official SDK has",
    )?;
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
    }
    outln!(
        "the subsc requests reused the m2m token and session: new token requests {}, new logins {}",
        server.count(Route::Token),
        server.count(Route::Login)
    )?;

    step(
        "Operator Connect: its own base URL and an Entra ID token (client credentials with a scope)",
    )?;
    let tenant = "f94238e5-4f2c-4e1b-8125-2d27122ca75f";
    let found = oc.leads().get(tenant).await?;
    if let Some(lead) = found.first() {
        outln!(
            "lead of tenant {tenant}: status {:?}, company {:?}, consented {:?}",
            lead.status.as_ref().map(ToString::to_string),
            lead.contact().and_then(|c| c.company_name.clone()),
            lead.consented_on
        )?;
    }
    let unknown = oc
        .leads()
        .get("00000000-0000-4000-8000-000000000000")
        .await?;
    outln!(
        "an unknown tenant: {} leads (an empty answer, not an error)",
        unknown.len()
    )?;
    match oc.leads().get("not-a-guid").await {
        Err(e) => outln!("a malformed tenant id never leaves the process: {e}")?,
        Ok(_) => outln!("unexpected: a malformed tenant id was accepted")?,
    }
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
    outln!(
        "{count} OC leads; Entra token requests: {}",
        server.count(Route::EntraToken)
    )?;

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
    let text = std::fs::read_to_string(&cassette).unwrap_or_default();
    outln!(
        "{} exchanges recorded to {}; replayed offline: {}; secrets in the cassette: {}",
        recorder.cassette().exchanges.len(),
        cassette.display(),
        if replayed == recorded {
            "identical"
        } else {
            "DIFFERENT"
        },
        if config
            .client_secret
            .as_ref()
            .is_some_and(|secret| text.contains(secret.expose_secret()))
        {
            "FOUND"
        } else {
            "none"
        }
    )?;
    std::fs::remove_file(&cassette).ok();

    step("Errors carry the service's errorCode and errorMessage")?;
    match m2m.accounts().get("missing-0001").await {
        Err(e) => outln!(
            "error: {e}\n  status={:?} code={:?} not_found={} retryable={}",
            e.status().map(|s| s.as_u16()),
            e.api_code(),
            e.is_not_found(),
            e.is_retryable()
        )?,
        Ok(_) => outln!("unexpected: the missing account was found")?,
    }

    step("Bad input: refused before sending, or sent as exactly one encoded path segment")?;
    server.reset_counts();
    for name in ["", "../../admin", "a/b?c#d"] {
        match m2m.accounts().get(name).await {
            Err(e) if e.kind() == ErrorKind::InvalidInput => outln!("{name:?}: refused: {e}")?,
            Err(e) => outln!("{name:?}: sent, encoded as one segment; the service said: {e}")?,
            Ok(a) => outln!(
                "{name:?}: sent as one encoded segment; got {:?}",
                a.account_name
            )?,
        }
    }
    outln!(
        "requests that reached the mock: {}",
        server.count(Route::Account)
    )?;

    drop(server);
    tokio::time::sleep(Duration::from_millis(10)).await;
    outln!("\nDemo finished: the mock server is stopped.")?;
    Ok(())
}
