//! The record-and-replay step: a run recorded to a cassette, then replayed offline.

use std::sync::Arc;

use thingspace::{
    Client, ReqwestTransport,
    m2m::M2m,
    replay::{RecordingTransport, ReplayTransport},
};

use super::{
    ACCOUNT, Demo,
    checks::check,
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

/// Records an account request to a cassette, replays it without the network, and checks that
/// the answers are the same and that no secret was written.
pub(super) async fn record_then_replay(demo: &Demo) -> Result<(), CliError> {
    step("Record a run, then replay it offline (secrets scrubbed from the cassette)")?;
    let config = &demo.config;
    let cassette =
        std::env::temp_dir().join(format!("thingspace-demo-{}.json", std::process::id()));
    let recorder = Arc::new(RecordingTransport::new(
        Arc::new(ReqwestTransport::new()?),
        &cassette,
    ));
    let recorded = M2m::new(Client::thingspace_with_transport(config, recorder.clone())?)
        .accounts()
        .get(ACCOUNT)
        .await?;
    let replay = Arc::new(ReplayTransport::from_file(&cassette)?);
    let replayed = M2m::new(Client::thingspace_with_transport(config, replay.clone())?)
        .accounts()
        .get(ACCOUNT)
        .await?;
    replay.assert_done()?;
    let text = std::fs::read_to_string(&cassette);
    std::fs::remove_file(&cassette).ok();
    let text = text.map_err(|e| CliError::Demo(format!("could not read the cassette: {e}")))?;
    let secrets = [config.client_secret.as_ref(), config.password.as_ref()];
    let leaked = secrets
        .into_iter()
        .flatten()
        .any(|secret| text.contains(secret.expose_secret()));
    outln!(
        "{} exchanges recorded to {}; replayed offline: {}; secrets in the cassette: {}",
        recorder.cassette().exchanges.len(),
        safe(cassette.display()),
        if replayed == recorded {
            "identical"
        } else {
            "DIFFERENT"
        },
        if leaked { "FOUND" } else { "none" }
    )?;
    check(replayed == recorded, || {
        "the replayed account differs from the recorded one".to_owned()
    })?;
    check(!leaked, || {
        "a secret was written to the cassette".to_owned()
    })
}
