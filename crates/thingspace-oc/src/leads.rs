//! Operator Connect leads: `GET {oc_base}/api/v2/oc/lead`.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thingspace_core::de::{null_as_default, one_or_many, opt_string_or_number};
use thingspace_core::pagination::{Items, Page, PageSource, Pages};
use thingspace_core::{ApiRequest, Client, Error, Result};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Operation name of [`OcLeads::get`].
pub const GET_LEAD: &str = "oc.leads.get";
/// Operation name of a page of [`OcLeads::pages`].
pub const LIST_LEADS: &str = "oc.leads.list";
/// The largest page the service serves.
pub const MAX_PAGE_SIZE: u32 = 20_000;

const PATH: &str = "/api/v2/oc/lead";

/// The consent state of a lead (Microsoft's consent states).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsentStatus {
    /// `Active`.
    Active,
    /// `Suspended`.
    Suspended,
    /// `Removed`.
    Removed,
    /// A state this SDK does not know yet, as sent.
    Other(String),
}

impl ConsentStatus {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            ConsentStatus::Active => "Active",
            ConsentStatus::Suspended => "Suspended",
            ConsentStatus::Removed => "Removed",
            ConsentStatus::Other(s) => s,
        }
    }
}

impl fmt::Display for ConsentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ConsentStatus {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ConsentStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "Active" => ConsentStatus::Active,
            "Suspended" => ConsentStatus::Suspended,
            "Removed" => ConsentStatus::Removed,
            _ => ConsentStatus::Other(s),
        })
    }
}

/// An Operator Connect lead: a Teams customer tenant that consented (or was added consentless).
/// Nearly every field may be null. Serialises with the wire field names.
///
/// Decoding is lenient where the service is known to be loose, so that one odd lead never
/// costs the page it came in: text fields also accept numbers (kept as their text), and a
/// timestamp that is not RFC 3339 leaves its parsed field `None` and is kept, as sent, in the
/// matching `*_raw` field (and written back as sent when the lead is serialised).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "OcLeadWire", into = "OcLeadWire")]
#[non_exhaustive]
pub struct OcLead {
    /// Civic addresses of the customer, with their locations.
    pub civic_addresses: Vec<CivicAddress>,
    /// Comments added by the operator (kept as sent).
    pub comments: Option<serde_json::Value>,
    /// The Live Platform customer id, set when a Live Platform license is applied.
    pub ump_customer_guid: Option<String>,
    /// Whether the customer has no active license.
    pub is_not_active: Option<bool>,
    /// The tenant id of the channel the lead is attached to.
    pub ovoc_channel_id: Option<String>,
    /// Whether the lead was created consentless.
    pub is_direct_lead: Option<bool>,
    /// Live Cloud's internal id.
    pub id: Option<String>,
    /// The customer's Microsoft tenant id.
    pub tenant_id: Option<String>,
    /// Where the tenant comes from, such as `Office365`.
    pub tenant_origin: Option<String>,
    /// The operator performing the onboarding.
    pub operator_id: Option<String>,
    /// The consent state.
    pub status: Option<ConsentStatus>,
    /// When the customer consented: `None` when absent, null, or not an RFC 3339 timestamp
    /// (then see [`consented_on_raw`](Self::consented_on_raw)). A timestamp without an offset,
    /// as .NET services send, is taken as UTC.
    pub consented_on: Option<OffsetDateTime>,
    /// `consentedOn` as sent, when it is not an RFC 3339 timestamp (`None` otherwise).
    pub consented_on_raw: Option<String>,
    /// When the operator last modified the lead (read as [`consented_on`](Self::consented_on)).
    pub last_modified_on: Option<OffsetDateTime>,
    /// `lastModifiedOn` as sent, when it is not an RFC 3339 timestamp (`None` otherwise).
    pub last_modified_on_raw: Option<String>,
    /// ISO 3166-1 alpha-2 codes of the countries the customer consented for.
    pub consented_countries: Vec<String>,
    /// The customer's contact details: documented as a list, sent as one object; both are
    /// read, and every entry is kept. See [`OcLead::contact`].
    pub contact_details: Vec<ContactDetails>,
}

impl OcLead {
    /// The first (usually the only) contact details.
    pub fn contact(&self) -> Option<&ContactDetails> {
        self.contact_details.first()
    }
}

/// A lead as sent: timestamps as text, read into [`OcLead`]'s two fields each.
#[derive(Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct OcLeadWire {
    #[serde(deserialize_with = "null_as_default")]
    civic_addresses: Vec<CivicAddress>,
    comments: Option<serde_json::Value>,
    #[serde(deserialize_with = "opt_string_or_number")]
    ump_customer_guid: Option<String>,
    is_not_active: Option<bool>,
    #[serde(deserialize_with = "opt_string_or_number")]
    ovoc_channel_id: Option<String>,
    is_direct_lead: Option<bool>,
    #[serde(deserialize_with = "opt_string_or_number")]
    id: Option<String>,
    #[serde(deserialize_with = "opt_string_or_number")]
    tenant_id: Option<String>,
    #[serde(deserialize_with = "opt_string_or_number")]
    tenant_origin: Option<String>,
    #[serde(deserialize_with = "opt_string_or_number")]
    operator_id: Option<String>,
    status: Option<ConsentStatus>,
    #[serde(deserialize_with = "opt_string_or_number")]
    consented_on: Option<String>,
    #[serde(deserialize_with = "opt_string_or_number")]
    last_modified_on: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    consented_countries: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    contact_details: Vec<ContactDetails>,
}

impl From<OcLeadWire> for OcLead {
    fn from(w: OcLeadWire) -> Self {
        let (consented_on, consented_on_raw) = timestamp::read(w.consented_on);
        let (last_modified_on, last_modified_on_raw) = timestamp::read(w.last_modified_on);
        OcLead {
            civic_addresses: w.civic_addresses,
            comments: w.comments,
            ump_customer_guid: w.ump_customer_guid,
            is_not_active: w.is_not_active,
            ovoc_channel_id: w.ovoc_channel_id,
            is_direct_lead: w.is_direct_lead,
            id: w.id,
            tenant_id: w.tenant_id,
            tenant_origin: w.tenant_origin,
            operator_id: w.operator_id,
            status: w.status,
            consented_on,
            consented_on_raw,
            last_modified_on,
            last_modified_on_raw,
            consented_countries: w.consented_countries,
            contact_details: w.contact_details,
        }
    }
}

impl From<OcLead> for OcLeadWire {
    fn from(l: OcLead) -> Self {
        OcLeadWire {
            civic_addresses: l.civic_addresses,
            comments: l.comments,
            ump_customer_guid: l.ump_customer_guid,
            is_not_active: l.is_not_active,
            ovoc_channel_id: l.ovoc_channel_id,
            is_direct_lead: l.is_direct_lead,
            id: l.id,
            tenant_id: l.tenant_id,
            tenant_origin: l.tenant_origin,
            operator_id: l.operator_id,
            status: l.status,
            consented_on: timestamp::write(l.consented_on, l.consented_on_raw),
            last_modified_on: timestamp::write(l.last_modified_on, l.last_modified_on_raw),
            consented_countries: l.consented_countries,
            contact_details: l.contact_details,
        }
    }
}

/// A civic address of a customer (an emergency-calling address in Teams). Text fields also
/// accept numbers (a `houseNumber` or `postalOrZipCode` sent as `12`), kept as their text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct CivicAddress {
    /// The address id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub country: Option<String>,
    /// House number.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub house_number: Option<String>,
    /// House number suffix, such as `A`.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub house_number_suffix: Option<String>,
    /// Directional before the street name, such as `N`.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub pre_directional: Option<String>,
    /// Street name.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub street_name: Option<String>,
    /// Street suffix, such as `St`.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub street_suffix: Option<String>,
    /// Directional after the street name.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub post_directional: Option<String>,
    /// State or province.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub state_or_province: Option<String>,
    /// County or district.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub county_or_district: Option<String>,
    /// City or town.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub city_or_town: Option<String>,
    /// Another name of the city or town.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub city_or_town_alias: Option<String>,
    /// Postal or ZIP code.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub postal_or_zip_code: Option<String>,
    /// A description of the address.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub description: Option<String>,
    /// The company at the address.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub company_name: Option<String>,
    /// The company's id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub company_id: Option<String>,
    /// The default location of the address.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub default_location_id: Option<String>,
    /// Whether Microsoft validated the address.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub validation_status: Option<String>,
    /// The customer's tenant id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub tenant_id: Option<String>,
    /// The partner's id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub partner_id: Option<String>,
    /// The locations (floors, rooms) at the address.
    #[serde(deserialize_with = "null_as_default")]
    pub locations: Vec<Location>,
}

/// A location within a civic address. Text fields also accept numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Location {
    /// The location id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    /// The civic address it belongs to.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub civic_address_id: Option<String>,
    /// A description, such as a floor.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub description: Option<String>,
    /// More information.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub additional_info: Option<String>,
    /// Whether it is the default location.
    pub is_default: Option<bool>,
    /// The emergency location identification number.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub elin: Option<String>,
}

/// The contact details of a customer. Text fields also accept numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContactDetails {
    /// Full name.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub full_name: Option<String>,
    /// Email address.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub phone_number: Option<String>,
    /// Company name.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub company_name: Option<String>,
    /// Company size, such as `L250_U999`.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub company_size: Option<String>,
    /// The Global administrator or service-account contacts (a list in the document; one
    /// object or `null` is read too).
    #[serde(deserialize_with = "one_or_many")]
    pub contacts: Vec<Contact>,
}

/// A contact of a customer. Text fields also accept numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Contact {
    /// Full name.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub full_name: Option<String>,
    /// Email address.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub phone_number: Option<String>,
    /// Company size, such as `L250_U999`.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub company_size: Option<String>,
    /// Additional contacts (the document's nested `contacts`, "Additional contacts lists",
    /// typed as text): kept as sent, whatever its shape.
    pub contacts: Option<serde_json::Value>,
}

/// RFC 3339 timestamps; one without an offset (as .NET services send) is taken as UTC.
mod timestamp {
    use super::*;

    /// The parsed timestamp, or the text as sent when it is not one (blank text is neither).
    pub(super) fn read(text: Option<String>) -> (Option<OffsetDateTime>, Option<String>) {
        let Some(text) = text else {
            return (None, None);
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return (None, None);
        }
        match OffsetDateTime::parse(trimmed, &Rfc3339)
            .or_else(|_| OffsetDateTime::parse(&format!("{trimmed}Z"), &Rfc3339))
        {
            Ok(t) => (Some(t), None),
            Err(_) => (None, Some(text)),
        }
    }

    /// The text to send: the timestamp in RFC 3339, else the text as it came.
    pub(super) fn write(value: Option<OffsetDateTime>, raw: Option<String>) -> Option<String> {
        value.and_then(|t| t.format(&Rfc3339).ok()).or(raw)
    }
}

/// Checks that `id` is a GUID (`8-4-4-4-12` hexadecimal digits).
///
/// ```
/// assert!(thingspace_oc::leads::validate_tenant_id("f94238e5-4f2c-4e1b-8125-2d27122ca75f").is_ok());
/// assert!(thingspace_oc::leads::validate_tenant_id("not-a-guid").is_err());
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput).
pub fn validate_tenant_id(id: &str) -> Result<()> {
    let groups: Vec<&str> = id.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        let shown: String = id.chars().take(64).filter(|c| !c.is_control()).collect();
        Err(Error::invalid_input(format!(
            "msTenantID must be a GUID such as f94238e5-4f2c-4e1b-8125-2d27122ca75f, not `{shown}`"
        )))
    }
}

fn validate_page_size(size: u32) -> Result<()> {
    if (1..=MAX_PAGE_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "PageSize must be between 1 and {MAX_PAGE_SIZE}, not {size}"
        )))
    }
}

/// Decodes a JSON array of leads. Only `[]` (or a 204 without a body) is an empty answer: an
/// empty 200 body or `null` is what a failing gateway sends, and taking it for "no leads" would
/// end a listing early without a word. Likewise an element with none of a lead's fields.
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for anything that is not an array
/// of leads.
pub fn decode_leads(
    operation: &'static str,
    response: &thingspace_core::Response,
) -> Result<Vec<OcLead>> {
    if response.status == thingspace_core::http::StatusCode::NO_CONTENT
        && response.body.iter().all(u8::is_ascii_whitespace)
    {
        return Ok(Vec::new());
    }
    let leads = response.json::<Vec<OcLead>>(operation)?;
    // An object with none of a lead's fields (`{}`, or some other resource's objects) is not
    // a lead: taken for one, it would come back as a lead with every field empty.
    if let Some(i) = leads.iter().position(|lead| *lead == OcLead::default()) {
        return Err(response.not_the_answer(
            operation,
            format_args!("element [{i}] has none of a lead's fields"),
        ));
    }
    Ok(leads)
}

/// The [`PageSource`] of every lead of the operator; the cursor is the page number (from 1).
///
/// The listing ends on an empty page. A short page does not end it: a service that serves
/// fewer leads a page than asked for (a lower cap than the documented 20,000) would otherwise
/// end the listing after its first page without a word; the price is one request for the
/// empty page. A page identical to the one before (a service ignoring `PageNumber`) fails with
/// [`ErrorKind::Pagination`](thingspace_core::ErrorKind::Pagination) instead of looping.
#[derive(Debug)]
pub struct OcLeadPages {
    client: Client,
    page_size: u32,
    check_online: Option<bool>,
    /// The number and fingerprint of the last page fetched.
    last: std::sync::Mutex<Option<(u32, PageFingerprint)>>,
}

/// What tells two pages apart cheaply: their length and their first and last leads' ids.
type PageFingerprint = (usize, Option<String>, Option<String>);

fn fingerprint(leads: &[OcLead]) -> PageFingerprint {
    let id = |l: Option<&OcLead>| l.and_then(|l| l.id.clone().or_else(|| l.tenant_id.clone()));
    (leads.len(), id(leads.first()), id(leads.last()))
}

impl Clone for OcLeadPages {
    /// A fresh listing with the same settings (what was seen is not carried over).
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            page_size: self.page_size,
            check_online: self.check_online,
            last: std::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl PageSource for OcLeadPages {
    type Item = OcLead;
    type Cursor = u32;

    async fn fetch_page(&self, cursor: Option<u32>) -> Result<Page<OcLead, u32>> {
        let page = cursor.unwrap_or(1);
        let mut request = ApiRequest::get(LIST_LEADS, PATH)
            .query("PageNumber", page)
            .query("PageSize", self.page_size);
        if let Some(online) = self.check_online {
            request = request.query("checkOnline", online);
        }
        let response = self.client.send(&request).await?;
        let leads = decode_leads(LIST_LEADS, &response)?;
        if leads.is_empty() {
            return Ok(Page::last(leads));
        }
        let print = fingerprint(&leads);
        {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((before, seen)) = last.as_ref()
                && page.checked_sub(1) == Some(*before)
                && *seen == print
            {
                return Err(Error::new(
                    thingspace_core::ErrorKind::Pagination,
                    format!(
                        "page {page} repeats page {before} (the service seems to ignore \
                         PageNumber); stopping instead of looping"
                    ),
                )
                .with_operation(LIST_LEADS));
            }
            *last = Some((page, print));
        }
        Ok(Page::more(leads, page.checked_add(1)))
    }
}

/// The leads resource. Get it with [`OperatorConnect::leads`](crate::OperatorConnect::leads).
#[derive(Debug, Clone, Copy)]
pub struct OcLeads<'a> {
    client: &'a Client,
    check_online: Option<bool>,
}

impl<'a> OcLeads<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            check_online: None,
        }
    }

    /// Listings ask the service to check whether each customer is online (`checkOnline`);
    /// without this, the parameter is left out and the service's default applies.
    pub fn check_online(mut self, check: bool) -> Self {
        self.check_online = Some(check);
        self
    }

    /// The lead of the customer tenant `ms_tenant_id` (first page of 100). The service answers
    /// `[]` when the tenant has no lead; a 404 is an error ([`Error::is_not_found`]), since it is
    /// also what a wrong base URL gets.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before any request
    /// when the id is not a GUID; the service's error otherwise.
    pub async fn get(&self, ms_tenant_id: &str) -> Result<Vec<OcLead>> {
        self.get_page(ms_tenant_id, 0, 100).await
    }

    /// As [`get`](Self::get), with an explicit `PageNumber` and `PageSize`.
    ///
    /// # Errors
    /// As [`get`](Self::get); also for a page size outside 1 to 20,000.
    pub async fn get_page(
        &self,
        ms_tenant_id: &str,
        page_number: u32,
        page_size: u32,
    ) -> Result<Vec<OcLead>> {
        validate_tenant_id(ms_tenant_id).map_err(|e| e.with_operation(GET_LEAD))?;
        validate_page_size(page_size).map_err(|e| e.with_operation(GET_LEAD))?;
        let request = ApiRequest::get(GET_LEAD, PATH)
            .query("msTenantID", ms_tenant_id)
            .query("PageNumber", page_number)
            .query("PageSize", page_size);
        let response = self.client.send(&request).await?;
        decode_leads(GET_LEAD, &response)
    }

    /// Every lead of the operator, `page_size` at a time (1 to 20,000), as pages.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) for a page size out of range.
    pub fn pages(&self, page_size: u32) -> Result<Pages<OcLeadPages>> {
        self.pages_from(page_size, 1)
    }

    /// The pages of every lead from page number `page` (from 1) on, to resume a listing.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) for a page size out of range or page 0.
    pub fn pages_from(&self, page_size: u32, page: u32) -> Result<Pages<OcLeadPages>> {
        validate_page_size(page_size).map_err(|e| e.with_operation(LIST_LEADS))?;
        if page == 0 {
            return Err(
                Error::invalid_input("page numbers of the lead list start at 1")
                    .with_operation(LIST_LEADS),
            );
        }
        let source = OcLeadPages {
            client: self.client.clone(),
            page_size,
            check_online: self.check_online,
            last: std::sync::Mutex::new(None),
        };
        Ok(Pages::starting_at(source, (page > 1).then_some(page)))
    }

    /// Every lead of the operator, one by one, as a stream.
    ///
    /// # Errors
    /// As [`pages`](Self::pages).
    pub fn list(&self, page_size: u32) -> Result<Items<OcLeadPages>> {
        Ok(self.pages(page_size)?.items())
    }

    /// Every lead of the operator, collected.
    ///
    /// # Errors
    /// As [`pages`](Self::pages), and the first error of the listing, with the page to resume from.
    pub async fn all(&self, page_size: u32) -> Result<Vec<OcLead>> {
        self.list(page_size)?.collect_all().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> &'static str {
        thingspace_mock::fixtures::get("oc/lead.document.json").expect("fixture")
    }

    #[test]
    fn decodes_the_document_example() {
        let leads: Vec<OcLead> = serde_json::from_str(document()).expect("decode");
        let l = &leads[0];
        assert_eq!(l.status, Some(ConsentStatus::Active));
        assert_eq!(
            l.consented_on.map(|t| (t.year(), t.nanosecond())),
            Some((2024, 828_674_200))
        );
        assert_eq!(
            l.contact().and_then(|c| c.company_name.as_deref()),
            Some("SIPTest")
        );
        assert!(l.civic_addresses.is_empty());
        let v = serde_json::to_value(l).expect("encode");
        assert_eq!(v["tenantId"], "f94238e5-4f2c-4e1b-8125-2d27122ca75f");
        assert_eq!(v["consentedOn"], "2024-04-03T13:32:12.8286742Z");
    }

    #[test]
    fn decodes_a_synthetic_page() {
        let text = thingspace_mock::fixtures::get("oc/leads.page.json").expect("fixture");
        let leads: Vec<OcLead> = serde_json::from_str(text).expect("decode");
        assert_eq!(leads.len(), 20);
        assert!(
            leads
                .iter()
                .all(|l| l.consented_on.is_some() && !l.civic_addresses.is_empty())
        );
    }

    #[test]
    fn tolerates_unknown_states_arrays_and_offsetless_dates() {
        let l: OcLead = serde_json::from_str(
            r#"{"status":"PendingReview","lastModifiedOn":"2024-04-03T13:32:12.82872","contactDetails":[{"email":"a@b"},{"email":"c@d","contacts":[{"companySize":"L1_U49"}]}],
               "civicAddresses":[{"locations":null,"isNew":1}]}"#,
        )
        .expect("decode");
        assert_eq!(l.status, Some(ConsentStatus::Other("PendingReview".into())));
        assert!(l.last_modified_on.is_some());
        let emails: Vec<_> = l
            .contact_details
            .iter()
            .filter_map(|c| c.email.as_deref())
            .collect();
        assert_eq!(emails, ["a@b", "c@d"], "every entry is kept");
        assert_eq!(
            l.contact_details[1].contacts[0].company_size.as_deref(),
            Some("L1_U49")
        );
    }

    #[test]
    fn an_unreadable_timestamp_keeps_the_lead_and_its_text() {
        let page = r#"[
            {"tenantId":"a","consentedOn":"yesterday","lastModifiedOn":1712151132},
            {"tenantId":"b","consentedOn":"2024-04-03T13:32:12Z","lastModifiedOn":"  "}
        ]"#;
        let leads: Vec<OcLead> = serde_json::from_str(page).expect("the page survives");
        assert_eq!(leads.len(), 2);
        let (a, b) = (&leads[0], &leads[1]);
        assert_eq!(a.tenant_id.as_deref(), Some("a"));
        assert_eq!(
            (a.consented_on, a.consented_on_raw.as_deref()),
            (None, Some("yesterday"))
        );
        assert_eq!(a.last_modified_on_raw.as_deref(), Some("1712151132"));
        assert!(b.consented_on.is_some() && b.consented_on_raw.is_none());
        assert_eq!(
            (b.last_modified_on, b.last_modified_on_raw.as_deref()),
            (None, None)
        );
        // Written back as it came, under the wire name.
        let v = serde_json::to_value(a).expect("encode");
        assert_eq!(v["consentedOn"], "yesterday");
        assert_eq!(v["lastModifiedOn"], "1712151132");
        assert!(v.get("consentedOnRaw").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<OcLead>(v).expect("round trip"), *a);
        let v = serde_json::to_value(b).expect("encode");
        assert_eq!(v["consentedOn"], "2024-04-03T13:32:12Z");
        assert!(v["lastModifiedOn"].is_null());
        // A list or an object is not a timestamp of any kind: a typed error, naming the field.
        let e =
            serde_json::from_str::<OcLead>(r#"{"consentedOn":{"date":1}}"#).expect_err("not text");
        assert!(e.to_string().contains("text, a number or null"), "{e}");
    }

    #[test]
    fn numbers_where_text_is_expected_are_kept_as_text() {
        let l: OcLead = serde_json::from_str(
            r#"{"id":42,"tenantId":"t","operatorId":7,
                "civicAddresses":[{"id":1,"houseNumber":12,"postalOrZipCode":78701,"companyId":99,
                  "partnerId":5,"tenantId":3,"locations":[{"id":2,"civicAddressId":1,"elin":911}]}],
                "contactDetails":{"phoneNumber":15551234567,"companySize":250,
                  "contacts":{"fullName":"Ops","phoneNumber":5550100,"contacts":"more@example.com"}}}"#,
        )
        .expect("decode");
        assert_eq!(
            (l.id.as_deref(), l.operator_id.as_deref()),
            (Some("42"), Some("7"))
        );
        let a = &l.civic_addresses[0];
        assert_eq!(a.house_number.as_deref(), Some("12"));
        assert_eq!(a.postal_or_zip_code.as_deref(), Some("78701"));
        assert_eq!(
            (
                a.id.as_deref(),
                a.company_id.as_deref(),
                a.partner_id.as_deref(),
                a.tenant_id.as_deref()
            ),
            (Some("1"), Some("99"), Some("5"), Some("3"))
        );
        assert_eq!(a.locations[0].elin.as_deref(), Some("911"));
        assert_eq!(a.locations[0].civic_address_id.as_deref(), Some("1"));
        let c = l.contact().expect("contact details");
        assert_eq!(c.phone_number.as_deref(), Some("15551234567"));
        assert_eq!(c.company_size.as_deref(), Some("250"));
        // `contacts` as one object is read as a list of one; its own nested `contacts` is kept.
        assert_eq!(c.contacts.len(), 1);
        assert_eq!(c.contacts[0].phone_number.as_deref(), Some("5550100"));
        assert_eq!(
            c.contacts[0].contacts,
            Some(serde_json::json!("more@example.com"))
        );
    }

    #[test]
    fn nested_contacts_as_the_document_shows_them() {
        // The document's `contactDetails.contacts`: null, or a list of contacts whose own
        // `contacts` holds additional contacts.
        let l: OcLead = serde_json::from_str(
            r#"{"tenantId":"t","contactDetails":{"companyName":"SIPTest","contacts":[
                {"fullName":"Global Admin","email":"ga@example.com","phoneNumber":null,
                 "companySize":"L250_U999","contacts":[{"fullName":"Deputy"}]},
                {"fullName":"Service Account","contacts":null}]}}"#,
        )
        .expect("decode");
        let contacts = &l.contact().expect("details").contacts;
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0].email.as_deref(), Some("ga@example.com"));
        assert_eq!(
            contacts[0].contacts,
            Some(serde_json::json!([{"fullName": "Deputy"}]))
        );
        assert_eq!(contacts[1].contacts, None);
        let v = serde_json::to_value(&l).expect("encode");
        assert_eq!(
            v["contactDetails"][0]["contacts"][0]["fullName"],
            "Global Admin"
        );
        let document: Vec<OcLead> = serde_json::from_str(document()).expect("decode");
        assert!(document[0].contact().expect("details").contacts.is_empty());
    }

    #[test]
    fn tenant_ids_and_page_sizes_are_checked() {
        for bad in [
            "",
            "f94238e5",
            "f94238e5-4f2c-4e1b-8125-2d27122ca75g",
            "../../x",
            "f94238e5-4f2c-4e1b-8125-2d27122ca75f&PageSize=1",
        ] {
            assert!(validate_tenant_id(bad).is_err(), "{bad}");
        }
        assert!(
            validate_page_size(0).is_err()
                && validate_page_size(20_001).is_err()
                && validate_page_size(20_000).is_ok()
        );
    }
}
