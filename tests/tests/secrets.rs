//! No secret appears in Debug, Display, errors or a full TRACE log of a run.

use thingspace::mock::{CLIENT_SECRET, Fault, PASSWORD, Route};
use thingspace_tests::{CapturedLogs, Harness, loader_for};

fn assert_clean(text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "secret {s:?} leaked in:\n{text}"
        );
    }
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

    // The tokens the mock issued this run are secrets too: read them from the trace of the
    // mock's own bookkeeping is impossible, so check the shapes the mock gives them.
    let log = logs.text();
    assert!(
        log.contains("thingspace.operation"),
        "the run was traced:\n{log}"
    );
    let mut secrets = vec![
        CLIENT_SECRET.to_owned(),
        PASSWORD.to_owned(),
        "wrong-pw-zz".to_owned(),
    ];
    secrets.push("mock-bearer-".to_owned());
    secrets.push("mock-session-".to_owned());
    assert_clean(&log, &secrets);
    assert_clean(&outputs.join("\n"), &secrets);
}
