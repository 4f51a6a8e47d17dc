//! `kubeadm-rs token create|delete|generate|list` (upstream `cmd/token.go`). `generate` is local;
//! `create`, `list` and `delete` talk to the API server through the kubeconfig given with
//! `--kubeconfig` (default `/etc/kubernetes/admin.conf`). `--dry-run` is not implemented yet.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use kubeadm_api::v1beta4::{BootstrapToken, BootstrapTokenString};
use kubeadm_cluster::token::{self as ctoken, TokenTablePrinter, TokenYamlPrinter};
use kubeadm_cluster::{ApiTimeouts, joincmd};
use rand::{Rng, TryRngCore};

use crate::cli::TokenCommand;
use crate::commands::not_implemented;
use crate::output::Output;

const TOKEN_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A random bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` (upstream `bootstraputil.GenerateBootstrapToken`),
/// from the operating system's CSPRNG.
pub fn generate_token() -> String {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    let mut pick = |n: usize| -> String {
        (0..n).map(|_| TOKEN_CHARS[rng.random_range(0..TOKEN_CHARS.len())] as char).collect()
    };
    let id = pick(6);
    let secret = pick(16);
    format!("{id}.{secret}")
}

/// Whether `s` has the bootstrap token format.
pub fn is_valid_token(s: &str) -> bool {
    let Some((id, secret)) = s.split_once('.') else { return false };
    let ok =
        |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    ok(id, 6) && ok(secret, 16)
}

/// Runs a `token` subcommand; `kubeconfig` and `dry_run` are the global `token` flags.
pub fn run(out: &Output, cmd: &TokenCommand, kubeconfig: &str, dry_run: bool) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Generate => {
            out.line(generate_token());
            Ok(())
        }
        _ if dry_run => not_implemented("token --dry-run"),
        TokenCommand::Create {
            token,
            config,
            print_join_command,
            certificate_key,
            ttl,
            usages,
            groups,
            description,
        } => {
            let args = CreateArgs {
                token: token.as_deref(),
                config: config.as_deref(),
                print_join_command: *print_join_command,
                certificate_key: certificate_key.as_deref().unwrap_or(""),
                ttl,
                usages,
                groups,
                description: description.as_deref().unwrap_or(""),
            };
            create(out, kubeconfig, &args)
        }
        TokenCommand::Delete { tokens } => delete(kubeconfig, tokens),
        TokenCommand::List { print } => list(kubeconfig, print.output.as_deref()),
    }
}

/// The flags of `token create`.
#[derive(Debug)]
struct CreateArgs<'a> {
    token: Option<&'a str>,
    config: Option<&'a str>,
    print_join_command: bool,
    certificate_key: &'a str,
    ttl: &'a str,
    usages: &'a [String],
    groups: &'a [String],
    description: &'a str,
}

const DEFAULT_TTL: &str = "24h0m0s";
const DEFAULT_USAGES: &[&str] = &["signing", "authentication"];
const DEFAULT_GROUPS: &[&str] = &["system:bootstrappers:kubeadm:default-node-token"];

fn random_token_string() -> BootstrapTokenString {
    loop {
        // generate_token always has the valid format; the loop only satisfies the type.
        if let Ok(t) = BootstrapTokenString::parse(&generate_token()) {
            return t;
        }
    }
}

/// The tokens `token create` creates: from `--config` (its `bootstrapTokens`, defaulted), or the
/// one token the flags describe; validated as upstream validates the InitConfiguration's tokens.
fn tokens_to_create(out: &Output, a: &CreateArgs<'_>) -> anyhow::Result<(Vec<BootstrapToken>, ApiTimeouts)> {
    let ttl = kubeadm_api::duration::Duration::parse(a.ttl)
        .map_err(|e| anyhow::anyhow!("invalid argument {:?} for \"--ttl\" flag: {e}", a.ttl))?;
    let token = match a.token {
        Some(t) => Some(BootstrapTokenString::parse(t).map_err(|_| {
            // Upstream echoes the token here; a secret must not appear in an error.
            anyhow::anyhow!(
                "the bootstrap token was not of the form \"\\\\A([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})\\\\z\""
            )
        })?),
        None => None,
    };
    let (mut tokens, timeouts) = match a.config {
        Some(path) => {
            // Upstream ValidateMixedArguments: --config only with a few flags. Flags still at
            // their default value count as unset here.
            let mut mixed = Vec::new();
            if !a.certificate_key.is_empty() {
                mixed.push("certificate-key");
            }
            if !a.description.is_empty() {
                mixed.push("description");
            }
            if a.groups != DEFAULT_GROUPS {
                mixed.push("groups");
            }
            if a.ttl != DEFAULT_TTL {
                mixed.push("ttl");
            }
            if a.usages != DEFAULT_USAGES {
                mixed.push("usages");
            }
            if !mixed.is_empty() {
                anyhow::bail!("can not mix '--config' with arguments [{}]", mixed.join(" "));
            }
            let text = std::fs::read_to_string(path).map_err(|e| {
                let reason = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                    std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                    _ => e.to_string(),
                };
                anyhow::anyhow!("unable to read config from {path:?} : open {path}: {reason}")
            })?;
            let bundle = kubeadm_api::load::load_init_config_with(&text, &crate::wiring::STRICT)
                .with_context(|| format!("error loading config file {path:?}"))?;
            for w in &bundle.warnings {
                out.warn(w);
            }
            let t = ApiTimeouts::from_init_configuration(&bundle.init);
            (bundle.init.bootstrap_tokens, t)
        }
        None => (
            vec![BootstrapToken {
                token,
                description: a.description.to_string(),
                ttl: Some(ttl),
                expires: None,
                usages: a.usages.to_vec(),
                groups: a.groups.to_vec(),
            }],
            ApiTimeouts::default(),
        ),
    };
    kubeadm_api::defaults::set_bootstrap_tokens_dynamic_defaults(&mut tokens, &mut random_token_string);
    let errs = kubeadm_api::validation::validate_bootstrap_tokens(&tokens, "bootstrapTokens");
    if !errs.is_empty() {
        anyhow::bail!("{errs}");
    }
    Ok((tokens, timeouts))
}

async fn client(kubeconfig: &str, t: &ApiTimeouts) -> kubeadm_cluster::Result<kubeadm_cluster::Client> {
    kubeadm_cluster::client::client_from_file(Path::new(kubeconfig), None, t).await
}

fn create(out: &Output, kubeconfig: &str, a: &CreateArgs<'_>) -> anyhow::Result<()> {
    let (tokens, timeouts) = tokens_to_create(out, a)?;
    if !a.print_join_command && !a.certificate_key.is_empty() {
        // Upstream checks this after creating the token; refusing first creates nothing.
        anyhow::bail!("cannot use --certificate-key without --print-join-command");
    }
    let join_info = if a.print_join_command {
        let cfg = kubeadm_cluster::client::load_kubeconfig(Path::new(kubeconfig))
            .context("failed to get join command")?;
        Some(joincmd::join_info_from_kubeconfig(&cfg, kubeconfig).context("failed to get join command")?)
    } else {
        None
    };
    out.v(1, "[token] creating token");
    let rt = kubeadm_cluster::runtime()?;
    rt.block_on(async {
        let c = client(kubeconfig, &timeouts).await?;
        ctoken::create_new_tokens(&c, &tokens, &timeouts).await
    })?;
    let first = tokens.first().and_then(|t| t.token.as_ref()).map(|t| t.expose()).unwrap_or_default();
    match join_info {
        Some((endpoint, pins)) => {
            let cp = !a.certificate_key.is_empty();
            let cmd = joincmd::join_command(&endpoint, &first, &pins, cp, a.certificate_key, false);
            out.line(joincmd::flatten_join_command(&cmd));
        }
        None => out.line(first),
    }
    Ok(())
}

fn delete(kubeconfig: &str, tokens: &[String]) -> anyhow::Result<()> {
    // Validate every argument first, so a bad one deletes nothing (upstream stops at it).
    for t in tokens {
        ctoken::token_id_of_argument(t)?;
    }
    let rt = kubeadm_cluster::runtime()?;
    let t = ApiTimeouts::default();
    let mut stdout = std::io::stdout();
    rt.block_on(async {
        let c = client(kubeconfig, &t).await?;
        ctoken::delete_tokens(&c, tokens, &mut stdout).await
    })?;
    Ok(())
}

fn list(kubeconfig: &str, output: Option<&str>) -> anyhow::Result<()> {
    let format = output.unwrap_or("text");
    match format {
        "text" | "json" | "yaml" => {}
        "go-template" | "go-template-file" | "template" | "templatefile" | "jsonpath"
        | "jsonpath-as-json" | "jsonpath-file" => {
            return not_implemented(&format!("token list -o {format}"));
        }
        f if f.starts_with("go-template") || f.starts_with("jsonpath") || f.starts_with("template") => {
            return not_implemented("token list -o <template>");
        }
        f => anyhow::bail!(
            "could not construct output printer: unable to match a printer suitable for the output format {f:?}, allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,template,templatefile,text,yaml"
        ),
    }
    let rt = kubeadm_cluster::runtime()?;
    let t = ApiTimeouts::default();
    let tokens = rt.block_on(async {
        let c = client(kubeconfig, &t).await?;
        ctoken::list_tokens(&c).await
    })?;
    let now = time::OffsetDateTime::now_utc();
    let mut table = TokenTablePrinter::default();
    let mut yaml = TokenYamlPrinter::default();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    for tok in tokens {
        let tok = match tok {
            Ok(t) => t,
            Err(e) => {
                // Upstream: fmt.Fprintf(errW, "%v", err), no newline, and go on.
                let _ = write!(stderr, "{e}");
                continue;
            }
        };
        let text = match format {
            "json" => ctoken::token_output_json(&tok)?,
            "yaml" => yaml.print(&tok),
            _ => table.print(&tok, now),
        };
        stdout.write_all(text.as_bytes())?;
    }
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_valid_and_distinct() {
        let a = generate_token();
        let b = generate_token();
        assert!(is_valid_token(&a) && is_valid_token(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(!is_valid_token("abcdef.0123456789ABCDEF"));
        assert!(!is_valid_token("abcde.0123456789abcdef"));
    }
}
