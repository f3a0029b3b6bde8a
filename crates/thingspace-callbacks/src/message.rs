//! The message ThingSpace posts for each device of an asynchronous request, and its decoder.
//!
//! The decoder is lenient where the service varies (kinds in any case, numbers as text, unknown
//! operation keys under `deviceResponse`, unknown top-level keys) and strict where a wrong guess
//! would lose a result (a message without a `requestId` or without any device is refused, so the
//! listener answers 400 instead of acknowledging something it cannot deliver).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use thingspace_core::{DeviceId, SecretString};

/// The `faultResponse` of a device that failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Fault {
    /// The fault code, such as `UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive`.
    #[serde(
        default,
        rename = "faultcode",
        alias = "faultCode",
        skip_serializing_if = "Option::is_none"
    )]
    pub code: Option<String>,
    /// The explanation, as the service wrote it.
    #[serde(
        default,
        rename = "faultstring",
        alias = "faultString",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
    /// Any other field of the fault, kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, "{c}: {m}"),
            (Some(c), None) => f.write_str(c),
            (None, Some(m)) => f.write_str(m),
            (None, None) => f.write_str("no fault details"),
        }
    }
}

/// One callback: the result of one device of an asynchronous request, as ThingSpace posts it.
///
/// `Debug` and the serialised form never contain the password; the serialised form is what the
/// file sink writes, one JSON object per line.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Callback {
    /// The user name the service posted (the one registered with the listener), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password the service posted. Never serialised.
    #[serde(default, skip_serializing)]
    pub password: Option<SecretString>,
    /// The request this device belongs to.
    pub request_id: String,
    /// The identifiers of the device this result is about.
    #[serde(default)]
    pub device_ids: Vec<DeviceId>,
    /// `Success`, or another word for a failure (compared without case).
    #[serde(default, deserialize_with = "text_or_number")]
    pub status: String,
    /// The operation's response, keyed by its name (such as `activateResponse`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_response: Option<Map<String, Value>>,
    /// Why the device failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_response: Option<Fault>,
    /// Which delivery of this message this is (1 for the first).
    #[serde(
        default,
        deserialize_with = "thingspace_core::de::lenient_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_count: Option<u64>,
    /// How many deliveries the service makes at most.
    #[serde(
        default,
        deserialize_with = "thingspace_core::de::lenient_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_callback_threshold: Option<u64>,
    /// Any other top-level field, kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("request_id", &self.request_id)
            .field("device_ids", &self.device_ids)
            .field("status", &self.status)
            .field("callback_count", &self.callback_count)
            .field("has_password", &self.password.is_some())
            .finish_non_exhaustive()
    }
}

fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(thingspace_core::de::opt_string_or_number(d)?.unwrap_or_default())
}

impl Callback {
    /// True when the device succeeded: `status` is `Success` (in any case) and no fault came with it.
    pub fn is_success(&self) -> bool {
        self.status.trim().eq_ignore_ascii_case("success") && self.fault_response.is_none()
    }

    /// The name of the operation under `deviceResponse`, such as `activateResponse`.
    pub fn operation(&self) -> Option<&str> {
        self.device_response
            .as_ref()
            .and_then(|r| r.keys().next())
            .map(String::as_str)
    }

    /// The message as one line of JSON, without the password.
    pub fn to_json_line(&self) -> Vec<u8> {
        // Serialising plain strings, numbers and maps cannot fail.
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// Why a posted body is not a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MalformedCallback {
    /// What was wrong, with the JSON path of the field (never a value from the body).
    pub reason: String,
}

impl fmt::Display for MalformedCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a ThingSpace callback: {}", self.reason)
    }
}

impl std::error::Error for MalformedCallback {}

/// Decodes one posted body.
///
/// # Errors
/// When the body is not a JSON object, has no `requestId`, or names no device.
///
/// ```
/// let body = br#"{"requestId":"r-1","deviceIds":[{"id":"1","kind":"IMEI"}],"status":"Success",
///   "deviceResponse":{"activateResponse":{"servicePlan":"P"}},"callbackCount":"2"}"#;
/// let callback = thingspace_callbacks::decode_callback(body)?;
/// assert!(callback.is_success());
/// assert_eq!(callback.operation(), Some("activateResponse"));
/// assert_eq!(callback.callback_count, Some(2));
/// # Ok::<_, thingspace_callbacks::MalformedCallback>(())
/// ```
pub fn decode_callback(body: &[u8]) -> Result<Callback, MalformedCallback> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let callback: Callback = match deserialize_without_values(de) {
        Ok(c) => c,
        Err(reason) => return Err(MalformedCallback { reason }),
    };
    if callback.request_id.trim().is_empty() {
        return Err(MalformedCallback {
            reason: "requestId is empty".into(),
        });
    }
    if callback.device_ids.is_empty() {
        return Err(MalformedCallback {
            reason: "deviceIds names no device".into(),
        });
    }
    Ok(callback)
}

/// Deserialises without echoing any value from the body in the error: serde_json's messages
/// can quote a string it did not expect, and a body holds a password.
fn deserialize_without_values(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
) -> Result<Callback, String> {
    match Callback::deserialize(&mut *de).and_then(|c| de.end().map(|()| c)) {
        Ok(c) => Ok(c),
        Err(e) => Err(match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!(
                    "the body is not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                )
            }
            serde_json::error::Category::Data => {
                let text = e.to_string();
                // "missing field `requestId`" and "invalid type: …" name fields and types, but
                // "unknown variant `…`"-style messages can quote data: keep only the safe ones.
                if text.starts_with("missing field") {
                    text.split(" at line")
                        .next()
                        .unwrap_or("a field is missing")
                        .to_owned()
                } else {
                    format!(
                        "a field has the wrong type (line {}, column {})",
                        e.line(),
                        e.column()
                    )
                }
            }
            serde_json::error::Category::Io => "the body could not be read".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap_or_default()
    }

    #[test]
    fn keeps_unknown_operations_and_fields() {
        let c = decode_callback(&body(serde_json::json!({
            "username": "u", "password": "p-secret", "requestId": "r",
            "deviceIds": [{"id": "1", "kind": "Imei"}],
            "deviceResponse": {"futureResponse": {"x": 1}},
            "status": "Success", "callbackCount": 1, "maxCallbackThreshold": 4, "extra": true
        })))
        .expect("decodes");
        assert_eq!(c.operation(), Some("futureResponse"));
        assert_eq!(c.other.get("extra"), Some(&Value::Bool(true)));
        let line = String::from_utf8(c.to_json_line()).unwrap_or_default();
        assert!(!line.contains("p-secret"), "{line}");
        assert!(line.contains("futureResponse") && line.ends_with('\n'));
        assert!(!format!("{c:?}").contains("p-secret"));
    }

    #[test]
    fn a_fault_is_a_failure_whatever_the_status() {
        let c = decode_callback(&body(serde_json::json!({
            "requestId": "r", "deviceIds": [{"id": "1", "kind": "imei"}], "status": "Failed",
            "faultResponse": {"faultcode": "REQUEST_FAILED.DeviceAlreadyActive", "faultstring": "active"}
        })))
        .expect("decodes");
        assert!(!c.is_success());
        assert_eq!(
            c.fault_response.map(|f| f.to_string()),
            Some("REQUEST_FAILED.DeviceAlreadyActive: active".to_owned())
        );
        let odd = decode_callback(&body(serde_json::json!({
            "requestId": "r", "deviceIds": [{"id": "1", "kind": "imei"}], "status": "SUCCESS",
            "faultResponse": {"faultcode": "X"}
        })))
        .expect("decodes");
        assert!(!odd.is_success());
    }

    #[test]
    fn refuses_what_cannot_be_delivered_without_quoting_it() {
        for (b, expect) in [
            (b"<html>502</html>".to_vec(), "not JSON"),
            (
                body(serde_json::json!({"deviceIds": [{"id": "1", "kind": "imei"}]})),
                "requestId",
            ),
            (
                body(
                    serde_json::json!({"requestId": " ", "deviceIds": [{"id": "1", "kind": "imei"}]}),
                ),
                "requestId",
            ),
            (
                body(serde_json::json!({"requestId": "r", "deviceIds": []})),
                "no device",
            ),
            (
                body(serde_json::json!({"requestId": "r", "deviceIds": "hunter2-secret"})),
                "wrong type",
            ),
        ] {
            let e = decode_callback(&b).expect_err("refused");
            assert!(e.reason.contains(expect), "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }
}
