//! [`kubeadm_cluster::etcd`] against the real etcd of a bed control plane.
//!
//! Upstream kubeadm v1.37.2 writes the offline half of `init` on node 1 and the runner starts etcd
//! and the control plane. From the test process (the host reaches node 1 over the bed's bridge),
//! with node 1's `etcd/ca.crt` and `etcd/healthcheck-client.{crt,key}` (as upstream's
//! `NewFromCluster`), the client lists the single member (the pinned etcdctl must agree), checks
//! the cluster's health and the endpoint status, syncs its endpoints, adds a learner whose peer
//! URL is an unused address of the bed's subnet (nothing listens there: etcd accepts a learner
//! without contacting it, and a learner does not count for quorum), sees it as an unstarted
//! learner (etcdctl agrees), fails to promote it within a short timeout ("not started"), removes
//! it through upstream's `RemoveStackedEtcdMemberFromCluster` rules (removed, then already
//! removed), and keeps node 1's member as the only one. Endpoint discovery reads the
//! advertise-client-urls annotation of an etcd Pod the test creates (the bed has no kubelet, so
//! no mirror Pods): none → the local fallback, annotated → its endpoint, one without the
//! annotation → upstream's retry until the timeout.
//!
//! Needs root and the pinned components (`KUBEADM_RS_BIN_DIR`); fails without them unless
//! `KUBEADM_RS_SKIP_BED=1`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kubeadm_cluster::etcd::{
    self, EtcdClient, EtcdError, EtcdTimeouts, PromoteState, RemoveOutcome, client_url_by_ip, peer_url_by_ip,
};
use kubeadm_cluster::{ApiTimeouts, client};
use kubeadm_testbed::controlplane::{CONFIG_PATH, init_config, upstream_offline_phases, wait_readyz};
use kubeadm_testbed::{Bed, Node, bed_preflight, components, heavy_lock};
use serde_json::Value;

const VERSION: &str = "v1.37.2";

fn etcdctl_members(pki: &Path, endpoint: &str) -> Result<Vec<Value>> {
    let out = std::process::Command::new(components::bin("etcdctl")?)
        .arg(format!("--endpoints={endpoint}"))
        .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
        .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
        .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
        .args(["member", "list", "-w", "json"])
        .output()?;
    ensure!(out.status.success(), "etcdctl member list: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    Ok(v["members"].as_array().cloned().unwrap_or_default())
}

fn etcd_pod(name: &str, annotation: Option<&str>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("kube-system".into()),
            labels: Some(BTreeMap::from([
                ("component".to_string(), "etcd".to_string()),
                ("tier".to_string(), "control-plane".to_string()),
            ])),
            annotations: annotation.map(|a| {
                BTreeMap::from([(
                    "kubeadm.kubernetes.io/etcd.advertise-client-urls".to_string(),
                    a.to_string(),
                )])
            }),
            ..Default::default()
        },
        spec: Some(PodSpec {
            // No such node: the Pod stays Pending, which is all the discovery needs.
            node_name: Some("no-such-node".into()),
            automount_service_account_token: Some(false),
            containers: vec![Container {
                name: "etcd".into(),
                image: Some("registry.k8s.io/etcd:3.6.6-0".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates `pod`, retrying while kube-system's default ServiceAccount does not exist yet.
async fn create_pod(kube: &kube::Client, pod: &Pod) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(kube.clone(), "kube-system");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        match api.create(&PostParams::default(), pod).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("creating Pod {:?}: {e}; retrying", pod.metadata.name);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn live(bed: &Bed) -> Result<()> {
    let n1: &Node = bed.node(0);
    n1.write_file(CONFIG_PATH, init_config(n1, VERSION))?;
    upstream_offline_phases(n1, CONFIG_PATH)?;
    bed.start_runner(n1)?;
    wait_readyz(bed, n1, Duration::from_secs(120))?;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let pki = n1.host_path("/etc/kubernetes/pki");
    let ip = n1.ip().to_string();
    let local = client_url_by_ip(&ip);
    let t = EtcdTimeouts { api_call: Duration::from_secs(30), ..EtcdTimeouts::default() };
    let mut etcd = EtcdClient::from_cert_dir(vec![local.clone()], &pki, t)?;

    // --- member list, health, status, sync
    let step = std::time::Instant::now();
    let members = rt.block_on(etcd.member_list())?;
    eprintln!("members: {members:?} ({:?})", step.elapsed());
    ensure!(members.len() == 1, "{members:?}");
    let me = &members[0];
    ensure!(me.name == n1.name() && !me.is_learner, "{me:?}");
    ensure!(me.peer_urls == [peer_url_by_ip(&ip)] && me.client_urls == [local.clone()], "{me:?}");
    let ctl = etcdctl_members(&pki, &local)?;
    ensure!(ctl.len() == 1 && ctl[0]["ID"].as_u64() == Some(me.id) && ctl[0]["name"] == n1.name(), "{ctl:?}");

    rt.block_on(etcd.check_cluster_health())?;
    let st = rt.block_on(etcd.endpoint_status(&local))?;
    ensure!(st.member_id == me.id && st.leader == me.id && st.errors.is_empty() && !st.is_learner, "{st:?}");
    ensure!(st.version.starts_with("3."), "{st:?}");
    rt.block_on(etcd.sync())?;
    ensure!(etcd.endpoints() == [local.clone()], "{:?}", etcd.endpoints());

    // --- a learner nobody runs: added, listed as an unstarted learner, not promotable.
    let o = n1.ip().octets();
    let ghost_ip = Ipv4Addr::new(o[0], o[1], o[2], 250).to_string();
    let ghost_peer = peer_url_by_ip(&ghost_ip);
    let step = std::time::Instant::now();
    let added = rt.block_on(etcd.member_add_as_learner("ghost", &ghost_peer))?;
    eprintln!("added {added:?} ({:?})", step.elapsed());
    ensure!(added.member.is_learner && added.member.name == "ghost", "{added:?}");
    ensure!(added.member.peer_urls == [ghost_peer.clone()], "{added:?}");
    // etcd orders members by ID.
    let mut names: Vec<_> = added.initial_cluster().into_iter().map(|m| (m.name, m.peer_url)).collect();
    names.sort();
    ensure!(
        names == [("ghost".to_string(), ghost_peer.clone()), (n1.name().to_string(), peer_url_by_ip(&ip))],
        "{names:?}"
    );
    ensure!(etcd.endpoints() == [local.clone()], "a learner's client URL is not an endpoint");
    let members = rt.block_on(etcd.member_list())?;
    ensure!(members.len() == 2, "{members:?}");
    let ghost_id = rt.block_on(etcd.get_member_id(&ghost_peer))?;
    ensure!(ghost_id == added.member.id);
    ensure!(etcd::promote_state(&members, ghost_id) == PromoteState::NotStarted, "{members:?}");
    let ctl = etcdctl_members(&pki, &local)?;
    let g = ctl.iter().find(|m| m["ID"].as_u64() == Some(ghost_id)).context("etcdctl: no learner")?;
    ensure!(g["isLearner"] == true && g.get("name").is_none_or(|n| n == ""), "{g}");
    // Adding it again finds it (no second member).
    let again = rt.block_on(etcd.member_add_as_learner("ghost", &ghost_peer))?;
    ensure!(again.member.id == ghost_id && again.members.len() == 2, "{again:?}");
    // The sync keeps started voters only.
    rt.block_on(etcd.sync())?;
    ensure!(etcd.endpoints() == [local.clone()], "{:?}", etcd.endpoints());

    let short = EtcdTimeouts { api_call: Duration::from_secs(3), ..t };
    let mut impatient = EtcdClient::from_cert_dir(vec![local.clone()], &pki, short)?;
    let step = std::time::Instant::now();
    let e =
        rt.block_on(impatient.member_promote(ghost_id)).err().context("promoted a learner nobody runs")?;
    eprintln!("promote: {e} ({:?})", step.elapsed());
    ensure!(matches!(e, EtcdError::MemberNotStarted { id } if id == ghost_id), "{e}");
    ensure!(step.elapsed() >= Duration::from_secs(3), "gave up early: {:?}", step.elapsed());

    // --- upstream's RemoveStackedEtcdMemberFromCluster rules
    let got = rt.block_on(etcd::remove_stacked_etcd_member(&etcd, &ghost_ip))?;
    match &got {
        RemoveOutcome::Removed { id, members } if *id == ghost_id && members.len() == 1 => {}
        other => bail!("removing the learner: {other:?}"),
    }
    let got = rt.block_on(etcd::remove_stacked_etcd_member(&etcd, &ghost_ip))?;
    ensure!(got == RemoveOutcome::AlreadyRemoved, "{got:?}");
    ensure!(rt.block_on(etcd.member_remove(ghost_id))?.len() == 1, "removing a removed member");
    let got = rt.block_on(etcd::remove_stacked_etcd_member(&etcd, &ip))?;
    ensure!(got == RemoveOutcome::OnlyMember, "{got:?}");
    ensure!(etcdctl_members(&pki, &local)?.len() == 1);
    ensure!(rt.block_on(etcd.member_list())?.len() == 1);

    // --- endpoints from the etcd Pods
    let api = ApiTimeouts { api_call: Duration::from_secs(3), ..ApiTimeouts::default() };
    let kdir = n1.host_path("/etc/kubernetes");
    let kube = rt.block_on(client::client_from_file(&kdir.join("super-admin.conf"), None, &api))?;
    let eps = rt.block_on(etcd::etcd_endpoints_from_pods(&kube, Some(&local), &api))?;
    ensure!(eps == [local.clone()], "fallback: {eps:?}");
    let e = rt
        .block_on(etcd::etcd_endpoints_from_pods(&kube, None, &api))
        .err()
        .context("no Pods, no fallback")?;
    ensure!(matches!(e, EtcdError::Endpoints { .. }), "{e}");

    rt.block_on(create_pod(&kube, &etcd_pod("etcd-fake-1", Some(&local))))?;
    let eps = rt.block_on(etcd::etcd_endpoints_from_pods(&kube, None, &api))?;
    ensure!(eps == [local.clone()], "annotated Pod: {eps:?}");
    let step = std::time::Instant::now();
    let from_cluster = rt.block_on(EtcdClient::from_cluster(&kube, &pki, None, &api, t))?;
    ensure!(from_cluster.endpoints() == [local.clone()], "{:?}", from_cluster.endpoints());
    let got = rt.block_on(etcd::remove_stacked_etcd_member_from_cluster(&kube, &pki, &ip, &api, t))?;
    ensure!(got == RemoveOutcome::OnlyMember, "{got:?}");
    eprintln!("from_cluster + remove_stacked: {:?}", step.elapsed());

    // A Pod without the annotation: upstream waits for it until the timeout.
    rt.block_on(create_pod(&kube, &etcd_pod("etcd-fake-2", None)))?;
    let step = std::time::Instant::now();
    let e =
        rt.block_on(etcd::etcd_endpoints_from_pods(&kube, Some(&local), &api)).err().context("partial")?;
    ensure!(step.elapsed() >= Duration::from_secs(3), "{:?}", step.elapsed());
    ensure!(e.to_string() == "could not retrieve the list of etcd endpoints", "{e}");
    Ok(())
}

#[test]
fn etcd_client_against_live_etcd() -> Result<()> {
    if bed_preflight()? {
        return Ok(());
    }
    let _serial = heavy_lock()?;
    let bed = Bed::builder().name("etcd-live").nodes(1).start()?;
    let started = std::time::Instant::now();
    let r = live(&bed);
    eprintln!("etcd live checks took {:?}", started.elapsed());
    if let Err(e) = r {
        eprintln!("===== component log tails =====\n{}", bed.log_tails(40));
        return Err(e);
    }
    Ok(())
}
