//! Tests of [`super`]: pure parts, and the whole request/wait flow against a fake API server (a
//! tower service answering the CSR endpoints from an in-memory object).

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use kubeadm_pki::{CertAndKey, CertConfig};
use serde_json::{Value, json};

use super::*;
use crate::Error;

/// The P-256 key of kubeadm-pki's CSR encoding test; Go 1.26 (`digestedName` copied into a test
/// program) names its worker-1 CSR as in [`digested_names_match_the_kubelet`].
const GO_EC_KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMwJ9nEWIAVChXWLmHp2FNubSb+nrUMwKgBFs1Dyeo63oAoGCCqGSM49
AwEHoUQDQgAEHkqFWYTcBruElj0U3KuAf2oLNiah5UWijhDCatXhf8+bbAss4y/+
HML0aA1Nb5dWtCn6kNpJhsoPFp1F6l0SoA==
-----END EC PRIVATE KEY-----
";
/// An RSA-2048 public key (the usages then include key encipherment).
const GO_RSA_PUB: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzpE8N3sYQoFXQhTY5npc
+3g1NOfhYXN+k7vkHrO0q/bhOJ2P8K3C2W10iTDTvWYGA2JTCE1XeP/sXQoCnvCd
9IezWFi9X0RBf5fDQITgqLNKcR3+Mi45jKBaB0d+nrQl5JvLvynGOB1SGVOKj7QD
pMA/OKLIcRCzmBGE/wXTWJo7FyOuDSIpMum2dt7m3B9SqRq6++T1jaB3Xjd3/ar3
fXQOzSno6qAzokHlayoUONjZw3L+cg1tQxj7VSV4M/UDoc+5bWVVfdD2u10gtm86
afzo/vhR7gZpncQmQxJBM0bRHKRz1ln4wLQoBIE2fLC8JtZD56k40dHOc4zE808c
uwIDAQAB
-----END PUBLIC KEY-----
";

fn nodes() -> Vec<String> {
    vec![NODES_GROUP.to_string()]
}

#[test]
fn digested_names_match_the_kubelet() {
    let ec = PrivateKey::from_pem(GO_EC_KEY.as_bytes()).unwrap().unwrap();
    let usages = node_client_usages(&ec);
    assert_eq!(usages, ["digital signature", "client auth"]);
    assert_eq!(
        digested_name(&ec.public_key(), "system:node:worker-1", &nodes(), &usages),
        "node-csr-ftd0qnN3lvrTuKGj7loLVXF-YfS0exMv1bueQZozz2o"
    );
    let rsa = PublicKey::all_from_pem(GO_RSA_PUB.as_bytes()).unwrap().remove(0);
    assert_eq!(
        digested_name(
            &rsa,
            "system:node:worker-1",
            &nodes(),
            &["digital signature", "client auth", "key encipherment"]
        ),
        "node-csr-ZuoBo7ISLLXwHuC0UIM0ICCbuBaEyfy-YhasMaAd5GM"
    );
    let rsa_key = PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
    assert_eq!(node_client_usages(&rsa_key), ["digital signature", "client auth", "key encipherment"]);
    // Deterministic: the same key gives the same CSR name; another node or key another one.
    let a = node_csr(&ec, "worker-1").unwrap();
    let b = node_csr(&ec, "worker-1").unwrap();
    assert_eq!(a.metadata.name.as_deref(), Some("node-csr-ftd0qnN3lvrTuKGj7loLVXF-YfS0exMv1bueQZozz2o"));
    assert_eq!(a.metadata.name, b.metadata.name);
    assert_ne!(a.spec.request, b.spec.request, "ECDSA signatures are randomized");
    assert_ne!(node_csr(&ec, "worker-2").unwrap().metadata.name, a.metadata.name);
}

#[test]
fn csr_object_as_the_kubelet_creates_it() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = node_csr(&key, "worker-1").unwrap();
    let v = serde_json::to_value(&csr).unwrap();
    assert_eq!(v["apiVersion"], "certificates.k8s.io/v1");
    assert_eq!(v["kind"], "CertificateSigningRequest");
    assert_eq!(v["spec"]["signerName"], "kubernetes.io/kube-apiserver-client-kubelet");
    assert_eq!(v["spec"]["usages"], json!(["digital signature", "client auth"]));
    assert!(v["spec"].get("expirationSeconds").is_none() && v.get("status").is_none());
    let req = CertificateRequest::from_pem(&csr.spec.request.0).unwrap();
    assert_eq!(req.common_name(), "system:node:worker-1");
    assert_eq!(req.organization(), nodes().as_slice());
    assert_eq!(req.public_key(), Some(&key.public_key()));
    req.check_signature().unwrap();
}

fn condition(type_: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": "True", "reason": reason, "message": message})
}

fn with_status(status: Value) -> CertificateSigningRequest {
    serde_json::from_value(json!({
        "metadata": {"name": "x"},
        "spec": {"request": "", "signerName": KUBELET_CLIENT_SIGNER_NAME},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn csr_states() {
    assert_eq!(csr_state(&with_status(json!({}))), CsrState::Pending);
    let approved = condition("Approved", "AutoApproved", "ok");
    assert_eq!(csr_state(&with_status(json!({"conditions": [approved]}))), CsrState::Approved);
    assert_eq!(
        csr_state(&with_status(json!({"conditions": [approved], "certificate": "UEVN"}))),
        CsrState::Issued(b"PEM".to_vec())
    );
    // A certificate without approval does not count; Denied and Failed win over Approved.
    assert_eq!(csr_state(&with_status(json!({"certificate": "UEVN"}))), CsrState::Pending);
    assert_eq!(
        csr_state(&with_status(json!({"conditions": [approved, condition("Denied", "Nope", "no")]}))),
        CsrState::Denied("Nope".into(), "no".into())
    );
    assert_eq!(
        csr_state(&with_status(json!({"conditions": [approved, condition("Failed", "Broken", "bad")]}))),
        CsrState::Failed("Broken".into(), "bad".into())
    );
}

/// A CA that signs node client certificates like the controller-manager's csrsigning.
fn test_ca() -> CertAndKey {
    kubeadm_pki::new_certificate_authority(
        &CertConfig { common_name: "kubernetes".into(), ..Default::default() },
        KeyAlgorithm::EcdsaP256,
    )
    .unwrap()
}

fn sign(ca: &CertAndKey, req: &CertificateRequest, usages: Vec<ExtKeyUsage>) -> String {
    let cfg = CertConfig {
        common_name: req.common_name().to_string(),
        organization: req.organization().to_vec(),
        usages,
        ..Default::default()
    };
    let cert = kubeadm_pki::new_signed_cert(&cfg, req.public_key().unwrap(), ca, false).unwrap();
    format!("{}{}", cert.to_pem(), ca.cert.to_pem())
}

#[test]
fn issued_certificate_checks() {
    let ca = test_ca();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let req = CertificateRequest::from_pem(&node_csr(&key, "worker-1").unwrap().spec.request.0).unwrap();
    let good = sign(&ca, &req, vec![ExtKeyUsage::ClientAuth]);
    let leaf = check_issued_certificate(good.as_bytes(), &key, "worker-1", now).unwrap();
    assert_eq!(leaf.common_name(), "system:node:worker-1");
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let e = check_issued_certificate(good.as_bytes(), &other, "worker-1", now).unwrap_err();
    assert!(e.contains("public key"), "{e}");
    let e = check_issued_certificate(good.as_bytes(), &key, "worker-2", now).unwrap_err();
    assert!(e.contains("\"system:node:worker-2\""), "{e}");
    let server_only = sign(&ca, &req, vec![ExtKeyUsage::ServerAuth]);
    let e = check_issued_certificate(server_only.as_bytes(), &key, "worker-1", now).unwrap_err();
    assert!(e.contains("client authentication"), "{e}");
    let later = now + time::Duration::days(400);
    assert!(check_issued_certificate(good.as_bytes(), &key, "worker-1", later).is_err());
    assert!(check_issued_certificate(b"junk", &key, "worker-1", now).is_err());
}

#[test]
fn compatibility_of_existing_requests() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let ours = node_csr(&key, "worker-1").unwrap();
    // An earlier run with the same key: compatible, also with an issued certificate.
    let mut earlier = node_csr(&key, "worker-1").unwrap();
    ensure_compatible(&earlier, &ours, &key, now).unwrap();
    let req = CertificateRequest::from_pem(&earlier.spec.request.0).unwrap();
    let cert = sign(&test_ca(), &req, vec![ExtKeyUsage::ClientAuth]);
    earlier.status = Some(k8s_openapi::api::certificates::v1::CertificateSigningRequestStatus {
        certificate: Some(ByteString(cert.into_bytes())),
        conditions: None,
    });
    ensure_compatible(&earlier, &ours, &key, now).unwrap();
    let e = ensure_compatible(&earlier, &ours, &key, now + time::Duration::days(400)).unwrap_err();
    assert!(e.contains("expired"), "{e}");
    // Another key.
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let e = ensure_compatible(&node_csr(&other, "worker-1").unwrap(), &ours, &key, now).unwrap_err();
    assert!(e.contains("not signed by this node's key"), "{e}");
    // Another subject or signer.
    let e = ensure_compatible(&node_csr(&key, "worker-2").unwrap(), &ours, &key, now).unwrap_err();
    assert!(e.contains("subjects differ"), "{e}");
    let mut signer = node_csr(&key, "worker-1").unwrap();
    signer.spec.signer_name = "example.com/other".into();
    let e = ensure_compatible(&signer, &ours, &key, now).unwrap_err();
    assert!(e.contains("signer names differ"), "{e}");
}

#[test]
fn node_client_cert_debug_hides_the_key() {
    let c = NodeClientCert { cert_pem: "C".into(), key_pem: "SECRET KEY".into(), csr_name: "n".into() };
    let d = format!("{c:?}");
    assert!(!d.contains("SECRET") && d.contains("\"n\""), "{d}");
}

// --- the flow against a fake API server

const CSR_PATH: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/// What the fake server does on each GET of the CSR (1-based count): mutate the stored object.
type OnGet = Box<dyn FnMut(&mut Value, usize) + Send>;

struct FakeState {
    /// The stored CSR object, if any.
    csr: Option<Value>,
    creates: usize,
    gets: usize,
    on_get: OnGet,
    /// Status codes to answer the next creates with (then create normally).
    create_failures: Vec<u16>,
}

fn status(code: u16, reason: &str, message: &str) -> Response<kube::client::Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    json_response(code, &body)
}

fn json_response(code: u16, body: &Value) -> Response<kube::client::Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header("content-type", "application/json")
        .body(kube::client::Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn fake_client(state: Arc<Mutex<FakeState>>) -> Client {
    let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
        let state = state.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let path = parts.uri.path().to_string();
            let mut s = state.lock().unwrap();
            let resp = match (parts.method.as_str(), path.as_str()) {
                ("POST", CSR_PATH) => {
                    s.creates += 1;
                    if !s.create_failures.is_empty() {
                        let code = s.create_failures.remove(0);
                        status(code, "InternalError", "try again")
                    } else if s.csr.is_some() {
                        status(409, "AlreadyExists", "certificatesigningrequests already exists")
                    } else {
                        let mut obj: Value = serde_json::from_slice(&body).unwrap();
                        obj["metadata"]["uid"] = json!("uid-1");
                        s.csr = Some(obj.clone());
                        json_response(201, &obj)
                    }
                }
                ("GET", p) if p.starts_with(CSR_PATH) => {
                    s.gets += 1;
                    let n = s.gets;
                    let FakeState { csr, on_get, .. } = &mut *s;
                    let wanted = csr
                        .as_ref()
                        .map(|o| format!("{CSR_PATH}/{}", o["metadata"]["name"].as_str().unwrap()));
                    match csr {
                        Some(obj) if wanted.as_deref() == Some(p) => {
                            on_get(obj, n);
                            if obj.is_null() {
                                *csr = None;
                                status(404, "NotFound", "not found")
                            } else {
                                json_response(200, obj)
                            }
                        }
                        _ => status(404, "NotFound", "not found"),
                    }
                }
                _ => status(405, "MethodNotAllowed", "unexpected request"),
            };
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    Client::new(svc, "default")
}

fn fake(csr: Option<Value>, on_get: OnGet) -> Arc<Mutex<FakeState>> {
    Arc::new(Mutex::new(FakeState { csr, creates: 0, gets: 0, on_get, create_failures: Vec::new() }))
}

/// The stored request of a CSR object.
fn stored_request(obj: &Value) -> CertificateRequest {
    let pem = STANDARD.decode(obj["spec"]["request"].as_str().unwrap()).unwrap();
    CertificateRequest::from_pem(&pem).unwrap()
}

/// Approves at the `approve_at`-th GET and issues at the `issue_at`-th.
fn approver(ca: CertAndKey, approve_at: usize, issue_at: usize) -> OnGet {
    Box::new(move |obj, n| {
        if n >= approve_at && obj.get("status").is_none() {
            obj["status"] = json!({"conditions": [condition("Approved", "AutoApproved", "ok")]});
        }
        if n >= issue_at && obj["status"].get("certificate").is_none() {
            let cert = sign(&ca, &stored_request(obj), vec![ExtKeyUsage::ClientAuth]);
            obj["status"]["certificate"] = json!(STANDARD.encode(cert));
        }
    })
}

#[tokio::test(start_paused = true)]
async fn requests_waits_and_returns_the_certificate() {
    let state = fake(None, approver(test_ca(), 2, 3));
    let client = fake_client(state.clone());
    let mut out = Vec::new();
    let got = request_node_client_certificate(&client, "worker-1", Duration::from_secs(240), &mut out)
        .await
        .unwrap();
    let s = state.lock().unwrap();
    assert_eq!((s.creates, s.gets), (1, 3));
    let obj = s.csr.clone().unwrap();
    assert_eq!(obj["metadata"]["name"], got.csr_name.as_str());
    assert_eq!(obj["spec"]["signerName"], KUBELET_CLIENT_SIGNER_NAME);
    assert_eq!(obj["spec"]["usages"], json!(["digital signature", "client auth"]));
    let key = PrivateKey::from_pem(got.key_pem.as_bytes()).unwrap().unwrap();
    assert!(got.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
    assert_eq!(key.algorithm(), Some(KeyAlgorithm::EcdsaP256));
    assert_eq!(stored_request(&obj).public_key(), Some(&key.public_key()));
    let name = digested_name(&key.public_key(), "system:node:worker-1", &nodes(), &node_client_usages(&key));
    assert_eq!(got.csr_name, name);
    let leaf =
        check_issued_certificate(got.cert_pem.as_bytes(), &key, "worker-1", time::OffsetDateTime::now_utc())
            .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        format!(
            "[kubelet-start] Requesting a client certificate for node \"worker-1\" (CertificateSigningRequest \"{name}\")\n\
[kubelet-start] Waiting for the certificate to be approved and issued by kubernetes.io/kube-apiserver-client-kubelet. This can take up to 4m0s\n\
[kubelet-start] Received the client certificate for \"system:node:worker-1\", valid until {}\n",
            leaf.not_after().date()
        )
    );
    assert!(!out.contains("PRIVATE"));
}

#[tokio::test(start_paused = true)]
async fn retries_transient_create_errors() {
    let state = fake(None, approver(test_ca(), 1, 1));
    state.lock().unwrap().create_failures = vec![503, 500];
    let client = fake_client(state.clone());
    request_node_client_certificate(&client, "worker-1", Duration::from_secs(60), &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(state.lock().unwrap().creates, 3);
}

#[tokio::test(start_paused = true)]
async fn reuses_a_compatible_existing_csr() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut existing = serde_json::to_value(node_csr(&key, "worker-1").unwrap()).unwrap();
    existing["metadata"]["uid"] = json!("uid-0");
    let state = fake(Some(existing), approver(test_ca(), 1, 2));
    let client = fake_client(state.clone());
    let mut out = Vec::new();
    let got = request_node_client_certificate_with_key(
        &client,
        "worker-1",
        &key,
        Duration::from_secs(60),
        &mut out,
    )
    .await
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(&format!(
            "[kubelet-start] Reusing the existing CertificateSigningRequest \"{}\"\n",
            got.csr_name
        )),
        "{out}"
    );
    let s = state.lock().unwrap();
    // One GET to compare (approved then), one while waiting (issued then).
    assert_eq!((s.creates, s.gets), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn refuses_an_incompatible_existing_csr() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    // Same name as ours, but the request of another key.
    let mut existing = serde_json::to_value(node_csr(&other, "worker-1").unwrap()).unwrap();
    let ours = node_csr(&key, "worker-1").unwrap();
    existing["metadata"]["name"] = json!(ours.metadata.name.clone().unwrap());
    let client = fake_client(fake(Some(existing), Box::new(|_, _| {})));
    let e = request_node_client_certificate_with_key(
        &client,
        "worker-1",
        &key,
        Duration::from_secs(60),
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::TlsBootstrap(TlsBootstrapError::Incompatible { .. })), "{msg}");
    assert!(
        msg.contains(ours.metadata.name.as_deref().unwrap()) && msg.contains("not signed by this node's key"),
        "{msg}"
    );
}

#[tokio::test(start_paused = true)]
async fn denied_and_failed_end_the_wait() {
    for (type_, word) in [("Denied", " was denied"), ("Failed", " failed")] {
        let on_get: OnGet = Box::new(move |obj, n| {
            if n == 2 {
                obj["status"] = json!({"conditions": [condition(type_, "SomeReason", "some message")]});
            }
        });
        let client = fake_client(fake(None, on_get));
        let e =
            request_node_client_certificate(&client, "worker-1", Duration::from_secs(60), &mut Vec::new())
                .await
                .unwrap_err()
                .to_string();
        assert!(
            e.starts_with("certificate signing request \"node-csr-")
                && e.ends_with(&format!("\"{word}, reason: SomeReason, message: some message")),
            "{e}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn timeouts_say_what_is_missing() {
    // Never approved.
    let client = fake_client(fake(None, Box::new(|_, _| {})));
    let e = request_node_client_certificate(&client, "worker-1", Duration::from_secs(10), &mut Vec::new())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::TlsBootstrap(TlsBootstrapError::Timeout { approved: false, .. })), "{msg}");
    assert!(
        msg.starts_with("timed out after 10s waiting for certificate signing request \"node-csr-")
            && msg.contains("(signer kubernetes.io/kube-apiserver-client-kubelet): it is not approved"),
        "{msg}"
    );
    // Approved, never issued.
    let on_get: OnGet = Box::new(|obj, _| {
        obj["status"] = json!({"conditions": [condition("Approved", "AutoApproved", "ok")]});
    });
    let client = fake_client(fake(None, on_get));
    let e = request_node_client_certificate(&client, "worker-1", Duration::from_secs(10), &mut Vec::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("it is approved but no certificate was issued"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_deleted_or_replaced_csr_ends_the_wait() {
    // The hook sets the object to null: deleted.
    let client = fake_client(fake(
        None,
        Box::new(|obj, n| {
            if n == 2 {
                *obj = Value::Null
            }
        }),
    ));
    let e = request_node_client_certificate(&client, "worker-1", Duration::from_secs(60), &mut Vec::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("was deleted while waiting for its certificate"), "{e}");
    let client = fake_client(fake(None, Box::new(|obj, _| obj["metadata"]["uid"] = json!("uid-2"))));
    let e = request_node_client_certificate(&client, "worker-1", Duration::from_secs(60), &mut Vec::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("changed UIDs while waiting for its certificate"), "{e}");
}
