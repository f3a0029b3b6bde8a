//! A real `redis-server` of a test's (or a demo's) own, on a free loopback port.

use std::{
    fmt, io,
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long a started server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// A `redis-server` started on a free port of 127.0.0.1, without persistence, and killed when
/// dropped: for the fleet code of `thingspace-redis` against a real Redis in tests, benchmarks
/// and the demo, as [`MockServer`](crate::MockServer) is for the ThingSpace APIs.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// let redis = thingspace_mock::RedisServer::start()?;
/// println!("connect to {}", redis.url());
/// # Ok(()) }
/// ```
pub struct RedisServer {
    child: Child,
    port: u16,
    args: Vec<String>,
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The arguments can hold an ACL user's password.
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl RedisServer {
    /// Starts `redis-server` (from `PATH`) and waits until it accepts connections.
    ///
    /// # Errors
    /// No free port; `redis-server` missing (the error says how to install it) or not
    /// accepting connections within five seconds.
    pub fn start() -> io::Result<Self> {
        Self::start_with::<&str>(&[])
    }

    /// As [`start`](Self::start), with more configuration arguments (for example ACL users:
    /// `["--user", "fleet", "on", ">password", "~*", "&*", "+@all", "--user", "default", "off"]`).
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with<S: AsRef<str>>(args: &[S]) -> io::Result<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let args = args.iter().map(|a| a.as_ref().to_owned()).collect();
        Self::start_on(port, args)
    }

    /// Whether `redis-server` can be started from `PATH`.
    pub fn is_installed() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start_on(port: u16, args: Vec<String>) -> io::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "redis-server could not be started ({e}): `cargo xtask test` installs it, or `apt-get install redis-server`"
                    ),
                )
            })?;
        let mut server = Self { child, port, args };
        server.await_accepting()?;
        Ok(server)
    }

    /// Waits until the server accepts connections, or fails if it exited.
    fn await_accepting(&mut self) -> io::Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "redis-server exited at start ({status}); port {} may be taken",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "redis-server did not accept connections on port {}",
                self.port
            ),
        ))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id (to freeze it with `SIGSTOP`, say).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server, as a crash would (nothing saved).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server and starts a new one on the same port with the same arguments: as a
    /// Redis that went away and came back, empty.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let args = std::mem::take(&mut self.args);
        *self = Self::start_on(self.port, args)?;
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
