//! Unit tests of the etcd client logic over the in-memory fake (retry loops under paused time).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::fake::{self, FakeEtcd};
use super::*;

const NOT_IN_SYNC: &str = "etcdserver: can only promote a learner member which is in sync with leader";

fn m(id: u64, name: &str, ip: &str, learner: bool) -> Member {
    Member {
        id,
        name: name.into(),
        peer_urls: vec![peer_url_by_ip(ip)],
        client_urls: if name.is_empty() { vec![] } else { vec![client_url_by_ip(ip)] },
        is_learner: learner,
    }
}

fn quick() -> EtcdTimeouts {
    EtcdTimeouts {
        api_call: Duration::from_secs(10),
        retry_interval: Duration::from_millis(500),
        request: Duration::from_secs(2),
    }
}

fn fake_with(members: Vec<Member>) -> Arc<FakeEtcd> {
    let f = Arc::new(FakeEtcd::default());
    f.state().members = members;
    f
}

const EP1: &str = "https://10.0.0.1:2379";

#[test]
fn urls() {
    assert_eq!(client_url_by_ip("10.0.0.1"), "https://10.0.0.1:2379");
    assert_eq!(peer_url_by_ip("fd00::1"), "https://[fd00::1]:2380");
    assert_eq!(url_host("https://[fd00::1]:2380").unwrap(), "fd00::1");
    assert_eq!(url_host("https://10.0.0.9:2380").unwrap(), "10.0.0.9");
    assert!(matches!(url_host("https://"), Err(EtcdError::Url { .. })));
}

#[test]
fn only_member_rule() {
    let local = client_url_by_ip("10.0.0.1");
    let one = vec![m(1, "n1", "10.0.0.1", false)];
    assert!(is_only_remaining_member(&one, std::slice::from_ref(&local), &local));
    // One member, but the client does not talk to this node: upstream goes on (and finds no ID).
    assert!(!is_only_remaining_member(&one, &["https://10.0.0.2:2379".into()], &local));
    let two = vec![m(1, "n1", "10.0.0.1", false), m(2, "n2", "10.0.0.2", false)];
    assert!(!is_only_remaining_member(&two, std::slice::from_ref(&local), &local));
}

#[test]
fn sync_keeps_started_voters() {
    let members =
        vec![m(1, "n1", "10.0.0.1", false), m(2, "", "10.0.0.2", true), m(3, "n3", "10.0.0.3", true)];
    assert_eq!(sync_endpoints(&members), vec![client_url_by_ip("10.0.0.1")]);
}

#[test]
fn member_ids_and_promote_states() {
    let members =
        vec![m(1, "n1", "10.0.0.1", false), m(2, "", "10.0.0.2", true), m(3, "n3", "10.0.0.3", true)];
    assert_eq!(member_id_for_peer_url(&members, "https://10.0.0.2:2380").unwrap(), 2);
    let e = member_id_for_peer_url(&members, "https://10.0.0.9:2380").unwrap_err();
    assert!(matches!(e, EtcdError::NoMemberIdForPeerUrl { .. }), "{e}");
    assert_eq!(promote_state(&members, 1), PromoteState::Voter);
    assert_eq!(promote_state(&members, 2), PromoteState::NotStarted);
    assert_eq!(promote_state(&members, 3), PromoteState::Ready);
    assert_eq!(promote_state(&members, 4), PromoteState::NotFound);
}

#[test]
fn added_members_are_named_like_upstream() {
    let added = m(9, "", "10.0.0.9", true);
    let list = vec![m(1, "n1", "10.0.0.1", false), m(0x2a, "", "10.0.0.2", true), added.clone()];
    let got = added_members("node9", "https://10.0.0.9:2380", Some(added), list).unwrap();
    assert_eq!(got.member.name, "node9");
    assert_eq!(got.member.id, 9);
    let names: Vec<_> = got.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["n1", "2a", "node9"]);
    assert_eq!(
        got.initial_cluster()[2],
        EtcdMember { name: "node9".into(), peer_url: "https://10.0.0.9:2380".into() }
    );
    let e = added_members("x", "https://10.0.0.7:2380", None, vec![]).unwrap_err();
    assert!(matches!(e, EtcdError::AddedMemberMissing { .. }));
}

fn pod(name: &str, ann: Option<&str>, ready: bool) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: ann.map(|a| {
                BTreeMap::from([(
                    constants::ETCD_ADVERTISE_CLIENT_URLS_ANNOTATION_KEY.to_string(),
                    a.to_string(),
                )])
            }),
            ..Default::default()
        },
        status: Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn endpoints_from_pod_annotations() {
    let pods = vec![
        pod("etcd-a", Some("https://10.0.0.1:2379"), true),
        pod("etcd-b", None, true),
        pod("etcd-c", Some("https://10.0.0.3:2379"), false),
    ];
    // Not-ready Pods still count (upstream only logs); Pods without the annotation are skipped.
    assert_eq!(endpoints_from_pods(&pods), vec!["https://10.0.0.1:2379", "https://10.0.0.3:2379"]);
    assert!(endpoints_from_pods(&[]).is_empty());
}

#[test]
fn tls_is_validated_and_never_printed() {
    let ca = kubeadm_pki::new_certificate_authority(
        &kubeadm_pki::CertConfig { common_name: "etcd-ca".into(), ..Default::default() },
        kubeadm_pki::KeyAlgorithm::EcdsaP256,
    )
    .unwrap();
    let key_pem = ca.key.to_pem().unwrap();
    let tls = EtcdTls { ca_pem: ca.cert.to_pem(), cert_pem: ca.cert.to_pem(), key_pem: key_pem.clone() };
    let c = EtcdClient::new(vec![EP1.into()], tls.clone(), EtcdTimeouts::default()).unwrap();
    let body = key_pem.lines().nth(1).unwrap().to_string();
    assert!(!format!("{c:?}").contains(&body));
    assert!(!format!("{tls:?}").contains(&body));

    let bad = EtcdTls {
        key_pem: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n".into(),
        ..tls.clone()
    };
    let e = EtcdClient::new(vec![EP1.into()], bad, EtcdTimeouts::default()).unwrap_err();
    assert!(matches!(e, EtcdError::Tls(_)) && !e.to_string().contains("AAAA"), "{e}");
    let bad = EtcdTls { ca_pem: "nope".into(), ..tls.clone() };
    assert!(matches!(
        EtcdClient::new(vec![EP1.into()], bad, EtcdTimeouts::default()),
        Err(EtcdError::Tls(_))
    ));
    assert!(matches!(EtcdClient::new(vec![], tls, EtcdTimeouts::default()), Err(EtcdError::NoEndpoints)));
}

#[test]
fn from_cert_dir_names_the_missing_file() {
    let dir = std::env::temp_dir().join(format!("kubeadm-rs-etcd-unit-{}", std::process::id()));
    let e = EtcdClient::from_cert_dir(vec![EP1.into()], &dir, EtcdTimeouts::default()).unwrap_err();
    match e {
        EtcdError::ReadFile { path, what, .. } => {
            assert_eq!(path, dir.join("etcd/ca.crt"));
            assert_eq!(what, "CA certificate");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn etcd_error_classification() {
    let e = |message: &str| EtcdError::Rpc {
        operation: "MemberRemove",
        endpoints: EP1.into(),
        message: message.into(),
        source: None,
    };
    assert!(e(MSG_MEMBER_NOT_FOUND).is_member_not_found());
    assert!(e(MSG_PEER_URL_EXIST).is_peer_url_exist());
    assert!(!e("etcdserver: request timed out").is_member_not_found());
    assert_eq!(
        e(MSG_MEMBER_NOT_FOUND).to_string(),
        "etcd MemberRemove against [https://10.0.0.1:2379] failed: etcdserver: member not found"
    );
}

#[tokio::test(start_paused = true)]
async fn promote_retries_a_learner_not_in_sync() {
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false), m(2, "n2", "10.0.0.2", true)]);
    f.state().promote_failures = vec![NOT_IN_SYNC.into(), NOT_IN_SYNC.into(), NOT_IN_SYNC.into()];
    let mut c = fake::client(&[EP1], f.clone(), quick());
    let start = tokio::time::Instant::now();
    c.member_promote(2).await.unwrap();
    // Three refusals, 500ms apart, then success.
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
    assert!(!f.state().members[1].is_learner);
    assert_eq!(f.state().calls.iter().filter(|c| *c == "promote").count(), 4);
    assert_eq!(c.endpoints(), [EP1, "https://10.0.0.2:2379"]);
}

#[tokio::test(start_paused = true)]
async fn promote_gives_up_with_the_last_error() {
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false), m(2, "n2", "10.0.0.2", true)]);
    f.state().promote_failures = vec![NOT_IN_SYNC.into(); 1000];
    let mut c = fake::client(&[EP1], f.clone(), quick());
    let start = tokio::time::Instant::now();
    let e = c.member_promote(2).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert!(e.to_string().ends_with(NOT_IN_SYNC), "{e}");
    assert_eq!(c.endpoints(), [EP1]);
}

#[tokio::test(start_paused = true)]
async fn promote_waits_for_the_learner_to_start() {
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false), m(2, "", "10.0.0.2", true)]);
    let mut c = fake::client(&[EP1], f.clone(), quick());
    // Never starts: "not started" after the timeout, and no promotion attempted.
    let e = c.member_promote(2).await.unwrap_err();
    assert_eq!(e.to_string(), "the etcd member 2 is not started");
    assert!(!f.state().calls.iter().any(|c| c == "promote"));

    // Starts after a while: then promoted.
    let f2 = f.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let mut s = f2.state();
        s.members[1].name = "n2".into();
        s.members[1].client_urls = vec![client_url_by_ip("10.0.0.2")];
    });
    c.member_promote(2).await.unwrap();
    assert!(!f.state().members[1].is_learner);
}

#[tokio::test(start_paused = true)]
async fn promote_of_a_voter_or_unknown_member() {
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false)]);
    let mut c = fake::client(&[EP1], f.clone(), quick());
    c.member_promote(1).await.unwrap();
    assert!(!f.state().calls.iter().any(|c| c == "promote"));
    let e = c.member_promote(7).await.unwrap_err();
    assert_eq!(e.to_string(), "failed to get member 7 status");
    let EtcdError::MemberStatus { source, .. } = e else { panic!("{e:?}") };
    assert!(matches!(*source, EtcdError::MemberNotFound { id: 7 }), "{source:?}");
}

#[tokio::test(start_paused = true)]
async fn add_learner_then_voter_and_existing() {
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false)]);
    let mut c = fake::client(&[EP1], f.clone(), quick());
    let a = c.member_add_as_learner("n2", "https://10.0.0.2:2380").await.unwrap();
    assert!(a.member.is_learner && a.member.name == "n2");
    assert_eq!(a.members.len(), 2);
    assert_eq!(c.endpoints(), [EP1], "a learner's client URL is not added");
    // Already there: no second add, the existing list.
    let calls = f.state().calls.len();
    let b = c.member_add_as_learner("n2", "https://10.0.0.2:2380").await.unwrap();
    assert_eq!(b.member.id, a.member.id);
    assert_eq!(&f.state().calls[calls..], ["list"]);
    // A voter: its client URL joins the endpoints.
    c.member_add("n3", "https://10.0.0.3:2380").await.unwrap();
    assert_eq!(c.endpoints(), [EP1, "https://10.0.0.3:2379"]);
    // Bad peer URL: nothing asked.
    let calls = f.state().calls.len();
    assert!(matches!(c.member_add("x", "https://").await, Err(EtcdError::Url { .. })));
    assert_eq!(f.state().calls.len(), calls);
}

#[tokio::test(start_paused = true)]
async fn add_retries_transient_errors() {
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false)]);
    f.state().list_failures = vec!["connection refused".into()];
    f.state().add_failures = vec!["etcdserver: request timed out".into()];
    let mut c = fake::client(&[EP1], f.clone(), quick());
    let start = tokio::time::Instant::now();
    let a = c.member_add_as_learner("n2", "https://10.0.0.2:2380").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(a.members.len(), 2);
    assert_eq!(f.state().calls, ["list", "list", "add", "list", "add"]);
}

#[tokio::test(start_paused = true)]
async fn remove_is_idempotent() {
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false), m(2, "n2", "10.0.0.2", false)]);
    let c = fake::client(&[EP1], f.clone(), quick());
    assert_eq!(c.member_remove(2).await.unwrap(), vec![m(1, "n1", "10.0.0.1", false)]);
    // Gone already: the list, no remove call.
    let calls = f.state().calls.len();
    assert_eq!(c.member_remove(2).await.unwrap().len(), 1);
    assert_eq!(&f.state().calls[calls..], ["list"]);
    // "member not found" from a racing remove counts as success.
    f.state().members.push(m(3, "n3", "10.0.0.3", false));
    f.state().remove_failures = vec![MSG_MEMBER_NOT_FOUND.into()];
    assert_eq!(c.member_remove(3).await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn remove_stacked_member_rules() {
    let local = client_url_by_ip("10.0.0.1");
    // The only member, and the client talks to it: nothing removed.
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false)]);
    let c = fake::client(&[local.as_str()], f.clone(), quick());
    assert_eq!(remove_stacked_etcd_member(&c, "10.0.0.1").await.unwrap(), RemoveOutcome::OnlyMember);
    assert_eq!(f.state().members.len(), 1);
    // Two members: this node's is removed.
    f.state().members.push(m(2, "n2", "10.0.0.2", false));
    let got = remove_stacked_etcd_member(&c, "10.0.0.1").await.unwrap();
    assert_eq!(got, RemoveOutcome::Removed { id: 1, members: vec![m(2, "n2", "10.0.0.2", false)] });
    // Not a member any more.
    let c2 = fake::client(&["https://10.0.0.2:2379"], f.clone(), quick());
    assert_eq!(remove_stacked_etcd_member(&c2, "10.0.0.1").await.unwrap(), RemoveOutcome::AlreadyRemoved);
    // A list error is returned as is (upstream's ListMembers does not retry).
    f.state().list_failures = vec!["connection refused".into()];
    let e = remove_stacked_etcd_member(&c2, "10.0.0.1").await.unwrap_err();
    assert!(e.to_string().ends_with("connection refused"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn sync_uses_started_voters() {
    let f = fake_with(vec![m(1, "n1", "10.0.0.1", false), m(2, "", "10.0.0.2", true)]);
    f.state().list_failures = vec!["connection refused".into()];
    let mut c = fake::client(&["https://127.0.0.1:2379"], f, quick());
    c.sync().await.unwrap();
    assert_eq!(c.endpoints(), [EP1]);
}

#[tokio::test(start_paused = true)]
async fn health_needs_a_quorum() {
    let eps = ["https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"];
    let f = fake_with(vec![]);
    {
        let mut s = f.state();
        s.status.insert(eps[0].into(), Ok(vec![]));
        s.status.insert(eps[1].into(), Ok(vec!["NOSPACE".into()]));
        s.status.insert(eps[2].into(), Ok(vec![]));
    }
    let c = fake::client(&eps, f.clone(), quick());
    c.check_cluster_health().await.unwrap();
    let st = c.cluster_status().await;
    assert!(st.quorum);
    assert_eq!(st.member_errors(), ["member https://10.0.0.2:2379 is not healthy: NOSPACE"]);

    // Two of three unreachable (each retried until the timeout): no quorum.
    f.state().status.remove(eps[1]);
    f.state().status.remove(eps[2]);
    let start = tokio::time::Instant::now();
    let e = c.check_cluster_health().await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(20));
    assert_eq!(
        e.to_string(),
        "etcd cluster is not healthy: the status of member https://10.0.0.2:2379 is not available: \
         etcd Status against [fake] failed: connection refused, the status of member \
         https://10.0.0.3:2379 is not available: etcd Status against [fake] failed: connection refused"
    );
    let e = c.wait_for_cluster_available(2, Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(e, EtcdError::NotAvailable));
}
