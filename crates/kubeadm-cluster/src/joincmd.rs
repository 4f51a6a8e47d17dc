//! The `kubeadm join` command that `init` and `token create --print-join-command` print
//! (upstream `cmd/util/join.go`).
//!
//! [`join_command`] renders upstream's `html/template` exactly (including the ` \` + newline +
//! tab continuations and the trailing space after each CA pin); [`flatten_join_command`] is what
//! `token create --print-join-command` does with it before printing. [`join_info_from_kubeconfig`]
//! gets the endpoint and the CA pins from a kubeconfig (server URL without `https://`, one
//! `sha256:<hex>` pin per CA certificate in `certificate-authority-data` or the file it names).
//!
//! The result contains the token and certificate key unless withheld: it is meant to be printed,
//! never logged.

use kubeadm_manifests::kubeconfig::Config as KubeConfig;

use crate::error::{Error, Result};

/// What upstream prints instead of a withheld token or certificate key.
pub const VALUE_WITHHELD: &str = "<value withheld>";

/// Go `html/template`'s escaping of a value in HTML text context.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '+' => out.push_str("&#43;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Upstream's join command template, with `skip_certificate_key_print` too (init's
/// `--skip-certificate-key-print`). `endpoint` is `host:port` (the kubeconfig server without
/// `https://`), `pins` the `sha256:<hex>` CA pins, `certificate_key` empty for none.
pub fn join_command_full(
    endpoint: &str,
    token: &str,
    pins: &[String],
    control_plane: bool,
    certificate_key: &str,
    skip_token_print: bool,
    skip_certificate_key_print: bool,
) -> String {
    let token = if skip_token_print { VALUE_WITHHELD.to_string() } else { html_escape(token) };
    let mut s = format!("kubeadm join {} --token {token} \\\n\t", html_escape(endpoint));
    for p in pins {
        s.push_str(&format!("--discovery-token-ca-cert-hash {} ", html_escape(p)));
    }
    if control_plane {
        s.push_str("\\\n\t--control-plane ");
        // Upstream replaces the key by the (non-empty) withheld marker before the template's
        // `{{if .CertificateKey}}`, so a withheld empty key is still printed as withheld.
        let key = if skip_certificate_key_print {
            VALUE_WITHHELD.to_string()
        } else {
            html_escape(certificate_key)
        };
        if !key.is_empty() {
            s.push_str(&format!("--certificate-key {key}"));
        }
    }
    s
}

/// [`join_command_full`] with the certificate key printed (upstream `GetJoinWorkerCommand` /
/// `GetJoinControlPlaneCommand` with `skipCertificateKeyPrint=false`).
pub fn join_command(
    endpoint: &str,
    token: &str,
    pins: &[String],
    control_plane: bool,
    certificate_key: &str,
    skip_token_print: bool,
) -> String {
    join_command_full(endpoint, token, pins, control_plane, certificate_key, skip_token_print, false)
}

/// What `token create --print-join-command` prints (without the final newline): the command with
/// every ` \` + newline and every tab removed.
pub fn flatten_join_command(cmd: &str) -> String {
    cmd.replace("\\\n", "").replace('\t', "")
}

/// The endpoint (`host:port`) and CA pins for the join command, from a kubeconfig's default
/// cluster (upstream `getJoinCommand`'s loading part). `what` names the kubeconfig in errors.
pub fn join_info_from_kubeconfig(config: &KubeConfig, what: &str) -> Result<(String, Vec<String>)> {
    let (_, cluster) = config.current_cluster().ok_or_else(|| {
        Error::JoinCommand(format!(
            "malformed kubeconfig file: {what}: the current context or its cluster was not found"
        ))
    })?;
    let certs = if let Some(data) = cluster.certificate_authority_data.as_ref().filter(|d| !d.is_empty()) {
        kubeadm_pki::Certificate::all_from_pem(data)
            .map_err(|e| Error::JoinCommand(format!("failed to parse CA certificate from kubeconfig: {e}")))?
    } else if !cluster.certificate_authority.is_empty() {
        let data = std::fs::read(&cluster.certificate_authority).map_err(|e| {
            Error::JoinCommand(format!(
                "failed to load CA certificate referenced by kubeconfig: open {}: {}",
                cluster.certificate_authority,
                go_io_reason(&e)
            ))
        })?;
        kubeadm_pki::Certificate::all_from_pem(&data).map_err(|e| {
            Error::JoinCommand(format!("failed to load CA certificate referenced by kubeconfig: {e}"))
        })?
    } else {
        return Err(Error::JoinCommand("no CA certificates found in kubeconfig".into()));
    };
    let pins = certs.iter().map(kubeadm_pki::ca_public_key_pin).collect();
    Ok((cluster.server.replace("https://", ""), pins))
}

/// Go's text for common I/O errors.
pub(crate) fn go_io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn worker_command_matches_upstream_template() {
        let c = join_command("10.0.0.1:6443", "abcdef.0123456789abcdef", &[PIN.into()], false, "", false);
        assert_eq!(
            c,
            format!(
                "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef \\\n\t--discovery-token-ca-cert-hash {PIN} "
            )
        );
        assert_eq!(
            flatten_join_command(&c),
            format!(
                "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash {PIN} "
            )
        );
    }

    #[test]
    fn control_plane_command_and_withheld_values() {
        let c = join_command("cp:6443", "abcdef.0123456789abcdef", &[PIN.into()], true, "00ff", false);
        assert_eq!(
            c,
            format!(
                "kubeadm join cp:6443 --token abcdef.0123456789abcdef \\\n\t--discovery-token-ca-cert-hash {PIN} \\\n\t--control-plane --certificate-key 00ff"
            )
        );
        let c =
            join_command_full("cp:6443", "abcdef.0123456789abcdef", &[PIN.into()], true, "00ff", true, true);
        assert_eq!(
            c,
            format!(
                "kubeadm join cp:6443 --token <value withheld> \\\n\t--discovery-token-ca-cert-hash {PIN} \\\n\t--control-plane --certificate-key <value withheld>"
            )
        );
        let c = join_command_full("cp:6443", "t", &[], true, "", false, true);
        assert_eq!(
            c,
            "kubeadm join cp:6443 --token t \\\n\t\\\n\t--control-plane --certificate-key <value withheld>"
        );
        let c = join_command("cp:6443", "t", &[], true, "", false);
        assert_eq!(c, "kubeadm join cp:6443 --token t \\\n\t\\\n\t--control-plane ");
        assert_eq!(flatten_join_command(&c), "kubeadm join cp:6443 --token t --control-plane ");
    }

    #[test]
    fn values_are_html_escaped() {
        assert_eq!(html_escape("a+b<&>'\""), "a&#43;b&lt;&amp;&gt;&#39;&#34;");
    }
}
