//! The `SystemVerification` check: k8s.io/system-validators v1.12.1 (the version Kubernetes v1.37.2
//! pins) as kubeadm runs it on Linux: the kernel validator (release + kernel config), the OS
//! validator and the cgroups validator, preceded by `kubelet --version`.
//!
//! cgroups v1 (this machine's hybrid layout): the cgroups validator always reports the deprecation
//! message; it is an **error** when the kubelet found in `PATH` is 1.35.0-0 or newer (kubelets of
//! 1.35+ refuse cgroup v1 unless `failCgroupV1: false`), a warning for older kubelets. The whole
//! check errors out earlier if no kubelet binary is found (`couldn't get kubelet version`).
//! Users of cgroup v1 therefore need `--ignore-preflight-errors=SystemVerification`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::version::Version;
use crate::hostenv::{HostEnv, io_error_text};

/// Minimum kubelet version that disables cgroup v1 by default.
const CGROUP_V1_DISABLED_FROM: &str = "1.35.0-0";

const KERNEL_VERSIONS_NOTE: &str = "Supported LTS versions from the 5.x series are 5.4, 5.10 and 5.15. Any 6.x version is also supported. For cgroups v2 support, the recommended version is 5.10 or newer";

/// `(name, aliases, description)`.
type KConf = (&'static str, &'static [&'static str], &'static str);

const REQUIRED: &[KConf] = &[
    ("NAMESPACES", &[], ""),
    ("NET_NS", &[], ""),
    ("PID_NS", &[], ""),
    ("IPC_NS", &[], ""),
    ("UTS_NS", &[], ""),
    ("CPUSETS", &[], ""),
    ("MEMCG", &[], ""),
    ("INET", &[], ""),
    ("EXT4_FS", &[], ""),
    ("PROC_FS", &[], ""),
    ("NETFILTER_XT_TARGET_REDIRECT", &["IP_NF_TARGET_REDIRECT"], ""),
    ("NETFILTER_XT_MATCH_COMMENT", &[], ""),
    ("FAIR_GROUP_SCHED", &[], ""),
];
const REQUIRED_V1: &[KConf] = &[
    ("CGROUPS", &[], "Required for cgroups."),
    ("CGROUP_CPUACCT", &[], "Required for cpuacct controller, used in simple CPU accounting controller."),
    ("CGROUP_DEVICE", &[], "Required for device controller."),
    ("CGROUP_FREEZER", &[], "Required for freezer controller."),
    ("CGROUP_PIDS", &[], "Required for PIDs controller."),
    ("CGROUP_SCHED", &[], "Required for CPU controller."),
];
const REQUIRED_V2: &[KConf] = &[
    ("CGROUPS", &[], "Required for cgroups."),
    ("CGROUP_BPF", &[], "Required for eBPF programs attached to cgroups, used in device controller."),
    ("CGROUP_PIDS", &[], "Required for PIDs controller."),
    ("CGROUP_SCHED", &[], "Required for CPU controller."),
];
const OPTIONAL: &[KConf] = &[
    ("OVERLAY_FS", &["OVERLAYFS_FS"], "Required for overlayfs."),
    ("AUFS_FS", &[], "Required for aufs."),
    ("BLK_DEV_DM", &[], "Required for devicemapper."),
    ("CFS_BANDWIDTH", &[], "Required for CPU quota."),
    ("SECCOMP", &[], "Required for seccomp."),
    ("SECCOMP_FILTER", &[], "Required for seccomp mode 2."),
];
const CGROUPS_V1: &[&str] = &["cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"];
const CGROUPS_V1_OPTIONAL: &[&str] = &["hugetlb", "blkio"];
const CGROUPS_V2: &[&str] = &["cpu", "cpuset", "devices", "freezer", "memory", "pids"];
const CGROUPS_V2_OPTIONAL: &[&str] = &["hugetlb", "io"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Res {
    Good,
    Bad,
    Warn,
}

/// The validators' report, colored like system-validators' `StreamReporter`.
#[derive(Default)]
struct Reporter {
    out: String,
}

impl Reporter {
    fn report(&mut self, key: &str, value: &str, r: Res) {
        let c = match r {
            Res::Good => 32,
            Res::Bad => 31,
            Res::Warn => 33,
        };
        self.out.push_str(&format!("\x1b[0;37m{key}\x1b[0m: \x1b[0;{c}m{value}\x1b[0m\n"));
    }
}

/// Runs `kubelet --version` and parses `Kubernetes vX.Y.Z`, like kubeadm's `GetKubeletVersion`.
pub fn kubelet_version(host: &dyn HostEnv) -> Result<Version, String> {
    if host.look_path("kubelet").is_none() {
        return Err(
            "cannot execute 'kubelet --version': exec: \"kubelet\": executable file not found in $PATH"
                .into(),
        );
    }
    let out = host
        .run("kubelet", &["--version"])
        .map_err(|e| format!("cannot execute 'kubelet --version': {}", io_error_text(&e)))?;
    if !out.success {
        return Err("cannot execute 'kubelet --version': exit status 1".into());
    }
    let clean = out.stdout.trim();
    let parsed = clean
        .strip_prefix("Kubernetes v")
        .filter(|rest| !rest.contains(char::is_whitespace))
        .and_then(|rest| Version::parse(rest).ok());
    parsed.ok_or_else(|| format!("Unable to parse output from Kubelet: {clean:?}"))
}

fn kernel_version_supported(release: &str) -> bool {
    if release.starts_with("5.4") || release.starts_with("5.10") || release.starts_with("5.15") {
        return true;
    }
    // ^([6-9]|[1-9][0-9]+)\.([0-9]+)\.([0-9]+).*$
    let mut it = release.splitn(3, '.');
    let (Some(major), Some(minor), Some(rest)) = (it.next(), it.next(), it.next()) else { return false };
    let major_ok = !major.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && (major.len() == 1 && major.as_bytes()[0] >= b'6' || major.len() > 1 && !major.starts_with('0'));
    let minor_ok = !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit());
    let patch_ok = rest.bytes().next().is_some_and(|b| b.is_ascii_digit());
    major_ok && minor_ok && patch_ok
}

/// `getUnifiedMountpoint`: `(mountpoint, is_cgroup_v2)`.
pub fn unified_mountpoint(host: &dyn HostEnv) -> Result<(PathBuf, bool), String> {
    let mounts = host
        .read_file(Path::new("/proc/mounts"))
        .map_err(|e| format!("open /proc/mounts: {}", io_error_text(&e)))?;
    let mounts = String::from_utf8_lossy(&mounts);
    let mut v1: Option<&str> = None;
    for line in mounts.lines().filter(|l| l.contains("cgroup")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        if f[1] == "/sys/fs/cgroup" {
            if f[2] == "tmpfs" {
                let is_dir = host.stat_is_dir(Path::new("/sys/fs/cgroup/memory"));
                // NotExist or not a directory: v2.
                return Ok((PathBuf::from(f[1]), !matches!(is_dir, Ok(true))));
            }
            return Ok((PathBuf::from(f[1]), f[2] == "cgroup2"));
        }
        match f[2] {
            "cgroup2" => return Ok((PathBuf::from(f[1]), true)),
            "cgroup" if v1.is_none() => v1 = Some(f[1]),
            _ => {}
        }
    }
    match v1 {
        Some(p) => Ok((PathBuf::from(p), false)),
        None => Err("cannot get a cgroupfs mount point from \"/proc/mounts\"".into()),
    }
}

fn kernel_config(host: &dyn HostEnv, release: &str) -> Result<String, String> {
    let paths = [
        "/proc/config.gz".to_string(),
        format!("/boot/config-{release}"),
        format!("/usr/src/linux-{release}/.config"),
        "/usr/src/linux/.config".to_string(),
        format!("/usr/lib/modules/{release}/config"),
        format!("/usr/lib/ostree-boot/config-{release}"),
        format!("/usr/lib/kernel/config-{release}"),
        format!("/usr/src/linux-headers-{release}/.config"),
        format!("/lib/modules/{release}/build/.config"),
    ];
    let mut loaded_module = false;
    loop {
        for p in &paths {
            let Ok(data) = host.read_file(Path::new(p)) else { continue };
            if p.ends_with(".gz") {
                let mut s = String::new();
                flate2::read::GzDecoder::new(&data[..]).read_to_string(&mut s).map_err(|e| e.to_string())?;
                return Ok(s);
            }
            return Ok(String::from_utf8_lossy(&data).into_owned());
        }
        if loaded_module {
            break;
        }
        let res = host.run("modprobe", &["configs"]);
        match res {
            Ok(o) if o.success => {}
            Ok(o) => {
                return Err(format!(
                    "unable to load kernel module: \"configs\", output: {:?}, err: exit status 1",
                    format!("{}{}", o.stdout, o.stderr)
                ));
            }
            Err(e) => {
                return Err(format!(
                    "unable to load kernel module: \"configs\", output: \"\", err: {}",
                    io_error_text(&e)
                ));
            }
        }
        let _ = host.run("modprobe", &["-r", "configs"]);
        loaded_module = true;
    }
    Err(format!("no config path in [{}] is available", paths.join(" ")))
}

fn validate_kernel(host: &dyn HostEnv, rep: &mut Reporter) -> (Vec<String>, Vec<String>) {
    let release = match host.uname() {
        Ok((_, r)) => r,
        Err(e) => {
            return (
                vec![],
                vec![format!("failed to get kernel release: failed to get kernel release: {e}")],
            );
        }
    };
    let mut warns = Vec::new();
    let mut errs = Vec::new();
    if kernel_version_supported(&release) {
        rep.report("KERNEL_VERSION", &release, Res::Good);
    } else {
        rep.report("KERNEL_VERSION", &release, Res::Bad);
        warns.push(format!("kernel release {release} is unsupported. {KERNEL_VERSIONS_NOTE}"));
    }
    let config = match kernel_config(host, &release) {
        Ok(c) => c,
        Err(e) => {
            errs.push(format!("failed to parse kernel config: {e}"));
            return (warns, errs);
        }
    };
    let mut all = std::collections::HashMap::new();
    for line in config.lines().map(str::trim) {
        let Some((k, v)) = line.split_once('=') else { continue };
        let valid_key = k.strip_prefix("CONFIG_").is_some_and(|n| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
        let Some(opt) = v.chars().next().filter(|c| matches!(c, 'm' | 'y' | 'n')) else { continue };
        if valid_key {
            all.insert(k.to_string(), opt);
        }
    }
    let mut bad: Vec<String> = Vec::new();
    let mut validate = |rep: &mut Reporter, (name, aliases, desc): &KConf, required: bool| {
        let missing = if required { Res::Bad } else { Res::Warn };
        let mut found = None;
        let mut key = String::new();
        for n in std::iter::once(*name).chain(aliases.iter().copied()) {
            key = format!("CONFIG_{n}");
            if let Some(o) = all.get(&key) {
                found = Some(*o);
                break;
            }
        }
        let (msg, res) = match found {
            None => ("not set".to_string(), missing),
            Some('y') => ("enabled".to_string(), Res::Good),
            Some('m') => ("enabled (as module)".to_string(), Res::Good),
            Some('n') => ("disabled".to_string(), missing),
            Some(o) => (format!("unknown option: {o}"), missing),
        };
        if res == Res::Bad {
            bad.push(key.clone());
        }
        let msg = if res != Res::Good && !desc.is_empty() { format!("{msg} - {desc}") } else { msg };
        rep.report(&key, &msg, res);
    };
    for c in REQUIRED {
        validate(rep, c, true);
    }
    match unified_mountpoint(host) {
        Ok((_, v2)) => {
            for c in if v2 { REQUIRED_V2 } else { REQUIRED_V1 } {
                validate(rep, c, true);
            }
        }
        Err(e) => {
            errs.push(format!("failed to get unified mountpoint: {e}"));
            return (warns, errs);
        }
    }
    for c in OPTIONAL {
        validate(rep, c, false);
    }
    if !bad.is_empty() {
        errs.push(format!("unexpected kernel config: {}", bad.join(" ")));
    }
    (warns, errs)
}

fn validate_os(host: &dyn HostEnv, rep: &mut Reporter) -> (Vec<String>, Vec<String>) {
    match host.uname() {
        Err(e) => (vec![], vec![format!("failed to get OS name: {e}")]),
        Ok((os, _)) if os == "Linux" => {
            rep.report("OS", &os, Res::Good);
            (vec![], vec![])
        }
        Ok((os, _)) => {
            rep.report("OS", &os, Res::Bad);
            (vec![], vec![format!("unsupported operating system: {os}")])
        }
    }
}

fn validate_cgroups(host: &dyn HostEnv, rep: &mut Reporter, kubelet: &Version) -> (Vec<String>, Vec<String>) {
    let (mountpoint, v2) = match unified_mountpoint(host) {
        Ok(x) => x,
        Err(e) => return (vec![], vec![format!("cannot get a cgroup mount point: {e}")]),
    };
    let mut warns = Vec::new();
    let mut errs = Vec::new();
    let (subsystems, required, optional): (Vec<String>, &[&str], &[&str]) = if v2 {
        let mut subs = vec!["devices".to_string()];
        let (freeze, warn) = host.cgroup_v2_freeze_supported(&mountpoint);
        if freeze {
            subs.push("freezer".into());
        }
        if let Some(w) = warn {
            warns.push(w);
        }
        match host.read_file(&mountpoint.join("cgroup.controllers")) {
            Ok(d) => subs.extend(String::from_utf8_lossy(&d).split_whitespace().map(str::to_string)),
            Err(e) => {
                return (
                    vec![],
                    vec![format!(
                        "failed to get cgroups v2 subsystems: open {}: {}",
                        mountpoint.join("cgroup.controllers").display(),
                        io_error_text(&e)
                    )],
                );
            }
        }
        (subs, CGROUPS_V2, CGROUPS_V2_OPTIONAL)
    } else {
        let v1_msg = "cgroups v1 support is deprecated and will be removed in a future release. Please migrate to cgroups v2. To explicitly enable cgroups v1 support for kubelet v1.35 or newer, you must set the kubelet configuration option 'FailCgroupV1' to 'false'. You must also explicitly skip this validation. For more information, see https://git.k8s.io/enhancements/keps/sig-node/5573-remove-cgroup-v1".to_string();
        let threshold = Version::parse(CGROUP_V1_DISABLED_FROM).unwrap_or_else(|_| kubelet.clone());
        if *kubelet >= threshold {
            errs.push(v1_msg);
        } else {
            warns.push(v1_msg);
        }
        let data = match host.read_file(Path::new("/proc/cgroups")) {
            Ok(d) => d,
            Err(e) => {
                return (
                    vec![],
                    vec![format!(
                        "failed to get cgroups v1 subsystems: open /proc/cgroups: {}",
                        io_error_text(&e)
                    )],
                );
            }
        };
        let subs = String::from_utf8_lossy(&data)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let p: Vec<&str> = l.split_whitespace().collect();
                (p.len() >= 4 && p[3] != "0").then(|| p[0].to_string())
            })
            .collect();
        (subs, CGROUPS_V1, CGROUPS_V1_OPTIONAL)
    };
    let check = |rep: &mut Reporter, list: &[&str], req: bool| -> Vec<String> {
        let mut missing = Vec::new();
        for c in list {
            let key = format!("CGROUPS_{}", c.to_uppercase());
            if subsystems.iter().any(|s| s == c) {
                rep.report(&key, "enabled", Res::Good);
            } else {
                rep.report(&key, "missing", if req { Res::Bad } else { Res::Warn });
                missing.push(c.to_string());
            }
        }
        missing
    };
    let missing_req = check(rep, required, true);
    if !missing_req.is_empty() {
        // Upstream replaces (not appends to) the error list here.
        errs = vec![format!("missing required cgroups: {}", missing_req.join(" "))];
    }
    let missing_opt = check(rep, optional, false);
    if !missing_opt.is_empty() {
        warns.push(format!("missing optional cgroups: {}", missing_opt.join(" ")));
    }
    (warns, errs)
}

/// Runs the system verification. Returns `(warnings, errors, stdout)` where `stdout` is what
/// upstream prints on failure: the `[preflight] The system verification failed...` line and the report.
pub fn system_verification(host: &dyn HostEnv, is_upgrade: bool) -> (Vec<String>, Vec<String>, String) {
    let mut rep = Reporter::default();
    let mut kubelet = match kubelet_version(host) {
        Ok(v) => v,
        Err(e) => return (vec![], vec![format!("couldn't get kubelet version: {e}")], String::new()),
    };
    if is_upgrade {
        kubelet.parts[1] += 1;
    }
    let mut warns = Vec::new();
    let mut errs = Vec::new();
    for (w, e) in [
        validate_kernel(host, &mut rep),
        validate_os(host, &mut rep),
        validate_cgroups(host, &mut rep, &kubelet),
    ] {
        warns.extend(w);
        errs.extend(e);
    }
    if errs.is_empty() {
        return (warns, errs, String::new());
    }
    let stdout = format!(
        "[preflight] The system verification failed. Printing the output from the verification:\n{}",
        rep.out
    );
    (warns, errs, stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        for ok in ["6.18.0", "5.10.0-21-amd64", "5.15.1", "10.0.1", "6.1.0-rc1"] {
            assert!(kernel_version_supported(ok), "{ok}");
        }
        for bad in ["4.19.0", "5.3.0", "6.1", "06.1.0", "3.10.0-1160.el7"] {
            assert!(!kernel_version_supported(bad), "{bad}");
        }
    }
}
