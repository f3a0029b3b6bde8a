//! Every lead of an account, page after page:
//! `cargo run -p thingspace --example m2m_leads_list --features mock [-- ACCOUNT [CURSOR]]`.
//! A failure part way prints the cursor to resume from; pass it as CURSOR to go on from there.

mod common;

use futures_util::StreamExt;
use thingspace::{Client, m2m::M2m};

#[tokio::main]
async fn main() -> thingspace::Result<()> {
    let account = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "0000123456".to_owned());
    let resume = match std::env::args().nth(2) {
        Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| {
            thingspace::Error::invalid_input(format!("`{cursor}` is not a leads cursor"))
        })?),
        None => None,
    };
    let (config, _mock) = common::load_or_mock().await?;
    let m2m = M2m::new(Client::thingspace(&config.thingspace()?)?);
    let mut pages = match resume {
        Some(cursor) => m2m.leads().pages_from(&account, cursor),
        None => m2m.leads().pages(&account),
    };
    let mut total = 0;
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                total += page.items.len();
                println!(
                    "{} leads (cursor {:?}, next {:?})",
                    page.items.len(),
                    page.cursor,
                    page.next
                );
            }
            Err(e) => {
                eprintln!("stopped after {total} leads: {e}");
                if let Some(cursor) = e.resume_cursor() {
                    eprintln!("resume with: -- {account} {cursor}");
                }
                return Err(e);
            }
        }
    }
    println!("{total} leads in all");
    Ok(())
}
