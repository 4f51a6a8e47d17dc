//! `kubeadm reset` phases (upstream `cmd/kubeadm/app/cmd/phases/reset`). Not implemented yet.

use crate::flags::names::*;
use crate::output::Output;
use crate::phases::not_implemented;
use crate::workflow::{Phase, Runner};

/// Shared state of a `reset` run.
pub struct ResetData {
    /// Output sink.
    #[allow(dead_code)] // read once the phases are implemented
    pub out: Output,
}

/// The `reset` phase table.
pub fn runner() -> Runner<ResetData> {
    Runner {
        command: "reset",
        phases: vec![
            Phase::new("preflight", "Run reset pre-flight checks")
                .aliases(&["pre-flight"])
                .long("Run pre-flight checks for kubeadm reset.")
                .run(|_| Err(not_implemented("preflight")))
                .flags(vec![IGNORE_PREFLIGHT_ERRORS, FORCE, DRY_RUN]),
            Phase::new("remove-etcd-member", "Remove a local etcd member.")
                .long("Remove a local etcd member for a control plane node.")
                .run(|_| Err(not_implemented("remove-etcd-member")))
                .flags(vec![KUBECONFIG, DRY_RUN]),
            Phase::new("cleanup-node", "Run cleanup node.")
                .aliases(&["cleanupnode"])
                .run(|_| Err(not_implemented("cleanup-node")))
                .flags(vec![CERT_DIR, CRI_SOCKET, CLEANUP_TMP_DIR, DRY_RUN]),
        ],
    }
}
