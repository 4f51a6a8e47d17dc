//! API-server work for kubeadm-rs (kube-rs). Filled in by the init/join issues.
