//! X.509 certificates as Go's `crypto/x509` (Go 1.26, `godebug default=go1.26`) creates them for
//! kubeadm's `pkiutil`: DER layout, extension order and criticality, SubjectKeyId (truncated
//! SHA-256, CAs only), AuthorityKeyId (from the issuer's SKID), subject string types, issuer copied
//! byte for byte from the CA; plus parsing, chain verification and hostname checks.

use std::fmt;
use std::net::IpAddr;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::der;
use crate::error::{PkiError, Result};
use crate::keys::{PrivateKey, PublicKey};

const OID_CN: &[u64] = &[2, 5, 4, 3];
const OID_O: &[u64] = &[2, 5, 4, 10];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_SKID: &[u64] = &[2, 5, 29, 14];
const OID_AKID: &[u64] = &[2, 5, 29, 35];
const OID_SAN: &[u64] = &[2, 5, 29, 17];
const OID_EKU_SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
const OID_EKU_CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];

/// PEM block type of certificates.
pub const CERTIFICATE_BLOCK: &str = "CERTIFICATE";

/// Extended key usages kubeadm puts into certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtKeyUsage {
    /// `serverAuth`.
    ServerAuth,
    /// `clientAuth`.
    ClientAuth,
}

impl ExtKeyUsage {
    fn oid(self) -> &'static [u64] {
        match self {
            ExtKeyUsage::ServerAuth => OID_EKU_SERVER_AUTH,
            ExtKeyUsage::ClientAuth => OID_EKU_CLIENT_AUTH,
        }
    }
}

/// Key usage bits (Go's `x509.KeyUsage` values).
pub mod key_usage {
    /// digitalSignature.
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    /// keyEncipherment.
    pub const KEY_ENCIPHERMENT: u16 = 1 << 2;
    /// keyCertSign.
    pub const CERT_SIGN: u16 = 1 << 5;
}

/// Subject alternative names (`certutil.AltNames`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AltNames {
    /// DNS names.
    pub dns_names: Vec<String>,
    /// IP addresses.
    pub ips: Vec<IpAddr>,
}

impl AltNames {
    /// `pkiutil.RemoveDuplicateAltNames`: DNS names become a sorted set; IPs keep first
    /// occurrences in order.
    pub fn dedup(&mut self) {
        self.dns_names.sort();
        self.dns_names.dedup();
        let mut seen = std::collections::HashSet::new();
        self.ips.retain(|ip| seen.insert(go_ip_string(ip)));
    }

    /// Go's `%v` of the DNS names: `[a b c]`.
    pub fn dns_go_list(&self) -> String {
        format!("[{}]", self.dns_names.join(" "))
    }

    /// Go's `%v` of the IPs: `[10.96.0.1 10.0.0.1]`.
    pub fn ips_go_list(&self) -> String {
        format!("[{}]", self.ips.iter().map(go_ip_string).collect::<Vec<_>>().join(" "))
    }
}

/// Go's `net.IP.String()` (IPv4-mapped IPv6 addresses print as IPv4).
pub fn go_ip_string(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// What to put into a new certificate (`pkiutil.CertConfig`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertConfig {
    /// Subject CN.
    pub common_name: String,
    /// Subject O values.
    pub organization: Vec<String>,
    /// SANs (de-duplicated on signing).
    pub alt_names: AltNames,
    /// Extended key usages (leaf certificates must have at least one).
    pub usages: Vec<ExtKeyUsage>,
    /// NotBefore; `None`: now (self-signed CA) or the CA's NotBefore (signed certificates).
    pub not_before: Option<OffsetDateTime>,
    /// NotAfter; `None`: NotBefore + 10 years (CA) / + 1 year (signed certificates).
    pub not_after: Option<OffsetDateTime>,
}

/// A parsed certificate; keeps its DER and the fields kubeadm looks at.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Vec<u8>,
    sig_oid: Vec<u8>,
    signature: Vec<u8>,
    raw_subject: Vec<u8>,
    raw_issuer: Vec<u8>,
    public_key: Option<PublicKey>,
    common_name: String,
    organization: Vec<String>,
    issuer_common_name: String,
    serial: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    is_ca: bool,
    alt_names: AltNames,
    key_usage: u16,
    ext_key_usages: Vec<ExtKeyUsage>,
    subject_key_id: Vec<u8>,
    authority_key_id: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("common_name", &self.common_name)
            .field("issuer", &self.issuer_common_name)
            .field("is_ca", &self.is_ca)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Certificate {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        use x509_parser::prelude::*;
        let bad = |e: String| PkiError::Decode(format!("x509: malformed certificate: {e}"));
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad("trailing data".to_string()));
        }
        let tbs = &cert.tbs_certificate;
        let first_cn = |name: &X509Name<'_>| {
            name.iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default().to_string()
        };
        let mut alt_names = AltNames::default();
        let mut is_ca = false;
        let mut key_usage = 0u16;
        let mut ext_key_usages = Vec::new();
        let mut subject_key_id = Vec::new();
        let mut authority_key_id = Vec::new();
        for ext in tbs.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    collect_alt_names(&san.general_names, &mut alt_names);
                }
                ParsedExtension::BasicConstraints(bc) => is_ca = bc.ca,
                // x509-parser stores the BIT STRING bits in Go's order (bit 0 = digitalSignature).
                ParsedExtension::KeyUsage(ku) => key_usage = ku.flags,
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    if eku.server_auth {
                        ext_key_usages.push(ExtKeyUsage::ServerAuth);
                    }
                    if eku.client_auth {
                        ext_key_usages.push(ExtKeyUsage::ClientAuth);
                    }
                }
                ParsedExtension::SubjectKeyIdentifier(k) => subject_key_id = k.0.to_vec(),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    authority_key_id = a.key_identifier.as_ref().map(|k| k.0.to_vec()).unwrap_or_default();
                }
                _ => {}
            }
        }
        let public_key = PublicKey::from_spki_der(tbs.subject_pki.raw).ok();
        let organization =
            tbs.subject.iter_organization().filter_map(|a| a.as_str().ok().map(str::to_string)).collect();
        Ok(Self {
            der: der.to_vec(),
            tbs: tbs.as_ref().to_vec(),
            sig_oid: cert.signature_algorithm.algorithm.as_bytes().to_vec(),
            signature: cert.signature_value.data.to_vec(),
            raw_subject: tbs.subject.as_raw().to_vec(),
            raw_issuer: tbs.issuer.as_raw().to_vec(),
            public_key,
            common_name: first_cn(&tbs.subject),
            organization,
            issuer_common_name: first_cn(&tbs.issuer),
            serial: tbs.raw_serial().to_vec(),
            not_before: tbs.validity.not_before.to_datetime(),
            not_after: tbs.validity.not_after.to_datetime(),
            is_ca,
            alt_names,
            key_usage,
            ext_key_usages,
            subject_key_id,
            authority_key_id,
        })
    }

    /// Parses every `CERTIFICATE` block of PEM data (`certutil.ParseCertsPEM`); at least one.
    pub fn all_from_pem(data: &[u8]) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for (tag, body) in crate::pem_decode_all(data) {
            if tag == CERTIFICATE_BLOCK {
                out.push(Self::from_der(&body)?);
            }
        }
        if out.is_empty() {
            return Err(PkiError::Decode(
                "data does not contain any valid RSA or ECDSA certificates".to_string(),
            ));
        }
        Ok(out)
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM (`pkiutil.EncodeCertPEM`).
    pub fn to_pem(&self) -> String {
        crate::pem_encode(CERTIFICATE_BLOCK, &self.der)
    }

    /// Subject CN.
    pub fn common_name(&self) -> &str {
        &self.common_name
    }

    /// Subject O values.
    pub fn organization(&self) -> &[String] {
        &self.organization
    }

    /// Issuer CN.
    pub fn issuer_common_name(&self) -> &str {
        &self.issuer_common_name
    }

    /// DER of the subject Name.
    pub fn raw_subject(&self) -> &[u8] {
        &self.raw_subject
    }

    /// DER of the issuer Name.
    pub fn raw_issuer(&self) -> &[u8] {
        &self.raw_issuer
    }

    /// Serial number magnitude as encoded.
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// NotBefore.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// NotAfter.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// BasicConstraints cA.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// SANs in certificate order.
    pub fn alt_names(&self) -> &AltNames {
        &self.alt_names
    }

    /// Key usage bits (see [`key_usage`]).
    pub fn key_usage(&self) -> u16 {
        self.key_usage
    }

    /// Extended key usages kubeadm knows.
    pub fn ext_key_usages(&self) -> &[ExtKeyUsage] {
        &self.ext_key_usages
    }

    /// SubjectKeyId (empty when absent).
    pub fn subject_key_id(&self) -> &[u8] {
        &self.subject_key_id
    }

    /// AuthorityKeyId key identifier (empty when absent).
    pub fn authority_key_id(&self) -> &[u8] {
        &self.authority_key_id
    }

    /// The subject public key, if RSA or ECDSA P-256/P-384.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public_key.as_ref()
    }

    /// `pkiutil.HasServerAuth`.
    pub fn has_server_auth(&self) -> bool {
        self.ext_key_usages.contains(&ExtKeyUsage::ServerAuth)
    }

    /// The kubeadm join pin of this certificate's key: `sha256:<hex of SHA-256 over the DER
    /// SubjectPublicKeyInfo>` (`pubkeypin.Hash`).
    pub fn public_key_pin(&self) -> String {
        // Re-read the SPKI bytes from the certificate so unusual keys are pinned as well.
        let spki = x509_parser::parse_x509_certificate(&self.der)
            .map(|(_, c)| c.tbs_certificate.subject_pki.raw.to_vec())
            .unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(spki)))
    }

    /// True when `issuer` signed this certificate (names chain and the signature verifies).
    fn signed_by(&self, issuer: &Certificate) -> std::result::Result<(), String> {
        if self.raw_issuer != issuer.raw_subject {
            return Err("x509: certificate signed by unknown authority".to_string());
        }
        let key = issuer
            .public_key
            .as_ref()
            .ok_or_else(|| "x509: cannot verify signature: algorithm unimplemented".to_string())?;
        key.verify(&self.sig_oid, &self.tbs, &self.signature).map_err(|_| {
            // Go's CheckSignature errors: rsa.ErrVerification, or x509's ECDSA failure.
            let reason = match key {
                PublicKey::Rsa { .. } => "crypto/rsa: verification error",
                PublicKey::Ec { .. } => "x509: ECDSA verification failure",
            };
            format!(
                "x509: certificate signed by unknown authority (possibly because of \"{reason}\" while trying to verify candidate authority certificate \"{}\")",
                issuer.common_name
            )
        })
    }

    /// `ValidateCertPeriod` with offset 0: `Err` with upstream's wording when not valid now.
    pub fn validate_period(&self, now: OffsetDateTime) -> std::result::Result<(), String> {
        let period =
            format!("NotBefore: {}, NotAfter: {}", go_time(self.not_before), go_time(self.not_after));
        if now < self.not_before {
            return Err(format!("the certificate is not valid yet: {period}"));
        }
        if now > self.not_after {
            return Err(format!("the certificate has expired: {period}"));
        }
        Ok(())
    }

    /// `pkiutil.VerifyCertChain`: this certificate chains through `intermediates` to `root`, and
    /// every certificate on the path is valid at `now`.
    pub fn verify_chain(
        &self,
        intermediates: &[Certificate],
        root: &Certificate,
        now: OffsetDateTime,
    ) -> std::result::Result<(), String> {
        let mut current = self;
        for _ in 0..=intermediates.len() {
            check_time(current, now)?;
            if current.signed_by(root).is_ok() {
                if current != root {
                    check_time(root, now)?;
                }
                return Ok(());
            }
            match intermediates.iter().find(|i| i.is_ca && current.signed_by(i).is_ok()) {
                Some(next) => current = next,
                None => return current.signed_by(root),
            }
        }
        Err("x509: certificate signed by unknown authority".to_string())
    }

    /// `x509.Certificate.VerifyHostname`, with Go's error wording.
    pub fn verify_hostname(&self, host: &str) -> std::result::Result<(), String> {
        let candidate = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = candidate.parse::<IpAddr>() {
            if self.alt_names.ips.iter().any(|c| go_ip_string(c) == go_ip_string(&ip)) {
                return Ok(());
            }
            let valid: Vec<String> = self.alt_names.ips.iter().map(go_ip_string).collect();
            return Err(hostname_error(&valid, candidate));
        }
        let host_lower = candidate.trim_end_matches('.').to_ascii_lowercase();
        if self.alt_names.dns_names.iter().any(|p| match_hostname(&p.to_ascii_lowercase(), &host_lower)) {
            return Ok(());
        }
        Err(hostname_error(&self.alt_names.dns_names, candidate))
    }
}

fn check_time(c: &Certificate, now: OffsetDateTime) -> std::result::Result<(), String> {
    if now < c.not_before {
        return Err(format!(
            "x509: certificate has expired or is not yet valid: current time {} is before {}",
            rfc3339(now),
            rfc3339(c.not_before)
        ));
    }
    if now > c.not_after {
        return Err(format!(
            "x509: certificate has expired or is not yet valid: current time {} is after {}",
            rfc3339(now),
            rfc3339(c.not_after)
        ));
    }
    Ok(())
}

fn hostname_error(valid: &[String], host: &str) -> String {
    if valid.is_empty() {
        format!("x509: certificate is not valid for any names, but wanted to match {host}")
    } else {
        format!("x509: certificate is valid for {}, not {host}", valid.join(", "))
    }
}

/// Go's `matchHostnames` (single leading wildcard label).
fn match_hostname(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    if pattern.is_empty() || host.is_empty() {
        return false;
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    if p.len() != h.len() {
        return false;
    }
    p.iter().zip(&h).enumerate().all(|(i, (pp, hh))| (i == 0 && *pp == "*") || pp == hh)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Go's `time.Time.String()` for UTC times: `2026-01-02 03:04:05 +0000 UTC`.
pub(crate) fn go_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] +0000 UTC");
    t.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default()
}

/// A certificate and its private key.
#[derive(Debug)]
pub struct CertAndKey {
    /// The certificate.
    pub cert: Certificate,
    /// Its private key.
    pub key: PrivateKey,
}

/// Go's PrintableString test used when marshalling strings (`*` and `&` rejected).
fn is_printable(s: &str) -> bool {
    s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || (b'\''..=b')').contains(&b)
            || (b'+'..=b'/').contains(&b)
            || b" :=?".contains(&b)
    })
}

fn directory_string(s: &str) -> Vec<u8> {
    if is_printable(s) {
        der::tlv(der::TAG_PRINTABLE_STRING, s.as_bytes())
    } else {
        der::tlv(der::TAG_UTF8_STRING, s.as_bytes())
    }
}

/// `pkix.Name{CommonName, Organization}.ToRDNSequence()` marshalled: one RDN holding all O values
/// (a DER SET, sorted), then one RDN with the CN.
pub(crate) fn encode_subject(common_name: &str, organization: &[String]) -> Vec<u8> {
    let mut rdns = Vec::new();
    if !organization.is_empty() {
        let mut atvs: Vec<Vec<u8>> =
            organization.iter().map(|o| der::seq(&[&der::oid(OID_O), &directory_string(o)])).collect();
        atvs.sort();
        rdns.push(der::tlv(der::TAG_SET, &atvs.concat()));
    }
    if !common_name.is_empty() {
        let atv = der::seq(&[&der::oid(OID_CN), &directory_string(common_name)]);
        rdns.push(der::tlv(der::TAG_SET, &atv));
    }
    der::tlv(der::TAG_SEQUENCE, &rdns.concat())
}

fn extension(oid: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        der::seq(&[&der::oid(oid), &der::bool_true(), &der::octet_string(value)])
    } else {
        der::seq(&[&der::oid(oid), &der::octet_string(value)])
    }
}

/// Go's `marshalKeyUsage`: bits reversed into bytes, minimal bit length.
fn key_usage_value(ku: u16) -> Vec<u8> {
    let a = [(ku as u8).reverse_bits(), ((ku >> 8) as u8).reverse_bits()];
    let bytes = if a[1] != 0 { &a[..] } else { &a[..1] };
    // Unused bits = trailing zero bits of the last byte (Go's asn1BitLength).
    let last = bytes[bytes.len() - 1];
    let unused = if last == 0 { 0 } else { last.trailing_zeros() as u8 };
    der::bit_string(unused, bytes)
}

/// The subjectAltName extension (non-critical), as Go marshals it into certificates and requests.
pub(crate) fn san_extension(alt: &AltNames) -> Vec<u8> {
    extension(OID_SAN, false, &san_value(alt))
}

/// Adds the DNS and IP entries of a parsed GeneralNames to `alt`.
pub(crate) fn collect_alt_names(names: &[x509_parser::extensions::GeneralName<'_>], alt: &mut AltNames) {
    use x509_parser::extensions::GeneralName;
    for name in names {
        match name {
            GeneralName::DNSName(d) => alt.dns_names.push((*d).to_string()),
            GeneralName::IPAddress(b) => {
                if let Ok(a) = <[u8; 4]>::try_from(*b) {
                    alt.ips.push(IpAddr::from(a));
                } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                    alt.ips.push(IpAddr::from(a));
                }
            }
            _ => {}
        }
    }
}

fn san_value(alt: &AltNames) -> Vec<u8> {
    let mut names = Vec::new();
    for d in &alt.dns_names {
        names.extend(der::tlv(0x82, d.as_bytes()));
    }
    for ip in &alt.ips {
        let bytes: Vec<u8> = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets().to_vec(),
                None => v6.octets().to_vec(),
            },
        };
        names.extend(der::tlv(0x87, &bytes));
    }
    der::tlv(der::TAG_SEQUENCE, &names)
}

/// A random serial in [1, 2^63-1), as `pkiutil` draws it.
fn random_serial() -> Result<Vec<u8>> {
    loop {
        let mut b = [0u8; 8];
        aws_lc_rs::rand::fill(&mut b)
            .map_err(|_| PkiError::Crypto("unable to read random serial".to_string()))?;
        let v = u64::from_be_bytes(b) & (u64::MAX >> 1);
        // Uniform in [0, MaxInt64-1), then + 1.
        if v < (i64::MAX as u64) - 1 {
            return Ok((v + 1).to_be_bytes().to_vec());
        }
    }
}

/// The fields of one `x509.CreateCertificate` call.
struct Template<'a> {
    subject: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    key_usage: u16,
    usages: &'a [ExtKeyUsage],
    is_ca: bool,
    alt_names: &'a AltNames,
}

/// Builds and signs a certificate like `x509.CreateCertificate(rand, tmpl, parent, pub, priv)`.
fn create_certificate(
    t: &Template<'_>,
    subject_key: &PublicKey,
    parent: Option<&Certificate>,
    signer: &PrivateKey,
) -> Result<Certificate> {
    let serial = random_serial()?;
    let issuer = parent.map_or_else(|| t.subject.clone(), |p| p.raw_subject.clone());
    let mut exts: Vec<Vec<u8>> = Vec::new();
    exts.push(extension(OID_KEY_USAGE, true, &key_usage_value(t.key_usage)));
    if !t.usages.is_empty() {
        let oids: Vec<u8> = t.usages.iter().flat_map(|u| der::oid(u.oid())).collect();
        exts.push(extension(OID_EXT_KEY_USAGE, false, &der::tlv(der::TAG_SEQUENCE, &oids)));
    }
    let bc = if t.is_ca { der::seq(&[&der::bool_true()]) } else { der::seq(&[]) };
    exts.push(extension(OID_BASIC_CONSTRAINTS, true, &bc));
    if t.is_ca {
        let skid = &Sha256::digest(subject_key.raw())[..20];
        exts.push(extension(OID_SKID, false, &der::octet_string(skid)));
    }
    if let Some(p) = parent.filter(|p| issuer != t.subject && !p.subject_key_id.is_empty()) {
        exts.push(extension(OID_AKID, false, &der::seq(&[&der::tlv(0x80, &p.subject_key_id)])));
    }
    if !t.alt_names.dns_names.is_empty() || !t.alt_names.ips.is_empty() {
        exts.push(san_extension(t.alt_names));
    }
    // The signature AlgorithmIdentifier appears in the TBS as well, so compute it first.
    let sig_alg = signer.signature_algorithm_der();
    let validity = der::seq(&[&der::time(t.not_before), &der::time(t.not_after)]);
    let tbs = der::seq(&[
        &der::explicit(0, &der::uint(&[2])),
        &der::uint(&serial),
        &sig_alg,
        &issuer,
        &validity,
        &t.subject,
        &subject_key.spki_der(),
        &der::explicit(3, &der::tlv(der::TAG_SEQUENCE, &exts.concat())),
    ]);
    let (sig_alg, sig) = signer.sign(&tbs)?;
    let cert_der = der::seq(&[&tbs, &sig_alg, &der::bit_string(0, &sig)]);
    Certificate::from_der(&cert_der)
}

/// `pkiutil.NewSelfSignedCACert`: CN (and O) subject, SAN DNS = CN, KU DigitalSignature |
/// KeyEncipherment | CertSign, CA, NotBefore = `config.not_before` or now, NotAfter =
/// `config.not_after` or NotBefore + 10 years.
pub fn new_self_signed_ca_cert(config: &CertConfig, key: &PrivateKey) -> Result<Certificate> {
    let not_before = config.not_before.unwrap_or_else(OffsetDateTime::now_utc);
    let not_after = config.not_after.unwrap_or(not_before + crate::CA_CERTIFICATE_VALIDITY);
    let alt_names = AltNames {
        dns_names: if config.common_name.is_empty() { vec![] } else { vec![config.common_name.clone()] },
        ips: vec![],
    };
    let t = Template {
        subject: encode_subject(&config.common_name, &config.organization),
        not_before,
        not_after,
        key_usage: key_usage::KEY_ENCIPHERMENT | key_usage::DIGITAL_SIGNATURE | key_usage::CERT_SIGN,
        usages: &[],
        is_ca: true,
        alt_names: &alt_names,
    };
    create_certificate(&t, &key.public_key(), None, key)
}

/// `pkiutil.NewSignedCert`: signs `key`'s public half with the CA. NotBefore defaults to the CA's
/// NotBefore, NotAfter to NotBefore + 1 year; SANs are de-duplicated first.
pub fn new_signed_cert(
    config: &CertConfig,
    key: &PublicKey,
    ca: &CertAndKey,
    is_ca: bool,
) -> Result<Certificate> {
    if config.common_name.is_empty() {
        return Err(PkiError::InvalidConfig("must specify a CommonName".to_string()));
    }
    check_ca_key(ca)?;
    let mut alt_names = config.alt_names.clone();
    alt_names.dedup();
    let not_before = config.not_before.unwrap_or(ca.cert.not_before);
    let not_after = config.not_after.unwrap_or(not_before + crate::CERTIFICATE_VALIDITY);
    let mut key_usage = key_usage::KEY_ENCIPHERMENT | key_usage::DIGITAL_SIGNATURE;
    if is_ca {
        key_usage |= key_usage::CERT_SIGN;
    }
    let t = Template {
        subject: encode_subject(&config.common_name, &config.organization),
        not_before,
        not_after,
        key_usage,
        usages: &config.usages,
        is_ca,
        alt_names: &alt_names,
    };
    create_certificate(&t, key, Some(&ca.cert), &ca.key)
}

/// Go refuses to sign when the CA key does not belong to the CA certificate.
fn check_ca_key(ca: &CertAndKey) -> Result<()> {
    match ca.cert.public_key() {
        Some(pk) if *pk == ca.key.public_key() => Ok(()),
        _ => Err(PkiError::CaKeyMismatch),
    }
}

/// `pkiutil.NewCertAndKey`: a new key of `algorithm` and a certificate for it signed by `ca`.
pub fn new_cert_and_key(
    ca: &CertAndKey,
    config: &CertConfig,
    algorithm: crate::KeyAlgorithm,
) -> Result<CertAndKey> {
    if config.usages.is_empty() {
        return Err(PkiError::InvalidConfig("must specify at least one ExtKeyUsage".to_string()));
    }
    let key = PrivateKey::generate(algorithm).map_err(|e| e.context("unable to create private key"))?;
    let cert = new_signed_cert(config, &key.public_key(), ca, false)
        .map_err(|e| e.context("unable to sign certificate"))?;
    Ok(CertAndKey { cert, key })
}

/// `pkiutil.NewCertificateAuthority`: a new key and a self-signed CA certificate.
pub fn new_certificate_authority(config: &CertConfig, algorithm: crate::KeyAlgorithm) -> Result<CertAndKey> {
    let key = PrivateKey::generate(algorithm)
        .map_err(|e| e.context("unable to create private key while generating CA certificate"))?;
    let cert = new_self_signed_ca_cert(config, &key)
        .map_err(|e| e.context("unable to create self-signed CA certificate"))?;
    Ok(CertAndKey { cert, key })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_usage_bits_match_go() {
        // DigitalSignature|KeyEncipherment -> 03 02 05 a0; with CertSign -> 03 02 02 a4.
        assert_eq!(key_usage_value(0b101), vec![0x03, 0x02, 0x05, 0xa0]);
        assert_eq!(key_usage_value(0b10_0101), vec![0x03, 0x02, 0x02, 0xa4]);
    }

    #[test]
    fn subject_encoding_uses_go_string_types() {
        let s = encode_subject("kubernetes-admin", &["kubeadm:cluster-admins".to_string()]);
        // O before CN, both PrintableString (':' is printable).
        let hexed = hex::encode(&s);
        assert!(hexed.contains(&hex::encode(b"kubeadm:cluster-admins")));
        let (_, name) = <x509_parser::x509::X509Name as x509_parser::prelude::FromDer<
            x509_parser::error::X509Error,
        >>::from_der(&s)
        .unwrap();
        assert_eq!(name.to_string(), "O=kubeadm:cluster-admins, CN=kubernetes-admin");
        assert!(is_printable("system:node:worker-1"));
        assert!(!is_printable("a_b"));
        assert!(!is_printable("*.x"));
    }

    #[test]
    fn dedup_sorts_dns_and_keeps_ip_order() {
        let mut a = AltNames {
            dns_names: vec!["b".into(), "a".into(), "b".into()],
            ips: vec!["10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
        };
        a.dedup();
        assert_eq!(a.dns_names, vec!["a", "b"]);
        assert_eq!(a.ips_go_list(), "[10.0.0.2 10.0.0.1]");
    }

    #[test]
    fn hostname_matching() {
        assert!(match_hostname("*.example.com", "a.example.com"));
        assert!(!match_hostname("*.example.com", "a.b.example.com"));
        assert!(match_hostname("*.example.com", "*.example.com"));
    }
}
