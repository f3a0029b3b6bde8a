//! The fleet's credential store: the bearer token and each user's session kept in Redis with
//! their expiry, one process of the fleet refreshing them at a time.

use std::{
    fmt,
    sync::{Arc, atomic::Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use thingspace_core::http::{HeaderName, HeaderValue};
use thingspace_core::{
    Budget, Credential, CredentialSource, CredentialStore, Error, ErrorKind, Result, StoreKey,
};

use crate::fleet::{Keys, Outage, RedisFleet};

/// How long the refresh lock is held without its holder renewing it: a holder that dies (or
/// loses Redis) hands over within this. A live holder renews it every third of it.
const DEFAULT_LEASE: Duration = Duration::from_secs(3);
/// How often a process waiting for another's refresh looks for its result.
const POLL: Duration = Duration::from_millis(25);
/// How long a credential with no expiry is kept in Redis after its last refresh.
const NO_EXPIRY_KEEP: Duration = Duration::from_secs(24 * 3600);
/// A credential handed out while another process refreshes it is looked for again this soon.
const DURING_REFRESH: Duration = Duration::from_secs(1);

/// Releases the refresh lock only if this process still holds it.
const RELEASE: &str =
    r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/// Extends the refresh lock only if this process still holds it.
const RENEW: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
/// Shares a new credential, only while this process still holds the refresh lock (a holder
/// whose lease ended must not overwrite a newer credential), with its times on Redis's clock.
///
/// KEYS: the credential, the lock, the refusal record. ARGV: the lock token, the id, the header
/// lines, the lifetime and the time to refresh in milliseconds (0: none), how long to keep it
/// without an expiry.
const SAVE: &str = r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lifetime = tonumber(ARGV[4])
local refresh = tonumber(ARGV[5])
local expires_at = 0
if lifetime > 0 then expires_at = now + lifetime end
local refresh_at = expires_at
if refresh > 0 then refresh_at = now + refresh end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'headers', ARGV[3], 'expires_ms', expires_at, 'refresh_ms', refresh_at)
if lifetime > 0 then redis.call('PEXPIRE', KEYS[1], lifetime) else redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
redis.call('DEL', KEYS[3])
return 1
";
/// Forgets the stored credential only if it is the one refused.
const FORGET_IF: &str = r"if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/// The bearer token and sessions of every process of a fleet, kept in Redis
/// ([`RedisFleet::credentials`]): give it to the client
/// (`Client::thingspace_with_pipeline(&config, pipeline, Some(store))`).
///
/// Each process keeps its own copy in front (the core's `CachedAuth`) and comes here only on a
/// miss, when its copy is due for refresh, or after the server refused it:
/// - a stored credential that is not due for refresh is handed out as it is, with the refresh
///   time its fetcher chose, so the fleet refreshes together and one refresh serves all;
/// - otherwise one process takes the refresh lock (a lease of three seconds, renewed while it
///   fetches, so a process that dies mid-login hands over within the lease) and fetches; the
///   others wait for its result, bounded by their operation's budget, and serve a still-valid
///   credential meanwhile;
/// - a refused credential is deleted only if it is still the stored one (compare and delete), so
///   a hundred replicas seeing the same stale token cause one refresh;
/// - a refused secret (a wrong password) is recorded for the fleet until the secret changes
///   or the record is deleted ([`refusal_hold`](Self::refusal_hold) sets a limit): the fleet
///   sends it once, not once per replica. A
///   corrected password is another key (see `StoreKey`) and is tried at once;
/// - while Redis cannot be reached, each process fetches for itself (one warning, then one
///   notice when Redis answers again), and the connection is made again by itself.
///
/// Credentials in Redis are secrets: use a Redis only your fleet can reach, with an ACL user,
/// over TLS (`rediss://`) outside one host.
#[derive(Clone)]
pub struct RedisCredentials {
    manager: ConnectionManager,
    keys: Keys,
    lease: Duration,
    /// How long a refusal answers for the fleet; `None`: until the secret changes or the
    /// record is deleted.
    refusal_hold: Option<Duration>,
    /// Whether Redis is to be asked, after a failure.
    outage: Arc<Outage>,
}

impl fmt::Debug for RedisCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCredentials")
            .field("keys", &self.keys)
            .field("lease", &self.lease)
            .field("refusal_hold", &self.refusal_hold)
            .finish_non_exhaustive()
    }
}

impl RedisFleet {
    /// The credential store of the fleet: the bearer token and the sessions shared by every
    /// process, under this fleet's prefix.
    pub fn credentials(&self) -> RedisCredentials {
        RedisCredentials {
            manager: self.manager.clone(),
            keys: self.keys.clone(),
            lease: DEFAULT_LEASE,
            refusal_hold: None,
            outage: Arc::new(Outage::new("each credential")),
        }
    }
}

/// A credential as Redis keeps it.
struct Stored {
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Milliseconds since the epoch on Redis's clock (`TIME`), so hosts whose clocks differ
    /// agree; 0 for no expiry.
    expires_ms: u64,
    refresh_ms: u64,
}

/// The header lines of `credential`: `name:value`, one per line (names hold no `:`, values
/// no line break).
fn header_lines(credential: &Credential) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in credential.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

impl Stored {
    /// Reads the fields of the hash; `None` for anything not written by the save script (a
    /// foreign or damaged entry is refetched, never trusted).
    fn from_fields(fields: &std::collections::HashMap<String, Vec<u8>>) -> Option<Self> {
        let text = |name: &str| {
            fields
                .get(name)
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_owned)
        };
        let number = |name: &str| text(name).and_then(|t| t.parse::<u64>().ok());
        let mut headers = Vec::new();
        for line in fields.get("headers")?.split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let colon = line.iter().position(|b| *b == b':')?;
            let name = HeaderName::from_bytes(&line[..colon]).ok()?;
            let value = HeaderValue::from_bytes(&line[colon + 1..]).ok()?;
            headers.push((name, value));
        }
        if headers.is_empty() {
            return None;
        }
        // Written with an id by the save script, which compare-and-delete matches.
        text("id")?;
        Some(Self {
            headers,
            expires_ms: number("expires_ms")?,
            refresh_ms: number("refresh_ms")?,
        })
    }

    fn is_expired(&self, now: u64) -> bool {
        self.expires_ms != 0 && now >= self.expires_ms
    }

    fn wants_refresh(&self, now: u64) -> bool {
        self.refresh_ms != 0 && now >= self.refresh_ms
    }

    /// The credential, valid for what is left of it and due for refresh when its fetcher chose
    /// (or `refresh_within`, if sooner).
    fn credential(&self, now: u64, refresh_within: Option<Duration>) -> Credential {
        let left = |at: u64| Duration::from_millis(at.saturating_sub(now));
        let lifetime = (self.expires_ms != 0).then(|| left(self.expires_ms));
        let credential = Credential::new(self.headers.clone(), lifetime);
        let refresh = (self.refresh_ms != 0).then(|| left(self.refresh_ms));
        match (refresh, refresh_within) {
            (Some(r), Some(w)) => credential.refreshing_in(r.min(w)),
            (r, w) => match r.or(w) {
                Some(d) => credential.refreshing_in(d),
                None => credential,
            },
        }
    }
}

/// A short fingerprint of the credential's headers, to tell which credential a refusal is
/// about without comparing tokens in a script.
fn credential_id(credential: &Credential) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, value) in credential.headers() {
        for byte in name
            .as_str()
            .bytes()
            .chain([0])
            .chain(value.as_bytes().iter().copied())
            .chain([0])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// What the store read for a key in one round trip.
struct Read {
    stored: Option<Stored>,
    /// The fleet's record of a refused secret, if any.
    refusal: Option<String>,
    /// Now on Redis's clock, in milliseconds since the epoch.
    now: u64,
}

impl RedisCredentials {
    /// How long the refresh lock is held without renewal (default 3 s, from 1 s to a minute):
    /// the longest the fleet waits for a refresher that died.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.clamp(Duration::from_secs(1), Duration::from_secs(60));
        self
    }

    /// How long a refused secret answers for the fleet before one process tries it again
    /// (from a second to a day). By default the refusal holds until the secret changes (its
    /// fingerprint is part of the key) or the record is deleted
    /// ([`forget_refusal`](Self::forget_refusal)): five refused logins in a row lock a UWS
    /// user, and a fleet retrying every hour would get there in five.
    #[must_use]
    pub fn refusal_hold(mut self, hold: Duration) -> Self {
        self.refusal_hold =
            Some(hold.clamp(Duration::from_secs(1), Duration::from_secs(24 * 3600)));
        self
    }

    /// Forgets the fleet's record of a refused secret for `key`, so the next request tries it
    /// again (after Verizon support unlocked the user, say). Returns whether there was one.
    ///
    /// # Errors
    /// When Redis cannot be reached.
    pub async fn forget_refusal(&self, key: &StoreKey) -> Result<bool> {
        let mut conn = self.manager.clone();
        let removed: u64 = redis::cmd("DEL")
            .arg(self.keys.credential_refused(key))
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_error("forgetting the refusal", &e))?;
        Ok(removed > 0)
    }

    async fn read(&self, key: &StoreKey) -> redis::RedisResult<Read> {
        let mut conn = self.manager.clone();
        type Answer = (
            std::collections::HashMap<String, Vec<u8>>,
            Option<String>,
            (u64, u64),
        );
        let (fields, refusal, (secs, micros)): Answer = redis::pipe()
            .hgetall(self.keys.credential(key))
            .get(self.keys.credential_refused(key))
            .cmd("TIME")
            .query_async(&mut conn)
            .await?;
        Ok(Read {
            stored: Stored::from_fields(&fields),
            refusal,
            now: secs.saturating_mul(1000).saturating_add(micros / 1000),
        })
    }

    /// Takes the refresh lock for `key` with `token`; true when taken.
    async fn lock(&self, key: &StoreKey, token: &str) -> redis::RedisResult<bool> {
        let mut conn = self.manager.clone();
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.keys.credential_lock(key))
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(millis(self.lease))
            .query_async(&mut conn)
            .await?;
        Ok(taken.is_some())
    }

    async fn release(&self, key: &StoreKey, token: &str) {
        let mut conn = self.manager.clone();
        let released: redis::RedisResult<i64> = redis::cmd("EVAL")
            .arg(RELEASE)
            .arg(1)
            .arg(self.keys.credential_lock(key))
            .arg(token)
            .query_async(&mut conn)
            .await;
        if let Err(e) = released {
            // The lease ends it.
            tracing::debug!(error = %e, "could not release the credential refresh lock");
        }
    }

    /// Renews the lock every third of the lease while the fetch runs: until the guard is
    /// dropped, with the fetch or with the caller that gave up on it.
    fn keep_lock(&self, key: &StoreKey, token: &str) -> LeaseKeeper {
        let this = self.clone();
        let lock = self.keys.credential_lock(key);
        let token = token.to_owned();
        LeaseKeeper(tokio::spawn(async move {
            loop {
                tokio::time::sleep(this.lease / 3).await;
                let mut conn = this.manager.clone();
                let renewed: redis::RedisResult<i64> = redis::cmd("EVAL")
                    .arg(RENEW)
                    .arg(1)
                    .arg(&lock)
                    .arg(&token)
                    .arg(millis(this.lease))
                    .query_async(&mut conn)
                    .await;
                // Lost (the lease ended): nothing more to renew. Renewed, or a slow or failed
                // answer: try again at the next third.
                if let Ok(0) = renewed {
                    return;
                }
            }
        }))
    }

    /// Shares `credential`, if this process still holds the lock `token`.
    async fn save(&self, key: &StoreKey, token: &str, credential: &Credential) {
        let ms = |d: Option<Duration>| d.map_or(0, millis);
        let mut conn = self.manager.clone();
        let saved: redis::RedisResult<i64> = redis::cmd("EVAL")
            .arg(SAVE)
            .arg(3)
            .arg(self.keys.credential(key))
            .arg(self.keys.credential_lock(key))
            .arg(self.keys.credential_refused(key))
            .arg(token)
            .arg(credential_id(credential))
            .arg(header_lines(credential))
            .arg(ms(credential.expires_in()))
            .arg(ms(credential.refresh_in()))
            .arg(millis(NO_EXPIRY_KEEP))
            .query_async(&mut conn)
            .await;
        match saved {
            Ok(1) => {}
            // Its lease ended while it fetched: another process may have shared a newer one.
            Ok(_) => tracing::debug!(
                key = key.identity(),
                "the refresh lock was lost; the new credential is this process's own"
            ),
            // This process has its credential; the others will fetch their own.
            Err(e) => tracing::warn!(error = %e, "could not share a new credential with the fleet"),
        }
    }

    async fn record_refusal(&self, key: &StoreKey, refusal: &Error) {
        let mut conn = self.manager.clone();
        let mut set = redis::cmd("SET");
        set.arg(self.keys.credential_refused(key))
            .arg(refusal.to_string());
        if let Some(hold) = self.refusal_hold {
            set.arg("PX").arg(millis(hold));
        }
        let recorded: redis::RedisResult<()> = set.query_async(&mut conn).await;
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record the refusal for the fleet");
        }
    }

    /// The error of a refusal another process recorded for the fleet.
    fn refused_for_the_fleet(&self, key: &StoreKey, refusal: &str) -> Error {
        Error::new(
            ErrorKind::Auth,
            format!(
                "refused for the whole fleet, not sent again: {refusal} (recorded in Redis for {}; once the cause is fixed, RedisCredentials::forget_refusal or deleting that record lets the next request try again)",
                key.identity()
            ),
        )
    }

    /// Fetches as the fleet's refresher, holding the lock `token`.
    async fn refresh(
        &self,
        key: &StoreKey,
        token: &str,
        source: &dyn CredentialSource,
        budget: &Budget,
    ) -> Result<Credential> {
        // Another process may have refreshed, or been refused, between the read and the lock
        // (it records either before it releases the lock).
        if let Ok(read) = self.read(key).await {
            let now = read.now;
            if let Some(stored) = read.stored.filter(|s| !s.wants_refresh(now)) {
                self.release(key, token).await;
                return Ok(stored.credential(now, None));
            }
            if let Some(refusal) = read.refusal {
                self.release(key, token).await;
                return Err(self.refused_for_the_fleet(key, &refusal));
            }
        }
        let keeper = self.keep_lock(key, token);
        let fetched = source.fetch(budget).await;
        drop(keeper);
        match &fetched {
            Ok(credential) => self.save(key, token, credential).await,
            // The service's refusal of this key's own request (a token request's for a token,
            // the login's for a session), not a refusal met on the way (a login whose bearer
            // token the gateway refused is the token's business).
            Err(e)
                if e.kind() == ErrorKind::Auth
                    && e.status().is_some()
                    && e.operation() == Some(key.kind()) =>
            {
                self.record_refusal(key, e).await;
            }
            Err(_) => {}
        }
        self.release(key, token).await;
        fetched
    }
}

/// Stops renewing the refresh lock when dropped.
struct LeaseKeeper(tokio::task::JoinHandle<()>);

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn redis_error(what: &str, e: &redis::RedisError) -> Error {
    Error::new(ErrorKind::Transport, format!("{what}: Redis: {e}"))
}

/// A token no other process holds: the process id, the time and a counter.
fn lock_token() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        now_ms(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[async_trait]
impl CredentialStore for RedisCredentials {
    async fn obtain(
        &self,
        key: &StoreKey,
        source: &dyn CredentialSource,
        budget: &Budget,
    ) -> Result<Credential> {
        loop {
            if self.outage.skipping() {
                return source.fetch(budget).await;
            }
            let read = match self.read(key).await {
                Ok(read) => {
                    self.outage.reached();
                    read
                }
                Err(e) => {
                    self.outage.failed(&e);
                    return source.fetch(budget).await;
                }
            };
            let now = read.now;
            if let Some(stored) = &read.stored
                && !stored.wants_refresh(now)
            {
                return Ok(stored.credential(now, None));
            }
            if let Some(refusal) = read.refusal {
                // A credential obtained before the refusal serves while it lasts.
                if let Some(stored) = read.stored.filter(|s| !s.is_expired(now)) {
                    return Ok(stored.credential(now, Some(DURING_REFRESH)));
                }
                return Err(self.refused_for_the_fleet(key, &refusal));
            }
            let token = lock_token();
            match self.lock(key, &token).await {
                Ok(true) => return self.refresh(key, &token, source, budget).await,
                Ok(false) => {}
                Err(e) => {
                    self.outage.failed(&e);
                    return source.fetch(budget).await;
                }
            }
            // Another process refreshes: a still-valid credential serves meanwhile.
            if let Some(stored) = read.stored.filter(|s| !s.is_expired(now)) {
                return Ok(stored.credential(now, Some(DURING_REFRESH)));
            }
            // The error is this caller's only once its budget is spent: an earlier one would be
            // taken for the fetch's own failure and shared with callers that have time left.
            if budget.is_spent() {
                return Err(budget.spent("the wait for another process's credential refresh"));
            }
            let pause = POLL + POLL.mul_f64(fastrand::f64());
            tokio::time::sleep(budget.remaining().map_or(pause, |left| pause.min(left))).await;
        }
    }

    async fn refused(&self, key: &StoreKey, credential: &Credential) {
        let mut conn = self.manager.clone();
        let forgot: redis::RedisResult<i64> = redis::cmd("EVAL")
            .arg(FORGET_IF)
            .arg(1)
            .arg(self.keys.credential(key))
            .arg(credential_id(credential))
            .query_async(&mut conn)
            .await;
        match forgot {
            Ok(1) => tracing::debug!(
                key = key.identity(),
                "forgot the refused credential for the fleet"
            ),
            Ok(_) => {}
            Err(e) => self.outage.failed(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_credential_reads_back_with_its_times() {
        let c = Credential::bearer("abc", Some(Duration::from_secs(3600))).expect("bearer");
        // As the save script writes it, on Redis's clock.
        let now = 1_800_000_000_000u64;
        let mut fields = std::collections::HashMap::new();
        fields.insert("id".to_owned(), credential_id(&c).into_bytes());
        fields.insert("headers".to_owned(), header_lines(&c));
        fields.insert(
            "expires_ms".to_owned(),
            (now + 3_600_000).to_string().into_bytes(),
        );
        fields.insert(
            "refresh_ms".to_owned(),
            (now + 3_540_000).to_string().into_bytes(),
        );
        let back = Stored::from_fields(&fields).expect("read back");
        let again = back.credential(now, None);
        assert!(again.same_as(&c));
        assert!(again.headers()[0].1.is_sensitive());
        let left = again.expires_in().expect("expires");
        assert!(left > Duration::from_secs(3590) && left <= Duration::from_secs(3600));
        assert!(again.refresh_in() < again.expires_in());
        assert!(!back.wants_refresh(now) && back.wants_refresh(now + 3_540_000));
        // A damaged entry is not trusted.
        fields.insert("headers".to_owned(), b"no colon here\n".to_vec());
        assert!(Stored::from_fields(&fields).is_none());
        fields.remove("headers");
        assert!(Stored::from_fields(&fields).is_none());
    }

    #[test]
    fn credentials_with_other_headers_have_other_ids() {
        let a = Credential::bearer("a", None).expect("a");
        let b = Credential::bearer("b", None).expect("b");
        assert_ne!(credential_id(&a), credential_id(&b));
        assert_eq!(credential_id(&a), credential_id(&a.clone()));
    }
}
