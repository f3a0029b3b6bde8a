//! Callback delivery prints no secret: the listener's password travels in each message's
//! body but is in no log line, and no `Debug` shows it. In a test binary of its own, so that
//! no other test registers log call sites while this one captures them.

mod support;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use support::{ACCOUNT, CB_PASSWORD, IMEIS, Receiver, Rig};

/// A writer that keeps what the log subscriber prints.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_password_is_logged_or_shown() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();

    let rig = Rig::start().await;
    let (receiver, url) = Receiver::start(1, Duration::ZERO).await;
    rig.register(ACCOUNT, "CarrierService", &url).await;
    let request_id = rig.activate(&IMEIS[..1]).await;
    rig.settle().await;
    drop(guard);
    assert_eq!(
        receiver.bodies().len(),
        2,
        "refused once, then acknowledged"
    );

    let text = String::from_utf8_lossy(&logs.0.lock().expect("logs")).into_owned();
    assert!(
        text.contains(&request_id),
        "the deliveries are logged: {text}"
    );
    assert!(!text.contains(CB_PASSWORD), "{text}");
    let config = rig.server.config();
    assert!(!text.contains(&config.password));

    let debug = format!("{:?} {:?}", rig.server, config);
    assert!(!debug.contains(&config.password), "{debug}");
    assert!(!debug.contains(&config.client_secret), "{debug}");
    let listener = rig
        .server
        .listener(ACCOUNT, "CarrierService")
        .expect("registered");
    assert_eq!(listener.password.as_deref(), Some(CB_PASSWORD));
    assert!(!format!("{listener:?}").contains(CB_PASSWORD));
}
