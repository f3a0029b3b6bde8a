//! Get one M2M account: `cargo run -p thingspace --example m2m_accounts_get --features mock -- 0000123456`
//! (against the embedded mock unless credentials are configured).

mod common;

use thingspace::{Client, m2m::M2m};

#[tokio::main]
async fn main() -> thingspace::Result<()> {
    let account_name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "0000123456".to_owned());
    let (config, _mock) = common::load_or_mock().await?;
    let m2m = M2m::new(Client::thingspace(&config.thingspace()?)?);
    let account = m2m.accounts().get(&account_name).await?;
    println!("{account:#?}");
    Ok(())
}
