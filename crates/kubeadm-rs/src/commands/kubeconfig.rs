//! `kubeadm-rs kubeconfig user`: prints a kubeconfig for an additional user (upstream
//! `cmd/kubeconfig.go` and `phases/kubeconfig.WriteKubeConfigWith{ClientCert,Token}`).
//!
//! The cluster configuration comes from `--config` (or the defaults), the CA from
//! `<certificatesDir>/ca.{crt,key}`; the server URL is `controlPlaneEndpoint` or the local API
//! endpoint (advertise address, dynamically defaulted from the host, and `bindPort`).

use anyhow::Context;
use kubeadm_api::{Duration, constants};
use kubeadm_manifests::kubeconfig as kc;

use crate::cli::KubeconfigCommand;
use crate::commands::init::InitOptions;
use crate::output::Output;

/// The CA's base name in `certificatesDir`.
const CA_BASE_NAME: &str = "ca";

/// Runs a `kubeconfig` subcommand.
pub fn run(out: &Output, cmd: &KubeconfigCommand) -> anyhow::Result<()> {
    match cmd {
        KubeconfigCommand::User { config, token, client_name, org, validity_period } => {
            user(out, config.as_deref(), token.as_deref(), client_name.as_deref(), org, validity_period)
        }
    }
}

/// `kubeconfig user`.
fn user(
    out: &Output,
    config: Option<&str>,
    token: Option<&str>,
    client_name: Option<&str>,
    organizations: &[String],
    validity_period: &str,
) -> anyhow::Result<()> {
    // pflag parses the flag values before cobra checks the required flags.
    let validity = Duration::parse(validity_period).map_err(|e| {
        anyhow::anyhow!("invalid argument {validity_period:?} for \"--validity-period\" flag: {e}")
    })?;
    let Some(client_name) = client_name else { anyhow::bail!("required flag(s) \"client-name\" not set") };

    let opts =
        InitOptions { config: config.filter(|c| !c.is_empty()).map(Into::into), ..InitOptions::default() };
    let cfg = crate::wiring::load_init_config(out, &opts)?;
    if validity > constants::CERTIFICATE_VALIDITY_PERIOD {
        out.warn(format!(
            "WARNING: the specified certificate validity period {validity} is longer than the default duration {}, this may increase security risks.",
            constants::CERTIFICATE_VALIDITY_PERIOD
        ));
    }
    let start = time::OffsetDateTime::now_utc();
    let not_after = start + time::Duration::nanoseconds(validity.as_nanos());

    // Upstream `pkiutil.TryLoadCertAndKeyFromDisk`: the CA key is loaded (and must be valid) for
    // the token variant as well; the certificate need not be a CA.
    let ca = kubeadm_pki::load_cert_and_key(&cfg.certificates_dir(), CA_BASE_NAME)
        .context("couldn't create a kubeconfig; the CA files couldn't be loaded")?;
    if let Err(e) = ca.cert.validate_period(start) {
        out.warn(format!("WARNING: could not validate bounds for certificate {CA_BASE_NAME}: {e}"));
    }
    let (server, warning) =
        kc::control_plane_endpoint_url(&cfg.cluster.control_plane_endpoint, &cfg.init.local_api_endpoint)?;
    if let Some(w) = warning {
        out.warn(w);
    }
    let ca_pem = ca.cert.to_pem();
    let cluster_name = &cfg.cluster.cluster_name;
    let kubeconfig = match token.filter(|t| !t.is_empty()) {
        Some(token) => kc::create_with_token(&server, cluster_name, client_name, ca_pem.as_bytes(), token),
        None => {
            let algorithm: kubeadm_pki::KeyAlgorithm =
                cfg.cluster.encryption_algorithm_or_default().as_str().parse()?;
            let client =
                kubeadm_pki::issue_client_cert(&ca, client_name, organizations, algorithm, not_after)
                    .with_context(|| format!("failure while creating {client_name} client certificate"))?;
            // The key PEM goes into the kubeconfig only; its error never contains the key.
            let key_pem = client.key.to_pem().context("failed to marshal private key to PEM")?;
            kc::create_with_certs(
                &server,
                cluster_name,
                client_name,
                ca_pem.as_bytes(),
                key_pem.as_bytes(),
                client.cert.to_pem().as_bytes(),
            )
        }
    };
    let text = kc::user_output(&kubeconfig).context("failure while serializing admin kubeconfig")?;
    out.raw(text);
    Ok(())
}
