//! A redis-server of each test's own, on a free loopback port.

use std::{process::Command, time::Duration};

use thingspace_mock::RedisServer;
use thingspace_redis::RedisFleet;

/// A redis-server of this test's own, stopped when dropped.
pub struct Redis {
    server: RedisServer,
    pub url: String,
}

impl Redis {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server with these extra configuration arguments (`--user ...` for ACL users).
    pub fn start_with(extra: &[&str]) -> Self {
        let server = RedisServer::start_with(extra).expect("redis-server");
        Self {
            url: server.url(),
            server,
        }
    }

    /// Stops the server (as a crash would: no shutdown save).
    #[allow(dead_code)]
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as a Redis
    /// behind a network partition.
    #[allow(dead_code)]
    pub fn freeze(&self, frozen: bool) {
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &self.server.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// A server again on the port of this one (stopped first).
    #[allow(dead_code)]
    pub fn restart(&mut self) {
        self.server.restart().expect("redis-server again");
    }

    pub async fn fleet(&self, prefix: &str) -> RedisFleet {
        connect(&self.url, prefix, 200).await
    }

    /// A server whose only user is the ACL user `fleet` (password [`ACL_PASSWORD`]) with every
    /// permission but those `denied` (such as `-eval`); the default user is off.
    #[allow(dead_code)]
    pub fn start_with_acl_user(denied: &[&str]) -> Self {
        let mut args = vec!["--user", "fleet", "on", ">acl-s3cret", "~*", "&*", "+@all"];
        args.extend_from_slice(denied);
        args.extend_from_slice(&["--user", "default", "off"]);
        Self::start_with(&args)
    }

    /// This server's URL as the ACL user `fleet` with `password`.
    #[allow(dead_code)]
    pub fn url_as(&self, password: &str) -> String {
        self.url
            .replace("redis://", &format!("redis://fleet:{password}@"))
    }

    /// The fleet, connected as the ACL user `fleet`.
    #[allow(dead_code)]
    pub async fn fleet_as_acl_user(&self, prefix: &str) -> RedisFleet {
        connect(&self.url_as(ACL_PASSWORD), prefix, 40).await
    }
}

/// The password of the ACL user of [`Redis::start_with_acl_user`].
#[allow(dead_code)]
pub const ACL_PASSWORD: &str = "acl-s3cret";

/// Connects to `url` once the server is up (`tries` of 25 ms).
async fn connect(url: &str, prefix: &str, tries: usize) -> RedisFleet {
    for _ in 0..tries {
        if let Ok(fleet) = RedisFleet::connect(url, prefix).await {
            return fleet;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("redis-server did not come up");
}
