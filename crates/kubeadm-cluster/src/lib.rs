//! API-server work of kubeadm-rs, on kube-rs: what upstream kubeadm v1.37.2 does against a live
//! control plane during `kubeadm init` (and what the `token` command needs).
//!
//! * [`client`]: a [`kube::Client`] from a kubeconfig file (admin.conf / super-admin.conf) with
//!   per-request timeouts, the retry-until-timeout loop driven by `timeouts.kubernetesAPICall`
//!   ([`ApiTimeouts`]), and upstream's admin-client bootstrap
//!   ([`client::ensure_admin_cluster_role_binding`]).
//! * [`apply`]: idempotent create-or-update / create-or-mutate / create-or-retain helpers
//!   (upstream `apiclient.CreateOrUpdate` & co.).
//! * [`bootstrap`]: the `bootstrap-token` phase (token Secrets, RBAC, `cluster-info`).
//! * [`token`]: bootstrap token Secrets encode/decode, `token create|list|delete`, and the list
//!   output (table, json, yaml) exactly as upstream prints it.
//! * [`uploadconfig`]: `upload-config/kubeadm` and the hook for `upload-config/kubelet`.
//! * [`markcp`]: the `mark-control-plane` phase.
//! * [`joincmd`]: the `kubeadm join` command printed by `init` and `token create --print-join-command`.
//! * [`copycerts`]: `upload-certs` / `download-certs` (the encrypted `kubeadm-certs` Secret).
//! * [`fetchconfig`]: reading the stored ClusterConfiguration and kubelet configuration back (join).
//! * [`discovery`]: `join` discovery (token, file, HTTPS) and the TLS-bootstrap kubeconfig.
//! * [`tlsbootstrap`]: the node's client certificate via a CertificateSigningRequest, as the
//!   kubelet's TLS bootstrap gets it.
//! * [`etcd`]: the etcd v3 client (members, learners, health, endpoints from the etcd Pods,
//!   removing this node's member on `reset`).
//! * [`jws`]: detached JWS signatures of `cluster-info` (cluster-bootstrap `jws.go`).
//!
//! All API functions are `async` (tokio); callers without a runtime can use [`runtime`].
//! Console messages are written to a caller-supplied `std::io::Write` with upstream's exact text.
//! Token secrets never appear in errors, `Debug` output or logs.

pub mod apply;
pub mod bootstrap;
pub mod client;
pub mod copycerts;
pub mod discovery;
pub mod error;
pub mod etcd;
pub mod fetchconfig;
pub mod joincmd;
pub mod jws;
pub mod markcp;
pub mod tlsbootstrap;
pub mod token;
pub mod uploadconfig;

pub use client::ApiTimeouts;
pub use error::{Error, Result};
pub use kube::Client;

/// A current-thread tokio runtime for callers that are not async (the CLI): `runtime()?.block_on(..)`.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime { source })
}
