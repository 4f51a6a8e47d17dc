//! Tests of [`super`]: pin parsing, the pure checks on cluster-info, the token and file flows over
//! fake readers (paused time), and token discovery end to end over real TLS against a local
//! HTTPS server (kube-rs client, insecure first read, CA-pinned second read).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kubeadm_pki::{AltNames, CertAndKey, CertConfig, ExtKeyUsage, KeyAlgorithm};

use super::*;
use crate::jws::compute_detached_signature;

const TOKEN: &str = "abcdef.0123456789abcdef";
const SERVER: &str = "https://10.0.0.1:6443";

fn ca(cn: &str) -> CertAndKey {
    kubeadm_pki::new_certificate_authority(
        &CertConfig { common_name: cn.into(), ..Default::default() },
        KeyAlgorithm::EcdsaP256,
    )
    .unwrap()
}

/// The cluster-info kubeconfig as `init` writes it, for `server` and `ca`.
fn cluster_info_kubeconfig(server: &str, ca: &CertAndKey) -> String {
    let admin = kc::create_basic(server, "kubernetes", "admin", ca.cert.to_pem().as_bytes());
    crate::bootstrap::cluster_info_kubeconfig(&admin).unwrap()
}

/// cluster-info data: the kubeconfig and its signature for `token`.
fn signed(kubeconfig: &str, token: &str) -> BTreeMap<String, String> {
    let t = BootstrapTokenString::parse(token).unwrap();
    BTreeMap::from([
        (KUBECONFIG_KEY.to_string(), kubeconfig.to_string()),
        (format!("jws-kubeconfig-{}", t.id), compute_detached_signature(kubeconfig, &t.id, &t.secret)),
    ])
}

fn token() -> BootstrapTokenString {
    BootstrapTokenString::parse(TOKEN).unwrap()
}

fn td(pins: Vec<String>) -> TokenDiscovery {
    TokenDiscovery {
        api_server_endpoint: "10.0.0.1:6443".into(),
        token: TOKEN.into(),
        unsafe_skip_ca_verification: pins.is_empty(),
        ca_cert_hashes: pins,
    }
}

fn fast() -> DiscoveryTimeouts {
    DiscoveryTimeouts {
        discovery: Duration::from_secs(60),
        retry_interval: Duration::from_secs(5),
        request: Duration::from_secs(1),
    }
}

/// Error text with its causes, as the CLI prints it.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !msg.ends_with(&t) {
            msg = format!("{msg}: {t}");
        }
        cur = s.source();
    }
    msg
}

#[derive(Default)]
struct Recorder {
    warnings: Mutex<Vec<String>>,
    v1: Mutex<Vec<String>>,
}

impl DiscoveryLog for Recorder {
    fn warning(&self, message: &str) {
        self.warnings.lock().unwrap().push(message.to_string());
    }
    fn v1(&self, message: &str) {
        self.v1.lock().unwrap().push(message.to_string());
    }
}

// --- pins -------------------------------------------------------------------------------------

#[test]
fn pins_parse_like_pubkeypin() {
    let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let mut s = PinSet::new();
    assert!(s.is_empty());
    s.allow(&[format!("SHA256:{}", hex.to_uppercase()), format!("sha256:{hex}")]).unwrap();
    assert_eq!(s.sha256.len(), 1);
    assert!(s.sha256.contains(hex));

    let err = |h: &str| PinSet::new().allow(&[h]).unwrap_err().to_string();
    assert_eq!(err("abc"), "invalid hash, expected \"format:hex-value\". Known format(s) are: sha256");
    assert_eq!(err("sha256:a:b"), "invalid hash, expected \"format:hex-value\". Known format(s) are: sha256");
    assert_eq!(err(&format!("md5:{hex}")), "unknown hash format \"md5\". Known format(s) are: sha256");
    assert_eq!(
        err("sha256:abcd"),
        "invalid hash \"sha256:abcd\", expected a 32 byte SHA-256 hash, found 2 bytes"
    );
    let bad = format!("sha256:{}g", &hex[..63]);
    assert_eq!(
        err(&bad),
        format!(
            "invalid hash \"{bad}\", could not decode SHA-256 from hex: encoding/hex: invalid byte: U+0067 'g'"
        )
    );
    // 65 digits: DecodedLen is still 32, the decoder reports the odd length.
    let odd = format!("sha256:{hex}0");
    assert_eq!(
        err(&odd),
        format!(
            "invalid hash \"{odd}\", could not decode SHA-256 from hex: encoding/hex: odd length hex string"
        )
    );
    assert_eq!(go_hex_check(b"0\x01").unwrap_err(), "encoding/hex: invalid byte: U+0001");
}

#[test]
fn pins_check_any() {
    let (a, b) = (ca("a"), ca("b"));
    let pin_a = a.cert.public_key_pin();
    assert!(pin_a.starts_with("sha256:") && pin_a.len() == 71, "{pin_a}");
    let mut s = PinSet::new();
    s.allow(&[pin_a.to_uppercase().replace("SHA256", "sha256")]).unwrap();
    s.check_any(&[b.cert.clone(), a.cert.clone()]).unwrap();
    let e = s.check_any(&[b.cert.clone(), b.cert.clone()]).unwrap_err();
    let pin_b = b.cert.public_key_pin();
    assert_eq!(e.to_string(), format!("none of the public keys \"{pin_b}:{pin_b}\" are pinned"));
}

// --- pure cluster-info checks -------------------------------------------------------------------

#[test]
fn insecure_cluster_info_checks() {
    let c = ca("kubernetes");
    let kubeconfig = cluster_info_kubeconfig(SERVER, &c);
    let data = signed(&kubeconfig, TOKEN);

    let ok = validate_insecure_cluster_info(&data, &token()).unwrap();
    assert_eq!(ok.kubeconfig, kubeconfig);
    assert_eq!(cluster_of(&ok.config).unwrap().1.server, SERVER);

    // Signed with another secret.
    let tampered = signed(&kubeconfig, "abcdef.0123456789abcdex");
    let e = validate_insecure_cluster_info(&tampered, &token()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to verify JWS signature of received cluster info object, can't trust this API Server"
    );
    // Content changed after signing.
    let mut changed = data.clone();
    changed.insert(KUBECONFIG_KEY.into(), kubeconfig.replace("10.0.0.1", "10.6.6.6"));
    assert!(matches!(
        validate_insecure_cluster_info(&changed, &token()),
        Err(DiscoveryError::InvalidSignature)
    ));

    // No signature for this token (or an empty one).
    let other = signed(&kubeconfig, "zzzzzz.0123456789abcdef");
    let want = "token id \"abcdef\" is invalid for this cluster or it has expired. Use \"kubeadm token create\" on the control-plane node to create a new valid token";
    assert_eq!(validate_insecure_cluster_info(&other, &token()).unwrap_err().to_string(), want);
    let mut empty_sig = data.clone();
    empty_sig.insert("jws-kubeconfig-abcdef".into(), String::new());
    assert_eq!(validate_insecure_cluster_info(&empty_sig, &token()).unwrap_err().to_string(), want);

    // No kubeconfig.
    let mut no_kc = data.clone();
    no_kc.remove(KUBECONFIG_KEY);
    assert_eq!(
        validate_insecure_cluster_info(&no_kc, &token()).unwrap_err().to_string(),
        "there is no kubeconfig key in the cluster-info ConfigMap. This API Server isn't set up for token bootstrapping, can't connect"
    );

    // Signed, but not a kubeconfig / without a cluster.
    let garbage = signed("clusters: 5\n", TOKEN);
    let e = validate_insecure_cluster_info(&garbage, &token()).unwrap_err().to_string();
    assert!(e.starts_with("couldn't parse the kubeconfig file in the cluster-info ConfigMap: "), "{e}");
    let no_cluster = signed("apiVersion: v1\nkind: Config\ncurrent-context: x\n", TOKEN);
    assert_eq!(
        validate_insecure_cluster_info(&no_cluster, &token()).unwrap_err().to_string(),
        "malformed kubeconfig in the cluster-info ConfigMap: the current context is invalid: x"
    );
}

#[test]
fn cluster_ca_against_pins() {
    let (c, other) = (ca("kubernetes"), ca("other"));
    let config = KubeConfig::parse(cluster_info_kubeconfig(SERVER, &c).as_bytes()).unwrap();
    let mut pins = PinSet::new();
    pins.allow(&[c.cert.public_key_pin()]).unwrap();
    assert_eq!(validate_cluster_ca(&config, &pins).unwrap(), c.cert.to_pem().into_bytes());

    let mut wrong = PinSet::new();
    wrong.allow(&[other.cert.public_key_pin()]).unwrap();
    assert_eq!(
        validate_cluster_ca(&config, &wrong).unwrap_err().to_string(),
        format!(
            "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"{}\" are pinned",
            c.cert.public_key_pin()
        )
    );
    let no_ca = KubeConfig::parse(b"clusters:\n- name: \"\"\n  cluster:\n    server: https://x\n").unwrap();
    assert_eq!(
        validate_cluster_ca(&no_ca, &pins).unwrap_err().to_string(),
        "failed to parse cluster CA from the cluster-info ConfigMap: data does not contain any valid RSA or ECDSA certificates"
    );
}

#[test]
fn second_read_must_be_identical() {
    let c = ca("kubernetes");
    let kubeconfig = cluster_info_kubeconfig(SERVER, &c);
    let cfg = validate_secure_cluster_info(&kubeconfig, &signed(&kubeconfig, TOKEN)).unwrap();
    assert_eq!(cluster_of(&cfg).unwrap().1.server, SERVER);
    let other = format!("{kubeconfig}\n");
    assert_eq!(
        validate_secure_cluster_info(&kubeconfig, &signed(&other, TOKEN)).unwrap_err().to_string(),
        "the second kubeconfig from the cluster-info ConfigMap (using validated TLS) was different from the first"
    );
}

#[test]
fn https_urls() {
    assert!(is_https_url("https://example.com/discovery.yaml"));
    assert!(is_https_url("HTTPS://example.com/x"));
    assert!(!is_https_url("http://example.com/x"));
    assert!(!is_https_url("/etc/kubernetes/discovery.conf"));
    assert!(!is_https_url("discovery.conf"));
}

#[test]
fn serial_in_decimal() {
    assert_eq!(decimal(&[]), "0");
    assert_eq!(decimal(&[0, 0]), "0");
    assert_eq!(decimal(&[0x01, 0x00]), "256");
    assert_eq!(decimal(&[0xff; 9]), "4722366482869645213695");
}

// --- For ---------------------------------------------------------------------------------------

#[test]
fn tls_bootstrap_kubeconfig_from_token_or_file() {
    let c = ca("kubernetes");
    let info = KubeConfig::parse(cluster_info_kubeconfig(SERVER, &c).as_bytes()).unwrap();
    let log = Recorder::default();
    let out = tls_bootstrap_kubeconfig(info.clone(), &SecretString::new(TOKEN), &log).unwrap();
    let want = kc::create_with_token(SERVER, "kubernetes", TOKEN_USER, c.cert.to_pem().as_bytes(), TOKEN);
    assert_eq!(out, want);
    let v1 = log.v1.lock().unwrap().join("\n");
    assert!(
        v1.contains("[discovery] Using provided TLSBootstrapToken as authentication credentials"),
        "{v1}"
    );
    assert!(v1.contains("CA Certificate:\n\tSubject: CN=kubernetes\n\tIssuer: CN=kubernetes\n"), "{v1}");
    assert!(v1.contains(&format!("\tHash: {}", c.cert.public_key_pin())), "{v1}");
    assert!(!v1.contains("0123456789abcdef"), "secret logged: {v1}");

    // No token, no credentials in the discovered kubeconfig.
    let e = tls_bootstrap_kubeconfig(info, &SecretString::default(), &NoLog).unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not find authentication credentials for the TLS bootstrap process. Please use Token discovery, a discovery file with embedded authentication credentials or a discovery file without authentication credentials but with the TLSBootstrapToken flag"
    );
    // A file with credentials is used as is.
    let with_creds = kc::create_with_token(SERVER, "c", "u", c.cert.to_pem().as_bytes(), "file-token");
    assert_eq!(
        tls_bootstrap_kubeconfig(with_creds.clone(), &SecretString::default(), &NoLog).unwrap(),
        with_creds
    );
    // Without a CA certificate.
    let no_ca = kc::create_with_token(SERVER, "c", "u", b"", "file-token");
    assert_eq!(
        tls_bootstrap_kubeconfig(no_ca, &SecretString::default(), &NoLog).unwrap_err().to_string(),
        "could not get CA certificate from discovery kubeconfig: data does not contain any valid RSA or ECDSA certificates"
    );
}

#[test]
fn debug_redacts_secrets() {
    let input = DiscoveryInput {
        token: Some(td(vec![])),
        file: None,
        tls_bootstrap_token: SecretString::new(TOKEN),
        timeouts: DiscoveryTimeouts::default(),
    };
    let d = format!("{input:?}");
    assert!(!d.contains("0123456789abcdef"), "{d}");
    assert!(d.contains("abcdef.<redacted>") && d.contains("10.0.0.1:6443"), "{d}");
}

#[test]
fn from_join_configuration_reads_discovery_and_timeout() {
    let cfg: JoinConfiguration = serde_yaml::from_str(
        "discovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: 10.0.0.1:6443\n    caCertHashes: [sha256:00]\n  tlsBootstrapToken: abcdef.0123456789abcdef\ntimeouts:\n  discovery: 1m30s\n",
    )
    .unwrap();
    let i = DiscoveryInput::from_join_configuration(&cfg);
    let t = i.token.unwrap();
    assert_eq!(t.api_server_endpoint, "10.0.0.1:6443");
    assert_eq!(t.token.expose(), TOKEN);
    assert_eq!(t.ca_cert_hashes, ["sha256:00"]);
    assert_eq!(i.tls_bootstrap_token.expose(), TOKEN);
    assert_eq!(i.timeouts.discovery, Duration::from_secs(90));
    assert_eq!(i.timeouts.retry_interval, Duration::from_secs(5));
    assert!(i.file.is_none());
}

#[tokio::test]
async fn discover_wraps_errors() {
    let e = discover(&DiscoveryInput::default(), &NoLog).await.unwrap_err();
    assert_eq!(
        chain(&e),
        "couldn't validate the identity of the API Server: couldn't find a valid discovery configuration"
    );
    let input = DiscoveryInput {
        file: Some("/nonexistent/discovery.conf".into()),
        tls_bootstrap_token: TOKEN.into(),
        ..Default::default()
    };
    let e = discover(&input, &NoLog).await.unwrap_err();
    assert_eq!(
        chain(&e),
        "couldn't validate the identity of the API Server: open /nonexistent/discovery.conf: no such file or directory"
    );
}

// --- token flow over fake readers ----------------------------------------------------------------

/// A scripted reader: answers from `script` in turn (the last one repeats), counting calls.
#[derive(Clone)]
struct Script {
    answers: Arc<Vec<std::result::Result<BTreeMap<String, String>, Fetch>>>,
    calls: Arc<AtomicUsize>,
}

impl Script {
    fn new(answers: Vec<std::result::Result<BTreeMap<String, String>, Fetch>>) -> Self {
        Self { answers: Arc::new(answers), calls: Arc::default() }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl ClusterInfoGetter for Script {
    async fn get(&self) -> std::result::Result<BTreeMap<String, String>, Fetch> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.answers[n.min(self.answers.len() - 1)].clone()
    }
}

fn unreachable() -> std::result::Result<BTreeMap<String, String>, Fetch> {
    Err(Fetch { forbidden: false, message: "Get \"https://10.0.0.1:6443/...\": connection refused".into() })
}

/// Runs token discovery with `first` for the insecure and `second` for the verified reader.
async fn run_token(
    td: &TokenDiscovery,
    first: &Script,
    second: &Script,
    log: &Recorder,
) -> (Result<KubeConfig>, Vec<bool>) {
    let connects = Mutex::new(Vec::new());
    let r = token_discovery_with(td, &fast(), log, |ca: Option<Vec<u8>>| {
        connects.lock().unwrap().push(ca.is_some());
        Ok(if ca.is_some() { second.clone() } else { first.clone() })
    })
    .await;
    (r, connects.into_inner().unwrap())
}

#[tokio::test(start_paused = true)]
async fn token_flow_without_pins_reads_once() {
    let c = ca("kubernetes");
    let kubeconfig = cluster_info_kubeconfig(SERVER, &c);
    // Unreachable, then unsigned, then signed.
    let first = Script::new(vec![
        unreachable(),
        Ok(BTreeMap::from([(KUBECONFIG_KEY.to_string(), kubeconfig.clone())])),
        Ok(signed(&kubeconfig, TOKEN)),
    ]);
    let second = Script::new(vec![]);
    let log = Recorder::default();
    let start = tokio::time::Instant::now();
    let (r, connects) = run_token(&td(vec![]), &first, &second, &log).await;
    let cfg = r.unwrap();
    assert_eq!(cluster_of(&cfg).unwrap().1.server, SERVER);
    assert_eq!((first.calls(), second.calls(), connects), (3, 0, vec![false]));
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    let v1 = log.v1.lock().unwrap().join("\n");
    assert!(
        v1.contains("[discovery] Retrying due to error: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\""),
        "{v1}"
    );
    assert!(v1.contains("no TLS pinning was specified, will use API Server \"10.0.0.1:6443\""), "{v1}");
    assert!(log.warnings.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn token_flow_with_pins_reads_twice() {
    let c = ca("kubernetes");
    let kubeconfig = cluster_info_kubeconfig(SERVER, &c);
    let first = Script::new(vec![Ok(signed(&kubeconfig, TOKEN))]);
    let second = Script::new(vec![unreachable(), Ok(signed(&kubeconfig, TOKEN))]);
    let (r, connects) =
        run_token(&td(vec![c.cert.public_key_pin()]), &first, &second, &Recorder::default()).await;
    assert_eq!(r.unwrap(), KubeConfig::parse(kubeconfig.as_bytes()).unwrap());
    assert_eq!((first.calls(), second.calls(), connects), (1, 2, vec![false, true]));
}

#[tokio::test(start_paused = true)]
async fn token_flow_second_read_differs() {
    let c = ca("kubernetes");
    let kubeconfig = cluster_info_kubeconfig(SERVER, &c);
    let changed = cluster_info_kubeconfig("https://10.6.6.6:6443", &c);
    let first = Script::new(vec![Ok(signed(&kubeconfig, TOKEN))]);
    let second = Script::new(vec![Ok(signed(&changed, TOKEN))]);
    let (r, _) = run_token(&td(vec![c.cert.public_key_pin()]), &first, &second, &Recorder::default()).await;
    assert!(matches!(r, Err(Error::Discovery(DiscoveryError::KubeconfigChanged))), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn token_flow_pin_mismatch_and_bad_pin() {
    let (c, other) = (ca("kubernetes"), ca("other"));
    let kubeconfig = cluster_info_kubeconfig(SERVER, &c);
    let first = Script::new(vec![Ok(signed(&kubeconfig, TOKEN))]);
    let second = Script::new(vec![]);
    let (r, connects) =
        run_token(&td(vec![other.cert.public_key_pin()]), &first, &second, &Recorder::default()).await;
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains(&format!("none of the public keys \"{}\" are pinned", c.cert.public_key_pin())),
        "{e}"
    );
    assert_eq!(connects, vec![false]);

    let (r, _) = run_token(&td(vec!["sha256:abc".into()]), &first, &second, &Recorder::default()).await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "invalid discovery token CA certificate hash: invalid hash \"sha256:abc\", expected a 32 byte SHA-256 hash, found 1 bytes"
    );
}

#[tokio::test(start_paused = true)]
async fn token_flow_times_out_with_the_last_error() {
    let c = ca("kubernetes");
    let kubeconfig = cluster_info_kubeconfig(SERVER, &c);
    // Never signed for this token: 60s / 5s -> 13 reads, then the last error.
    let first = Script::new(vec![unreachable(), Ok(signed(&kubeconfig, "zzzzzz.0123456789abcdef"))]);
    let second = Script::new(vec![]);
    let start = tokio::time::Instant::now();
    let (r, _) = run_token(&td(vec![]), &first, &second, &Recorder::default()).await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\""
    );
    assert_eq!(first.calls(), 13);
    assert_eq!(start.elapsed(), Duration::from_secs(60));

    // Unreachable throughout.
    let first = Script::new(vec![unreachable()]);
    let (r, _) = run_token(&td(vec![]), &first, &second, &Recorder::default()).await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "failed to request the cluster-info ConfigMap: Get \"https://10.0.0.1:6443/...\": connection refused"
    );
}

#[tokio::test(start_paused = true)]
async fn token_flow_rejects_a_malformed_token_without_printing_it() {
    let mut t = td(vec![]);
    t.token = "abcdef.SECRETSECRETSECR".into();
    let first = Script::new(vec![]);
    let (r, connects) = run_token(&t, &first, &first, &Recorder::default()).await;
    let e = chain(&r.unwrap_err());
    assert!(
        e.starts_with("could not construct token string for token: the bootstrap token was not of the form")
    );
    assert!(!e.contains("SECRET"), "{e}");
    assert!(connects.is_empty());
}

// --- file flow ------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn file_refresh_from_cluster_info() {
    let c = ca("kubernetes");
    let info = BTreeMap::from([(KUBECONFIG_KEY.to_string(), cluster_info_kubeconfig(SERVER, &c))]);
    let t = DiscoveryTimeouts { discovery: Duration::from_secs(20), ..fast() };
    // A file without CA: the CA is synced from cluster-info; another server is only a warning.
    let file = kc::create_with_token("https://lb:6443", "c", "u", b"", "file-token");
    let log = Recorder::default();
    let reader = Script::new(vec![unreachable(), Ok(info.clone())]);
    let out = refresh_from_cluster_info(file.clone(), "c", &reader, &t, &log).await.unwrap();
    assert_eq!(out.cluster("c").unwrap().certificate_authority_data, Some(c.cert.to_pem().into_bytes()));
    assert_eq!(reader.calls(), 2);
    assert_eq!(
        *log.warnings.lock().unwrap(),
        [
            "[discovery] the API Server endpoint \"https://lb:6443\" in use is different from the endpoint \"https://10.0.0.1:6443\" which defined in the cluster-info ConfigMap"
        ]
    );
    let v1 = log.v1.lock().unwrap().join("\n");
    assert!(
        v1.contains("[discovery] Error reading the cluster-info ConfigMap, will try again: Get "),
        "{v1}"
    );
    assert!(
        v1.contains("[discovery] Synced CertificateAuthorityData from the cluster-info ConfigMap"),
        "{v1}"
    );

    // Forbidden: proceed with the file as is.
    let log = Recorder::default();
    let forbidden = Script::new(vec![Err(Fetch { forbidden: true, message: "forbidden".into() })]);
    let out = refresh_from_cluster_info(file.clone(), "c", &forbidden, &t, &log).await.unwrap();
    assert_eq!(out, file);
    assert_eq!(
        *log.warnings.lock().unwrap(),
        [
            "[discovery] Could not access the cluster-info ConfigMap for refreshing the cluster-info information, but the TLS cert is valid so proceeding..."
        ]
    );

    // cluster-info without kubeconfig: proceed (logged at -v1).
    let log = Recorder::default();
    let empty = Script::new(vec![Ok(BTreeMap::new())]);
    assert_eq!(refresh_from_cluster_info(file.clone(), "c", &empty, &t, &log).await.unwrap(), file);
    assert!(
        log.v1
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("isn't set up properly (no kubeconfig key in ConfigMap)"))
    );

    // Never readable: upstream's abort message with the last error.
    let down = Script::new(vec![unreachable()]);
    let e = refresh_from_cluster_info(file, "c", &down, &t, &NoLog).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "Abort reading the cluster-info ConfigMap after timeout of 20s: Get \"https://10.0.0.1:6443/...\": connection refused"
    );
    assert_eq!(down.calls(), 5);
}

#[tokio::test]
async fn file_validation_errors() {
    let t = fast();
    let e = validate_config_info(KubeConfig::default(), &t, &NoLog).await.unwrap_err();
    assert_eq!(e.to_string(), "the provided kubeconfig file must have at least one Cluster defined");

    let mut cfg = kc::create_basic(SERVER, "c", "u", b"");
    cfg.current_context = "nope".into();
    let e = validate_config_info(cfg, &t, &NoLog).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the provided kubeconfig file is malformed: the current context is invalid: nope"
    );

    // create_basic has no user entry for its context.
    let cfg = kc::create_basic(SERVER, "c", "u", b"");
    let e = validate_config_info(cfg, &t, &NoLog).await.unwrap_err();
    assert_eq!(e.to_string(), "invalid configuration: user \"u\" was not found for context \"u@c\"");

    let mut cfg = kc::create_with_token("", "c", "u", b"", "tok");
    cfg.users[0].user.client_certificate = "/nonexistent/crt".into();
    let e = validate_config_info(cfg, &t, &NoLog).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid configuration: [client-key-data or client-key must be specified for u to use the clientCert authentication method., unable to read client-cert /nonexistent/crt for u due to open /nonexistent/crt: no such file or directory, no server found for cluster \"c\"]"
    );

    let mut cfg = kc::create_with_token(SERVER, "c", "u", b"", "tok");
    cfg.clusters[0].cluster.certificate_authority = "/nonexistent/ca.crt".into();
    cfg.clusters[0].cluster.certificate_authority_data = None;
    let e = validate_config_info(cfg, &t, &NoLog).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid configuration: unable to read certificate-authority /nonexistent/ca.crt for c due to open /nonexistent/ca.crt: no such file or directory"
    );

    let exec = KubeConfig::parse(
        b"clusters:\n- name: c\n  cluster:\n    server: https://x\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    exec:\n      command: get-token\n      apiVersion: client.authentication.k8s.io/v1\n",
    )
    .unwrap();
    let e = validate_config_info(exec, &t, &NoLog).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid configuration: interactiveMode must be specified for u to use exec authentication plugin"
    );
}

#[tokio::test]
async fn file_embeds_referenced_files() {
    let dir = std::env::temp_dir().join(format!("kubeadm-rs-discovery-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = ca("kubernetes");
    let ca_path = dir.join("ca.crt");
    let tok_path = dir.join("token");
    std::fs::write(&ca_path, c.cert.to_pem()).unwrap();
    std::fs::write(&tok_path, "file-token\n").unwrap();
    let mut cfg = kc::create_basic(SERVER, "c", "u", b"");
    cfg.clusters[0].cluster.certificate_authority = ca_path.display().to_string();
    cfg.clusters[0].cluster.certificate_authority_data = None;
    cfg.users.push(NamedAuthInfo {
        name: "u".into(),
        user: AuthInfo { token_file: tok_path.display().to_string(), ..Default::default() },
    });
    validate_kubeconfig(&cfg).unwrap();
    embed_referenced_files(&mut cfg, "c").unwrap();
    let cl = cfg.cluster("c").unwrap();
    assert_eq!(cl.certificate_authority_data, Some(c.cert.to_pem().into_bytes()));
    assert!(cl.certificate_authority.is_empty());
    let u = cfg.user("u").unwrap();
    assert_eq!((u.token.as_str(), u.token_file.as_str()), ("file-token\n", ""));
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- token discovery over real TLS ----------------------------------------------------------------

type Route = Arc<dyn Fn(&str) -> (u16, String) + Send + Sync>;

/// Answers every path with the cluster-info ConfigMap holding `data`.
fn cluster_info_route(data: BTreeMap<String, String>) -> Route {
    let body = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cluster-info", "namespace": "kube-public"},
        "data": data,
    })
    .to_string();
    Arc::new(move |_| (200, body.clone()))
}

/// A local HTTPS server presenting `serving` (signed by some CA); `route` answers each request
/// path with a status and a body. Returns its `host:port`.
async fn https_api_server(serving: &CertAndKey, route: Route) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::from_pem_slice(serving.key.to_pem().unwrap().as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(serving.cert.der().to_vec())], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, route) = (acceptor.clone(), route.clone());
            tokio::spawn(async move {
                // A client refusing the certificate ends the handshake; nothing to answer then.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&req);
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                let (status, body) = route(&path);
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr.to_string()
}

fn serving_cert(ca: &CertAndKey) -> CertAndKey {
    kubeadm_pki::new_cert_and_key(
        ca,
        &CertConfig {
            common_name: "kube-apiserver".into(),
            alt_names: AltNames { dns_names: vec![], ips: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)] },
            usages: vec![ExtKeyUsage::ServerAuth],
            ..Default::default()
        },
        KeyAlgorithm::EcdsaP256,
    )
    .unwrap()
}

#[tokio::test]
async fn token_discovery_over_tls() {
    let c = ca("kubernetes");
    // Only the endpoint is dialled; the server URL in cluster-info is what the result carries.
    let kubeconfig = cluster_info_kubeconfig("https://cp.example:6443", &c);
    let server = https_api_server(&serving_cert(&c), cluster_info_route(signed(&kubeconfig, TOKEN))).await;
    let t = DiscoveryTimeouts {
        discovery: Duration::from_secs(3),
        retry_interval: Duration::from_millis(200),
        request: Duration::from_secs(2),
    };
    let mut d = td(vec![c.cert.public_key_pin()]);
    d.api_server_endpoint = server.clone();
    let input = DiscoveryInput { token: Some(d), file: None, tls_bootstrap_token: TOKEN.into(), timeouts: t };
    let out = discover(&input, &NoLog).await.unwrap();
    assert_eq!(out.current_user().unwrap().token, TOKEN);
    assert_eq!(out.cluster("kubernetes").unwrap().server, "https://cp.example:6443");
    assert_eq!(
        out.cluster("kubernetes").unwrap().certificate_authority_data,
        Some(c.cert.to_pem().into_bytes())
    );
}

#[tokio::test]
async fn token_discovery_rejects_a_server_not_signed_by_the_pinned_ca() {
    // The server presents a certificate of CA "real"; cluster-info (validly signed with the token)
    // carries CA "pinned", whose pin is given: the first, unverified read passes, the second read
    // trusting only "pinned" fails the TLS handshake until the timeout.
    let (real, pinned) = (ca("real"), ca("pinned"));
    let kubeconfig = cluster_info_kubeconfig("https://127.0.0.1:6443", &pinned);
    let server = https_api_server(&serving_cert(&real), cluster_info_route(signed(&kubeconfig, TOKEN))).await;
    let t = DiscoveryTimeouts {
        discovery: Duration::from_secs(1),
        retry_interval: Duration::from_millis(200),
        request: Duration::from_secs(2),
    };
    let mut d = td(vec![pinned.cert.public_key_pin()]);
    d.api_server_endpoint = server.clone();
    let input = DiscoveryInput { token: Some(d), timeouts: t, ..Default::default() };
    let e = chain(&discover(&input, &NoLog).await.unwrap_err());
    let want = format!(
        "couldn't validate the identity of the API Server: failed to request the cluster-info ConfigMap: Get \"https://{server}/api/v1/namespaces/kube-public/configmaps/cluster-info\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
    );
    assert_eq!(e, want);

    // The same server without pins is accepted after the unverified read only.
    let mut d = td(vec![]);
    d.api_server_endpoint = server.clone();
    let input = DiscoveryInput {
        token: Some(d),
        timeouts: t,
        tls_bootstrap_token: TOKEN.into(),
        ..Default::default()
    };
    let out = discover(&input, &NoLog).await.unwrap();
    assert_eq!(out.cluster("kubernetes").unwrap().server, "https://127.0.0.1:6443");
}

#[tokio::test]
async fn token_discovery_names_an_unreachable_endpoint() {
    // A port nobody listens on (bound, then released).
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = probe.local_addr().unwrap().to_string();
    drop(probe);
    let mut d = td(vec![]);
    d.api_server_endpoint = endpoint.clone();
    let t = DiscoveryTimeouts {
        discovery: Duration::from_millis(500),
        retry_interval: Duration::from_millis(200),
        request: Duration::from_secs(1),
    };
    let input = DiscoveryInput { token: Some(d), timeouts: t, ..Default::default() };
    let e = chain(&discover(&input, &NoLog).await.unwrap_err());
    let want = format!(
        "couldn't validate the identity of the API Server: failed to request the cluster-info ConfigMap: Get \"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info\": "
    );
    assert!(e.starts_with(&want) && e.contains("onnection refused"), "{e}");
    eprintln!("{e}");

    let mut d = td(vec![]);
    d.api_server_endpoint = "bad endpoint".into();
    let input = DiscoveryInput { token: Some(d), timeouts: t, ..Default::default() };
    let e = chain(&discover(&input, &NoLog).await.unwrap_err());
    assert!(
        e.starts_with(
            "couldn't validate the identity of the API Server: invalid API server endpoint \"bad endpoint\": "
        ),
        "{e}"
    );
}

// --- file and HTTPS discovery over real TLS -------------------------------------------------------

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kubeadm-rs-discovery-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn quick() -> DiscoveryTimeouts {
    DiscoveryTimeouts {
        discovery: Duration::from_secs(2),
        retry_interval: Duration::from_millis(200),
        request: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn file_discovery_over_tls() {
    let c = ca("kubernetes");
    let info = cluster_info_kubeconfig("https://cp.example:6443", &c);
    let server = https_api_server(&serving_cert(&c), cluster_info_route(signed(&info, TOKEN))).await;
    // The discovery file: cluster-info's shape (no credentials), pointing at the local server.
    let file = cluster_info_kubeconfig(&format!("https://{server}"), &c);
    let dir = temp_dir("file");
    let path = dir.join("discovery.conf");
    std::fs::write(&path, &file).unwrap();
    let log = Recorder::default();
    let input = DiscoveryInput {
        file: Some(path.display().to_string()),
        tls_bootstrap_token: TOKEN.into(),
        timeouts: quick(),
        ..Default::default()
    };
    let out = discover(&input, &log).await.unwrap();
    let want = kc::create_with_token(
        &format!("https://{server}"),
        "kubernetes",
        TOKEN_USER,
        c.cert.to_pem().as_bytes(),
        TOKEN,
    );
    assert_eq!(out, want);
    assert_eq!(
        *log.warnings.lock().unwrap(),
        [format!(
            "[discovery] the API Server endpoint \"https://{server}\" in use is different from the endpoint \"https://cp.example:6443\" which defined in the cluster-info ConfigMap"
        )]
    );
    // Without a TLS bootstrap token the file needs credentials.
    let input = DiscoveryInput { tls_bootstrap_token: SecretString::default(), ..input };
    let e = chain(&discover(&input, &NoLog).await.unwrap_err());
    assert!(e.starts_with("could not find authentication credentials for the TLS bootstrap process."), "{e}");

    // Forbidden cluster-info: proceed with the file.
    let status = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"configmaps \"cluster-info\" is forbidden: User \"system:anonymous\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"kube-public\"","reason":"Forbidden","code":403}"#;
    let forbidden = https_api_server(&serving_cert(&c), Arc::new(move |_| (403, status.to_string()))).await;
    let file = cluster_info_kubeconfig(&format!("https://{forbidden}"), &c);
    std::fs::write(&path, &file).unwrap();
    let log = Recorder::default();
    let input = DiscoveryInput { tls_bootstrap_token: TOKEN.into(), ..input };
    discover(&input, &log).await.unwrap();
    assert_eq!(log.warnings.lock().unwrap().len(), 1);
    assert!(
        log.warnings.lock().unwrap()[0]
            .starts_with("[discovery] Could not access the cluster-info ConfigMap")
    );

    // A server the file's CA does not trust: TLS errors until the timeout.
    let other = https_api_server(&serving_cert(&ca("other")), cluster_info_route(signed(&info, TOKEN))).await;
    std::fs::write(&path, cluster_info_kubeconfig(&format!("https://{other}"), &c)).unwrap();
    let e = chain(&discover(&input, &NoLog).await.unwrap_err());
    assert_eq!(
        e,
        format!(
            "couldn't validate the identity of the API Server: Abort reading the cluster-info ConfigMap after timeout of 2s: Get \"https://{other}/api/v1/namespaces/kube-public/configmaps/cluster-info\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn https_discovery_file_download() {
    let c = ca("kubernetes");
    let server = https_api_server(
        &serving_cert(&c),
        Arc::new(|path: &str| match path {
            "/discovery.yaml?x=1" => (200, "apiVersion: v1\nkind: Config\n".to_string()),
            _ => (404, "not found".to_string()),
        }),
    )
    .await;
    let roots = Some(vec![c.cert.der().to_vec()]);
    let url = format!("https://{server}/discovery.yaml?x=1");
    let body = https_get(&url, Duration::from_secs(2), roots.clone()).await.unwrap();
    assert_eq!(body, b"apiVersion: v1\nkind: Config\n");
    let missing = format!("https://{server}/missing");
    assert_eq!(
        https_get(&missing, Duration::from_secs(2), roots).await.unwrap_err().to_string(),
        format!("error trying to fetch discovery kubeconfig over HTTPS from {missing}, received status 404")
    );
    // The system trust store does not know this CA.
    let input = DiscoveryInput { file: Some(url.clone()), timeouts: quick(), ..Default::default() };
    let e = chain(&discover(&input, &NoLog).await.unwrap_err());
    assert_eq!(
        e,
        format!(
            "couldn't validate the identity of the API Server: Get \"{url}\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
        )
    );
}
