//! Generated files of `kubeadm init` / `join`: kubeconfig files, static Pod manifests (etcd and the
//! control plane), `--patches`, and image names — byte-compatible with upstream kubeadm v1.37.2.
//!
//! The crate is pure: facts about the host (existing CA directories, proxy variables, whether
//! `ca.key` exists, patch file contents) are inputs, results are values and
//! [`kubeadm_api::OutFile`]s.
//!
//! * [`staticpod`]: `control_plane_pods`, `etcd_pod`, component commands.
//! * [`kubeconfig`]: the client-go `Config` model, `clientcmd.Write`-identical YAML, specs and reuse
//!   checks.
//! * [`patches`] / [`strategic`]: patch files and strategic merge.
//! * [`images`]: image names and `config images list`.
//! * [`goyaml`]: go-yaml v2 compatible YAML output.
//! * [`componentconfigs`]: KubeletConfiguration / KubeProxyConfiguration, the component-config
//!   hash, the kubelet ConfigMap, `config print --component-configs`.
//! * [`kubelet`]: the node-local files of `kubelet-start`.
//! * [`kubeletpki`]: the kubelet's client certificate store and `kubelet.conf` after a TLS
//!   bootstrap.
//! * [`addons`]: CoreDNS and kube-proxy objects.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod addons;
pub mod args;
pub mod componentconfigs;
pub mod goyaml;
pub mod images;
pub mod kubeconfig;
pub mod kubelet;
pub mod kubeletpki;
pub mod patches;
pub mod paths;
pub mod staticpod;
pub mod strategic;

pub use staticpod::{HostInputs, StaticPod};
