//! Managed accounts end to end: each response spelling, each status filter.

use thingspace::{
    Client, ErrorKind,
    mock::{ManagedSpelling, MockConfig, MockServer, Route},
    subsc::{ManagedAccountState, ManagedStatus, ServiceName, Subsc},
};
use thingspace_tests::loader_for;

const PRIMARY: &str = "2024009649-00001";

async fn subsc(spelling: ManagedSpelling) -> (MockServer, Subsc) {
    let server = MockServer::start_with(MockConfig::default().managed_spelling(spelling))
        .await
        .expect("mock");
    let config = loader_for(&server)
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    let subsc = Subsc::new(Client::thingspace(&config).expect("client"));
    (server, subsc)
}

#[tokio::test]
async fn every_spelling_and_every_filter() {
    for spelling in [ManagedSpelling::Document, ManagedSpelling::Sdk] {
        let (server, subsc) = subsc(spelling).await;
        let api = subsc.managed_accounts();
        let all = api
            .list(PRIMARY, &ServiceName::Location, None)
            .await
            .expect("all");
        assert_eq!(all.account_name.as_deref(), Some(PRIMARY));
        assert_eq!(all.managed_accounts.len(), 5, "{spelling:?}");
        assert!(
            all.managed_accounts.iter().all(|a| a.tx_id.is_some()),
            "{spelling:?}"
        );
        if spelling == ManagedSpelling::Sdk {
            let added = all
                .managed_accounts
                .iter()
                .filter(|a| a.state == Some(ManagedAccountState::Added))
                .count();
            assert_eq!(
                added, 3,
                "the SDK spelling says which list each account is in"
            );
        }
        for (status, state, n) in [
            (ManagedStatus::Add, ManagedAccountState::Added, 3),
            (
                ManagedStatus::Provision,
                ManagedAccountState::Provisioned,
                2,
            ),
        ] {
            let list = api
                .list(PRIMARY, &ServiceName::Location, Some(status))
                .await
                .expect("filtered");
            assert_eq!(list.managed_accounts.len(), n, "{spelling:?} {status:?}");
            assert!(list.managed_accounts.iter().all(|a| a.state == Some(state)));
        }
        assert_eq!(server.count(Route::ManagedAccounts), 3);
        assert_eq!(
            server.count(Route::Token),
            1,
            "subsc shares the ThingSpace credentials"
        );
        assert_eq!(server.count(Route::Login), 1);
    }
}

#[tokio::test]
async fn other_services_are_sent_as_named_and_errors_are_typed() {
    let (server, subsc) = subsc(ManagedSpelling::Document).await;
    let e = subsc
        .managed_accounts()
        .list(PRIMARY, &ServiceName::from("Billing"), None)
        .await
        .expect_err("unknown service");
    assert_eq!(e.api_code(), Some("INVALID_SERVICE_NAME"));
    let e = subsc
        .managed_accounts()
        .list("", &ServiceName::Location, None)
        .await
        .expect_err("empty");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(server.count(Route::ManagedAccounts), 1);
}
