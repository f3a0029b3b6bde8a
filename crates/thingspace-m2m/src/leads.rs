//! Account leads: `GET /m2m/v1/leads/{accountname}?next=N`, every page followed for you.
//!
//! The service answers 202 with `hasMoreData: true` and a `Location` header carrying the next
//! `next` value while more pages follow, and 200 with `hasMoreData: false` on the last one.
//! Only the `next` value is read from `Location`; the next request is built on the configured
//! base URL, so credentials never go to a host a `Location` names.

use serde::{Deserialize, Serialize};
use thingspace_core::de::{null_as_default, opt_string_or_number};
use thingspace_core::http::{StatusCode, header::LOCATION};
use thingspace_core::pagination::{Items, Page, PageSource, Pages};
use thingspace_core::url::Url;
use thingspace_core::{ApiRequest, Client, Error, ErrorKind, Result};

/// Operation name of a leads page request, as it appears in errors and traces.
pub const LIST_LEADS: &str = "m2m.leads.list";

/// The cursor of a leads page: the `next` value (an int64) from the previous page's `Location`.
pub type LeadCursor = i64;

/// A lead of an account. Serialises with the wire field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Lead {
    /// The lead id, used as `leadId` when activating devices.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub lead_id: Option<String>,
    /// The state of the lead, such as "Qualified" or "Closed".
    #[serde(default)]
    pub lead_state: Option<String>,
    /// The lead's address (the Primary Place of Use).
    #[serde(default, deserialize_with = "null_as_default")]
    pub address: LeadAddress,
}

/// The address of a lead. Every field is text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LeadAddress {
    /// First address line.
    #[serde(default, rename = "addressLine1")]
    pub address_line1: Option<String>,
    /// Second address line.
    #[serde(default, rename = "addressLine2")]
    pub address_line2: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// ZIP code: the "zipCode value" the leads document tells users to store and send as
    /// `mdnZipCode` when activating. The response calls it `zip`; no response spells it
    /// `zipCode`, and reading both as one would fail a whole page on a lead that had both.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub zip: Option<String>,
    /// ZIP+4 extension.
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub zip4: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Phone number.
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub phone: Option<String>,
    /// Phone type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_type: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeadsBody {
    /// Required: a body without `leads` is not a page of no leads, it is not a leads page.
    #[serde(deserialize_with = "null_as_default")]
    leads: Vec<Lead>,
    #[serde(default)]
    has_more_data: Option<bool>,
}

/// The [`PageSource`] of one account's leads.
#[derive(Debug, Clone)]
pub struct LeadPages {
    client: Client,
    account: String,
}

impl PageSource for LeadPages {
    type Item = Lead;
    type Cursor = LeadCursor;

    async fn fetch_page(&self, cursor: Option<LeadCursor>) -> Result<Page<Lead, LeadCursor>> {
        let request = list_request(&self.account, cursor);
        decode_list(&self.client.send(&request).await?)
    }

    fn operation(&self) -> Option<&'static str> {
        Some(LIST_LEADS)
    }

    /// The page's lead ids: a server that serves the same page under fresh cursors is caught.
    /// A page with a lead without an id is not compared (two such pages are not the same
    /// page because both lack ids).
    fn fingerprint(&self, leads: &[Lead]) -> Option<u64> {
        if leads.iter().any(|l| l.lead_id.is_none()) {
            return None;
        }
        Some(thingspace_core::pagination::digest(
            leads.iter().map(|l| l.lead_id.as_deref()),
        ))
    }
}

/// The request of one page of [`LeadsApi::list`]: the first page without a cursor, else the
/// page at `cursor` (the `next` value of the page before).
pub fn list_request(account: &str, cursor: Option<LeadCursor>) -> ApiRequest {
    let request = ApiRequest::get(LIST_LEADS, "/m2m/v1/leads/{accountname}")
        .path_param("accountname", account);
    match cursor {
        Some(next) => request.query("next", next),
        None => request,
    }
}

/// Decodes one leads response of [`LeadsApi::list`]: its leads, whether more follow, and the
/// `next` cursor from its `Location` header.
///
/// A page whose `Location` has no usable `next` is delivered all the same, and the listing
/// then ends with [`ErrorKind::Pagination`] saying why, with no resume cursor.
///
/// # Errors
/// [`ErrorKind::Decode`] for a body that is not a leads page.
pub fn decode_list(response: &thingspace_core::Response) -> Result<Page<Lead, LeadCursor>> {
    let body: LeadsBody = response.json(LIST_LEADS)?;
    // More follows when either the status (202) or the body (`hasMoreData`) says so. When they
    // disagree, believing "more" is the safe side: stopping would silently lose the leads
    // after this page, while asking for more either finds them or fails with a typed error
    // (a 202 without a cursor).
    let more = body.has_more_data == Some(true) || response.status == StatusCode::ACCEPTED;
    if !more {
        return Ok(Page::last(body.leads));
    }
    match response.header(LOCATION).map(next_from_location) {
        Some(Ok(next)) => Ok(Page::more(body.leads, Some(next))),
        // The leads of this page arrived whole: deliver them, then stop, saying why.
        Some(Err(unusable)) => Ok(Page::more_without_cursor(body.leads, unusable.to_string())),
        None => Ok(Page::more(body.leads, None)),
    }
}

/// The `next` value of a `Location` header, absolute (`https://host/api/m2m/v1/leads/x?next=5`)
/// or relative (`/leads/x?next=5`).
///
/// # Errors
/// [`ErrorKind::Pagination`] when there is no `next`, or it is not an int64.
pub(crate) fn next_from_location(location: &str) -> Result<LeadCursor> {
    let base = Url::parse("http://location.invalid/")
        .map_err(|e| Error::new(ErrorKind::Pagination, e.to_string()))?;
    let url = base.join(location.trim()).map_err(|e| {
        Error::new(
            ErrorKind::Pagination,
            "the Location header of a leads page is not a URL",
        )
        .with_source(e)
    })?;
    let next = url
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Pagination,
                "the Location header of a leads page has no `next` value",
            )
        })?;
    next.trim().parse().map_err(|_| {
        Error::new(
            ErrorKind::Pagination,
            format!(
                "the `next` value in a leads page's Location is not an int64: `{}`",
                next.chars().take(40).collect::<String>()
            ),
        )
    })
}

/// The leads resource. Get it with [`M2m::leads`](crate::M2m::leads).
///
/// Pages are fetched one ahead of the caller (while you process a page, the next is on its
/// way), memory stays at about two pages whatever the account's size, and a listing never
/// loops: a 202 without a usable `Location` or a repeated cursor ends it with
/// [`ErrorKind::Pagination`]. A failure mid-listing (after retries) carries the cursor to
/// resume from in [`Error::resume_cursor`]; resuming there delivers every remaining lead once.
/// A pagination error after a delivered page carries none: there is nothing left to resume.
#[derive(Debug, Clone, Copy)]
pub struct LeadsApi<'a> {
    client: &'a Client,
}

impl<'a> LeadsApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The listing of `account`'s leads from `cursor`, refused with its first item when the
    /// account name is unusable.
    fn listing(&self, account: &str, cursor: Option<LeadCursor>) -> Pages<LeadPages> {
        let check = thingspace_core::path::encode_param("accountname", account)
            .map(drop)
            .map_err(|e| e.with_operation(LIST_LEADS));
        let source = LeadPages {
            client: self.client.clone(),
            account: account.to_owned(),
        };
        Pages::starting_at(source, cursor).checked(check)
    }

    /// Every page of `account`'s leads, from the first. Each page carries the cursor it was
    /// fetched with, so progress can be saved.
    ///
    /// # Errors
    /// The stream's first item is [`ErrorKind::InvalidInput`] for an empty account name, and
    /// nothing is sent; then as [`list`](Self::list).
    pub fn pages(&self, account: &str) -> Pages<LeadPages> {
        self.listing(account, None)
    }

    /// The pages of `account`'s leads from `cursor` on (to resume a listing).
    ///
    /// # Errors
    /// As [`pages`](Self::pages).
    pub fn pages_from(&self, account: &str, cursor: LeadCursor) -> Pages<LeadPages> {
        self.listing(account, Some(cursor))
    }

    /// Every lead of `account`, one by one, as a stream.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// # async fn run(m2m: thingspace_m2m::M2m) -> thingspace_core::Result<()> {
    /// let mut leads = m2m.leads().list("0000123456");
    /// while let Some(lead) = leads.try_next().await? {
    ///     println!("{:?} {:?}", lead.lead_id, lead.address.zip);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The stream's first item is [`ErrorKind::InvalidInput`] for an empty account name, and
    /// nothing is sent; a failure mid-listing carries the cursor to resume from.
    pub fn list(&self, account: &str) -> Items<LeadPages> {
        self.pages(account).items()
    }

    /// The leads of `account` from `cursor` on, as a stream.
    ///
    /// # Errors
    /// As [`list`](Self::list).
    pub fn list_from(&self, account: &str, cursor: LeadCursor) -> Items<LeadPages> {
        self.pages_from(account, cursor).items()
    }

    /// Every lead of `account`, collected.
    ///
    /// # Errors
    /// The first error of the listing, with the cursor to resume from.
    pub async fn all(&self, account: &str) -> Result<Vec<Lead>> {
        self.list(account).collect_all().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_next_from_absolute_and_relative_locations() {
        let next = |l: &str| next_from_location(l);
        assert_eq!(
            next("/leads/0000123456?next=7340001000").expect("relative"),
            7340001000
        );
        assert_eq!(
            next("https://thingspace.verizon.com/api/m2m/v1/leads/1?next=42").expect("absolute"),
            42
        );
        assert!(next("/leads/0000123456").is_err());
    }

    #[test]
    fn decodes_the_document_example() {
        let body: LeadsBody = serde_json::from_str(
            thingspace_mock::fixtures::get("m2m/leads.document.json").expect("fixture"),
        )
        .expect("decode");
        assert_eq!(body.leads.len(), 2);
        assert_eq!(body.has_more_data, Some(false));
        assert_eq!(body.leads[1].address.zip.as_deref(), Some("89104-0001"));
        let v = serde_json::to_value(&body.leads[0]).expect("encode");
        assert_eq!(v["address"]["addressLine1"], "1600 Pennsylvania Avenue");
        assert_eq!(v["leadId"], "L-10001");
    }

    #[test]
    fn decodes_a_full_synthetic_page() {
        let body: LeadsBody = serde_json::from_str(
            thingspace_mock::fixtures::get("m2m/leads.page.json").expect("fixture"),
        )
        .expect("decode");
        assert_eq!(body.leads.len(), 1000);
        assert_eq!(body.has_more_data, Some(true));
    }

    #[test]
    fn tolerates_nulls_numbers_and_sdk_fields() {
        let body: LeadsBody = serde_json::from_str(
            r#"{"leads":[{"leadId":10001,"address":null},{"leadId":"x","address":{"zip":20500,"zip4":"0001",
            "phone":5551234,"phoneType":"mobile","emailAddress":"a@b.c","extra":true}}],"hasMoreData":null}"#,
        )
        .expect("decode");
        assert_eq!(body.leads[0].lead_id.as_deref(), Some("10001"));
        assert_eq!(body.leads[1].address.zip.as_deref(), Some("20500"));
        assert_eq!(body.leads[1].address.phone.as_deref(), Some("5551234"));
        assert_eq!(body.has_more_data, None);
    }

    #[test]
    fn a_body_without_leads_is_an_error_not_an_empty_page() {
        assert!(serde_json::from_str::<LeadsBody>(r#"{"hasMoreData":false}"#).is_err());
        assert!(serde_json::from_str::<LeadsBody>(r#"{"leads":null,"hasMoreData":false}"#).is_ok());
    }

    #[test]
    fn location_parsing() {
        assert_eq!(
            next_from_location("/leads/a%2Fb?next=12").expect("relative"),
            12
        );
        assert_eq!(
            next_from_location("leads/x?foo=1&next=-3").expect("relative"),
            -3
        );
        assert_eq!(
            next_from_location("https://evil.example/steal?next=99").expect("absolute"),
            99
        );
        for bad in [
            "/leads/x",
            "/leads/x?next=abc",
            "/leads/x?next=",
            "http://[::1",
        ] {
            let e = next_from_location(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::Pagination);
        }
    }
}
