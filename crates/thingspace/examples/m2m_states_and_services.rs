//! The custom states and services of an account:
//! `cargo run -p thingspace --example m2m_states_and_services --features mock`.

mod common;

use thingspace::{Client, m2m::M2m};

#[tokio::main]
async fn main() -> thingspace::Result<()> {
    let account = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "0000123456".to_owned());
    let (config, _mock) = common::load_or_mock().await?;
    let m2m = M2m::new(Client::thingspace(&config.thingspace()?)?);
    let states = m2m.states_and_services().get(&account).await?;
    for engagement in &states.engagement {
        for service in &engagement.services {
            let names: Vec<_> = service
                .states
                .iter()
                .filter_map(|s| s.name.as_deref())
                .collect();
            println!("{:?}: {}", service.name, names.join(", "));
        }
    }
    Ok(())
}
