//! Paging through every lead, and the decoders of lead responses.

use thingspace_core::pagination::{Page, PageSource};
use thingspace_core::{Client, Result};

use super::{GET_LEAD, LIST_LEADS, OcLead, list_request};
use crate::problem::with_problem;

/// Decodes a JSON array of leads (see [`crate::decode::decode_array`]).
fn decode_leads(
    operation: &'static str,
    response: &thingspace_core::Response,
) -> Result<Vec<OcLead>> {
    crate::decode::decode_array(operation, response, "a lead")
}

/// Decodes the response of [`LeadsApi::get`](super::LeadsApi::get): a JSON array of leads,
/// `[]` when the tenant has none. Only `[]` (or a 204 without a body) is an empty answer: an
/// empty 200 body or `null` is what a failing gateway sends. Likewise an element with none of
/// a lead's fields is an error, not an empty lead.
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for anything that is not an array
/// of leads.
pub fn decode_get(response: &thingspace_core::Response) -> Result<Vec<OcLead>> {
    decode_leads(GET_LEAD, response)
}

/// Decodes page `page_number` of [`LeadsApi::list`](super::LeadsApi::list): the last page when
/// it holds no lead, else a page followed by page `page_number + 1`. What counts as an array
/// of leads is as in [`decode_get`]; taking an empty 200 body or `null` for an empty page
/// would end a listing early without a word.
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for anything that is not an array
/// of leads.
pub fn decode_list(
    response: &thingspace_core::Response,
    page_number: u32,
) -> Result<Page<OcLead, u32>> {
    let leads = decode_leads(LIST_LEADS, response)?;
    Ok(if leads.is_empty() {
        Page::last(leads)
    } else {
        Page::more(leads, page_number.checked_add(1))
    })
}

/// The [`PageSource`] of every lead of the operator; the cursor is the page number (from 1).
///
/// The listing ends on an empty page. A short page does not end it: a service that serves
/// fewer leads a page than asked for (a lower cap than the documented 20,000) would otherwise
/// end the listing after its first page without a word; the price is one request for the
/// empty page. A page holding the same leads as the one before (a service ignoring
/// `PageNumber`) fails with [`ErrorKind::Pagination`](thingspace_core::ErrorKind::Pagination)
/// instead of looping (see [`PageSource::fingerprint`]).
#[derive(Debug, Clone)]
pub struct LeadPages {
    client: Client,
    page_size: u32,
    check_online: Option<bool>,
}

impl LeadPages {
    /// A listing from the start, `page_size` leads a page (checked by the caller).
    pub(super) fn new(client: Client, page_size: u32, check_online: Option<bool>) -> Self {
        Self {
            client,
            page_size,
            check_online,
        }
    }
}

impl PageSource for LeadPages {
    type Item = OcLead;
    type Cursor = u32;

    async fn fetch_page(&self, cursor: Option<u32>) -> Result<Page<OcLead, u32>> {
        let page = cursor.unwrap_or(1);
        let request = list_request(page, self.page_size, self.check_online);
        let response = self.client.send(&request).await.map_err(with_problem)?;
        decode_list(&response, page)
    }

    fn operation(&self) -> Option<&'static str> {
        Some(LIST_LEADS)
    }

    /// What the page holds: every lead's id (or tenant id), so a service that ignores
    /// `PageNumber` and serves the same page again is caught by the listing. A page with a
    /// lead that has neither is not compared: two such pages are not the same page because
    /// both lack ids.
    fn fingerprint(&self, leads: &[OcLead]) -> Option<u64> {
        ids_digest(leads)
    }
}

/// A digest of every lead's id (or tenant id); `None` when a lead has neither.
fn ids_digest(leads: &[OcLead]) -> Option<u64> {
    let ids: Option<Vec<&str>> = leads
        .iter()
        .map(|l| l.id.as_deref().or(l.tenant_id.as_deref()))
        .collect();
    Some(thingspace_core::pagination::digest(ids?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::http::{HeaderMap, StatusCode};

    fn response(status: StatusCode, body: &'static str) -> thingspace_core::Response {
        thingspace_core::Response::new(status, HeaderMap::new(), body)
    }

    #[test]
    fn a_page_of_leads_is_followed_by_the_next_and_an_empty_one_is_the_last() {
        let page =
            decode_list(&response(StatusCode::OK, r#"[{"tenantId":"a"}]"#), 3).expect("a page");
        assert_eq!(
            (page.items.len(), page.has_more, page.next),
            (1, true, Some(4))
        );
        for (status, body) in [(StatusCode::OK, "[]"), (StatusCode::NO_CONTENT, "")] {
            let page = decode_list(&response(status, body), 3).expect("the last page");
            assert!(page.items.is_empty() && !page.has_more, "{status}");
        }
        for body in [
            "",
            "null",
            "{}",
            "[{}]",
            r#"[{"tenantId":"a"},{"other":1}]"#,
        ] {
            let e = decode_list(&response(StatusCode::OK, body), 1).expect_err(body);
            assert!(e.is_decode(), "{body}: {e}");
            assert_eq!(e.operation(), Some(LIST_LEADS), "{body}");
            let e = decode_get(&response(StatusCode::OK, body)).expect_err(body);
            assert_eq!(e.operation(), Some(GET_LEAD), "{body}");
        }
    }

    #[test]
    fn pages_are_compared_by_every_lead_and_never_by_missing_ids() {
        let leads = |body: &'static str| {
            decode_list(&response(StatusCode::OK, body), 1)
                .expect("page")
                .items
        };
        let a = leads(r#"[{"id":"1"},{"id":"2"},{"id":"3"}]"#);
        let b = leads(r#"[{"id":"1"},{"tenantId":"x"},{"id":"3"}]"#);
        // Same length, same first and last lead: different pages all the same.
        assert_ne!(ids_digest(&a), ids_digest(&b));
        assert_eq!(ids_digest(&a), ids_digest(&a.clone()));
        let no_ids = leads(r#"[{"status":"Active"},{"status":"Active"}]"#);
        assert_eq!(ids_digest(&no_ids), None, "never equal for want of ids");
    }
}
