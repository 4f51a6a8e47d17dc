//! [`HostEnv`]: everything preflight checks and host facts read from the machine, behind one trait
//! so that unit tests can fake `/proc`, ports, files, the uid, the environment and `PATH` look-ups.
//! [`RealHost`] is the implementation on the real machine.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Output of a command run through [`HostEnv::run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// True when the command exited with status 0.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// One network interface with its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Interface name (`eth0`).
    pub name: String,
    /// IFF_UP.
    pub up: bool,
    /// IFF_LOOPBACK.
    pub loopback: bool,
    /// IFF_POINTOPOINT.
    pub point_to_point: bool,
    /// Addresses in the order the kernel lists them.
    pub addrs: Vec<IpAddr>,
}

/// A runtime condition from the CRI `Status` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeCondition {
    /// `RuntimeReady`, `NetworkReady`.
    pub kind: String,
    /// Whether the condition holds.
    pub status: bool,
    /// Reason, when not.
    pub reason: String,
    /// Message, when not.
    pub message: String,
}

/// Errors of CRI operations, with upstream's wording where it matters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CriError {
    /// Connecting to the runtime failed (upstream: `NewRemoteRuntimeService` validating the connection).
    #[error("{0}")]
    Connect(String),
    /// A call failed.
    #[error("{0}")]
    Call(String),
    /// This build cannot perform the operation (no CRI client, no `crictl`).
    #[error("{0}")]
    Unsupported(String),
}

/// TLS material of an `https://` request through [`HostEnv::http_get`] (PEM, as read from the
/// files the configuration names).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsMaterial {
    /// CA certificates that verify the server; `None`: nothing to verify it with (kubeadm-rs has
    /// no system root store, so the request is not made).
    pub ca_pem: Option<Vec<u8>>,
    /// The client certificate chain and private key, when the server wants a client certificate.
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem", &self.ca_pem.as_ref().map(|c| c.len()))
            .field("client_pem", &self.client_pem.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Error of [`HostEnv::http_get`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpGetError {
    /// Not possible here (e.g. `https://` without a CA to verify the server with).
    #[error("{0}")]
    Unsupported(String),
    /// The request failed; the text is the error to report.
    #[error("{0}")]
    Failed(String),
}

/// Read access to the host, for preflight checks and host facts.
pub trait HostEnv {
    /// Real user id (upstream uses `os.Getuid`).
    fn uid(&self) -> u32;
    /// Number of CPUs usable by this process (Go's `runtime.NumCPU`: the affinity mask).
    fn num_cpus(&self) -> usize;
    /// Total RAM in MiB (`sysinfo`).
    fn total_mem_mb(&self) -> io::Result<u64>;
    /// `uname`: `(sysname, release)`.
    fn uname(&self) -> io::Result<(String, String)>;
    /// The host name as the kernel reports it.
    fn hostname(&self) -> io::Result<String>;
    /// Reads a whole file.
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// `stat`: Ok(true) for a directory, Ok(false) for anything else; NotFound when absent.
    fn stat_is_dir(&self, path: &Path) -> io::Result<bool>;
    /// First entry name of a directory, `None` when empty.
    fn first_dir_entry(&self, path: &Path) -> io::Result<Option<String>>;
    /// Tries to listen on TCP `address:port` (`None`: all addresses, dual stack), closing at once.
    fn try_listen(&self, address: Option<&str>, port: u16) -> io::Result<()>;
    /// One environment variable.
    fn env_var(&self, name: &str) -> Option<String>;
    /// The whole environment, in order.
    fn environ(&self) -> Vec<(String, String)>;
    /// `exec.LookPath`: the first executable named `exe` in `$PATH` (or `exe` itself if it has a `/`).
    fn look_path(&self, exe: &str) -> Option<PathBuf>;
    /// Runs a program found in `$PATH` and captures its output.
    fn run(&self, program: &str, args: &[&str]) -> io::Result<CommandOutput>;
    /// [`HostEnv::run`] with `input` written to the program's standard input (e.g.
    /// `iptables-restore`).
    fn run_with_input(&self, program: &str, args: &[&str], input: &str) -> io::Result<CommandOutput>;
    /// Resolves a host name (`net.LookupHost`).
    fn lookup_host(&self, name: &str) -> io::Result<Vec<IpAddr>>;
    /// Network interfaces with their addresses.
    fn interfaces(&self) -> io::Result<Vec<Interface>>;
    /// Whether cgroup v2 freezing works below `mountpoint` (system-validators creates a test cgroup
    /// and looks for `cgroup.freeze`). Returns `(supported, warning)`.
    fn cgroup_v2_freeze_supported(&self, mountpoint: &Path) -> (bool, Option<String>);
    /// CRI `Status`: the runtime conditions. The error of a failed connection is
    /// [`CriError::Connect`].
    fn cri_status(&self, socket: &str) -> Result<Vec<RuntimeCondition>, CriError>;
    /// Whether the runtime implements the CRI `RuntimeConfig` call.
    fn cri_runtime_config_implemented(&self, socket: &str) -> Result<bool, CriError>;
    /// The runtime's configured sandbox (pause) image.
    fn cri_sandbox_image(&self, socket: &str) -> Result<String, CriError>;
    /// Whether an image is present.
    fn cri_image_exists(&self, socket: &str, image: &str) -> Result<bool, CriError>;
    /// Pulls one image.
    fn cri_pull_image(&self, socket: &str, image: &str) -> Result<(), CriError>;
    /// HTTP GET returning the body (used for external etcd's `/version`); `https://` URLs use
    /// `tls` (server verified with its CA, client certificate if given).
    fn http_get(&self, url: &str, tls: Option<&TlsMaterial>) -> Result<String, HttpGetError>;
}

/// The real machine.
#[derive(Clone, Debug, Default)]
pub struct RealHost;

fn socket_path(socket: &str) -> &str {
    socket.strip_prefix("unix://").unwrap_or(socket)
}

impl RealHost {
    fn crictl(&self, socket: &str, args: &[&str]) -> Result<CommandOutput, CriError> {
        if self.look_path("crictl").is_none() {
            return Err(CriError::Unsupported(
                "kubeadm-rs talks to the container runtime through crictl, which was not found in system path"
                    .to_string(),
            ));
        }
        let endpoint = if socket.contains("://") { socket.to_string() } else { format!("unix://{socket}") };
        let mut full = vec!["--runtime-endpoint", endpoint.as_str(), "--image-endpoint", endpoint.as_str()];
        full.extend_from_slice(args);
        self.run("crictl", &full).map_err(|e| CriError::Call(format!("cannot execute crictl: {e}")))
    }

    /// Connection validation as upstream's CRI client does it (dial the socket), with its wording.
    fn dial(&self, socket: &str) -> Result<(), CriError> {
        let path = socket_path(socket);
        std::os::unix::net::UnixStream::connect(path).map(|_| ()).map_err(|e| {
            CriError::Connect(format!(
                "failed to create new CRI runtime service: validate service connection: validate CRI v1 runtime API for endpoint {socket:?}: rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix {path}: connect: {}\"",
                io_error_text(&e)
            ))
        })
    }
}

/// The C library's text of an OS error, lower-cased like Go's syscall errors (`no such file or directory`).
pub fn io_error_text(e: &io::Error) -> String {
    let s = e.to_string();
    // std formats "No such file or directory (os error 2)".
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => s,
    }
}

fn json_string_field(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\"");
    let at = json.find(&pat)? + pat.len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

/// The runtime conditions of `crictl info`'s output: `{"status": {"conditions": [{...}, ...]},
/// ...}`. Each condition object is read on its own: crictl re-marshals the status through a Go
/// map, so its keys come sorted (`message`, `reason`, `status`, `type`), not in the CRI's order.
fn parse_cri_conditions(json: &str) -> Vec<RuntimeCondition> {
    let Some(at) = json.find("\"conditions\"") else { return Vec::new() };
    let Some(open) = json[at..].find('[') else { return Vec::new() };
    let mut conds = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, None);
    for (i, ch) in json[at + open + 1..].char_indices() {
        let i = at + open + 1 + i;
        if in_string {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_string = true,
            '{' => {
                if depth == 0 {
                    start = Some(i);
                }
                depth += 1;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some(s) = start.take()
                {
                    let obj = &json[s..=i];
                    let status = obj
                        .find("\"status\"")
                        .map(|j| {
                            obj[j + 8..].trim_start().trim_start_matches(':').trim_start().starts_with("true")
                        })
                        .unwrap_or(false);
                    conds.push(RuntimeCondition {
                        kind: json_string_field(obj, "type").unwrap_or_default(),
                        status,
                        reason: json_string_field(obj, "reason").unwrap_or_default(),
                        message: json_string_field(obj, "message").unwrap_or_default(),
                    });
                }
            }
            ']' if depth == 0 => break,
            _ => {}
        }
    }
    conds
}

impl HostEnv for RealHost {
    fn uid(&self) -> u32 {
        nix::unistd::getuid().as_raw()
    }

    fn num_cpus(&self) -> usize {
        match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
            Ok(set) => (0..nix::sched::CpuSet::count()).filter(|&i| set.is_set(i).unwrap_or(false)).count(),
            Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    fn total_mem_mb(&self) -> io::Result<u64> {
        let info = nix::sys::sysinfo::sysinfo().map_err(io::Error::from)?;
        Ok(info.ram_total() / 1024 / 1024)
    }

    fn uname(&self) -> io::Result<(String, String)> {
        let u = nix::sys::utsname::uname().map_err(io::Error::from)?;
        Ok((
            u.sysname().to_string_lossy().trim().to_string(),
            u.release().to_string_lossy().trim().to_string(),
        ))
    }

    fn hostname(&self) -> io::Result<String> {
        nix::unistd::gethostname().map_err(io::Error::from).map(|h| h.to_string_lossy().into_owned())
    }

    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn stat_is_dir(&self, path: &Path) -> io::Result<bool> {
        fs::metadata(path).map(|m| m.is_dir())
    }

    fn first_dir_entry(&self, path: &Path) -> io::Result<Option<String>> {
        let mut rd = fs::read_dir(path)?;
        match rd.next() {
            None => Ok(None),
            Some(e) => Ok(Some(e?.file_name().to_string_lossy().into_owned())),
        }
    }

    fn try_listen(&self, address: Option<&str>, port: u16) -> io::Result<()> {
        let listener = match address {
            Some(a) => {
                let ip: IpAddr = a
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{a}: {e}")))?;
                TcpListener::bind(SocketAddr::new(ip, port))?
            }
            // Go listens on [::] (dual stack) for ":port", falling back to 0.0.0.0 without IPv6.
            None => match TcpListener::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)) {
                Ok(l) => l,
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
                Err(_) => TcpListener::bind(("0.0.0.0", port))?,
            },
        };
        drop(listener);
        Ok(())
    }

    fn env_var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn environ(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
            .collect()
    }

    fn look_path(&self, exe: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let is_exec =
            |p: &Path| fs::metadata(p).is_ok_and(|m| !m.is_dir() && m.permissions().mode() & 0o111 != 0);
        if exe.contains('/') {
            let p = PathBuf::from(exe);
            return is_exec(&p).then_some(p);
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir })
            .map(|dir| dir.join(exe))
            .find(|p| is_exec(p))
    }

    fn run(&self, program: &str, args: &[&str]) -> io::Result<CommandOutput> {
        let out = Command::new(program).args(args).output()?;
        Ok(CommandOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn run_with_input(&self, program: &str, args: &[&str], input: &str) -> io::Result<CommandOutput> {
        use std::io::Write as _;
        use std::process::Stdio;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().ok_or_else(|| io::Error::other("no stdin pipe"))?;
        let data = input.as_bytes().to_vec();
        // A writer thread: the program may fill its output pipes before it has read everything.
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let out = child.wait_with_output()?;
        match writer.join() {
            Ok(Ok(())) => {}
            // The program exited without reading everything: its status says why.
            Ok(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::Error::other("stdin writer panicked")),
        }
        Ok(CommandOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn lookup_host(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        let mut ips: Vec<IpAddr> = Vec::new();
        for a in (name, 0u16).to_socket_addrs()? {
            if !ips.contains(&a.ip()) {
                ips.push(a.ip());
            }
        }
        Ok(ips)
    }

    fn interfaces(&self) -> io::Result<Vec<Interface>> {
        use nix::net::if_::InterfaceFlags;
        let mut map: BTreeMap<String, (usize, Interface)> = BTreeMap::new();
        for (order, ifa) in nix::ifaddrs::getifaddrs().map_err(io::Error::from)?.enumerate() {
            let entry = map.entry(ifa.interface_name.clone()).or_insert_with(|| {
                (
                    order,
                    Interface {
                        name: ifa.interface_name.clone(),
                        up: ifa.flags.contains(InterfaceFlags::IFF_UP),
                        loopback: ifa.flags.contains(InterfaceFlags::IFF_LOOPBACK),
                        point_to_point: ifa.flags.contains(InterfaceFlags::IFF_POINTOPOINT),
                        addrs: Vec::new(),
                    },
                )
            });
            if let Some(addr) = ifa.address {
                if let Some(v4) = addr.as_sockaddr_in() {
                    entry.1.addrs.push(IpAddr::V4(v4.ip()));
                } else if let Some(v6) = addr.as_sockaddr_in6() {
                    entry.1.addrs.push(IpAddr::V6(v6.ip()));
                }
            }
        }
        let mut list: Vec<(usize, Interface)> = map.into_values().collect();
        list.sort_by_key(|(order, _)| *order);
        Ok(list.into_iter().map(|(_, i)| i).collect())
    }

    fn cgroup_v2_freeze_supported(&self, mountpoint: &Path) -> (bool, Option<String>) {
        let dir = match tempfile::Builder::new().prefix("freezer-test").tempdir_in(mountpoint) {
            Ok(d) => d,
            Err(e) => return (false, Some(e.to_string())),
        };
        let freeze = dir.path().join("cgroup.freeze");
        let result = match fs::metadata(&freeze) {
            Ok(_) => (true, None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (false, None),
            Err(e) => (
                true,
                Some(format!(
                    "could not stat \"cgroup.freeze\" file in {:?}: {e}",
                    dir.path().display().to_string()
                )),
            ),
        };
        // A cgroup directory is removed with rmdir; TempDir's recursive removal would fail on the
        // kernel's control files.
        let path = dir.keep();
        if let Err(e) = fs::remove_dir(&path) {
            return (
                result.0,
                Some(format!("error removing directory {:?}: {e}", path.display().to_string())),
            );
        }
        result
    }

    fn cri_status(&self, socket: &str) -> Result<Vec<RuntimeCondition>, CriError> {
        self.dial(socket)?;
        let out = self.crictl(socket, &["info"])?;
        if !out.success {
            return Err(CriError::Call(format!("container runtime is not running: {}", out.stderr.trim())));
        }
        Ok(parse_cri_conditions(&out.stdout))
    }

    fn cri_runtime_config_implemented(&self, socket: &str) -> Result<bool, CriError> {
        self.dial(socket)?;
        let out = self.crictl(socket, &["runtime-config"])?;
        if out.success {
            return Ok(true);
        }
        if out.stderr.contains("Unimplemented") || out.stderr.contains("unknown method") {
            return Ok(false);
        }
        // Older crictl without the sub-command: cannot tell; assume implemented (no warning).
        Ok(true)
    }

    fn cri_sandbox_image(&self, socket: &str) -> Result<String, CriError> {
        self.dial(socket)?;
        let out = self.crictl(socket, &["info"])?;
        json_string_field(&out.stdout, "sandboxImage")
            .ok_or_else(|| CriError::Call("no 'sandboxImage' field in CRI info config".to_string()))
    }

    fn cri_image_exists(&self, socket: &str, image: &str) -> Result<bool, CriError> {
        self.dial(socket)?;
        let out = self.crictl(socket, &["inspecti", "-q", image])?;
        Ok(out.success)
    }

    fn cri_pull_image(&self, socket: &str, image: &str) -> Result<(), CriError> {
        self.dial(socket)?;
        let out = self.crictl(socket, &["pull", image])?;
        if out.success { Ok(()) } else { Err(CriError::Call(out.stderr.trim().to_string())) }
    }

    fn http_get(&self, url: &str, tls: Option<&TlsMaterial>) -> Result<String, HttpGetError> {
        use std::time::Duration;
        let (https, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(r), _) => (false, r),
            (_, Some(r)) => (true, r),
            _ => return Err(HttpGetError::Unsupported(format!("unsupported URL scheme in {url:?}"))),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let failed = |e: &dyn std::fmt::Display| HttpGetError::Failed(format!("Get {url:?}: {e}"));
        let io_failed = |e: io::Error| failed(&io_error_text(&e));
        let (host, addr_str) = split_authority(authority, if https { 443 } else { 80 });
        let addr = addr_str
            .to_socket_addrs()
            .map_err(io_failed)?
            .next()
            .ok_or_else(|| HttpGetError::Failed(format!("Get {url:?}: no address for {authority}")))?;
        let timeout = Duration::from_secs(10);
        let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n");
        let connect = || -> io::Result<std::net::TcpStream> {
            let s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))?;
            Ok(s)
        };
        let resp = if https {
            let Some(tls) = tls.filter(|t| t.ca_pem.is_some()) else {
                return Err(HttpGetError::Unsupported(format!(
                    "no CA certificate to verify {url:?} with (kubeadm-rs has no system root store)"
                )));
            };
            let config = tls_client_config(tls).map_err(|e| failed(&e))?;
            let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| failed(&e))?;
            let conn = rustls::ClientConnection::new(config, name).map_err(|e| failed(&e))?;
            let mut stream = rustls::StreamOwned::new(conn, connect().map_err(io_failed)?);
            exchange(&mut stream, &request).map_err(io_failed)?
        } else {
            exchange(&mut connect().map_err(io_failed)?, &request).map_err(io_failed)?
        };
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((resp.as_str(), ""));
        let status = head.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok()).unwrap_or(0);
        if (500..=599).contains(&status) {
            return Err(HttpGetError::Failed(format!(
                "server responded with non-successful status: {status}"
            )));
        }
        Ok(body.to_string())
    }
}

/// `host` (without brackets) and `host:port` of a URL authority.
fn split_authority(authority: &str, default_port: u16) -> (&str, String) {
    if let Some(rest) = authority.strip_prefix('[') {
        // [v6] or [v6]:port
        let (h, after) = rest.split_once(']').unwrap_or((rest, ""));
        let port = after.strip_prefix(':').unwrap_or("");
        let port = if port.is_empty() { default_port.to_string() } else { port.to_string() };
        return (h, format!("[{h}]:{port}"));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, format!("{h}:{p}")),
        _ => (authority, format!("{authority}:{default_port}")),
    }
}

/// Sends `request` and reads the response until the server closes the connection (HTTP/1.0). A
/// TLS peer that closes without `close_notify` after sending a response is accepted.
fn exchange(stream: &mut (impl std::io::Read + std::io::Write), request: &str) -> io::Result<String> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut buf = Vec::new();
    match stream.read_to_end(&mut buf) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !buf.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A rustls client configuration (aws-lc-rs, like the rest of kubeadm-rs) trusting the CA
/// certificates of `tls` and presenting its client certificate, if any.
fn tls_client_config(tls: &TlsMaterial) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(tls.ca_pem.as_deref().unwrap_or_default()) {
        let c = c.map_err(|e| format!("invalid CA certificate: {e}"))?;
        roots.add(c).map_err(|e| format!("invalid CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no CA certificate found in the CA file".into());
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match &tls.client_pem {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("invalid client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("invalid client key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("invalid client certificate: {e}"))?
        }
    };
    Ok(std::sync::Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_go_like() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(io_error_text(&e), "no such file or directory");
    }

    #[test]
    fn json_field() {
        let j = r#"{"config": {"sandboxImage": "registry.k8s.io/pause:3.10.1", "x": 1}}"#;
        assert_eq!(json_string_field(j, "sandboxImage").as_deref(), Some("registry.k8s.io/pause:3.10.1"));
        assert_eq!(json_string_field(j, "nope"), None);
    }

    #[test]
    fn cri_conditions_in_crictl_key_order() {
        // crictl 1.37 `info` on containerd without a CNI configuration (keys sorted by crictl).
        let j = r#"{
  "status": {
    "conditions": [
      {
        "message": "",
        "reason": "",
        "status": true,
        "type": "RuntimeReady"
      },
      {
        "message": "Network plugin returns error: cni plugin not initialized",
        "reason": "NetworkPluginNotReady",
        "status": false,
        "type": "NetworkReady"
      }
    ]
  },
  "config": {"sandboxImage": "registry.k8s.io/pause:3.10.2"}
}"#;
        let c = parse_cri_conditions(j);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!((c[0].kind.as_str(), c[0].status, c[0].reason.as_str()), ("RuntimeReady", true, ""));
        assert_eq!((c[1].kind.as_str(), c[1].status), ("NetworkReady", false));
        assert_eq!(c[1].reason, "NetworkPluginNotReady");
        assert_eq!(c[1].message, "Network plugin returns error: cni plugin not initialized");
        // The CRI's own order, and a brace inside a string.
        let j = r#"{"status":{"conditions":[{"type":"RuntimeReady","status":false,"reason":"NotReady","message":"x}"},{"type":"NetworkReady","status":true}]}}"#;
        let c = parse_cri_conditions(j);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!((c[0].kind.as_str(), c[0].status, c[0].message.as_str()), ("RuntimeReady", false, "x}"));
        assert_eq!((c[1].kind.as_str(), c[1].status), ("NetworkReady", true));
        assert!(parse_cri_conditions("{}").is_empty());
    }

    #[test]
    fn authority_split() {
        assert_eq!(split_authority("10.0.0.1:2379", 443), ("10.0.0.1", "10.0.0.1:2379".to_string()));
        assert_eq!(split_authority("etcd.example", 443), ("etcd.example", "etcd.example:443".to_string()));
        assert_eq!(split_authority("[fd00::1]:2379", 443), ("fd00::1", "[fd00::1]:2379".to_string()));
        assert_eq!(split_authority("[fd00::1]", 80), ("fd00::1", "[fd00::1]:80".to_string()));
    }

    #[test]
    fn https_without_ca_is_unsupported_and_bad_material_fails() {
        let url = "https://127.0.0.1:1/version";
        assert!(matches!(RealHost.http_get(url, None), Err(HttpGetError::Unsupported(_))));
        let bad = TlsMaterial { ca_pem: Some(b"not pem".to_vec()), client_pem: None };
        let e = RealHost.http_get(url, Some(&bad)).unwrap_err().to_string();
        assert!(e.contains("no CA certificate found"), "{e}");
        assert!(!format!("{bad:?}").contains("not pem"));
    }

    #[test]
    fn dial_missing_socket_reports_upstream_style() {
        let dir = tempfile::tempdir().unwrap();
        let sock = format!("unix://{}/none.sock", dir.path().display());
        let err = RealHost.dial(&sock).unwrap_err().to_string();
        assert!(err.contains("validate CRI v1 runtime API for endpoint"), "{err}");
        assert!(err.ends_with("connect: no such file or directory\""), "{err}");
    }
}
