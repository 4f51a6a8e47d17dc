//! `kubeadm-rs version [-o json|yaml|short]`, in upstream's formats (`cmd/kubeadm/app/cmd/version.go`).

use anyhow::bail;
use serde::Serialize;

use crate::output::Output;

/// The Kubernetes release kubeadm-rs stands in for.
pub const GIT_VERSION: &str = "v1.37.2";

/// Counterpart of `k8s.io/apimachinery/pkg/version.Info` (field order as upstream's JSON).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// Major version.
    pub major: String,
    /// Minor version.
    pub minor: String,
    /// Release tag.
    pub git_version: String,
    /// Commit kubeadm-rs was built from (`KUBEADM_RS_GIT_COMMIT` at build time).
    pub git_commit: String,
    /// `clean` or `dirty` (`KUBEADM_RS_GIT_TREE_STATE` at build time).
    pub git_tree_state: String,
    /// RFC 3339 build date (`KUBEADM_RS_BUILD_DATE` at build time).
    pub build_date: String,
    /// The compiler's version (upstream: Go's).
    pub go_version: String,
    /// Compiler name (upstream: `gc`).
    pub compiler: String,
    /// `os/arch` with Go's arch names.
    pub platform: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Version {
    client_version: Info,
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The version information of this binary.
pub fn info() -> Info {
    Info {
        major: "1".into(),
        minor: "37".into(),
        git_version: GIT_VERSION.into(),
        git_commit: option_env!("KUBEADM_RS_GIT_COMMIT").unwrap_or("").into(),
        git_tree_state: option_env!("KUBEADM_RS_GIT_TREE_STATE").unwrap_or("").into(),
        build_date: option_env!("KUBEADM_RS_BUILD_DATE").unwrap_or("1970-01-01T00:00:00Z").into(),
        go_version: env!("KUBEADM_RS_RUSTC_VERSION").into(),
        compiler: "rustc".into(),
        platform: format!("{}/{}", std::env::consts::OS, go_arch()),
    }
}

/// Renders the output for `-o <format>`.
pub fn render(format: &str) -> anyhow::Result<String> {
    let i = info();
    Ok(match format {
        // Go's `%#v` of a `*version.Info`.
        "" => format!(
            "kubeadm version: &version.Info{{Major:{:?}, Minor:{:?}, EmulationMajor:\"\", EmulationMinor:\"\", MinCompatibilityMajor:\"\", MinCompatibilityMinor:\"\", GitVersion:{:?}, GitCommit:{:?}, GitTreeState:{:?}, BuildDate:{:?}, GoVersion:{:?}, Compiler:{:?}, Platform:{:?}}}\n",
            i.major,
            i.minor,
            i.git_version,
            i.git_commit,
            i.git_tree_state,
            i.build_date,
            i.go_version,
            i.compiler,
            i.platform
        ),
        "short" => format!("{}\n", i.git_version),
        // sigs.k8s.io/yaml sorts keys; Println adds a newline after the document's own.
        "yaml" => format!("{}\n", yaml(&i)?),
        "json" => format!("{}\n", serde_json::to_string_pretty(&Version { client_version: i })?),
        other => bail!("invalid output format: {other}"),
    })
}

/// go-yaml v2 (through sigs.k8s.io/yaml) output of `{clientVersion: info}`: keys sorted, strings
/// that would read back as another type (numbers, booleans, timestamps, empty) double-quoted.
fn yaml(i: &Info) -> anyhow::Result<String> {
    let serde_json::Value::Object(map) = serde_json::to_value(i)? else {
        anyhow::bail!("version info is not an object")
    };
    let mut out = String::from("clientVersion:\n");
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for k in keys {
        let v = map[k].as_str().unwrap_or_default();
        let needs_quotes = v.is_empty()
            || v.parse::<f64>().is_ok()
            || matches!(
                v.to_ascii_lowercase().as_str(),
                "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
            )
            || (v.len() >= 10 && v.as_bytes()[..4].iter().all(u8::is_ascii_digit) && v.as_bytes()[4] == b'-');
        if needs_quotes {
            out.push_str(&format!("  {k}: {v:?}\n"));
        } else {
            out.push_str(&format!("  {k}: {v}\n"));
        }
    }
    Ok(out)
}

/// Runs `version`.
pub fn run(out: &Output, format: &str) -> anyhow::Result<()> {
    out.v(1, "[version] retrieving version info");
    out.raw(render(format)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(render("short").expect("short"), "v1.37.2\n");
        let json: serde_json::Value = serde_json::from_str(&render("json").expect("json")).expect("parses");
        assert_eq!(json["clientVersion"]["gitVersion"], "v1.37.2");
        assert_eq!(json["clientVersion"]["minor"], "37");
        let yaml = render("yaml").expect("yaml");
        assert!(yaml.starts_with("clientVersion:\n  buildDate: \""), "{yaml}");
        assert!(yaml.ends_with("platform: linux/amd64\n\n") || !cfg!(target_arch = "x86_64"), "{yaml}");
        assert!(yaml.contains("  major: \"1\"\n"), "{yaml}");
        assert!(
            render("")
                .expect("default")
                .starts_with("kubeadm version: &version.Info{Major:\"1\", Minor:\"37\",")
        );
        assert_eq!(render("xml").expect_err("bad").to_string(), "invalid output format: xml");
    }
}
