//! Helpers shared by the end-to-end tests: a mock server and a client configured for it.
//! Also home to the example family of `docs/extending.md` and the compiled examples of
//! `docs/testing.md` and of the README.

pub mod example_family;
pub mod raw_server;

#[doc = include_str!("../../docs/testing.md")]
pub mod testing_guide {}

/// The README's code, compiled so that it cannot drift from the API.
#[doc = include_str!("../../README.md")]
pub mod readme {}

use std::sync::{Arc, Mutex};

use thingspace::{
    Client, ConfigLoader, Result,
    m2m::M2m,
    mock::{MockConfig, MockServer},
};

/// A running mock and an M2M client configured for it through environment-style variables.
#[derive(Debug)]
pub struct Harness {
    /// The mock server.
    pub server: MockServer,
    /// The M2M family on a client configured for the mock.
    pub m2m: M2m,
}

/// The configuration loader for `server`, fed as environment variables (the layer users use
/// in deployments), with fast retries.
pub fn loader_for(server: &MockServer) -> ConfigLoader {
    loader_with(server, [])
}

/// As [`loader_for`], with more environment variables (such as a profile's
/// `THINGSPACE_PROFILES__MANAGED__USERNAME`).
pub fn loader_with<const N: usize>(server: &MockServer, more: [(&str, &str); N]) -> ConfigLoader {
    let mut vars: Vec<(String, String)> = server
        .settings()
        .into_iter()
        .map(|(k, v)| (format!("THINGSPACE_{}", k.to_ascii_uppercase()), v))
        .collect();
    vars.push(("THINGSPACE_RETRY__INITIAL_BACKOFF_MS".into(), "10".into()));
    vars.extend(more.map(|(k, v)| (k.to_owned(), v.to_owned())));
    ConfigLoader::new().without_default_file().env_vars(vars)
}

impl Harness {
    /// A mock with default settings.
    pub async fn start() -> Result<Self> {
        Self::start_with(MockConfig::default()).await
    }

    /// A mock with `config`.
    pub async fn start_with(config: MockConfig) -> Result<Self> {
        let server = MockServer::start_with(config)
            .await
            .map_err(|e| thingspace::Error::config("mock").with_source(e))?;
        let config = loader_for(&server).load()?.thingspace()?;
        let m2m = M2m::new(Client::thingspace(&config)?);
        Ok(Self { server, m2m })
    }
}

/// The most items [`until_error`] reads before it calls the stream endless: far more than
/// any test listing holds, far less than a listing that repeats a page forever reaches.
pub const UNTIL_ERROR_MAX_ITEMS: usize = 20_000;

/// The longest [`until_error`] waits for the error: a stream that stalls fails the test
/// instead of hanging it.
pub const UNTIL_ERROR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Reads `stream` until its first error: the items before it, and the error. Panics if the
/// stream ends without one, or gives more than [`UNTIL_ERROR_MAX_ITEMS`] items, or takes
/// longer than [`UNTIL_ERROR_TIMEOUT`]: a guard against loops that regresses fails the test
/// rather than hang it.
pub async fn until_error<T, S>(stream: &mut S) -> (Vec<T>, thingspace::Error)
where
    S: futures_core::Stream<Item = Result<T>> + Unpin,
{
    let mut items = Vec::new();
    let read = async {
        while let Some(item) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
        {
            match item {
                Ok(item) if items.len() < UNTIL_ERROR_MAX_ITEMS => items.push(item),
                Ok(_) => panic!(
                    "the stream gave more than {UNTIL_ERROR_MAX_ITEMS} items without an error: a listing that never ends?"
                ),
                Err(e) => return Some(e),
            }
        }
        None
    };
    let outcome = tokio::time::timeout(UNTIL_ERROR_TIMEOUT, read).await;
    match outcome {
        Ok(Some(e)) => (items, e),
        Ok(None) => panic!(
            "the stream ended after {} items without an error",
            items.len()
        ),
        Err(_) => panic!(
            "no error within {UNTIL_ERROR_TIMEOUT:?} ({} items read): a listing that stalls?",
            items.len()
        ),
    }
}

/// A `tracing` writer that keeps everything in memory, to search logs for secrets.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// A TRACE-level subscriber writing here; install it with `tracing::subscriber::set_default`.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish()
    }

    /// As [`subscriber`](Self::subscriber), and every span is also logged when it closes,
    /// with the fields recorded on it by then.
    pub fn span_subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(move || sink.clone())
            .finish()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
