//! kubeadm's PKI: CAs, certificates, keys; generation, reuse and verification.
