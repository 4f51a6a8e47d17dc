//! Output in kubeadm's style: `[phase] message` lines on stdout, and verbose detail gated by `-v N`
//! on stderr (upstream logs those through klog at `V(N)`).
//!
//! A command printing a structured document (`init -o json|yaml`) moves its progress lines to
//! stderr ([`Output::progress_to_stderr`]) so that stdout holds the document only
//! ([`Output::document`]).

use std::io::Write;

/// The message of an error with its causes, upstream style (`outer: inner: root`). Library errors
/// often already end with their source's text (Go's `errors.Wrap` style); a cause whose text the
/// message already ends with is not repeated.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    let mut prev_is_pki = false;
    for cause in err.chain() {
        // kube-rs renders API errors with a Debug dump of the Status; show its message instead,
        // as client-go does (`Unauthorized`, `configmaps "x" not found`).
        if cause.downcast_ref::<kube::core::Status>().is_some()
            || cause.downcast_ref::<Box<kube::core::Status>>().is_some()
        {
            continue;
        }
        // Library errors hold kube-rs errors boxed (`#[source] Box<kube::Error>`).
        let kube_err = cause
            .downcast_ref::<kube::Error>()
            .or_else(|| cause.downcast_ref::<Box<kube::Error>>().map(|b| &**b));
        let text = match kube_err {
            Some(kube::Error::Api(st)) if !st.message.is_empty() => st.message.clone(),
            Some(kube::Error::Api(st)) => st.reason.clone(),
            _ => cause.to_string(),
        };
        // kubeadm-pki renders I/O errors Go-style (`open <path>: no such file or directory`).
        let skip = prev_is_pki && cause.downcast_ref::<std::io::Error>().is_some();
        prev_is_pki = cause.downcast_ref::<kubeadm_pki::PkiError>().is_some()
            || cause.downcast_ref::<Box<kubeadm_pki::PkiError>>().is_some();
        if skip {
            continue;
        }
        if msg.is_empty() {
            msg = text;
        } else if !msg.ends_with(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg
}

/// The output sink shared by all commands and phases.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Verbosity from `-v/--v` (0 by default).
    pub verbosity: u8,
    /// Progress lines ([`Output::line`], [`Output::raw`]) go to stderr instead of stdout.
    pub progress_on_stderr: bool,
}

impl Output {
    /// A sink with the given verbosity.
    pub fn new(verbosity: u8) -> Self {
        Self { verbosity, progress_on_stderr: false }
    }

    /// This sink with its progress lines on stderr (when `yes`), keeping stdout for a document.
    pub fn progress_to_stderr(self, yes: bool) -> Self {
        Self { progress_on_stderr: yes, ..self }
    }

    /// A normal output line (`[certs] Generating "ca" certificate and key`) on stdout.
    pub fn line(&self, text: impl AsRef<str>) {
        if self.progress_on_stderr {
            let _ = writeln!(std::io::stderr().lock(), "{}", text.as_ref());
            return;
        }
        let mut out = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) must not turn into a panic; the final exit reports errors.
        let _ = writeln!(out, "{}", text.as_ref());
    }

    /// Raw text on stdout, no newline added.
    pub fn raw(&self, text: impl AsRef<str>) {
        if self.progress_on_stderr {
            let _ = std::io::stderr().lock().write_all(text.as_ref().as_bytes());
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_ref().as_bytes());
    }

    /// Where progress text written by the libraries goes (stdout, or stderr with
    /// [`Output::progress_to_stderr`]).
    pub fn progress_writer(&self) -> Box<dyn Write + Send> {
        if self.progress_on_stderr { Box::new(std::io::stderr()) } else { Box::new(std::io::stdout()) }
    }

    /// A structured document (`-o json|yaml`) on stdout, always (no newline added).
    pub fn document(&self, text: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_ref().as_bytes());
        let _ = out.flush();
    }

    /// A warning on stderr, in kubeadm's `W` style.
    pub fn warn(&self, text: impl AsRef<str>) {
        eprintln!("W] {}", text.as_ref());
    }

    /// Extra detail printed only with `-v level` or higher (stderr).
    pub fn v(&self, level: u8, text: impl AsRef<str>) {
        if self.verbosity >= level {
            eprintln!("I] {}", text.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_show_the_status_message_not_a_debug_dump() {
        let status = kube::core::Status {
            code: 401,
            message: "Unauthorized".into(),
            reason: "Unauthorized".into(),
            ..Default::default()
        };
        let api = kubeadm_cluster::Error::Api {
            verb: "get",
            kind: "ConfigMap".into(),
            target: "\"kube-system/kubeadm-config\"".into(),
            source: Box::new(kube::Error::Api(Box::new(status))),
        };
        let e = anyhow::Error::new(api.context("unable to fetch the kubeadm-config ConfigMap"));
        assert_eq!(
            error_message(&e),
            "unable to fetch the kubeadm-config ConfigMap: unable to get ConfigMap \"kube-system/kubeadm-config\": Unauthorized"
        );
    }
}
