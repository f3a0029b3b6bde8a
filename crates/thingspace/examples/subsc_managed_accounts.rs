//! Managed accounts of a primary account, provisioned ones only:
//! `cargo run -p thingspace --example subsc_managed_accounts --features mock`.

mod common;

use thingspace::{
    Client,
    subsc::{ManagedStatus, ServiceName, Subsc},
};

#[tokio::main]
async fn main() -> thingspace::Result<()> {
    let primary = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "2024009649-00001".to_owned());
    let (config, _mock) = common::load_or_mock().await?;
    let subsc = Subsc::new(Client::thingspace(&config.thingspace()?)?);
    let list = subsc
        .managed_accounts()
        .list(
            &primary,
            &ServiceName::Location,
            Some(ManagedStatus::Provision),
        )
        .await?;
    for account in &list.managed_accounts {
        println!("{} (transaction {:?})", account.id, account.tx_id);
    }
    Ok(())
}
