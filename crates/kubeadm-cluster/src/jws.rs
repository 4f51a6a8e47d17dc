//! Detached JWS signatures of the `cluster-info` kubeconfig (cluster-bootstrap `token/jws`):
//! HS256 keyed with the token secret, protected header `{"alg":"HS256","kid":"<token-id>"}`,
//! compact serialization with the payload removed: `<b64url(header)>..<b64url(signature)>`.
//!
//! The kube-controller-manager's bootstrap signer stores one per signing token in `cluster-info`
//! as `jws-kubeconfig-<token-id>`; `join` discovery verifies it with [`detached_token_is_valid`].

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The `cluster-info` data key prefix of the signatures (`jws-kubeconfig-`).
pub const JWS_SIGNATURE_KEY_PREFIX: &str = "jws-kubeconfig-";

/// The protected header go-jose v2 writes for the token ID.
fn protected_header(token_id: &str) -> String {
    // serde_json quotes the ID like Go's encoding/json for the [a-z0-9] IDs tokens have.
    let kid = serde_json::Value::String(token_id.to_string()).to_string();
    format!("{{\"alg\":\"HS256\",\"kid\":{kid}}}")
}

/// `ComputeDetachedSignature(content, tokenID, tokenSecret)`.
pub fn compute_detached_signature(content: &str, token_id: &str, token_secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(protected_header(token_id));
    let payload = URL_SAFE_NO_PAD.encode(content);
    let key = hmac::Key::new(hmac::HMAC_SHA256, token_secret.as_bytes());
    let signing_input = format!("{header}.{payload}");
    let tag = hmac::sign(&key, signing_input.as_bytes());
    format!("{header}..{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// `DetachedTokenIsValid(detachedToken, content, tokenID, tokenSecret)`: recompute and compare
/// (in constant time).
pub fn detached_token_is_valid(
    detached_token: &str,
    content: &str,
    token_id: &str,
    token_secret: &str,
) -> bool {
    let expected = compute_detached_signature(content, token_id, token_secret);
    let (a, b) = (expected.as_bytes(), detached_token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors produced by k8s.io/cluster-bootstrap@v0.37.2 token/jws.ComputeDetachedSignature
    // (go run of a 20-line program; not committed).
    const KUBECONFIG: &str = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: AAAA\n    server: https://10.0.0.1:6443\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n";

    #[test]
    fn upstream_vectors() {
        let cases = [
            (
                KUBECONFIG,
                "abcdef",
                "0123456789abcdef",
                "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..u_ZthThgN5w0Eb7-okkc3L3JWdhHWWdqdVndZMULVuY",
            ),
            (
                "",
                "abcdef",
                "0123456789abcdef",
                "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..MO2tlCpY1xB334qWeOe_XEv9c6DIMRNmKJZImOzY17k",
            ),
            (
                "hello",
                "zyx987",
                "q1w2e3r4t5y6u7i8",
                "eyJhbGciOiJIUzI1NiIsImtpZCI6Inp5eDk4NyJ9..gbGwZRN-C_JdPhw6-d2m3lRUXbAmSN54hMvsxCMTn5Y",
            ),
        ];
        for (content, id, secret, want) in cases {
            assert_eq!(compute_detached_signature(content, id, secret), want);
            assert!(detached_token_is_valid(want, content, id, secret));
            assert!(!detached_token_is_valid(want, &format!("{content} "), id, secret));
            assert!(!detached_token_is_valid(want, content, id, "0000000000000000"));
            assert!(!detached_token_is_valid("", content, id, secret));
        }
    }
}
