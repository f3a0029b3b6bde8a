//! States and services: `GET /m2m/v1/accounts/{accountname}/stateandservices`.

use serde::{Deserialize, Serialize};
use thingspace_core::de::{null_as_default, opt_string_or_number};
use thingspace_core::{ApiRequest, Client, Result};

use crate::spelling::KnownSpelling;

/// Operation name of [`StatesAndServicesApi::get`].
pub const GET_STATES_AND_SERVICES: &str = "m2m.accounts.states_and_services";

/// The custom services and states of an account, grouped by engagement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatesAndServices {
    /// The engagements of the account (`engagement` on the wire; required, possibly empty or
    /// `null`: a body without it is a decode error, not an account without services).
    #[serde(alias = "engagements", deserialize_with = "null_as_default")]
    pub engagement: Vec<Engagement>,
}

/// An engagement and its services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Engagement {
    /// The engagement id.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub engagement_id: Option<String>,
    /// The charging group name.
    #[serde(default)]
    pub charging_group: Option<String>,
    /// The services of the engagement.
    #[serde(default, deserialize_with = "null_as_default")]
    pub services: Vec<Service>,
}

/// A custom service and its states.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Service {
    /// The service name.
    #[serde(default)]
    pub name: Option<String>,
    /// The service description.
    #[serde(default)]
    pub description: Option<String>,
    /// The states defined for the service (may be none).
    #[serde(default, deserialize_with = "null_as_default")]
    pub states: Vec<ServiceState>,
}

/// A custom state of a service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceState {
    /// The state name.
    #[serde(default)]
    pub name: Option<String>,
    /// The workflow sequence number: an integer in the document, a float in the SDKs; kept
    /// exactly as sent.
    #[serde(default)]
    pub workflow_sequence_number: Option<serde_json::Number>,
    /// The rating groups of the state (may be absent).
    #[serde(default, deserialize_with = "null_as_default")]
    pub rating_groups: Vec<RatingGroup>,
    /// The service plans that can charge for devices in this state.
    #[serde(default, deserialize_with = "null_as_default")]
    pub service_plans: Vec<String>,
}

impl ServiceState {
    /// The workflow sequence number as a float, whichever way it was sent.
    pub fn sequence(&self) -> Option<f64> {
        self.workflow_sequence_number.as_ref()?.as_f64()
    }
}

/// A rating group of a state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RatingGroup {
    /// The rating group code.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub code: Option<String>,
    /// The lowest value of the group.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub rating_group_min_value: Option<String>,
    /// The highest value of the group.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub rating_group_max_value: Option<String>,
}

/// The states-and-services resource. Get it with
/// [`M2m::states_and_services`](crate::M2m::states_and_services).
///
/// The document spells the path `stateandservices`, the generated SDKs `statesandservices`.
/// The document's is tried first; on a 404 the other is tried, and whichever answers is used
/// from then on by every clone of the [`M2m`](crate::M2m) handle.
#[derive(Debug, Clone, Copy)]
pub struct StatesAndServicesApi<'a> {
    client: &'a Client,
    spelling: &'a KnownSpelling,
}

/// A spelling of the states-and-services path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathSpelling {
    /// `/m2m/v1/accounts/{accountname}/stateandservices`, as the document spells it.
    Document,
    /// `/m2m/v1/accounts/{accountname}/statesandservices`, as the generated SDKs spell it.
    Sdk,
}

impl PathSpelling {
    /// The spellings, in the order [`StatesAndServicesApi::get`] tries them.
    pub const ALL: [PathSpelling; 2] = [PathSpelling::Document, PathSpelling::Sdk];

    /// The path template.
    pub fn path(self) -> &'static str {
        match self {
            PathSpelling::Document => "/m2m/v1/accounts/{accountname}/stateandservices",
            PathSpelling::Sdk => "/m2m/v1/accounts/{accountname}/statesandservices",
        }
    }
}

impl<'a> StatesAndServicesApi<'a> {
    pub(crate) fn new(client: &'a Client, spelling: &'a KnownSpelling) -> Self {
        Self { client, spelling }
    }

    /// The custom services and states of `account`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before any request
    /// for an empty name; the service's error otherwise. When both spellings answer 404, the
    /// error is the one that carries the service's `errorCode` (such as `AccountNotFound` for
    /// a missing account), not a gateway's "no such path": the second spelling's when it has
    /// a code, else the first's.
    pub async fn get(&self, account: &str) -> Result<StatesAndServices> {
        self.spelling
            .send(|i| async move {
                let request = get_request(account, PathSpelling::ALL[i]);
                decode_get(&self.client.send(&request).await?)
            })
            .await
    }
}

/// The request of [`StatesAndServicesApi::get`] on the path spelled `spelling`.
pub fn get_request(account: &str, spelling: PathSpelling) -> ApiRequest {
    ApiRequest::get(GET_STATES_AND_SERVICES, spelling.path()).path_param("accountname", account)
}

/// Decodes the response of [`StatesAndServicesApi::get`].
///
/// # Errors
/// [`ErrorKind::Decode`](thingspace_core::ErrorKind::Decode) for a body that is not an
/// account's states and services; the service's error for an error envelope in a success
/// response.
pub fn decode_get(response: &thingspace_core::Response) -> Result<StatesAndServices> {
    response.json(GET_STATES_AND_SERVICES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> &'static str {
        thingspace_mock::fixtures::get("m2m/states-and-services.document.json").expect("fixture")
    }

    #[test]
    fn decodes_the_document_example() {
        let s: StatesAndServices = serde_json::from_str(document()).expect("decode");
        let services = &s.engagement[0].services;
        assert_eq!(services.len(), 2);
        assert!(services[0].states[0].rating_groups.is_empty());
        assert_eq!(
            services[1].states[0].rating_groups[0].code.as_deref(),
            Some("124")
        );
        assert_eq!(services[0].states[0].sequence(), Some(1.0));
        let round = serde_json::to_value(&s).expect("encode");
        assert_eq!(
            round["engagement"][0]["services"][0]["states"][0]["workflowSequenceNumber"],
            1
        );
    }

    #[test]
    fn accepts_floats_and_absent_lists() {
        let s: StatesAndServices = serde_json::from_str(
            r#"{"engagement":[{"engagementId":12,"services":[{"name":"A","states":[{"workflowSequenceNumber":2.5,
            "ratingGroups":null}]},{"name":"B"}]}]}"#,
        )
        .expect("decode");
        assert_eq!(s.engagement[0].engagement_id.as_deref(), Some("12"));
        assert_eq!(s.engagement[0].services[0].states[0].sequence(), Some(2.5));
        assert!(s.engagement[0].services[1].states.is_empty());
    }
}
