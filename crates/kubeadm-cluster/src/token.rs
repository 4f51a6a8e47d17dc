//! Bootstrap token Secrets (upstream `apis/bootstraptoken/v1` `BootstrapTokenToSecret` /
//! `BootstrapTokenFromSecret`), the token operations of `kubeadm token create|list|delete`
//! (`cmd/token.go`), and the list output: the text table (`tokenTextPrinter`), and the
//! `output.kubeadm.k8s.io/v1alpha3` `BootstrapToken` objects for `-o json|yaml`.
//!
//! The token secret is a credential: [`TokenInfo`]'s `Debug` redacts it and errors never contain
//! it. The table and json/yaml output do contain full tokens, as upstream's `token list` prints.

use std::collections::BTreeMap;
use std::io::Write;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};
use kubeadm_api::v1beta4::{BootstrapToken, BootstrapTokenString};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::apply;
use crate::client::ApiTimeouts;
use crate::error::{Error, Result};

/// `bootstrap.kubernetes.io/token` (Secret type).
pub const SECRET_TYPE_BOOTSTRAP_TOKEN: &str = "bootstrap.kubernetes.io/token";
/// `bootstrap-token-` (Secret name prefix).
pub const BOOTSTRAP_TOKEN_SECRET_PREFIX: &str = "bootstrap-token-";
/// `token-id`.
pub const BOOTSTRAP_TOKEN_ID_KEY: &str = "token-id";
/// `token-secret`.
pub const BOOTSTRAP_TOKEN_SECRET_KEY: &str = "token-secret";
/// `expiration`.
pub const BOOTSTRAP_TOKEN_EXPIRATION_KEY: &str = "expiration";
/// `description`.
pub const BOOTSTRAP_TOKEN_DESCRIPTION_KEY: &str = "description";
/// `auth-extra-groups`.
pub const BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY: &str = "auth-extra-groups";
/// `usage-bootstrap-` (usage key prefix).
pub const BOOTSTRAP_TOKEN_USAGE_PREFIX: &str = "usage-bootstrap-";
/// `BootstrapTokenPattern`.
pub const BOOTSTRAP_TOKEN_PATTERN: &str = r"\A([a-z0-9]{6})\.([a-z0-9]{16})\z";
/// `BootstrapTokenIDPattern`.
pub const BOOTSTRAP_TOKEN_ID_PATTERN: &str = r"\A([a-z0-9]{6})\z";
/// `output.kubeadm.k8s.io/v1alpha3`.
pub const OUTPUT_API_VERSION: &str = "output.kubeadm.k8s.io/v1alpha3";

/// `bootstrap-token-<id>`.
pub fn token_secret_name(id: &str) -> String {
    format!("{BOOTSTRAP_TOKEN_SECRET_PREFIX}{id}")
}

/// `IsValidBootstrapTokenID`: `[a-z0-9]{6}`.
pub fn is_valid_token_id(id: &str) -> bool {
    id.len() == 6 && id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Go's `time.Time.Format(time.RFC3339)`: whole seconds, `Z` for UTC, else `+hh:mm`.
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    let off = t.offset();
    let zone = if off.is_utc() {
        "Z".to_string()
    } else {
        let (h, m, _) = off.as_hms();
        let sign = if off.is_negative() { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn parse_rfc3339(field: &str, v: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(v, &Rfc3339).map_err(|e| Error::Time {
        field: field.into(),
        value: v.into(),
        message: e.to_string(),
    })
}

/// Upstream `encodeTokenSecretData`: `token-id`, `token-secret`, `description` (if any),
/// `expiration` (`expires` in UTC, else now+ttl when ttl > 0; RFC 3339), `usage-bootstrap-<u>:
/// "true"` per usage, `auth-extra-groups` (comma-joined, if any).
pub fn encode_token_secret_data(
    token: &BootstrapTokenString,
    bt: &BootstrapToken,
    now: OffsetDateTime,
) -> Result<BTreeMap<String, ByteString>> {
    let b = |s: &str| ByteString(s.as_bytes().to_vec());
    let mut data = BTreeMap::new();
    data.insert(BOOTSTRAP_TOKEN_ID_KEY.to_string(), b(&token.id));
    data.insert(BOOTSTRAP_TOKEN_SECRET_KEY.to_string(), b(&token.secret));
    if !bt.description.is_empty() {
        data.insert(BOOTSTRAP_TOKEN_DESCRIPTION_KEY.to_string(), b(&bt.description));
    }
    if let Some(exp) = &bt.expires {
        let t = parse_rfc3339("expires", exp)?.to_offset(time::UtcOffset::UTC);
        data.insert(BOOTSTRAP_TOKEN_EXPIRATION_KEY.to_string(), b(&format_rfc3339(t)));
    } else if let Some(ttl) = bt.ttl.filter(|d| d.as_nanos() > 0) {
        let t = (now + time::Duration::nanoseconds(ttl.as_nanos())).to_offset(time::UtcOffset::UTC);
        data.insert(BOOTSTRAP_TOKEN_EXPIRATION_KEY.to_string(), b(&format_rfc3339(t)));
    }
    for u in &bt.usages {
        data.insert(format!("{BOOTSTRAP_TOKEN_USAGE_PREFIX}{u}"), b("true"));
    }
    if !bt.groups.is_empty() {
        data.insert(BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY.to_string(), b(&bt.groups.join(",")));
    }
    Ok(data)
}

/// Upstream `BootstrapTokenToSecret`: Secret `kube-system/bootstrap-token-<id>` of type
/// `bootstrap.kubernetes.io/token`. `index` names the entry in errors.
pub fn token_to_secret(bt: &BootstrapToken, index: usize, now: OffsetDateTime) -> Result<Secret> {
    let token = bt.token.as_ref().ok_or(Error::MissingToken(index))?;
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(token_secret_name(&token.id)),
            namespace: Some(crate::bootstrap::NAMESPACE_SYSTEM.into()),
            ..Default::default()
        },
        type_: Some(SECRET_TYPE_BOOTSTRAP_TOKEN.into()),
        data: Some(encode_token_secret_data(token, bt, now)?),
        ..Default::default()
    })
}

/// A bootstrap token read back from its Secret (upstream `BootstrapTokenFromSecret`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token (`Debug` redacts the secret part).
    pub token: BootstrapTokenString,
    /// Description (may be empty).
    pub description: String,
    /// Expiration, as stored (its offset kept); `None` = never.
    pub expires: Option<OffsetDateTime>,
    /// Usages whose key is `"true"`, sorted.
    pub usages: Vec<String>,
    /// Extra groups.
    pub groups: Vec<String>,
}

fn get_data(secret: &Secret, key: &str) -> String {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| String::from_utf8_lossy(&v.0).into_owned())
        .unwrap_or_default()
}

/// Upstream `BootstrapTokenFromSecret`, with its error messages (the token is not echoed).
pub fn token_from_secret(secret: &Secret) -> Result<TokenInfo> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let id = get_data(secret, BOOTSTRAP_TOKEN_ID_KEY);
    if id.is_empty() {
        return Err(Error::InvalidTokenSecret(format!(
            "bootstrap Token Secret has no token-id data: {name}"
        )));
    }
    if name != token_secret_name(&id) {
        return Err(Error::InvalidTokenSecret(format!(
            "bootstrap token name is not of the form '{BOOTSTRAP_TOKEN_SECRET_PREFIX}(token-id)'. Actual: {name:?}. Expected: {:?}",
            token_secret_name(&id)
        )));
    }
    let sec = get_data(secret, BOOTSTRAP_TOKEN_SECRET_KEY);
    if sec.is_empty() {
        return Err(Error::InvalidTokenSecret(format!(
            "bootstrap Token Secret has no token-secret data: {name}"
        )));
    }
    let token = BootstrapTokenString::from_id_and_secret(&id, &sec).map_err(|_| {
        Error::InvalidTokenSecret(format!(
            "bootstrap Token Secret is invalid and couldn't be parsed: the bootstrap token in Secret {name:?} was not of the form \"{BOOTSTRAP_TOKEN_PATTERN}\""
        ))
    })?;
    let description = get_data(secret, BOOTSTRAP_TOKEN_DESCRIPTION_KEY);
    let exp = get_data(secret, BOOTSTRAP_TOKEN_EXPIRATION_KEY);
    let expires = if exp.is_empty() {
        None
    } else {
        Some(OffsetDateTime::parse(&exp, &Rfc3339).map_err(|e| {
            Error::InvalidTokenSecret(format!("can't parse expiration time of bootstrap token {name:?}: {e}"))
        })?)
    };
    let mut usages: Vec<String> = secret
        .data
        .iter()
        .flatten()
        .filter(|(k, v)| k.starts_with(BOOTSTRAP_TOKEN_USAGE_PREFIX) && v.0 == b"true")
        .map(|(k, _)| k[BOOTSTRAP_TOKEN_USAGE_PREFIX.len()..].to_string())
        .collect();
    usages.sort();
    let g = get_data(secret, BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY);
    let groups = if g.split(',').next().is_some_and(|f| !f.is_empty()) {
        g.split(',').map(String::from).collect()
    } else {
        Vec::new()
    };
    Ok(TokenInfo { token, description, expires, usages, groups })
}

/// Upstream `UpdateOrCreateTokens`: for each token, fail with "a token with id ... already
/// exists" when `fail_if_exists` and its Secret exists, else create or update its Secret (retried
/// until the API call timeout).
pub async fn update_or_create_tokens(
    client: &Client,
    fail_if_exists: bool,
    tokens: &[BootstrapToken],
    t: &ApiTimeouts,
) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), crate::bootstrap::NAMESPACE_SYSTEM);
    for (i, bt) in tokens.iter().enumerate() {
        let token = bt.token.as_ref().ok_or(Error::MissingToken(i))?;
        let name = token_secret_name(&token.id);
        if fail_if_exists && matches!(api.get_opt(&name).await, Ok(Some(_))) {
            return Err(Error::TokenExists(token.id.clone()));
        }
        let secret = token_to_secret(bt, i, OffsetDateTime::now_utc())?;
        apply::apply_secret(client, &secret, t)
            .await
            .map_err(|e| e.context(format!("failed to create or update bootstrap token with name {name}")))?;
    }
    Ok(())
}

/// Upstream `CreateNewTokens` (`token create`): [`update_or_create_tokens`] failing on existing IDs.
/// Validate first with `kubeadm_api::validation::validate_bootstrap_tokens`.
pub async fn create_new_tokens(client: &Client, tokens: &[BootstrapToken], t: &ApiTimeouts) -> Result<()> {
    update_or_create_tokens(client, true, tokens, t).await
}

/// `token list`: the bootstrap token Secrets of `kube-system` (field selector
/// `type=bootstrap.kubernetes.io/token`), in server order, each decoded or its decoding error
/// (upstream prints those to stderr with `%v`, no newline, and goes on).
pub async fn list_tokens(client: &Client) -> Result<Vec<Result<TokenInfo>>> {
    let api: Api<Secret> = Api::namespaced(client.clone(), crate::bootstrap::NAMESPACE_SYSTEM);
    let lp = ListParams::default().fields(&format!("type={SECRET_TYPE_BOOTSTRAP_TOKEN}"));
    let list = api.list(&lp).await.map_err(|source| {
        Error::Api {
            verb: "list",
            kind: "Secret".into(),
            target: "\"kube-system\"".into(),
            source: Box::new(source),
        }
        .context("failed to list bootstrap tokens")
    })?;
    Ok(list.items.iter().map(token_from_secret).collect())
}

/// The token ID of a `token delete` argument: an ID, or the ID of a full token.
pub fn token_id_of_argument(arg: &str) -> Result<String> {
    if is_valid_token_id(arg) {
        return Ok(arg.to_string());
    }
    BootstrapTokenString::parse(arg).map(|t| t.id).map_err(|_| Error::InvalidTokenArgument)
}

/// `token delete <id|token>...` (upstream `RunDeleteTokens`): deletes each token's Secret in
/// order, printing `bootstrap token "<id>" deleted`; stops at the first failure.
pub async fn delete_tokens(
    client: &Client,
    ids_or_tokens: &[String],
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), crate::bootstrap::NAMESPACE_SYSTEM);
    for arg in ids_or_tokens {
        let id = token_id_of_argument(arg)?;
        let name = token_secret_name(&id);
        api.delete(&name, &DeleteParams::default()).await.map_err(|source| {
            Error::Api {
                verb: "delete",
                kind: "Secret".into(),
                target: format!("\"kube-system/{name}\""),
                source: Box::new(source),
            }
            .context(format!("failed to delete bootstrap token {id:?}"))
        })?;
        writeln!(out, "bootstrap token {id:?} deleted")?;
    }
    Ok(())
}

/// apimachinery `duration.ShortHumanDuration`.
pub fn short_human_duration(d: time::Duration) -> String {
    let ns = d.whole_nanoseconds();
    let secs = ns / 1_000_000_000;
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 60 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 60 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 24 {
        return format!("{hours}h");
    }
    if hours < 24 * 365 {
        return format!("{}d", hours / 24);
    }
    format!("{}y", hours / 24 / 365)
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w { s.to_string() } else { format!("{s}{}", " ".repeat(w - n)) }
}

/// Go `text/tabwriter` with minwidth 10, padding 3, padchar ' ', no flags, over one block of
/// lines whose cells are all tab-terminated except the last.
fn tabwrite(lines: &[Vec<String>]) -> String {
    let ncols = lines.iter().map(|l| l.len().saturating_sub(1)).max().unwrap_or(0);
    let mut widths = vec![10usize; ncols];
    for l in lines {
        for (j, c) in l.iter().take(l.len().saturating_sub(1)).enumerate() {
            widths[j] = widths[j].max(c.chars().count() + 3);
        }
    }
    let mut out = String::new();
    for l in lines {
        for (j, c) in l.iter().enumerate() {
            if j + 1 < l.len() { out.push_str(&pad(c, widths[j])) } else { out.push_str(c) }
        }
        out.push('\n');
    }
    out
}

/// The table printer of `token list` (upstream `tokenTextPrinter`): the header goes with the
/// first token, each `print` call is its own tabwriter block, as upstream.
#[derive(Debug, Default)]
pub struct TokenTablePrinter {
    header_printed: bool,
}

/// The columns of the `token list` table.
pub const TOKEN_TABLE_COLUMNS: [&str; 6] =
    ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"];

impl TokenTablePrinter {
    /// The text for one token (with the header the first time), `now` for the TTL column.
    pub fn print(&mut self, tok: &TokenInfo, now: OffsetDateTime) -> String {
        let mut lines = Vec::new();
        if !self.header_printed {
            lines.push(TOKEN_TABLE_COLUMNS.iter().map(|s| s.to_string()).collect());
            self.header_printed = true;
        }
        lines.push(format_token_row(tok, now));
        tabwrite(&lines)
    }
}

/// Upstream `formatBootstrapToken`'s cells.
fn format_token_row(tok: &TokenInfo, now: OffsetDateTime) -> Vec<String> {
    let (ttl, expires) = match tok.expires {
        Some(e) => (short_human_duration(e - now), format_rfc3339(e)),
        None => ("<forever>".to_string(), "<never>".to_string()),
    };
    let or_none = |s: String| {
        if s.is_empty() { "<none>".to_string() } else { s }
    };
    vec![
        tok.token.expose(),
        pad(&ttl, 9),
        expires,
        pad(&or_none(tok.usages.join(",")), 22),
        pad(&or_none(tok.description.clone()), 56),
        or_none(tok.groups.join(",")),
    ]
}

/// The `output.kubeadm.k8s.io/v1alpha3` `BootstrapToken` object of `token list -o json|yaml`,
/// fields in Go's order (`kind`, `apiVersion`, `token`, `description`, `expires` (UTC),
/// `usages`, `groups`; empty ones omitted). Contains the full token.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutputBootstrapToken {
    /// `BootstrapToken`.
    pub kind: String,
    /// `output.kubeadm.k8s.io/v1alpha3`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `<id>.<secret>`.
    pub token: String,
    /// Description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// RFC 3339 in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Usages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usages: Vec<String>,
    /// Extra groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl std::fmt::Debug for OutputBootstrapToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token secret is left out on purpose.
        let id = self.token.split('.').next().unwrap_or_default();
        f.debug_struct("OutputBootstrapToken")
            .field("id", &id)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The output object for a token.
pub fn token_output_object(tok: &TokenInfo) -> OutputBootstrapToken {
    OutputBootstrapToken {
        kind: "BootstrapToken".into(),
        api_version: OUTPUT_API_VERSION.into(),
        token: tok.token.expose(),
        description: tok.description.clone(),
        expires: tok.expires.map(|e| format_rfc3339(e.to_offset(time::UtcOffset::UTC))),
        usages: tok.usages.clone(),
        groups: tok.groups.clone(),
    }
}

/// `-o json` for one token: `json.MarshalIndent(obj, "", "    ")` + newline (with Go's HTML
/// escaping of `<`, `>`, `&`).
pub fn token_output_json(tok: &TokenInfo) -> Result<String> {
    let v = token_output_object(tok);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&v, &mut ser)
        .map_err(|e| Error::Marshal { what: "BootstrapToken".into(), message: e.to_string() })?;
    let s = String::from_utf8_lossy(&buf)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    Ok(format!("{s}\n"))
}

/// The `-o yaml` printer (cli-runtime `YAMLPrinter`): sorted keys, `---` before every object but
/// the first.
#[derive(Debug, Default)]
pub struct TokenYamlPrinter {
    count: usize,
}

impl TokenYamlPrinter {
    /// The text for one token.
    pub fn print(&mut self, tok: &TokenInfo) -> String {
        self.count += 1;
        let v = serde_json::to_value(token_output_object(tok)).unwrap_or_default();
        let mut yaml = kubeadm_api::print::value_to_yaml(&v);
        // go-yaml quotes strings that would resolve as timestamps.
        if let Some(e) = tok.expires {
            let ts = format_rfc3339(e.to_offset(time::UtcOffset::UTC));
            yaml = yaml.replace(&format!("\nexpires: {ts}\n"), &format!("\nexpires: \"{ts}\"\n"));
        }
        if self.count > 1 { format!("---\n{yaml}") } else { yaml }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubeadm_api::duration::Duration;
    use time::macros::datetime;

    fn bt() -> BootstrapToken {
        BootstrapToken {
            token: BootstrapTokenString::parse("abcdef.0123456789abcdef").ok(),
            description: "hello".into(),
            ttl: Some(Duration::from_hours(24)),
            expires: None,
            usages: vec!["signing".into(), "authentication".into()],
            groups: vec!["system:bootstrappers:kubeadm:default-node-token".into()],
        }
    }

    fn data_strings(s: &Secret) -> BTreeMap<String, String> {
        s.data.clone().unwrap().into_iter().map(|(k, v)| (k, String::from_utf8(v.0).unwrap())).collect()
    }

    #[test]
    fn secret_encoding() {
        let now = datetime!(2026-11-28 10:00:00.7 UTC);
        let s = token_to_secret(&bt(), 0, now).unwrap();
        assert_eq!(s.metadata.name.as_deref(), Some("bootstrap-token-abcdef"));
        assert_eq!(s.metadata.namespace.as_deref(), Some("kube-system"));
        assert_eq!(s.type_.as_deref(), Some("bootstrap.kubernetes.io/token"));
        let d = data_strings(&s);
        let want: BTreeMap<String, String> = [
            ("auth-extra-groups", "system:bootstrappers:kubeadm:default-node-token"),
            ("description", "hello"),
            ("expiration", "2026-11-29T10:00:00Z"),
            ("token-id", "abcdef"),
            ("token-secret", "0123456789abcdef"),
            ("usage-bootstrap-authentication", "true"),
            ("usage-bootstrap-signing", "true"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(d, want);

        // expires wins over ttl and is normalized to UTC; ttl 0 = no expiration; no groups/description.
        let mut b = bt();
        b.expires = Some("2030-01-02T03:04:05+02:00".into());
        assert_eq!(data_strings(&token_to_secret(&b, 0, now).unwrap())["expiration"], "2030-01-02T01:04:05Z");
        let mut b = bt();
        b.ttl = Some(Duration::ZERO);
        b.groups.clear();
        b.description.clear();
        let d = data_strings(&token_to_secret(&b, 0, now).unwrap());
        assert!(
            !d.contains_key("expiration")
                && !d.contains_key("auth-extra-groups")
                && !d.contains_key("description")
        );
        let b = BootstrapToken::default();
        assert!(matches!(token_to_secret(&b, 3, now), Err(Error::MissingToken(3))));
    }

    #[test]
    fn secret_decoding_round_trip_and_errors() {
        let now = datetime!(2026-11-28 10:00:00 UTC);
        let s = token_to_secret(&bt(), 0, now).unwrap();
        let t = token_from_secret(&s).unwrap();
        assert_eq!(t.token.expose(), "abcdef.0123456789abcdef");
        assert_eq!(t.usages, vec!["authentication", "signing"]);
        assert_eq!(t.groups, vec!["system:bootstrappers:kubeadm:default-node-token"]);
        assert_eq!(t.expires, Some(datetime!(2026-11-29 10:00:00 UTC)));
        assert!(!format!("{t:?}").contains("0123456789abcdef"), "Debug must redact");

        let mut bad = s.clone();
        bad.metadata.name = Some("bootstrap-token-zzzzzz".into());
        assert_eq!(
            token_from_secret(&bad).unwrap_err().to_string(),
            "bootstrap token name is not of the form 'bootstrap-token-(token-id)'. Actual: \"bootstrap-token-zzzzzz\". Expected: \"bootstrap-token-abcdef\""
        );
        let mut bad = s.clone();
        bad.data.as_mut().unwrap().remove("token-secret");
        assert_eq!(
            token_from_secret(&bad).unwrap_err().to_string(),
            "bootstrap Token Secret has no token-secret data: bootstrap-token-abcdef"
        );
        let mut bad = s.clone();
        bad.data.as_mut().unwrap().insert("token-secret".into(), ByteString(b"SHORTSECRET".to_vec()));
        let e = token_from_secret(&bad).unwrap_err().to_string();
        assert!(!e.contains("SHORTSECRET"), "{e}");
    }

    #[test]
    fn delete_arguments() {
        assert_eq!(token_id_of_argument("abcdef").unwrap(), "abcdef");
        assert_eq!(token_id_of_argument("abcdef.0123456789abcdef").unwrap(), "abcdef");
        let e = token_id_of_argument("abcdef.0123").unwrap_err().to_string();
        assert_eq!(e, "given token didn't match pattern \"[a-z0-9]{6}.[a-z0-9]{16}\" or \"[a-z0-9]{6}\"");
        assert!(!e.contains("0123"));
    }

    #[test]
    fn human_durations() {
        let s = time::Duration::seconds;
        assert_eq!(short_human_duration(s(-5)), "<invalid>");
        assert_eq!(short_human_duration(time::Duration::milliseconds(-1500)), "0s");
        assert_eq!(short_human_duration(s(59)), "59s");
        assert_eq!(short_human_duration(s(3599)), "59m");
        assert_eq!(short_human_duration(s(23 * 3600 + 3599)), "23h");
        assert_eq!(short_human_duration(s(86400 * 3)), "3d");
        assert_eq!(short_human_duration(s(86400 * 800)), "2y");
    }

    #[test]
    fn table_output() {
        let now = datetime!(2026-11-28 10:00:00 UTC);
        let t = token_from_secret(&token_to_secret(&bt(), 0, now).unwrap()).unwrap();
        let mut p = TokenTablePrinter::default();
        let first = p.print(&t, now + time::Duration::seconds(1));
        // Widths: each column = max(10, widest cell + 3); the fixed-width paddings make them 26, 12, 23, 25, 59.
        let want = "TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION                                                EXTRA GROUPS\n\
abcdef.0123456789abcdef   23h         2026-11-29T10:00:00Z   authentication,signing   hello                                                      system:bootstrappers:kubeadm:default-node-token\n";
        assert_eq!(first, want);
        let mut never = t.clone();
        never.expires = None;
        never.usages.clear();
        never.groups.clear();
        never.description.clear();
        let second = p.print(&never, now);
        assert_eq!(
            second,
            "abcdef.0123456789abcdef   <forever>   <never>   <none>                   <none>                                                     <none>\n"
        );
    }

    #[test]
    fn json_yaml_output() {
        let now = datetime!(2026-11-28 10:00:00 UTC);
        let mut b = bt();
        b.description = "a<b".into();
        let t = token_from_secret(&token_to_secret(&b, 0, now).unwrap()).unwrap();
        assert_eq!(
            token_output_json(&t).unwrap(),
            "{\n    \"kind\": \"BootstrapToken\",\n    \"apiVersion\": \"output.kubeadm.k8s.io/v1alpha3\",\n    \"token\": \"abcdef.0123456789abcdef\",\n    \"description\": \"a\\u003cb\",\n    \"expires\": \"2026-11-29T10:00:00Z\",\n    \"usages\": [\n        \"authentication\",\n        \"signing\"\n    ],\n    \"groups\": [\n        \"system:bootstrappers:kubeadm:default-node-token\"\n    ]\n}\n"
        );
        let mut p = TokenYamlPrinter::default();
        let y1 = p.print(&t);
        assert_eq!(
            y1,
            "apiVersion: output.kubeadm.k8s.io/v1alpha3\ndescription: a<b\nexpires: \"2026-11-29T10:00:00Z\"\ngroups:\n- system:bootstrappers:kubeadm:default-node-token\nkind: BootstrapToken\ntoken: abcdef.0123456789abcdef\nusages:\n- authentication\n- signing\n"
        );
        assert!(p.print(&t).starts_with("---\napiVersion: "));
    }
}
