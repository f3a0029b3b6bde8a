//! `thingspace oc`: Operator Connect (AudioCodes Live Platform), configured by the [oc] table:
//! leads (get, list, create, convert into a customer), tasks, numbers and customers.

use std::{
    io::{self, BufWriter},
    time::Duration,
};

use thingspace::{
    LoadedConfig,
    oc::{OcConfig, OperatorConnect, TaskWait, leads::MAX_PAGE_SIZE},
};

use crate::{
    error::CliError,
    list,
    output::{Format, JsonFormat, ListWriter, outln, print_json},
    safe_text::terminal_safe,
};

/// The Operator Connect commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum OcCommand {
    /// Operator Connect leads: get, list, create, convert into a customer.
    Leads {
        #[command(subcommand)]
        command: OcLeadsCommand,
    },
    /// Tasks: what a conversion runs as.
    Tasks {
        #[command(subcommand)]
        command: OcTasksCommand,
    },
    /// The telephone numbers of a customer.
    Numbers {
        #[command(subcommand)]
        command: OcNumbersCommand,
    },
    /// The operator's customers.
    Customers {
        #[command(subcommand)]
        command: OcCustomersCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum OcLeadsCommand {
    /// Print the lead of one customer tenant (an empty array when there is none).
    Get {
        /// The customer's Microsoft tenant id (a GUID).
        ms_tenant_id: String,
    },
    /// List every lead of the operator, page after page (pages are numbered, so leads added
    /// or removed during a listing can shift from one page to another).
    List {
        /// Leads per page (1 to 20000).
        #[arg(
            long,
            default_value_t = 1000,
            value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE_SIZE))
        )]
        page_size: u32,
        /// Start at this page (from 1; the `--page` printed when a listing fails).
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
        /// Stop after this many leads.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Ask the service to check whether each customer is online (`checkOnline`);
        /// `--check-online=false` asks it not to; left out, the service's default applies.
        #[arg(
            long,
            value_name = "BOOL",
            num_args = 0..=1,
            require_equals = true,
            default_missing_value = "true"
        )]
        check_online: Option<bool>,
        /// Output format.
        #[arg(long, short, value_enum, default_value = "json")]
        output: JsonFormat,
    },
    /// Create a consentless lead; prints it (or, when the service answers without it, what
    /// was sent). Sent once. A tenant or company that already has a lead is refused with the
    /// service's messages (exit status 5).
    Create {
        /// The customer's Microsoft tenant id (a GUID).
        #[arg(long = "tenant", value_name = "GUID")]
        tenant: String,
        /// The customer's company name.
        #[arg(long = "company", value_name = "NAME")]
        company: String,
    },
    /// Turn an Active lead into an Operator Connect Essentials customer; prints the id of the
    /// task that does it. Sent once, after checking the lead. With --wait, then waits for the
    /// task and prints its output (the new customer's umpCustomerGuid); a failed task exits
    /// with status 5 and its messages, one still running at --wait-timeout with status 6.
    Convert {
        /// The customer's Microsoft tenant id (a GUID).
        ms_tenant_id: String,
        /// The customer's short name: 3 to 15 letters, digits or `_`.
        #[arg(long, value_name = "S")]
        short_name: String,
        /// The customer's full name.
        #[arg(long, value_name = "F")]
        full_name: String,
        /// Wait for the task to finish.
        #[arg(long)]
        wait: bool,
        /// With --wait: how long to wait in all, in seconds.
        #[arg(
            long,
            value_name = "SECS",
            default_value_t = 600.0,
            requires = "wait",
            allow_negative_numbers = true,
            value_parser = crate::positive_secs
        )]
        wait_timeout: f64,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum OcTasksCommand {
    /// Print a task: its status, execution messages and output.
    Get {
        /// The task id (`wst_…`, as `oc leads convert` printed it).
        task_id: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum OcNumbersCommand {
    /// Print the telephone numbers of a customer (an empty array when it has none).
    List {
        /// The customer's Microsoft tenant id (a GUID).
        ms_tenant_id: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum OcCustomersCommand {
    /// Print every customer of the operator.
    List,
}

/// Runs `command` with the settings of `loaded`; `words` is the start of a command that
/// repeats this one's settings, for the hint to resume a listing.
pub(crate) async fn run(
    command: &OcCommand,
    loaded: &LoadedConfig,
    words: Vec<String>,
) -> Result<(), CliError> {
    let oc = OperatorConnect::from_config(&OcConfig::load(loaded)?)?;
    match command {
        OcCommand::Leads { command } => leads(&oc, command, words).await,
        OcCommand::Tasks {
            command: OcTasksCommand::Get { task_id },
        } => print_json(&oc.tasks().get(task_id).await?),
        OcCommand::Numbers {
            command: OcNumbersCommand::List { ms_tenant_id },
        } => print_json(&oc.numbers().list(ms_tenant_id).await?),
        OcCommand::Customers {
            command: OcCustomersCommand::List,
        } => print_json(&oc.customers().list().await?),
    }
}

async fn leads(
    oc: &OperatorConnect,
    command: &OcLeadsCommand,
    words: Vec<String>,
) -> Result<(), CliError> {
    match command {
        OcLeadsCommand::Get { ms_tenant_id } => print_json(&oc.leads().get(ms_tenant_id).await?),
        OcLeadsCommand::List {
            page_size,
            page,
            limit,
            check_online,
            output,
        } => {
            let format = Format::from(*output);
            let mut leads = oc.leads();
            if let Some(check) = check_online {
                leads = leads.check_online(*check);
            }
            let pages = leads.pages_from(*page_size, *page);
            let writer = ListWriter::new(BufWriter::new(io::stdout().lock()), format, &[]);
            let listed = list::print_pages(
                pages,
                writer,
                *limit,
                ("lead", "leads"),
                ListWriter::write_json,
            )
            .await?;
            list::end_listing(listed, *limit, format, |cursor| {
                let mut words = words;
                let page_size = page_size.to_string();
                let rest = ["oc", "leads", "list", "--page-size", &page_size];
                words.extend(rest.map(str::to_owned));
                if let Some(check) = check_online {
                    words.push(format!("--check-online={check}"));
                }
                words.extend(["--page", cursor].map(str::to_owned));
                words
            })
        }
        OcLeadsCommand::Create { tenant, company } => {
            match oc.leads().create(tenant, company).await? {
                Some(lead) => print_json(&lead),
                None => print_json(&serde_json::json!({
                    "tenantId": tenant,
                    "companyName": company,
                })),
            }
        }
        OcLeadsCommand::Convert {
            ms_tenant_id,
            short_name,
            full_name,
            wait,
            wait_timeout,
        } => {
            let task = oc
                .leads()
                .convert(ms_tenant_id, short_name, full_name)
                .await?;
            if !*wait {
                return print_json(&task);
            }
            // The id first, on a line of its own: it is what to ask about if the wait fails.
            outln!("{}", serde_json::to_string(&task)?)?;
            crate::logging::note(&format!(
                "waiting for task {} (the task goes on if this command stops)",
                terminal_safe(task.as_str())
            ));
            let timeout = Duration::try_from_secs_f64(*wait_timeout).unwrap_or(Duration::MAX);
            let how = TaskWait::default().with_timeout(timeout);
            print_json(&oc.tasks().wait_with(task.as_str(), &how).await?)
        }
    }
}
