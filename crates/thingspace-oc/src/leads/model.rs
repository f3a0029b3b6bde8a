//! The lead model: what a lead holds, as the service sends it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thingspace_core::de::{null_as_default, one_or_many, opt_string_or_number};

use crate::timestamp::{Timestamp, opt_timestamp};

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
/// timestamp that is not RFC 3339 is kept as sent, as a [`Timestamp::Unparsed`] (and written
/// back as sent when the lead is serialised).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct OcLead {
    /// Civic addresses of the customer, with their locations.
    #[serde(deserialize_with = "null_as_default")]
    pub civic_addresses: Vec<CivicAddress>,
    /// Comments added by the operator (kept as sent).
    pub comments: Option<serde_json::Value>,
    /// The Live Platform customer id, set when a Live Platform license is applied.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub ump_customer_guid: Option<String>,
    /// Whether the customer has no active license.
    pub is_not_active: Option<bool>,
    /// The tenant id of the channel the lead is attached to.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub ovoc_channel_id: Option<String>,
    /// Whether the lead was created consentless.
    pub is_direct_lead: Option<bool>,
    /// Live Cloud's internal id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub id: Option<String>,
    /// The customer's Microsoft tenant id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub tenant_id: Option<String>,
    /// Where the tenant comes from, such as `Office365`.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub tenant_origin: Option<String>,
    /// The operator performing the onboarding.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub operator_id: Option<String>,
    /// The consent state.
    pub status: Option<ConsentStatus>,
    /// When the customer consented: `None` when absent, null or blank; see [`Timestamp`].
    #[serde(deserialize_with = "opt_timestamp")]
    pub consented_on: Option<Timestamp>,
    /// When the operator last modified the lead (read as [`consented_on`](Self::consented_on)).
    #[serde(deserialize_with = "opt_timestamp")]
    pub last_modified_on: Option<Timestamp>,
    /// ISO 3166-1 alpha-2 codes of the countries the customer consented for.
    #[serde(deserialize_with = "null_as_default")]
    pub consented_countries: Vec<String>,
    /// The customer's contact details: documented as a list, sent as one object; both are
    /// read, and every entry is kept. See [`OcLead::contact`].
    #[serde(deserialize_with = "one_or_many")]
    pub contact_details: Vec<ContactDetails>,
}

impl OcLead {
    /// The first (usually the only) contact details.
    pub fn contact(&self) -> Option<&ContactDetails> {
        self.contact_details.first()
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
            l.consented_on
                .as_ref()
                .and_then(Timestamp::parsed)
                .map(|t| (t.year(), t.nanosecond())),
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
        assert!(leads.iter().all(|l| {
            l.consented_on
                .as_ref()
                .and_then(Timestamp::parsed)
                .is_some()
                && !l.civic_addresses.is_empty()
        }));
    }

    #[test]
    fn tolerates_unknown_states_arrays_and_offsetless_dates() {
        let l: OcLead = serde_json::from_str(
            r#"{"status":"PendingReview","lastModifiedOn":"2024-04-03T13:32:12.82872","contactDetails":[{"email":"a@b"},{"email":"c@d","contacts":[{"companySize":"L1_U49"}]}],
               "civicAddresses":[{"locations":null,"isNew":1}]}"#,
        )
        .expect("decode");
        assert_eq!(l.status, Some(ConsentStatus::Other("PendingReview".into())));
        assert!(
            l.last_modified_on
                .as_ref()
                .and_then(Timestamp::parsed)
                .is_some()
        );
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
            a.consented_on,
            Some(Timestamp::Unparsed("yesterday".into()))
        );
        assert_eq!(
            a.last_modified_on,
            Some(Timestamp::Unparsed("1712151132".into()))
        );
        assert!(matches!(b.consented_on, Some(Timestamp::Parsed(_))));
        assert_eq!(b.last_modified_on, None);
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
}
