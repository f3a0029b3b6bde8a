//! URLs: joining a path to a base, showing a URL without the credentials it may hold, and
//! refusing to send credentials where they would travel in clear.

use url::{Host, Url};

use crate::error::{Error, ErrorKind, Result};

/// Whether `url` carries a user name or a password.
pub(crate) fn holds_credentials(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// `url` as text for `Debug` and messages, with any user name and password in it replaced
/// by `***` (a URL can carry them, and they must never be printed).
///
/// ```
/// let url = thingspace_core::url::Url::parse("https://me:pw@example.com/api").unwrap();
/// assert_eq!(thingspace_core::urls::url_for_display(&url), "https://***@example.com/api");
/// ```
pub fn url_for_display(url: &Url) -> String {
    if !holds_credentials(url) {
        return url.as_str().to_owned();
    }
    let mut shown = url.clone();
    // Setting these fails only for URLs that cannot have them, which have none.
    let _ = shown.set_password(None);
    let _ = shown.set_username("***");
    shown.as_str().to_owned()
}

/// Refuses the URL setting `key` when it holds a user name or password: credentials belong in
/// their own settings, where they are kept secret, not in a URL that gets printed and logged.
///
/// # Errors
/// [`ErrorKind::Config`] naming `key`, never quoting the URL's
/// credentials.
pub fn no_credentials_in_url(key: &str, url: &Url) -> Result<()> {
    if !holds_credentials(url) {
        Ok(())
    } else {
        Err(Error::config(format!(
            "`{key}` must not hold a user name or password ({}): put credentials in their own settings",
            url_for_display(url)
        )))
    }
}

/// Refuses the base-URL setting `key` when it could not serve as a base: it holds a user name
/// or password (see [`no_credentials_in_url`]), a query or a fragment (every request's path is
/// appended to it, and a query would end up before the path).
///
/// # Errors
/// [`ErrorKind::Config`] naming `key`, never quoting the URL's credentials.
pub fn usable_base_url(key: &str, url: &Url) -> Result<()> {
    no_credentials_in_url(key, url)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "`{key}` must not have a query or a fragment ({}): it is the base every request's path is appended to",
            url_for_display(url)
        )));
    }
    Ok(())
}

/// Appends a relative path to a base URL, keeping the base's own path (`.../api` + `x` = `.../api/x`).
pub(crate) fn join(base: &Url, rest: &str) -> Result<Url> {
    let s = format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        rest.trim_start_matches('/')
    );
    Url::parse(&s).map_err(|e| Error::config(format!("invalid URL `{s}`: {e}")).with_source(e))
}

/// Refuses to send credentials anywhere but over https, or over http to a loopback address.
///
/// # Errors
/// [`ErrorKind::Insecure`] for any other URL.
pub(crate) fn ensure_secure(url: &Url) -> Result<()> {
    if holds_credentials(url) {
        return Err(Error::new(
            ErrorKind::Insecure,
            format!(
                "refusing a URL that holds a user name or password ({})",
                url_for_display(url)
            ),
        ));
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Insecure,
            format!(
                "refusing to send credentials to {}://{}: use https (plain http is allowed only to a loopback address)",
                url.scheme(),
                url.host_str().unwrap_or("")
            ),
        ))
    }
}
