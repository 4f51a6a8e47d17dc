//! Validation of kubeadm configurations, following upstream's
//! `cmd/kubeadm/app/apis/kubeadm/validation/validation.go`.
//!
//! Errors carry the field path and render like apimachinery's `field.Error`
//! (`networking.serviceSubnet: Invalid value: "10.96.0.0/33": couldn't parse subnet`); an
//! [`ErrorList`] renders like `ErrorList.ToAggregate()` (one error as is, several as `[a, b]`,
//! duplicates dropped).
//!
//! Deliberate differences from upstream: secrets (bootstrap tokens, certificate keys) are never
//! echoed in error messages (the value is omitted: `bootstrapTokens[0].token: Invalid value: the
//! bootstrap token is invalid`); the discovery-file existence check takes a caller-supplied
//! predicate (this crate does no I/O); component-config validation (KubeletConfiguration,
//! KubeProxyConfiguration) is not done here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::constants;
use crate::net::{
    is_dual_stack, parse_cidr_list, parse_host_port, parse_ip_sloppy, range_size, split_host_port,
};
use crate::v1beta4::{
    ApiEndpoint, ApiServer, Arg, BootstrapToken, BootstrapTokenDiscovery, ClusterConfiguration,
    ControlPlaneComponent, Discovery, Dns, EncryptionAlgorithmType, Etcd, FileDiscovery, InitConfiguration,
    JoinConfiguration, JoinControlPlane, NodeRegistrationOptions, ResetConfiguration, UpgradeConfiguration,
    is_valid_bootstrap_token,
};

/// The kind of a field error (apimachinery `field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// `Required value`.
    Required,
    /// `Invalid value`.
    Invalid,
    /// `Forbidden`.
    Forbidden,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::Required => "Required value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::Forbidden => "Forbidden",
        }
    }
}

/// A rendered bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadValue {
    /// No value shown (also used for secrets).
    Omitted,
    /// A string, rendered quoted like Go's `%q`.
    Str(String),
    /// A number or bool, rendered plainly.
    Plain(String),
    /// A list or map, rendered as JSON.
    Json(String),
}

/// One validation error with its field path (e.g. `networking.podSubnet`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path in upstream's notation (`bootstrapTokens[0].token`).
    pub field: String,
    /// Error type.
    pub kind: ErrorType,
    /// The offending value.
    pub bad_value: BadValue,
    /// Explanation.
    pub detail: String,
}

impl FieldError {
    /// `field.Invalid(path, value, detail)` with a string value.
    pub fn invalid(field: impl Into<String>, value: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: ErrorType::Invalid,
            bad_value: BadValue::Str(value.into()),
            detail: detail.into(),
        }
    }
    /// `field.Invalid` with a value rendered by `bad_value`.
    pub fn invalid_value(field: impl Into<String>, bad_value: BadValue, detail: impl Into<String>) -> Self {
        FieldError { field: field.into(), kind: ErrorType::Invalid, bad_value, detail: detail.into() }
    }
    /// `field.Required(path, detail)`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: ErrorType::Required,
            bad_value: BadValue::Omitted,
            detail: detail.into(),
        }
    }
}

/// Go's `%q` for the strings we meet (ASCII and printable Unicode).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.kind.as_str())?;
        if self.kind == ErrorType::Invalid {
            match &self.bad_value {
                BadValue::Omitted => {}
                BadValue::Str(s) => write!(f, ": {}", go_quote(s))?,
                BadValue::Plain(s) | BadValue::Json(s) => write!(f, ": {s}")?,
            }
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldError {}

/// A list of validation errors (apimachinery `field.ErrorList`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorList(pub Vec<FieldError>);

impl ErrorList {
    /// No errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// `Ok(())` if empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), ErrorList> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
    fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    fn extend(&mut self, other: ErrorList) {
        self.0.extend(other.0);
    }
}

impl fmt::Display for ErrorList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut seen = BTreeSet::new();
        let mut msgs = Vec::new();
        for e in &self.0 {
            let m = e.to_string();
            if seen.insert(m.clone()) {
                msgs.push(m);
            }
        }
        match msgs.len() {
            0 => Ok(()),
            1 => f.write_str(&msgs[0]),
            _ => write!(f, "[{}]", msgs.join(", ")),
        }
    }
}

impl std::error::Error for ErrorList {}

fn json_list(v: &[String]) -> BadValue {
    BadValue::Json(serde_json::to_string(v).unwrap_or_default())
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }
}

fn is_abs(p: &str) -> bool {
    p.starts_with('/')
}

// ----- DNS names -----

const DNS1123_SUBDOMAIN_FMT: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

fn matches_subdomain_regex(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// `validation.IsDNS1123Subdomain`: the list of problems (empty if valid).
pub fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if !matches_subdomain_regex(s) {
        errs.push(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
        ));
    }
    errs
}

/// `validation.IsWildcardDNS1123Subdomain`: the list of problems (empty if valid).
pub fn wildcard_dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    let ok = s.strip_prefix("*.").is_some_and(matches_subdomain_regex);
    if !ok {
        errs.push(format!(
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.{DNS1123_SUBDOMAIN_FMT}')"
        ));
    }
    errs
}

// ----- URL scheme (Go net/url getScheme) -----

/// The scheme of a URL as Go's `url.Parse` sees it (lowercased; empty if none). Errors like Go for a
/// leading colon.
fn url_scheme(raw: &str) -> Result<String, String> {
    for (i, c) in raw.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' {
            if i == 0 {
                return Ok(String::new());
            }
            continue;
        }
        if c == ':' {
            if i == 0 {
                return Err(format!("parse {}: missing protocol scheme", go_quote(raw)));
            }
            return Ok(raw[..i].to_ascii_lowercase());
        }
        return Ok(String::new());
    }
    Ok(String::new())
}

// ----- individual validators (public, like upstream's exported functions) -----

/// `ValidateAbsolutePath`.
pub fn validate_absolute_path(path: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if !is_abs(path) {
        e.push(FieldError::invalid(fld, path, "path is not absolute"));
    }
    e
}

/// `ValidateExtraArgs`: every argument needs a name.
pub fn validate_extra_args(args: &[Arg], fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    for (idx, a) in args.iter().enumerate() {
        if a.name.is_empty() {
            e.push(FieldError::invalid(fld, format!("index {idx}"), "argument has no name"));
        }
    }
    e
}

/// `ValidateImagePullPolicy`.
pub fn validate_image_pull_policy(policy: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if !matches!(policy, "" | "Always" | "IfNotPresent" | "Never") {
        e.push(FieldError::invalid(fld, policy, "invalid pull policy"));
    }
    e
}

/// `ValidateSocketPath`: a non-empty `unix://` URL.
pub fn validate_socket_path(socket: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if socket.is_empty() {
        e.push(FieldError::invalid(fld, socket, "empty CRI socket"));
        return e;
    }
    match url_scheme(socket) {
        Err(err) => e.push(FieldError::invalid(fld, socket, format!("URL parsing error: {err}"))),
        Ok(s) if s != constants::DEFAULT_CONTAINER_RUNTIME_URL_SCHEME => e.push(FieldError::invalid(
            fld,
            socket,
            format!(
                "only URL scheme {} is supported, got {}",
                go_quote(constants::DEFAULT_CONTAINER_RUNTIME_URL_SCHEME),
                go_quote(&s)
            ),
        )),
        Ok(_) => {}
    }
    e
}

/// `ValidateNodeRegistrationOptions`.
pub fn validate_node_registration_options(nro: &NodeRegistrationOptions, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if nro.name.is_empty() {
        e.push(FieldError::required(fld, "--node-name or .nodeRegistration.name in the config file is a required value. It seems like this value couldn't be automatically detected in your environment, please specify the desired value using the CLI or config file."));
    } else {
        for msg in dns1123_subdomain_errors(&nro.name) {
            e.push(FieldError::invalid(child(fld, "name"), &nro.name, msg));
        }
    }
    e.extend(validate_socket_path(&nro.cri_socket, &child(fld, "criSocket")));
    e.extend(validate_extra_args(&nro.kubelet_extra_args, &child(fld, "kubeletExtraArgs")));
    e.extend(validate_image_pull_policy(&nro.image_pull_policy, &child(fld, "imagePullPolicy")));
    e
}

/// `ValidateToken`. The token is not echoed.
pub fn validate_token(token: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if !is_valid_bootstrap_token(token) {
        e.push(FieldError::invalid_value(fld, BadValue::Omitted, "the bootstrap token is invalid"));
    }
    e
}

fn is_valid_bootstrap_group(g: &str) -> bool {
    // \Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z
    let Some(rest) = g.strip_prefix(constants::BOOTSTRAP_GROUP_PREFIX) else {
        return false;
    };
    let b = rest.as_bytes();
    let Some((last, body)) = b.split_last() else {
        return false;
    };
    body.len() <= 255
        && (last.is_ascii_lowercase() || last.is_ascii_digit())
        && body.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b':' || *c == b'-')
}

/// `ValidateTokenGroups`.
pub fn validate_token_groups(usages: &[String], groups: &[String], fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if !groups.is_empty() && !usages.iter().any(|u| u == "authentication") {
        e.push(FieldError::invalid_value(
            fld,
            json_list(groups),
            "token groups cannot be specified unless --usages includes \"authentication\"",
        ));
    }
    for g in groups {
        if !is_valid_bootstrap_group(g) {
            e.push(FieldError::invalid_value(
                fld,
                json_list(groups),
                format!(
                    "bootstrap group {} is invalid (must match \\Asystem:bootstrappers:[a-z0-9:-]{{0,255}}[a-z0-9]\\z)",
                    go_quote(g)
                ),
            ));
        }
    }
    e
}

/// `ValidateTokenUsages`.
pub fn validate_token_usages(usages: &[String], fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    let invalid: BTreeSet<&str> =
        usages.iter().map(String::as_str).filter(|u| !constants::KNOWN_TOKEN_USAGES.contains(u)).collect();
    if !invalid.is_empty() {
        e.push(FieldError::invalid_value(
            fld,
            json_list(usages),
            format!(
                "invalid bootstrap token usage string: {}, valid usage options: {}",
                invalid.into_iter().collect::<Vec<_>>().join(","),
                constants::KNOWN_TOKEN_USAGES.join(",")
            ),
        ));
    }
    e
}

/// `ValidateBootstrapTokens`.
pub fn validate_bootstrap_tokens(bts: &[BootstrapToken], fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    for (i, bt) in bts.iter().enumerate() {
        let p = format!("{fld}[{i}]");
        let token = bt.token.as_ref().map(|t| t.expose()).unwrap_or_default();
        e.extend(validate_token(&token, &child(&p, "token")));
        e.extend(validate_token_usages(&bt.usages, &child(&p, "usages")));
        e.extend(validate_token_groups(&bt.usages, &bt.groups, &child(&p, "groups")));
        if bt.expires.is_some() && bt.ttl.is_some() {
            e.push(FieldError::invalid(
                &p,
                "",
                "the BootstrapToken .TTL and .Expires fields are mutually exclusive",
            ));
        }
    }
    e
}

/// `ValidateCertSANs`: IPs, DNS subdomains or wildcard subdomains.
pub fn validate_cert_sans(sans: &[String], fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    for san in sans {
        let errs = dns1123_subdomain_errors(san);
        if errs.is_empty() {
            continue;
        }
        let errs2 = wildcard_dns1123_subdomain_errors(san);
        if errs2.is_empty() || parse_ip_sloppy(san).is_some() {
            continue;
        }
        e.push(FieldError::invalid(
            fld,
            san,
            format!(
                "altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards: {}; {}",
                errs.join("; "),
                errs2.join("; ")
            ),
        ));
    }
    e
}

/// `ValidateURLs`.
pub fn validate_urls(urls: &[String], require_https: bool, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    for u in urls {
        let scheme = match url_scheme(u) {
            Ok(s) => s,
            Err(err) => {
                e.push(FieldError::invalid(fld, u, format!("URL parse error: {err}")));
                continue;
            }
        };
        if require_https && scheme != "https" {
            e.push(FieldError::invalid(fld, u, "the URL must be using the HTTPS scheme"));
        }
        if scheme.is_empty() {
            e.push(FieldError::invalid(fld, u, "the URL without scheme is not allowed"));
        }
    }
    e
}

/// `ValidateIPFromString`.
pub fn validate_ip_from_string(ip: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if parse_ip_sloppy(ip).is_none() {
        e.push(FieldError::invalid(fld, ip, "ip address is not valid"));
    }
    e
}

/// `ValidatePort`: 1..=65535.
pub fn validate_port(port: i32, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if !(1..=65535).contains(&port) {
        e.push(FieldError::invalid_value(fld, BadValue::Plain(port.to_string()), "port number is not valid"));
    }
    e
}

/// `ValidateHostPort` (for `controlPlaneEndpoint`; empty is fine).
pub fn validate_host_port(endpoint: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if !endpoint.is_empty() && parse_host_port(endpoint).is_err() {
        e.push(FieldError::invalid(fld, endpoint, "endpoint is not valid"));
    }
    e
}

/// `ValidateIPNetFromString`: one CIDR or a dual-stack pair, each with at least `min_addrs` addresses.
pub fn validate_ipnet_from_string(subnets: &str, min_addrs: i64, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    let Ok(nets) = parse_cidr_list(subnets) else {
        e.push(FieldError::invalid(fld, subnets, "couldn't parse subnet"));
        return e;
    };
    let dual_msg = "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking";
    if nets.len() > 2 || (nets.len() == 2 && !is_dual_stack(&nets)) {
        e.push(FieldError::invalid(fld, subnets, dual_msg));
    }
    for n in &nets {
        let size = range_size(n);
        if size < min_addrs {
            e.push(FieldError::invalid(
                fld,
                n.to_string(),
                format!("subnet with {size} address(es) is too small, the minimum is {min_addrs}"),
            ));
        }
    }
    e
}

/// `ValidateServiceSubnetSize`: at most 20 host bits.
pub fn validate_service_subnet_size(subnets: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    for n in parse_cidr_list(subnets).unwrap_or_default() {
        let bits = u32::from(n.max_prefix_len());
        let ones = u32::from(n.prefix_len());
        if bits - ones > constants::MAXIMUM_BITS_FOR_SERVICE_SUBNET {
            e.push(FieldError::invalid(
                fld,
                n.to_string(),
                format!(
                    "specified service subnet is too large; for {bits}-bit addresses, the mask must be >= {}",
                    bits - constants::MAXIMUM_BITS_FOR_SERVICE_SUBNET
                ),
            ));
        }
    }
    e
}

/// The last value of a named argument (`GetArgValue(args, name, -1)`).
pub fn get_arg_value<'a>(args: &'a [Arg], name: &str) -> Option<&'a str> {
    args.iter().rev().find(|a| a.name == name).map(|a| a.value.as_str())
}

/// `ValidatePodSubnetNodeMask`.
pub fn validate_pod_subnet_node_mask(subnets: &str, c: &ClusterConfiguration, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    for n in parse_cidr_list(subnets).unwrap_or_default() {
        let v6 = matches!(n, ipnet::IpNet::V6(_));
        let (arg, default) =
            if v6 { ("node-cidr-mask-size-ipv6", 64) } else { ("node-cidr-mask-size-ipv4", 24) };
        let node_mask: i64 = match get_arg_value(&c.controller_manager.extra_args, arg) {
            Some(v) if !v.is_empty() => match v.parse::<i64>() {
                Ok(m) => m,
                Err(_) => {
                    e.push(FieldError::invalid(
                        fld,
                        n.to_string(),
                        format!(
                            "could not parse the value of the kube-controller-manager flag {arg} as an integer: strconv.Atoi: parsing {}: invalid syntax",
                            go_quote(v)
                        ),
                    ));
                    continue;
                }
            },
            _ => default,
        };
        let mask = i64::from(n.prefix_len());
        if mask > node_mask {
            e.push(FieldError::invalid(
                fld,
                n.to_string(),
                format!("the size of pod subnet with mask {mask} is smaller than the size of node subnet with mask {node_mask}"),
            ));
        } else if node_mask - mask > i64::from(constants::POD_SUBNET_NODE_MASK_MAX_DIFF) {
            e.push(FieldError::invalid(
                fld,
                n.to_string(),
                format!(
                    "pod subnet mask ({mask}) and node-mask ({node_mask}) difference is greater than {}",
                    constants::POD_SUBNET_NODE_MASK_MAX_DIFF
                ),
            ));
        }
    }
    e
}

/// `ValidateNetworking`.
pub fn validate_networking(c: &ClusterConfiguration, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    let n = &c.networking;
    for msg in dns1123_subdomain_errors(&n.dns_domain) {
        e.push(FieldError::invalid(child(fld, "dnsDomain"), &n.dns_domain, msg));
    }
    if !n.service_subnet.is_empty() {
        let p = child(fld, "serviceSubnet");
        e.extend(validate_ipnet_from_string(
            &n.service_subnet,
            i64::from(constants::MINIMUM_ADDRESSES_IN_SERVICE_SUBNET),
            &p,
        ));
        e.extend(validate_service_subnet_size(&n.service_subnet, &p));
    }
    if !n.pod_subnet.is_empty() {
        let p = child(fld, "podSubnet");
        e.extend(validate_ipnet_from_string(
            &n.pod_subnet,
            i64::from(constants::MINIMUM_ADDRESSES_IN_POD_SUBNET),
            &p,
        ));
        if get_arg_value(&c.controller_manager.extra_args, "allocate-node-cidrs") != Some("false") {
            e.extend(validate_pod_subnet_node_mask(&n.pod_subnet, c, &p));
        }
    }
    e
}

fn is_path_component(s: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    let run = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && alnum(b[*i]) {
            *i += 1;
        }
        *i > start
    };
    if !run(&mut i) {
        return false;
    }
    while i < b.len() {
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if !run(&mut i) {
            return false;
        }
    }
    true
}

fn is_domain(s: &str) -> bool {
    // (domainName | \[ipv6\]) (:[0-9]+)?
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some(end) = rest.find(']') else { return false };
        if rest[..end].parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        (None, &rest[end + 1..])
    } else {
        match s.find(':') {
            Some(i) => (Some(&s[..i]), &s[i..]),
            None => (Some(s), ""),
        }
    };
    if !port.is_empty() {
        let Some(p) = port.strip_prefix(':') else { return false };
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    match host {
        None => true,
        Some(h) => {
            !h.is_empty()
                && h.split('.').all(|c| {
                    let b = c.as_bytes();
                    !b.is_empty()
                        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
                        && b[0] != b'-'
                        && b[b.len() - 1] != b'-'
                })
        }
    }
}

/// True if `<repo>/name:tag` is a valid image reference (distribution `ReferenceRegexp`).
pub fn is_valid_image_repository(repo: &str) -> bool {
    let full = format!("{repo}/name");
    if full.len() > 255 {
        return false;
    }
    let comps: Vec<&str> = full.split('/').collect();
    if comps.iter().all(|c| is_path_component(c)) {
        return true;
    }
    is_domain(comps[0]) && comps[1..].iter().all(|c| is_path_component(c))
}

/// `ValidateImageRepository`.
pub fn validate_image_repository(repo: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if !is_valid_image_repository(repo) {
        e.push(FieldError::invalid(fld, repo, "invalid image repository format"));
    }
    e
}

/// `ValidateDNS`.
pub fn validate_dns(dns: &Dns, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if !dns.image_meta.image_repository.is_empty() {
        e.extend(validate_image_repository(&dns.image_meta.image_repository, &child(fld, "imageRepository")));
    }
    e
}

/// `ValidateAPIServer`.
pub fn validate_api_server(a: &ApiServer, fld: &str) -> ErrorList {
    let mut e = validate_cert_sans(&a.cert_sans, &child(fld, "certSANs"));
    e.extend(validate_extra_args(&a.control_plane_component.extra_args, &child(fld, "extraArgs")));
    e
}

/// `ValidateControllerManager` / `ValidateScheduler`.
pub fn validate_control_plane_component(c: &ControlPlaneComponent, fld: &str) -> ErrorList {
    validate_extra_args(&c.extra_args, &child(fld, "extraArgs"))
}

/// The kubeadm feature gates known to v1.37.2 (`features.InitFeatureGates`): name -> default.
pub const KNOWN_FEATURE_GATES: [(&str, bool); 1] = [("RootlessControlPlane", false)];

/// `ValidateFeatureGates`.
pub fn validate_feature_gates(gates: &BTreeMap<String, bool>, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    for k in gates.keys() {
        if !KNOWN_FEATURE_GATES.iter().any(|(n, _)| n == k) {
            e.push(FieldError::invalid_value(
                fld,
                BadValue::Json(serde_json::to_string(gates).unwrap_or_default()),
                format!("{k} is not a valid feature name."),
            ));
        }
    }
    e
}

/// `ValidateEtcd`: exactly one of local/external, and their fields.
pub fn validate_etcd(etcd: &Etcd, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    let local_p = child(fld, "local");
    let ext_p = child(fld, "external");
    match (&etcd.local, &etcd.external) {
        (None, None) => {
            e.push(FieldError::invalid(fld, "", "either .Etcd.Local or .Etcd.External is required"));
            return e;
        }
        (Some(_), Some(_)) => {
            e.push(FieldError::invalid(fld, "", ".Etcd.Local and .Etcd.External are mutually exclusive"));
            return e;
        }
        _ => {}
    }
    if let Some(l) = &etcd.local {
        e.extend(validate_absolute_path(&l.data_dir, &child(&local_p, "dataDir")));
        e.extend(validate_cert_sans(&l.server_cert_sans, &child(&local_p, "serverCertSANs")));
        e.extend(validate_cert_sans(&l.peer_cert_sans, &child(&local_p, "peerCertSANs")));
        if !l.image_meta.image_repository.is_empty() {
            e.extend(validate_image_repository(
                &l.image_meta.image_repository,
                &child(&local_p, "imageRepository"),
            ));
        }
        e.extend(validate_extra_args(&l.extra_args, &child(&local_p, "extraArgs")));
    }
    if let Some(x) = &etcd.external {
        let require_https = !(x.ca_file.is_empty() && x.cert_file.is_empty() && x.key_file.is_empty());
        if x.cert_file.is_empty() != x.key_file.is_empty() {
            e.push(FieldError::invalid(
                &ext_p,
                "",
                "either both or none of .Etcd.External.CertFile and .Etcd.External.KeyFile must be set",
            ));
        }
        if !x.cert_file.is_empty() && !x.key_file.is_empty() && x.ca_file.is_empty() {
            e.push(FieldError::invalid(
                &ext_p,
                "",
                "setting .Etcd.External.CertFile and .Etcd.External.KeyFile requires .Etcd.External.CAFile",
            ));
        }
        if x.endpoints.is_empty() {
            e.push(FieldError::invalid(
                child(&ext_p, "endpoints"),
                "",
                "at least one endpoint must be specified",
            ));
        } else {
            e.extend(validate_urls(&x.endpoints, require_https, &child(&ext_p, "endpoints")));
        }
        e.extend(validate_urls(&x.http_endpoints, false, &child(&ext_p, "httpEndpoints")));
        for (v, name) in [(&x.ca_file, "caFile"), (&x.cert_file, "certFile"), (&x.key_file, "keyFile")] {
            if !v.is_empty() {
                e.extend(validate_absolute_path(v, &child(&ext_p, name)));
            }
        }
    }
    e
}

/// `ValidateEncryptionAlgorithm`. `None` counts as the empty string (invalid, like upstream after
/// defaulting would never produce).
pub fn validate_encryption_algorithm(algo: Option<&EncryptionAlgorithmType>, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    let s = algo.map(EncryptionAlgorithmType::as_str).unwrap_or("");
    let known = matches!(algo, Some(a) if !matches!(a, EncryptionAlgorithmType::Other(_)));
    if !known {
        e.push(FieldError::invalid(
            fld,
            s,
            format!("Invalid encryption algorithm {}. Must be one of [ECDSA-P256 ECDSA-P384 RSA-2048 RSA-3072 RSA-4096]", go_quote(s)),
        ));
    }
    e
}

/// `ValidateAPIEndpoint`.
pub fn validate_api_endpoint(ep: &ApiEndpoint, fld: &str) -> ErrorList {
    let mut e = validate_ip_from_string(&ep.advertise_address, &child(fld, "advertiseAddress"));
    e.extend(validate_port(ep.bind_port, &child(fld, "bindPort")));
    e
}

fn hex_decode_error(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let bad = |c: u8| !c.is_ascii_hexdigit();
    let mut i = 1;
    while i < b.len() {
        for c in [b[i - 1], b[i]] {
            if bad(c) {
                return Some(format!("encoding/hex: invalid byte: U+{:04X} {}", c, go_char_quote(c)));
            }
        }
        i += 2;
    }
    if b.len() % 2 == 1 {
        if let Some(&c) = b.last()
            && bad(c)
        {
            return Some(format!("encoding/hex: invalid byte: U+{:04X} {}", c, go_char_quote(c)));
        }
        return Some("encoding/hex: odd length hex string".to_string());
    }
    None
}

fn go_char_quote(c: u8) -> String {
    if c.is_ascii_graphic() || c == b' ' {
        if c == b'\'' { "'\\''".to_string() } else { format!("'{}'", char::from(c)) }
    } else {
        format!("'\\x{c:02x}'")
    }
}

/// `ValidateCertificateKey`: hex-encoded 32 bytes. The key is not echoed.
pub fn validate_certificate_key(key: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if key.is_empty() {
        return e;
    }
    if let Some(err) = hex_decode_error(key) {
        e.push(FieldError::invalid_value(
            fld,
            BadValue::Omitted,
            format!("certificate key decoding error: {err}"),
        ));
        return e;
    }
    let k = key.len() / 2;
    if k != constants::CERTIFICATE_KEY_SIZE {
        e.push(FieldError::invalid_value(
            fld,
            BadValue::Omitted,
            format!(
                "invalid certificate key size {k}, the key must be an AES key of size {}",
                constants::CERTIFICATE_KEY_SIZE
            ),
        ));
    }
    e
}

/// `ValidateClusterConfiguration` (without component configs).
pub fn validate_cluster_configuration(c: &ClusterConfiguration) -> ErrorList {
    let mut e = ErrorList::default();
    e.extend(validate_dns(&c.dns, "dns"));
    e.extend(validate_networking(c, "networking"));
    e.extend(validate_api_server(&c.api_server, "apiServer"));
    e.extend(validate_control_plane_component(&c.controller_manager, "controllerManager"));
    e.extend(validate_control_plane_component(&c.scheduler, "scheduler"));
    e.extend(validate_absolute_path(&c.certificates_dir, "certificatesDir"));
    e.extend(validate_feature_gates(&c.feature_gates, "featureGates"));
    e.extend(validate_host_port(&c.control_plane_endpoint, "controlPlaneEndpoint"));
    e.extend(validate_image_repository(&c.image_repository, "imageRepository"));
    e.extend(validate_etcd(&c.etcd, "etcd"));
    e.extend(validate_encryption_algorithm(c.encryption_algorithm.as_ref(), "encryptionAlgorithm"));
    e
}

/// `ValidateCertValidity`: warnings (upstream logs them as `WARNING: ...`, not errors).
pub fn cert_validity_warnings(c: &ClusterConfiguration) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(d) = c.certificate_validity_period
        && d > constants::CERTIFICATE_VALIDITY_PERIOD
    {
        w.push(format!(
            "certificateValidityPeriod: the value {d} is more than the recommended default for certificate expiration: {}",
            constants::CERTIFICATE_VALIDITY_PERIOD
        ));
    }
    if let Some(d) = c.ca_certificate_validity_period
        && d > constants::CA_CERTIFICATE_VALIDITY_PERIOD
    {
        w.push(format!(
            "caCertificateValidityPeriod: the value {d} is more than the recommended default for CA certificate expiration: {}",
            constants::CA_CERTIFICATE_VALIDITY_PERIOD
        ));
    }
    if let (Some(a), Some(b)) = (c.certificate_validity_period, c.ca_certificate_validity_period)
        && a > b
    {
        w.push(format!(
            "certificateValidityPeriod: the value {a} is more than the caCertificateValidityPeriod: {b}"
        ));
    }
    w
}

/// `ValidateInitConfiguration`: upstream's internal InitConfiguration embeds the
/// ClusterConfiguration, so both are taken here.
pub fn validate_init_configuration(init: &InitConfiguration, cluster: &ClusterConfiguration) -> ErrorList {
    let mut e = ErrorList::default();
    e.extend(validate_node_registration_options(&init.node_registration, "nodeRegistration"));
    e.extend(validate_bootstrap_tokens(&init.bootstrap_tokens, "bootstrapTokens"));
    e.extend(validate_cluster_configuration(cluster));
    e.extend(validate_api_endpoint(&init.local_api_endpoint, "localAPIEndpoint"));
    e.extend(validate_certificate_key(init.certificate_key.expose(), "certificateKey"));
    e
}

/// `ValidateDiscoveryTokenAPIServer`: must be `host:port`.
pub fn validate_discovery_token_api_server(ep: &str, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if let Err(err) = split_host_port(ep) {
        e.push(FieldError::invalid(fld, ep, err.to_string()));
    }
    e
}

/// `ValidateDiscoveryBootstrapToken`.
pub fn validate_discovery_bootstrap_token(b: &BootstrapTokenDiscovery, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if b.api_server_endpoint.is_empty() {
        e.push(FieldError::required(fld, "APIServerEndpoint is not set"));
    }
    if b.ca_cert_hashes.is_empty() && !b.unsafe_skip_ca_verification {
        e.push(FieldError::invalid(child(fld, "caCertHashes"), "", "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue"));
    }
    e.extend(validate_token(b.token.expose(), &child(fld, "token")));
    e.extend(validate_discovery_token_api_server(&b.api_server_endpoint, &child(fld, "apiServerEndpoint")));
    e
}

/// `ValidateDiscoveryKubeConfigPath`: an `https` URL or an existing file (`file_exists` is the
/// caller's check, since this crate does no I/O).
pub fn validate_discovery_kubeconfig_path(
    path: &str,
    fld: &str,
    file_exists: &dyn Fn(&str) -> bool,
) -> ErrorList {
    let mut e = ErrorList::default();
    match url_scheme(path) {
        Err(_) => e.push(FieldError::invalid(fld, path, "not a valid HTTPS URL or a file on disk")),
        Ok(s) if s.is_empty() => {
            if !file_exists(path) {
                e.push(FieldError::invalid(fld, path, "not a valid HTTPS URL or a file on disk"));
            }
        }
        Ok(s) if s != "https" => {
            e.push(FieldError::invalid(fld, path, "if a URL is used, the scheme must be https"))
        }
        Ok(_) => {}
    }
    e
}

/// `ValidateDiscoveryFile`.
pub fn validate_discovery_file(
    f: &FileDiscovery,
    fld: &str,
    file_exists: &dyn Fn(&str) -> bool,
) -> ErrorList {
    validate_discovery_kubeconfig_path(&f.kube_config_path, &child(fld, "kubeConfigPath"), file_exists)
}

/// `ValidateDiscovery`.
pub fn validate_discovery(d: &Discovery, fld: &str, file_exists: &dyn Fn(&str) -> bool) -> ErrorList {
    let mut e = ErrorList::default();
    if d.bootstrap_token.is_none() && d.file.is_none() {
        e.push(FieldError::invalid(fld, "", "bootstrapToken or file must be set"));
    }
    if d.bootstrap_token.is_some() && d.file.is_some() {
        e.push(FieldError::invalid(fld, "", "bootstrapToken and file cannot both be set"));
    }
    if let Some(b) = &d.bootstrap_token {
        e.extend(validate_discovery_bootstrap_token(b, &child(fld, "bootstrapToken")));
        e.extend(validate_token(d.tls_bootstrap_token.expose(), &child(fld, "tlsBootstrapToken")));
    }
    if let Some(f) = &d.file {
        e.extend(validate_discovery_file(f, &child(fld, "file"), file_exists));
        if !d.tls_bootstrap_token.is_empty() {
            e.extend(validate_token(d.tls_bootstrap_token.expose(), &child(fld, "tlsBootstrapToken")));
        }
    }
    e
}

/// `ValidateJoinControlPlane`.
pub fn validate_join_control_plane(c: Option<&JoinControlPlane>, fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    if let Some(c) = c {
        e.extend(validate_api_endpoint(&c.local_api_endpoint, &child(fld, "localAPIEndpoint")));
        e.extend(validate_certificate_key(c.certificate_key.expose(), &child(fld, "certificateKey")));
    }
    e
}

/// `ValidateJoinConfiguration`. `file_exists` checks a discovery kubeconfig path on disk.
pub fn validate_join_configuration(c: &JoinConfiguration, file_exists: &dyn Fn(&str) -> bool) -> ErrorList {
    let mut e = ErrorList::default();
    e.extend(validate_discovery(&c.discovery, "discovery", file_exists));
    e.extend(validate_node_registration_options(&c.node_registration, "nodeRegistration"));
    e.extend(validate_join_control_plane(c.control_plane.as_ref(), "controlPlane"));
    if !is_abs(&c.ca_cert_path) || !c.ca_cert_path.ends_with(".crt") {
        e.push(FieldError::invalid(
            "caCertPath",
            &c.ca_cert_path,
            "the ca certificate path must be an absolute path",
        ));
    }
    e
}

/// `ValidateUnmountFlags`.
pub fn validate_unmount_flags(flags: &[String], fld: &str) -> ErrorList {
    let mut e = ErrorList::default();
    for (idx, f) in flags.iter().enumerate() {
        if !matches!(f.as_str(), "MNT_FORCE" | "MNT_DETACH" | "MNT_EXPIRE" | "UMOUNT_NOFOLLOW") {
            e.push(FieldError::invalid(fld, format!("index {idx}"), format!("unknown unmount flag {f}")));
        }
    }
    e
}

/// `ValidateResetConfiguration`.
pub fn validate_reset_configuration(c: &ResetConfiguration) -> ErrorList {
    let mut e = validate_socket_path(&c.cri_socket, "criSocket");
    e.extend(validate_absolute_path(&c.certificates_dir, "certificatesDir"));
    e.extend(validate_unmount_flags(&c.unmount_flags, "unmountFlags"));
    e
}

/// `ValidateUpgradeConfiguration`.
pub fn validate_upgrade_configuration(c: &UpgradeConfiguration) -> ErrorList {
    let mut e = ErrorList::default();
    if let Some(p) = &c.apply.patches {
        e.extend(validate_absolute_path(&p.directory, "apply.patches.directory"));
    }
    if let Some(p) = &c.node.patches {
        e.extend(validate_absolute_path(&p.directory, "node.patches.directory"));
    }
    e.extend(validate_image_pull_policy(&c.apply.image_pull_policy, "apply.imagePullPolicy"));
    e.extend(validate_image_pull_policy(&c.node.image_pull_policy, "node.imagePullPolicy"));
    e
}

/// `ValidateIgnorePreflightErrors`: merges config and CLI values (lowercased); `all` may not be
/// combined with individual checks.
pub fn validate_ignore_preflight_errors(
    from_cli: &[String],
    from_config: &[String],
) -> Result<BTreeSet<String>, ErrorList> {
    let set: BTreeSet<String> = from_config.iter().chain(from_cli).map(|s| s.to_lowercase()).collect();
    if set.contains("all") && set.len() > 1 {
        let joined = set.iter().cloned().collect::<Vec<_>>().join(",");
        return Err(ErrorList(vec![FieldError::invalid(
            "ignore-preflight-errors",
            joined,
            "don't specify individual checks if 'all' is used",
        )]));
    }
    Ok(set)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::v1beta4::*;

    fn good_cluster() -> ClusterConfiguration {
        let mut c = ClusterConfiguration::default();
        crate::defaults::set_defaults_cluster_configuration(&mut c);
        c
    }

    fn good_init() -> InitConfiguration {
        let mut i = InitConfiguration::default();
        crate::defaults::set_defaults_init_configuration(&mut i);
        i.node_registration.name = "node1".into();
        i.node_registration.cri_socket = constants::DEFAULT_CRI_SOCKET.into();
        i.local_api_endpoint.advertise_address = "10.0.0.1".into();
        i.bootstrap_tokens[0].token = Some(BootstrapTokenString::parse("abcdef.0123456789abcdef").unwrap());
        i
    }

    #[test]
    fn defaults_are_valid() {
        let e = validate_init_configuration(&good_init(), &good_cluster());
        assert!(e.is_empty(), "{e}");
    }

    #[test]
    fn service_subnet_errors() {
        let mut c = good_cluster();
        c.networking.service_subnet = "10.96.0.0/33".into();
        assert_eq!(
            validate_cluster_configuration(&c).to_string(),
            r#"networking.serviceSubnet: Invalid value: "10.96.0.0/33": couldn't parse subnet"#
        );
        c.networking.service_subnet = "10.0.0.0/8".into();
        assert_eq!(
            validate_cluster_configuration(&c).to_string(),
            r#"networking.serviceSubnet: Invalid value: "10.0.0.0/8": specified service subnet is too large; for 32-bit addresses, the mask must be >= 12"#
        );
        c.networking.service_subnet = "10.96.0.0/30".into();
        assert!(
            validate_cluster_configuration(&c)
                .to_string()
                .contains("subnet with 4 address(es) is too small, the minimum is 10")
        );
        c.networking.service_subnet = "10.96.0.0/12,10.97.0.0/16".into();
        assert!(validate_cluster_configuration(&c).to_string().contains("dual-stack"));
        c.networking.service_subnet = "10.96.0.0/12,fd00::/112".into();
        assert!(validate_cluster_configuration(&c).is_empty());
    }

    #[test]
    fn pod_subnet_node_mask() {
        let mut c = good_cluster();
        c.networking.pod_subnet = "10.244.0.0/25".into();
        let s = validate_cluster_configuration(&c).to_string();
        assert!(s.contains("networking.podSubnet: Invalid value: \"10.244.0.0/25\": the size of pod subnet with mask 25 is smaller than the size of node subnet with mask 24"), "{s}");
        c.controller_manager.extra_args.push(Arg::new("allocate-node-cidrs", "false"));
        assert!(validate_cluster_configuration(&c).is_empty());
        c.networking.pod_subnet = "10.0.0.0/4".into();
        c.controller_manager.extra_args.clear();
        assert!(validate_cluster_configuration(&c).to_string().contains("difference is greater than 16"));
    }

    #[test]
    fn multiple_errors_bracketed() {
        let mut i = good_init();
        i.node_registration.name = "Bad_Name".into();
        i.local_api_endpoint.bind_port = 0;
        let s = validate_init_configuration(&i, &good_cluster()).to_string();
        assert!(
            s.starts_with(
                "[nodeRegistration.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"
            ),
            "{s}"
        );
        assert!(
            s.contains(", localAPIEndpoint.bindPort: Invalid value: 0: port number is not valid]"),
            "{s}"
        );
    }

    #[test]
    fn node_name_required() {
        let mut i = good_init();
        i.node_registration.name.clear();
        let s = validate_init_configuration(&i, &good_cluster()).to_string();
        assert!(s.starts_with("nodeRegistration: Required value: --node-name"), "{s}");
    }

    #[test]
    fn tokens() {
        let mut i = good_init();
        i.bootstrap_tokens[0].token = None;
        i.bootstrap_tokens[0].usages = vec!["signing".into(), "foo".into()];
        i.bootstrap_tokens[0].groups = vec!["bad".into()];
        let s = validate_bootstrap_tokens(&i.bootstrap_tokens, "bootstrapTokens").to_string();
        assert!(s.contains("bootstrapTokens[0].token: Invalid value: the bootstrap token is invalid"), "{s}");
        assert!(s.contains(r#"bootstrapTokens[0].usages: Invalid value: ["signing","foo"]: invalid bootstrap token usage string: foo, valid usage options: signing,authentication"#), "{s}");
        assert!(s.contains(r#"bootstrapTokens[0].groups: Invalid value: ["bad"]: token groups cannot be specified unless --usages includes "authentication""#), "{s}");
        assert!(s.contains(r#"bootstrap group "bad" is invalid"#), "{s}");
    }

    #[test]
    fn cert_sans_encryption_feature_gates() {
        let mut c = good_cluster();
        c.api_server.cert_sans =
            vec!["10.0.0.1".into(), "*.example.com".into(), "a.b".into(), "Not Valid".into()];
        c.encryption_algorithm = Some(EncryptionAlgorithmType::Other("RSA-1024".into()));
        c.feature_gates.insert("Foo".into(), true);
        let s = validate_cluster_configuration(&c).to_string();
        assert!(
            s.contains("apiServer.certSANs: Invalid value: \"Not Valid\": altname is not a valid IP address"),
            "{s}"
        );
        assert!(!s.contains("a.b\""), "{s}");
        assert!(s.contains(r#"encryptionAlgorithm: Invalid value: "RSA-1024": Invalid encryption algorithm "RSA-1024". Must be one of [ECDSA-P256 ECDSA-P384 RSA-2048 RSA-3072 RSA-4096]"#), "{s}");
        assert!(
            s.contains(r#"featureGates: Invalid value: {"Foo":true}: Foo is not a valid feature name."#),
            "{s}"
        );
    }

    #[test]
    fn etcd_rules() {
        let mut c = good_cluster();
        c.etcd.external = Some(ExternalEtcd::default());
        assert!(
            validate_etcd(&c.etcd, "etcd")
                .to_string()
                .contains(".Etcd.Local and .Etcd.External are mutually exclusive")
        );
        c.etcd.local = None;
        let s = validate_etcd(&c.etcd, "etcd").to_string();
        assert_eq!(
            s,
            r#"etcd.external.endpoints: Invalid value: "": at least one endpoint must be specified"#
        );
        c.etcd.external = Some(ExternalEtcd {
            endpoints: vec!["http://10.0.0.1:2379".into()],
            ca_file: "/ca.crt".into(),
            cert_file: "rel.crt".into(),
            key_file: String::new(),
            ..Default::default()
        });
        let s = validate_etcd(&c.etcd, "etcd").to_string();
        assert!(s.contains("either both or none"), "{s}");
        assert!(s.contains("etcd.external.endpoints: Invalid value: \"http://10.0.0.1:2379\": the URL must be using the HTTPS scheme"), "{s}");
        assert!(
            s.contains("etcd.external.certFile: Invalid value: \"rel.crt\": path is not absolute"),
            "{s}"
        );
        c.etcd.external = None;
        assert!(
            validate_etcd(&c.etcd, "etcd")
                .to_string()
                .contains("either .Etcd.Local or .Etcd.External is required")
        );
    }

    #[test]
    fn misc_fields() {
        assert!(validate_image_pull_policy("Sometimes", "p").to_string().contains("invalid pull policy"));
        assert_eq!(
            validate_socket_path("/var/run/containerd.sock", "criSocket").to_string(),
            r#"criSocket: Invalid value: "/var/run/containerd.sock": only URL scheme "unix" is supported, got """#
        );
        assert!(validate_socket_path("unix:///x.sock", "c").is_empty());
        assert!(
            validate_extra_args(&[Arg::new("", "x")], "apiServer.extraArgs")
                .to_string()
                .contains("\"index 0\": argument has no name")
        );
        assert!(validate_image_repository("registry.k8s.io", "i").is_empty());
        assert!(validate_image_repository("localhost:5000/foo", "i").is_empty());
        assert!(validate_image_repository("[::1]:5000", "i").is_empty());
        assert!(!validate_image_repository("Bad Repo", "i").is_empty());
        assert!(!validate_image_repository("", "i").is_empty());
        assert!(validate_host_port("lb.example.com:6443", "c").is_empty());
        assert!(!validate_host_port("lb:0", "c").is_empty());
        let s = validate_certificate_key("zz", "certificateKey").to_string();
        assert_eq!(
            s,
            "certificateKey: Invalid value: certificate key decoding error: encoding/hex: invalid byte: U+007A 'z'"
        );
        let s = validate_certificate_key("abcd", "certificateKey").to_string();
        assert!(s.contains("invalid certificate key size 2"), "{s}");
        assert!(validate_certificate_key(&"ab".repeat(32), "k").is_empty());
        assert!(
            validate_unmount_flags(&["MNT_FOO".into()], "unmountFlags")
                .to_string()
                .contains("unknown unmount flag MNT_FOO")
        );
        assert!(validate_ignore_preflight_errors(&["all".into()], &["Swap".into()]).is_err());
        assert_eq!(
            validate_ignore_preflight_errors(&["Swap".into()], &[]).unwrap().into_iter().collect::<Vec<_>>(),
            vec!["swap"]
        );
    }

    #[test]
    fn join() {
        let mut j = JoinConfiguration::default();
        crate::defaults::set_defaults_join_configuration(&mut j);
        j.node_registration.name = "n".into();
        j.node_registration.cri_socket = constants::DEFAULT_CRI_SOCKET.into();
        let no_file = |_: &str| false;
        assert!(
            validate_join_configuration(&j, &no_file)
                .to_string()
                .contains("discovery: Invalid value: \"\": bootstrapToken or file must be set")
        );
        j.discovery.bootstrap_token = Some(BootstrapTokenDiscovery {
            token: "abcdef.0123456789abcdef".into(),
            api_server_endpoint: "10.0.0.1".into(),
            ..Default::default()
        });
        j.discovery.tls_bootstrap_token = "abcdef.0123456789abcdef".into();
        let s = validate_join_configuration(&j, &no_file).to_string();
        assert!(
            s.contains(
                "discovery.bootstrapToken.caCertHashes: Invalid value: \"\": using token-based discovery"
            ),
            "{s}"
        );
        assert!(s.contains("discovery.bootstrapToken.apiServerEndpoint: Invalid value: \"10.0.0.1\": address 10.0.0.1: missing port in address"), "{s}");
        assert!(!s.contains("0123456789abcdef"));
        j.discovery.bootstrap_token = None;
        j.discovery.file = Some(FileDiscovery { kube_config_path: "http://x/y".into() });
        j.discovery.tls_bootstrap_token = SecretString::default();
        assert!(validate_join_configuration(&j, &no_file).to_string().contains("the scheme must be https"));
        j.discovery.file = Some(FileDiscovery { kube_config_path: "/etc/x.conf".into() });
        assert!(validate_join_configuration(&j, &|_| true).is_empty());
        j.ca_cert_path = "ca.pem".into();
        assert!(validate_join_configuration(&j, &|_| true).to_string().contains("caCertPath"));
    }

    #[test]
    fn cert_validity() {
        let mut c = good_cluster();
        assert!(cert_validity_warnings(&c).is_empty());
        c.certificate_validity_period = Some(crate::Duration::from_hours(100_000));
        let w = cert_validity_warnings(&c);
        assert_eq!(w.len(), 2);
        assert!(w[0].contains(
            "the value 100000h0m0s is more than the recommended default for certificate expiration: 8760h0m0s"
        ));
    }
}
