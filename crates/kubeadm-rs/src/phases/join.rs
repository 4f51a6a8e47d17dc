//! `kubeadm join` phases (upstream `cmd/kubeadm/app/cmd/phases/join`). The worker path
//! (preflight, kubelet-start, kubelet-wait-bootstrap) is implemented in [`crate::joinphases`]; the
//! control-plane phases run only with `--control-plane` and are not implemented yet.

pub use crate::commands::join::JoinData;
use crate::flags::names::*;
use crate::joinphases;
use crate::workflow::{Phase, PhaseError, Runner};

fn control_plane(d: &JoinData) -> Result<bool, PhaseError> {
    Ok(d.cfg.control_plane.is_some())
}

const DISCOVERY: [&str; 6] = [
    DISCOVERY_FILE,
    DISCOVERY_TOKEN,
    DISCOVERY_TOKEN_CA_CERT_HASH,
    DISCOVERY_TOKEN_UNSAFE_SKIP,
    TLS_BOOTSTRAP_TOKEN,
    TOKEN,
];

fn with(base: &[&'static str], extra: &[&'static str]) -> Vec<&'static str> {
    base.iter().chain(extra.iter()).copied().collect()
}

fn cp_join_flags(name: &str) -> Vec<&'static str> {
    let mut f = vec![CONFIG, CONTROL_PLANE, NODE_NAME];
    if name == "etcd" || name == "all" {
        f.push(PATCHES);
    }
    if name != "mark-control-plane" {
        f.push(APISERVER_ADVERTISE_ADDRESS);
    }
    f.push(DRY_RUN);
    f
}

/// The `join` phase table.
pub fn runner() -> Runner<JoinData> {
    Runner {
        command: "join",
        phases: vec![
            Phase::new("preflight [api-server-endpoint]", "Run join pre-flight checks")
                .long("Run pre-flight checks for kubeadm join.")
                .run(joinphases::preflight)
                .flags(with(&[CONFIG, IGNORE_PREFLIGHT_ERRORS, TLS_BOOTSTRAP_TOKEN, TOKEN, CONTROL_PLANE, APISERVER_ADVERTISE_ADDRESS, APISERVER_BIND_PORT, CRI_SOCKET, NODE_NAME, DISCOVERY_FILE, DISCOVERY_TOKEN, DISCOVERY_TOKEN_CA_CERT_HASH, DISCOVERY_TOKEN_UNSAFE_SKIP], &[CERTIFICATE_KEY, DRY_RUN])),
            Phase::new("control-plane-prepare", "Prepare the machine for serving a control plane").children(vec![
                Phase::all("Prepare the machine for serving a control plane", with(&[APISERVER_ADVERTISE_ADDRESS, APISERVER_BIND_PORT, CONFIG, CONTROL_PLANE, NODE_NAME], &with(&DISCOVERY, &[CERTIFICATE_KEY, PATCHES, DRY_RUN]))),
                Phase::new("download-certs [api-server-endpoint]", "Download certificates shared among control-plane nodes from the kubeadm-certs Secret")
                    .run(joinphases::download_certs).run_if(control_plane)
                    .flags(with(&[CONFIG, CONTROL_PLANE], &with(&DISCOVERY, &[CERTIFICATE_KEY, DRY_RUN]))),
                Phase::new("certs [api-server-endpoint]", "Generate the certificates for the new control plane components")
                    .run(joinphases::control_plane_certs).run_if(control_plane)
                    .flags(with(&[APISERVER_ADVERTISE_ADDRESS, CONFIG, CONTROL_PLANE, NODE_NAME], &with(&DISCOVERY, &[DRY_RUN]))),
                Phase::new("kubeconfig [api-server-endpoint]", "Generate the kubeconfig for the new control plane components")
                    .run(joinphases::control_plane_kubeconfig).run_if(control_plane)
                    .flags(with(&[CONFIG, CONTROL_PLANE], &with(&DISCOVERY, &[CERTIFICATE_KEY, DRY_RUN]))),
                Phase::new("control-plane", "Generate the manifests for the new control plane components")
                    .run(joinphases::control_plane_manifests).run_if(control_plane)
                    .flags(vec![APISERVER_ADVERTISE_ADDRESS, APISERVER_BIND_PORT, CONFIG, CONTROL_PLANE, PATCHES, DRY_RUN])
                    .no_args(),
            ]),
            Phase::new("check-etcd", "").hidden().run(|_| Ok(())).run_if(control_plane),
            Phase::new("kubelet-start [api-server-endpoint]", "Write kubelet settings, certificates and (re)start the kubelet")
                .long("Write a file with KubeletConfiguration and an environment file with node specific kubelet settings, and then (re)start kubelet.")
                .run(joinphases::kubelet_start)
                .flags(with(&[CONFIG, CRI_SOCKET, NODE_NAME], &with(&DISCOVERY, &[PATCHES, DRY_RUN]))),
            Phase::new("etcd-join", "Join etcd for control plane nodes")
                .run(joinphases::etcd_join).run_if(control_plane)
                .flags(cp_join_flags("etcd"))
                .no_args(),
            Phase::new("kubelet-wait-bootstrap", "Wait for the kubelet to bootstrap itself")
                .run(joinphases::kubelet_wait_bootstrap)
                .flags(vec![CONFIG, CRI_SOCKET, DRY_RUN]),
            Phase::new("control-plane-join", "Join a machine as a control plane instance").children(vec![
                Phase::all("Join a machine as a control plane instance", cp_join_flags("all")).no_args(),
                Phase::new("mark-control-plane", "Mark a node as a control-plane")
                    .run(joinphases::mark_control_plane).run_if(control_plane)
                    .flags(cp_join_flags("mark-control-plane"))
                    .no_args(),
            ]),
            Phase::new("wait-control-plane", "Wait for the control plane to start").run(joinphases::wait_control_plane).run_if(control_plane),
        ],
    }
}
