//! The `thingspace` command.

mod demo;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use thingspace::{Client, ConfigLoader, Error, ErrorKind, m2m::M2m};

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
    /// Start the embedded mock server and run every flow of the SDK against it.
    Demo,
}

#[derive(Debug, Subcommand)]
enum AccountsCommand {
    /// Print one account as JSON.
    Get {
        /// The account name (leading zeros are kept).
        account: String,
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
    match &cli.command {
        Command::Demo => demo::run().await,
        Command::Accounts {
            command: AccountsCommand::Get { account },
        } => {
            let config = cli.loader().load()?.thingspace()?;
            let m2m = M2m::new(Client::thingspace(&config)?);
            let account = m2m.accounts().get(account).await?;
            print_json(&account)
        }
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
