//! A string that never prints itself.

use std::fmt;

use serde::de::{Deserialize, Deserializer};

/// A secret value: a client secret, a password, a bearer or session token.
///
/// `Debug` and `Display` print a placeholder, never the value; the value is only
/// reachable through [`SecretString::expose_secret`], which makes every use easy to audit.
///
/// ```
/// use thingspace_core::SecretString;
///
/// let secret = SecretString::new("hunter2");
/// assert_eq!(format!("{secret:?} {secret}"), "SecretString(\"[redacted]\") [redacted]");
/// assert_eq!(secret.expose_secret(), "hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(Box<str>);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into_boxed_str())
    }

    /// Returns the secret itself. Every call site is a place where the secret leaves its box.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(\"[redacted]\")")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    /// Accepts a string, or a number or boolean taken as its text (configuration layers such as
    /// TOML may type a numeric password as a number).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::lenient_string(deserializer).map(SecretString::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = SecretString::new("s3cr3t-value");
        assert!(!format!("{s:?}").contains("s3cr3t"));
        assert!(!format!("{s}").contains("s3cr3t"));
        assert!(!format!("{:#?}", Some(s.clone())).contains("s3cr3t"));
        assert_eq!(s.expose_secret(), "s3cr3t-value");
    }

    #[test]
    fn deserializes_from_numbers_too() {
        let s: SecretString = serde_json::from_str("12345").expect("number");
        assert_eq!(s.expose_secret(), "12345");
        let s: SecretString = serde_json::from_str("\"0012\"").expect("string");
        assert_eq!(s.expose_secret(), "0012");
    }
}
