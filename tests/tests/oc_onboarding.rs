//! Operator Connect onboarding end to end, over real HTTP against the mock: a lead created,
//! turned into a customer through a task, seen among the customers with its numbers; the
//! service's refusals typed, with its field messages; a failed task with its messages; what
//! the SDK refuses before sending anything.

use std::time::Duration;

use thingspace::{
    ErrorKind,
    mock::{Fault, MockConfig, MockServer, Route},
    oc::{
        OcConfig, OcErrorExt, OperatorConnect, TaskStatus, TaskWait,
        leads::{create_request, decode_create_error},
    },
};
use thingspace_tests::loader_for;

/// The tenant of the document's lead (`Active`, not a customer, company `SIPTest`).
const DOCUMENT_TENANT: &str = "f94238e5-4f2c-4e1b-8125-2d27122ca75f";
/// A tenant with no lead in the mock.
const NEW_TENANT: &str = "0c0ffee0-1234-4abc-8def-0123456789ab";

async fn oc_with(config: MockConfig) -> (MockServer, OperatorConnect) {
    let server = MockServer::start_with(config).await.expect("mock");
    let oc = OperatorConnect::from_config(
        &OcConfig::load(&loader_for(&server).load().expect("load")).expect("oc"),
    )
    .expect("client");
    (server, oc)
}

/// Polls fast: the mock's tasks finish in 50 ms.
fn quick() -> TaskWait {
    TaskWait::default()
        .with_initial_interval(Duration::from_millis(10))
        .with_timeout(Duration::from_secs(10))
}

#[tokio::test]
async fn a_lead_created_and_converted_becomes_a_customer() {
    let (server, oc) = oc_with(MockConfig::default()).await;
    let customers_before = oc.customers().list().await.expect("customers");

    let lead = oc
        .leads()
        .create(NEW_TENANT, "Onboarded Co")
        .await
        .expect("created")
        .expect("the mock answers with the lead");
    assert_eq!(lead.tenant_id.as_deref(), Some(NEW_TENANT));
    assert_eq!(lead.ump_customer_guid, None);
    assert!(
        oc.numbers()
            .list(NEW_TENANT)
            .await
            .expect("numbers")
            .is_empty(),
        "a lead has no numbers yet"
    );

    let task = oc
        .leads()
        .convert(NEW_TENANT, "Onboarded_01", "Onboarded Company Ltd")
        .await
        .expect("converting");
    assert!(task.as_str().starts_with("wst_"), "{task}");
    let running = oc.tasks().get(task.as_str()).await.expect("task");
    assert_eq!(running.status, Some(TaskStatus::InProgress));

    let output = oc
        .tasks()
        .wait_with(task.as_str(), &quick())
        .await
        .expect("completed");
    let guid = output.ump_customer_guid.expect("umpCustomerGuid");

    let customers = oc.customers().list().await.expect("customers");
    assert_eq!(customers.len(), customers_before.len() + 1);
    let customer = customers
        .iter()
        .find(|c| c.ump_customer_guid.as_deref() == Some(guid.as_str()))
        .expect("the new customer is listed");
    assert_eq!(customer.ms_tenant_id.as_deref(), Some(NEW_TENANT));
    assert_eq!(
        customer.customer_short_name.as_deref(),
        Some("Onboarded_01")
    );
    assert_eq!(
        customer.customer_full_name.as_deref(),
        Some("Onboarded Company Ltd")
    );

    let leads = oc.leads().get(NEW_TENANT).await.expect("lead");
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].ump_customer_guid.as_deref(), Some(guid.as_str()));

    let numbers = oc.numbers().list(NEW_TENANT).await.expect("numbers");
    assert!(!numbers.is_empty(), "a customer has numbers");
    assert_eq!(numbers.len(), server.oc_numbers(NEW_TENANT).len());
    assert!(numbers.iter().all(|n| {
        n.tenant_id.as_deref() == Some(NEW_TENANT)
            && n.telephone_number
                .as_deref()
                .is_some_and(|t| t.starts_with("+1"))
    }));

    // Converting again is refused before the PATCH: the lead is a customer now.
    let e = oc
        .leads()
        .convert(NEW_TENANT, "Onboarded_02", "Again")
        .await
        .expect_err("already a customer");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains(&guid), "{e}");
    assert_eq!(server.count(Route::OcLeadCreate), 1);
    assert_eq!(
        server.count(Route::OcLeadConvert),
        1,
        "sent once, never again"
    );
    assert_eq!(
        server.count(Route::EntraToken),
        1,
        "one token for the whole flow"
    );
}

#[tokio::test]
async fn a_duplicate_create_is_typed_with_the_services_field_messages() {
    let (server, oc) = oc_with(MockConfig::default()).await;

    let e = oc
        .leads()
        .create(DOCUMENT_TENANT, "SIPTest")
        .await
        .expect_err("the document's lead exists");
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
    let exists = e.lead_already_exists().expect("typed");
    assert!(exists.tenant_exists() && exists.company_exists());
    let messages: Vec<(&str, &str)> = exists
        .messages()
        .iter()
        .map(|m| (m.field.as_str(), m.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            ("TenantId", "This MsTenant already exists as an UMP lead!"),
            (
                "CompanyName",
                "Company name is already used for an UMP lead."
            ),
        ]
    );
    // The error's own lines carry the messages: its text and its cause.
    let cause = std::error::Error::source(&e).expect("a cause").to_string();
    assert!(
        cause.contains("This MsTenant already exists as an UMP lead!"),
        "{cause}"
    );

    // A new tenant, a company name already used (in another case).
    let e = oc
        .leads()
        .create(NEW_TENANT, "siptest")
        .await
        .expect_err("the company exists");
    let exists = e.lead_already_exists().expect("typed");
    assert!(exists.company_exists() && !exists.tenant_exists());

    // A refusal that is not a duplicate is not taken for one, and keeps its messages (sent
    // by hand, with the operation's builder and decoder, past the SDK's own checks).
    let e = oc
        .client()
        .send(&create_request("not-a-guid", "Fresh Co"))
        .await
        .map_err(decode_create_error)
        .expect_err("refused");
    assert!(e.lead_already_exists().is_none(), "{e}");
    assert_eq!(
        e.validation_problem().map(ToString::to_string).as_deref(),
        Some("TenantId: The value 'not-a-guid' is not valid for TenantId.")
    );

    let created = oc.leads().create(NEW_TENANT, "Fresh Co").await;
    assert!(created.is_ok(), "{created:?}");
    assert_eq!(
        server.count(Route::OcLeadCreate),
        4,
        "each create sent once"
    );
    assert!(
        server
            .oc_lead(NEW_TENANT)
            .is_some_and(|l| l["contactDetails"]["companyName"] == "Fresh Co")
    );
}

#[tokio::test]
async fn a_failed_task_gives_its_execution_messages() {
    let (server, oc) = oc_with(MockConfig::default()).await;
    server.fail_next_oc_task(&["Customer short name is reserved", "Rolled back"]);

    let task = oc
        .leads()
        .convert(DOCUMENT_TENANT, "SIPTest", "SIP Test Inc")
        .await
        .expect("converting");
    let e = oc
        .tasks()
        .wait_with(task.as_str(), &quick())
        .await
        .expect_err("the task fails");
    assert_eq!(e.kind(), ErrorKind::Api);
    let failed = e.task_failed().expect("typed");
    assert_eq!(failed.task.status, Some(TaskStatus::Failed));
    let errors: Vec<&str> = failed
        .messages()
        .iter()
        .filter(|m| m.is_error())
        .filter_map(|m| m.message.as_deref())
        .collect();
    assert_eq!(errors, ["Customer short name is reserved", "Rolled back"]);
    let text = e.to_string();
    assert!(
        text.contains("Error: Customer short name is reserved; Error: Rolled back")
            && text.contains(task.as_str()),
        "{text}"
    );
    let lead = server.oc_lead(DOCUMENT_TENANT).expect("lead");
    assert!(
        lead["umpCustomerGuid"].is_null(),
        "a failed task makes no customer"
    );
    assert!(
        !oc.customers()
            .list()
            .await
            .expect("customers")
            .iter()
            .any(|c| c.ms_tenant_id.as_deref() == Some(DOCUMENT_TENANT))
    );

    // The next conversion is not affected by the failure queued for the first.
    let task = oc
        .leads()
        .convert(DOCUMENT_TENANT, "SIPTest", "SIP Test Inc")
        .await
        .expect("converting again after a failure");
    let output = oc.tasks().wait_with(task.as_str(), &quick()).await;
    assert!(
        output.is_ok_and(|o| o.ump_customer_guid.is_some()),
        "the second task completes"
    );
}

#[tokio::test]
async fn bad_short_names_and_inputs_are_refused_before_anything_is_sent() {
    let (server, oc) = oc_with(MockConfig::default()).await;
    for (tenant, short, full) in [
        (DOCUMENT_TENANT, "ab", "Full"),
        (DOCUMENT_TENANT, "sixteen_chars_xx", "Full"),
        (DOCUMENT_TENANT, "has space", "Full"),
        (DOCUMENT_TENANT, "dash-ed", "Full"),
        (DOCUMENT_TENANT, "ünï", "Full"),
        (DOCUMENT_TENANT, "Good_1", " "),
        ("not-a-guid", "Good_1", "Full"),
    ] {
        let e = oc
            .leads()
            .convert(tenant, short, full)
            .await
            .expect_err(short);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{short}: {e}");
        assert_eq!(e.operation(), Some("oc.leads.convert"));
    }
    for (tenant, company) in [("not-a-guid", "Co"), (NEW_TENANT, ""), (NEW_TENANT, "a\nb")] {
        let e = oc.leads().create(tenant, company).await.expect_err(company);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    let e = oc.numbers().list("nope").await.expect_err("not a GUID");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        server.total_requests(),
        0,
        "no request reached the mock, not even for a token"
    );
}

#[tokio::test]
async fn only_an_active_lead_is_converted() {
    let (server, oc) = oc_with(MockConfig::default()).await;
    // The mock's third lead is Suspended.
    let suspended = server.oc_leads()[2].clone();
    assert_eq!(suspended["status"], "Suspended");
    let tenant = suspended["tenantId"].as_str().expect("tenant");
    let e = oc
        .leads()
        .convert(tenant, "Suspended_1", "Suspended Co")
        .await
        .expect_err("not Active");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("Suspended, not Active"), "{e}");
    let e = oc
        .leads()
        .convert(NEW_TENANT, "Nobody_1", "Nobody")
        .await
        .expect_err("no lead");
    assert!(e.to_string().contains("has no lead"), "{e}");
    assert_eq!(server.count(Route::OcLeads), 2, "each lead was looked up");
    assert_eq!(
        server.count(Route::OcLeadConvert),
        0,
        "and nothing was converted"
    );
}

#[tokio::test]
async fn a_task_that_does_not_finish_in_time_is_a_timeout_naming_its_status() {
    let (server, oc) = oc_with(MockConfig::default().oc_task_delay(Duration::from_secs(60))).await;
    let task = oc
        .leads()
        .convert(DOCUMENT_TENANT, "SIPTest", "SIP Test Inc")
        .await
        .expect("converting");
    let started = std::time::Instant::now();
    let e = oc
        .tasks()
        .wait_with(
            task.as_str(),
            &quick().with_timeout(Duration::from_millis(200)),
        )
        .await
        .expect_err("still running");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(e.is_timeout(), "{e}");
    assert_eq!(e.operation(), Some("oc.tasks.wait"));
    assert!(e.to_string().contains("still InProgress"), "{e}");
    assert!(server.count(Route::OcTask) >= 2, "polled more than once");

    let e = oc
        .tasks()
        .get("wst_unknown")
        .await
        .expect_err("no such task");
    assert!(e.is_not_found(), "{e}");
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_is_sent_once_and_says_how_to_check() {
    let (server, oc) = oc_with(MockConfig::default()).await;
    server.inject(Route::OcLeadCreate, Fault::Reset);
    let e = oc
        .leads()
        .create(NEW_TENANT, "Lost Co")
        .await
        .expect_err("answer lost");
    assert!(e.is_outcome_unknown(), "{e}");
    assert!(e.to_string().contains("get the tenant's lead"), "{e}");
    assert_eq!(server.count(Route::OcLeadCreate), 1, "never sent again");

    server.inject(Route::OcLeadConvert, Fault::Status(503));
    let e = oc
        .leads()
        .convert(DOCUMENT_TENANT, "SIPTest", "SIP Test Inc")
        .await
        .expect_err("answer lost");
    assert!(e.is_outcome_unknown(), "{e}");
    assert!(e.to_string().contains("umpCustomerGuid"), "{e}");
    assert_eq!(server.count(Route::OcLeadConvert), 1, "never sent again");

    // Reads are retried: a task read through a 503.
    let task = oc
        .leads()
        .convert(DOCUMENT_TENANT, "SIPTest", "SIP Test Inc")
        .await
        .expect("converting");
    server.inject(Route::OcTask, Fault::Status(503));
    let output = oc.tasks().wait_with(task.as_str(), &quick()).await;
    assert!(output.is_ok(), "{output:?}");
}
