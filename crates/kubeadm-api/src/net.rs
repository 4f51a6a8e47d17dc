//! Network helpers shared by PKI, manifests and validation: CIDR lists (dual-stack), the first
//! service IP and DNS service IP, Go-compatible host:port splitting/joining, and the API server
//! endpoint URL (`GetControlPlaneEndpoint`).
//!
//! Parsing is "sloppy" like k8s.io/utils/net: IPv4 octets with leading zeros are accepted and read as
//! decimal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Errors of the network helpers. Messages follow upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// A CIDR in a list did not parse (netutils.ParseCIDRs).
    #[error("failed to parse cidr value:{cidr:?} with error:invalid CIDR address: {cidr}")]
    InvalidCidr {
        /// The offending CIDR.
        cidr: String,
    },
    /// The service subnet list is empty.
    #[error("received empty ServiceSubnet")]
    EmptyServiceSubnet,
    /// The index is outside of the CIDR.
    #[error("can't generate IP with index {index} from subnet. subnet too small. subnet: {subnet:?}")]
    IndexOutOfRange {
        /// Requested index.
        index: u128,
        /// The subnet.
        subnet: String,
    },
    /// Go `net.SplitHostPort` errors (`address <addr>: <why>`).
    #[error("address {addr}: {why}")]
    Address {
        /// The input.
        addr: String,
        /// Reason (`missing port in address`, ...).
        why: &'static str,
    },
    /// Invalid port in a host:port.
    #[error("hostport {hostport}: port {port} must be a valid number between 1 and 65535, inclusive")]
    InvalidHostPortPort {
        /// The input.
        hostport: String,
        /// The port part.
        port: String,
    },
    /// Host is neither an IP nor a DNS subdomain.
    #[error(
        "hostport {hostport}: host '{host}' must be a valid IP address or a valid RFC-1123 DNS subdomain"
    )]
    InvalidHost {
        /// The input.
        hostport: String,
        /// The host part.
        host: String,
    },
    /// `controlPlaneEndpoint` is invalid.
    #[error("invalid value {endpoint:?} given for controlPlaneEndpoint: {source}")]
    InvalidControlPlaneEndpoint {
        /// The endpoint.
        endpoint: String,
        /// Cause.
        #[source]
        source: Box<NetError>,
    },
    /// `bindPort` is invalid.
    #[error(
        "invalid value \"{port}\" given for api.bindPort: port must be a valid number between 1 and 65535, inclusive"
    )]
    InvalidBindPort {
        /// The port.
        port: i32,
    },
    /// `advertiseAddress` is invalid.
    #[error("invalid value `{address}` given for api.advertiseAddress")]
    InvalidAdvertiseAddress {
        /// The address.
        address: String,
    },
}

/// Parses an IP like Go's `netutils.ParseIPSloppy` (IPv4 octets may have leading zeros).
pub fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        // Go rejects zones ("fe80::1%eth0"); std does too.
        return Some(ip);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() == 4 {
        let mut octets = [0u8; 4];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            octets[i] = p.parse::<u8>().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    None
}

/// Parses a CIDR like Go's `netutils.ParseCIDRSloppy`; the result is the network (host bits
/// cleared), as Go's `*net.IPNet`.
pub fn parse_cidr_sloppy(s: &str) -> Option<IpNet> {
    let (ip, prefix) = s.split_once('/')?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let ip = parse_ip_sloppy(ip)?;
    let net = match ip {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::new(v4, prefix).ok()?),
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::new(v6, prefix).ok()?),
    };
    Some(net.trunc())
}

/// Parses a comma-separated CIDR list (`"10.96.0.0/12,fd00::/108"`), like
/// `netutils.ParseCIDRs(strings.Split(s, ","))`. An empty string is an error.
pub fn parse_cidr_list(s: &str) -> Result<Vec<IpNet>, NetError> {
    s.split(',')
        .map(|c| parse_cidr_sloppy(c).ok_or_else(|| NetError::InvalidCidr { cidr: c.to_string() }))
        .collect()
}

/// True if the two CIDRs are from different IP families (`netutils.IsDualStackCIDRs` for a pair).
pub fn is_dual_stack(cidrs: &[IpNet]) -> bool {
    let v4 = cidrs.iter().any(|c| matches!(c, IpNet::V4(_)));
    let v6 = cidrs.iter().any(|c| matches!(c, IpNet::V6(_)));
    v4 && v6
}

/// Number of addresses in a CIDR (`netutils.RangeSize`), saturating at `i64::MAX` (Go returns
/// `math.MaxInt64` for prefixes with more than 63 host bits).
pub fn range_size(net: &IpNet) -> i64 {
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if host_bits >= 63 { i64::MAX } else { 1i64 << host_bits }
}

/// The `index`-th address of a CIDR (`netutils.GetIndexedIP`).
pub fn indexed_ip(net: &IpNet, index: u128) -> Result<IpAddr, NetError> {
    let err = || NetError::IndexOutOfRange { index, subnet: net.to_string() };
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if host_bits < 128 && index >= (1u128 << host_bits) {
        return Err(err());
    }
    match net {
        IpNet::V4(n) => {
            let base = u128::from(u32::from(n.network()));
            let v = u32::try_from(base + index).map_err(|_| err())?;
            Ok(IpAddr::V4(Ipv4Addr::from(v)))
        }
        IpNet::V6(n) => {
            let base = u128::from(n.network());
            let v = base.checked_add(index).ok_or_else(err)?;
            Ok(IpAddr::V6(Ipv6Addr::from(v)))
        }
    }
}

/// The first CIDR of the service subnet list (`GetKubernetesServiceCIDR`).
pub fn kubernetes_service_cidr(service_subnets: &str) -> Result<IpNet, NetError> {
    parse_cidr_list(service_subnets)?.into_iter().next().ok_or(NetError::EmptyServiceSubnet)
}

/// The `kubernetes` Service IP: network + 1 of the first service CIDR (`GetAPIServerVirtualIP`).
pub fn api_server_virtual_ip(service_subnets: &str) -> Result<IpAddr, NetError> {
    indexed_ip(&kubernetes_service_cidr(service_subnets)?, 1)
}

/// The cluster DNS Service IP: network + 10 of the first service CIDR (`GetDNSIP`).
pub fn dns_ip(service_subnets: &str) -> Result<IpAddr, NetError> {
    indexed_ip(&kubernetes_service_cidr(service_subnets)?, 10)
}

/// Go's `net.JoinHostPort`: brackets hosts that contain a colon (IPv6).
pub fn join_host_port(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// Go's `net.SplitHostPort`, with the same error texts.
pub fn split_host_port(hostport: &str) -> Result<(String, String), NetError> {
    let err = |why| Err(NetError::Address { addr: hostport.to_string(), why });
    let Some(i) = hostport.rfind(':') else {
        return err("missing port in address");
    };
    let (host, j, k);
    if hostport.starts_with('[') {
        let Some(end) = hostport.find(']') else {
            return err("missing ']' in address");
        };
        if end + 1 == hostport.len() {
            return err("missing port in address");
        } else if end + 1 != i {
            if hostport.as_bytes()[end + 1] == b':' {
                return err("too many colons in address");
            }
            return err("missing port in address");
        }
        host = &hostport[1..end];
        j = 1;
        k = end + 1;
    } else {
        host = &hostport[..i];
        if host.contains(':') {
            return err("too many colons in address");
        }
        j = 0;
        k = 0;
    }
    if hostport[j..].contains('[') {
        return err("unexpected '[' in address");
    }
    if hostport[k..].contains(']') {
        return err("unexpected ']' in address");
    }
    Ok((host.to_string(), hostport[i + 1..].to_string()))
}

/// Parses a port in 1..=65535 (kubeadm `ParsePort`).
pub fn parse_port(port: &str) -> Option<u16> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match port.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => u16::try_from(p).ok(),
        _ => None,
    }
}

/// True if `s` is an RFC 1123 subdomain (`validation.IsDNS1123Subdomain` returns no errors).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    s.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

/// kubeadm's `ParseHostPort`: splits `host[:port]`; the port is empty when absent. The host must be
/// an IP or an RFC 1123 subdomain. Used for `controlPlaneEndpoint`.
pub fn parse_host_port(hostport: &str) -> Result<(String, String), NetError> {
    let (host, port) = match split_host_port(hostport) {
        Ok(hp) => hp,
        Err(_) => (hostport.to_string(), String::new()),
    };
    if !port.is_empty() && parse_port(&port).is_none() {
        return Err(NetError::InvalidHostPortPort { hostport: hostport.to_string(), port });
    }
    if parse_ip_sloppy(&host).is_some() || is_dns1123_subdomain(&host) {
        return Ok((host, port));
    }
    Err(NetError::InvalidHost { hostport: hostport.to_string(), host })
}

/// `https://<host:port>` with IPv6 brackets.
pub fn https_url(host: &str, port: impl std::fmt::Display) -> String {
    format!("https://{}", join_host_port(host, port))
}

/// The local API endpoint URL `https://<advertiseAddress>:<bindPort>` (`GetLocalAPIEndpoint`).
pub fn local_api_endpoint_url(advertise_address: &str, bind_port: i32) -> Result<String, NetError> {
    if !(1..=65535).contains(&bind_port) {
        return Err(NetError::InvalidBindPort { port: bind_port });
    }
    let ip = parse_ip_sloppy(advertise_address)
        .ok_or_else(|| NetError::InvalidAdvertiseAddress { address: advertise_address.to_string() })?;
    Ok(https_url(&ip.to_string(), bind_port))
}

/// The control-plane URL (`GetControlPlaneEndpoint`): `controlPlaneEndpoint` (port defaulting to
/// `bind_port`) if set, else the local endpoint. The `bool` is true when the endpoint's port differs
/// from `bind_port` (upstream prints a warning then).
pub fn control_plane_endpoint_url(
    control_plane_endpoint: &str,
    advertise_address: &str,
    bind_port: i32,
) -> Result<(String, bool), NetError> {
    let local = local_api_endpoint_url(advertise_address, bind_port)?;
    if control_plane_endpoint.is_empty() {
        return Ok((local, false));
    }
    let (host, port) =
        parse_host_port(control_plane_endpoint).map_err(|e| NetError::InvalidControlPlaneEndpoint {
            endpoint: control_plane_endpoint.to_string(),
            source: Box::new(e),
        })?;
    let bind = bind_port.to_string();
    if port.is_empty() {
        Ok((https_url(&host, &bind), false))
    } else {
        let differs = port != bind;
        Ok((https_url(&host, &port), differs))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let v = parse_cidr_list("10.96.0.0/12,fd00::/108").unwrap();
        assert_eq!(v.len(), 2);
        assert!(is_dual_stack(&v));
        assert_eq!(parse_cidr_sloppy("10.96.5.3/12").unwrap().to_string(), "10.96.0.0/12");
        assert_eq!(parse_cidr_sloppy("010.096.0.0/12").unwrap().to_string(), "10.96.0.0/12");
        assert!(parse_cidr_list("").is_err());
        assert!(parse_cidr_list("10.96.0.0/33").is_err());
        assert_eq!(range_size(&parse_cidr_sloppy("10.96.0.0/12").unwrap()), 1 << 20);
        assert_eq!(range_size(&parse_cidr_sloppy("fd00::/64").unwrap()), i64::MAX);
    }

    #[test]
    fn service_ips() {
        assert_eq!(api_server_virtual_ip("10.96.0.0/12").unwrap().to_string(), "10.96.0.1");
        assert_eq!(dns_ip("10.96.0.0/12").unwrap().to_string(), "10.96.0.10");
        assert_eq!(dns_ip("fd00::/108,10.96.0.0/12").unwrap().to_string(), "fd00::a");
        assert!(dns_ip("10.96.0.0/29").is_err());
        assert_eq!(dns_ip("10.96.0.0/28").unwrap().to_string(), "10.96.0.10");
    }

    #[test]
    fn host_port() {
        assert_eq!(split_host_port("[::1]:6443").unwrap(), ("::1".into(), "6443".into()));
        assert_eq!(split_host_port("a:1").unwrap(), ("a".into(), "1".into()));
        assert_eq!(split_host_port("a").unwrap_err().to_string(), "address a: missing port in address");
        assert_eq!(
            split_host_port("::1:2").unwrap_err().to_string(),
            "address ::1:2: too many colons in address"
        );
        assert_eq!(join_host_port("::1", 6443), "[::1]:6443");
        assert_eq!(parse_host_port("lb.example.com").unwrap(), ("lb.example.com".into(), String::new()));
        assert_eq!(parse_host_port("lb:8443").unwrap(), ("lb".into(), "8443".into()));
        assert!(parse_host_port("lb:99999").is_err());
        assert!(parse_host_port("LB_x").is_err());
        assert_eq!(parse_host_port("::1").unwrap(), ("::1".into(), String::new()));
    }

    #[test]
    fn endpoints() {
        assert_eq!(control_plane_endpoint_url("", "10.0.0.1", 6443).unwrap().0, "https://10.0.0.1:6443");
        assert_eq!(control_plane_endpoint_url("lb", "10.0.0.1", 6443).unwrap().0, "https://lb:6443");
        assert_eq!(
            control_plane_endpoint_url("lb:443", "10.0.0.1", 6443).unwrap(),
            ("https://lb:443".into(), true)
        );
        assert_eq!(control_plane_endpoint_url("", "fd00::1", 6443).unwrap().0, "https://[fd00::1]:6443");
        assert!(control_plane_endpoint_url("", "x", 6443).is_err());
    }
}
