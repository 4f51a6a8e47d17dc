//! Host effects of `kubeadm reset` (upstream `cmd/phases/reset/{cleanupnode,unmount_linux}.go`):
//! unmounting what the kubelet mounted, emptying directories, removing the Pods of the container
//! runtime.

use std::io;
use std::path::{Path, PathBuf};

use crate::hostenv::HostEnv;

/// Errors of the reset helpers.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// `/proc/mounts` could not be read.
    #[error("failed to read /proc/mounts: {0}")]
    Mounts(#[source] io::Error),
    /// Some mounts under a directory could not be unmounted.
    #[error("encountered the following errors while unmounting directories in {dir:?}: [{}]", .errors.join(", "))]
    Unmount {
        /// The directory (with a trailing `/`).
        dir: String,
        /// One message per failed mount point.
        errors: Vec<String>,
    },
    /// The container runtime could not be asked for its Pods, or removing some failed.
    #[error("{0}")]
    Runtime(String),
}

/// Unmount flags of `ResetConfiguration.unmountFlags` (upstream's `flagMap`).
pub fn unmount_flags(names: &[String]) -> nix::mount::MntFlags {
    use nix::mount::MntFlags;
    let mut f = MntFlags::empty();
    for n in names {
        f |= match n.as_str() {
            "MNT_FORCE" => MntFlags::MNT_FORCE,
            "MNT_DETACH" => MntFlags::MNT_DETACH,
            "MNT_EXPIRE" => MntFlags::MNT_EXPIRE,
            "UMOUNT_NOFOLLOW" => MntFlags::UMOUNT_NOFOLLOW,
            _ => MntFlags::empty(),
        };
    }
    f
}

/// The mount points listed in `mounts` (the text of `/proc/mounts`) strictly below `dir`, in
/// listed order (upstream unmounts in that order too). Octal escapes (`\040`) are decoded.
pub fn mounts_below(mounts: &str, dir: &str) -> Vec<String> {
    let prefix = if dir.ends_with('/') { dir.to_string() } else { format!("{dir}/") };
    mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .map(unescape_octal)
        .filter(|m| m.starts_with(&prefix))
        .collect()
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Upstream `unmountKubeletDirectory`: unmounts every mount point below `dir`; `EINVAL` (already
/// gone through a shared peer) is only reported through `on_einval`.
pub fn unmount_below(
    dir: &Path,
    flags: &[String],
    on_einval: &mut dyn FnMut(&str),
) -> Result<(), ResetError> {
    let mounts = std::fs::read_to_string("/proc/mounts").map_err(ResetError::Mounts)?;
    let shown = format!("{}/", dir.display().to_string().trim_end_matches('/'));
    let f = unmount_flags(flags);
    let mut errors = Vec::new();
    for m in mounts_below(&mounts, &shown) {
        match nix::mount::umount2(m.as_str(), f) {
            Ok(()) => {}
            Err(nix::errno::Errno::EINVAL) => on_einval(&m),
            Err(e) => errors.push(format!("failed to unmount {m:?}: {}", e.desc().to_lowercase())),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ResetError::Unmount { dir: shown, errors }) }
}

/// Upstream `CleanDir`: removes everything inside `dir` but not `dir` itself; a missing directory
/// is fine.
pub fn clean_dir(dir: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() { std::fs::remove_dir_all(&p)? } else { std::fs::remove_file(&p)? }
    }
    Ok(())
}

/// Upstream `IsDirEmpty` (an unreadable directory counts as not empty).
pub fn is_dir_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false)
}

/// Removes a file or directory tree; a missing one is fine (Go's `os.RemoveAll`).
pub fn remove_all(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    }
}

/// Upstream `removeContainers`: stops and removes every Pod sandbox of the CRI endpoint (through
/// `crictl`, as the other CRI calls of kubeadm-rs). Returns how many Pods were removed.
pub fn remove_pods(host: &dyn HostEnv, socket: &str) -> Result<usize, ResetError> {
    if host.look_path("crictl").is_none() {
        return Err(ResetError::Runtime(
            "kubeadm-rs talks to the container runtime through crictl, which was not found in system path"
                .into(),
        ));
    }
    let endpoint = if socket.contains("://") { socket.to_string() } else { format!("unix://{socket}") };
    let crictl = |args: &[&str]| -> Result<String, ResetError> {
        let mut full = vec!["--runtime-endpoint", endpoint.as_str()];
        full.extend_from_slice(args);
        let o = host
            .run("crictl", &full)
            .map_err(|e| ResetError::Runtime(format!("cannot execute crictl: {e}")))?;
        if !o.success {
            return Err(ResetError::Runtime(format!("crictl {}: {}", args.join(" "), o.stderr.trim())));
        }
        Ok(o.stdout)
    };
    let pods = crictl(&["pods", "-q"])?;
    let ids: Vec<&str> = pods.split_whitespace().collect();
    let mut errors = Vec::new();
    for id in &ids {
        // Upstream retries each Pod a few times.
        let mut last = None;
        for _ in 0..3 {
            match crictl(&["stopp", id]).and_then(|_| crictl(&["rmp", id])) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e.to_string()),
            }
        }
        if let Some(e) = last {
            errors.push(format!("failed to remove pod {id}: {e}"));
        }
    }
    if errors.is_empty() { Ok(ids.len()) } else { Err(ResetError::Runtime(errors.join("; "))) }
}

/// The kubeconfig files reset deletes, in upstream's order.
pub fn files_to_clean(kubernetes_dir: &Path) -> Vec<PathBuf> {
    [
        "admin.conf",
        "super-admin.conf",
        "kubelet.conf",
        "bootstrap-kubelet.conf",
        "controller-manager.conf",
        "scheduler.conf",
    ]
    .iter()
    .map(|f| kubernetes_dir.join(f))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// `reset --cleanup-network` (kubeadm-rs extension): what upstream's reset only tells the operator
// to do by hand, done here: kube-proxy's (and the kubelet's) iptables chains, kube-proxy's
// nftables tables, IPVS, and the CNI files.

/// The directories whose contents `--cleanup-network` deletes: the CNI configuration and the CNI
/// plugins' state (IPAM leases, cached results).
pub const CNI_DIRS: [&str; 2] = ["/etc/cni/net.d", "/var/lib/cni"];
/// Prefix of the iptables chains (and ipsets) kube-proxy and the kubelet create.
pub const KUBE_CHAIN_PREFIX: &str = "KUBE-";
/// The nftables table of kube-proxy's nftables mode (in the `ip` and `ip6` families).
pub const KUBE_PROXY_NFT_TABLE: &str = "kube-proxy";
/// The dummy interface of kube-proxy's IPVS mode.
pub const KUBE_IPVS_DEVICE: &str = "kube-ipvs0";
/// Where the kernel lists the IPVS virtual servers (present once `ip_vs` is loaded; per network
/// namespace).
pub const PROC_IPVS: &str = "/proc/net/ip_vs";

/// The part of one iptables table that `--cleanup-network` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptablesTable {
    /// `filter`, `nat`, `mangle`, ...
    pub table: String,
    /// The chains named `KUBE-*`, in `iptables-save` order.
    pub chains: Vec<String>,
    /// Rules of other chains that jump (`-j`/`-g`) to one of them: the `iptables-save` line
    /// without its leading `-A ` (`"PREROUTING -m comment --comment \"...\" -j KUBE-SERVICES"`).
    pub jumps: Vec<String>,
}

/// What `iptables-save` printed for one backend, reduced to what must go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptablesCleanup {
    /// The backend's name: `iptables-nft`, `ip6tables-legacy`, ... (or plain `iptables`).
    pub backend: String,
    /// Its `-restore` program.
    pub restore: String,
    /// The tables with something to remove.
    pub tables: Vec<IptablesTable>,
}

/// One step of the network cleanup, in the order they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkStep {
    /// `ipvsadm --clear`: every IPVS virtual server (what `kube-proxy --cleanup` does).
    IpvsClear,
    /// `ip link delete kube-ipvs0`.
    IpvsDevice,
    /// Flush and delete the `KUBE-*` chains and the rules jumping to them, through one
    /// `<backend>-restore --noflush` per backend.
    Iptables(IptablesCleanup),
    /// `nft delete table <family> kube-proxy` for each `(family, table)`.
    NftTables(Vec<(String, String)>),
    /// `ipset destroy` of each `KUBE-*` set (after the rules that use them are gone).
    Ipsets(Vec<String>),
    /// Delete the contents of the CNI directories.
    CniDirs(Vec<PathBuf>),
}

/// Something found while planning or running the cleanup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkNote {
    /// A line for the user.
    Info(String),
    /// A warning (the cleanup goes on).
    Warn(String),
    /// Detail shown with `-v 1`.
    Verbose(String),
}

/// The plan of `--cleanup-network`: computed with read-only commands (`*-save`, `nft list
/// tables`, `ipset list -n`, `ip link show`), so `--dry-run` can print it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkCleanup {
    /// What will be done.
    pub steps: Vec<NetworkStep>,
    /// What planning found (nothing to do, tools missing, commands failing).
    pub notes: Vec<NetworkNote>,
}

/// Parses `iptables-save` output: per table, the `KUBE-*` chains and the rules of other chains
/// that jump to them. Tables without any are left out.
pub fn parse_iptables_save(text: &str) -> Vec<IptablesTable> {
    let mut out = Vec::new();
    let mut cur: Option<IptablesTable> = None;
    for line in text.lines().map(str::trim_end) {
        if let Some(name) = line.strip_prefix('*') {
            cur =
                Some(IptablesTable { table: name.trim().to_string(), chains: Vec::new(), jumps: Vec::new() });
        } else if line == "COMMIT" {
            if let Some(t) = cur.take().filter(|t| !t.chains.is_empty()) {
                out.push(t);
            }
        } else if let (Some(t), Some(decl)) = (cur.as_mut(), line.strip_prefix(':')) {
            if let Some(chain) = decl.split_whitespace().next().filter(|c| c.starts_with(KUBE_CHAIN_PREFIX)) {
                t.chains.push(chain.to_string());
            }
        } else if let (Some(t), Some(rule)) = (cur.as_mut(), line.strip_prefix("-A ")) {
            let words: Vec<&str> = rule.split_whitespace().collect();
            if words.first().is_some_and(|chain| chain.starts_with(KUBE_CHAIN_PREFIX)) {
                continue; // flushed with its chain
            }
            let jumps_to_kube = words.windows(2).any(|w| {
                matches!(w[0], "-j" | "--jump" | "-g" | "--goto") && w[1].starts_with(KUBE_CHAIN_PREFIX)
            });
            if jumps_to_kube {
                t.jumps.push(rule.to_string());
            }
        }
    }
    out
}

/// The `iptables-restore --noflush` input that removes `tables`: per table, the chains are
/// flushed (a `:CHAIN - [0:0]` line), the jump rules deleted (`-D`), then the chains deleted
/// (`-X`), committed table by table.
pub fn iptables_restore_input(tables: &[IptablesTable]) -> String {
    let mut s = String::new();
    for t in tables {
        s.push_str(&format!("*{}\n", t.table));
        for c in &t.chains {
            s.push_str(&format!(":{c} - [0:0]\n"));
        }
        for r in &t.jumps {
            s.push_str(&format!("-D {r}\n"));
        }
        for c in &t.chains {
            s.push_str(&format!("-X {c}\n"));
        }
        s.push_str("COMMIT\n");
    }
    s
}

/// The iptables backends present: `iptables-legacy` and `iptables-nft` (and the `ip6tables`
/// ones) when their `-save`/`-restore` programs are in PATH, else the plain `iptables` /
/// `ip6tables`: `(backend, save, restore)`.
fn iptables_backends(host: &dyn HostEnv) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    for family in ["iptables", "ip6tables"] {
        let found: Vec<(String, String, String)> = ["legacy", "nft"]
            .iter()
            .map(|variant| format!("{family}-{variant}"))
            .chain(std::iter::once(family.to_string()))
            .map(|b| (b.clone(), format!("{b}-save"), format!("{b}-restore")))
            .filter(|(_, save, restore)| host.look_path(save).is_some() && host.look_path(restore).is_some())
            .collect();
        // The plain name is an alternative for one of the variants: used only without them.
        let variants: Vec<_> = found.iter().filter(|(b, ..)| b != family).cloned().collect();
        v.extend(if variants.is_empty() { found } else { variants });
    }
    v
}

fn command_text(program: &str, args: &[&str]) -> String {
    std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ")
}

fn failure_text(o: &crate::hostenv::CommandOutput) -> String {
    let e = o.stderr.trim();
    if e.is_empty() { o.stdout.trim().to_string() } else { e.to_string() }
}

/// Plans `--cleanup-network` on `host`, emptying `cni_dirs` (normally [`CNI_DIRS`]). Only
/// read-only commands run here.
pub fn plan_network_cleanup(host: &dyn HostEnv, cni_dirs: &[PathBuf]) -> NetworkCleanup {
    let mut plan = NetworkCleanup::default();
    let run = |notes: &mut Vec<NetworkNote>, program: &str, args: &[&str]| -> Option<String> {
        match host.run(program, args) {
            Ok(o) if o.success => Some(o.stdout),
            Ok(o) => {
                notes.push(NetworkNote::Warn(format!(
                    "[reset] {} failed: {}",
                    command_text(program, args),
                    failure_text(&o)
                )));
                None
            }
            Err(e) => {
                notes.push(NetworkNote::Warn(format!(
                    "[reset] Could not run {}: {}",
                    command_text(program, args),
                    crate::hostenv::io_error_text(&e)
                )));
                None
            }
        }
    };

    // IPVS: only where the kernel has it loaded (the table file exists in this network namespace).
    if host.read_file(Path::new(PROC_IPVS)).is_ok() {
        if host.look_path("ipvsadm").is_some() {
            plan.steps.push(NetworkStep::IpvsClear);
        } else {
            plan.notes.push(NetworkNote::Warn(format!(
                "[reset] IPVS is loaded ({PROC_IPVS} exists) but ipvsadm was not found in PATH: clear the IPVS tables manually (ipvsadm --clear)"
            )));
        }
    } else {
        plan.notes.push(NetworkNote::Verbose(format!(
            "[reset] IPVS is not loaded in the kernel ({PROC_IPVS} is absent): no IPVS tables to clear"
        )));
    }
    if host.look_path("ip").is_some()
        && host.run("ip", &["link", "show", KUBE_IPVS_DEVICE]).is_ok_and(|o| o.success)
    {
        plan.steps.push(NetworkStep::IpvsDevice);
    }

    // iptables, per backend.
    let backends = iptables_backends(host);
    if backends.is_empty() {
        plan.notes.push(NetworkNote::Verbose(
            "[reset] No iptables-save/iptables-restore found in PATH: no iptables rules to clean".into(),
        ));
    }
    let mut found_chains = false;
    for (backend, save, restore) in backends {
        let Some(text) = run(&mut plan.notes, &save, &[]) else { continue };
        let tables = parse_iptables_save(&text);
        if tables.is_empty() {
            plan.notes.push(NetworkNote::Verbose(format!("[reset] {backend}: no chains named KUBE-*")));
            continue;
        }
        found_chains = true;
        plan.steps.push(NetworkStep::Iptables(IptablesCleanup { backend, restore, tables }));
    }
    if !found_chains {
        plan.notes.push(NetworkNote::Info("[reset] Found no iptables chains named KUBE-*".into()));
    }

    // nftables: kube-proxy's own table.
    if host.look_path("nft").is_some() {
        if let Some(text) = run(&mut plan.notes, "nft", &["list", "tables"]) {
            let tables: Vec<(String, String)> = text
                .lines()
                .filter_map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    match w.as_slice() {
                        ["table", family @ ("ip" | "ip6"), name] if *name == KUBE_PROXY_NFT_TABLE => {
                            Some(((*family).to_string(), (*name).to_string()))
                        }
                        _ => None,
                    }
                })
                .collect();
            if tables.is_empty() {
                plan.notes.push(NetworkNote::Info(format!(
                    "[reset] Found no nftables table named {KUBE_PROXY_NFT_TABLE:?}"
                )));
            } else {
                plan.steps.push(NetworkStep::NftTables(tables));
            }
        }
    } else {
        plan.notes
            .push(NetworkNote::Verbose("[reset] nft not found in PATH: no nftables tables to clean".into()));
    }

    // ipsets of the IPVS mode.
    if host.look_path("ipset").is_some()
        && let Some(text) = run(&mut plan.notes, "ipset", &["list", "-n"])
    {
        let sets: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|n| n.starts_with(KUBE_CHAIN_PREFIX))
            .map(str::to_string)
            .collect();
        if !sets.is_empty() {
            plan.steps.push(NetworkStep::Ipsets(sets));
        }
    }

    plan.steps.push(NetworkStep::CniDirs(cni_dirs.to_vec()));
    plan
}

fn bracket<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    format!("[{}]", items.into_iter().map(|s| s.as_ref().to_string()).collect::<Vec<_>>().join(" "))
}

impl NetworkStep {
    /// What the step does, after `[reset] ` (`dry_run`: after `[dryrun] Would `, lower case).
    pub fn describe(&self, dry_run: bool) -> String {
        let (delete, clear, destroy) =
            if dry_run { ("delete", "clear", "destroy") } else { ("Deleting", "Clearing", "Destroying") };
        match self {
            NetworkStep::IpvsClear => format!("{clear} the IPVS tables (ipvsadm --clear)"),
            NetworkStep::IpvsDevice => format!("{delete} the network interface {KUBE_IPVS_DEVICE}"),
            NetworkStep::Iptables(c) => format!(
                "{delete} the iptables chains named KUBE-* and the rules jumping to them ({}): {}",
                c.backend,
                c.tables
                    .iter()
                    .map(|t| format!("{} {} ({} jump rules)", t.table, bracket(&t.chains), t.jumps.len()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            NetworkStep::NftTables(t) => format!(
                "{delete} the nftables tables: {}",
                bracket(t.iter().map(|(f, n)| format!("{f} {n}")))
            ),
            NetworkStep::Ipsets(s) => format!("{destroy} the ipsets named KUBE-*: {}", bracket(s)),
            NetworkStep::CniDirs(d) => format!(
                "{delete} contents of the CNI directories: {}",
                bracket(d.iter().map(|p| p.display().to_string()))
            ),
        }
    }

    /// Runs the step; failures are reported as warnings (the cleanup goes on, as reset's other
    /// cleanups do).
    pub fn apply(&self, host: &dyn HostEnv) -> Vec<NetworkNote> {
        let mut notes = Vec::new();
        let mut check = |program: &str, args: &[&str], r: io::Result<crate::hostenv::CommandOutput>| match r {
            Ok(o) if o.success => {}
            Ok(o) => notes.push(NetworkNote::Warn(format!(
                "[reset] {} failed: {}",
                command_text(program, args),
                failure_text(&o)
            ))),
            Err(e) => notes.push(NetworkNote::Warn(format!(
                "[reset] Could not run {}: {}",
                command_text(program, args),
                crate::hostenv::io_error_text(&e)
            ))),
        };
        match self {
            NetworkStep::IpvsClear => check("ipvsadm", &["--clear"], host.run("ipvsadm", &["--clear"])),
            NetworkStep::IpvsDevice => {
                let args = ["link", "delete", KUBE_IPVS_DEVICE];
                check("ip", &args, host.run("ip", &args));
            }
            NetworkStep::Iptables(c) => {
                let args = ["-w", "5", "--noflush"];
                let input = iptables_restore_input(&c.tables);
                check(&c.restore, &args, host.run_with_input(&c.restore, &args, &input));
            }
            NetworkStep::NftTables(tables) => {
                for (family, name) in tables {
                    let args = ["delete", "table", family.as_str(), name.as_str()];
                    check("nft", &args, host.run("nft", &args));
                }
            }
            NetworkStep::Ipsets(sets) => {
                for set in sets {
                    let args = ["destroy", set.as_str()];
                    check("ipset", &args, host.run("ipset", &args));
                }
            }
            NetworkStep::CniDirs(dirs) => {
                for d in dirs {
                    if let Err(e) = clean_dir(d) {
                        notes.push(NetworkNote::Warn(format!(
                            "[reset] Failed to delete contents of {:?} directory: {e}",
                            d.display().to_string()
                        )));
                    }
                }
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_below_matches_strictly_below_and_decodes_escapes() {
        let m = "tmpfs /var/lib/kubelet tmpfs rw 0 0\n\
                 tmpfs /var/lib/kubelet/pods/a/volumes/x tmpfs rw 0 0\n\
                 tmpfs /var/lib/kubelet2/y tmpfs rw 0 0\n\
                 tmpfs /var/lib/kubelet/with\\040space tmpfs rw 0 0\n";
        assert_eq!(
            mounts_below(m, "/var/lib/kubelet"),
            vec!["/var/lib/kubelet/pods/a/volumes/x".to_string(), "/var/lib/kubelet/with space".to_string()]
        );
    }

    #[test]
    fn clean_dir_keeps_the_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("f"), "x").unwrap();
        clean_dir(d.path()).unwrap();
        assert!(d.path().is_dir());
        assert!(is_dir_empty(d.path()));
        clean_dir(&d.path().join("missing")).unwrap();
        remove_all(&d.path().join("missing")).unwrap();
    }

    #[test]
    fn flags_map() {
        let f = unmount_flags(&["MNT_DETACH".into(), "UMOUNT_NOFOLLOW".into()]);
        assert!(f.contains(nix::mount::MntFlags::MNT_DETACH));
        assert!(f.contains(nix::mount::MntFlags::UMOUNT_NOFOLLOW));
        assert!(!f.contains(nix::mount::MntFlags::MNT_FORCE));
    }

    const NFT_SAVE: &str = "# Generated by iptables-nft-save v1.8.9 (nf_tables)\n\
*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT\n\
*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:KUBE-FORWARD - [0:0]\n:MY-FILTER - [0:0]\n\
-A INPUT -p tcp -m tcp --dport 9999 -j ACCEPT\n\
-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n\
-A FORWARD -j MY-FILTER\n-A KUBE-FORWARD -j ACCEPT\nCOMMIT\n\
*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-ABC - [0:0]\n:MY-CHAIN - [0:0]\n\
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A PREROUTING -j MY-CHAIN\n-A MY-CHAIN -g KUBE-SVC-ABC\n-A KUBE-SERVICES -j KUBE-SVC-ABC\nCOMMIT\n\
*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";

    #[test]
    fn iptables_save_is_reduced_to_the_kube_chains_and_their_jumps() {
        let t = parse_iptables_save(NFT_SAVE);
        assert_eq!(t.len(), 3, "{t:?}");
        assert_eq!(
            t[0],
            IptablesTable {
                table: "mangle".into(),
                chains: vec!["KUBE-KUBELET-CANARY".into()],
                jumps: vec![]
            }
        );
        assert_eq!(t[1].chains, ["KUBE-FORWARD"]);
        assert_eq!(
            t[1].jumps,
            ["FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"]
        );
        assert_eq!(t[2].chains, ["KUBE-SERVICES", "KUBE-SVC-ABC"]);
        assert_eq!(
            t[2].jumps,
            [
                "PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
                "MY-CHAIN -g KUBE-SVC-ABC"
            ]
        );
        let input = iptables_restore_input(&t[2..]);
        assert_eq!(
            input,
            "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-ABC - [0:0]\n\
             -D PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
             -D MY-CHAIN -g KUBE-SVC-ABC\n-X KUBE-SERVICES\n-X KUBE-SVC-ABC\nCOMMIT\n"
        );
        assert!(parse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n").is_empty());
        assert!(parse_iptables_save("").is_empty());
    }

    fn fake_with_tools(tools: &[&str]) -> crate::fake::FakeHost {
        let mut h = crate::fake::FakeHost::default();
        h.path_exes = tools.iter().map(|s| s.to_string()).collect();
        h
    }

    #[test]
    fn network_cleanup_plans_and_runs_every_backend() {
        let mut h = fake_with_tools(&[
            "iptables-legacy-save",
            "iptables-legacy-restore",
            "iptables-nft-save",
            "iptables-nft-restore",
            "iptables-save",
            "iptables-restore",
            "ip6tables-nft-save",
            "ip6tables-nft-restore",
            "nft",
            "ip",
            "ipvsadm",
            "ipset",
        ]);
        h.file(PROC_IPVS, b"IP Virtual Server version 1.2.1 (size=4096)\n");
        h.command("iptables-legacy-save", true, "")
            .command("iptables-nft-save", true, NFT_SAVE)
            .command("ip6tables-nft-save", true, "*filter\n:KUBE-FIREWALL - [0:0]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT\n")
            .command("iptables-nft-restore -w 5 --noflush", true, "")
            .command("ip6tables-nft-restore -w 5 --noflush", true, "")
            .command("nft list tables", true, "table ip filter\ntable ip kube-proxy\ntable ip6 kube-proxy\ntable inet kube-proxy\ntable inet mine\n")
            .command("nft delete table ip kube-proxy", true, "")
            .command("nft delete table ip6 kube-proxy", true, "")
            .command("ip link show kube-ipvs0", true, "5: kube-ipvs0: <BROADCAST,NOARP> ...\n")
            .command("ip link delete kube-ipvs0", true, "")
            .command("ipvsadm --clear", true, "")
            .command("ipset list -n", true, "KUBE-CLUSTER-IP\nmine\nKUBE-LOOP-BACK\n")
            .command("ipset destroy KUBE-CLUSTER-IP", true, "")
            .command("ipset destroy KUBE-LOOP-BACK", true, "");
        let cni = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(cni.path().join("networks/bridge")).unwrap();
        std::fs::write(cni.path().join("10-bridge.conflist"), "{}").unwrap();
        let plan = plan_network_cleanup(&h, &[cni.path().to_path_buf()]);
        assert!(plan.notes.iter().all(|n| !matches!(n, NetworkNote::Warn(_))), "{:?}", plan.notes);
        let kinds: Vec<String> = plan.steps.iter().map(|s| s.describe(true)).collect();
        assert_eq!(kinds.len(), 7, "{kinds:#?}");
        assert_eq!(kinds[0], "clear the IPVS tables (ipvsadm --clear)");
        assert_eq!(kinds[1], "delete the network interface kube-ipvs0");
        assert_eq!(
            kinds[2],
            "delete the iptables chains named KUBE-* and the rules jumping to them (iptables-nft): \
             mangle [KUBE-KUBELET-CANARY] (0 jump rules), filter [KUBE-FORWARD] (1 jump rules), \
             nat [KUBE-SERVICES KUBE-SVC-ABC] (2 jump rules)"
        );
        assert!(kinds[3].contains("(ip6tables-nft): filter [KUBE-FIREWALL] (1 jump rules)"), "{}", kinds[3]);
        assert_eq!(kinds[4], "delete the nftables tables: [ip kube-proxy ip6 kube-proxy]");
        assert_eq!(kinds[5], "destroy the ipsets named KUBE-*: [KUBE-CLUSTER-IP KUBE-LOOP-BACK]");
        assert!(kinds[6].starts_with("delete contents of the CNI directories: ["), "{}", kinds[6]);
        // Planning ran read-only commands only; the plain iptables was not used beside the variants.
        let planned = h.ran_commands();
        assert!(
            planned.iter().all(|c| c.contains("save") || c.contains(" list") || c.contains(" show")),
            "{planned:?}"
        );
        assert!(!planned.contains(&"iptables-save".to_string()), "{planned:?}");

        for step in &plan.steps {
            assert_eq!(step.apply(&h), vec![], "{step:?}");
        }
        let ran = h.ran_commands();
        for c in [
            "ipvsadm --clear",
            "ip link delete kube-ipvs0",
            "iptables-nft-restore -w 5 --noflush",
            "ip6tables-nft-restore -w 5 --noflush",
            "nft delete table ip kube-proxy",
            "nft delete table ip6 kube-proxy",
            "ipset destroy KUBE-CLUSTER-IP",
        ] {
            assert!(ran.contains(&c.to_string()), "{c} not run: {ran:?}");
        }
        assert!(
            !ran.iter().any(|c| c.contains("inet") || c.contains("legacy-restore") || c.contains("mine")),
            "{ran:?}"
        );
        let input = h.input_of("ip6tables-nft-restore -w 5 --noflush").unwrap();
        assert_eq!(
            input,
            "*filter\n:KUBE-FIREWALL - [0:0]\n-D INPUT -j KUBE-FIREWALL\n-X KUBE-FIREWALL\nCOMMIT\n"
        );
        assert!(cni.path().is_dir() && is_dir_empty(cni.path()));
    }

    #[test]
    fn network_cleanup_without_tools_or_ipvs_is_graceful() {
        // No ipvsadm, no ip_vs in the kernel, no nft, no ipset: only iptables (plain) and CNI.
        let mut h = fake_with_tools(&["iptables-save", "iptables-restore"]);
        h.command("iptables-save", true, "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
        let plan = plan_network_cleanup(&h, &[PathBuf::from("/nonexistent/kubeadm-rs-cni")]);
        assert_eq!(
            plan.steps,
            vec![NetworkStep::CniDirs(vec![PathBuf::from("/nonexistent/kubeadm-rs-cni")])]
        );
        assert!(
            plan.notes.contains(&NetworkNote::Info("[reset] Found no iptables chains named KUBE-*".into()))
        );
        assert!(plan.notes.iter().all(|n| !matches!(n, NetworkNote::Warn(_))), "{:?}", plan.notes);
        assert_eq!(plan.steps[0].apply(&h), vec![]);

        // ip_vs loaded but no ipvsadm: a warning, no step.
        let mut h = fake_with_tools(&[]);
        h.file(PROC_IPVS, b"");
        let plan = plan_network_cleanup(&h, &[]);
        assert!(
            plan.notes
                .iter()
                .any(|n| matches!(n, NetworkNote::Warn(w) if w.contains("ipvsadm was not found")))
        );
        assert_eq!(plan.steps, vec![NetworkStep::CniDirs(vec![])]);
    }

    #[test]
    fn network_cleanup_failures_are_warnings() {
        let mut h = fake_with_tools(&["iptables-legacy-save", "iptables-legacy-restore", "nft"]);
        h.commands.insert(
            "iptables-legacy-save".into(),
            crate::hostenv::CommandOutput {
                success: false,
                stdout: String::new(),
                stderr: "iptables-legacy-save: Permission denied\n".into(),
            },
        );
        // `nft list tables` is not canned: the program "is missing" (ENOENT).
        let plan = plan_network_cleanup(&h, &[]);
        let warns: Vec<&NetworkNote> =
            plan.notes.iter().filter(|n| matches!(n, NetworkNote::Warn(_))).collect();
        assert_eq!(
            warns,
            [
                &NetworkNote::Warn(
                    "[reset] iptables-legacy-save failed: iptables-legacy-save: Permission denied".into()
                ),
                &NetworkNote::Warn("[reset] Could not run nft list tables: no such file or directory".into()),
            ]
        );
        let step = NetworkStep::NftTables(vec![("ip".into(), "kube-proxy".into())]);
        assert_eq!(
            step.apply(&h),
            [NetworkNote::Warn(
                "[reset] Could not run nft delete table ip kube-proxy: no such file or directory".into()
            )]
        );
        assert_eq!(step.describe(false), "Deleting the nftables tables: [ip kube-proxy]");
    }
}
