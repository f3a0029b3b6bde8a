//! The Operator Connect lead of one customer tenant:
//! `cargo run -p thingspace --example oc_leads_get --features oc,mock -- <MS_TENANT_ID>`.

mod common;

use thingspace::oc::{OcConfig, OperatorConnect, Timestamp};

#[tokio::main]
async fn main() -> thingspace::Result<()> {
    let tenant = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "f94238e5-4f2c-4e1b-8125-2d27122ca75f".to_owned());
    let (config, _mock) = common::load_or_mock().await?;
    let oc = OperatorConnect::from_config(&OcConfig::load(&config)?)?;
    let leads = oc.leads().get(&tenant).await?;
    if leads.is_empty() {
        println!("no lead for tenant {tenant}");
    }
    for lead in leads {
        println!(
            "{:?} {:?} consented on {:?}",
            lead.tenant_id,
            lead.status,
            lead.consented_on.as_ref().and_then(Timestamp::parsed)
        );
    }
    Ok(())
}
