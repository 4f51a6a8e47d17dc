//! `kubeadm-rs init` and `init phase ...`: builds the typed shared state ([`InitData`]) once, then
//! runs the phase table of [`crate::phases::init`].
//!
//! Order of checks follows upstream's `newInitData`: feature gates, `--config` mixed with other
//! flags, the `--token` format, then loading/defaulting/validating the configuration.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::ArgMatches;

use crate::commands::token::is_valid_token;
use crate::commands::workflow_args::{InitArgs, phase_path};
use crate::flags::names::*;
use crate::flags::{Flags, validate_mixed_arguments};
use crate::output::Output;
use crate::phases::init::runner;
use crate::workflow::PhaseError;

/// Default directory of kubeconfig files (upstream `constants.KubernetesDir`).
pub const KUBERNETES_DIR: &str = "/etc/kubernetes";
/// Default static Pod manifest directory.
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
/// Hidden, test-only override of the static Pod manifest directory (upstream has no flag for it).
/// Documented in docs/cli.md; parity tests use mount namespaces instead.
pub const MANIFESTS_DIR_ENV: &str = "KUBEADM_RS_MANIFESTS_DIR";
/// Where dry-run output goes (upstream `KUBEADM_INIT_DRYRUN_DIR`).
pub const DRY_RUN_DIR_ENV: &str = "KUBEADM_INIT_DRYRUN_DIR";

/// Raw values of the command-line flags (only the ones the user gave, for config overrides).
// The flags of the API-server phases (kubeconfig, upload-certs, token printing, addons) are parsed
// already but read only once those phases are implemented.
#[allow(dead_code)]
#[derive(Debug, Default, Clone)]
pub struct InitOptions {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--kubeconfig-dir`.
    pub kubeconfig_dir: PathBuf,
    /// `--kubeconfig`.
    pub kubeconfig_path: PathBuf,
    /// `--patches`.
    pub patches: Option<PathBuf>,
    /// `--ignore-preflight-errors`.
    pub ignore_preflight_errors: Vec<String>,
    /// `--upload-certs`.
    pub upload_certs: bool,
    /// `--skip-token-print`.
    pub skip_token_print: bool,
    /// `--skip-certificate-key-print`.
    pub skip_certificate_key_print: bool,
    /// `--print-manifest` (addon phases).
    pub print_manifest: bool,
    /// `-o/--output` (kubeadm-rs only): `text`, `json` or `yaml`.
    pub output: String,
    /// Flag overrides of the configuration, by flag name (given on the command line only).
    pub overrides: Vec<(&'static str, FlagValue)>,
}

/// The value of a config-overriding flag.
#[derive(Clone, PartialEq, Eq)]
pub enum FlagValue {
    /// A string.
    Str(String),
    /// A list.
    List(Vec<String>),
    /// An integer.
    Int(i32),
}

impl std::fmt::Debug for FlagValue {
    // Values may be secrets (--token, --certificate-key): never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlagValue(..)")
    }
}

const STRING_OVERRIDES: &[&str] = &[
    APISERVER_ADVERTISE_ADDRESS,
    NODE_NAME,
    CERTIFICATE_KEY,
    CRI_SOCKET,
    SERVICE_CIDR,
    POD_NETWORK_CIDR,
    SERVICE_DNS_DOMAIN,
    CONTROL_PLANE_ENDPOINT,
    KUBERNETES_VERSION,
    CERT_DIR,
    FEATURE_GATES,
    TOKEN,
    TOKEN_TTL,
    IMAGE_REPOSITORY,
];
const LIST_OVERRIDES: &[&str] =
    &[APISERVER_CERT_SANS, APISERVER_EXTRA_ARGS, CONTROLLER_MANAGER_EXTRA_ARGS, SCHEDULER_EXTRA_ARGS];

impl InitOptions {
    /// Reads the options from the matches of `init` or of a generated `init phase ...` subcommand.
    pub fn from_matches(m: &ArgMatches) -> Self {
        let f = Flags(m);
        let mut overrides = Vec::new();
        for name in STRING_OVERRIDES {
            if let Some(v) = f.string_set(name) {
                overrides.push((*name, FlagValue::Str(v)));
            }
        }
        for name in LIST_OVERRIDES {
            if f.changed(name) {
                overrides.push((*name, FlagValue::List(f.list(name))));
            }
        }
        if let Some(p) = f.int_set(APISERVER_BIND_PORT) {
            overrides.push((APISERVER_BIND_PORT, FlagValue::Int(p)));
        }
        Self {
            config: f.string(CONFIG).map(PathBuf::from),
            dry_run: f.boolean(DRY_RUN),
            kubeconfig_dir: PathBuf::from(
                f.string(KUBECONFIG_DIR).unwrap_or_else(|| KUBERNETES_DIR.to_string()),
            ),
            kubeconfig_path: PathBuf::from(
                f.string(KUBECONFIG).unwrap_or_else(|| format!("{KUBERNETES_DIR}/admin.conf")),
            ),
            patches: f.string(PATCHES).filter(|s| !s.is_empty()).map(PathBuf::from),
            ignore_preflight_errors: f.list(IGNORE_PREFLIGHT_ERRORS),
            upload_certs: f.boolean(UPLOAD_CERTS),
            skip_token_print: f.boolean(SKIP_TOKEN_PRINT),
            skip_certificate_key_print: f.boolean(SKIP_CERTIFICATE_KEY_PRINT),
            print_manifest: f.boolean("print-manifest"),
            output: f.string(OUTPUT).unwrap_or_else(|| "text".to_string()),
            overrides,
        }
    }

    /// Whether `-o json|yaml` asks for a structured join information document.
    pub fn structured_output(&self) -> bool {
        matches!(self.output.as_str(), "json" | "yaml")
    }

    /// The value of an override flag, if given.
    pub fn get(&self, name: &str) -> Option<&FlagValue> {
        self.overrides.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// A string override, if given.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(FlagValue::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// Typed shared state of an `init` run, built once before the first phase runs.
pub struct InitData {
    /// Output sink.
    pub out: Output,
    /// Raw options.
    pub opts: InitOptions,
    /// The loaded, defaulted and validated configuration.
    pub cfg: crate::wiring::InitConfig,
    /// Whether nothing may change on the host.
    pub dry_run: bool,
    /// Temporary directory receiving files in dry-run mode.
    pub dry_run_dir: Option<PathBuf>,
    /// Checks whose errors become warnings (lower-cased, `all` allowed).
    pub ignore_preflight_errors: BTreeSet<String>,
    /// Phases to skip from the configuration (`skipPhases`).
    pub skip_phases_from_config: Vec<String>,
    /// kubeadm's start time (`StartTimeUTC`): certificate validity is counted from it.
    pub start_time: time::OffsetDateTime,
    /// The phases selected to run (set before execution).
    pub plan: Option<crate::workflow::Plan>,
    /// Output of the offline phases, computed before the first of them writes anything.
    pub prepared: Option<std::collections::HashMap<String, crate::wiring::PhaseOutput>>,
    /// Runtime and admin client of the API-server phases.
    pub api: crate::apiphases::ApiState,
}

impl InitData {
    /// Builds the state: validates flags, loads `--config` (or defaults), applies flag overrides.
    pub fn new(out: Output, m: &ArgMatches) -> anyhow::Result<Self> {
        let opts = InitOptions::from_matches(m);
        // With a structured document, stdout carries the document only.
        let out = out.progress_to_stderr(opts.structured_output());
        if let Some(fg) = opts.get_str(FEATURE_GATES) {
            crate::wiring::parse_feature_gates(fg)?;
        }
        validate_mixed_arguments(&Flags(m))?;
        if let Some(tok) = opts.get_str(TOKEN)
            && !is_valid_token(tok)
        {
            // Upstream echoes the token; a secret must not appear in an error, so we do not.
            bail!(
                "the bootstrap token given with --token was not of the form \"\\\\A([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})\\\\z\""
            );
        }
        if let Some(key) = opts.get_str(CERTIFICATE_KEY)
            && (key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            bail!("invalid --certificate-key: it must be a hex-encoded AES key of 32 bytes");
        }
        let mut cfg = crate::wiring::load_init_config(&out, &opts)?;
        let ignore: BTreeSet<String> = kubeadm_api::validation::validate_ignore_preflight_errors(
            &opts.ignore_preflight_errors,
            &cfg.ignore_preflight_errors(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        // Upstream stores the merged, sorted set back into the configuration.
        cfg.init.node_registration.ignore_preflight_errors = ignore.iter().cloned().collect();
        crate::wiring::verify_api_server_bind_address(&cfg.init.local_api_endpoint.advertise_address)?;
        let dry_run = opts.dry_run || cfg.dry_run();
        let dry_run_dir = if dry_run { Some(make_dry_run_dir(&out)?) } else { None };
        let ext = kubeadm_pki::using_external_ca(&cfg.certificates_dir());
        if ext.external
            && let Some(e) = ext.error
        {
            return Err(anyhow::Error::new(e).context("invalid or incomplete external CA"));
        }
        if ext.external {
            crate::wiring::validate_kubeconfigs_for_external_ca(&out, &opts.kubeconfig_dir, &cfg)?;
        }
        let ext = kubeadm_pki::using_external_front_proxy_ca(&cfg.certificates_dir());
        if ext.external
            && let Some(e) = ext.error
        {
            return Err(anyhow::Error::new(e).context("invalid or incomplete external front-proxy CA"));
        }
        let skip_phases_from_config = cfg.skip_phases();
        Ok(Self {
            out,
            opts,
            cfg,
            dry_run,
            dry_run_dir,
            ignore_preflight_errors: ignore,
            skip_phases_from_config,
            start_time: time::OffsetDateTime::now_utc(),
            plan: None,
            prepared: None,
            api: crate::apiphases::ApiState::default(),
        })
    }

    /// Directory certificates are read from.
    pub fn cert_dir(&self) -> PathBuf {
        self.cfg.certificates_dir()
    }

    /// Directory certificates are written to (the dry-run dir in dry-run mode).
    pub fn cert_write_dir(&self) -> PathBuf {
        self.dry_run_dir.clone().unwrap_or_else(|| self.cert_dir())
    }

    /// Directory kubeconfig files are written to.
    pub fn kubeconfig_dir(&self) -> PathBuf {
        self.dry_run_dir.clone().unwrap_or_else(|| self.opts.kubeconfig_dir.clone())
    }

    /// Directory static Pod manifests are written to.
    pub fn manifest_dir(&self) -> PathBuf {
        if let Some(d) = &self.dry_run_dir {
            return d.clone();
        }
        match std::env::var_os(MANIFESTS_DIR_ENV) {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => PathBuf::from(MANIFESTS_DIR),
        }
    }

    /// The static Pod directory preflight checks (never the dry-run dir).
    pub fn manifest_dir_for_checks(&self) -> PathBuf {
        match std::env::var_os(MANIFESTS_DIR_ENV) {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => PathBuf::from(MANIFESTS_DIR),
        }
    }

    /// `--patches`, else the config's `patches.directory`.
    pub fn patches_dir(&self) -> Option<PathBuf> {
        self.opts.patches.clone().or_else(|| self.cfg.patches_dir())
    }

    /// Group phase `certs`.
    pub fn run_certs_group(&mut self) -> Result<(), PhaseError> {
        crate::wiring::prepare_group(self)?;
        self.out.line(format!(
            "[certs] Using certificateDir folder {:?}",
            self.cert_write_dir().display().to_string()
        ));
        Ok(())
    }

    /// Group phase `kubeconfig`.
    pub fn run_kubeconfig_group(&mut self) -> Result<(), PhaseError> {
        crate::wiring::prepare_group(self)?;
        self.out.line(format!(
            "[kubeconfig] Using kubeconfig folder {:?}",
            self.kubeconfig_dir().display().to_string()
        ));
        Ok(())
    }

    /// Group phase `control-plane`.
    pub fn run_control_plane_group(&mut self) -> Result<(), PhaseError> {
        crate::wiring::prepare_group(self)?;
        self.out.line(format!(
            "[control-plane] Using manifest folder {:?}",
            self.manifest_dir().display().to_string()
        ));
        Ok(())
    }

    /// Phase `preflight`.
    pub fn run_preflight(&mut self) -> Result<(), PhaseError> {
        crate::wiring::preflight(self)
    }

    /// Phase `certs/<name>`.
    pub fn run_cert(&mut self, name: &str) -> Result<(), PhaseError> {
        crate::wiring::cert(self, name)
    }

    /// Phase `certs/sa`.
    pub fn run_sa(&mut self) -> Result<(), PhaseError> {
        crate::wiring::sa(self)
    }

    /// Phase `kubeconfig/<file>`.
    pub fn run_kubeconfig(&mut self, file: &str) -> Result<(), PhaseError> {
        crate::wiring::kubeconfig(self, file)
    }

    /// Phase `etcd/local`.
    pub fn run_etcd_local(&mut self) -> Result<(), PhaseError> {
        crate::wiring::etcd_local(self)
    }

    /// Phase `control-plane/<component>`.
    pub fn run_control_plane(&mut self, component: &str) -> Result<(), PhaseError> {
        crate::wiring::control_plane(self, component)
    }
}

fn make_dry_run_dir(out: &Output) -> anyhow::Result<PathBuf> {
    let env = std::env::var(DRY_RUN_DIR_ENV).ok();
    let d = kubeadm_host::DryRunDir::resolve(
        env.as_deref(),
        DRY_RUN_DIR_ENV,
        std::path::Path::new(KUBERNETES_DIR),
        "kubeadm-init-dryrun",
    )
    .context("could not create a temporary directory on dryrun")?;
    if let Some(m) = &d.message {
        out.warn(m);
    }
    Ok(d.path)
}

/// Runs the plan; a failure while preparing the offline phases is reported under the name of the
/// phase that failed.
fn execute(
    r: &crate::workflow::Runner<InitData>,
    plan: crate::workflow::Plan,
    data: &mut InitData,
) -> anyhow::Result<()> {
    data.plan = Some(plan.clone());
    match r.execute(&plan, data) {
        Ok(()) => Ok(()),
        Err(crate::workflow::WorkflowError::Phase { phase, cause: PhaseError::Failed(e) }) => {
            match e.downcast::<crate::wiring::PrepareFailed>() {
                Ok(pf) => {
                    let cause = match pf.cause.downcast::<PhaseError>() {
                        Ok(p) => p,
                        Err(e) => PhaseError::Failed(e),
                    };
                    Err(crate::workflow::WorkflowError::Phase { phase: pf.phase, cause }.into())
                }
                Err(e) => {
                    Err(crate::workflow::WorkflowError::Phase { phase, cause: PhaseError::Failed(e) }.into())
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Upstream's `manageSkippedAddons`: skipping addons disables them in the config and vice versa.
fn manage_skipped_addons(data: &mut InitData, mut skip: Vec<String>) -> Vec<String> {
    let has = |s: &[String], p: &str| s.iter().any(|x| x == p);
    let (mut skip_dns, mut skip_proxy) = (false, false);
    if has(&skip, "addon") {
        skip_dns = true;
        skip_proxy = true;
        data.cfg.set_dns_disabled();
        data.cfg.set_proxy_disabled();
    }
    if has(&skip, "addon/coredns") {
        skip_dns = true;
        data.cfg.set_dns_disabled();
    }
    if has(&skip, "addon/kube-proxy") {
        skip_proxy = true;
        data.cfg.set_proxy_disabled();
    }
    if data.cfg.dns_disabled() && !skip_dns {
        skip.push("addon/coredns".into());
    }
    if data.cfg.proxy_disabled() && !skip_proxy {
        skip.push("addon/kube-proxy".into());
    }
    skip
}

/// Runs `init` (or one of its phases).
pub fn run(out: &Output, args: &InitArgs) -> anyhow::Result<()> {
    let r = runner();
    match phase_path(&args.matches) {
        Some((path, m)) => {
            let Some(sel) = r.selector_for(&path) else { bail!("subcommand is required") };
            // Upstream: filters are checked before the data is built.
            let plan = r.plan(std::slice::from_ref(&sel), &[])?;
            let mut data = InitData::new(*out, m)?;
            let from_config = data.skip_phases_from_config.clone();
            let skip = manage_skipped_addons(&mut data, from_config);
            let plan = if skip.is_empty() { plan } else { r.plan(&[sel], &skip)? };
            execute(&r, plan, &mut data)?;
        }
        None => {
            let mut data = InitData::new(*out, &args.matches)?;
            data.out.line(format!("[init] Using Kubernetes version: {}", data.cfg.kubernetes_version()));
            let mut skip = Flags(&args.matches).list(SKIP_PHASES);
            if skip.is_empty() {
                skip = data.skip_phases_from_config.clone();
            }
            let skip = manage_skipped_addons(&mut data, skip);
            let plan = r.plan(&[], &skip)?;
            execute(&r, plan, &mut data)?;
        }
    }
    Ok(())
}
