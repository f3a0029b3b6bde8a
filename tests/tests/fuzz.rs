//! Fuzzing of every response decoder, the Location parser, the path encoder, the tenant-id
//! check and the environment reader (the CLI's CSV and table writers are fuzzed in the CLI
//! crate, `output::fuzz`).
//!
//! A mutation fuzzer that runs on the stable toolchain: valid seeds are mutated at random
//! (bytes flipped, tokens such as `null` or `1e999` spliced in, ranges cut or doubled) and fed
//! to each target, which must never panic and must keep its invariants. CI runs a short,
//! bounded pass with a fixed seed; run it longer with
//! `cargo xtask fuzz --iterations 200000` (or `THINGSPACE_FUZZ_ITERATIONS` and
//! `THINGSPACE_FUZZ_SEED`). A crash prints the input; add it to `REGRESSIONS` below.

use std::panic::{AssertUnwindSafe, catch_unwind};

use thingspace::{
    Error, Response,
    http::{HeaderMap, HeaderValue, StatusCode, header::LOCATION},
    m2m::{accounts, callbacks, devices, leads, requests, states_and_services},
    oc::leads::{decode_list, validate_tenant_id},
    path::encode_param,
    subsc::managed_accounts,
};

/// The seeds: every committed fixture small enough to mutate quickly, and an HTML page.
fn seeds() -> Vec<&'static str> {
    let mut seeds: Vec<&'static str> = thingspace::mock::fixtures::EMBEDDED
        .iter()
        .map(|(_, text)| *text)
        .filter(|text| text.len() < 10_000)
        .collect();
    seeds.push("<html><body>502 Bad Gateway</body></html>");
    seeds.extend(DEVICE_ACTION_SEEDS);
    seeds.extend(OC_ONBOARDING_SEEDS);
    seeds
}

/// The answers of Operator Connect onboarding: a created lead, a conversion's task id, tasks,
/// numbers, customers, a validation problem (no fixture holds them).
const OC_ONBOARDING_SEEDS: &[&str] = &[
    r#""wst_5f1c2a9b03d84e77""#,
    r#"{"id":"wst_1","status":"CompletedSuccess","details":[],"executionMessages":[{"level":"Info","message":"Customer created"}],"outputData":{"umpCustomerGuid":"3f2504e0-4f89-41d3-9a0c-0305e82c3301"},"createTime":"2024-04-03T13:32:12.8286742","completeTime":"2024-04-03T13:33:00Z"}"#,
    r#"{"id":"wst_2","status":"Failed","executionMessages":["starting",{"level":"Error","message":"Short name is taken"}],"outputData":"{}","createTime":null}"#,
    r#"[{"id":"n1","telephoneNumber":"+15125550100","assignmentStatus":"Unassigned","acquiredCapabilities":["UserAssignment"],"availableCapabilities":"UserAssignment","tenantId":"t","whenCreated":"2024-04-03T13:32:12Z","sbcList":[{"sbcName":"sbc1","sbcId":1}]}]"#,
    r#"[{"UmpCustomerGuid":"c-1","CustomerShortName":"Contoso","CustomerFullName":"Contoso Ltd","LicenseType":"OCEssential","LicensedUsersCount":25,"MsTenantId":"t","ActiveUserCount":"3"}]"#,
    r#"{"type":"https://tools.ietf.org/html/rfc7231#section-6.5.1","title":"One or more validation errors occurred.","status":400,"traceId":"00-1-2-00","errors":{"TenantId":["This MsTenant already exists as an UMP lead!"],"CompanyName":["Company name is already used for an UMP lead."]}}"#,
];

/// The answers of the device actions and callback registrations (no fixture holds them).
const DEVICE_ACTION_SEEDS: &[&str] = &[
    r#"{"hasMoreData":true,"devices":[{"accountName":"0000123456","deviceIds":[{"id":"990013907835573","kind":"imei"}],"carrierInformations":[{"carrierName":"Verizon Wireless","servicePlan":"M2M","state":"active"}],"connected":true,"extendedAttributes":[{"key":"DeviceId","value":"1000007"}],"groupNames":["Fleet"]}]}"#,
    r#"[{"accountName":"0000123456","serviceName":"CarrierService","url":"https://cb.example.com","username":"u","password":"p"}]"#,
    r#"{"requestId":"595f5c44-c31c-4552-8670-020a1545a84d"}"#,
    r#"{"requestId":"595f5c44-c31c-4552-8670-020a1545a84d","status":"Pending"}"#,
    r#"{"username":"u","password":"p-secret","requestId":"595f5c44-c31c-4552-8670-020a1545a84d","deviceIds":[{"id":"990013907835573","kind":"IMEI"}],"deviceResponse":{"activateResponse":{"deviceIds":[{"id":"5551234567","kind":"msisdn"}],"servicePlan":"M2M"}},"status":"Success","callbackCount":1,"maxCallbackThreshold":4}"#,
    r#"{"requestId":"r","deviceIds":[{"id":"1","kind":"imei"}],"status":"Failed","faultResponse":{"faultcode":"UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive","faultstring":"active"},"callbackCount":"2"}"#,
    r#"{"txid":"8f3a","statusList":[{"id":"1223334444-00001","status":"Success","reason":""},{"id":"1223334444-00002","status":"Fail","reason":"already managed"}]}"#,
    r#"{"TxId":"8f3a","accountName":"1223334444-00001","paccountName":"2024009649-00001","serviceName":"Location","status":"Fail","reason":"Unknown transaction id"}"#,
];

const TOKENS: &[&str] = &[
    "null",
    "[]",
    "{}",
    "\"\"",
    "-1",
    "1e999",
    "-0",
    "99999999999999999999999",
    "\"\\u0000\"",
    "true",
    ",",
    ":",
    "\"",
    "\\",
    "é",
    "\u{202e}",
    "[[[[[[[[",
    "}}}}",
    "\"2024-13-45T99:99:99Z\"",
    "\"Suspended\"",
    "0.5",
];

/// Regressions found by earlier runs (none so far); they run first, every time.
const REGRESSIONS: &[&str] = &[];

fn iterations() -> usize {
    std::env::var("THINGSPACE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500)
}

fn rng() -> fastrand::Rng {
    let seed = std::env::var("THINGSPACE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7153_9ace);
    fastrand::Rng::with_seed(seed)
}

fn mutate(rng: &mut fastrand::Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.usize(1..=4) {
        let len = out.len();
        match rng.u8(0..6) {
            0 if len > 0 => {
                let i = rng.usize(0..len);
                out[i] = rng.u8(..);
            }
            1 => {
                let token = TOKENS[rng.usize(0..TOKENS.len())].as_bytes();
                let at = rng.usize(0..=len);
                out.splice(at..at, token.iter().copied());
            }
            2 if len > 0 => {
                let a = rng.usize(0..len);
                let b = rng.usize(a..=len.min(a + 16));
                out.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.usize(0..len);
                let b = rng.usize(a..=len.min(a + 32));
                let copy = out[a..b].to_vec();
                out.splice(b..b, copy);
            }
            4 => out.truncate(rng.usize(0..=len)),
            _ => {
                let at = rng.usize(0..=len);
                out.insert(at, rng.u8(..));
            }
        }
    }
    out
}

/// Runs `target` on every regression and on `iterations()` mutants; a panic fails the test and
/// prints the input that caused it.
fn fuzz(name: &str, target: impl FnMut(&[u8])) {
    let mut rng = rng();
    let mut inputs: Vec<Vec<u8>> = REGRESSIONS.iter().map(|r| r.as_bytes().to_vec()).collect();
    let seeds = seeds();
    inputs.extend(seeds.iter().map(|s| s.as_bytes().to_vec()));
    for _ in 0..iterations() {
        let seed = seeds[rng.usize(0..seeds.len())].as_bytes();
        inputs.push(mutate(&mut rng, seed));
    }
    run(name, inputs, target);
}

/// Runs `target` on every regression and on `iterations()` inputs made by `generate`.
fn fuzz_generated(
    name: &str,
    mut generate: impl FnMut(&mut fastrand::Rng) -> String,
    target: impl FnMut(&[u8]),
) {
    let mut rng = rng();
    let mut inputs: Vec<Vec<u8>> = REGRESSIONS.iter().map(|r| r.as_bytes().to_vec()).collect();
    inputs.extend((0..iterations()).map(|_| generate(&mut rng).into_bytes()));
    run(name, inputs, target);
}

/// Runs `target` on each input; a panic fails the test and prints the input that caused it.
fn run(name: &str, inputs: Vec<Vec<u8>>, mut target: impl FnMut(&[u8])) {
    for input in inputs {
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            panic!(
                "{name} panicked on input {:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}

fn response(status: u16, headers: HeaderMap, body: &[u8]) -> Response {
    Response::new(
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers,
        body.to_vec(),
    )
}

/// Every decode error is typed and its display bounded, whatever the body.
fn check_error(e: &Error) {
    let text = e.to_string();
    assert!(
        text.len() < 4_096,
        "an error's text stays bounded: {} bytes",
        text.len()
    );
    if let Some(s) = e.body_snippet() {
        assert!(s.len() <= thingspace::error::SNIPPET_LIMIT + 3);
    }
}

#[test]
fn fuzz_account_decoder() {
    fuzz("account", |body| {
        if let Err(e) = accounts::decode_get(&response(200, HeaderMap::new(), body)) {
            // Not the answer: a decode error, or the service's error when it is an envelope.
            assert!(e.is_decode() || e.api_code().is_some(), "{e:?}");
            check_error(&e);
        }
    });
}

#[test]
fn fuzz_states_and_services_decoder() {
    fuzz("states and services", |body| {
        if let Err(e) = states_and_services::decode_get(&response(200, HeaderMap::new(), body)) {
            // Not the answer: a decode error, or the service's error when it is an envelope.
            assert!(e.is_decode() || e.api_code().is_some(), "{e:?}");
            check_error(&e);
        }
    });
}

#[test]
fn fuzz_leads_page_decoder() {
    let mut rng = rng();
    fuzz("leads page", |body| {
        let mut headers = HeaderMap::new();
        let location = format!("/leads/x?next={}", rng.i64(..));
        if let Ok(v) = HeaderValue::from_str(&location) {
            headers.insert(LOCATION, v);
        }
        let status = if rng.bool() { 200 } else { 202 };
        match leads::decode_list(&response(status, headers, body)) {
            Ok(page) => assert!(!page.has_more || page.next.is_some()),
            Err(e) => check_error(&e),
        }
    });
}

#[test]
fn fuzz_device_list_decoder() {
    let mut rng = rng();
    fuzz("device list page", |body| {
        let status = if rng.bool() { 200 } else { 202 };
        match devices::decode_list(&response(status, HeaderMap::new(), body)) {
            // A page that says more follow has a cursor, or the listing stops with an error.
            Ok(page) => assert!(page.has_more || page.next.is_none()),
            Err(e) => check_error(&e),
        }
    });
}

#[test]
fn fuzz_device_action_and_callback_decoders() {
    fuzz("device actions and callbacks", |body| {
        let r = response(200, HeaderMap::new(), body);
        if let Ok(id) = devices::decode_activate(&r) {
            assert!(!id.request_id.trim().is_empty());
        }
        for e in [
            devices::decode_activate(&r).err(),
            requests::decode_status(&r).err(),
            callbacks::decode_list(&r).err(),
            callbacks::decode_register(&r).err(),
        ]
        .into_iter()
        .flatten()
        {
            check_error(&e);
        }
    });
}

/// What ThingSpace posts to a listener: decoded or refused with a reason that quotes nothing
/// from the body, and, once decoded, kept by the tracker and written as one line without the
/// password.
#[test]
fn fuzz_posted_callback_decoder() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let tracker = thingspace::callbacks::Tracker::new().hold_at_most(1_000);
    fuzz(
        "posted callbacks",
        |body| match thingspace::callbacks::decode_callback(body) {
            Ok(callback) => {
                assert!(!callback.request_id.trim().is_empty() && !callback.device_ids.is_empty());
                let line = callback.to_json_line();
                assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
                let written: serde_json::Value =
                    serde_json::from_slice(&line).expect("the line is JSON");
                assert!(written.get("password").is_none(), "{written}");
                let _ = runtime.block_on(thingspace::callbacks::Sink::accept(&tracker, &callback));
            }
            Err(e) => {
                assert!(!e.reason.is_empty());
                assert!(!e.reason.contains("p-secret"), "{e}");
            }
        },
    );
}

#[test]
fn fuzz_managed_accounts_decoder() {
    fuzz("managed accounts", |body| {
        let r = response(200, HeaderMap::new(), body);
        if let Err(e) = managed_accounts::decode_list(&r, None) {
            check_error(&e);
        }
        match managed_accounts::actions::decode_add(&r) {
            Ok(added) => assert!(!added.txid.trim().is_empty()),
            Err(e) => check_error(&e),
        }
        match managed_accounts::actions::decode_action(
            &r,
            managed_accounts::actions::PROVISION_MANAGED_ACCOUNT,
        ) {
            Ok(action) => assert!(
                action
                    .status
                    .as_deref()
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case("success")),
                "only a Success is a success"
            ),
            Err(e) => check_error(&e),
        }
    });
}

#[test]
fn fuzz_oc_leads_decoder() {
    fuzz("oc leads", |body| {
        match decode_list(&response(200, HeaderMap::new(), body), 1) {
            Ok(page) => assert_eq!(page.has_more, !page.items.is_empty()),
            Err(e) => check_error(&e),
        }
    });
}

#[test]
fn fuzz_oc_onboarding_decoders() {
    use thingspace::oc::{
        OcErrorExt, ValidationProblem, customers,
        leads::{decode_convert, decode_create, decode_create_error, validate_short_name},
        numbers, tasks,
    };
    let shown = |text: &str| {
        assert!(!text.contains(char::is_control), "{text:?}");
        assert!(text.len() < 64 * 1024, "{} bytes", text.len());
    };
    fuzz("oc onboarding", |body| {
        let r = response(200, HeaderMap::new(), body);
        // A 200 to a create is a success, whatever its body.
        assert!(decode_create(&r).is_ok());
        match decode_convert(&r) {
            Ok(task) => assert!(
                !task.as_str().trim().is_empty() && !task.as_str().contains(char::is_control)
            ),
            Err(e) => check_error(&e),
        }
        match tasks::decode_get(&r) {
            Ok(task) => {
                assert!(task.status.is_some(), "a task has a status");
                task.execution_messages
                    .iter()
                    .for_each(|m| shown(&m.to_string()));
            }
            Err(e) => check_error(&e),
        }
        match numbers::decode_list(&r) {
            Ok(list) => assert!(!list.contains(&Default::default())),
            Err(e) => check_error(&e),
        }
        match customers::decode_list(&r) {
            Ok(list) => assert!(!list.contains(&Default::default())),
            Err(e) => check_error(&e),
        }
        if let Some(problem) = ValidationProblem::from_body(body) {
            assert!(!problem.errors.is_empty() && problem.errors.len() <= 32);
            shown(&problem.to_string());
        }
        let refused = decode_create_error(Error::from_response(
            "oc.leads.create",
            &response(400, HeaderMap::new(), body),
        ));
        check_error(&refused);
        if let Some(exists) = refused.lead_already_exists() {
            assert!(exists.tenant_exists() || exists.company_exists());
            shown(&exists.to_string());
        }
        if let Ok(text) = std::str::from_utf8(body)
            && validate_short_name(text).is_ok()
        {
            assert!(
                (3..=15).contains(&text.len())
                    && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "{text:?}"
            );
        }
    });
}

#[test]
fn fuzz_error_envelopes() {
    let mut rng = rng();
    fuzz("error envelope", |body| {
        let status = [400, 401, 403, 404, 429, 500, 502, 503][rng.usize(0..8)];
        check_error(&Error::from_response(
            "fuzz",
            &response(status, HeaderMap::new(), body),
        ));
    });
}

#[test]
fn fuzz_location_parser() {
    fuzz("location", |bytes| {
        let text = String::from_utf8_lossy(bytes);
        for candidate in [
            text.to_string(),
            format!("/leads/a?next={text}"),
            format!("https://h/x?{text}"),
        ] {
            // Through the page decoder, as every Location arrives: a page that says more
            // follow either has its cursor or ends the listing with its leads kept.
            let mut headers = HeaderMap::new();
            let Ok(value) = HeaderValue::from_str(&candidate) else {
                continue;
            };
            headers.insert(LOCATION, value);
            let page = leads::decode_list(&response(
                202,
                headers,
                br#"{"hasMoreData":true,"leads":[{"leadId":"1"}]}"#,
            ))
            .expect("a 202 page decodes whatever its Location");
            assert_eq!(page.items.len(), 1, "{candidate:?}");
            assert!(page.has_more);
        }
    });
}

/// Pieces of path parameters a user may type or paste: each is accepted, inside a value.
const SAFE_PATH_PIECES: &[&str] = &[
    "a", "Z", "0", "9", "-", "_", ".", "~", "%", "%2F", "%2e", "%25", "%%", "?", "#", " ", "&",
    "=", "+", ":", "@", "é", "中", "😀", "..", "'", "\"", "{", "}",
];

/// Pieces a path parameter is refused for: separators, controls, invisible characters.
const REFUSED_PATH_PIECES: &[&str] = &[
    "/", "\\", "\t", "\n", "\r", "\0", "\u{7f}", "\u{85}", "\u{202e}", "\u{feff}", "\u{200b}",
];

/// A path parameter: mostly pieces that are accepted, sometimes one that is refused or any
/// character at all, sometimes far too long.
fn path_candidate(rng: &mut fastrand::Rng) -> String {
    let mut value = String::new();
    for _ in 0..rng.usize(0..=12) {
        match rng.u8(0..20) {
            0 => value.push(rng.char(..)),
            1 => value.push_str(REFUSED_PATH_PIECES[rng.usize(0..REFUSED_PATH_PIECES.len())]),
            _ => value.push_str(SAFE_PATH_PIECES[rng.usize(0..SAFE_PATH_PIECES.len())]),
        }
    }
    if rng.u8(0..20) == 0 {
        value = value.repeat(rng.usize(20..60));
    }
    value
}

/// Whether `value` is made of [`SAFE_PATH_PIECES`] only.
fn only_safe_pieces(value: &str) -> bool {
    let mut rest = value;
    while !rest.is_empty() {
        let Some(piece) = SAFE_PATH_PIECES
            .iter()
            .filter(|p| rest.starts_with(**p))
            .max_by_key(|p| p.len())
        else {
            return false;
        };
        rest = &rest[piece.len()..];
    }
    true
}

#[test]
fn fuzz_path_encoder() {
    let (mut accepted, mut total) = (0usize, 0usize);
    fuzz_generated("path", path_candidate, |bytes| {
        let value = String::from_utf8_lossy(bytes);
        total += 1;
        match encode_param("accountname", &value) {
            Ok(encoded) => {
                accepted += 1;
                assert!(
                    encoded
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)),
                    "only unreserved characters and escapes: {encoded}"
                );
                let escapes_well_formed = encoded.match_indices('%').all(|(i, _)| {
                    encoded.as_bytes()[i + 1..]
                        .iter()
                        .take(2)
                        .filter(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
                        .count()
                        == 2
                });
                assert!(escapes_well_formed, "every `%` starts an escape: {encoded}");
                assert_ne!(encoded, ".");
                assert_ne!(encoded, "..");
                assert_eq!(
                    percent_decode(&encoded),
                    value.as_bytes(),
                    "the server gets back exactly the value"
                );
                assert!(
                    !value.contains(['/', '\\']) && !value.chars().any(char::is_control),
                    "a separator or a control character accepted: {value:?}"
                );
                assert!(value.len() <= thingspace::path::MAX_PARAM_LEN);
            }
            Err(e) => {
                assert_eq!(e.kind(), thingspace::ErrorKind::InvalidInput, "{e}");
                check_error(&e);
                let typed = only_safe_pieces(&value)
                    && value.trim() == value
                    && !value.is_empty()
                    && value != "."
                    && value != ".."
                    && value.len() <= thingspace::path::MAX_PARAM_LEN;
                assert!(!typed, "a value a user may type refused: {value:?}: {e}");
            }
        }
    });
    assert!(
        accepted * 4 >= total,
        "too few inputs reach the encoder's assertions: {accepted} of {total}"
    );
}

/// A tenant id: a GUID in either case, often broken in one way (a dash moved, a character
/// changed, added or removed, text around it, groups of other lengths).
fn tenant_id_candidate(rng: &mut fastrand::Rng) -> String {
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    let mut id: Vec<char> = (0..36)
        .map(|i| {
            if [8, 13, 18, 23].contains(&i) {
                '-'
            } else {
                char::from(HEX[rng.usize(0..HEX.len())])
            }
        })
        .collect();
    let odd = ['g', 'G', '-', '{', '}', ' ', '\0', 'é', '0', '\u{ff10}'];
    for _ in 0..rng.usize(0..=2) {
        let len = id.len();
        match rng.u8(0..7) {
            0 if len > 1 => {
                let dash = [8, 13, 18, 23][rng.usize(0..4)].min(len - 2);
                id.swap(dash, dash + 1);
            }
            1 if len > 0 => {
                let i = rng.usize(0..len);
                id[i] = if rng.bool() {
                    odd[rng.usize(0..odd.len())]
                } else {
                    rng.char(..)
                };
            }
            2 if len > 0 => {
                id.remove(rng.usize(0..len));
            }
            3 => {
                let c = char::from(HEX[rng.usize(0..HEX.len())]);
                id.insert(rng.usize(0..=len), c);
            }
            4 => {
                let text = ["&PageSize=1", " ", "{", "}", "-", "\n"][rng.usize(0..6)];
                let at = if rng.bool() { 0 } else { len };
                id.splice(at..at, text.chars());
            }
            5 => {
                // Five hex groups of any lengths.
                id = (0..5)
                    .map(|_| {
                        (0..rng.usize(0..=13))
                            .map(|_| char::from(HEX[rng.usize(0..HEX.len())]))
                            .collect::<String>()
                    })
                    .collect::<Vec<_>>()
                    .join("-")
                    .chars()
                    .collect();
            }
            _ => {}
        }
    }
    id.into_iter().collect()
}

/// Whether `id` is a GUID: 8-4-4-4-12 hex digits.
fn is_guid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

#[test]
fn fuzz_tenant_ids() {
    let (mut accepted, mut refused) = (0usize, 0usize);
    fuzz_generated("tenant id", tenant_id_candidate, |bytes| {
        let id = String::from_utf8_lossy(bytes);
        match validate_tenant_id(&id) {
            Ok(()) => {
                accepted += 1;
                assert!(is_guid(&id), "accepted, but not 8-4-4-4-12 hex: {id:?}");
            }
            Err(e) => {
                refused += 1;
                assert!(!is_guid(&id), "a GUID refused: {id:?}: {e}");
                assert_eq!(e.kind(), thingspace::ErrorKind::InvalidInput, "{e}");
                assert!(!e.to_string().chars().any(char::is_control), "{e:?}");
                check_error(&e);
            }
        }
    });
    let total = accepted + refused;
    assert!(
        accepted * 10 >= total && refused * 10 >= total,
        "both answers are exercised: {accepted} accepted, {refused} refused"
    );
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Names of environment variables: this program's (and near misses), and others.
const ENV_KEYS: &[&[u8]] = &[
    b"THINGSPACE_BASE_URL",
    b"THINGSPACE_TOKEN_URL",
    b"THINGSPACE_CLIENT_ID",
    b"THINGSPACE_CLIENT_SECRET",
    b"THINGSPACE_USERNAME",
    b"THINGSPACE_PASSWORD",
    b"THINGSPACE_SCOPE",
    b"THINGSPACE_TIMEOUT_SECS",
    b"THINGSPACE_MAX_BODY_BYTES",
    b"THINGSPACE_RETRY__MAX_ATTEMPTS",
    b"THINGSPACE_RETRY__INITIAL_BACKOFF_MS",
    b"THINGSPACE_RETRY__MAX_BACKOFF_MS",
    b"THINGSPACE_RETRY__DEADLINE_SECS",
    b"THINGSPACE_RETRY_MAX_ATTEMPTS",
    b"THINGSPACE_RETRY",
    b"THINGSPACE_OC__BASE_URL",
    b"THINGSPACE_OC__TOKEN_URL",
    b"THINGSPACE_OC__CLIENT_ID",
    b"THINGSPACE_OC__CLIENT_SECRET",
    b"THINGSPACE_OC__SCOPE",
    b"THINGSPACE_OC__RETRY__MAX_ATTEMPTS",
    b"THINGSPACE_OC_CLIENT_ID",
    b"THINGSPACE_PROFILES__OPS__USERNAME",
    b"THINGSPACE_PROFILES__OPS__PASSWORD",
    b"THINGSPACE_PASSWORD__X",
    b"THINGSPACE_LOG",
    b"THINGSPACE_",
    b"THINGSPACE___",
    b"THINGSPACE_.",
    b"thingspace_password",
    b"FOO",
    b"PATH",
    b"\xffTHINGSPACE_X",
];

/// Values of environment variables, mutated before use.
const ENV_VALUES: &[&[u8]] = &[
    b"",
    b" ",
    b"0",
    b"-1",
    b"1e999",
    b"NaN",
    b"inf",
    b"0.25",
    b"18446744073709551616",
    b"0000123456",
    b"https://me:pw@h:99999/api",
    b"http://127.0.0.1:1/api",
    b"https://[::1/api",
    b"https://h/api?x=1#f",
    b"not a url",
    b"true",
    b"[1]",
    b"{a=1}",
    b"\xff\xfe",
    b"a\0b",
    b"\x1b[31m",
    "é\u{202e}".as_bytes(),
];

/// What every value of a secret carries, to be looked for in what is printed.
const SECRET_MARK: &[u8] = b"s3cr3t-";

/// An environment: a few variables, names mostly this program's, values anything (invalid
/// UTF-8 included); the values of secrets are marked. `THINGSPACE_CONFIG` is left out: it
/// names a file to read.
fn environment(rng: &mut fastrand::Rng) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut vars = Vec::new();
    for _ in 0..rng.usize(0..=6) {
        let key = match rng.u8(0..10) {
            0 => (0..rng.usize(0..12)).map(|_| rng.u8(..)).collect(),
            1 => {
                let mut key = b"THINGSPACE_".to_vec();
                key.extend((0..rng.usize(0..8)).map(|_| rng.u8(..)));
                key
            }
            _ => ENV_KEYS[rng.usize(0..ENV_KEYS.len())].to_vec(),
        };
        if key == b"THINGSPACE_CONFIG" {
            continue;
        }
        let base = ENV_VALUES[rng.usize(0..ENV_VALUES.len())];
        let mut value = if rng.bool() {
            mutate(rng, base)
        } else {
            base.to_vec()
        };
        let upper = String::from_utf8_lossy(&key).to_ascii_uppercase();
        if upper.contains("SECRET") || upper.contains("PASSWORD") {
            value.splice(0..0, SECRET_MARK.iter().copied());
        }
        vars.push((key, value));
    }
    vars
}

/// The environment reader, on variables as the operating system gives them (any bytes, through
/// `ConfigLoader::env_vars_os`, never the process's own environment): it never panics, fails
/// only with `ErrorKind::Config`, and never prints a secret's value.
#[cfg(unix)]
#[test]
fn fuzz_environment_reader() {
    use std::{ffi::OsString, os::unix::ffi::OsStringExt};
    use thingspace::{ConfigLoader, oc::OcConfig};

    let mark = String::from_utf8_lossy(SECRET_MARK).into_owned();
    let no_secret = |what: &str, text: String| {
        assert!(!text.contains(&mark), "a secret in {what}: {text}");
    };
    let check = |e: &Error| {
        assert_eq!(e.kind(), thingspace::ErrorKind::Config, "{e}");
        check_error(e);
        no_secret("an error", format!("{e} {e:?}"));
    };
    let (mut settings, mut refused) = (0usize, 0usize);
    let mut rng = rng();
    for _ in 0..iterations() {
        let vars = environment(&mut rng);
        let input = format!(
            "{:?}",
            vars.iter()
                .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v)))
                .collect::<Vec<_>>()
        );
        let os_vars = vars
            .into_iter()
            .map(|(k, v)| (OsString::from_vec(k), OsString::from_vec(v)));
        let read = catch_unwind(AssertUnwindSafe(|| {
            let loaded = ConfigLoader::new()
                .without_default_file()
                .env_vars_os(os_vars)
                .load();
            let loaded = match loaded {
                Ok(loaded) => loaded,
                Err(e) => return check(&e),
            };
            no_secret("the loaded layers", format!("{loaded:?}"));
            match loaded.thingspace() {
                Ok(config) => {
                    settings += 1;
                    no_secret("the settings", format!("{config:?}"));
                }
                Err(e) => {
                    refused += 1;
                    check(&e);
                }
            }
            match OcConfig::load(&loaded) {
                Ok(oc) => no_secret("the OC settings", format!("{oc:?}")),
                Err(e) => check(&e),
            }
        }));
        assert!(read.is_ok(), "the environment reader failed on {input}");
    }
    eprintln!("environments: {settings} read, {refused} refused");
    if iterations() >= 100 {
        assert!(
            settings * 10 >= iterations() && refused * 10 >= iterations(),
            "both answers are exercised: {settings} read, {refused} refused"
        );
    }
}
