//! The user name and password ThingSpace posts in each callback's body, and their check.
//!
//! They are ThingSpace's only authentication of a callback (no signature, no header), so the
//! check runs in constant time and a mismatch is logged without either value.

use std::fmt;

use thingspace_core::SecretString;

/// The credentials registered with the listener (`callbacks register`), which every callback
/// must carry. Never the UWS user's.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: SecretString,
}

impl Credentials {
    /// Callbacks must carry this user name and password.
    pub fn new(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Callbacks must carry an empty (or no) user name and password: the listener was
    /// registered without credentials. Anyone who can reach the listener can then post results;
    /// use it only behind an allow-list of Verizon's source networks.
    pub fn none() -> Self {
        Self::new("", "")
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// True when `username` and `password` are the expected ones. Takes the same time whatever
    /// the position of the first differing byte.
    pub fn check(&self, username: Option<&str>, password: Option<&SecretString>) -> bool {
        let user_ok = constant_time_eq(
            self.username.as_bytes(),
            username.unwrap_or_default().as_bytes(),
        );
        let password_ok = constant_time_eq(
            self.password.expose_secret().as_bytes(),
            password
                .map(SecretString::expose_secret)
                .unwrap_or_default()
                .as_bytes(),
        );
        user_ok & password_ok
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// Compares two byte strings in time that depends on their lengths only.
fn constant_time_eq(expected: &[u8], given: &[u8]) -> bool {
    let mut diff = expected.len() ^ given.len();
    for i in 0..expected.len().max(given.len()) {
        let a = expected.get(i).copied().unwrap_or(0);
        let b = given.get(i).copied().unwrap_or(0);
        diff |= usize::from(a ^ b);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_both_values_exactly() {
        let c = Credentials::new("ts-user", "pa55");
        assert!(c.check(Some("ts-user"), Some(&"pa55".into())));
        for (u, p) in [
            (Some("ts-user"), Some("pa5")),
            (Some("ts-user"), Some("pa555")),
            (Some("ts-User"), Some("pa55")),
            (None, Some("pa55")),
            (Some("ts-user"), None),
            (Some(""), Some("")),
        ] {
            assert!(
                !c.check(u, p.map(SecretString::from).as_ref()),
                "{u:?} {p:?}"
            );
        }
        let none = Credentials::none();
        assert!(none.check(None, None));
        assert!(none.check(Some(""), Some(&"".into())));
        assert!(!none.check(Some("x"), None));
    }

    #[test]
    fn debug_hides_the_password() {
        let c = Credentials::new("ts-user", "pa55-secret");
        assert!(!format!("{c:?}").contains("pa55-secret"));
    }
}
