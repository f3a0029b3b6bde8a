//! The callback listener of `callbacks listen` and `--wait --listen`: its credentials from the
//! `[callbacks]` table, and the sink that writes each callback to stdout before acknowledging it.

use std::{
    io::{self, Write},
    net::SocketAddr,
    path::Path,
};

use thingspace::{
    LoadedConfig,
    callbacks::{Callback, Credentials, FileSink, Listener, ListenerBuilder, Sink, SinkError},
    m2m::ListenerConfig,
};

use crate::{error::CliError, fleet::Fleet, report};

/// The credentials callbacks must carry: the `[callbacks]` table's (env
/// `THINGSPACE_CALLBACKS__USERNAME`, `__PASSWORD`), or none, with a warning, when it has
/// neither.
pub(crate) fn credentials(loaded: &LoadedConfig) -> Result<Credentials, CliError> {
    let config = ListenerConfig::load(loaded)?;
    match (config.username, config.password) {
        (Some(user), Some(password)) => Ok(Credentials::new(user, password)),
        (None, None) => {
            report(
                "warning: no [callbacks] username and password: accepting callbacks that carry none (register the listener with credentials)",
            );
            Ok(Credentials::none())
        }
        _ => Err(CliError::Usage(
            "the [callbacks] table needs both username and password (THINGSPACE_CALLBACKS__USERNAME, THINGSPACE_CALLBACKS__PASSWORD)".into(),
        )),
    }
}

/// A listener builder with the command's credentials.
pub(crate) fn builder(loaded: &LoadedConfig) -> Result<ListenerBuilder, CliError> {
    Ok(Listener::builder(credentials(loaded)?))
}

/// Writes each callback to stdout as one line of JSON (without its password), flushed before
/// the acknowledgement.
#[derive(Debug)]
pub(crate) struct StdoutSink;

#[async_trait::async_trait]
impl Sink for StdoutSink {
    async fn accept(&self, callback: &Callback) -> Result<(), SinkError> {
        let mut out = io::stdout().lock();
        out.write_all(&callback.to_json_line())
            .and_then(|()| out.flush())
            .map_err(SinkError::Io)
    }
}

/// `thingspace callbacks listen`: receives until interrupted, each callback appended to `out`
/// (fsynced) or written to stdout before it is acknowledged, and first to Redis when `[redis]
/// url` is set.
pub(crate) async fn run(
    loaded: &LoadedConfig,
    addr: SocketAddr,
    out: Option<&Path>,
    fleet: Option<&Fleet>,
) -> Result<(), CliError> {
    let mut builder = builder(loaded)?;
    if let Some(fleet) = fleet {
        // First: a callback is acknowledged only once it is in Redis, for any process's waits.
        builder = builder.sink(fleet.sink());
    }
    let builder = match out {
        Some(path) => builder.sink(FileSink::open(path).map_err(CliError::Listen)?),
        None => builder.sink(StdoutSink),
    };
    let running = builder.build().bind(addr).await.map_err(CliError::Listen)?;
    crate::logging::note(&format!(
        "listening for callbacks on http://{}; Ctrl-C stops",
        running.local_addr()
    ));
    tokio::signal::ctrl_c().await.map_err(CliError::Listen)?;
    let stats = running.stats();
    running.shutdown().await;
    crate::logging::note(&format!(
        "stopped: {} callback(s) kept, {} refused for credentials, {} malformed, {} not kept (503)",
        stats.accepted, stats.unauthorized, stats.malformed, stats.unavailable
    ));
    Ok(())
}
