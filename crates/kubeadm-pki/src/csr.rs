//! PKCS#10 certificate signing requests as client-go's `certutil.MakeCSR` creates them through Go's
//! `x509.CreateCertificateRequest` (what the kubelet's TLS bootstrap sends): version 0, the
//! subject as `pkix.Name.ToRDNSequence()` marshals it (one RDN with the O values, then one with
//! the CN), the SubjectPublicKeyInfo, an empty `[0]` attribute set (no SANs, so no extension
//! request), signed with `sigType`'s algorithm (ECDSA: the curve's hash; RSA: by key size).
//! Also parsing and signature checks of requests (`x509.ParseCertificateRequest`,
//! `CheckSignature`) for comparing a request found on the server with ours.

use std::fmt;

use crate::cert::AltNames;
use crate::der;
use crate::error::{PkiError, Result};
use crate::keys::{PrivateKey, PublicKey};

/// PEM block type of certificate requests (`certutil.CertificateRequestBlockType`).
pub const CERTIFICATE_REQUEST_BLOCK: &str = "CERTIFICATE REQUEST";

/// `pkcs-9-at-extensionRequest`.
const OID_EXTENSION_REQUEST: &[u64] = &[1, 2, 840, 113549, 1, 9, 14];

/// A DER PKCS#10 request for `key` with subject CN `common_name` and O `organizations`, no
/// attributes or extensions, signed by `key` (`certutil.MakeCSR(key, subject, nil, nil)`).
pub fn new_csr_der(key: &PrivateKey, common_name: &str, organizations: &[String]) -> Result<Vec<u8>> {
    new_csr_der_with_sans(key, common_name, organizations, &AltNames::default())
}

/// [`new_csr_der`] with SANs, as `pkiutil.NewCSR` creates the requests of `kubeadm certs
/// generate-csr`: DNS names de-duplicated and sorted, and, when there are any SANs, one
/// extensionRequest attribute holding the (non-critical) subjectAltName extension, encoded as Go's
/// `x509.CreateCertificateRequest` does.
pub fn new_csr_der_with_sans(
    key: &PrivateKey,
    common_name: &str,
    organizations: &[String],
    alt_names: &AltNames,
) -> Result<Vec<u8>> {
    let mut alt_names = alt_names.clone();
    alt_names.dedup();
    let attributes = if alt_names.dns_names.is_empty() && alt_names.ips.is_empty() {
        Vec::new()
    } else {
        let ext = crate::cert::san_extension(&alt_names);
        der::seq(&[
            &der::oid(OID_EXTENSION_REQUEST),
            &der::tlv(der::TAG_SET, &der::tlv(der::TAG_SEQUENCE, &ext)),
        ])
    };
    let info = der::seq(&[
        &der::uint(&[0]),
        &crate::cert::encode_subject(common_name, organizations),
        &key.public_key().spki_der(),
        // attributes [0] IMPLICIT SET OF Attribute: present even when empty, as Go writes it.
        &der::tlv(0xa0, &attributes),
    ]);
    let (sig_alg, sig) = key
        .sign_with(key.csr_signature_algorithm(), &info)
        .map_err(|e| e.context("unable to generate certificate request"))?;
    Ok(der::seq(&[&info, &sig_alg, &der::bit_string(0, &sig)]))
}

/// [`new_csr_der`] as PEM (`CERTIFICATE REQUEST`), the bytes of a CSR object's `spec.request`.
pub fn new_csr_pem(key: &PrivateKey, common_name: &str, organizations: &[String]) -> Result<String> {
    Ok(crate::pem_encode(CERTIFICATE_REQUEST_BLOCK, &new_csr_der(key, common_name, organizations)?))
}

/// A parsed certificate request: the fields the kubelet and the CSR approver look at.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    der: Vec<u8>,
    info: Vec<u8>,
    sig_oid: Vec<u8>,
    signature: Vec<u8>,
    raw_subject: Vec<u8>,
    common_name: String,
    organization: Vec<String>,
    public_key: Option<PublicKey>,
    attribute_count: usize,
    alt_names: AltNames,
}

impl fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateRequest")
            .field("common_name", &self.common_name)
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

impl CertificateRequest {
    /// Parses a DER request (`x509.ParseCertificateRequest`).
    pub fn from_der(data: &[u8]) -> Result<Self> {
        use x509_parser::prelude::*;
        let bad = |e: String| PkiError::Decode(format!("x509: malformed certificate request: {e}"));
        let (rest, req) = X509CertificationRequest::from_der(data).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad("trailing data".to_string()));
        }
        let info = &req.certification_request_info;
        let common_name = info
            .subject
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .unwrap_or_default()
            .to_string();
        let organization =
            info.subject.iter_organization().filter_map(|a| a.as_str().ok().map(str::to_string)).collect();
        let mut alt_names = AltNames::default();
        for ext in req.requested_extensions().into_iter().flatten() {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                crate::cert::collect_alt_names(&san.general_names, &mut alt_names);
            }
        }
        Ok(Self {
            der: data.to_vec(),
            info: info.raw.to_vec(),
            sig_oid: req.signature_algorithm.algorithm.as_bytes().to_vec(),
            signature: req.signature_value.data.to_vec(),
            raw_subject: info.subject.as_raw().to_vec(),
            common_name,
            organization,
            public_key: PublicKey::from_spki_der(info.subject_pki.raw).ok(),
            attribute_count: info.attributes().len(),
            alt_names,
        })
    }

    /// Parses the first PEM block, which must be a `CERTIFICATE REQUEST` (client-go's `parseCSR`).
    pub fn from_pem(data: &[u8]) -> Result<Self> {
        match crate::pem_decode_all(data).into_iter().next() {
            Some((tag, body)) if tag == CERTIFICATE_REQUEST_BLOCK => Self::from_der(&body),
            _ => Err(PkiError::Decode("PEM block type must be CERTIFICATE REQUEST".to_string())),
        }
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Subject CN.
    pub fn common_name(&self) -> &str {
        &self.common_name
    }

    /// Subject O values.
    pub fn organization(&self) -> &[String] {
        &self.organization
    }

    /// DER of the subject Name.
    pub fn raw_subject(&self) -> &[u8] {
        &self.raw_subject
    }

    /// The requested public key, if RSA or ECDSA P-256/P-384.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public_key.as_ref()
    }

    /// Number of attributes (an extension request counts as one); 0 for kubelet client requests.
    pub fn attribute_count(&self) -> usize {
        self.attribute_count
    }

    /// The SANs of the request's extensionRequest attribute.
    pub fn alt_names(&self) -> &AltNames {
        &self.alt_names
    }

    /// `CheckSignature`: the request is signed by the key it contains.
    pub fn check_signature(&self) -> Result<()> {
        let key = self.public_key.as_ref().ok_or_else(|| {
            PkiError::Decode("x509: cannot verify signature: algorithm unimplemented".to_string())
        })?;
        self.check_signature_with(key)
    }

    /// The request is signed by the private half of `key` (client-go's `ensureCompatible`: the
    /// request found on the server must verify against our key).
    pub fn check_signature_with(&self, key: &PublicKey) -> Result<()> {
        key.verify(&self.sig_oid, &self.info, &self.signature).map_err(|e| {
            // Go's CheckSignature errors: rsa.ErrVerification, or x509's ECDSA failure.
            let reason = match key {
                PublicKey::Ec { .. } if e == "crypto/rsa: verification error" => {
                    "x509: ECDSA verification failure".to_string()
                }
                _ => e,
            };
            PkiError::Decode(reason)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::keys::KeyAlgorithm;
    use x509_parser::prelude::{FromDer, X509CertificationRequest};

    /// A P-256 key and the CertificationRequestInfo Go 1.26's `x509.CreateCertificateRequest`
    /// encodes for it with subject O=system:nodes, CN=system:node:worker-1.
    const GO_KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMwJ9nEWIAVChXWLmHp2FNubSb+nrUMwKgBFs1Dyeo63oAoGCCqGSM49
AwEHoUQDQgAEHkqFWYTcBruElj0U3KuAf2oLNiah5UWijhDCatXhf8+bbAss4y/+
HML0aA1Nb5dWtCn6kNpJhsoPFp1F6l0SoA==
-----END EC PRIVATE KEY-----
";
    const GO_INFO: &str = "308198020100303631153013060355040a130c73797374656d3a6e6f646573311d301b06035504031314\
73797374656d3a6e6f64653a776f726b65722d313059301306072a8648ce3d020106082a8648ce3d030107034200041e4a8559\
84dc06bb84963d14dcab807f6a0b3626a1e545a28e10c26ad5e17fcf9b6c0b2ce32ffe1cc2f4680d4d6f9756b429fa90da4986\
ca0f169d45ea5d12a0a000";

    fn nodes() -> Vec<String> {
        vec!["system:nodes".to_string()]
    }

    #[test]
    fn encodes_like_go() {
        let key = PrivateKey::from_pem(GO_KEY.as_bytes()).unwrap().unwrap();
        let pem = new_csr_pem(&key, "system:node:worker-1", &nodes()).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
        let req = CertificateRequest::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(hex::encode(&req.info), GO_INFO);
        // ECDSAWithSHA256, no parameters.
        let (_, req_x509) = X509CertificationRequest::from_der(req.der()).unwrap();
        assert_eq!(req_x509.signature_algorithm.algorithm.to_id_string(), "1.2.840.10045.4.3.2");
        assert!(req_x509.signature_algorithm.parameters.is_none());
        req.check_signature().unwrap();
    }

    #[test]
    fn x509_parser_reads_and_verifies_every_key_type() {
        for alg in KeyAlgorithm::ALL {
            let key = PrivateKey::generate(alg).unwrap();
            let der = new_csr_der(&key, "system:node:worker-1", &nodes()).unwrap();
            let (rest, req) = X509CertificationRequest::from_der(&der).unwrap();
            assert!(rest.is_empty());
            req.verify_signature().unwrap();
            let info = &req.certification_request_info;
            assert_eq!(info.subject.to_string(), "O=system:nodes, CN=system:node:worker-1");
            assert!(info.attributes().is_empty());
            assert!(req.requested_extensions().is_none());
            assert_eq!(&*info.subject_pki.subject_public_key.data, key.public_key().raw());
            let expected_sig = match alg {
                KeyAlgorithm::Rsa2048 => "1.2.840.113549.1.1.11",
                KeyAlgorithm::Rsa3072 => "1.2.840.113549.1.1.12",
                KeyAlgorithm::Rsa4096 => "1.2.840.113549.1.1.13",
                KeyAlgorithm::EcdsaP256 => "1.2.840.10045.4.3.2",
                KeyAlgorithm::EcdsaP384 => "1.2.840.10045.4.3.3",
            };
            assert_eq!(req.signature_algorithm.algorithm.to_id_string(), expected_sig, "{alg}");

            let ours = CertificateRequest::from_der(&der).unwrap();
            assert_eq!(ours.common_name(), "system:node:worker-1");
            assert_eq!(ours.organization(), nodes().as_slice());
            assert_eq!(ours.public_key(), Some(&key.public_key()));
            assert_eq!(ours.attribute_count(), 0);
            assert_eq!(ours.alt_names(), &AltNames::default());
            ours.check_signature().unwrap();
            ours.check_signature_with(&key.public_key()).unwrap();
        }
    }

    #[test]
    fn signature_checks_fail_for_other_keys_and_tampering() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let der = new_csr_der(&key, "system:node:a", &nodes()).unwrap();
        let req = CertificateRequest::from_der(&der).unwrap();
        assert!(req.check_signature_with(&other.public_key()).is_err());
        // Flip one byte of the CN ("a" -> "b"): the self-signature no longer verifies.
        let mut tampered = der.clone();
        let pos = tampered.windows(13).position(|w| w == b"system:node:a").unwrap() + 12;
        tampered[pos] = b'b';
        let t = CertificateRequest::from_der(&tampered).unwrap();
        assert_eq!(t.common_name(), "system:node:b");
        assert!(t.check_signature().is_err());
    }

    #[test]
    fn pem_must_be_a_certificate_request() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let e = CertificateRequest::from_pem(key.to_pem().unwrap().as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "PEM block type must be CERTIFICATE REQUEST");
        assert!(CertificateRequest::from_pem(b"nothing").is_err());
        assert!(CertificateRequest::from_der(b"\x30\x00").is_err());
    }

    /// Go 1.26's `x509.CreateCertificateRequest` CertificationRequestInfo for [`GO_KEY`] with
    /// subject CN=kube-apiserver, DNS names [a.example b.example] and IPs [10.0.0.1
    /// ::ffff:10.0.0.2 fd00::1].
    const GO_INFO_SANS: &str = "3081cb0201003019311730150603550403130e6b7562652d6170697365727665723059301306072a8648ce3d020106082a86\
48ce3d030107034200041e4a855984dc06bb84963d14dcab807f6a0b3626a1e545a28e10c26ad5e17fcf9b6c0b2ce32ffe1c\
c2f4680d4d6f9756b429fa90da4986ca0f169d45ea5d12a0a050304e06092a864886f70d01090e3141303f303d0603551d11\
043630348209612e6578616d706c658209622e6578616d706c6587040a00000187040a0000028710fd000000000000000000\
000000000001";

    #[test]
    fn sans_go_into_an_extension_request() {
        let key = PrivateKey::from_pem(GO_KEY.as_bytes()).unwrap().unwrap();
        let alt = AltNames {
            dns_names: vec!["b.example".into(), "a.example".into(), "b.example".into()],
            ips: vec![
                "10.0.0.1".parse().unwrap(),
                "::ffff:10.0.0.2".parse().unwrap(),
                "fd00::1".parse().unwrap(),
            ],
        };
        let der = new_csr_der_with_sans(&key, "kube-apiserver", &[], &alt).unwrap();
        let req = CertificateRequest::from_der(&der).unwrap();
        req.check_signature().unwrap();
        assert_eq!(req.attribute_count(), 1);
        assert_eq!(req.alt_names().dns_names, vec!["a.example", "b.example"]);
        assert_eq!(req.alt_names().ips_go_list(), "[10.0.0.1 10.0.0.2 fd00::1]");
        let (_, x) = X509CertificationRequest::from_der(&der).unwrap();
        x.verify_signature().unwrap();
        assert_eq!(hex::encode(&req.info), GO_INFO_SANS);
    }
}
