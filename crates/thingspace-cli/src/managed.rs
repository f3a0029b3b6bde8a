//! `thingspace managed-accounts`: list, add, provision and cancel the managed accounts of a
//! primary account. `add` and `list` run as the primary account's user; `provision` and
//! `cancel` as the managed account's own user, chosen with `--profile`.

use thingspace::{
    Client, Error, ErrorKind,
    subsc::{ManagedStatus, ServiceName, Subsc, Transaction},
};

use crate::{error::CliError, output::print_json, report, safe_text::terminal_safe};

/// The managed-accounts commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ManagedAccountsCommand {
    /// List the managed accounts of a primary account.
    List {
        /// The primary account name, such as 2024009649-00001.
        account: String,
        /// The managed service, such as Location.
        #[arg(long, default_value = "Location")]
        service: String,
        /// Only accounts in this state (any case).
        #[arg(long, value_parser = StatusParser)]
        status: Option<ManagedStatus>,
    },
    /// Add managed accounts to a primary account (as the primary account's user); prints the
    /// transaction id and each account's status. Sent once.
    Add {
        /// The primary account.
        primary: String,
        /// The managed accounts.
        #[arg(required = true)]
        accounts: Vec<String>,
        /// The managed service.
        #[arg(long, default_value = "Location")]
        service: String,
        /// The SKU the primary bought, such as TS-LOC-COARSE-CellID-Aggr.
        #[arg(long = "type", value_name = "SKU")]
        sku: String,
    },
    /// Provision a managed account (as its own user: --profile). Sent once.
    Provision {
        #[command(flatten)]
        transaction: TransactionArgs,
    },
    /// Cancel a managed account (as its own user: --profile). Sent once.
    Cancel {
        #[command(flatten)]
        transaction: TransactionArgs,
    },
}

/// What `provision` and `cancel` name.
#[derive(Debug, clap::Args)]
pub(crate) struct TransactionArgs {
    /// The managed account.
    managed: String,
    /// Its primary account.
    #[arg(long)]
    primary: String,
    /// The SKU (the `type` given to `add`).
    #[arg(long = "type", value_name = "SKU")]
    sku: String,
    /// The transaction id `add` printed.
    #[arg(long)]
    txid: String,
    /// The managed service.
    #[arg(long, default_value = "Location")]
    service: String,
}

impl TransactionArgs {
    fn transaction(&self) -> Transaction {
        Transaction::new(
            self.managed.as_str(),
            self.primary.as_str(),
            self.sku.as_str(),
            self.txid.as_str(),
        )
        .service(ServiceName::from(self.service.as_str()))
    }
}

/// Runs `command` on `client` (the user the command runs as).
pub(crate) async fn run(command: &ManagedAccountsCommand, client: Client) -> Result<(), CliError> {
    let subsc = Subsc::new(client);
    let api = subsc.managed_accounts();
    match command {
        ManagedAccountsCommand::List {
            account,
            service,
            status,
        } => print_json(
            &api.list(account, &ServiceName::from(service.as_str()), *status)
                .await?,
        ),
        ManagedAccountsCommand::Add {
            primary,
            accounts,
            service,
            sku,
        } => {
            let added = api
                .add(primary, &ServiceName::from(service.as_str()), sku, accounts)
                .await?;
            print_json(&added)?;
            let failed: Vec<_> = added
                .status_list
                .iter()
                .filter(|s| !s.is_success())
                .collect();
            for status in &failed {
                report(&format!(
                    "account {} was not added: {}",
                    terminal_safe(status.id.as_deref().unwrap_or("?")),
                    terminal_safe(status.reason.as_deref().unwrap_or("no reason given"))
                ));
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(Error::new(
                    ErrorKind::Api,
                    format!(
                        "{} of {} accounts were not added (named above)",
                        failed.len(),
                        added.status_list.len()
                    ),
                )
                .into())
            }
        }
        ManagedAccountsCommand::Provision { transaction } => {
            print_json(&api.provision(&transaction.transaction()).await?)
        }
        ManagedAccountsCommand::Cancel { transaction } => {
            print_json(&api.cancel(&transaction.transaction()).await?)
        }
    }
}

/// Parses `--status` with the SDK's own parser (any case), and lists the values in `--help`.
#[derive(Debug, Clone, Copy)]
struct StatusParser;

/// The values of `--status`, as the SDK sends them.
const STATUSES: [&str; 2] = ["ADD", "PROVISION"];

impl clap::builder::TypedValueParser for StatusParser {
    type Value = ManagedStatus;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<ManagedStatus, clap::Error> {
        if let Some(status) = value.to_str().and_then(|v| v.parse().ok()) {
            return Ok(status);
        }
        // Not a status in any case: clap's own error, with the possible values.
        let values = clap::builder::PossibleValuesParser::new(STATUSES);
        let text = values.parse_ref(cmd, arg, value)?;
        text.parse().map_err(|_| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("`{text}` is not a status\n"),
            )
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            STATUSES.into_iter().map(clap::builder::PossibleValue::new),
        ))
    }
}
