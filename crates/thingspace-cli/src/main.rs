//! The `thingspace` command.

mod demo;
mod output;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use thingspace::{
    Client, ConfigLoader, Error, ErrorKind,
    m2m::M2m,
    oc::{OcConfig, OperatorConnect},
    subsc::{ManagedStatus, ServiceName, Subsc},
};

use crate::output::{Format, LeadWriter, Progress};

/// ThingSpace from the shell.
#[derive(Debug, Parser)]
#[command(name = "thingspace", version, about)]
struct Cli {
    /// Configuration file (default: ./thingspace.toml, or $THINGSPACE_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// ThingSpace base URL, such as https://thingspace.verizon.com/api.
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,
    /// OAuth token endpoint.
    #[arg(long, global = true, value_name = "URL")]
    token_url: Option<String>,
    /// OAuth client id (the secret comes from the file or $THINGSPACE_CLIENT_SECRET only).
    #[arg(long, global = true)]
    client_id: Option<String>,
    /// UWS username (the password comes from the file or $THINGSPACE_PASSWORD only).
    #[arg(long, global = true)]
    username: Option<String>,
    /// Per-attempt timeout in seconds.
    #[arg(long, global = true, value_name = "SECS")]
    timeout_secs: Option<f64>,
    /// Total attempts per request (1 turns retries off).
    #[arg(long, global = true, value_name = "N")]
    max_attempts: Option<u32>,
    /// More logging on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// M2M accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Account leads, every page followed.
    Leads {
        #[command(subcommand)]
        command: LeadsCommand,
    },
    /// Managed accounts of a primary account (subsc).
    ManagedAccounts {
        #[command(subcommand)]
        command: ManagedAccountsCommand,
    },
    /// Operator Connect (configured by the [oc] table).
    Oc {
        #[command(subcommand)]
        command: OcCommand,
    },
    /// Start the embedded mock server and run every flow of the SDK against it.
    Demo,
    /// Run the embedded mock server until interrupted, printing the settings that point the
    /// SDK and this command at it (as `export` lines for a shell).
    Mock {
        /// Give this account this many leads (ACCOUNT=N), for `leads list`; repeatable.
        #[arg(long, value_name = "ACCOUNT=N")]
        leads: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ManagedAccountsCommand {
    /// List the managed accounts of a primary account.
    List {
        /// The primary account name, such as 2024009649-00001.
        account: String,
        /// The managed service, such as Location.
        #[arg(long, default_value = "Location")]
        service: String,
        /// Only accounts in this state: ADD or PROVISION.
        #[arg(long)]
        status: Option<ManagedStatus>,
    },
}

#[derive(Debug, Subcommand)]
enum OcCommand {
    /// Operator Connect leads.
    Leads {
        #[command(subcommand)]
        command: OcLeadsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum OcLeadsCommand {
    /// Print the lead of one customer tenant (an empty array when there is none).
    Get {
        /// The customer's Microsoft tenant id (a GUID).
        ms_tenant_id: String,
    },
    /// List every lead of the operator, page after page.
    List {
        /// Leads per page (1 to 20000).
        #[arg(long, default_value_t = 1000)]
        page_size: u32,
        /// Stop after this many leads.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Output format: json or ndjson.
        #[arg(long, short, value_enum, default_value = "json")]
        output: Format,
    },
}

#[derive(Debug, Subcommand)]
enum LeadsCommand {
    /// List the leads of an account, following every page.
    List {
        /// The account name (leading zeros are kept).
        account: String,
        /// Start from this cursor (the `next` value printed when a listing fails).
        #[arg(long, value_name = "CURSOR", allow_hyphen_values = true)]
        next: Option<i64>,
        /// Stop after this many leads.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Output format.
        #[arg(long, short, value_enum, default_value = "json")]
        output: Format,
    },
}

#[derive(Debug, Subcommand)]
enum AccountsCommand {
    /// Print one account as JSON.
    Get {
        /// The account name (leading zeros are kept).
        account: String,
    },
    /// Print the custom states and services of an account.
    States {
        /// The account name (leading zeros are kept).
        account: String,
        /// Output format: json or table.
        #[arg(long, short, value_enum, default_value = "json")]
        output: Format,
    },
}

impl Cli {
    fn loader(&self) -> ConfigLoader {
        let mut loader = ConfigLoader::new();
        if let Some(path) = &self.config {
            loader = loader.file(path);
        }
        let flags = [
            ("base_url", self.base_url.clone()),
            ("token_url", self.token_url.clone()),
            ("client_id", self.client_id.clone()),
            ("username", self.username.clone()),
            ("timeout_secs", self.timeout_secs.map(|v| v.to_string())),
            (
                "retry.max_attempts",
                self.max_attempts.map(|v| v.to_string()),
            ),
        ];
        for (key, value) in flags {
            if let Some(value) = value {
                loader = loader.set(key, value);
            }
        }
        loader
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "thingspace=debug,thingspace_core=debug,warn",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The exit status for an error (documented in the README).
fn exit_code(err: &Error) -> u8 {
    match err.kind() {
        ErrorKind::Config | ErrorKind::Insecure => 3,
        _ if err.is_auth() => 4,
        ErrorKind::Api | ErrorKind::InvalidInput | ErrorKind::Pagination => 5,
        ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Transport => 6,
        ErrorKind::Decode | ErrorKind::BodyTooLarge => 7,
        _ => 1,
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    let m2m = || -> Result<M2m, Error> {
        let config = cli.loader().load()?.thingspace()?;
        Ok(M2m::new(Client::thingspace(&config)?))
    };
    match &cli.command {
        Command::Demo => demo::run().await,
        Command::Mock { leads } => serve_mock(leads).await,
        Command::Accounts {
            command: AccountsCommand::Get { account },
        } => print_json(&m2m()?.accounts().get(account).await?),
        Command::Accounts {
            command: AccountsCommand::States { account, output },
        } => {
            let states = m2m()?.states_and_services().get(account).await?;
            match output {
                Format::Table => {
                    print!("{}", demo::states_table(&states));
                    Ok(())
                }
                Format::Json => print_json(&states),
                other => Err(unsupported("accounts states", *other, "json, table")),
            }
        }
        Command::Leads {
            command:
                LeadsCommand::List {
                    account,
                    next,
                    limit,
                    output,
                },
        } => list_leads(&m2m()?, account, *next, *limit, *output).await,
        Command::ManagedAccounts {
            command:
                ManagedAccountsCommand::List {
                    account,
                    service,
                    status,
                },
        } => {
            let config = cli.loader().load()?.thingspace()?;
            let subsc = Subsc::new(Client::thingspace(&config)?);
            let list = subsc
                .managed_accounts()
                .list(account, &ServiceName::from(service.as_str()), *status)
                .await?;
            print_json(&list)
        }
        Command::Oc {
            command: OcCommand::Leads { command },
        } => {
            let oc = OperatorConnect::from_config(&OcConfig::load(&cli.loader().load()?)?)?;
            match command {
                OcLeadsCommand::Get { ms_tenant_id } => {
                    print_json(&oc.leads().get(ms_tenant_id).await?)
                }
                OcLeadsCommand::List {
                    page_size,
                    limit,
                    output,
                } => list_oc_leads(&oc, *page_size, *limit, *output).await,
            }
        }
    }
}

/// `thingspace mock`: serves until the process is interrupted.
async fn serve_mock(leads: &[String]) -> Result<(), Error> {
    let server = thingspace::mock::MockServer::start()
        .await
        .map_err(|e| Error::config("could not start the mock server").with_source(e))?;
    for spec in leads {
        let (account, count) = spec
            .split_once('=')
            .and_then(|(a, n)| Some((a, n.parse::<usize>().ok()?)))
            .ok_or_else(|| {
                Error::invalid_input(format!("--leads takes ACCOUNT=N, not `{spec}`"))
            })?;
        server.set_lead_count(account, count);
    }
    for (key, value) in server.settings() {
        println!(
            "export THINGSPACE_{}={value}",
            key.to_ascii_uppercase().replace('.', "__")
        );
    }
    use std::io::Write;
    std::io::stdout().flush().ok();
    eprintln!(
        "mock ThingSpace and Operator Connect at {}; Ctrl-C stops it",
        server.url()
    );
    std::future::pending::<()>().await;
    Ok(())
}

/// Streams every OC lead to stdout as a JSON array or one lead per line.
async fn list_oc_leads(
    oc: &OperatorConnect,
    page_size: u32,
    limit: Option<u64>,
    format: Format,
) -> Result<(), Error> {
    use futures_util::StreamExt;
    use std::io::Write;

    let io_err = |e: std::io::Error| {
        Error::new(ErrorKind::Transport, "could not write the output").with_source(e)
    };
    let json_err = |e: serde_json::Error| {
        Error::new(ErrorKind::Decode, "could not encode the output").with_source(e)
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut leads = oc.leads().list(page_size)?;
    if matches!(format, Format::Table | Format::Csv) {
        return Err(unsupported("oc leads list", format, "json, ndjson"));
    }
    let array = format == Format::Json;
    if array {
        write!(out, "[").map_err(io_err)?;
    }
    let mut count = 0u64;
    let mut failure = None;
    while let Some(lead) = leads.next().await {
        if limit.is_some_and(|l| count >= l) {
            break;
        }
        match lead {
            Ok(lead) => {
                if array {
                    write!(out, "{}\n  ", if count == 0 { "" } else { "," }).map_err(io_err)?;
                }
                serde_json::to_writer(&mut out, &lead).map_err(json_err)?;
                if !array {
                    writeln!(out).map_err(io_err)?;
                }
                count += 1;
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if array {
        writeln!(out, "{}]", if count == 0 { "" } else { "\n" }).map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    failure.map_or(Ok(()), Err)
}

/// Streams leads to stdout page by page; on a failure, says on stderr where to resume.
async fn list_leads(
    m2m: &M2m,
    account: &str,
    next: Option<i64>,
    limit: Option<u64>,
    format: Format,
) -> Result<(), Error> {
    use futures_util::StreamExt;

    let mut pages = match next {
        Some(cursor) => m2m.leads().pages_from(account, cursor)?,
        None => m2m.leads().pages(account)?,
    };
    let stdout = std::io::stdout();
    let mut writer = LeadWriter::new(std::io::BufWriter::new(stdout.lock()), format);
    let io_err = |e: std::io::Error| {
        Error::new(ErrorKind::Transport, "could not write the output").with_source(e)
    };
    writer.begin().map_err(io_err)?;
    let progress = Progress::new();
    let (mut count, mut page_count) = (0u64, 0u64);
    let mut failure = None;
    'pages: while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        page_count += 1;
        for lead in &page.items {
            if limit.is_some_and(|l| count >= l) {
                break 'pages;
            }
            writer.write(lead).map_err(io_err)?;
            count += 1;
        }
        writer.flush().map_err(io_err)?;
        progress.update(count, page_count);
        if limit.is_some_and(|l| count >= l) {
            break;
        }
    }
    progress.done();
    // Close the JSON array even on failure, so what was printed stays parseable.
    writer.finish().map_err(io_err)?;
    match failure {
        Some(e) => {
            if let Some(cursor) = e.resume_cursor() {
                eprintln!("resume with: thingspace leads list {account} --next {cursor}");
            }
            Err(e)
        }
        None => Ok(()),
    }
}

/// The error for an output format a command does not offer.
fn unsupported(command: &str, format: Format, offered: &str) -> Error {
    Error::invalid_input(format!(
        "`{command}` prints {offered}, not {}",
        format!("{format:?}").to_lowercase()
    ))
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::new(ErrorKind::Decode, "could not encode the output").with_source(e))?;
    println!("{text}");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(exit_code(&err))
        }
    }
}
