//! Lenient field decoders for the quirks of the real services, shared by the family crates.
//!
//! Use them with `#[serde(default, deserialize_with = "...")]`.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, Visitor},
};

use crate::error::{Error, Result as SdkResult};
use crate::message::Response;

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

/// Text that must be present, neither `null` nor empty (a number is kept as its text): for
/// the fields that name what a body is about, such as the id of a list entry, whose absence
/// must be an error rather than an entry quietly dropped. Use it *without* `#[serde(default)]`
/// on a `String` field.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Entry {
///     #[serde(deserialize_with = "thingspace_core::de::nonempty_text")]
///     id: String,
/// }
/// let e: Entry = serde_json::from_str(r#"{"id":1223334444}"#).unwrap();
/// assert_eq!(e.id, "1223334444");
/// for bad in [r#"{"id":""}"#, r#"{"id":null}"#, r#"{}"#, r#"{"id":[]}"#] {
///     assert!(serde_json::from_str::<Entry>(bad).is_err(), "{bad}");
/// }
/// ```
///
/// # Errors
/// When the value is `null`, empty text, a list or an object; serde reports a missing field.
pub fn nonempty_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match opt_string_or_number(d)? {
        Some(text) if !text.is_empty() => Ok(text),
        Some(_) => Err(de::Error::custom("expected text, found an empty string")),
        None => Err(de::Error::custom("expected text, found null")),
    }
}

/// A list whose *presence* matters: `Some` when the key is there (`null` counts as an empty
/// list), `None` when it is absent. Use it *with* `#[serde(default)]` on an
/// `Option<Vec<T>>` field, to tell "no items" (`[]` or `null`) from "not this kind of body"
/// (the key missing).
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Body {
///     #[serde(default, deserialize_with = "thingspace_core::de::present_list")]
///     items: Option<Vec<u32>>,
/// }
/// let list = |s: &str| serde_json::from_str::<Body>(s).unwrap().items;
/// assert_eq!(list(r#"{"items":[1,2]}"#), Some(vec![1, 2]));
/// assert_eq!(list(r#"{"items":null}"#), Some(vec![]));
/// assert_eq!(list(r#"{"other":1}"#), None);
/// assert!(serde_json::from_str::<Body>(r#"{"items":{}}"#).is_err());
/// ```
///
/// # Errors
/// When the value is neither `null` nor a list of `T`.
pub fn present_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default()))
}

/// One `T` or a list of them (documented as a list, sent as one object, or the other way
/// round): always a list, every entry kept. `null` is an empty list. The JSON type decides,
/// without buffering the value, so an error names the field of the entry that is wrong.
///
/// ```
/// #[derive(Debug, PartialEq, serde::Deserialize)]
/// struct Contact {
///     email: Option<String>,
/// }
/// #[derive(serde::Deserialize)]
/// struct Body {
///     #[serde(default, deserialize_with = "thingspace_core::de::one_or_many")]
///     contacts: Vec<Contact>,
/// }
/// let emails = |s: &str| -> Vec<Option<String>> {
///     let body: Body = serde_json::from_str(s).unwrap();
///     body.contacts.into_iter().map(|c| c.email).collect()
/// };
/// assert_eq!(emails(r#"{"contacts":{"email":"a@b"}}"#), [Some("a@b".into())]);
/// assert_eq!(emails(r#"{"contacts":[{"email":"a@b"},{"email":null}]}"#), [Some("a@b".into()), None]);
/// assert!(emails(r#"{"contacts":null}"#).is_empty());
/// assert!(emails("{}").is_empty());
/// assert!(serde_json::from_str::<Body>(r#"{"contacts":{"email":[]}}"#).is_err());
/// ```
///
/// # Errors
/// When the value (or an entry of the list) is not a `T`.
pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct OneOrMany<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> OneOrMany<T> {
        fn one<E: de::Error>(value: impl de::IntoDeserializer<'de, E>) -> Result<Vec<T>, E> {
            T::deserialize(value.into_deserializer()).map(|t| vec![t])
        }
    }

    impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrMany<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("one value, a list of values, or null")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            // Bounded, like serde's own: a hint from the input is not a size to trust.
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }

        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| vec![t])
        }

        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            T::deserialize(de::value::BorrowedStrDeserializer::new(v)).map(|t| vec![t])
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Self::one(v.to_owned())
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Self::one(v)
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Self::one(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Self::one(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Self::one(v)
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Self::one(v)
        }
    }

    d.deserialize_any(OneOrMany(std::marker::PhantomData))
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

// ---- Configuration values: numbers and text as the layers give them ----

/// Visitor that takes any scalar as its string form.
pub(crate) struct StringLike;

impl Visitor<'_> for StringLike {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// Deserializes a string from any scalar (configuration layers may type a number).
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(StringLike)
}

/// Deserializes a number from a number or numeric text.
pub(crate) fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let text = lenient_string(d)?;
    text.trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("expected a number, found `{text}`")))
}

/// Deserializes an unsigned integer from a number or numeric text.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let text = lenient_string(d)?;
    text.trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("expected a whole number, found `{text}`")))
}

/// An optional whole-number setting of a family's table, given as a number or as text (an
/// environment variable is always text), such as `[oc] max_body_bytes`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Table {
///     #[serde(default, deserialize_with = "thingspace_core::de::lenient_opt_u64")]
///     max_body_bytes: Option<u64>,
/// }
/// let t: Table = serde_json::from_str(r#"{"max_body_bytes": "1048576"}"#).unwrap();
/// assert_eq!(t.max_body_bytes, Some(1_048_576));
/// assert!(serde_json::from_str::<Table>(r#"{"max_body_bytes": "a lot"}"#).is_err());
/// ```
///
/// # Errors
/// When the value is not a whole, non-negative number.
pub fn lenient_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    lenient_u64(d).map(Some)
}

// ---- Whole bodies ----

impl Response {
    /// Decodes the body as JSON into `T`; on failure the error names the JSON path and
    /// keeps a bounded snippet of the body.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) when the body is not a `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, operation: &'static str) -> SdkResult<T> {
        decode_json(operation, &self.body, false).map_err(|e| {
            // A service that puts its error envelope in a success response: say so, with
            // the envelope, rather than "not a T".
            if crate::error::is_error_envelope(&self.body) {
                let mut err = Error::from_response(operation, self);
                err.prepend_message("an error envelope in a success response");
                err
            } else {
                e.set_status(self.status)
            }
        })
    }

    /// The error for a body that decoded but is not the answer asked for (an element with
    /// none of the expected fields, say): [`ErrorKind::Decode`](crate::ErrorKind::Decode)
    /// saying `what` is wrong, with the status and a bounded snippet of the body.
    pub fn not_the_answer(&self, operation: &'static str, what: impl fmt::Display) -> Error {
        Error::new(
            crate::error::ErrorKind::Decode,
            format!("the response is not the answer: {what}"),
        )
        .with_operation(operation)
        .set_status(self.status)
        .with_snippet_of(&self.body)
    }
}

/// Decodes `body` as JSON, with the failing path in the error (no snippet when `sensitive`).
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    operation: &'static str,
    body: &[u8],
    sensitive: bool,
) -> SdkResult<T> {
    // The fast path: plain serde_json. Only a body that fails is decoded again, tracking the
    // path, to say where it failed.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize(de) {
        Ok(value) => Ok(value),
        Err(e) => Err(Error::decode(operation, body, e, sensitive)),
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

    #[derive(Debug, Deserialize, PartialEq)]
    struct Lists {
        #[serde(default, deserialize_with = "one_or_many")]
        names: Vec<String>,
        #[serde(default, deserialize_with = "one_or_many")]
        numbers: Vec<u32>,
        #[serde(default, deserialize_with = "present_list")]
        present: Option<Vec<u8>>,
    }

    #[test]
    fn one_or_many_takes_scalars_lists_and_null() {
        let l: Lists =
            serde_json::from_str(r#"{"names":"a","numbers":[1,2],"present":[]}"#).expect("decode");
        assert_eq!(l.names, ["a"]);
        assert_eq!(l.numbers, [1, 2]);
        assert_eq!(l.present, Some(vec![]));
        let l: Lists = serde_json::from_str(r#"{"names":["a","b"],"numbers":7}"#).expect("decode");
        assert_eq!(
            (l.names.len(), l.numbers.as_slice(), l.present),
            (2, &[7][..], None)
        );
        let l: Lists = serde_json::from_str(r#"{"names":null,"numbers":null}"#).expect("decode");
        assert!(l.names.is_empty() && l.numbers.is_empty());
        // Wrong types are errors that say where, not an empty list.
        for bad in [
            r#"{"numbers":"seven"}"#,
            r#"{"numbers":[1,"x"]}"#,
            r#"{"names":{"a":1}}"#,
            r#"{"present":{}}"#,
        ] {
            let mut de = serde_json::Deserializer::from_str(bad);
            let e = serde_path_to_error::deserialize::<_, Lists>(&mut de).expect_err(bad);
            assert!(!e.path().to_string().is_empty(), "{bad}: {e}");
        }
    }

    #[test]
    fn nonempty_text_refuses_null_and_empty() {
        #[derive(Debug, Deserialize)]
        struct Id {
            #[serde(deserialize_with = "nonempty_text")]
            id: String,
        }
        let id = |s: &str| serde_json::from_str::<Id>(s).map(|i| i.id);
        assert_eq!(id(r#"{"id":"0001"}"#).expect("text"), "0001");
        assert_eq!(id(r#"{"id":42}"#).expect("number"), "42");
        for bad in [r#"{"id":""}"#, r#"{"id":null}"#, "{}", r#"{"id":{}}"#] {
            assert!(id(bad).is_err(), "{bad}");
        }
    }
}
