//! Private and public keys: generation (RSA-2048/3072/4096, ECDSA P-256/P-384), PEM encoding as
//! client-go's `keyutil` writes it (RSA: PKCS#1 `RSA PRIVATE KEY`; ECDSA: SEC1 `EC PRIVATE KEY` with
//! curve parameters and public key; public keys: PKIX `PUBLIC KEY`), parsing of every form
//! `keyutil.ParsePrivateKeyPEM` accepts, signing and signature verification.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};

use crate::der;
use crate::error::{PkiError, Result};

/// PEM block type of PKCS#1 RSA private keys.
pub const RSA_PRIVATE_KEY_BLOCK: &str = "RSA PRIVATE KEY";
/// PEM block type of SEC1 EC private keys.
pub const EC_PRIVATE_KEY_BLOCK: &str = "EC PRIVATE KEY";
/// PEM block type of PKCS#8 private keys (accepted when reading, never written).
pub const PRIVATE_KEY_BLOCK: &str = "PRIVATE KEY";
/// PEM block type of PKIX public keys (`sa.pub`).
pub const PUBLIC_KEY_BLOCK: &str = "PUBLIC KEY";
/// PEM block type of PKCS#1 RSA public keys (accepted when reading).
pub const RSA_PUBLIC_KEY_BLOCK: &str = "RSA PUBLIC KEY";

pub(crate) const OID_RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
pub(crate) const OID_SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
pub(crate) const OID_SHA384_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 12];
pub(crate) const OID_SHA512_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 13];
pub(crate) const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
pub(crate) const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
pub(crate) const OID_ECDSA_SHA384: &[u64] = &[1, 2, 840, 10045, 4, 3, 3];
pub(crate) const OID_P256: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
pub(crate) const OID_P384: &[u64] = &[1, 3, 132, 0, 34];

/// `ClusterConfiguration.encryptionAlgorithm`: the type of every key kubeadm generates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// `RSA-2048` (the default, also for an empty value).
    #[default]
    Rsa2048,
    /// `RSA-3072`.
    Rsa3072,
    /// `RSA-4096`.
    Rsa4096,
    /// `ECDSA-P256`.
    EcdsaP256,
    /// `ECDSA-P384`.
    EcdsaP384,
}

impl KeyAlgorithm {
    /// All algorithms, in upstream's declaration order.
    pub const ALL: [KeyAlgorithm; 5] = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
    ];

    /// The configuration spelling (`RSA-2048`, ..., `ECDSA-P384`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "RSA-2048",
            KeyAlgorithm::Rsa3072 => "RSA-3072",
            KeyAlgorithm::Rsa4096 => "RSA-4096",
            KeyAlgorithm::EcdsaP256 => "ECDSA-P256",
            KeyAlgorithm::EcdsaP384 => "ECDSA-P384",
        }
    }

    /// True for the RSA variants.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096)
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = PkiError;

    /// Parses the configuration spelling; the empty string means RSA-2048 as upstream.
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "" | "RSA-2048" => KeyAlgorithm::Rsa2048,
            "RSA-3072" => KeyAlgorithm::Rsa3072,
            "RSA-4096" => KeyAlgorithm::Rsa4096,
            "ECDSA-P256" => KeyAlgorithm::EcdsaP256,
            "ECDSA-P384" => KeyAlgorithm::EcdsaP384,
            other => {
                return Err(PkiError::InvalidConfig(format!(
                    "cannot obtain key size from unknown RSA algorithm: {other:?}"
                )));
            }
        })
    }
}

/// Elliptic curves kubeadm supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
}

impl Curve {
    fn oid(self) -> &'static [u64] {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
        }
    }

    fn signing_alg(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }
}

enum KeyInner {
    Rsa(RsaKeyPair),
    Ec { pair: EcdsaKeyPair, curve: Curve },
}

/// A private key (RSA or ECDSA). `Debug` never shows key material.
pub struct PrivateKey {
    inner: KeyInner,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, <redacted>)", self.describe())
    }
}

impl PrivateKey {
    /// Generates a new key (`pkiutil.GeneratePrivateKey`).
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        let crypto = |what: &str| PkiError::Crypto(format!("unable to generate {what} private key"));
        let inner = match algorithm {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let size = match algorithm {
                    KeyAlgorithm::Rsa3072 => KeySize::Rsa3072,
                    KeyAlgorithm::Rsa4096 => KeySize::Rsa4096,
                    _ => KeySize::Rsa2048,
                };
                KeyInner::Rsa(RsaKeyPair::generate(size).map_err(|_| crypto(algorithm.as_str()))?)
            }
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let curve = if algorithm == KeyAlgorithm::EcdsaP256 { Curve::P256 } else { Curve::P384 };
                let pair =
                    EcdsaKeyPair::generate(curve.signing_alg()).map_err(|_| crypto(algorithm.as_str()))?;
                KeyInner::Ec { pair, curve }
            }
        };
        Ok(Self { inner })
    }

    /// A short description without secrets, e.g. `RSA-2048` or `ECDSA-P256`.
    pub fn describe(&self) -> String {
        match &self.inner {
            KeyInner::Rsa(k) => format!("RSA-{}", k.public_modulus_len() * 8),
            KeyInner::Ec { curve: Curve::P256, .. } => "ECDSA-P256".to_string(),
            KeyInner::Ec { curve: Curve::P384, .. } => "ECDSA-P384".to_string(),
        }
    }

    /// The algorithm, if it is one of kubeadm's (an RSA-1024 key loaded from disk has none).
    pub fn algorithm(&self) -> Option<KeyAlgorithm> {
        match &self.inner {
            KeyInner::Rsa(k) => match k.public_modulus_len() * 8 {
                2048 => Some(KeyAlgorithm::Rsa2048),
                3072 => Some(KeyAlgorithm::Rsa3072),
                4096 => Some(KeyAlgorithm::Rsa4096),
                _ => None,
            },
            KeyInner::Ec { curve: Curve::P256, .. } => Some(KeyAlgorithm::EcdsaP256),
            KeyInner::Ec { curve: Curve::P384, .. } => Some(KeyAlgorithm::EcdsaP384),
        }
    }

    /// True for RSA keys.
    pub fn is_rsa(&self) -> bool {
        matches!(self.inner, KeyInner::Rsa(_))
    }

    /// The private key as upstream stores it: PKCS#1 DER for RSA, SEC1 DER for ECDSA.
    fn to_der(&self) -> Result<Vec<u8>> {
        let fail = || PkiError::Crypto("unable to marshal private key".to_string());
        match &self.inner {
            KeyInner::Rsa(k) => {
                let pkcs8 = k.as_der().map_err(|_| fail())?;
                pkcs1_from_pkcs8(pkcs8.as_ref()).ok_or_else(fail)
            }
            KeyInner::Ec { pair, curve } => {
                let scalar = pair.private_key().as_be_bytes().map_err(|_| fail())?;
                // Go's MarshalECPrivateKey: version 1, scalar padded to the curve size,
                // [0] named curve, [1] public point.
                Ok(der::seq(&[
                    &der::uint(&[1]),
                    &der::octet_string(scalar.as_ref()),
                    &der::explicit(0, &der::oid(curve.oid())),
                    &der::explicit(1, &der::bit_string(0, pair.public_key().as_ref())),
                ]))
            }
        }
    }

    /// PEM as written by `keyutil.MarshalPrivateKeyToPEM` (0600 files).
    pub fn to_pem(&self) -> Result<String> {
        let tag = if self.is_rsa() { RSA_PRIVATE_KEY_BLOCK } else { EC_PRIVATE_KEY_BLOCK };
        Ok(crate::pem_encode(tag, &self.to_der()?))
    }

    /// Parses a PEM private key the way `keyutil.ParsePrivateKeyPEM` does: the first block of type
    /// `EC PRIVATE KEY`, `RSA PRIVATE KEY` or `PRIVATE KEY` that parses; other blocks are skipped.
    /// Keys of other types (e.g. Ed25519) yield `Ok(None)`.
    pub fn from_pem(data: &[u8]) -> Result<Option<Self>> {
        let blocks = crate::pem_decode_all(data);
        let mut unsupported = false;
        for (tag, body) in &blocks {
            let parsed = match tag.as_str() {
                EC_PRIVATE_KEY_BLOCK => Self::from_ec_der(body),
                RSA_PRIVATE_KEY_BLOCK => {
                    RsaKeyPair::from_der(body).ok().map(|k| Self { inner: KeyInner::Rsa(k) })
                }
                PRIVATE_KEY_BLOCK => match Self::from_pkcs8(body) {
                    Ok(k) => Some(k),
                    Err(is_other_type) => {
                        unsupported |= is_other_type;
                        None
                    }
                },
                _ => None,
            };
            if let Some(k) = parsed {
                return Ok(Some(k));
            }
        }
        if unsupported {
            return Ok(None);
        }
        Err(PkiError::Decode("data does not contain a valid RSA or ECDSA private key".to_string()))
    }

    fn from_ec_der(body: &[u8]) -> Option<Self> {
        [Curve::P256, Curve::P384].into_iter().find_map(|curve| {
            EcdsaKeyPair::from_private_key_der(curve.signing_alg(), body)
                .ok()
                .map(|pair| Self { inner: KeyInner::Ec { pair, curve } })
        })
    }

    /// `Err(true)` when the container is valid PKCS#8 but of another key type.
    fn from_pkcs8(body: &[u8]) -> std::result::Result<Self, bool> {
        if let Ok(k) = RsaKeyPair::from_pkcs8(body) {
            return Ok(Self { inner: KeyInner::Rsa(k) });
        }
        for curve in [Curve::P256, Curve::P384] {
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(curve.signing_alg(), body) {
                return Ok(Self { inner: KeyInner::Ec { pair, curve } });
            }
        }
        // A well-formed PKCS#8 container of another algorithm (Ed25519, ...).
        let other = der::read(body)
            .and_then(|(el, _)| der::read_all(el.content))
            .is_some_and(|els| els.len() >= 3 && els[0].tag == der::TAG_INTEGER);
        Err(other)
    }

    /// The public key as a `PublicKey`.
    pub fn public_key(&self) -> PublicKey {
        match &self.inner {
            KeyInner::Rsa(k) => PublicKey::Rsa { pkcs1: k.public_key().as_ref().to_vec() },
            KeyInner::Ec { pair, curve } => {
                PublicKey::Ec { point: pair.public_key().as_ref().to_vec(), curve: *curve }
            }
        }
    }

    /// The signature algorithm Go's `x509.CreateCertificate` picks for this signer:
    /// SHA256WithRSA (PKCS#1 v1.5) for RSA, ECDSAWithSHA256 for P-256, ECDSAWithSHA384 for P-384.
    fn default_signature_algorithm(&self) -> SignatureAlgorithm {
        match &self.inner {
            KeyInner::Rsa(_) => SignatureAlgorithm::Sha256WithRsa,
            KeyInner::Ec { curve: Curve::P256, .. } => SignatureAlgorithm::EcdsaWithSha256,
            KeyInner::Ec { curve: Curve::P384, .. } => SignatureAlgorithm::EcdsaWithSha384,
        }
    }

    /// The signature algorithm client-go's `certutil.MakeCSR` picks (`sigType`): for RSA by key
    /// size (SHA512WithRSA from 4096 bits, SHA384WithRSA from 3072, else SHA256WithRSA), for ECDSA
    /// Go's default of the curve.
    pub(crate) fn csr_signature_algorithm(&self) -> SignatureAlgorithm {
        match &self.inner {
            KeyInner::Rsa(k) => match k.public_modulus_len() * 8 {
                bits if bits >= 4096 => SignatureAlgorithm::Sha512WithRsa,
                bits if bits >= 3072 => SignatureAlgorithm::Sha384WithRsa,
                _ => SignatureAlgorithm::Sha256WithRsa,
            },
            KeyInner::Ec { .. } => self.default_signature_algorithm(),
        }
    }

    /// The DER AlgorithmIdentifier of [`PrivateKey::sign`].
    pub(crate) fn signature_algorithm_der(&self) -> Vec<u8> {
        self.default_signature_algorithm().der()
    }

    /// Signs `msg` with Go's default algorithm for this key; returns the DER AlgorithmIdentifier
    /// and the signature.
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        self.sign_with(self.default_signature_algorithm(), msg)
    }

    /// Signs `msg` with `alg`, which must fit the key (RSA algorithms for RSA keys, the curve's
    /// ECDSA algorithm for EC keys); returns the DER AlgorithmIdentifier and the signature.
    pub(crate) fn sign_with(&self, alg: SignatureAlgorithm, msg: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let rng = SystemRandom::new();
        let fail =
            || PkiError::Crypto("x509: signature over certificate returned by signer is invalid".to_string());
        match &self.inner {
            KeyInner::Rsa(k) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    SignatureAlgorithm::Sha256WithRsa => &signature::RSA_PKCS1_SHA256,
                    SignatureAlgorithm::Sha384WithRsa => &signature::RSA_PKCS1_SHA384,
                    SignatureAlgorithm::Sha512WithRsa => &signature::RSA_PKCS1_SHA512,
                    _ => {
                        return Err(PkiError::Crypto(format!(
                            "x509: cannot sign with {alg:?} using an RSA key"
                        )));
                    }
                };
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(padding, &rng, msg, &mut sig).map_err(|_| fail())?;
                Ok((alg.der(), sig))
            }
            KeyInner::Ec { pair, .. } => {
                if alg != self.default_signature_algorithm() {
                    return Err(PkiError::Crypto(format!(
                        "x509: cannot sign with {alg:?} using an {} key",
                        self.describe()
                    )));
                }
                let sig = pair.sign(&rng, msg).map_err(|_| fail())?;
                Ok((alg.der(), sig.as_ref().to_vec()))
            }
        }
    }
}

/// The signature algorithms kubeadm-pki signs with (a subset of Go's `x509.SignatureAlgorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureAlgorithm {
    /// PKCS#1 v1.5 with SHA-256.
    Sha256WithRsa,
    /// PKCS#1 v1.5 with SHA-384.
    Sha384WithRsa,
    /// PKCS#1 v1.5 with SHA-512.
    Sha512WithRsa,
    /// ECDSA with SHA-256 (P-256 keys).
    EcdsaWithSha256,
    /// ECDSA with SHA-384 (P-384 keys).
    EcdsaWithSha384,
}

impl SignatureAlgorithm {
    /// The DER AlgorithmIdentifier as Go writes it (NULL parameters for RSA, none for ECDSA).
    pub(crate) fn der(self) -> Vec<u8> {
        match self {
            SignatureAlgorithm::Sha256WithRsa => der::seq(&[&der::oid(OID_SHA256_WITH_RSA), &der::null()]),
            SignatureAlgorithm::Sha384WithRsa => der::seq(&[&der::oid(OID_SHA384_WITH_RSA), &der::null()]),
            SignatureAlgorithm::Sha512WithRsa => der::seq(&[&der::oid(OID_SHA512_WITH_RSA), &der::null()]),
            SignatureAlgorithm::EcdsaWithSha256 => der::seq(&[&der::oid(OID_ECDSA_SHA256)]),
            SignatureAlgorithm::EcdsaWithSha384 => der::seq(&[&der::oid(OID_ECDSA_SHA384)]),
        }
    }
}

/// A public key (RSA or ECDSA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA: the PKCS#1 `RSAPublicKey` DER.
    Rsa {
        /// PKCS#1 DER.
        pkcs1: Vec<u8>,
    },
    /// ECDSA: the uncompressed point.
    Ec {
        /// Uncompressed point (0x04 || X || Y).
        point: Vec<u8>,
        /// The curve.
        curve: Curve,
    },
}

impl PublicKey {
    /// The contents of the SubjectPublicKeyInfo BIT STRING (what key identifiers hash).
    pub fn raw(&self) -> &[u8] {
        match self {
            PublicKey::Rsa { pkcs1 } => pkcs1,
            PublicKey::Ec { point, .. } => point,
        }
    }

    /// DER SubjectPublicKeyInfo (`x509.MarshalPKIXPublicKey`).
    pub fn spki_der(&self) -> Vec<u8> {
        let alg = match self {
            PublicKey::Rsa { .. } => der::seq(&[&der::oid(OID_RSA_ENCRYPTION), &der::null()]),
            PublicKey::Ec { curve, .. } => der::seq(&[&der::oid(OID_EC_PUBLIC_KEY), &der::oid(curve.oid())]),
        };
        der::seq(&[&alg, &der::bit_string(0, self.raw())])
    }

    /// PEM `PUBLIC KEY` (as `sa.pub` is written).
    pub fn to_pem(&self) -> String {
        crate::pem_encode(PUBLIC_KEY_BLOCK, &self.spki_der())
    }

    /// `"RSA"` or `"ECDSA"`.
    pub fn kind(&self) -> &'static str {
        match self {
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::Ec { .. } => "ECDSA",
        }
    }

    /// Parses a DER SubjectPublicKeyInfo holding an RSA or ECDSA (P-256/P-384) key.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self> {
        let bad = || PkiError::Decode("data does not contain a valid RSA or ECDSA public key".to_string());
        let (outer, _) = der::read(spki).ok_or_else(bad)?;
        let parts = der::read_all(outer.content).ok_or_else(bad)?;
        let [alg, bits] = parts.as_slice() else { return Err(bad()) };
        let alg_parts = der::read_all(alg.content).ok_or_else(bad)?;
        let alg_oid = alg_parts.first().ok_or_else(bad)?;
        let (&unused, key) = bits.content.split_first().ok_or_else(bad)?;
        if unused != 0 || bits.tag != der::TAG_BIT_STRING {
            return Err(bad());
        }
        let oid_is = |el: &der::Element<'_>, arcs: &[u64]| der::oid(arcs)[2..] == *el.content;
        if oid_is(alg_oid, OID_RSA_ENCRYPTION) {
            if !is_pkcs1_public_key(key) {
                return Err(bad());
            }
            return Ok(PublicKey::Rsa { pkcs1: key.to_vec() });
        }
        if oid_is(alg_oid, OID_EC_PUBLIC_KEY) {
            let curve_el = alg_parts.get(1).ok_or_else(bad)?;
            let curve = if oid_is(curve_el, OID_P256) {
                Curve::P256
            } else if oid_is(curve_el, OID_P384) {
                Curve::P384
            } else {
                return Err(bad());
            };
            return Ok(PublicKey::Ec { point: key.to_vec(), curve });
        }
        Err(bad())
    }

    /// Parses every public key in PEM data (`keyutil.ParsePublicKeysPEM`): `PUBLIC KEY` blocks,
    /// `RSA PUBLIC KEY` blocks, and the public halves of private key blocks.
    pub fn all_from_pem(data: &[u8]) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for (tag, body) in crate::pem_decode_all(data) {
            match tag.as_str() {
                PUBLIC_KEY_BLOCK => {
                    if let Ok(k) = Self::from_spki_der(&body) {
                        out.push(k);
                    }
                }
                RSA_PUBLIC_KEY_BLOCK if is_pkcs1_public_key(&body) => {
                    out.push(PublicKey::Rsa { pkcs1: body })
                }
                EC_PRIVATE_KEY_BLOCK | RSA_PRIVATE_KEY_BLOCK | PRIVATE_KEY_BLOCK => {
                    let pem = crate::pem_encode(&tag, &body);
                    if let Ok(Some(k)) = PrivateKey::from_pem(pem.as_bytes()) {
                        out.push(k.public_key());
                    }
                }
                _ => {}
            }
        }
        if out.is_empty() {
            return Err(PkiError::Decode(
                "data does not contain any valid RSA or ECDSA public keys".to_string(),
            ));
        }
        Ok(out)
    }

    /// Verifies `signature` over `msg` with the algorithm named by the DER OID content `sig_oid`.
    pub(crate) fn verify(&self, sig_oid: &[u8], msg: &[u8], sig: &[u8]) -> std::result::Result<(), String> {
        let is = |arcs: &[u64]| der::oid(arcs)[2..] == *sig_oid;
        let alg: &dyn signature::VerificationAlgorithm = match self {
            PublicKey::Rsa { .. } if is(OID_SHA256_WITH_RSA) => &signature::RSA_PKCS1_2048_8192_SHA256,
            PublicKey::Rsa { .. } if is(OID_SHA384_WITH_RSA) => &signature::RSA_PKCS1_2048_8192_SHA384,
            PublicKey::Rsa { .. } if is(OID_SHA512_WITH_RSA) => &signature::RSA_PKCS1_2048_8192_SHA512,
            PublicKey::Ec { curve: Curve::P256, .. } if is(OID_ECDSA_SHA256) => {
                &signature::ECDSA_P256_SHA256_ASN1
            }
            PublicKey::Ec { curve: Curve::P256, .. } if is(OID_ECDSA_SHA384) => {
                &signature::ECDSA_P256_SHA384_ASN1
            }
            PublicKey::Ec { curve: Curve::P384, .. } if is(OID_ECDSA_SHA256) => {
                &signature::ECDSA_P384_SHA256_ASN1
            }
            PublicKey::Ec { curve: Curve::P384, .. } if is(OID_ECDSA_SHA384) => {
                &signature::ECDSA_P384_SHA384_ASN1
            }
            _ => return Err("x509: cannot verify signature: algorithm unimplemented".to_string()),
        };
        UnparsedPublicKey::new(alg, self.raw())
            .verify(msg, sig)
            .map_err(|_| "crypto/rsa: verification error".to_string())
    }
}

/// True when `der` is a PKCS#1 `RSAPublicKey` (SEQUENCE of modulus and exponent).
fn is_pkcs1_public_key(data: &[u8]) -> bool {
    der::read(data)
        .filter(|(el, rest)| el.tag == der::TAG_SEQUENCE && rest.is_empty())
        .and_then(|(el, _)| der::read_all(el.content))
        .is_some_and(|parts| parts.len() == 2 && parts.iter().all(|p| p.tag == der::TAG_INTEGER))
}

/// Extracts the inner PKCS#1 `RSAPrivateKey` from a PKCS#8 `PrivateKeyInfo`.
fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (outer, _) = der::read(pkcs8)?;
    let parts = der::read_all(outer.content)?;
    let inner = parts.get(2)?;
    (inner.tag == der::TAG_OCTET_STRING).then(|| inner.content.to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pem_roundtrip_every_algorithm() {
        for alg in KeyAlgorithm::ALL {
            let key = PrivateKey::generate(alg).unwrap();
            assert_eq!(key.algorithm(), Some(alg));
            let pem = key.to_pem().unwrap();
            let expected = if alg.is_rsa() {
                "-----BEGIN RSA PRIVATE KEY-----\n"
            } else {
                "-----BEGIN EC PRIVATE KEY-----\n"
            };
            assert!(pem.starts_with(expected), "{alg}: {pem:.40}");
            let back = PrivateKey::from_pem(pem.as_bytes()).unwrap().unwrap();
            assert_eq!(back.public_key(), key.public_key());
            let pub_pem = key.public_key().to_pem();
            assert!(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
            assert_eq!(PublicKey::all_from_pem(pub_pem.as_bytes()).unwrap(), vec![key.public_key()]);
            // x509-parser agrees on the SPKI.
            let spki_der = key.public_key().spki_der();
            let (_, spki) = <x509_parser::x509::SubjectPublicKeyInfo as x509_parser::prelude::FromDer<
                x509_parser::error::X509Error,
            >>::from_der(&spki_der)
            .unwrap();
            assert_eq!(&*spki.subject_public_key.data, key.public_key().raw());
        }
    }

    #[test]
    fn debug_is_redacted_and_pkcs8_accepted() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert_eq!(format!("{key:?}"), "PrivateKey(ECDSA-P256, <redacted>)");
        let KeyInner::Ec { pair, .. } = &key.inner else { panic!() };
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let pem = crate::pem_encode("PRIVATE KEY", pkcs8.as_ref());
        let back = PrivateKey::from_pem(pem.as_bytes()).unwrap().unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert!(PrivateKey::from_pem(b"garbage").is_err());
    }

    #[test]
    fn ed25519_is_recognised_as_unsupported() {
        let doc = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pem = crate::pem_encode("PRIVATE KEY", doc.as_ref());
        assert!(PrivateKey::from_pem(pem.as_bytes()).unwrap().is_none());
    }
}
