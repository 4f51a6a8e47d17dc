//! [`FakeHost`]: an in-memory [`HostEnv`] for unit tests (here and in dependent crates).
//! Everything starts "healthy" for a control-plane node: root, 2 CPUs, 4 GiB, Linux 6.1, cgroup v2,
//! a kubelet v1.37.2 in PATH, `ip_forward=1`, free ports, a reachable CRI with every image present.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::hostenv::{
    CommandOutput, CriError, HostEnv, HttpGetError, Interface, RuntimeCondition, TlsMaterial,
};

/// A fake host. Fields are public: tests change what they need.
#[derive(Debug)]
pub struct FakeHost {
    /// Real uid.
    pub uid: u32,
    /// CPUs.
    pub cpus: usize,
    /// RAM in MiB.
    pub mem_mb: u64,
    /// `(sysname, release)`.
    pub uname: (String, String),
    /// Kernel hostname.
    pub hostname: String,
    /// Files by path.
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    /// Directories by path, with their entries.
    pub dirs: BTreeMap<PathBuf, Vec<String>>,
    /// Ports in use (any address).
    pub busy_ports: BTreeSet<u16>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Executables in PATH.
    pub path_exes: BTreeSet<String>,
    /// Canned command outputs, keyed by `"prog arg1 arg2"`; missing keys fail with ENOENT.
    pub commands: BTreeMap<String, CommandOutput>,
    /// Every command run (`"prog arg1 arg2"`), in order, with its standard input if any.
    pub ran: Mutex<Vec<(String, Option<String>)>>,
    /// DNS: name → addresses; absent names fail.
    pub dns: BTreeMap<String, Vec<IpAddr>>,
    /// Network interfaces.
    pub interfaces: Vec<Interface>,
    /// Result of the cgroup v2 freeze probe.
    pub freeze: (bool, Option<String>),
    /// CRI: `Err` = connection failure text; `Ok` = conditions.
    pub cri: Result<Vec<RuntimeCondition>, String>,
    /// CRI RuntimeConfig implemented.
    pub cri_runtime_config: bool,
    /// CRI sandbox image.
    pub cri_sandbox_image: String,
    /// Images present in the runtime.
    pub images: Mutex<BTreeSet<String>>,
    /// Images whose pull fails.
    pub failing_pulls: BTreeSet<String>,
    /// Pull log.
    pub pulled: Mutex<Vec<String>>,
    /// HTTP responses by URL.
    pub http: BTreeMap<String, Result<String, HttpGetError>>,
    /// The TLS material of the last request to each URL.
    pub http_tls: Mutex<BTreeMap<String, Option<TlsMaterial>>>,
}

fn ok_out(stdout: &str) -> CommandOutput {
    CommandOutput { success: true, stdout: stdout.into(), stderr: String::new() }
}

impl Default for FakeHost {
    fn default() -> Self {
        let mut files = BTreeMap::new();
        files.insert(PathBuf::from("/proc/sys/net/ipv4/ip_forward"), b"1\n".to_vec());
        files.insert(PathBuf::from("/proc/sys/net/ipv6/conf/default/forwarding"), b"1\n".to_vec());
        files.insert(PathBuf::from("/proc/swaps"), b"Filename\tType\tSize\tUsed\tPriority\n".to_vec());
        files.insert(
            PathBuf::from("/proc/mounts"),
            b"cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n".to_vec(),
        );
        files.insert(
            PathBuf::from("/sys/fs/cgroup/cgroup.controllers"),
            b"cpuset cpu io memory hugetlb pids rdma misc\n".to_vec(),
        );
        let all_config: String = [
            "NAMESPACES",
            "NET_NS",
            "PID_NS",
            "IPC_NS",
            "UTS_NS",
            "CPUSETS",
            "MEMCG",
            "INET",
            "EXT4_FS",
            "PROC_FS",
            "NETFILTER_XT_TARGET_REDIRECT",
            "NETFILTER_XT_MATCH_COMMENT",
            "FAIR_GROUP_SCHED",
            "CGROUPS",
            "CGROUP_CPUACCT",
            "CGROUP_DEVICE",
            "CGROUP_FREEZER",
            "CGROUP_PIDS",
            "CGROUP_SCHED",
            "CGROUP_BPF",
            "OVERLAY_FS",
            "AUFS_FS",
            "BLK_DEV_DM",
            "CFS_BANDWIDTH",
            "SECCOMP",
            "SECCOMP_FILTER",
        ]
        .iter()
        .map(|n| format!("CONFIG_{n}=y\n"))
        .collect();
        files.insert(PathBuf::from("/boot/config-6.1.0"), all_config.into_bytes());
        let mut commands = BTreeMap::new();
        commands.insert("kubelet --version".into(), ok_out("Kubernetes v1.37.2\n"));
        commands.insert("systemctl status kubelet".into(), ok_out("Loaded: loaded\n"));
        commands.insert("systemctl is-enabled kubelet".into(), ok_out("enabled\n"));
        commands.insert("systemctl is-active kubelet".into(), ok_out("active\n"));
        commands.insert(
            "systemctl status firewalld".into(),
            ok_out("Unit firewalld.service could not be found.\n"),
        );
        let mut dns = BTreeMap::new();
        dns.insert("node-1".to_string(), vec!["10.0.0.2".parse().unwrap_or(IpAddr::from([10, 0, 0, 2]))]);
        Self {
            uid: 0,
            cpus: 2,
            mem_mb: 4096,
            uname: ("Linux".into(), "6.1.0".into()),
            hostname: "Node-1".into(),
            files,
            dirs: BTreeMap::new(),
            busy_ports: BTreeSet::new(),
            env: Vec::new(),
            path_exes: ["kubelet", "losetup", "mount", "cp", "systemctl"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            commands,
            ran: Mutex::new(Vec::new()),
            dns,
            interfaces: Vec::new(),
            freeze: (true, None),
            cri: Ok(vec![RuntimeCondition {
                kind: "RuntimeReady".into(),
                status: true,
                reason: String::new(),
                message: String::new(),
            }]),
            cri_runtime_config: true,
            cri_sandbox_image: "registry.k8s.io/pause:3.10.1".into(),
            images: Mutex::new(BTreeSet::new()),
            failing_pulls: BTreeSet::new(),
            pulled: Mutex::new(Vec::new()),
            http: BTreeMap::new(),
            http_tls: Mutex::new(BTreeMap::new()),
        }
    }
}

impl FakeHost {
    /// Sets (or replaces) a file.
    pub fn file(&mut self, path: &str, data: &[u8]) -> &mut Self {
        self.files.insert(PathBuf::from(path), data.to_vec());
        self
    }
    /// Sets an environment variable.
    pub fn set_env(&mut self, k: &str, v: &str) -> &mut Self {
        self.env.retain(|(n, _)| n != k);
        self.env.push((k.into(), v.into()));
        self
    }
    /// The commands run so far (`"prog arg1 arg2"`), in order.
    pub fn ran_commands(&self) -> Vec<String> {
        self.ran.lock().map(|r| r.iter().map(|(c, _)| c.clone()).collect()).unwrap_or_default()
    }
    /// The standard input given to the last run of `cmd` (`"prog arg1 arg2"`).
    pub fn input_of(&self, cmd: &str) -> Option<String> {
        self.ran.lock().ok()?.iter().rev().find(|(c, _)| c == cmd).and_then(|(_, i)| i.clone())
    }
    /// Sets a command's output.
    pub fn command(&mut self, cmd: &str, success: bool, stdout: &str) -> &mut Self {
        self.commands
            .insert(cmd.into(), CommandOutput { success, stdout: stdout.into(), stderr: String::new() });
        self
    }
    fn cri_check(&self) -> Result<(), CriError> {
        match &self.cri {
            Err(e) => Err(CriError::Connect(e.clone())),
            Ok(_) => Ok(()),
        }
    }
}

fn not_found() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOENT)
}

impl HostEnv for FakeHost {
    fn uid(&self) -> u32 {
        self.uid
    }
    fn num_cpus(&self) -> usize {
        self.cpus
    }
    fn total_mem_mb(&self) -> io::Result<u64> {
        Ok(self.mem_mb)
    }
    fn uname(&self) -> io::Result<(String, String)> {
        Ok(self.uname.clone())
    }
    fn hostname(&self) -> io::Result<String> {
        Ok(self.hostname.clone())
    }
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files.get(path).cloned().ok_or_else(not_found)
    }
    fn stat_is_dir(&self, path: &Path) -> io::Result<bool> {
        if self.dirs.contains_key(path) {
            Ok(true)
        } else if self.files.contains_key(path) {
            Ok(false)
        } else {
            Err(not_found())
        }
    }
    fn first_dir_entry(&self, path: &Path) -> io::Result<Option<String>> {
        match self.dirs.get(path) {
            Some(entries) => Ok(entries.first().cloned()),
            None if self.files.contains_key(path) => Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
            None => Err(not_found()),
        }
    }
    fn try_listen(&self, _address: Option<&str>, port: u16) -> io::Result<()> {
        if self.busy_ports.contains(&port) {
            return Err(io::Error::from_raw_os_error(libc::EADDRINUSE));
        }
        Ok(())
    }
    fn env_var(&self, name: &str) -> Option<String> {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
    fn environ(&self) -> Vec<(String, String)> {
        self.env.clone()
    }
    fn look_path(&self, exe: &str) -> Option<PathBuf> {
        self.path_exes.contains(exe).then(|| PathBuf::from("/usr/bin").join(exe))
    }
    fn run(&self, program: &str, args: &[&str]) -> io::Result<CommandOutput> {
        let key = std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
        if let Ok(mut r) = self.ran.lock() {
            r.push((key.clone(), None));
        }
        self.commands.get(&key).cloned().ok_or_else(not_found)
    }
    fn run_with_input(&self, program: &str, args: &[&str], input: &str) -> io::Result<CommandOutput> {
        let key = std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
        if let Ok(mut r) = self.ran.lock() {
            r.push((key.clone(), Some(input.to_string())));
        }
        self.commands.get(&key).cloned().ok_or_else(not_found)
    }
    fn lookup_host(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        self.dns.get(name).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))
    }
    fn interfaces(&self) -> io::Result<Vec<Interface>> {
        Ok(self.interfaces.clone())
    }
    fn cgroup_v2_freeze_supported(&self, _mountpoint: &Path) -> (bool, Option<String>) {
        self.freeze.clone()
    }
    fn cri_status(&self, _socket: &str) -> Result<Vec<RuntimeCondition>, CriError> {
        self.cri.clone().map_err(CriError::Connect)
    }
    fn cri_runtime_config_implemented(&self, _socket: &str) -> Result<bool, CriError> {
        self.cri_check()?;
        Ok(self.cri_runtime_config)
    }
    fn cri_sandbox_image(&self, _socket: &str) -> Result<String, CriError> {
        self.cri_check()?;
        Ok(self.cri_sandbox_image.clone())
    }
    fn cri_image_exists(&self, _socket: &str, image: &str) -> Result<bool, CriError> {
        self.cri_check()?;
        Ok(self.images.lock().map(|i| i.contains(image)).unwrap_or(false))
    }
    fn cri_pull_image(&self, _socket: &str, image: &str) -> Result<(), CriError> {
        self.cri_check()?;
        if let Ok(mut p) = self.pulled.lock() {
            p.push(image.to_string());
        }
        if self.failing_pulls.contains(image) {
            return Err(CriError::Call("rpc error: code = NotFound desc = not found".into()));
        }
        if let Ok(mut i) = self.images.lock() {
            i.insert(image.to_string());
        }
        Ok(())
    }
    fn http_get(&self, url: &str, tls: Option<&TlsMaterial>) -> Result<String, HttpGetError> {
        if let Ok(mut m) = self.http_tls.lock() {
            m.insert(url.to_string(), tls.cloned());
        }
        self.http
            .get(url)
            .cloned()
            .unwrap_or_else(|| Err(HttpGetError::Failed(format!("Get {url:?}: connection refused"))))
    }
}
