//! Timestamps as the service sends them: RFC 3339, .NET's without an offset, or anything else
//! (kept as sent). Every model of this crate reads its times this way.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thingspace_core::de::opt_string_or_number;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// A timestamp as the service sent it: parsed when it is RFC 3339 (one without an offset, as
/// .NET services send, is taken as UTC), else kept as text.
///
/// Read from text or a number (kept as its text); written back in RFC 3339 when parsed, and
/// exactly as sent otherwise. In a model (an [`OcLead`](crate::OcLead), a
/// [`Task`](crate::Task)), `null`, an absent field and blank text are `None`; a list or an
/// object is a decode error.
///
/// ```
/// use thingspace_oc::Timestamp;
///
/// let t: Timestamp = serde_json::from_str(r#""2024-04-03T13:32:12.82872""#)?;
/// assert_eq!(t.parsed().map(|t| t.year()), Some(2024));
/// assert_eq!(t.to_string(), "2024-04-03T13:32:12.82872Z");
/// let odd: Timestamp = serde_json::from_str(r#""yesterday""#)?;
/// assert_eq!((odd.parsed(), odd.as_sent().as_ref()), (None, "yesterday"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Timestamp {
    /// An RFC 3339 timestamp.
    Parsed(OffsetDateTime),
    /// Text that is not an RFC 3339 timestamp, as sent (a number is kept as its text).
    Unparsed(String),
}

impl Timestamp {
    /// Reads `text`: parsed when it is RFC 3339 (white space around it ignored), else kept as
    /// sent.
    fn read(text: String) -> Self {
        let trimmed = text.trim();
        match OffsetDateTime::parse(trimmed, &Rfc3339)
            .or_else(|_| OffsetDateTime::parse(&format!("{trimmed}Z"), &Rfc3339))
        {
            Ok(t) => Timestamp::Parsed(t),
            Err(_) => Timestamp::Unparsed(text),
        }
    }

    /// The time, when it was an RFC 3339 timestamp.
    pub fn parsed(&self) -> Option<OffsetDateTime> {
        match self {
            Timestamp::Parsed(t) => Some(*t),
            Timestamp::Unparsed(_) => None,
        }
    }

    /// The timestamp as text, as it is written back: exactly as sent when
    /// [`Unparsed`](Self::Unparsed); in RFC 3339 when [`Parsed`](Self::Parsed) (the same time
    /// and offset, not always the same spelling: one sent without an offset gains its `Z`).
    pub fn as_sent(&self) -> Cow<'_, str> {
        match self {
            Timestamp::Parsed(t) => {
                Cow::Owned(t.format(&Rfc3339).unwrap_or_else(|_| t.to_string()))
            }
            Timestamp::Unparsed(text) => Cow::Borrowed(text),
        }
    }
}

impl fmt::Display for Timestamp {
    /// As [`Timestamp::as_sent`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_sent())
    }
}

impl Serialize for Timestamp {
    /// RFC 3339 when parsed, the text as sent otherwise.
    ///
    /// # Errors
    /// For a parsed time RFC 3339 cannot write (a year after 9999, an offset with seconds):
    /// never one that was read.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Timestamp::Parsed(t) => {
                s.serialize_str(&t.format(&Rfc3339).map_err(serde::ser::Error::custom)?)
            }
            Timestamp::Unparsed(text) => s.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    /// Text or a number (kept as its text); not `null` (use an `Option<Timestamp>`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match opt_string_or_number(d)? {
            Some(text) => Ok(Timestamp::read(text)),
            None => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Unit,
                &"a timestamp: text or a number",
            )),
        }
    }
}

/// A timestamp field of a model: `null`, absent or blank is `None` (blank text is neither a
/// time nor worth keeping).
pub(crate) fn opt_timestamp<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Timestamp>, D::Error> {
    Ok(opt_string_or_number(d)?
        .filter(|text| !text.trim().is_empty())
        .map(Timestamp::read))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_when_they_can_and_are_kept_as_sent_when_not() {
        let read = |json: &str| serde_json::from_str::<Timestamp>(json).expect(json);
        // RFC 3339 with an offset: the time and its offset.
        let t = read(r#""2024-04-03T13:32:12.5+02:00""#);
        let parsed = t.parsed().expect("parsed");
        assert_eq!((parsed.hour(), parsed.offset().whole_hours()), (13, 2));
        assert_eq!(t.to_string(), "2024-04-03T13:32:12.5+02:00");
        assert_eq!(
            serde_json::to_string(&t).expect("encode"),
            r#""2024-04-03T13:32:12.5+02:00""#
        );
        // Without an offset, as .NET sends it: UTC.
        let t = read(r#"" 2024-04-03T13:32:12.8286742 ""#);
        let parsed = t.parsed().expect("parsed");
        assert!(parsed.offset().is_utc());
        assert_eq!((parsed.second(), parsed.nanosecond()), (12, 828_674_200));
        assert_eq!(t.as_sent(), "2024-04-03T13:32:12.8286742Z");
        // Anything else is kept, and written back, byte for byte.
        let odd = " 03/04/2024 13:32 (CET)\t";
        let t = read(&serde_json::to_string(odd).expect("json"));
        assert_eq!(t, Timestamp::Unparsed(odd.to_owned()));
        assert_eq!((t.parsed(), t.as_sent().as_ref()), (None, odd));
        assert_eq!(t.to_string(), odd);
        assert_eq!(
            serde_json::to_string(&t).expect("encode"),
            serde_json::to_string(odd).expect("json")
        );
        // A number is kept as its text, and written back as text.
        let t = read("1712151132");
        assert_eq!(t, Timestamp::Unparsed("1712151132".into()));
        assert_eq!(
            serde_json::to_string(&t).expect("encode"),
            r#""1712151132""#
        );
        // Null is not a timestamp; in an `Option` it is `None`.
        assert!(serde_json::from_str::<Timestamp>("null").is_err());
        assert_eq!(
            serde_json::from_str::<Option<Timestamp>>("null").expect("null"),
            None
        );
        assert!(serde_json::from_str::<Timestamp>("[1]").is_err());
    }
}
