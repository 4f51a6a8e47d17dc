//! A TLS-terminating proxy that impersonates a server with a certificate from a CA of its own:
//! for tests of clients that must refuse a server whose certificate does not chain to the CA they
//! trust (e.g. `join` discovery's second, CA-pinned fetch of `cluster-info`).
//!
//! The CA and the server certificate are generated at run time with the `openssl` CLI inside a
//! node (nothing is checked in); the proxy is `socat` in the node's network namespace, forwarding
//! every connection over a fresh TLS connection to the real server (whose certificate it does not
//! verify).
//!
//! ```no_run
//! use kubeadm_testbed::{Bed, tlsproxy};
//! let bed = Bed::builder().name("proxy").nodes(2).start()?;
//! let n1 = bed.node(0);
//! let cert = tlsproxy::foreign_server_cert(n1, "/run/foreign-ca", n1.ip())?;
//! let upstream = format!("{}:6443", n1.ip());
//! let _proxy = tlsproxy::start(n1, 7443, &cert, &upstream)?; // https://<n1>:7443 -> the API server
//! # Ok::<(), kubeadm_testbed::Error>(())
//! ```

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::{Node, NodeProcess, Result, wait_for};

const OPENSSL: &str = "/usr/bin/openssl";
const SOCAT: &str = "/usr/bin/socat";

/// How long [`start`] waits for the proxy to listen.
pub const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A CA and a server certificate signed by it, as paths inside a node (PEM).
#[derive(Debug, Clone)]
pub struct ForeignCert {
    /// The CA's certificate.
    pub ca_cert: String,
    /// The server's certificate.
    pub cert: String,
    /// The server's private key.
    pub key: String,
}

/// Generates, in `dir` inside `node`, a fresh self-signed CA (`CN=kubeadm-rs-foreign-ca`, ECDSA
/// P-256, valid one day) and a server certificate signed by it for `ip` (SAN `IP:<ip>`,
/// `serverAuth`): a certificate that is valid for the address but whose issuer no client of the
/// cluster trusts.
pub fn foreign_server_cert(node: &Node, dir: &str, ip: Ipv4Addr) -> Result<ForeignCert> {
    let p = |name: &str| format!("{dir}/{name}");
    let out = ForeignCert { ca_cert: p("ca.crt"), cert: p("server.crt"), key: p("server.key") };
    node.write_file(p("server.ext"), format!("subjectAltName=IP:{ip}\nextendedKeyUsage=serverAuth\n"))?;
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca: Vec<String> = vec!["req".into(), "-x509".into()];
    ca.extend(ec.map(String::from));
    ca.extend(
        ["-keyout", &p("ca.key"), "-out", &out.ca_cert, "-days", "1", "-subj", "/CN=kubeadm-rs-foreign-ca"]
            .map(String::from),
    );
    node.exec_ok(OPENSSL, &ca, &[])?;
    let mut csr: Vec<String> = vec!["req".into(), "-new".into()];
    csr.extend(ec.map(String::from));
    csr.extend(
        ["-keyout", &out.key, "-out", &p("server.csr"), "-subj", "/CN=kube-apiserver"].map(String::from),
    );
    node.exec_ok(OPENSSL, &csr, &[])?;
    let sign = [
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &out.ca_cert,
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-CAserial",
        &p("ca.srl"),
        "-out",
        &out.cert,
        "-days",
        "1",
        "-extfile",
        &p("server.ext"),
    ];
    node.exec_ok(OPENSSL, sign, &[])?;
    Ok(out)
}

/// Starts `socat` in `node`: it accepts TLS on `port` (all addresses) with `cert`, and forwards
/// each connection over TLS to `upstream` (`host:port`, certificate not verified). Returns once
/// the port listens; dropping the handle stops the proxy.
pub fn start(node: &Node, port: u16, cert: &ForeignCert, upstream: &str) -> Result<NodeProcess> {
    let listen = format!("OPENSSL-LISTEN:{port},cert={},key={},verify=0,fork,reuseaddr", cert.cert, cert.key);
    let proc = node.spawn(SOCAT, [listen, format!("OPENSSL:{upstream},verify=0")], &[])?;
    let filter = format!("sport = :{port}");
    wait_for(&format!("the TLS proxy listening on {}:{port}", node.name()), LISTEN_TIMEOUT, || {
        let out = node.exec_ok("/usr/bin/ss", ["-Hltn", filter.as_str()], &[]).map_err(|e| e.to_string())?;
        (!out.trim().is_empty()).then_some(()).ok_or_else(|| "not listening yet".to_string())
    })?;
    Ok(proc)
}
