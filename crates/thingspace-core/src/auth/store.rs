//! Credential stores: where a [`CachedAuth`](super::CachedAuth) keeps credentials shared with
//! other processes (a fleet of replicas or workers), behind its own in-process copy.

use std::fmt;

use async_trait::async_trait;

use super::{Credential, CredentialSource};
use crate::budget::Budget;
use crate::error::Result;

/// The name under which a credential is shared: who it is for, never the secret that obtains
/// it.
///
/// Made of the kind of credential and the identities it belongs to (the application's client
/// id, a UWS user name) and a 16-bit fingerprint of the endpoint and secret, so that a corrected
/// password or a different environment is a different key (and a refusal recorded for the old
/// password does not hold back the new one). Sixteen bits tell a changed secret apart from the
/// old one, and say next to nothing about the secret itself.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StoreKey(String);

impl StoreKey {
    /// A key for the credential of `kind` (such as `oauth2.token` or `m2m.session`) belonging
    /// to `identities`, obtained with `secret_parts` (endpoint URL, secret): only their
    /// fingerprint is kept.
    pub fn new(kind: &str, identities: &[&str], secret_parts: &[&str]) -> Self {
        let mut key = kind.to_owned();
        for id in identities {
            key.push('/');
            key.push_str(id);
        }
        key.push('/');
        key.push_str(&format!("{:04x}", fingerprint(secret_parts)));
        Self(key)
    }

    /// The key as text, for the store's own key names. It holds the secret's fingerprint:
    /// not for logs (see [`identity`](Self::identity)).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The kind of credential: the operation that obtains it (`oauth2.token`, …).
    pub fn kind(&self) -> &str {
        self.0.split('/').next().unwrap_or_default()
    }

    /// The key without the secret's fingerprint: what logs, errors and `Debug` show.
    pub fn identity(&self) -> &str {
        self.0
            .rsplit_once('/')
            .map_or(self.0.as_str(), |(who, _)| who)
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoreKey").field(&self.identity()).finish()
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// FNV-1a over the parts (each ended by a zero byte), folded to 16 bits: stable across builds
/// and Rust releases, so every process of a fleet computes the same key.
fn fingerprint(parts: &[&str]) -> u16 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    let folded = (hash ^ (hash >> 16) ^ (hash >> 32) ^ (hash >> 48)) & 0xffff;
    u16::try_from(folded).unwrap_or_default()
}

/// A store of credentials shared by several processes, used by [`CachedAuth`](super::CachedAuth)
/// when its in-process copy is missing, due for refresh or refused
/// ([`CachedAuth::with_store`](super::CachedAuth::with_store)).
///
/// An implementation gives the whole fleet the behaviour `CachedAuth` gives one process: one
/// process fetches at a time while the others wait for its result (with a lease, so a fetcher
/// that dies does not stall the others), a credential refused by the server is forgotten only
/// if it is still the one stored, and a refusal of the secret is answered for every process
/// without asking the service again. `thingspace-redis` implements it on Redis.
#[async_trait]
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// A credential for `key`: the stored one while it is not due for refresh, or a fresh one
    /// from `source` (fetched by one process of the fleet while the others wait), within what is
    /// left of `budget`.
    ///
    /// # Errors
    /// The source's error (a refusal of the secret is recorded for the fleet; another failure
    /// is this process's alone, and the next process to need the credential fetches again); a
    /// refusal recorded for the fleet; [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when the budget runs out
    /// while waiting. A store that cannot reach its backend fetches from `source` itself.
    async fn obtain(
        &self,
        key: &StoreKey,
        source: &dyn CredentialSource,
        budget: &Budget,
    ) -> Result<Credential>;

    /// The server refused `credential`: forget it if it is still the one stored for `key`
    /// (compare and delete), so many processes seeing the same stale credential cause one fetch.
    async fn refused(&self, key: &StoreKey, credential: &Credential);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthProvider, CachedAuth};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// A store in memory, as two processes would share one: hands out what it holds while it
    /// is not due for refresh.
    #[derive(Debug, Default)]
    struct Memory {
        held: Mutex<Option<Credential>>,
        refusals: AtomicUsize,
    }

    #[async_trait]
    impl CredentialStore for Memory {
        async fn obtain(
            &self,
            _: &StoreKey,
            source: &dyn CredentialSource,
            budget: &Budget,
        ) -> Result<Credential> {
            let held = self.held.lock().expect("lock").clone();
            if let Some(c) = held.filter(|c| c.refresh_in() != Some(Duration::ZERO)) {
                return Ok(c);
            }
            let fresh = source.fetch(budget).await?;
            *self.held.lock().expect("lock") = Some(fresh.clone());
            Ok(fresh)
        }

        async fn refused(&self, _: &StoreKey, credential: &Credential) {
            self.refusals.fetch_add(1, Ordering::SeqCst);
            let mut held = self.held.lock().expect("lock");
            if held.as_ref().is_some_and(|h| h.same_as(credential)) {
                *held = None;
            }
        }
    }

    #[derive(Debug, Default)]
    struct Numbered(AtomicUsize, &'static str);

    #[async_trait]
    impl CredentialSource for Numbered {
        async fn fetch(&self, _: &Budget) -> Result<Credential> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Credential::bearer(&format!("{}{n}", self.1), Some(Duration::from_secs(3600)))
        }
    }

    fn key() -> StoreKey {
        StoreKey::new("test", &["app"], &["secret"])
    }

    #[tokio::test]
    async fn caches_sharing_a_store_fetch_once_and_forget_a_refused_credential_there() {
        let store = Arc::new(Memory::default());
        let one =
            CachedAuth::new(Numbered(AtomicUsize::new(0), "one")).with_store(store.clone(), key());
        let two =
            CachedAuth::new(Numbered(AtomicUsize::new(0), "two")).with_store(store.clone(), key());
        assert!(one.is_shared());
        let first = one.credential().await.expect("one");
        let seen = two.credential().await.expect("two");
        assert!(
            first.same_as(&seen),
            "the second process uses the first one's credential"
        );
        assert_eq!(one.source().0.load(Ordering::SeqCst), 1);
        assert_eq!(
            two.source().0.load(Ordering::SeqCst),
            0,
            "the second never fetched"
        );

        // The server refuses it: the process that saw the refusal drops its copy and the store's.
        let mut sent = http::HeaderMap::new();
        first.apply(&mut sent);
        let answer =
            crate::message::Response::new(http::StatusCode::UNAUTHORIZED, Default::default(), "");
        two.invalidate(&sent, &answer).await;
        assert_eq!(store.refusals.load(Ordering::SeqCst), 1);
        assert!(store.held.lock().expect("lock").is_none());
        let renewed = two.credential().await.expect("renewed");
        assert!(!renewed.same_as(&first));
        // A refusal of a credential no longer cached is not passed on.
        assert!(!two.refused(&sent).await);
        assert_eq!(store.refusals.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_credential_from_elsewhere_keeps_the_refresh_time_it_is_given() {
        let c = Credential::bearer("t", Some(Duration::from_secs(100))).expect("bearer");
        let refresh = c.clone().refreshing_in(Duration::from_secs(10));
        let due = refresh.refresh_in().expect("due");
        assert!(due <= Duration::from_secs(10) && due > Duration::from_secs(8));
        let capped = c.refreshing_in(Duration::from_secs(1000));
        let capped = capped.refresh_in().expect("due");
        assert!(capped <= Duration::from_secs(100), "never past its expiry");
    }

    #[test]
    fn keys_name_the_identity_and_only_a_fingerprint_of_the_secret() {
        let key = StoreKey::new(
            "m2m.session",
            &["app", "user"],
            &["https://x/login", "hunter2"],
        );
        assert!(key.as_str().starts_with("m2m.session/app/user/"), "{key}");
        assert!(!key.as_str().contains("hunter2"));
        assert_eq!(key.as_str().len(), "m2m.session/app/user/".len() + 4);
        assert_eq!(key.kind(), "m2m.session");
        assert_eq!(key.identity(), "m2m.session/app/user");
        assert!(!format!("{key:?}").contains(&key.as_str()[key.as_str().len() - 4..]));
        let again = StoreKey::new(
            "m2m.session",
            &["app", "user"],
            &["https://x/login", "hunter2"],
        );
        assert_eq!(key, again, "every process computes the same key");
        let changed = StoreKey::new(
            "m2m.session",
            &["app", "user"],
            &["https://x/login", "hunter3"],
        );
        assert_ne!(key, changed, "a corrected password is another key");
        // The parts are delimited: moving a character between them changes the fingerprint.
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
