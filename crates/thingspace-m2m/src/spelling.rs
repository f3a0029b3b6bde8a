//! Paths the real service spells two ways (the document's, the generated SDKs'): the first
//! tried first, the other on a 404, and the one that answered remembered for the handle's
//! life, so later calls go straight to it.

use std::sync::atomic::{AtomicU8, Ordering};

use thingspace_core::{Error, Result};

/// Which of two spellings answers: learnt on first use, shared by the clones of a family handle.
#[derive(Debug, Default)]
pub(crate) struct KnownSpelling(AtomicU8);

/// No spelling known to work yet; otherwise the index of the one that did, plus one.
const UNKNOWN: u8 = 0;

impl KnownSpelling {
    /// `send(i)` for the spelling known to answer, or for each spelling in turn (0, then 1)
    /// until one answers something other than 404. A 404 says the path is not served, so
    /// nothing was done and trying the other spelling is safe for any request. When both answer
    /// 404, the error is the one that carries the service's `errorCode` (such as
    /// `AccountNotFound`), not a gateway's "no such path": the second's when it has a code,
    /// else the first's.
    pub(crate) async fn send<T, F, Fut>(&self, send: F) -> Result<T>
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let known = self.0.load(Ordering::Relaxed);
        if known != UNKNOWN {
            return send(usize::from(known - 1)).await;
        }
        let mut not_found: Option<Error> = None;
        for i in 0..2u8 {
            match send(usize::from(i)).await {
                Ok(answer) => {
                    self.0.store(i + 1, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(e) if e.is_not_found() => {
                    not_found = Some(match not_found {
                        Some(first) if e.api_code().is_none() => first,
                        _ => e,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Err(not_found.unwrap_or_else(|| Error::invalid_input("no path spelling to try")))
    }
}
