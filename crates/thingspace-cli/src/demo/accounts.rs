//! Steps on accounts: the document's example, account names as text, and an account's custom
//! states and services.

use thingspace::{
    m2m::ExtendedAttributes,
    mock::{DOCUMENT_ACCOUNT, Route},
};

use super::{
    ACCOUNT, Demo,
    checks::check,
    print::{json, safe, step},
    states_table,
};
use crate::{
    error::CliError,
    output::{out, outln},
};

/// Gets the document's example account: the token request, the login and the request happen
/// by themselves, one of each.
pub(super) async fn get_the_document_example(demo: &Demo) -> Result<(), CliError> {
    step("Get an account (the document's example): token, login and request happen by themselves")?;
    let account = demo.m2m.accounts().get(DOCUMENT_ACCOUNT).await?;
    json(&account)?;
    let server = &demo.server;
    let (tokens, logins) = (server.count(Route::Token), server.count(Route::Login));
    outln!("token requests: {tokens}, logins: {logins}")?;
    check(
        account.account_name.as_deref() == Some(DOCUMENT_ACCOUNT),
        || {
            format!(
                "asked for {DOCUMENT_ACCOUNT}, got {:?}",
                account.account_name
            )
        },
    )?;
    check((tokens, logins) == (1, 1), || {
        format!("one token request and one login expected, not {tokens} and {logins}")
    })
}

/// Two accounts whose names start with zeros, each with one of the two spellings of a plan's
/// fields: the zeros are kept and both spellings decode.
pub(super) async fn names_are_text(demo: &Demo) -> Result<(), CliError> {
    step("Account names are text: 0000123456 keeps its zeros; both field spellings decode")?;
    for name in [ACCOUNT, "0000123457"] {
        let a = demo.m2m.accounts().get(name).await?;
        let plan = a.service_plans.first();
        outln!(
            "{}: number {}, {} IP pools, first plan sizeKb={:?} extendedAttributes={}",
            safe(a.account_name.as_deref().unwrap_or("?")),
            safe(a.account_number.as_deref().unwrap_or("?")),
            a.ip_pools.len(),
            plan.and_then(|p| p.size_kb_value()),
            match plan.and_then(|p| p.extended_attributes.as_ref()) {
                Some(ExtendedAttributes::List(l)) => format!("{} key/value pairs", l.len()),
                Some(ExtendedAttributes::Text(t)) => safe(format!("text {t:?}")),
                _ => "absent".to_owned(),
            }
        )?;
        check(a.account_name.as_deref() == Some(name), || {
            format!("asked for {name}, got {:?}", a.account_name)
        })?;
        check(!a.ip_pools.is_empty(), || {
            format!("{name}: the IP pools did not decode")
        })?;
    }
    Ok(())
}

/// The custom states and services of an account, as a table.
pub(super) async fn states_and_services(demo: &Demo) -> Result<(), CliError> {
    step("States and services of an account")?;
    let states = demo.m2m.states_and_services().get(ACCOUNT).await?;
    out!("{}", states_table(&states))?;
    check(!states.engagement.is_empty(), || {
        "the states and services have no engagement".to_owned()
    })
}
