//! `kubeadm-rs token create|delete|generate|list`. `generate` is local and implemented; the others
//! talk to the API server and are not implemented yet.

use rand::{Rng, TryRngCore};

use crate::cli::TokenCommand;
use crate::commands::not_implemented;
use crate::output::Output;

const TOKEN_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A random bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` (upstream `bootstraputil.GenerateBootstrapToken`),
/// from the operating system's CSPRNG.
pub fn generate_token() -> String {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    let mut pick = |n: usize| -> String { (0..n).map(|_| TOKEN_CHARS[rng.random_range(0..TOKEN_CHARS.len())] as char).collect() };
    let id = pick(6);
    let secret = pick(16);
    format!("{id}.{secret}")
}

/// Whether `s` has the bootstrap token format.
pub fn is_valid_token(s: &str) -> bool {
    let Some((id, secret)) = s.split_once('.') else { return false };
    let ok = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    ok(id, 6) && ok(secret, 16)
}

/// Runs a `token` subcommand.
pub fn run(out: &Output, cmd: &TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Generate => {
            out.line(generate_token());
            Ok(())
        }
        TokenCommand::Create { .. } => not_implemented("token create"),
        TokenCommand::Delete { .. } => not_implemented("token delete"),
        TokenCommand::List { .. } => not_implemented("token list"),
    }
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
