//! Lenient field decoders for the quirks of the real services, shared by the family crates.
//!
//! Use them with `#[serde(default, deserialize_with = "...")]`.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, Visitor},
};

use crate::secret::StringLike;

/// `null` becomes the type's default (an empty list, an empty string).
///
/// # Errors
/// When the value is neither `null` nor a `T`.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A field that must be present, possibly `null`: use it *without* `#[serde(default)]` on an
/// `Option` field (serde would otherwise take a missing `Option` for `None`), for the fields
/// that tell one kind of body from another.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Account {
///     #[serde(rename = "accountName", deserialize_with = "thingspace_core::de::required")]
///     name: Option<String>,
/// }
/// assert!(serde_json::from_str::<Account>(r#"{"accountName":null}"#).is_ok());
/// assert!(serde_json::from_str::<Account>(r#"{"errorCode":"E"}"#).is_err());
/// ```
///
/// # Errors
/// When the value is neither `null` nor a `T`; serde reports a missing field.
pub fn required<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

/// A field that must be present and hold text (a number is kept as its text): a body without
/// it, or with `null` there, is not the answer asked for. Use it *without*
/// `#[serde(default)]`; the field stays an `Option` so that models built by hand can leave it
/// out, but a decoded one is always `Some`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Account {
///     #[serde(rename = "accountName", deserialize_with = "thingspace_core::de::required_text")]
///     name: Option<String>,
/// }
/// assert!(serde_json::from_str::<Account>(r#"{"accountName":"0000123456"}"#).is_ok());
/// assert!(serde_json::from_str::<Account>(r#"{"accountName":null}"#).is_err());
/// assert!(serde_json::from_str::<Account>(r#"{}"#).is_err());
/// ```
///
/// # Errors
/// When the value is `null`, a list or an object; serde reports a missing field.
pub fn required_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match opt_string_or_number(d)? {
        Some(text) => Ok(Some(text)),
        None => Err(de::Error::custom("expected text, found null")),
    }
}

/// A string that some producers send as a number (or a boolean): kept as its text.
/// `null` becomes `None`.
///
/// # Errors
/// When the value is a list or an object.
pub fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    // One visitor for every spelling, `null` included: no Option or newtype layer between the
    // parser and the text (this runs for several fields of every lead of a listing).
    struct OptText;

    impl<'de> Visitor<'de> for OptText {
        type Value = Option<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("text, a number or null")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(StringLike).map(Some)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            StringLike.visit_str(v).map(Some)
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            StringLike.visit_i64(v).map(Some)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            StringLike.visit_u64(v).map(Some)
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            StringLike.visit_f64(v).map(Some)
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            StringLike.visit_bool(v).map(Some)
        }
    }

    d.deserialize_any(OptText)
}

/// A number that some producers send as text (`"4"`) or as a float (`4.0`). `null` becomes `None`.
///
/// # Errors
/// When the value is text that is not a number.
pub fn opt_f64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match opt_string_or_number(d)? {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => Ok(None),
        Some(t) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected a number, found `{t}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct T {
        #[serde(default, deserialize_with = "null_as_default")]
        list: Vec<u8>,
        #[serde(default, deserialize_with = "opt_string_or_number")]
        text: Option<String>,
        #[serde(default, deserialize_with = "opt_f64_lenient")]
        num: Option<f64>,
    }

    #[test]
    fn accepts_every_spelling() {
        let t: T = serde_json::from_str(r#"{"list":null,"text":1024,"num":"2"}"#).expect("decode");
        assert_eq!(
            t,
            T {
                list: vec![],
                text: Some("1024".into()),
                num: Some(2.0)
            }
        );
        let t: T = serde_json::from_str(r#"{"text":"0012","num":1.5}"#).expect("decode");
        assert_eq!(t.text.as_deref(), Some("0012"));
        let t: T = serde_json::from_str(r#"{"text":null,"num":null}"#).expect("decode");
        assert_eq!(
            t,
            T {
                list: vec![],
                text: None,
                num: None
            }
        );
        assert!(serde_json::from_str::<T>(r#"{"num":"many"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"text":[1]}"#).is_err());
    }
}
