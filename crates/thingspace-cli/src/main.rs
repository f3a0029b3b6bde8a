//! The `thingspace` command.

mod demo;
mod output;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use thingspace::{Client, ConfigLoader, Error, ErrorKind, m2m::M2m};

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
    timeout_secs: Option<u64>,
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
    /// Start the embedded mock server and run every flow of the SDK against it.
    Demo,
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
                _ => print_json(&states),
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
    }
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
