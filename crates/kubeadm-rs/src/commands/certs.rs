//! `kubeadm-rs certs ...`. `certificate-key` is implemented; the rest is not yet.

use rand::{RngCore, TryRngCore};

use crate::cli::{CertsCommand, RenewTarget};
use crate::commands::not_implemented;
use crate::output::Output;

/// A random 32-byte AES key, hex encoded (upstream `copycerts.CreateCertificateKey`).
pub fn certificate_key() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.unwrap_err().fill_bytes(&mut key);
    hex::encode(key)
}

fn renew_name(t: &RenewTarget) -> &'static str {
    match t {
        RenewTarget::AdminConf(_) => "admin.conf",
        RenewTarget::All(_) => "all",
        RenewTarget::ApiserverEtcdClient(_) => "apiserver-etcd-client",
        RenewTarget::ApiserverKubeletClient(_) => "apiserver-kubelet-client",
        RenewTarget::Apiserver(_) => "apiserver",
        RenewTarget::ControllerManagerConf(_) => "controller-manager.conf",
        RenewTarget::EtcdHealthcheckClient(_) => "etcd-healthcheck-client",
        RenewTarget::EtcdPeer(_) => "etcd-peer",
        RenewTarget::EtcdServer(_) => "etcd-server",
        RenewTarget::FrontProxyClient(_) => "front-proxy-client",
        RenewTarget::SchedulerConf(_) => "scheduler.conf",
        RenewTarget::SuperAdminConf(_) => "super-admin.conf",
    }
}

/// Runs a `certs` subcommand.
pub fn run(out: &Output, cmd: &CertsCommand) -> anyhow::Result<()> {
    match cmd {
        CertsCommand::CertificateKey => {
            out.line(certificate_key());
            Ok(())
        }
        CertsCommand::CheckExpiration { .. } => not_implemented("certs check-expiration"),
        CertsCommand::GenerateCsr { .. } => not_implemented("certs generate-csr"),
        CertsCommand::Renew { target } => not_implemented(&format!("certs renew {}", renew_name(target))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn certificate_key_is_64_hex_chars() {
        let k = super::certificate_key();
        assert_eq!(k.len(), 64);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(k, super::certificate_key());
    }
}
