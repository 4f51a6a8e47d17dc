//! Facts kubeadm's dynamic defaults read from the host: the node name (hostname), the default
//! advertise address (apimachinery's `ChooseHostInterface`), the CA-certificate directories to mount
//! into the API server and controller-manager, and the `*_proxy` environment variables.
//! Everything goes through [`HostEnv`], so tests fake it.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::hostenv::{HostEnv, Interface, io_error_text};

/// `/proc/net/route`.
pub const IPV4_ROUTE_FILE: &str = "/proc/net/route";
/// `/proc/net/ipv6_route`.
pub const IPV6_ROUTE_FILE: &str = "/proc/net/ipv6_route";
/// `caCertsExtraVolumePaths` of upstream's controlplane/volumes.go, mounted when they exist
/// (in addition to `/etc/ssl/certs`, always mounted).
pub const CA_CERTS_EXTRA_VOLUME_PATHS: [&str; 5] = [
    "/etc/pki/ca-trust",
    "/etc/pki/tls/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
];
/// `DefaultAPIServerBindAddress`: used when the host has no default route.
pub const DEFAULT_API_SERVER_BIND_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// Errors while gathering host facts.
#[derive(Debug, thiserror::Error)]
pub enum HostFactsError {
    /// The hostname could not be read.
    #[error("couldn't determine hostname: {0}")]
    Hostname(#[source] io::Error),
    /// The hostname is empty after trimming.
    #[error("empty hostname is invalid")]
    EmptyHostname,
    /// No default route exists (kubeadm then falls back to 0.0.0.0 with a warning).
    #[error("no default routes found in \"{IPV4_ROUTE_FILE}\" or \"{IPV6_ROUTE_FILE}\"")]
    NoRoutes,
    /// A route file could not be read or parsed.
    #[error("failed to read routes from {path:?}: {reason}")]
    Routes {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Interfaces could not be listed.
    #[error("failed to list network interfaces: {0}")]
    Interfaces(#[source] io::Error),
    /// No usable address.
    #[error("{0}")]
    NoAddress(String),
}

/// Upstream's `GetHostname`: the override or the kernel's hostname, trimmed and lower-cased.
pub fn node_name(host: &dyn HostEnv, override_name: &str) -> Result<String, HostFactsError> {
    let name = if override_name.is_empty() {
        host.hostname().map_err(HostFactsError::Hostname)?
    } else {
        override_name.to_string()
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(HostFactsError::EmptyHostname);
    }
    Ok(name.to_lowercase())
}

/// A default route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultRoute {
    /// Interface the route transits.
    pub interface: String,
    /// IPv4 (true) or IPv6.
    pub ipv4: bool,
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Default routes from `/proc/net/route` text (destination `00000000`).
pub fn parse_ipv4_default_routes(text: &str) -> Result<Vec<DefaultRoute>, String> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with("Iface") && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            return Err(format!("malformed route line {line:?}"));
        }
        for field in [f[1], f[2]] {
            match hex_bytes(field) {
                Some(b) if b.len() == 4 => {}
                _ => return Err("invalid IPv4 address in route".into()),
            }
        }
        if f[1] == "00000000" {
            out.push(DefaultRoute { interface: f[0].to_string(), ipv4: true });
        }
    }
    Ok(out)
}

/// Default routes from `/proc/net/ipv6_route` text (destination `::`, gateway not `::`).
pub fn parse_ipv6_default_routes(text: &str) -> Result<Vec<DefaultRoute>, String> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            return Err(format!("malformed route line {line:?}"));
        }
        let dest = hex_bytes(f[0]).filter(|b| b.len() == 16).ok_or("invalid IPv6 address in route")?;
        let gw = hex_bytes(f[4]).filter(|b| b.len() == 16).ok_or("invalid IPv6 address in route")?;
        if dest.iter().any(|b| *b != 0) || gw.iter().all(|b| *b == 0) {
            continue;
        }
        out.push(DefaultRoute { interface: f[9].to_string(), ipv4: false });
    }
    Ok(out)
}

fn is_global_unicast(ip: &IpAddr) -> bool {
    // Go's IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local, or broadcast.
    match ip {
        IpAddr::V4(a) => {
            !(a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || a.is_link_local()
                || a.is_broadcast())
        }
        IpAddr::V6(a) => {
            !(a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || (a.segments()[0] & 0xffc0) == 0xfe80)
                && a.to_ipv4_mapped().is_none_or(|v4| is_global_unicast(&IpAddr::V4(v4)))
        }
    }
}

fn family_matches(ip: &IpAddr, ipv4: bool) -> bool {
    match ip {
        IpAddr::V4(_) => ipv4,
        IpAddr::V6(a) => {
            if a.to_ipv4_mapped().is_some() {
                ipv4
            } else {
                !ipv4
            }
        }
    }
}

fn global_ip(intf: &Interface, ipv4: bool) -> Option<IpAddr> {
    if !intf.up {
        return None;
    }
    intf.addrs.iter().find(|a| family_matches(a, ipv4) && is_global_unicast(a)).copied()
}

/// Chooses the address of the host as apimachinery's `ChooseHostInterface` does (IPv4 preferred):
/// the first global unicast address of an interface with a default route, else a global address on
/// the loopback interface; without `/proc/net/route`, any up, non-loopback, non-P2P interface.
pub fn choose_host_interface(host: &dyn HostEnv) -> Result<IpAddr, HostFactsError> {
    choose_host_interface_for(host, &[true, false])
}

/// [`choose_host_interface`] with an explicit family preference (`true` = IPv4).
pub fn choose_host_interface_for(host: &dyn HostEnv, families: &[bool]) -> Result<IpAddr, HostFactsError> {
    let intfs = host.interfaces().map_err(HostFactsError::Interfaces)?;
    let v4 = match host.read_file(Path::new(IPV4_ROUTE_FILE)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // No route file: pick from the interfaces directly.
            if intfs.is_empty() {
                return Err(HostFactsError::NoAddress("no interfaces found on host.".into()));
            }
            for &fam in families {
                for i in intfs.iter().filter(|i| i.up && !i.loopback && !i.point_to_point) {
                    if let Some(ip) = global_ip(i, fam) {
                        return Ok(ip);
                    }
                }
            }
            return Err(HostFactsError::NoAddress(
                "no acceptable interface with global unicast address found on host".into(),
            ));
        }
        Err(e) => {
            return Err(HostFactsError::Routes { path: IPV4_ROUTE_FILE.into(), reason: io_error_text(&e) });
        }
        Ok(d) => d,
    };
    let mut routes = parse_ipv4_default_routes(&String::from_utf8_lossy(&v4))
        .map_err(|reason| HostFactsError::Routes { path: IPV4_ROUTE_FILE.into(), reason })?;
    if let Ok(v6) = host.read_file(Path::new(IPV6_ROUTE_FILE)) {
        routes.extend(parse_ipv6_default_routes(&String::from_utf8_lossy(&v6)).unwrap_or_default());
    }
    if routes.is_empty() {
        return Err(HostFactsError::NoRoutes);
    }
    for &fam in families {
        for r in routes.iter().filter(|r| r.ipv4 == fam) {
            if let Some(ip) = intfs.iter().find(|i| i.name == r.interface).and_then(|i| global_ip(i, fam)) {
                return Ok(ip);
            }
            if let Some(ip) = intfs.iter().filter(|i| i.loopback).find_map(|i| global_ip(i, fam)) {
                return Ok(ip);
            }
        }
    }
    Err(HostFactsError::NoAddress("unable to select an IP from default routes.".into()))
}

/// The default advertise address as kubeadm's `ChooseAPIServerBindAddress(nil)`: the chosen host
/// address, or `0.0.0.0` plus upstream's warning text when there is no default route.
pub fn default_advertise_address(host: &dyn HostEnv) -> Result<(IpAddr, Option<String>), HostFactsError> {
    match choose_host_interface(host) {
        Ok(ip) => Ok((ip, None)),
        Err(e @ HostFactsError::NoRoutes) => Ok((
            DEFAULT_API_SERVER_BIND_ADDRESS,
            Some(format!("WARNING: could not obtain a bind address for the API Server: {e}; using: 0.0.0.0")),
        )),
        Err(e) => Err(e),
    }
}

/// The IPv6 address the same rules would choose when IPv6 is preferred (for dual-stack defaults).
pub fn host_ipv6(host: &dyn HostEnv) -> Option<Ipv6Addr> {
    match choose_host_interface_for(host, &[false]) {
        Ok(IpAddr::V6(a)) => Some(a),
        _ => None,
    }
}

/// The extra CA-certificate directories that exist on this host (each becomes a hostPath volume
/// named like the path with `/` → `-`, leading dash removed).
pub fn ca_cert_extra_dirs(host: &dyn HostEnv) -> Vec<PathBuf> {
    CA_CERTS_EXTRA_VOLUME_PATHS.iter().map(PathBuf::from).filter(|p| host.stat_is_dir(p).is_ok()).collect()
}

/// Upstream's `GetProxyEnvVars`: variables whose lower-cased name ends in `_proxy` and whose value is
/// non-empty, in environment order (passed to the control-plane static Pods).
pub fn proxy_env_vars(host: &dyn HostEnv) -> Vec<(String, String)> {
    host.environ()
        .into_iter()
        .filter(|(k, v)| k.to_lowercase().ends_with("_proxy") && !v.is_empty())
        .collect()
}

/// All host facts at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    /// Lower-cased hostname (default node name).
    pub node_name: String,
    /// Default advertise address (0.0.0.0 without a default route).
    pub advertise_address: IpAddr,
    /// Warning to print when the address fell back to 0.0.0.0.
    pub advertise_address_warning: Option<String>,
    /// IPv6 address for dual-stack, if any.
    pub ipv6_address: Option<Ipv6Addr>,
    /// Existing extra CA-certificate dirs.
    pub ca_cert_dirs: Vec<PathBuf>,
    /// `*_proxy` environment variables.
    pub proxy_env: Vec<(String, String)>,
}

impl HostFacts {
    /// Gathers the facts; `node_name_override` is `--node-name` / `nodeRegistration.name`.
    pub fn gather(host: &dyn HostEnv, node_name_override: &str) -> Result<Self, HostFactsError> {
        let (advertise_address, advertise_address_warning) = default_advertise_address(host)?;
        Ok(Self {
            node_name: node_name(host, node_name_override)?,
            advertise_address,
            advertise_address_warning,
            ipv6_address: host_ipv6(host),
            ca_cert_dirs: ca_cert_extra_dirs(host),
            proxy_env: proxy_env_vars(host),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    fn intf(name: &str, up: bool, lo: bool, addrs: &[&str]) -> Interface {
        Interface {
            name: name.into(),
            up,
            loopback: lo,
            point_to_point: false,
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    const ROUTE: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

    #[test]
    fn node_name_rules() {
        let h = FakeHost::default();
        assert_eq!(node_name(&h, "").unwrap(), "node-1");
        assert_eq!(node_name(&h, "  My-Node ").unwrap(), "my-node");
        let mut h = FakeHost::default();
        h.hostname = "  ".into();
        assert!(matches!(node_name(&h, ""), Err(HostFactsError::EmptyHostname)));
    }

    #[test]
    fn chooses_default_route_interface() {
        let mut h = FakeHost::default();
        h.file(IPV4_ROUTE_FILE, ROUTE.as_bytes());
        h.interfaces = vec![
            intf("lo", true, true, &["127.0.0.1", "::1"]),
            intf("eth1", true, false, &["192.168.1.5"]),
            intf("eth0", true, false, &["fe80::1", "10.0.0.2", "fd00::2"]),
        ];
        assert_eq!(choose_host_interface(&h).unwrap(), "10.0.0.2".parse::<IpAddr>().unwrap());
        let facts = HostFacts::gather(&h, "").unwrap();
        assert_eq!(facts.advertise_address, "10.0.0.2".parse::<IpAddr>().unwrap());
        assert!(facts.advertise_address_warning.is_none());
        // No IPv6 default route: no IPv6 address.
        assert_eq!(facts.ipv6_address, None);
        h.file(
            IPV6_ROUTE_FILE,
            b"00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n",
        );
        assert_eq!(host_ipv6(&h), Some("fd00::2".parse().unwrap()));
        // Interface down: no address.
        h.interfaces[2].up = false;
        assert!(matches!(choose_host_interface(&h), Err(HostFactsError::NoAddress(_))));
    }

    #[test]
    fn global_address_on_loopback_is_used() {
        let mut h = FakeHost::default();
        h.file(IPV4_ROUTE_FILE, ROUTE.as_bytes());
        h.interfaces =
            vec![intf("lo", true, true, &["127.0.0.1", "10.1.1.1"]), intf("eth0", true, false, &[])];
        assert_eq!(choose_host_interface(&h).unwrap(), "10.1.1.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn no_default_route_falls_back_to_unspecified() {
        let mut h = FakeHost::default();
        h.file(IPV4_ROUTE_FILE, b"Iface\tDestination\tGateway\neth0\t0000000A\t00000000\t0001\n");
        h.interfaces = vec![intf("eth0", true, false, &["10.0.0.2"])];
        let (ip, warn) = default_advertise_address(&h).unwrap();
        assert_eq!(ip, DEFAULT_API_SERVER_BIND_ADDRESS);
        assert_eq!(
            warn.unwrap(),
            "WARNING: could not obtain a bind address for the API Server: no default routes found in \"/proc/net/route\" or \"/proc/net/ipv6_route\"; using: 0.0.0.0"
        );
    }

    #[test]
    fn without_route_file_any_interface() {
        let mut h = FakeHost::default();
        h.interfaces = vec![
            intf("lo", true, true, &["127.0.0.1"]),
            intf("eth0", false, false, &["10.0.0.3"]),
            intf("eth1", true, false, &["169.254.0.1", "10.0.0.4"]),
        ];
        assert_eq!(choose_host_interface(&h).unwrap(), "10.0.0.4".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn route_parsing() {
        assert_eq!(
            parse_ipv4_default_routes(ROUTE).unwrap(),
            vec![DefaultRoute { interface: "eth0".into(), ipv4: true }]
        );
        assert!(parse_ipv4_default_routes("eth0\tZZ\t00\n").is_err());
        // Loopback-style v6 default (gateway ::) is skipped.
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n";
        assert!(parse_ipv6_default_routes(v6).unwrap().is_empty());
    }

    #[test]
    fn ca_dirs_and_proxy_env() {
        let mut h = FakeHost::default();
        h.dirs.insert("/etc/ca-certificates".into(), vec![]);
        h.dirs.insert("/usr/share/ca-certificates".into(), vec![]);
        assert_eq!(
            ca_cert_extra_dirs(&h),
            vec![PathBuf::from("/etc/ca-certificates"), PathBuf::from("/usr/share/ca-certificates")]
        );
        h.set_env("HTTPS_PROXY", "http://p:3128");
        h.set_env("no_proxy", "10.0.0.0/8");
        h.set_env("FTP_Proxy", "");
        h.set_env("PROXY", "x");
        h.set_env("PATH", "/bin");
        assert_eq!(
            proxy_env_vars(&h),
            vec![
                ("HTTPS_PROXY".to_string(), "http://p:3128".to_string()),
                ("no_proxy".into(), "10.0.0.0/8".into())
            ]
        );
    }
}
