//! No secret appears in Debug, Display, errors or a full TRACE log of a run.

use thingspace::mock::{CLIENT_SECRET, Fault, OC_CLIENT_SECRET, PASSWORD, Route};
use thingspace::oc::{OcConfig, OcErrorExt, OperatorConnect, TaskWait};
use thingspace::subsc::{ManagedStatus, ServiceName, Subsc};
use thingspace_tests::{CapturedLogs, Harness, loader_for};

fn assert_clean(text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "secret {s:?} leaked in:\n{text}"
        );
    }
}

/// The base64 of `id:secret`, as a Basic header carries it.
fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
}

#[tokio::test]
async fn a_traced_run_leaks_no_secret() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let h = Harness::start().await.expect("harness");

    let mut outputs = Vec::new();
    outputs.push(format!(
        "{:?}",
        h.m2m.accounts().get("0000123456").await.expect("get")
    ));
    h.server.expire_sessions();
    h.server.expire_tokens();
    outputs.push(format!(
        "{:?}",
        h.m2m.accounts().get("0000123457").await.expect("renewed")
    ));
    h.server.inject(Route::Account, Fault::Unauthorized);
    h.server.inject(Route::Account, Fault::Unauthorized);
    let e = h.m2m.accounts().get("0000123458").await.expect_err("401");
    outputs.push(format!("{e} {e:?}"));
    let e = h.m2m.accounts().get("missing").await.expect_err("404");
    outputs.push(format!("{e} {e:?}"));
    outputs.push(format!("{:?} {:#?}", h.m2m, h.m2m.client()));
    let loaded = loader_for(&h.server).load().expect("load");
    outputs.push(format!(
        "{:?} {:?}",
        loaded.thingspace().expect("config"),
        loaded
    ));
    let refused = loader_for(&h.server)
        .set("password", "wrong-pw-zz")
        .load()
        .expect("load");
    let client =
        thingspace::Client::thingspace(&refused.thingspace().expect("config")).expect("client");
    let e = thingspace::m2m::M2m::new(client.clone())
        .accounts()
        .get("1")
        .await
        .expect_err("refused");
    outputs.push(format!("{e} {e:?} {client:?}"));

    // The other families, and their failures.
    h.server.set_lead_count("0000123456", 1_500);
    outputs.push(format!(
        "{:?}",
        h.m2m.leads().all("0000123456").await.expect("leads").len()
    ));
    outputs.push(format!(
        "{:?}",
        h.m2m
            .states_and_services()
            .get("0000123456")
            .await
            .expect("states")
    ));
    let subsc = Subsc::new(h.m2m.client().clone());
    let managed = subsc
        .managed_accounts()
        .list(
            "2024009649-00001",
            &ServiceName::Location,
            Some(ManagedStatus::Add),
        )
        .await
        .expect("managed");
    outputs.push(format!("{managed:?} {subsc:?}"));
    let loaded = loader_for(&h.server).load().expect("load");
    let oc_config = OcConfig::load(&loaded).expect("oc config");
    let oc = OperatorConnect::from_config(&oc_config).expect("oc");
    outputs.push(format!(
        "{:?}",
        oc.leads().all(10).await.expect("oc leads").len()
    ));
    h.server.expire_oc_tokens();
    outputs.push(format!(
        "{:?}",
        oc.leads()
            .get("f94238e5-4f2c-4e1b-8125-2d27122ca75f")
            .await
            .expect("renewed")
    ));
    outputs.push(format!("{oc_config:?} {oc:?} {:#?}", oc.client()));
    let wrong = loader_for(&h.server)
        .set("oc.client_secret", "wrong-oc-secret-zz")
        .load()
        .expect("load");
    let bad_oc = OperatorConnect::from_config(&OcConfig::load(&wrong).expect("oc")).expect("oc");
    let e = bad_oc.leads().all(10).await.expect_err("refused");
    outputs.push(format!("{e} {e:?}"));

    // Operator Connect onboarding: a lead created, a duplicate refused, converted and waited
    // for, a failed task, the numbers and the customers; the refused secret on a write.
    let tenant = "0c0ffee0-1234-4abc-8def-0123456789ab";
    let created = oc
        .leads()
        .create(tenant, "Secretless Co")
        .await
        .expect("created");
    let e = oc
        .leads()
        .create(tenant, "Secretless Co")
        .await
        .expect_err("a duplicate");
    outputs.push(format!(
        "{created:?} {e} {e:?} {:?}",
        e.lead_already_exists()
    ));
    let wait = TaskWait::default().with_initial_interval(std::time::Duration::from_millis(10));
    let task = oc
        .leads()
        .convert(tenant, "Secretless", "Secretless Co")
        .await
        .expect("converting");
    let output = oc
        .tasks()
        .wait_with(task.as_str(), &wait)
        .await
        .expect("done");
    outputs.push(format!(
        "{task:?} {output:?} {:?}",
        oc.tasks().get(task.as_str()).await
    ));
    h.server.fail_next_oc_task(&["Provisioning refused"]);
    let task = oc
        .leads()
        .convert(
            "f94238e5-4f2c-4e1b-8125-2d27122ca75f",
            "SIPTest",
            "SIP Test",
        )
        .await
        .expect("converting");
    let e = oc
        .tasks()
        .wait_with(task.as_str(), &wait)
        .await
        .expect_err("failed");
    outputs.push(format!("{e} {e:?} {:?}", e.task_failed()));
    outputs.push(format!(
        "{:?} {:?}",
        oc.numbers().list(tenant).await.expect("numbers"),
        oc.customers().list().await.expect("customers")
    ));
    let e = bad_oc
        .leads()
        .create("f94238e5-4f2c-4e1b-8125-2d27122ca75e", "Refused Co")
        .await
        .expect_err("refused");
    outputs.push(format!("{e} {e:?}"));
    h.server.inject(Route::Leads, Fault::Status(503));
    h.server.inject(Route::Leads, Fault::Status(503));
    h.server.inject(Route::Leads, Fault::Status(503));
    let e = h.m2m.leads().all("0000123456").await.expect_err("503");
    outputs.push(format!("{e} {e:?}"));

    // Another UWS user, as a profile: its password refused, then managed billing as the primary.
    let profiled = loader_for(&h.server)
        .set("profiles.managed.username", "managed-user")
        .set("profiles.managed.password", "profile-pw-zz")
        .load()
        .expect("load");
    let config = profiled.thingspace().expect("config");
    let primary = thingspace::Client::thingspace(&config).expect("client");
    let managed = primary.as_profile("managed").expect("profile");
    let e = Subsc::new(managed.clone())
        .managed_accounts()
        .cancel(&thingspace::subsc::Transaction::new("1", "2", "SKU", "tx"))
        .await
        .expect_err("refused");
    outputs.push(format!("{e} {e:?} {managed:?} {config:?} {profiled:?}"));
    let added = Subsc::new(primary)
        .managed_accounts()
        .add(
            "2024009649-00001",
            &ServiceName::Location,
            "SKU",
            &["1223334444-00009".to_owned()],
        )
        .await
        .expect("added");
    outputs.push(format!("{added:?}"));

    // The tokens the mock issued this run are secrets too: the mock gives them these prefixes.
    let log = logs.text();
    assert!(
        log.contains("thingspace.operation"),
        "the run was traced:\n{log}"
    );
    let secrets: Vec<String> = [
        CLIENT_SECRET,
        PASSWORD,
        OC_CLIENT_SECRET,
        "wrong-pw-zz",
        "wrong-oc-secret-zz",
        "profile-pw-zz",
        "mock-bearer-",
        "mock-session-",
        "mock-entra-",
    ]
    .map(str::to_owned)
    .into_iter()
    // The secrets as they travel: the Basic header carries `id:secret` in base64.
    .chain([basic(thingspace::mock::CLIENT_ID, CLIENT_SECRET)])
    .collect();
    assert!(
        log.contains("oc.leads.list") && log.contains("subsc.managed_accounts.list"),
        "every family was traced"
    );
    for operation in [
        "oc.leads.create",
        "oc.leads.convert",
        "oc.tasks.get",
        "oc.numbers.list",
        "oc.customers.list",
    ] {
        assert!(log.contains(operation), "{operation} was traced");
    }
    assert_clean(&log, &secrets);
    assert_clean(&outputs.join("\n"), &secrets);
}
