//! The `thingspace` command.

mod bulk;
mod config_show;
mod demo;
mod devices;
mod error;
mod fleet;
mod list;
mod listen;
mod logging;
mod managed;
mod oc;
mod output;
mod progress;
mod safe_text;
mod wait;

use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use thingspace::{
    Client, ConfigLoader, Error, LoadedConfig,
    bulk::{BulkAction, BulkJob},
    m2m::{Activation, DeviceFilter, DeviceId, Listener, ListenerConfig, M2m, StateChange},
};

use crate::{
    error::CliError,
    output::{
        DEVICE_COLUMNS, Format, LEAD_COLUMNS, ListWriter, StatesFormat, out, outln, print_json,
    },
};

/// ThingSpace from the shell.
#[derive(Debug, Parser)]
#[command(name = "thingspace", version, about)]
struct Cli {
    /// Configuration file (default: ./thingspace.toml, or $THINGSPACE_CONFIG).
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    config: Option<PathBuf>,
    /// ThingSpace base URL, such as https://thingspace.verizon.com/api (`oc` commands read
    /// [oc] base_url or $THINGSPACE_OC__BASE_URL instead).
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    base_url: Option<String>,
    /// ThingSpace OAuth token endpoint (`oc` commands read [oc] token_url or
    /// $THINGSPACE_OC__TOKEN_URL instead).
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    token_url: Option<String>,
    /// ThingSpace OAuth client id; the secret comes from the file or $THINGSPACE_CLIENT_SECRET
    /// only (`oc` commands read [oc] client_id or $THINGSPACE_OC__CLIENT_ID instead).
    #[arg(long, global = true, help_heading = GLOBAL)]
    client_id: Option<String>,
    /// UWS username; the password comes from the file or $THINGSPACE_PASSWORD only (not used
    /// by `oc` commands).
    #[arg(long, global = true, help_heading = GLOBAL)]
    username: Option<String>,
    /// Per-attempt timeout in seconds, more than 0, fractions allowed (`oc` commands too,
    /// unless [oc] timeout_secs is set).
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "SECS",
        allow_negative_numbers = true,
        value_parser = positive_secs
    )]
    timeout_secs: Option<f64>,
    /// Total attempts per request, at least 1; 1 turns retries off (`oc` commands too, unless
    /// an [oc.retry] table is set).
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    max_attempts: Option<u32>,
    /// The UWS user to act as: a profile of the configuration ([profiles.<NAME>] username and
    /// password, or $THINGSPACE_PROFILES__<NAME>__USERNAME and __PASSWORD); without it, the
    /// top-level username and password (not used by `oc` commands).
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    profile: Option<String>,
    /// Logging on stderr: -v one line per request (operation, status, attempts, latency),
    /// -vv also each attempt and retry, -vvv everything; RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    verbose: u8,
    /// No progress and no informational lines on stderr (errors and warnings are still
    /// reported).
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    quiet: bool,
    /// Colours on stderr (log lines, help): auto (when stderr is a terminal and NO_COLOR is
    /// not set), always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value_t = logging::ColorChoice::Auto,
        help_heading = GLOBAL
    )]
    color: logging::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// Parses `--timeout-secs`: a timeout of nothing is a mistake, not a request for the default.
fn positive_secs(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 {
        Ok(secs)
    } else {
        Err(format!(
            "the timeout must be more than 0 seconds, not {text}"
        ))
    }
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
        command: managed::ManagedAccountsCommand,
    },
    /// Device actions.
    Devices {
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// Asynchronous requests.
    Requests {
        #[command(subcommand)]
        command: RequestsCommand,
    },
    /// Callback listeners: where ThingSpace posts each device's result.
    Callbacks {
        #[command(subcommand)]
        command: CallbacksCommand,
    },
    /// Operator Connect (configured by the [oc] table, not by the ThingSpace flags).
    ///
    /// Its settings are the [oc] table's base_url, token_url, client_id, client_secret and
    /// scope, or $THINGSPACE_OC__BASE_URL, $THINGSPACE_OC__TOKEN_URL, $THINGSPACE_OC__CLIENT_ID,
    /// $THINGSPACE_OC__CLIENT_SECRET and $THINGSPACE_OC__SCOPE; --base-url, --token-url,
    /// --client-id and --username do not apply.
    Oc {
        #[command(subcommand)]
        command: oc::OcCommand,
    },
    /// Print a completion script for a shell: `thingspace completions bash >
    /// ~/.local/share/bash-completion/completions/thingspace` (zsh: into a directory of
    /// $fpath as `_thingspace`; fish: ~/.config/fish/completions/thingspace.fish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff, from these definitions): `thingspace man >
    /// ~/.local/share/man/man1/thingspace.1`; with --dir, one page per command written there.
    Man {
        /// Write thingspace.1 and a page per command (thingspace-leads-list.1, …) into this
        /// directory instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The configuration in effect.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Start the embedded mock server and run every flow of the SDK against it.
    Demo,
    /// Run the embedded mock server until interrupted, printing the settings that point the
    /// SDK and this command at it (as `export` lines for a shell).
    Mock {
        /// Give this account this many leads (ACCOUNT=N), for `leads list`; repeatable.
        #[arg(long, value_name = "ACCOUNT=N", value_parser = lead_count)]
        leads: Vec<(String, usize)>,
    },
}

impl Command {
    /// Whether the command sends requests or receives callbacks with the configuration's
    /// settings (and so shares them through Redis when `[redis] url` is set).
    fn sends_requests(&self) -> bool {
        !matches!(
            self,
            Command::Completions { .. }
                | Command::Man { .. }
                | Command::Config { .. }
                | Command::Demo
                | Command::Mock { .. }
        )
    }
}

/// Parses `--leads ACCOUNT=N` of `thingspace mock`.
fn lead_count(text: &str) -> Result<(String, usize), String> {
    let (account, count) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not ACCOUNT=N"))?;
    if account.is_empty() {
        return Err(format!("`{text}` names no account: ACCOUNT=N"));
    }
    let count = count
        .trim()
        .parse()
        .map_err(|_| format!("`{count}` in `{text}` is not a number of leads: ACCOUNT=N"))?;
    Ok((account.to_owned(), count))
}

#[derive(Debug, Subcommand)]
enum DevicesCommand {
    /// Activate devices, credited to a lead (its ZIP chooses the MDNs) or near a ZIP code;
    /// prints the request id. Sent once: if its answer is lost, the error says the outcome is
    /// unknown (exit status 9) and how to find out.
    Activate {
        /// The account name.
        account: String,
        /// The service plan's code.
        #[arg(long)]
        plan: String,
        /// The lead credited for the activation (its ZIP code is sent as mdnZipCode).
        #[arg(long, conflicts_with = "zip", required_unless_present = "zip")]
        lead: Option<String>,
        /// The ZIP code used to choose the MDNs.
        #[arg(long)]
        zip: Option<String>,
        /// A device, as KIND=ID (kinds: esn, eid, iccid, imei, mdn, meid, msisdn); repeatable.
        #[arg(long = "device", value_name = "KIND=ID", value_parser = devices::device_flag)]
        devices: Vec<DeviceId>,
        /// A file of devices, one a line (an id, of --kind, or `kind,id`; blank lines and `#`
        /// comments skipped), any number: sent as a bulk job, in requests of at most 10,000,
        /// journaled (--journal) so that running the same command again after a crash sends
        /// nothing twice and awaits what is pending. Prints `{"batch","requestId","devices"}`
        /// for each request; exit 9 names the devices of a request whose outcome is unknown.
        #[arg(long, value_name = "FILE")]
        devices_file: Option<std::path::PathBuf>,
        #[command(flatten)]
        bulk: bulk::BulkArgs,
        #[command(flatten)]
        wait: wait::WaitArgs,
    },
    /// Move devices into a custom state of the account's states and services; prints the
    /// request id. Sent once, as an activation.
    State {
        /// The account name.
        account: String,
        /// The custom service.
        #[arg(long)]
        service: String,
        /// The state to move the devices into.
        #[arg(long)]
        state: String,
        /// One of the state's service plans.
        #[arg(long)]
        plan: String,
        /// The ZIP code used to choose the MDNs.
        #[arg(long)]
        zip: String,
        /// A device, as KIND=ID; repeatable.
        #[arg(long = "device", value_name = "KIND=ID", value_parser = devices::device_flag)]
        devices: Vec<DeviceId>,
        /// A file of devices, one a line, any number: sent as a bulk job (see `devices
        /// activate --help`).
        #[arg(long, value_name = "FILE")]
        devices_file: Option<std::path::PathBuf>,
        /// Check first that the service, the state and the plan exist in the account.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        bulk: bulk::BulkArgs,
        #[command(flatten)]
        wait: wait::WaitArgs,
    },
    /// List the devices of an account, every page followed.
    List {
        /// The account name.
        account: String,
        /// Only the devices of this group.
        #[arg(long)]
        group: Option<String>,
        /// Start after this device id (the `--next` printed when a listing fails).
        #[arg(long, value_name = "CURSOR")]
        next: Option<i64>,
        /// Stop after this many devices.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Output format.
        #[arg(long, short, value_enum, default_value = "json")]
        output: Format,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print every setting in effect and where it came from (default, user file, file,
    /// environment variable, flag); secrets masked.
    Show {
        /// Output format.
        #[arg(long, short, value_enum, default_value = "table")]
        output: config_show::ShowFormat,
    },
}

#[derive(Debug, Subcommand)]
enum RequestsCommand {
    /// Print the status of a single-device request.
    Status {
        /// The account name.
        account: String,
        /// The request id an action printed.
        request_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum CallbacksCommand {
    /// Register a listener for a callback service; its credentials come from the [callbacks]
    /// table ($THINGSPACE_CALLBACKS__USERNAME, $THINGSPACE_CALLBACKS__PASSWORD).
    Register {
        /// The account name.
        account: String,
        /// The callback service, such as CarrierService or StateService.
        #[arg(long)]
        service: String,
        /// The public https URL ThingSpace posts to (a proxy in front of the listener).
        #[arg(long)]
        url: String,
    },
    /// List the account's listeners (passwords masked).
    List {
        /// The account name.
        account: String,
        /// Print the passwords the service returns, in clear text.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Remove the account's listener of a callback service.
    Delete {
        /// The account name.
        account: String,
        /// The callback service.
        #[arg(long)]
        service: String,
    },
    /// Receive callbacks until interrupted, each written as one JSON line (without its
    /// password) before it is acknowledged: to stdout, or appended to --out and synced to disk.
    /// Credentials from the [callbacks] table.
    Listen {
        /// The address to listen on, such as 127.0.0.1:9001 (behind the proxy that terminates
        /// TLS for the registered URL).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: std::net::SocketAddr,
        /// Append the callbacks to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
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
        /// Output format.
        #[arg(long, short, value_enum, default_value = "json")]
        output: StatesFormat,
    },
}

impl Cli {
    fn loader(&self) -> ConfigLoader {
        let mut loader = ConfigLoader::new();
        if let Some(path) = user_config_file() {
            loader = loader.user_file(path);
        }
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

    /// Refuses the global flags that the command does not read, as a bad command line: a flag
    /// silently ignored would leave the user believing it applied.
    fn refuse_ignored_flags(&self) -> Result<(), clap::Error> {
        const THINGSPACE: &[&str] = &[
            "--base-url",
            "--token-url",
            "--client-id",
            "--username",
            "--profile",
        ];
        const SETTINGS: &[&str] = &[
            "--config",
            "--base-url",
            "--token-url",
            "--client-id",
            "--username",
            "--profile",
            "--timeout-secs",
            "--max-attempts",
        ];
        let (ignored, why): (&[&str], &str) = match &self.command {
            Command::Oc { .. } => (
                THINGSPACE,
                "`oc` commands read the [oc] table (THINGSPACE_OC__BASE_URL, …) and act as no UWS user",
            ),
            Command::Callbacks {
                command: CallbacksCommand::Listen { .. },
            } => (
                &SETTINGS[1..],
                "`callbacks listen` sends no request: it reads the [callbacks] and [redis] tables only",
            ),
            Command::Config { .. } => (
                &["--profile"],
                "`config show` shows every profile's settings",
            ),
            Command::Completions { .. } | Command::Man { .. } => {
                (SETTINGS, "this command reads no configuration")
            }
            Command::Demo | Command::Mock { .. } => (
                SETTINGS,
                "this command runs against its own mock server and reads no configuration",
            ),
            _ => (&[], ""),
        };
        let given = [
            ("--config", self.config.is_some()),
            ("--base-url", self.base_url.is_some()),
            ("--token-url", self.token_url.is_some()),
            ("--client-id", self.client_id.is_some()),
            ("--username", self.username.is_some()),
            ("--profile", self.profile.is_some()),
            ("--timeout-secs", self.timeout_secs.is_some()),
            ("--max-attempts", self.max_attempts.is_some()),
        ];
        let refused: Vec<&str> = given
            .iter()
            .filter(|(flag, given)| *given && ignored.contains(flag))
            .map(|(flag, _)| *flag)
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        Err(<Cli as clap::CommandFactory>::command()
            .color(self.color.for_clap())
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("{} does not apply here: {why}", refused.join(", ")),
            ))
    }

    /// The start of a command that repeats this one's settings: `thingspace` and the global
    /// flags given, those that only ThingSpace commands read left out unless `thingspace`.
    fn command_words(&self, thingspace: bool) -> Vec<String> {
        let mut words = vec!["thingspace".to_owned()];
        let text = |v: &Option<String>| v.clone().filter(|_| thingspace);
        let flags = [
            (
                "--config",
                self.config.as_ref().map(|p| p.display().to_string()),
            ),
            ("--base-url", text(&self.base_url)),
            ("--token-url", text(&self.token_url)),
            ("--client-id", text(&self.client_id)),
            ("--username", text(&self.username)),
            ("--profile", text(&self.profile)),
            ("--timeout-secs", self.timeout_secs.map(|v| v.to_string())),
            ("--max-attempts", self.max_attempts.map(|v| v.to_string())),
        ];
        for (flag, value) in flags {
            if let Some(value) = value {
                words.extend([flag.to_owned(), value]);
            }
        }
        words
    }
}

/// The ThingSpace clients a command made: their sessions are ended before it exits.
#[derive(Debug, Default)]
struct Sessions {
    clients: std::sync::Mutex<Vec<Client>>,
    /// The profile the command acts as (`--profile`).
    profile: Option<String>,
    /// The fleet's Redis, when `[redis] url` is set: credentials and rate limits shared.
    fleet: Option<fleet::Fleet>,
}

impl Sessions {
    /// A ThingSpace client on the settings of `loaded`, as the command's profile, remembered.
    fn client(&self, loaded: &LoadedConfig) -> Result<Client, Error> {
        let config = loaded.thingspace()?;
        let client = match &self.fleet {
            Some(fleet) => fleet.client(&config)?,
            None => Client::thingspace(&config)?,
        };
        let client = match &self.profile {
            Some(profile) => client.as_profile(profile)?,
            None => client,
        };
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(client.clone());
        Ok(client)
    }

    /// The M2M family on a remembered client.
    fn m2m(&self, loaded: &LoadedConfig) -> Result<M2m, Error> {
        Ok(M2m::new(self.client(loaded)?))
    }

    /// Logs out every session the command opened (a failure is logged, not reported: the
    /// command's own result stands).
    async fn end(&self) {
        let clients = std::mem::take(
            &mut *self
                .clients
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for client in clients {
            match tokio::time::timeout(std::time::Duration::from_secs(5), client.end_session())
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "could not log the session out"),
                Err(_) => tracing::warn!("logging the session out took too long"),
            }
        }
    }
}

/// Runs the command `cli` names.
async fn run(cli: &Cli, sessions: &Sessions) -> Result<(), CliError> {
    let m2m = || -> Result<M2m, Error> { sessions.m2m(&cli.loader().load()?) };
    match &cli.command {
        Command::Completions { shell } => {
            let mut out = io::stdout().lock();
            clap_complete::generate(
                *shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "thingspace",
                &mut out,
            );
            out.flush()?;
            Ok(())
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Config {
            command: ConfigCommand::Show { output },
        } => config_show::run(
            &cli.loader().load()?,
            user_config_file().as_deref(),
            *output,
        ),
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
                StatesFormat::Table => out!("{}", demo::states_table(&states)),
                StatesFormat::Json => print_json(&states),
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
        } => {
            let m2m = m2m()?;
            let pages = match next {
                Some(cursor) => m2m.leads().pages_from(account, *cursor),
                None => m2m.leads().pages(account),
            };
            let writer =
                ListWriter::new(BufWriter::new(io::stdout().lock()), *output, LEAD_COLUMNS);
            let listed = list::print_pages(
                pages,
                writer,
                *limit,
                ("lead", "leads"),
                ListWriter::write_lead,
            )
            .await?;
            list::end_listing(listed, *limit, *output, |cursor| {
                let mut words = cli.command_words(true);
                words.extend(["leads", "list", account, "--next", cursor].map(str::to_owned));
                words
            })
        }
        Command::Devices {
            command:
                DevicesCommand::Activate {
                    account,
                    plan,
                    lead,
                    zip,
                    devices,
                    devices_file,
                    bulk,
                    wait,
                },
        } => {
            if let Some(file) = devices_file {
                let template = Activation::new(plan.as_str(), zip.clone().unwrap_or_default());
                let action = match lead {
                    Some(lead) => BulkAction::activate_for_lead(account, lead, template),
                    None => BulkAction::activate(account, template),
                };
                return run_bulk(cli, sessions, action, devices, file, bulk, wait, None).await;
            }
            let ids = devices::collect(devices)?;
            let activation = ids.iter().cloned().fold(
                Activation::new(plan.as_str(), zip.clone().unwrap_or_default()),
                |a, id| a.device_with(vec![id], None),
            );
            let loaded = cli.loader().load()?;
            // Before the request: a result can arrive before its answer.
            let receiver = wait.start(&loaded).await?;
            let m2m = sessions.m2m(&loaded)?;
            let id = match lead {
                Some(lead) => {
                    m2m.devices()
                        .activate_for_lead(account, lead, activation)
                        .await?
                }
                None => m2m.devices().activate(&activation.account(account)).await?,
            };
            wait::print_request(receiver, &id, ids, &m2m, account).await
        }
        Command::Devices {
            command:
                DevicesCommand::State {
                    account,
                    service,
                    state,
                    plan,
                    zip,
                    devices,
                    devices_file,
                    check,
                    bulk,
                    wait,
                },
        } => {
            let template = StateChange::new(
                service.as_str(),
                state.as_str(),
                plan.as_str(),
                zip.as_str(),
            );
            if let Some(file) = devices_file {
                let check = check.then_some(&template);
                let action = BulkAction::go_to_state(account, template.clone());
                return run_bulk(cli, sessions, action, devices, file, bulk, wait, check).await;
            }
            let ids = devices::collect(devices)?;
            let change = ids.iter().fold(
                StateChange::new(
                    service.as_str(),
                    state.as_str(),
                    plan.as_str(),
                    zip.as_str(),
                ),
                |c, id| c.device(id.kind.as_str(), id.id.as_str()),
            );
            let loaded = cli.loader().load()?;
            let m2m = sessions.m2m(&loaded)?;
            if *check {
                change.check_against(&m2m.states_and_services().get(account).await?)?;
            }
            let receiver = wait.start(&loaded).await?;
            let id = m2m.devices().go_to_state(&change).await?;
            wait::print_request(receiver, &id, ids, &m2m, account).await
        }
        Command::Devices {
            command:
                DevicesCommand::List {
                    account,
                    group,
                    next,
                    limit,
                    output,
                },
        } => {
            let mut filter = DeviceFilter::account(account.as_str());
            if let Some(group) = group {
                filter = filter.group(group.as_str());
            }
            let pages = m2m()?.devices().pages_from(filter, *next);
            let writer =
                ListWriter::new(BufWriter::new(io::stdout().lock()), *output, DEVICE_COLUMNS);
            let listed = list::print_pages(
                pages,
                writer,
                *limit,
                ("device", "devices"),
                ListWriter::write_device,
            )
            .await?;
            list::end_listing(listed, *limit, *output, |cursor| {
                let mut words = cli.command_words(true);
                words.extend(["devices", "list", account].map(str::to_owned));
                if let Some(group) = group {
                    words.extend(["--group".to_owned(), group.clone()]);
                }
                words.extend(["--next", cursor].map(str::to_owned));
                words
            })
        }
        Command::Requests {
            command:
                RequestsCommand::Status {
                    account,
                    request_id,
                },
        } => print_json(&m2m()?.requests().status(account, request_id).await?),
        Command::Callbacks { command } => match command {
            CallbacksCommand::Register {
                account,
                service,
                url,
            } => {
                let credentials = ListenerConfig::load(&cli.loader().load()?)?;
                let listener = credentials.apply(Listener::new(service.as_str(), url.as_str()));
                print_json(&m2m()?.callbacks().register(account, &listener).await?)
            }
            CallbacksCommand::List {
                account,
                show_secrets,
            } => {
                let listeners = m2m()?.callbacks().list(account).await?;
                let shown: Vec<serde_json::Value> = listeners
                    .iter()
                    .map(|l| {
                        let password = l.password.as_ref().map(|p| {
                            if *show_secrets {
                                p.expose_secret().to_owned()
                            } else {
                                "***".to_owned()
                            }
                        });
                        serde_json::json!({
                            "accountName": l.account_name,
                            "serviceName": l.service_name,
                            "url": l.url,
                            "username": l.username,
                            "password": password,
                        })
                    })
                    .collect();
                print_json(&shown)
            }
            CallbacksCommand::Delete { account, service } => {
                print_json(&m2m()?.callbacks().delete(account, service).await?)
            }
            CallbacksCommand::Listen { listen, out } => {
                listen::run(
                    &cli.loader().load()?,
                    *listen,
                    out.as_deref(),
                    sessions.fleet.as_ref(),
                )
                .await
            }
        },
        Command::ManagedAccounts { command } => {
            managed::run(command, sessions.client(&cli.loader().load()?)?).await
        }
        Command::Oc { command } => {
            oc::run(command, &cli.loader().load()?, cli.command_words(false)).await
        }
    }
}

/// `devices activate|state --devices-file`: the devices of the flags and the file, as a bulk
/// job journaled in `--journal` (or next to the file); with `check`, the state change checked
/// against the account's states and services first.
#[allow(clippy::too_many_arguments)]
async fn run_bulk(
    cli: &Cli,
    sessions: &Sessions,
    action: BulkAction,
    flags: &[DeviceId],
    file: &std::path::Path,
    args: &bulk::BulkArgs,
    wait: &wait::WaitArgs,
    check: Option<&StateChange>,
) -> Result<(), CliError> {
    let devices = args.devices(flags, file)?;
    let mut job = BulkJob::new(action, devices, args.journal(file))?.batch_size(args.batch_size);
    if let Some(timeout) = wait.timeout {
        job = job.timeout(std::time::Duration::from_secs(timeout));
    }
    let loaded = cli.loader().load()?;
    let m2m = sessions.m2m(&loaded)?;
    if let Some(change) = check {
        change.check_against(&m2m.states_and_services().get(action_account(&job)).await?)?;
    }
    // Before the requests: a result can arrive before its answer.
    let receiver = wait.start(&loaded).await?;
    bulk::run(job, receiver, &m2m).await
}

/// The account of `job`.
fn action_account(job: &BulkJob) -> &str {
    job.action().account_name()
}

/// `thingspace mock`: serves until the process is interrupted.
async fn serve_mock(leads: &[(String, usize)]) -> Result<(), CliError> {
    let server = thingspace::mock::MockServer::start()
        .await
        .map_err(CliError::MockStart)?;
    for (account, count) in leads {
        server.set_lead_count(account, *count);
    }
    for (key, value) in server.settings() {
        outln!(
            "export THINGSPACE_{}={value}",
            key.to_ascii_uppercase().replace('.', "__")
        )?;
    }
    io::stdout().flush()?;
    logging::note(&format!(
        "mock ThingSpace and Operator Connect at {}; Ctrl-C stops it",
        server.url()
    ));
    std::future::pending::<()>().await;
    Ok(())
}

/// `thingspace man`: the manual page on stdout, or with `dir` one page per command there.
fn man(dir: Option<&std::path::Path>) -> Result<(), CliError> {
    let command = <Cli as clap::CommandFactory>::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(command, dir)?;
            Ok(())
        }
        None => {
            let mut out = io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
            Ok(())
        }
    }
}

/// The user's own configuration file: `$XDG_CONFIG_HOME/thingspace/config.toml` (when that is
/// an absolute path, as the XDG base directory specification asks), else
/// `$HOME/.config/thingspace/config.toml`.
fn user_config_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("thingspace").join("config.toml"))
}

/// Writes `text` and a newline on stderr. Unlike `eprintln!`, never panics: when stderr
/// cannot be written there is nowhere left to say so.
pub(crate) fn report(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Clap's own help and errors follow --color too.
    let color = logging::ColorChoice::from_args(&args);
    let cli = <Cli as clap::CommandFactory>::command()
        .color(color.for_clap())
        .try_get_matches_from(&args)
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches))
        .and_then(|cli| cli.refuse_ignored_flags().map(|()| cli));
    let cli = match cli {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let ansi = cli.color.enabled();
    console::set_colors_enabled_stderr(ansi);
    logging::set_quiet(cli.quiet);
    logging::init(cli.verbose, cli.quiet, ansi);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report(&format!("error: could not start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        // Redis is reached once, before the command, when `[redis] url` is set (a configuration
        // that does not load is the command's to report).
        let fleet = match cli.loader().load() {
            Ok(loaded) if cli.command.sends_requests() => fleet::Fleet::connect(&loaded).await?,
            _ => None,
        };
        let sessions = Sessions {
            profile: cli.profile.clone(),
            fleet,
            ..Sessions::default()
        };
        let result = run(&cli, &sessions).await;
        sessions.end().await;
        result
    });
    // What is still buffered goes out before the error, if any, is reported.
    let flushed = io::stdout().flush().map_err(CliError::from);
    match result.and(flushed) {
        Ok(()) | Err(CliError::Closed) => ExitCode::SUCCESS,
        Err(err) => {
            report(&error::report_lines(&err).join("\n"));
            ExitCode::from(err.exit_code())
        }
    }
}
