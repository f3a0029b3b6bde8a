//! What the listings of this family share: a JSON array of objects, every one of them
//! holding at least one of the model's fields.

use serde::de::DeserializeOwned;
use thingspace_core::http::StatusCode;
use thingspace_core::{Response, Result};

/// Decodes a JSON array of `T`. Only `[]` (or a 204 without a body) is an empty answer: an
/// empty 200 body or `null` is what a failing gateway sends, and taking it for "none" would
/// end a listing early, or report an empty account, without a word. Likewise an element with
/// none of `T`'s fields (`{}`, or some other resource's objects) is an error naming it
/// (`what` says what an element should be, such as "a lead"), not an empty `T`.
pub(crate) fn decode_array<T>(
    operation: &'static str,
    response: &Response,
    what: &str,
) -> Result<Vec<T>>
where
    T: DeserializeOwned + Default + PartialEq,
{
    if response.status == StatusCode::NO_CONTENT
        && response.body.iter().all(u8::is_ascii_whitespace)
    {
        return Ok(Vec::new());
    }
    let items = response.json::<Vec<T>>(operation)?;
    let empty = T::default();
    if let Some(i) = items.iter().position(|item| *item == empty) {
        return Err(response.not_the_answer(
            operation,
            format_args!("element [{i}] has none of {what}'s fields"),
        ));
    }
    Ok(items)
}
