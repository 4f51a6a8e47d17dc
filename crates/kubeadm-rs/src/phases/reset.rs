//! `kubeadm reset` phases (upstream `cmd/kubeadm/app/cmd/phases/reset`); the run functions are
//! in [`crate::resetphases`].

pub use crate::commands::reset::ResetData;
use crate::flags::names::*;
use crate::resetphases;
use crate::workflow::{Phase, Runner};

/// The `reset` phase table.
pub fn runner() -> Runner<ResetData> {
    Runner {
        command: "reset",
        phases: vec![
            Phase::new("preflight", "Run reset pre-flight checks")
                .aliases(&["pre-flight"])
                .long("Run pre-flight checks for kubeadm reset.")
                .run(resetphases::preflight)
                .flags(vec![IGNORE_PREFLIGHT_ERRORS, FORCE, DRY_RUN]),
            Phase::new("remove-etcd-member", "Remove a local etcd member.")
                .long("Remove a local etcd member for a control plane node.")
                .run(resetphases::remove_etcd_member)
                .flags(vec![KUBECONFIG, DRY_RUN]),
            Phase::new("cleanup-node", "Run cleanup node.")
                .aliases(&["cleanupnode"])
                .run(resetphases::cleanup_node)
                .flags(vec![CERT_DIR, CRI_SOCKET, CLEANUP_TMP_DIR, DRY_RUN, CLEANUP_NETWORK]),
        ],
    }
}
