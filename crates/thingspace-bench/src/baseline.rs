//! The baseline: what a user would write by hand with `reqwest` and `serde_json`.

use serde::Deserialize;
use thingspace::mock::{CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME};

/// Plain structs equivalent to the SDK's models.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Fields are decoded to cost what the SDK's decoding costs.
pub(crate) struct PlainAccount {
    account_name: Option<String>,
    account_number: Option<String>,
    organization_name: Option<String>,
    is_provisioning_allowed: Option<bool>,
    #[serde(default)]
    carriers: Vec<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default, alias = "iPPools")]
    ip_pools: Vec<serde_json::Value>,
    #[serde(default)]
    service_plans: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct PlainAddress {
    address_line1: Option<String>,
    address_line2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    zip4: Option<String>,
    country: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct PlainLead {
    lead_id: Option<String>,
    lead_state: Option<String>,
    address: PlainAddress,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlainPage {
    pub(crate) leads: Vec<PlainLead>,
    #[serde(default)]
    pub(crate) has_more_data: bool,
}

/// The user agent the SDK's transport sends, which the baseline sends too.
pub(crate) const USER_AGENT: &str = concat!("thingspace-rs/", env!("CARGO_PKG_VERSION"));

/// A hand-written client: one token and one session, obtained once.
#[derive(Clone)]
pub(crate) struct Baseline {
    http: reqwest::Client,
    base: String,
    pub(crate) bearer: String,
    pub(crate) session: String,
}

impl Baseline {
    /// The same client with other HTTP client settings (a diagnostic of `layers`).
    pub(crate) fn with_http(&self, http: reqwest::Client) -> Self {
        Self {
            http,
            ..self.clone()
        }
    }

    pub(crate) async fn login(url: &str) -> Result<Self, String> {
        // The same client settings as the SDK's default transport: reqwest's defaults, and
        // the same per-request timeout (a hand-written production client would set one too).
        // The same `User-Agent` too, so that both sides send the same headers: one header more
        // costs the server (the mock, sharing the two cores) a larger header map per request,
        // which `thingspace-bench layers` measured at 1 % sequentially and 5-12 % with 64 in
        // flight for a POST (docs/performance.md).
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| e.to_string())?;
        let base = format!("{url}/api");
        let token = http
            .post(format!("{base}/ts/v1/oauth2/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let token: serde_json::Value = serde_json::from_slice(&token).map_err(|e| e.to_string())?;
        let bearer = token["access_token"].as_str().ok_or("no token")?.to_owned();
        let session = http
            .post(format!("{base}/m2m/v1/session/login"))
            .bearer_auth(&bearer)
            .header("Content-Type", "application/json")
            .body(serde_json::json!({"username": USERNAME, "password": PASSWORD}).to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let session: serde_json::Value =
            serde_json::from_slice(&session).map_err(|e| e.to_string())?;
        let session = session["sessionToken"]
            .as_str()
            .ok_or("no session")?
            .to_owned();
        Ok(Self {
            http,
            base,
            bearer,
            session,
        })
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.bearer)
            .header("VZ-M2M-Token", &self.session)
            .header("Accept", "application/json")
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(format!("HTTP {}", response.status()))
        }
    }

    pub(crate) async fn account(&self, name: &str) -> Result<PlainAccount, String> {
        let body = self
            .get(&format!("/m2m/v1/accounts/{name}"))
            .await?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }

    /// One page of leads and the `next` cursor from `Location`.
    /// The example family's webhook registration, by hand: the JSON body serialised per
    /// request, as the SDK does, and the answer decoded.
    pub(crate) async fn register_webhook(
        &self,
        account: &str,
        url: &str,
        signing_key: &str,
    ) -> Result<String, String> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            url: &'a str,
            signing_key: &'a str,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            webhook_id: String,
        }
        let body = serde_json::to_vec(&Body { url, signing_key }).map_err(|e| e.to_string())?;
        let response = self
            .http
            .post(format!("{}/m2m/v1/devices/{account}/webhooks", self.base))
            .bearer_auth(&self.bearer)
            .header("VZ-M2M-Token", &self.session)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .timeout(std::time::Duration::from_secs(30))
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let created: Created = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        Ok(created.webhook_id)
    }

    pub(crate) async fn leads_page(
        &self,
        account: &str,
        next: Option<&str>,
    ) -> Result<(PlainPage, Option<String>), String> {
        let path = match next {
            Some(n) => format!("/m2m/v1/leads/{account}?next={n}"),
            None => format!("/m2m/v1/leads/{account}"),
        };
        let response = self.get(&path).await?;
        let next = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.split("next=").nth(1))
            .map(|n| n.split('&').next().unwrap_or(n).to_owned());
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        let page: PlainPage = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        Ok((page, next))
    }

    /// The raw body of the first leads page of `account`.
    pub(crate) async fn page_body(&self, account: &str) -> Result<Vec<u8>, String> {
        let response = self.get(&format!("/m2m/v1/leads/{account}")).await?;
        Ok(response.bytes().await.map_err(|e| e.to_string())?.to_vec())
    }

    /// Every lead, page after page: fetch, then process, then fetch the next.
    pub(crate) async fn all_leads(
        &self,
        account: &str,
        mut per_page: impl FnMut(&PlainPage),
        work: std::time::Duration,
    ) -> Result<usize, String> {
        let mut next: Option<String> = None;
        let mut count = 0;
        loop {
            let (page, n) = self.leads_page(account, next.as_deref()).await?;
            count += page.leads.len();
            per_page(&page);
            if !work.is_zero() {
                tokio::time::sleep(work).await;
            }
            if !page.has_more_data {
                return Ok(count);
            }
            next = Some(n.ok_or("a page with more data but no next")?);
        }
    }
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(crate) struct PlainDeviceId {
    id: String,
    kind: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PlainKeyValue {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct PlainDevice {
    account_name: Option<String>,
    #[serde(default)]
    device_ids: Vec<PlainDeviceId>,
    #[serde(default)]
    carrier_informations: Vec<serde_json::Value>,
    connected: Option<bool>,
    created_at: Option<String>,
    #[serde(default)]
    extended_attributes: Vec<PlainKeyValue>,
    #[serde(default)]
    group_names: Vec<String>,
    ip_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlainDevicePage {
    #[serde(default)]
    has_more_data: bool,
    #[serde(default)]
    devices: Vec<PlainDevice>,
}

impl Baseline {
    /// Every device of `account`, page after page, each page asked for past the largest
    /// `DeviceId` seen.
    pub(crate) async fn all_devices(&self, account: &str) -> Result<usize, String> {
        let mut seen: i64 = 0;
        let mut count = 0;
        loop {
            let body = serde_json::json!({"accountName": account, "largestDeviceIdSeen": seen});
            let response = self
                .http
                .post(format!("{}/m2m/v1/devices/actions/list", self.base))
                .bearer_auth(&self.bearer)
                .header("VZ-M2M-Token", &self.session)
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("HTTP {}", response.status()));
            }
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            let page: PlainDevicePage =
                serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            count += page.devices.len();
            let largest = page
                .devices
                .iter()
                .flat_map(|d| &d.extended_attributes)
                .filter(|kv| kv.key.as_deref() == Some("DeviceId"))
                .filter_map(|kv| kv.value.as_deref()?.parse::<i64>().ok())
                .max()
                .unwrap_or(seen);
            if !page.has_more_data {
                return Ok(count);
            }
            if largest <= seen {
                return Err("a page with more data but no larger device id".into());
            }
            seen = largest;
        }
    }
}
