//! Operator Connect leads: `{oc_base}/api/v2/oc/lead`: get one tenant's (`GET`), list them
//! all (`GET`), create a consentless one (`POST`), and turn one into a customer (`PATCH`).

mod convert;
mod create;
mod model;
mod paging;

pub use crate::timestamp::Timestamp;
pub use convert::{
    CONVERT_LEAD, MAX_SHORT_NAME_CHARS, MIN_SHORT_NAME_CHARS, OC_ESSENTIAL, convert_request,
    decode_convert, validate_full_name, validate_short_name,
};
pub use create::{
    CREATE_LEAD, LeadAlreadyExists, MAX_COMPANY_NAME_CHARS, create_request, decode_create,
    decode_create_error, validate_company_name,
};
pub use model::{CivicAddress, ConsentStatus, Contact, ContactDetails, Location, OcLead};
pub use paging::{LeadPages, decode_get, decode_list};

use thingspace_core::pagination::{Items, Pages};
use thingspace_core::{ApiRequest, Client, Error, Result};

use crate::problem::with_problem;
use crate::tasks::TaskId;

/// Operation name of [`LeadsApi::get`].
pub const GET_LEAD: &str = "oc.leads.get";
/// Operation name of a page of [`LeadsApi::pages`].
pub const LIST_LEADS: &str = "oc.leads.list";
/// The largest page the service serves.
pub const MAX_PAGE_SIZE: u32 = 20_000;

const PATH: &str = "/api/v2/oc/lead";

/// The leads resource. Get it with [`OperatorConnect::leads`](crate::OperatorConnect::leads).
#[derive(Debug, Clone, Copy)]
pub struct LeadsApi<'a> {
    client: &'a Client,
    check_online: Option<bool>,
}

impl<'a> LeadsApi<'a> {
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
        let request = get_request(ms_tenant_id, page_number, page_size);
        decode_get(&self.client.send(&request).await.map_err(with_problem)?)
    }

    /// Creates a consentless lead for the customer tenant `tenant_id`, named `company_name`;
    /// returns the lead when the service answers with it (it is documented to answer `200`
    /// and no task).
    ///
    /// Sent once: a lost answer is
    /// [`ErrorKind::OutcomeUnknown`](thingspace_core::ErrorKind::OutcomeUnknown), never
    /// repeated by the SDK (see [`create_request`] for why).
    ///
    /// # Errors
    /// - [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before any
    ///   request, for a tenant id that is not a GUID or a blank company name;
    /// - when the tenant or the company already has a lead, the service's 400
    ///   ([`ErrorKind::Api`](thingspace_core::ErrorKind::Api)) carrying a
    ///   [`LeadAlreadyExists`] with the service's field messages: find it with
    ///   [`OcErrorExt::lead_already_exists`](crate::OcErrorExt::lead_already_exists);
    /// - the service's error otherwise.
    pub async fn create(&self, tenant_id: &str, company_name: &str) -> Result<Option<OcLead>> {
        validate_tenant_id(tenant_id).map_err(|e| e.with_operation(CREATE_LEAD))?;
        validate_company_name(company_name).map_err(|e| e.with_operation(CREATE_LEAD))?;
        let request = create_request(tenant_id, company_name);
        let response = self
            .client
            .send(&request)
            .await
            .map_err(decode_create_error)?;
        decode_create(&response)
    }

    /// Turns the lead of the customer tenant `tenant_id` into an Operator Connect Essentials
    /// customer (`statusChange: OCEssential`) named `short_name` (3 to 15 letters, digits or
    /// `_`) and `full_name`; returns the task that does it (wait for it with
    /// [`TasksApi::wait`](crate::tasks::TasksApi::wait): its output holds the new customer's
    /// `umpCustomerGuid`).
    ///
    /// Checks first, with a get of the lead, that the lead exists, is `Active` and is not a
    /// customer yet; the conversion is sent only then, once (see [`convert_request`] for why
    /// it is never repeated by the SDK, and how to send it without the check).
    ///
    /// # Errors
    /// - [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before any
    ///   request for a tenant id that is not a GUID, a short name that breaks the rule or a
    ///   blank full name; after the get, for a lead that is missing, not `Active` or already
    ///   a customer (the conversion is then not sent);
    /// - the service's error otherwise, with its field messages when it sent a validation
    ///   problem ([`OcErrorExt::validation_problem`](crate::OcErrorExt::validation_problem)).
    pub async fn convert(
        &self,
        tenant_id: &str,
        short_name: &str,
        full_name: &str,
    ) -> Result<TaskId> {
        validate_tenant_id(tenant_id)
            .and_then(|()| validate_short_name(short_name))
            .and_then(|()| validate_full_name(full_name))
            .map_err(|e| e.with_operation(CONVERT_LEAD))?;
        let leads = self.get(tenant_id).await?;
        convert::check_convertible(tenant_id, &leads)
            .map_err(|e| e.with_operation(CONVERT_LEAD))?;
        let request = convert_request(tenant_id, short_name, full_name);
        let response = self.client.send(&request).await.map_err(with_problem)?;
        decode_convert(&response)
    }

    /// Every lead of the operator, `page_size` at a time (1 to 20,000), as pages.
    ///
    /// # Errors
    /// The stream's first item is [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput)
    /// for a page size out of range, and nothing is sent.
    pub fn pages(&self, page_size: u32) -> Pages<LeadPages> {
        self.pages_from(page_size, 1)
    }

    /// The pages of every lead from page number `page` (from 1) on, to resume a listing.
    ///
    /// # Errors
    /// The stream's first item is [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput)
    /// for a page size out of range or page 0, and nothing is sent.
    pub fn pages_from(&self, page_size: u32, page: u32) -> Pages<LeadPages> {
        let check = validate_page_size(page_size)
            .and_then(|()| {
                if page == 0 {
                    Err(Error::invalid_input(
                        "page numbers of the lead list start at 1",
                    ))
                } else {
                    Ok(())
                }
            })
            .map_err(|e| e.with_operation(LIST_LEADS));
        let source = LeadPages::new(self.client.clone(), page_size, self.check_online);
        Pages::starting_at(source, (page > 1).then_some(page)).checked(check)
    }

    /// Every lead of the operator, one by one, as a stream.
    ///
    /// # Errors
    /// As [`pages`](Self::pages).
    pub fn list(&self, page_size: u32) -> Items<LeadPages> {
        self.pages(page_size).items()
    }

    /// Every lead of the operator, collected.
    ///
    /// # Errors
    /// As [`pages`](Self::pages), and the first error of the listing, with the page to resume from.
    pub async fn all(&self, page_size: u32) -> Result<Vec<OcLead>> {
        self.list(page_size).collect_all().await
    }
}

/// The request of [`LeadsApi::get_page`] (and [`LeadsApi::get`]): the leads of customer tenant
/// `ms_tenant_id`, page `page_number` of `page_size`. The inputs are not checked here: see
/// [`validate_tenant_id`].
pub fn get_request(ms_tenant_id: &str, page_number: u32, page_size: u32) -> ApiRequest {
    ApiRequest::get(GET_LEAD, PATH)
        .query("msTenantID", ms_tenant_id)
        .query("PageNumber", page_number)
        .query("PageSize", page_size)
}

/// The request of page `page_number` (from 1) of [`LeadsApi::list`], `page_size` leads a
/// page; `check_online` is sent as `checkOnline` when set.
pub fn list_request(page_number: u32, page_size: u32, check_online: Option<bool>) -> ApiRequest {
    let request = ApiRequest::get(LIST_LEADS, PATH)
        .query("PageNumber", page_number)
        .query("PageSize", page_size);
    match check_online {
        Some(online) => request.query("checkOnline", online),
        None => request,
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

#[cfg(test)]
mod tests {
    use super::*;

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
