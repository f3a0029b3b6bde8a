//! Every Operator Connect lead of the operator:
//! `cargo run -p thingspace --example oc_leads_list --features oc,mock`.

mod common;

use futures_util::StreamExt;
use thingspace::oc::{OcConfig, OperatorConnect};

#[tokio::main]
async fn main() -> thingspace::Result<()> {
    let (config, _mock) = common::load_or_mock().await?;
    let oc = OperatorConnect::from_config(&OcConfig::load(&config)?)?;
    let mut leads = oc.leads().list(100);
    while let Some(lead) = leads.next().await {
        let lead = lead?;
        let company = lead.contact().and_then(|c| c.company_name.clone());
        println!("{:?} {:?} {:?}", lead.tenant_id, lead.status, company);
    }
    Ok(())
}
