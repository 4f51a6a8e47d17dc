//! Go's `http.ProxyFromEnvironment` decision (golang.org/x/net/http/httpproxy), as used by the
//! `HTTPProxy` and `HTTPProxyCIDR` checks through apimachinery's `SetOldTransportDefaults`.
//!
//! Difference from upstream: a password in the proxy URL is shown as `xxxxx` (Go's
//! `URL.Redacted`), where upstream prints it.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::hostenv::HostEnv;

/// The proxy settings of the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// `HTTP_PROXY` or `http_proxy` (upper case wins when non-empty).
    pub http_proxy: String,
    /// `HTTPS_PROXY` or `https_proxy`.
    pub https_proxy: String,
    /// `NO_PROXY` or `no_proxy`.
    pub no_proxy: String,
    /// `REQUEST_METHOD` set (CGI): `HTTP_PROXY` is then refused.
    pub cgi: bool,
}

fn env_any(host: &dyn HostEnv, names: &[&str]) -> String {
    names.iter().filter_map(|n| host.env_var(n)).find(|v| !v.is_empty()).unwrap_or_default()
}

/// Displays a proxy setting as Go's `url.URL.String()` would after `parseProxy` (which prepends
/// `http://` when the value has no scheme), with any password redacted.
fn display_proxy(raw: &str) -> String {
    let url = if raw.contains("://") { raw.to_string() } else { format!("http://{raw}") };
    let Some((scheme, rest)) = url.split_once("://") else { return url };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:xxxxx@{hostport}{tail}"),
            None => url.clone(),
        },
        None => url.clone(),
    }
}

impl ProxyEnv {
    /// Reads the variables from the host environment.
    pub fn from_host(host: &dyn HostEnv) -> Self {
        Self {
            http_proxy: env_any(host, &["HTTP_PROXY", "http_proxy"]),
            https_proxy: env_any(host, &["HTTPS_PROXY", "https_proxy"]),
            no_proxy: env_any(host, &["NO_PROXY", "no_proxy"]),
            cgi: host.env_var("REQUEST_METHOD").is_some_and(|v| !v.is_empty()),
        }
    }

    /// The proxy (displayed as a URL) a request `scheme://host:port` would use, or `None` for a
    /// direct connection. `host` is a bare host name or IP (no brackets).
    pub fn proxy_for(&self, scheme: &str, host: &str, port: u16) -> Result<Option<String>, String> {
        let proxy = match scheme {
            "https" => &self.https_proxy,
            "http" => {
                if !self.http_proxy.is_empty() && self.cgi {
                    return Err(
                        "refusing to use HTTP_PROXY value in CGI environment; see golang.org/s/cgihttpproxy"
                            .into(),
                    );
                }
                &self.http_proxy
            }
            _ => return Ok(None),
        };
        if proxy.is_empty() || !self.use_proxy(host, port) {
            return Ok(None);
        }
        Ok(Some(display_proxy(proxy)))
    }

    fn use_proxy(&self, host: &str, port: u16) -> bool {
        if host == "localhost" {
            return false;
        }
        let ip: Option<IpAddr> = host.parse().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return false;
        }
        let host = host.trim().to_lowercase();
        let port = port.to_string();
        for rule in self.no_proxy.split(',') {
            let rule = rule.trim().to_lowercase();
            if rule.is_empty() {
                continue;
            }
            if rule == "*" {
                return false;
            }
            if let Ok(net) = rule.parse::<IpNet>() {
                if ip.is_some_and(|ip| net.contains(&ip)) {
                    return false;
                }
                continue;
            }
            let (rhost, rport) = split_host_port(&rule).unwrap_or((rule.clone(), String::new()));
            if rhost.is_empty() {
                continue;
            }
            if let Ok(rip) = rhost.parse::<IpAddr>() {
                if ip == Some(rip) && (rport.is_empty() || rport == port) {
                    return false;
                }
                continue;
            }
            if ip.is_some() {
                continue;
            }
            let mut d = rhost.as_str();
            if let Some(stripped) = d.strip_prefix("*.") {
                d = &d[d.len() - stripped.len() - 1..];
            }
            let (suffix, match_host) =
                if d.starts_with('.') { (d.to_string(), false) } else { (format!(".{d}"), true) };
            if (host.ends_with(&suffix) || (match_host && host == suffix[1..]))
                && (rport.is_empty() || rport == port)
            {
                return false;
            }
        }
        true
    }
}

/// Go's `net.SplitHostPort` for NO_PROXY entries: `host:port` or `[v6]:port`.
fn split_host_port(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.to_string(), p.to_string()));
    }
    let (h, p) = s.rsplit_once(':')?;
    if h.contains(':') {
        return None; // bare IPv6 without brackets
    }
    Some((h.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(https: &str, no: &str) -> ProxyEnv {
        ProxyEnv { https_proxy: https.into(), no_proxy: no.into(), ..Default::default() }
    }

    #[test]
    fn proxy_rules() {
        let e = env("proxy.example:3128", "");
        assert_eq!(
            e.proxy_for("https", "10.0.0.1", 443).unwrap().as_deref(),
            Some("http://proxy.example:3128")
        );
        assert_eq!(e.proxy_for("https", "127.0.0.1", 443).unwrap(), None);
        assert_eq!(e.proxy_for("https", "localhost", 443).unwrap(), None);
        assert_eq!(e.proxy_for("http", "10.0.0.1", 80).unwrap(), None);
        let e = env("http://u:secret@p:1", "10.96.0.0/12, .corp.example,10.0.0.5:1234,host.x");
        assert_eq!(e.proxy_for("https", "10.96.0.1", 1234).unwrap(), None);
        assert_eq!(e.proxy_for("https", "a.corp.example", 443).unwrap(), None);
        assert_eq!(e.proxy_for("https", "corp.example", 443).unwrap().as_deref(), Some("http://u:xxxxx@p:1"));
        assert_eq!(e.proxy_for("https", "host.x", 443).unwrap(), None);
        assert_eq!(e.proxy_for("https", "sub.host.x", 443).unwrap(), None);
        assert_eq!(e.proxy_for("https", "10.0.0.5", 1234).unwrap(), None);
        assert!(e.proxy_for("https", "10.0.0.5", 443).unwrap().is_some());
        assert_eq!(env("p:1", "*").proxy_for("https", "1.2.3.4", 443).unwrap(), None);
        assert_eq!(env("p:1", "fd00::/8").proxy_for("https", "fd00::1", 1234).unwrap(), None);
    }
}
