#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

mod auth;
mod callbacks;
mod data;
mod delivery;
mod devices;
mod fault;
// The repository's own: the family crates' unit tests, the fuzzer and `cargo xtask fixtures`
// read the generated documents; not part of the mock's API.
#[doc(hidden)]
pub mod fixtures;
mod m2m;
mod oc;
mod onboarding;
mod redis_server;
mod served;
mod subsc;

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, atomic::AtomicU64},
    time::{Duration, Instant},
};

use axum::{
    Router,
    routing::{get, post},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use callbacks::Listener;
pub use delivery::{CallbackDelivery, CallbackPlan};
pub use fault::Fault;
pub use redis_server::RedisServer;

impl State {
    /// How many leads `account` has.
    pub(crate) fn lead_count(&self, account: &str) -> usize {
        lock(&self.lead_counts)
            .get(account)
            .copied()
            .unwrap_or_else(|| (data::hash(account) % 40) as usize)
    }
}

/// Client id the mock accepts by default.
pub const CLIENT_ID: &str = "mock-client-id";
/// Client secret the mock accepts by default.
pub const CLIENT_SECRET: &str = "mock-client-secret";
/// UWS username the mock accepts by default.
pub const USERNAME: &str = "mock-user";
/// UWS password the mock accepts by default.
pub const PASSWORD: &str = "mock-password";
/// Account names starting with this prefix do not exist (the mock answers 404).
pub const MISSING_ACCOUNT_PREFIX: &str = "missing";
/// The Entra client id the mock accepts for Operator Connect.
pub const OC_CLIENT_ID: &str = "00000000-0000-4000-8000-00000000c11e";
/// The Entra client secret the mock accepts for Operator Connect.
pub const OC_CLIENT_SECRET: &str = "mock-oc-secret";
/// The scope the mock's Entra endpoint accepts.
pub const OC_SCOPE: &str = "api://mock-oc-app/.default";
/// The Entra tenant in the mock's token URL.
pub const OC_TENANT: &str = "11111111-2222-4333-8444-555555555555";
/// The account served with the document's own example.
pub const DOCUMENT_ACCOUNT: &str = "Chintan_CPNStaticBulk";

/// A route of the mock, for counts and fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// `POST /api/ts/v1/oauth2/token`
    Token,
    /// `POST /api/m2m/v1/session/login`
    Login,
    /// `POST /api/m2m/v1/session/logout`
    Logout,
    /// `GET /api/m2m/v1/accounts/{accountname}`
    Account,
    /// `GET /api/m2m/v1/leads/{accountname}`
    Leads,
    /// `GET /api/m2m/v1/accounts/{accountname}/stateandservices` (and the SDKs' `statesandservices`)
    StatesAndServices,
    /// `GET /api/subsc/v1/managedaccounts/{accountName}/service/{serviceName}[/status/{status}]`
    ManagedAccounts,
    /// `POST /api/subsc/v1/managedaccounts/actions/{add,provision,cancel}`
    ManagedAccountActions,
    /// `POST /{tenant}/oauth2/v2.0/token`: the Microsoft Entra ID token endpoint
    EntraToken,
    /// `GET /tenantui/api/v2/oc/lead`: Operator Connect leads
    OcLeads,
    /// `POST /tenantui/api/v2/oc/lead`: create an Operator Connect lead
    OcLeadCreate,
    /// `PATCH /tenantui/api/v2/oc/lead`: turn an Operator Connect lead into a customer
    OcLeadConvert,
    /// `GET /tenantui/api/v2/task/{taskId}`: an Operator Connect task
    OcTask,
    /// `GET /tenantui/api/v2/oc/numbers`: an Operator Connect customer's numbers
    OcNumbers,
    /// `GET /tenantui/api/v3/customer`: the Operator Connect customers
    OcCustomers,
    /// `POST`, `GET /api/m2m/v1/callbacks/{accountname}` and `DELETE .../name/{serviceName}`
    Callbacks,
    /// `POST /api/m2m/v1/devices/actions/activate`
    Activate,
    /// `GET /api/m2m/v1/accounts/{accountname}/requests/{requestId}/status`
    RequestStatus,
    /// `POST /api/m2m/v1/devices/actions/list`
    DeviceList,
    /// `PUT /api/m2m/v1/devices/actions/goToState` (and the SDKs' `gotostate`)
    GoToState,
    /// Outbound: each `POST` of a callback message the mock made to a listener (resends
    /// included). Faults queued on it are never used: see [`CallbackPlan`].
    CallbackDelivery,
}

/// How the mock spells a managed-accounts response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ManagedSpelling {
    /// The document's: `managedAccList: [{id, TxId}]`.
    #[default]
    Document,
    /// The generated SDKs': `ManagedAccAddedList` and `managedAccProvisionedList`, `{id, txid}`.
    Sdk,
}

/// Which spellings of the states-and-services path the mock serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StatesPaths {
    /// Both `stateandservices` (the document's) and `statesandservices` (the SDKs').
    #[default]
    Both,
    /// Only the document's `stateandservices`.
    Document,
    /// Only the SDKs' `statesandservices`.
    Sdk,
}

/// How the mock writes the `Location` header of a 202 leads page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LocationForm {
    /// The documented relative form: `/leads/{accountname}?next=N`.
    #[default]
    Relative,
    /// An absolute URL on the mock: `http://127.0.0.1:<port>/api/m2m/v1/leads/{accountname}?next=N`.
    Absolute,
}

/// How the mock behaves.
#[derive(Clone)]
#[non_exhaustive]
pub struct MockConfig {
    /// Accepted client id.
    pub client_id: String,
    /// Accepted client secret.
    pub client_secret: String,
    /// Accepted UWS username.
    pub username: String,
    /// Accepted UWS password.
    pub password: String,
    /// Lifetime of bearer tokens.
    pub token_ttl: Duration,
    /// Lifetime of M2M sessions.
    pub session_ttl: Duration,
    /// Whether the login response says `expiresIn` (the real one may not).
    pub send_session_expiry: bool,
    /// Leads per page (the real service sends at most 1,000).
    pub leads_page_size: usize,
    /// The form of the `Location` header on 202 leads pages.
    pub location_form: LocationForm,
    /// How long the mock takes to answer each leads page (server latency).
    pub leads_latency: Duration,
    /// With [`LocationForm::Absolute`], the scheme and host the `Location` names instead of the
    /// mock's own (such as another server's `http://127.0.0.2:<port>`), to test that no client
    /// follows it there.
    pub location_origin: Option<String>,
    /// How managed-accounts responses are spelled.
    pub managed_spelling: ManagedSpelling,
    /// Which states-and-services paths are served (the other answers 404).
    pub states_paths: StatesPaths,
    /// Operator Connect: the Entra app's client id.
    pub oc_client_id: String,
    /// Operator Connect: the Entra app's client secret.
    pub oc_client_secret: String,
    /// Operator Connect: the scope the Entra token endpoint accepts.
    pub oc_scope: String,
    /// Operator Connect: lifetime of Entra tokens.
    pub oc_token_ttl: Duration,
    /// Operator Connect: how many leads the operator has.
    pub oc_lead_count: usize,
    /// Operator Connect: the most leads a page holds, whatever `PageSize` asked for (a service
    /// with a lower cap than documented).
    pub oc_max_page_size: usize,
    /// Operator Connect: serve the first page whatever `PageNumber` says (a broken service).
    pub oc_ignore_page_number: bool,
    /// Operator Connect: how long a conversion's task runs before it finishes.
    pub oc_task_delay: Duration,
    /// How an expired or unknown session is refused.
    pub session_refusal: SessionRefusal,
    /// Which go-to-state paths are served (`Document`: `goToState`; `Sdk`: `gotostate`; the
    /// other answers 404).
    pub go_to_state_paths: StatesPaths,
    /// Routes of your own, served beside the mock's behind its ThingSpace credential check
    /// (bearer token and session), for testing a family outside this repository end to end.
    pub routes: Option<axum::Router>,
    /// How long after accepting an asynchronous request the mock posts its first callback.
    pub callback_delay: Duration,
    /// How long the mock waits before sending a refused callback again (the real service
    /// waits 5 minutes).
    pub callback_retry_interval: Duration,
    /// The UWS users of managed accounts, by account: `(username, password)`. Such an account
    /// is provisioned and cancelled only with its own user's session, as the real service
    /// requires; the default user is the primary accounts' user.
    pub managed_users: HashMap<String, (String, String)>,
}

/// How the mock refuses a request whose `VZ-M2M-Token` session is expired or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionRefusal {
    /// As documented: 400 with `errorCode` `UnifiedWebService.REQUEST_FAILED.SessionToken.Expired`.
    #[default]
    Documented,
    /// 401 with ThingSpace's envelope (code `UnauthorizedAccess`).
    Unauthorized,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            username: USERNAME.into(),
            password: PASSWORD.into(),
            token_ttl: Duration::from_secs(3600),
            session_ttl: Duration::from_secs(20 * 60),
            send_session_expiry: true,
            leads_page_size: 1000,
            location_form: LocationForm::Relative,
            leads_latency: Duration::ZERO,
            location_origin: None,
            managed_spelling: ManagedSpelling::Document,
            states_paths: StatesPaths::Both,
            oc_client_id: OC_CLIENT_ID.into(),
            oc_client_secret: OC_CLIENT_SECRET.into(),
            oc_scope: OC_SCOPE.into(),
            oc_token_ttl: Duration::from_secs(3600),
            oc_lead_count: 25,
            oc_max_page_size: 20_000,
            oc_ignore_page_number: false,
            oc_task_delay: Duration::from_millis(50),
            session_refusal: SessionRefusal::Documented,
            go_to_state_paths: StatesPaths::Both,
            routes: None,
            callback_delay: Duration::from_millis(20),
            callback_retry_interval: Duration::from_millis(50),
            managed_users: HashMap::new(),
        }
    }
}

impl MockConfig {
    /// Bearer tokens live `ttl` (whole seconds are announced, at least 1).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Sessions live `ttl`.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// Leads per page.
    pub fn leads_page_size(mut self, size: usize) -> Self {
        self.leads_page_size = size.max(1);
        self
    }

    /// The form of the `Location` header of leads pages.
    pub fn location_form(mut self, form: LocationForm) -> Self {
        self.location_form = form;
        self
    }

    /// Serves only some spellings of the states-and-services path.
    pub fn states_paths(mut self, paths: StatesPaths) -> Self {
        self.states_paths = paths;
        self
    }

    /// Each leads page takes `latency` to answer.
    pub fn leads_latency(mut self, latency: Duration) -> Self {
        self.leads_latency = latency;
        self
    }

    /// Absolute `Location` headers name `origin` (such as `http://127.0.0.2:8080`).
    pub fn location_origin(mut self, origin: impl Into<String>) -> Self {
        self.location_form = LocationForm::Absolute;
        self.location_origin = Some(origin.into());
        self
    }

    /// How managed-accounts responses are spelled.
    pub fn managed_spelling(mut self, spelling: ManagedSpelling) -> Self {
        self.managed_spelling = spelling;
        self
    }

    /// Entra tokens live `ttl`.
    pub fn oc_token_ttl(mut self, ttl: Duration) -> Self {
        self.oc_token_ttl = ttl;
        self
    }

    /// The operator has `count` Operator Connect leads.
    pub fn oc_lead_count(mut self, count: usize) -> Self {
        self.oc_lead_count = count;
        self
    }

    /// Operator Connect pages hold at most `max` leads, whatever `PageSize` asked for.
    pub fn oc_max_page_size(mut self, max: usize) -> Self {
        self.oc_max_page_size = max;
        self
    }

    /// Operator Connect listings serve the first page whatever `PageNumber` says.
    pub fn oc_ignore_page_number(mut self, ignore: bool) -> Self {
        self.oc_ignore_page_number = ignore;
        self
    }

    /// Whether the login response carries `expiresIn`.
    pub fn send_session_expiry(mut self, send: bool) -> Self {
        self.send_session_expiry = send;
        self
    }

    /// Serves these go-to-state paths only.
    pub fn go_to_state_paths(mut self, paths: StatesPaths) -> Self {
        self.go_to_state_paths = paths;
        self
    }

    /// Managed account `account` has its own UWS user `username` with `password`: only that
    /// user's session provisions or cancels it.
    pub fn managed_user(mut self, account: &str, username: &str, password: &str) -> Self {
        self.managed_users.insert(
            account.to_owned(),
            (username.to_owned(), password.to_owned()),
        );
        self
    }

    /// Refuses expired or unknown sessions this way.
    pub fn session_refusal(mut self, refusal: SessionRefusal) -> Self {
        self.session_refusal = refusal;
        self
    }

    /// Serves `routes` too (paths as the client sends them, such as `/api/m2m/v1/...`), behind
    /// the mock's ThingSpace credential check: a request without a valid bearer token and
    /// session is refused as the real service refuses it, and never reaches them.
    pub fn routes(mut self, routes: axum::Router) -> Self {
        self.routes = Some(routes);
        self
    }

    /// Posts the first callback of an asynchronous request `delay` after accepting it.
    pub fn callback_delay(mut self, delay: Duration) -> Self {
        self.callback_delay = delay;
        self
    }

    /// Sends a refused callback again after `interval`.
    pub fn callback_retry_interval(mut self, interval: Duration) -> Self {
        self.callback_retry_interval = interval;
        self
    }
}

impl fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockConfig")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("token_ttl", &self.token_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("callback_delay", &self.callback_delay)
            .field("callback_retry_interval", &self.callback_retry_interval)
            .finish_non_exhaustive()
    }
}

/// Shared state of a running mock.
pub(crate) struct State {
    pub(crate) config: MockConfig,
    pub(crate) tokens: Mutex<HashMap<String, Instant>>,
    pub(crate) oc_tokens: Mutex<HashMap<String, Instant>>,
    pub(crate) sessions: Mutex<HashMap<String, Instant>>,
    /// The UWS user of each session.
    pub(crate) session_users: Mutex<HashMap<String, String>>,
    /// Managed accounts added, provisioned or cancelled, by (primary, service).
    pub(crate) managed: Mutex<HashMap<(String, String), Vec<subsc::Managed>>>,
    counts: Mutex<HashMap<Route, usize>>,
    faults: Mutex<HashMap<Route, VecDeque<Fault>>>,
    page_faults: Mutex<HashMap<(Route, usize), VecDeque<Fault>>>,
    pub(crate) lead_counts: Mutex<HashMap<String, usize>>,
    /// Callback listeners by (account, service).
    pub(crate) listeners: Mutex<HashMap<(String, String), callbacks::Listener>>,
    /// Provisioning actions taken today, by line (`kind:id` of a device's first identifier).
    pub(crate) line_actions: Mutex<HashMap<String, u32>>,
    /// Devices per account, for the device list.
    pub(crate) device_counts: Mutex<HashMap<String, usize>>,
    /// Accepted asynchronous requests, by request id.
    pub(crate) requests: Mutex<HashMap<String, devices::Accepted>>,
    /// Callback delivery: the HTTP client, queued plans, the record of posts.
    pub(crate) outbox: delivery::Outbox,
    /// Operator Connect onboarding: created leads, conversions, tasks, customers.
    pub(crate) oc: onboarding::Store,
    pub(crate) seq: AtomicU64,
    pub(crate) total: std::sync::atomic::AtomicUsize,
}

/// Locks a mutex, recovering it if a handler panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    /// Counts a request on `route` and returns the fault to apply to it, if any.
    pub(crate) fn arrive(&self, route: Route) -> Option<fault::Injected> {
        self.tally(route);
        let fault = lock(&self.faults).get_mut(&route)?.pop_front()?;
        Some(fault::Injected { route, fault })
    }

    /// Counts a request on `route`, without looking for a fault.
    pub(crate) fn tally(&self, route: Route) {
        *lock(&self.counts).entry(route).or_default() += 1;
    }

    /// Counts a request for page `page` (from 0) of `route` and returns its fault: one queued
    /// for that page first, else one queued for the route.
    pub(crate) fn arrive_page(&self, route: Route, page: usize) -> Option<fault::Injected> {
        let for_page = lock(&self.page_faults)
            .get_mut(&(route, page))
            .and_then(VecDeque::pop_front);
        match for_page {
            Some(fault) => {
                *lock(&self.counts).entry(route).or_default() += 1;
                Some(fault::Injected { route, fault })
            }
            None => self.arrive(route),
        }
    }
}

/// `GET /__mock/counts`: the request counts per route, for a mock in another process.
async fn counts(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
) -> axum::Json<serde_json::Value> {
    let counts = lock(&state.counts);
    let map: serde_json::Map<String, serde_json::Value> = counts
        .iter()
        .map(|(route, n)| (format!("{route:?}"), serde_json::Value::from(*n)))
        .collect();
    axum::Json(serde_json::Value::Object(map))
}

/// Counts every request, whatever its path.
async fn count_all(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    state
        .total
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    next.run(request).await
}

/// A running mock server. Stopped when dropped.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("config", &self.state.config)
            .finish()
    }
}

impl MockServer {
    /// Starts a mock with the default configuration on `127.0.0.1` and an ephemeral port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(MockConfig::default()).await
    }

    /// Starts a mock with `config`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_with(config: MockConfig) -> std::io::Result<Self> {
        Self::start_on(std::net::Ipv4Addr::LOCALHOST, config).await
    }

    /// Starts a mock with `config` on another loopback address, such as `127.0.0.2`.
    ///
    /// # Errors
    /// When the address is not a loopback address or no port can be bound.
    pub async fn start_on(ip: std::net::Ipv4Addr, config: MockConfig) -> std::io::Result<Self> {
        if !ip.is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the mock only listens on loopback addresses",
            ));
        }
        let state = Arc::new(State {
            config,
            tokens: Mutex::default(),
            oc_tokens: Mutex::default(),
            sessions: Mutex::default(),
            session_users: Mutex::default(),
            managed: Mutex::default(),
            counts: Mutex::default(),
            faults: Mutex::default(),
            page_faults: Mutex::default(),
            lead_counts: Mutex::default(),
            listeners: Mutex::default(),
            line_actions: Mutex::default(),
            requests: Mutex::default(),
            device_counts: Mutex::default(),
            outbox: delivery::Outbox::new()?,
            oc: onboarding::Store::default(),
            seq: AtomicU64::new(1),
            total: std::sync::atomic::AtomicUsize::new(0),
        });
        let states_paths = state.config.states_paths;
        let go_to_state_paths = state.config.go_to_state_paths;
        let mut app = Router::new()
            .route("/api/ts/v1/oauth2/token", post(auth::token))
            .route("/api/m2m/v1/session/login", post(auth::login))
            .route("/api/m2m/v1/session/logout", post(auth::logout))
            .route("/api/m2m/v1/accounts/{accountname}", get(m2m::account));
        if states_paths != StatesPaths::Sdk {
            app = app.route(
                "/api/m2m/v1/accounts/{accountname}/stateandservices",
                get(m2m::states_and_services),
            );
        }
        if states_paths != StatesPaths::Document {
            app = app.route(
                "/api/m2m/v1/accounts/{accountname}/statesandservices",
                get(m2m::states_and_services),
            );
        }
        if go_to_state_paths != StatesPaths::Sdk {
            app = app.route(
                "/api/m2m/v1/devices/actions/goToState",
                axum::routing::put(devices::go_to_state),
            );
        }
        if go_to_state_paths != StatesPaths::Document {
            app = app.route(
                "/api/m2m/v1/devices/actions/gotostate",
                axum::routing::put(devices::go_to_state),
            );
        }
        let app = app
            .route("/api/m2m/v1/leads/{accountname}", get(m2m::leads))
            .route(
                "/api/m2m/v1/devices/actions/activate",
                post(devices::activate),
            )
            .route("/api/m2m/v1/devices/actions/list", post(devices::list))
            .route(
                "/api/m2m/v1/accounts/{accountname}/requests/{id}/status",
                get(devices::status),
            )
            .route(
                "/api/m2m/v1/callbacks/{accountname}",
                post(callbacks::register).get(callbacks::list),
            )
            .route(
                "/api/m2m/v1/callbacks/{accountname}/name/{service}",
                axum::routing::delete(callbacks::delete),
            )
            .route(
                "/api/subsc/v1/managedaccounts/{account}/service/{service}",
                get(subsc::managed_accounts),
            )
            .route(
                "/api/subsc/v1/managedaccounts/actions/add",
                post(subsc::add),
            )
            .route(
                "/api/subsc/v1/managedaccounts/actions/provision",
                post(subsc::provision),
            )
            .route(
                "/api/subsc/v1/managedaccounts/actions/cancel",
                post(subsc::cancel),
            )
            .route(
                "/api/subsc/v1/managedaccounts/{account}/service/{service}/status/{status}",
                get(subsc::managed_accounts_with_status),
            )
            .route("/{tenant}/oauth2/v2.0/token", post(oc::token))
            .route(
                "/tenantui/api/v2/oc/lead",
                get(oc::leads)
                    .post(onboarding::create)
                    .patch(onboarding::convert),
            )
            .route("/tenantui/api/v2/task/{id}", get(onboarding::task))
            .route("/tenantui/api/v2/oc/numbers", get(onboarding::numbers_of))
            .route("/tenantui/api/v3/customer", get(onboarding::customers))
            .route("/__mock/counts", get(counts))
            .fallback(fault::not_found)
            .with_state(state.clone());
        let app = match state.config.routes.clone() {
            Some(routes) => app.merge(routes.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require,
            ))),
            None => app,
        }
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_all,
        ));
        let listener = TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "mock server stopped");
            }
        });
        Ok(Self {
            addr,
            state,
            shutdown: Some(tx),
            task,
        })
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The ThingSpace base URL, `http://127.0.0.1:<port>/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The configuration it runs with (credentials included).
    pub fn config(&self) -> &MockConfig {
        &self.state.config
    }

    /// The Operator Connect base URL, `http://127.0.0.1:<port>/tenantui`.
    pub fn oc_base_url(&self) -> String {
        format!("http://{}/tenantui", self.addr)
    }

    /// The Entra-style token URL, `http://127.0.0.1:<port>/<tenant>/oauth2/v2.0/token`.
    pub fn oc_token_url(&self) -> String {
        format!("http://{}/{OC_TENANT}/oauth2/v2.0/token", self.addr)
    }

    /// Configuration pairs (`base_url`, `client_id`, …, `oc.base_url`, …) pointing a client
    /// at this mock, for `ConfigLoader::set`.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let c = &self.state.config;
        vec![
            ("base_url", self.base_url()),
            ("client_id", c.client_id.clone()),
            ("client_secret", c.client_secret.clone()),
            ("username", c.username.clone()),
            ("password", c.password.clone()),
            ("oc.base_url", self.oc_base_url()),
            ("oc.token_url", self.oc_token_url()),
            ("oc.client_id", c.oc_client_id.clone()),
            ("oc.client_secret", c.oc_client_secret.clone()),
            ("oc.scope", c.oc_scope.clone()),
        ]
    }

    /// The Operator Connect leads of the operator, in the order the mock serves them (created
    /// ones last, converted ones with their `umpCustomerGuid`).
    pub fn oc_leads(&self) -> Vec<serde_json::Value> {
        let config = &self.state.config;
        self.state.oc.leads_page(config, 0, usize::MAX)
    }

    /// How many requests reached the mock on any route, unknown paths included.
    pub fn total_requests(&self) -> usize {
        self.state.total.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many requests reached `route` (faulty ones included).
    pub fn count(&self, route: Route) -> usize {
        lock(&self.state.counts).get(&route).copied().unwrap_or(0)
    }

    /// Resets every count to zero.
    pub fn reset_counts(&self) {
        lock(&self.state.counts).clear();
    }

    /// Applies `fault` to the next request on `route` (faults queue up, one per request).
    pub fn inject(&self, route: Route, fault: Fault) {
        self.inject_times(route, fault, 1);
    }

    /// Applies `fault` to the next `times` requests on `route`.
    pub fn inject_times(&self, route: Route, fault: Fault, times: usize) {
        let mut faults = lock(&self.state.faults);
        let queue = faults.entry(route).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Applies `fault` to the next `times` requests for page `page` (from 0) of a paged
    /// route, such as [`Route::Leads`]. Page faults go before the route's own.
    pub fn inject_on_page(&self, route: Route, page: usize, fault: Fault, times: usize) {
        let mut faults = lock(&self.state.page_faults);
        let queue = faults.entry((route, page)).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
        lock(&self.state.page_faults).clear();
    }

    /// Gives `account` exactly `count` leads (generated deterministically from the account
    /// name). Accounts not set here have a small number derived from their name.
    pub fn set_lead_count(&self, account: &str, count: usize) {
        lock(&self.state.lead_counts).insert(account.to_owned(), count);
    }

    /// The leads `account` has, in the order the mock serves them, as JSON values.
    pub fn leads(&self, account: &str) -> Vec<serde_json::Value> {
        let count = self.state.lead_count(account);
        (0..count).map(|i| data::lead(account, i)).collect()
    }

    /// Makes every bearer token issued so far invalid, as if it had expired.
    pub fn expire_tokens(&self) {
        lock(&self.state.tokens).clear();
    }

    /// Makes every Entra token issued so far invalid.
    pub fn expire_oc_tokens(&self) {
        lock(&self.state.oc_tokens).clear();
    }

    /// The callback listener registered for `service` on `account`, if any.
    pub fn listener(&self, account: &str, service: &str) -> Option<Listener> {
        lock(&self.state.listeners)
            .get(&(account.to_owned(), service.to_owned()))
            .cloned()
    }

    /// Gives `account` this many devices, for the device list (none by default).
    pub fn set_device_count(&self, account: &str, count: usize) {
        lock(&self.state.device_counts).insert(account.to_owned(), count);
    }

    /// The devices `account` has, in the order the mock serves them, as JSON values.
    pub fn devices(&self, account: &str) -> Vec<serde_json::Value> {
        let n = lock(&self.state.device_counts)
            .get(account)
            .copied()
            .unwrap_or(0);
        (0..n).map(|i| devices::device(account, i)).collect()
    }

    /// The body of the asynchronous request `request_id`, as the mock received it.
    pub fn request_body(&self, request_id: &str) -> Option<serde_json::Value> {
        lock(&self.state.requests)
            .get(request_id)
            .map(|r| r.body.clone())
    }

    /// Makes every M2M session opened so far invalid, as if it had expired.
    pub fn expire_sessions(&self) {
        lock(&self.state.sessions).clear();
    }

    /// Registers `listener` for `service` on `account`, replacing any, as a `POST` to
    /// `/api/m2m/v1/callbacks/{account}` would (without its checks): for tests and demos.
    pub fn register_listener(&self, account: &str, service: &str, listener: Listener) {
        lock(&self.state.listeners).insert((account.to_owned(), service.to_owned()), listener);
    }

    /// Makes the callbacks of the next accepted request that delivers any (an activation, or a
    /// go-to-state with a `devices` array) misbehave as `plan` says. Plans queue up, one per
    /// request.
    pub fn plan_callbacks(&self, plan: CallbackPlan) {
        self.state.outbox.plan(plan);
    }

    /// Every callback `POST` the mock has made so far, with the answer it got, in the order
    /// the answers came.
    pub fn callback_deliveries(&self) -> Vec<CallbackDelivery> {
        self.state.outbox.deliveries()
    }

    /// Holds every callback delivery (first deliveries and resends) until
    /// [`resume_callbacks`](Self::resume_callbacks): as a service whose callbacks are late, so
    /// a test can start its listener (a rerun of a job, say) before the outcomes arrive.
    pub fn pause_callbacks(&self) {
        self.state.outbox.pause(true);
    }

    /// Lets the deliveries held by [`pause_callbacks`](Self::pause_callbacks) go out.
    pub fn resume_callbacks(&self) {
        self.state.outbox.pause(false);
    }

    /// Waits until no callback delivery is in flight, resends included: `true`, or `false`
    /// when `timeout` passes first.
    pub async fn settle_callbacks(&self, timeout: Duration) -> bool {
        self.state.outbox.settle(timeout).await
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
        self.state.outbox.stop();
    }
}
