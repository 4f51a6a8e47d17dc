//! `kubeadm-rs reset --cleanup-network` (kubeadm-rs extension, issue 6) on a bed node.
//!
//! The node gets what kube-proxy, the kubelet and a CNI plugin leave behind — `KUBE-*` chains
//! with rules jumping to them in the filter, nat and mangle tables of iptables-nft and
//! iptables-legacy (IPv4) and ip6tables-nft, the nftables tables `ip kube-proxy` and
//! `ip6 kube-proxy`, CNI configuration and IPAM state — next to unrelated chains, rules and an
//! unrelated nftables table. Checked:
//!
//! * `reset -f --dry-run --cleanup-network` lists what it would remove and removes nothing;
//! * `reset -f --cleanup-network` removes all of it (the kernel here has no IPVS: no error) and
//!   leaves the unrelated chains, rules and table; the CNI directories stay, empty;
//! * the closing note only mentions `$HOME/.kube/config`.
//!
//! Needs root and the pinned components; fails when they are missing unless
//! `KUBEADM_RS_SKIP_BED=1`.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use kubeadm_testbed::{Bed, Node, bed_preflight, heavy_lock};

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubeadm-rs"))
}

/// What kube-proxy (iptables and nftables modes), the kubelet and a CNI plugin leave, plus
/// unrelated state that must survive.
const SETUP: &str = r#"set -eu
for b in iptables-nft iptables-legacy; do
  $b -t nat -N KUBE-SERVICES
  $b -t nat -N KUBE-SVC-TESTABCDEFGHIJKL
  $b -t nat -N KUBE-POSTROUTING
  $b -t nat -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -j KUBE-SVC-TESTABCDEFGHIJKL
  $b -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
  $b -t nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
  $b -t nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
  $b -t filter -N KUBE-FORWARD
  $b -t filter -N KUBE-FIREWALL
  $b -t filter -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
  $b -t filter -A INPUT -j KUBE-FIREWALL
  $b -t mangle -N KUBE-KUBELET-CANARY
  $b -t nat -N BED-UNRELATED
  $b -t nat -A PREROUTING -j BED-UNRELATED
  $b -t filter -A INPUT -p tcp --dport 9999 -j ACCEPT
done
ip6tables-nft -t filter -N KUBE-FIREWALL
ip6tables-nft -t filter -A INPUT -j KUBE-FIREWALL
ip6tables-nft -t filter -N BED-UNRELATED6
nft add table ip kube-proxy
nft add chain ip kube-proxy services
nft add table ip6 kube-proxy
nft add table inet bed-unrelated
nft add chain inet bed-unrelated input
mkdir -p /etc/cni/net.d /var/lib/cni/networks/bed /var/lib/cni/results
echo '{"cniVersion":"1.0.0","name":"bed","plugins":[{"type":"bridge"}]}' > /etc/cni/net.d/10-bed.conflist
echo 'eth0' > /var/lib/cni/networks/bed/10.244.0.2
echo '{}' > /var/lib/cni/results/bed-abc-eth0
"#;

fn sh(node: &Node, script: &str) -> Result<String> {
    Ok(node.exec_ok("/bin/sh", ["-c", script], &[])?)
}

/// Everything the checks look at, as one text.
fn state(node: &Node) -> Result<String> {
    sh(
        node,
        "for b in iptables-nft iptables-legacy ip6tables-nft; do echo \"## $b\"; $b-save | grep -v '^#'; done; \
         echo '## nft'; nft list tables; echo '## cni'; find /etc/cni/net.d /var/lib/cni -mindepth 1 | sort",
    )
}

fn run_reset(node: &Node, extra: &[&str]) -> Result<String> {
    let mut args = vec!["reset", "-f", "--cleanup-network"];
    args.extend_from_slice(extra);
    let start = std::time::Instant::now();
    let out = node.exec(ours(), &args, &[])?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "===== kubeadm-rs {} (exit {:?}, {:.1}s) =====\n{stdout}\n[stderr]\n{}",
        args.join(" "),
        out.status.code(),
        start.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(out.status.success(), "kubeadm-rs {} failed", args.join(" "));
    Ok(stdout)
}

fn cleanup_network(bed: &Bed) -> Result<()> {
    let n = bed.node(0);
    sh(n, SETUP).context("setting up kube-proxy/CNI leftovers")?;
    let before = state(n)?;
    eprintln!("===== before =====\n{before}");
    for want in [
        ":KUBE-SVC-TESTABCDEFGHIJKL",
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
        ":KUBE-KUBELET-CANARY",
        "table ip kube-proxy",
        "table ip6 kube-proxy",
        "/etc/cni/net.d/10-bed.conflist",
    ] {
        ensure!(before.contains(want), "setup: {want:?} missing");
    }

    // Dry run: a plan, no change.
    let dry = run_reset(n, &["--dry-run"])?;
    for want in [
        "[dryrun] Would delete the iptables chains named KUBE-* and the rules jumping to them (iptables-legacy): ",
        "[dryrun] Would delete the iptables chains named KUBE-* and the rules jumping to them (iptables-nft): ",
        "(ip6tables-nft): filter [KUBE-FIREWALL] (1 jump rules)",
        "nat [KUBE-POSTROUTING KUBE-SERVICES KUBE-SVC-TESTABCDEFGHIJKL] (3 jump rules)",
        "[dryrun] Would delete the nftables tables: [ip kube-proxy ip6 kube-proxy]",
        "[dryrun] Would delete contents of the CNI directories: [/etc/cni/net.d /var/lib/cni]",
    ] {
        ensure!(dry.contains(want), "dry run: {want:?} missing");
    }
    ensure!(state(n)? == before, "the dry run changed something");

    let out = run_reset(n, &[])?;
    for want in [
        "[reset] Deleting the iptables chains named KUBE-* and the rules jumping to them (iptables-nft): ",
        "[reset] Deleting the nftables tables: [ip kube-proxy ip6 kube-proxy]",
        "[reset] Deleting contents of the CNI directories: [/etc/cni/net.d /var/lib/cni]",
        "The reset process does not clean your kubeconfig files",
    ] {
        ensure!(out.contains(want), "reset: {want:?} missing");
    }
    ensure!(!out.contains("network filtering rules"), "upstream's manual-cleanup note printed");

    let after = state(n)?;
    eprintln!("===== after =====\n{after}");
    ensure!(!after.contains("KUBE-"), "KUBE-* chains or rules left:\n{after}");
    ensure!(!after.contains("kube-proxy"), "kube-proxy nftables tables left:\n{after}");
    ensure!(
        !after.contains("/etc/cni/net.d/") && !after.contains("/var/lib/cni/"),
        "CNI files left:\n{after}"
    );
    // Unrelated state stays, in both iptables backends.
    for (backend, section) in after.split("## ").skip(1).filter_map(|s| s.split_once('\n')) {
        let keep: &[&str] = match backend {
            "iptables-nft" | "iptables-legacy" => {
                &[":BED-UNRELATED - [0:0]", "-A PREROUTING -j BED-UNRELATED", "--dport 9999 -j ACCEPT"]
            }
            "ip6tables-nft" => &[":BED-UNRELATED6 - [0:0]"],
            "nft" => &["table inet bed-unrelated"],
            _ => &[],
        };
        for k in keep {
            ensure!(section.contains(k), "{backend}: {k:?} was removed:\n{section}");
        }
    }
    for d in ["/etc/cni/net.d", "/var/lib/cni"] {
        ensure!(n.host_path(d).is_dir(), "{d} itself was removed");
    }

    // A second run finds nothing and succeeds.
    let again = run_reset(n, &[])?;
    ensure!(again.contains("[reset] Found no iptables chains named KUBE-*"), "second run");
    ensure!(again.contains("[reset] Found no nftables table named \"kube-proxy\""), "second run");
    Ok(())
}

#[test]
fn reset_cleanup_network_removes_kube_proxy_and_cni_state() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let start = std::time::Instant::now();
    let bed = Bed::builder().name("krs-resetnet").nodes(1).start()?;
    let r = cleanup_network(&bed);
    if r.is_err() {
        eprintln!("===== log tails =====\n{}", bed.log_tails(40));
    }
    eprintln!("[krs-resetnet] {:.1}s", start.elapsed().as_secs_f64());
    r
}
