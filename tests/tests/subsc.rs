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

/// A managed account with a UWS user of its own.
const MANAGED: &str = "1223334444-00001";
const SKU: &str = "TS-LOC-COARSE-CellID-Aggr";

/// A mock where `MANAGED` has its own user, and the primary's client with that user as the
/// profile `managed` (from the environment), its password `managed_password`.
async fn two_users(managed_password: &str) -> (MockServer, Client) {
    let server = MockServer::start_with(MockConfig::default().managed_user(
        MANAGED,
        "managed-user",
        "managed-pass",
    ))
    .await
    .expect("mock");
    let config = thingspace_tests::loader_with(
        &server,
        [
            ("THINGSPACE_PROFILES__MANAGED__USERNAME", "managed-user"),
            ("THINGSPACE_PROFILES__MANAGED__PASSWORD", managed_password),
        ],
    )
    .load()
    .expect("load")
    .thingspace()
    .expect("config");
    let client = Client::thingspace(&config).expect("client");
    (server, client)
}

#[tokio::test]
async fn add_as_the_primary_provision_and_cancel_as_the_managed_user() {
    let (server, primary) = two_users("managed-pass").await;
    let managed = primary
        .as_profile("MANAGED")
        .expect("the profile, in any case");
    let as_primary = Subsc::new(primary.clone());
    let as_managed = Subsc::new(managed);

    let added = as_primary
        .managed_accounts()
        .add(
            PRIMARY,
            &ServiceName::Location,
            SKU,
            &[MANAGED.to_owned(), "1223334444-00002".to_owned()],
        )
        .await
        .expect("added");
    assert_eq!(added.status_list.len(), 2);
    assert!(added.status_list.iter().all(|s| s.is_success()));
    let txid = added.txid.clone();
    let transaction = thingspace::subsc::Transaction::new(MANAGED, PRIMARY, SKU, txid.as_str());

    // The primary's session may not provision the managed account: the service refuses it.
    let e = as_primary
        .managed_accounts()
        .provision(&transaction)
        .await
        .expect_err("not the managed account's user");
    assert!(e.to_string().contains("does not manage"), "{e}");

    as_managed
        .managed_accounts()
        .provision(&transaction)
        .await
        .expect("provisioned by its own user");
    let provisioned = as_primary
        .managed_accounts()
        .list(
            PRIMARY,
            &ServiceName::Location,
            Some(ManagedStatus::Provision),
        )
        .await
        .expect("listed");
    assert!(
        provisioned
            .managed_accounts
            .iter()
            .any(|a| a.id == MANAGED && a.tx_id.as_deref() == Some(txid.as_str())),
        "{provisioned:?}"
    );
    // Provisioned twice: the service answers Fail, an error with its reason.
    let again = as_managed
        .managed_accounts()
        .provision(&transaction)
        .await
        .expect_err("already provisioned");
    assert_eq!(again.kind(), ErrorKind::Api);
    assert!(
        again.to_string().contains("cannot be provisioned"),
        "{again}"
    );

    as_managed
        .managed_accounts()
        .cancel(&transaction)
        .await
        .expect("cancelled");
    let after = as_primary
        .managed_accounts()
        .list(PRIMARY, &ServiceName::Location, None)
        .await
        .expect("listed");
    assert!(after.managed_accounts.iter().all(|a| a.id != MANAGED));
    // One bearer token for both users, one session each.
    assert_eq!(server.count(Route::Token), 1);
    assert_eq!(server.count(Route::Login), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_of_one_profile_is_tried_once_and_spares_the_others() {
    let (server, primary) = two_users("wrong-managed-password").await;
    let managed = Subsc::new(primary.as_profile("managed").expect("profile"));
    let transaction = thingspace::subsc::Transaction::new(MANAGED, PRIMARY, SKU, "tx");
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let managed = managed.clone();
            let transaction = transaction.clone();
            tokio::spawn(async move { managed.managed_accounts().cancel(&transaction).await })
        })
        .collect();
    for call in calls {
        let e = call.await.expect("join").expect_err("refused");
        assert!(e.is_auth(), "{e}");
        assert!(
            e.to_string().contains("managed-user"),
            "names the user: {e}"
        );
        assert!(!e.to_string().contains("wrong-managed-password"), "{e}");
    }
    assert_eq!(
        server.count(Route::Login),
        1,
        "one login attempt for 100 calls"
    );
    assert_eq!(server.count(Route::ManagedAccountActions), 0);
    // The primary's user is not affected.
    Subsc::new(primary)
        .managed_accounts()
        .list(PRIMARY, &ServiceName::Location, None)
        .await
        .expect("the primary still works");
    assert!(
        primary_profile_error(&server)
            .await
            .contains("no UWS user for the profile `billing`"),
        "an unknown profile is a configuration error naming it"
    );
}

async fn primary_profile_error(server: &MockServer) -> String {
    let config = loader_for(server)
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    Client::thingspace(&config)
        .expect("client")
        .as_profile("billing")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}
