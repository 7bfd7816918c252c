//! Which notify URLs set-notify-config accepts: HTTPS without a query string
//! (partner page 4015781286), and — the sandbox's one addition, so a brand can
//! receive notifications on its own machine — plain HTTP to a loopback host.

use std::net::IpAddr;

use reqwest::Url;

/// Why `url` cannot be a notify URL, if it cannot.
pub fn problem(url: &str) -> Option<String> {
    let parsed = match Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Some(format!("not a URL ({e})")),
    };
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Some("must not carry a query string or fragment".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("must not carry user information".into());
    }
    let Some(host) = parsed.host_str() else {
        return Some("has no host".into());
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => None,
        "http" if loopback => None,
        "http" => {
            Some("must be HTTPS (plain HTTP only to a loopback host such as 127.0.0.1)".into())
        }
        other => Some(format!("scheme {other:?} is not HTTPS")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback_never_a_query() {
        for ok in [
            "https://www.example.com/notify",
            "http://127.0.0.1:8080/notify",
            "http://[::1]:9/n",
            "http://localhost/n",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
        for bad in [
            "http://www.example.com/notify",
            "http://10.0.0.1/n",
            "https://www.example.com/notify?a=1",
            "ftp://127.0.0.1/n",
            "not a url",
            "https://u:p@example.com/n",
        ] {
            assert!(problem(bad).is_some(), "{bad}");
        }
    }
}
