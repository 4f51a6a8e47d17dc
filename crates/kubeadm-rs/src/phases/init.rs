//! `kubeadm init` phases (upstream `cmd/kubeadm/app/cmd/phases/init`): the table, and the run
//! functions of the offline phases (preflight, certs, kubeconfig, etcd, control-plane). The phases
//! that need an API server (kubelet-start onwards) fail with "phase ... is not implemented yet".

use crate::commands::init::InitData;
use crate::flags::names::*;
use crate::workflow::{Phase, PhaseError, Runner};

/// Certificates of the `certs` phase, in upstream order: (name, long name).
pub const CERTS: &[(&str, &str)] = &[
    ("ca", "self-signed Kubernetes CA to provision identities for other Kubernetes components"),
    ("apiserver", "certificate for serving the Kubernetes API"),
    ("apiserver-kubelet-client", "certificate for the API server to connect to kubelet"),
    ("front-proxy-ca", "self-signed CA to provision identities for front proxy"),
    ("front-proxy-client", "certificate for the front proxy client"),
    ("etcd-ca", "self-signed CA to provision identities for etcd"),
    ("etcd-server", "certificate for serving etcd"),
    ("etcd-peer", "certificate for etcd nodes to communicate with each other"),
    ("etcd-healthcheck-client", "certificate for liveness probes to healthcheck etcd"),
    ("apiserver-etcd-client", "certificate the apiserver uses to access etcd"),
];

fn cert_flags(name: &str) -> Vec<&'static str> {
    let mut f = vec![CERT_DIR, CONFIG, KUBERNETES_VERSION, DRY_RUN];
    if name == "all" || name == "apiserver" {
        f.extend([
            APISERVER_ADVERTISE_ADDRESS,
            CONTROL_PLANE_ENDPOINT,
            APISERVER_CERT_SANS,
            SERVICE_DNS_DOMAIN,
            SERVICE_CIDR,
        ]);
    }
    f
}

fn kubeconfig_flags(name: &str) -> Vec<&'static str> {
    let mut f = vec![
        APISERVER_ADVERTISE_ADDRESS,
        CONTROL_PLANE_ENDPOINT,
        APISERVER_BIND_PORT,
        CERT_DIR,
        CONFIG,
        KUBECONFIG_DIR,
        KUBERNETES_VERSION,
        DRY_RUN,
    ];
    if name == "all" || name == "kubelet" {
        f.push(NODE_NAME);
    }
    f
}

fn control_plane_flags(name: &str) -> Vec<&'static str> {
    let mut f = vec![CONFIG, CERT_DIR, KUBERNETES_VERSION, IMAGE_REPOSITORY, PATCHES, DRY_RUN];
    if name == "all" || name == "apiserver" {
        f.extend([
            APISERVER_ADVERTISE_ADDRESS,
            CONTROL_PLANE_ENDPOINT,
            APISERVER_BIND_PORT,
            APISERVER_EXTRA_ARGS,
            FEATURE_GATES,
            SERVICE_CIDR,
        ]);
    }
    if name == "all" || name == "controller-manager" {
        f.extend([CONTROLLER_MANAGER_EXTRA_ARGS, POD_NETWORK_CIDR]);
    }
    if name == "all" || name == "scheduler" {
        f.push(SCHEDULER_EXTRA_ARGS);
    }
    f
}

fn addon_flags(name: &str) -> Vec<&'static str> {
    let mut f = vec![CONFIG, KUBECONFIG, KUBERNETES_VERSION, IMAGE_REPOSITORY, DRY_RUN];
    if name == "all" || name == "kube-proxy" {
        f.extend([
            APISERVER_ADVERTISE_ADDRESS,
            CONTROL_PLANE_ENDPOINT,
            APISERVER_BIND_PORT,
            POD_NETWORK_CIDR,
        ]);
    }
    if name == "all" || name == "coredns" {
        f.extend([FEATURE_GATES, SERVICE_DNS_DOMAIN, SERVICE_CIDR]);
    }
    if name != "all" {
        f.push("print-manifest");
    }
    f
}

fn upload_config_flags() -> Vec<&'static str> {
    vec![CONFIG, CRI_SOCKET, KUBECONFIG, DRY_RUN]
}

macro_rules! cert_run {
    ($name:literal) => {
        |d: &mut InitData| d.run_cert($name)
    };
}

fn cert_phase(
    name: &'static str,
    long_name: &str,
    run: fn(&mut InitData) -> Result<(), PhaseError>,
) -> Phase<InitData> {
    let base = cert_base_name(name);
    let sans_note = if name == "apiserver" {
        "\n\nDefault SANs are kubernetes, kubernetes.default, kubernetes.default.svc, kubernetes.default.svc.cluster.local, 10.96.0.1, 127.0.0.1"
    } else {
        ""
    };
    Phase::new(name, format!("Generate the {long_name}"))
        .long(format!(
            "Generate the {long_name}, and save them into {base}.crt and {base}.key files.{sans_note}\n\nIf both files already exist, kubeadm-rs skips the generation step and uses the existing files."
        ))
        .run(run)
        .flags(cert_flags(name))
}

/// File base name (without .crt/.key) of a certificate of the `certs` phase.
pub fn cert_base_name(name: &str) -> &'static str {
    match name {
        "ca" => "ca",
        "apiserver" => "apiserver",
        "apiserver-kubelet-client" => "apiserver-kubelet-client",
        "front-proxy-ca" => "front-proxy-ca",
        "front-proxy-client" => "front-proxy-client",
        "etcd-ca" => "etcd/ca",
        "etcd-server" => "etcd/server",
        "etcd-peer" => "etcd/peer",
        "etcd-healthcheck-client" => "etcd/healthcheck-client",
        "apiserver-etcd-client" => "apiserver-etcd-client",
        _ => "",
    }
}

fn long_name(name: &str) -> &'static str {
    CERTS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l).unwrap_or("")
}

/// The `init` phase table.
pub fn runner() -> Runner<InitData> {
    let certs = vec![
        Phase::all("Generate all certificates", cert_flags("all")),
        cert_phase("ca", long_name("ca"), cert_run!("ca")),
        cert_phase("apiserver", long_name("apiserver"), cert_run!("apiserver")),
        cert_phase("apiserver-kubelet-client", long_name("apiserver-kubelet-client"), cert_run!("apiserver-kubelet-client")),
        cert_phase("front-proxy-ca", long_name("front-proxy-ca"), cert_run!("front-proxy-ca")),
        cert_phase("front-proxy-client", long_name("front-proxy-client"), cert_run!("front-proxy-client")),
        cert_phase("etcd-ca", long_name("etcd-ca"), cert_run!("etcd-ca")),
        cert_phase("etcd-server", long_name("etcd-server"), cert_run!("etcd-server")),
        cert_phase("etcd-peer", long_name("etcd-peer"), cert_run!("etcd-peer")),
        cert_phase("etcd-healthcheck-client", long_name("etcd-healthcheck-client"), cert_run!("etcd-healthcheck-client")),
        cert_phase("apiserver-etcd-client", long_name("apiserver-etcd-client"), cert_run!("apiserver-etcd-client")),
        Phase::new("sa", "Generate a private key for signing service account tokens along with its public key")
            .long("Generate the private key that signs service account tokens, and its public key, into sa.key and sa.pub.\n\nIf both files already exist, kubeadm-rs skips the generation step and uses the existing files.")
            .run(|d: &mut InitData| d.run_sa())
            .flags(cert_flags("sa")),
    ];
    let kubeconfig = vec![
        Phase::all("Generate all kubeconfig files", kubeconfig_flags("all")),
        Phase::new("admin", "Generate a kubeconfig file for the admin to use and for kubeadm itself")
            .long("Generate the kubeconfig file for the admin and for kubeadm itself, into admin.conf.")
            .run(|d: &mut InitData| d.run_kubeconfig("admin.conf"))
            .flags(kubeconfig_flags("admin.conf")),
        Phase::new("super-admin", "Generate a kubeconfig file for the super-admin")
            .long("Generate a kubeconfig file for the super-admin, into super-admin.conf.")
            .run(|d: &mut InitData| d.run_kubeconfig("super-admin.conf"))
            .flags(kubeconfig_flags("super-admin.conf")),
        Phase::new("kubelet", "Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes")
            .long("Generate the kubeconfig file for the kubelet, into kubelet.conf.\n\nUse it *only* to bootstrap the cluster: once the control plane is up, request all kubelet credentials through the CSR API.")
            .run(|d: &mut InitData| d.run_kubeconfig("kubelet.conf"))
            .flags(kubeconfig_flags("kubelet")),
        Phase::new("controller-manager", "Generate a kubeconfig file for the controller manager to use")
            .long("Generate the kubeconfig file for the controller manager, into controller-manager.conf")
            .run(|d: &mut InitData| d.run_kubeconfig("controller-manager.conf"))
            .flags(kubeconfig_flags("controller-manager.conf")),
        Phase::new("scheduler", "Generate a kubeconfig file for the scheduler to use")
            .long("Generate the kubeconfig file for the scheduler, into scheduler.conf.")
            .run(|d: &mut InitData| d.run_kubeconfig("scheduler.conf"))
            .flags(kubeconfig_flags("scheduler.conf")),
    ];
    let control_plane = vec![
        Phase::all("Generate all static Pod manifest files", control_plane_flags("all")),
        Phase::new("apiserver", "Generates the kube-apiserver static Pod manifest")
            .run(|d: &mut InitData| d.run_control_plane("kube-apiserver"))
            .flags(control_plane_flags("apiserver")),
        Phase::new("controller-manager", "Generates the kube-controller-manager static Pod manifest")
            .run(|d: &mut InitData| d.run_control_plane("kube-controller-manager"))
            .flags(control_plane_flags("controller-manager")),
        Phase::new("scheduler", "Generates the kube-scheduler static Pod manifest")
            .run(|d: &mut InitData| d.run_control_plane("kube-scheduler"))
            .flags(control_plane_flags("scheduler")),
    ];
    Runner {
        command: "init",
        phases: vec![
            Phase::new("preflight", "Run pre-flight checks")
                .long("Run pre-flight checks for kubeadm init.")
                .example("  # Run pre-flight checks for kubeadm init using a config file.\n  kubeadm-rs init phase preflight --config kubeadm-config.yaml")
                .run(|d: &mut InitData| d.run_preflight())
                .flags(vec![CONFIG, IMAGE_REPOSITORY, CRI_SOCKET, IGNORE_PREFLIGHT_ERRORS, DRY_RUN]),
            Phase::new("certs", "Certificate generation").run(|d: &mut InitData| d.run_certs_group()).children(certs),
            Phase::new("kubeconfig", "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file")
                .run(|d: &mut InitData| d.run_kubeconfig_group())
                .children(kubeconfig),
            Phase::new("etcd", "Generate static Pod manifest file for local etcd").children(vec![
                Phase::new("local", "Generate the static Pod manifest file for a local, single-node local etcd instance")
                    .example("  # Generate the static Pod manifest file for etcd, using a config file.\n  kubeadm-rs init phase etcd local --config config.yaml")
                    .run(|d: &mut InitData| d.run_etcd_local())
                    .flags(vec![CERT_DIR, CONFIG, IMAGE_REPOSITORY, PATCHES, DRY_RUN]),
            ]),
            Phase::new("control-plane", "Generate all static Pod manifest files necessary to establish the control plane")
                .run(|d: &mut InitData| d.run_control_plane_group())
                .children(control_plane),
            Phase::new("kubelet-start", "Write kubelet settings and (re)start the kubelet")
                .long("Write a file with KubeletConfiguration and an environment file with node specific kubelet settings, and then (re)start kubelet.")
                .run(crate::apiphases::kubelet_start)
                .flags(vec![CONFIG, IMAGE_REPOSITORY, CRI_SOCKET, NODE_NAME, PATCHES, DRY_RUN]),
            Phase::new("wait-control-plane", "Wait for the control plane to start").run(crate::apiphases::wait_control_plane),
            Phase::new("upload-config", "Upload the kubeadm and kubelet configuration to a ConfigMap")
                .aliases(&["uploadconfig"])
                .children(vec![
                    Phase::all("Upload all configuration to a config map", upload_config_flags()),
                    Phase::new("kubeadm", "Upload the kubeadm ClusterConfiguration to a ConfigMap")
                        .run(crate::apiphases::upload_config_kubeadm)
                        .flags(upload_config_flags()),
                    Phase::new("kubelet", "Upload the kubelet component config to a ConfigMap")
                        .run(crate::apiphases::upload_config_kubelet)
                        .flags(upload_config_flags()),
                ]),
            Phase::new("upload-certs", "Upload certificates to kubeadm-certs")
                .long("Upload control plane certificates to the kubeadm-certs Secret")
                .run(crate::apiphases::upload_certs)
                .flags(vec![CONFIG, KUBECONFIG, UPLOAD_CERTS, CERTIFICATE_KEY, SKIP_CERTIFICATE_KEY_PRINT, DRY_RUN]),
            Phase::new("mark-control-plane", "Mark a node as a control-plane")
                .run(crate::apiphases::mark_control_plane)
                .flags(vec![NODE_NAME, CONFIG, DRY_RUN]),
            Phase::new("bootstrap-token", "Generates bootstrap tokens used to join a node to a cluster")
                .aliases(&["bootstraptoken"])
                .run(crate::apiphases::bootstrap_token)
                .flags(vec![CONFIG, KUBECONFIG, SKIP_TOKEN_PRINT, DRY_RUN]),
            Phase::new("kubelet-finalize", "Updates settings relevant to the kubelet after TLS bootstrap").children(vec![
                Phase::all("Run all kubelet-finalize phases", vec![CONFIG, CERT_DIR, DRY_RUN]),
                Phase::new("enable-client-cert-rotation", "Enable kubelet client certificate rotation")
                    .run(crate::apiphases::kubelet_finalize_cert_rotation)
                    .flags(vec![CONFIG, CERT_DIR, DRY_RUN]),
            ]),
            Phase::new("addon", "Install required addons for passing conformance tests").children(vec![
                Phase::all("Install all the addons", addon_flags("all")),
                Phase::new("coredns", "Install the CoreDNS addon to a Kubernetes cluster")
                    .long("Install the CoreDNS addon components via the API server. Please note that although the DNS server is deployed, it will not be scheduled until CNI is installed.")
                    .run(crate::apiphases::addon_coredns)
                    .flags(addon_flags("coredns")),
                Phase::new("kube-proxy", "Install the kube-proxy addon to a Kubernetes cluster")
                    .long("Install the kube-proxy addon components via the API server.")
                    .run(crate::apiphases::addon_kube_proxy)
                    .flags(addon_flags("kube-proxy")),
            ]),
            Phase::new("show-join-command", "Show the join command for control-plane and worker node")
                .run(crate::apiphases::show_join_command)
                .deps(&["bootstrap-token", "upload-certs"]),
        ],
    }
}

/// Every later (API-server) phase: what `--skip-phases` must list to run only the offline part.
#[allow(dead_code)] // documents what --skip-phases must list for the offline part (docs/cli.md)
pub const ONLINE_PHASES: &[&str] = &[
    "kubelet-start",
    "wait-control-plane",
    "upload-config",
    "upload-certs",
    "mark-control-plane",
    "bootstrap-token",
    "kubelet-finalize",
    "addon",
    "show-join-command",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_phase_names_match_upstream() {
        let want = [
            "preflight",
            "certs",
            "certs/all",
            "certs/ca",
            "certs/apiserver",
            "certs/apiserver-kubelet-client",
            "certs/front-proxy-ca",
            "certs/front-proxy-client",
            "certs/etcd-ca",
            "certs/etcd-server",
            "certs/etcd-peer",
            "certs/etcd-healthcheck-client",
            "certs/apiserver-etcd-client",
            "certs/sa",
            "kubeconfig",
            "kubeconfig/all",
            "kubeconfig/admin",
            "kubeconfig/super-admin",
            "kubeconfig/kubelet",
            "kubeconfig/controller-manager",
            "kubeconfig/scheduler",
            "etcd",
            "etcd/local",
            "control-plane",
            "control-plane/all",
            "control-plane/apiserver",
            "control-plane/controller-manager",
            "control-plane/scheduler",
            "kubelet-start",
            "wait-control-plane",
            "upload-config",
            "upload-config/all",
            "upload-config/kubeadm",
            "upload-config/kubelet",
            "upload-certs",
            "mark-control-plane",
            "bootstrap-token",
            "kubelet-finalize",
            "kubelet-finalize/all",
            "kubelet-finalize/enable-client-cert-rotation",
            "addon",
            "addon/all",
            "addon/coredns",
            "addon/kube-proxy",
            "show-join-command",
        ];
        assert_eq!(runner().names(), want);
    }

    #[test]
    fn init_help_tree_golden() {
        let want = r#"The "init" command executes the following phases:
```
preflight                     Run pre-flight checks
certs                         Certificate generation
  /ca                           Generate the self-signed Kubernetes CA to provision identities for other Kubernetes components
  /apiserver                    Generate the certificate for serving the Kubernetes API
  /apiserver-kubelet-client     Generate the certificate for the API server to connect to kubelet
  /front-proxy-ca               Generate the self-signed CA to provision identities for front proxy
  /front-proxy-client           Generate the certificate for the front proxy client
  /etcd-ca                      Generate the self-signed CA to provision identities for etcd
  /etcd-server                  Generate the certificate for serving etcd
  /etcd-peer                    Generate the certificate for etcd nodes to communicate with each other
  /etcd-healthcheck-client      Generate the certificate for liveness probes to healthcheck etcd
  /apiserver-etcd-client        Generate the certificate the apiserver uses to access etcd
  /sa                           Generate a private key for signing service account tokens along with its public key
kubeconfig                    Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file
  /admin                        Generate a kubeconfig file for the admin to use and for kubeadm itself
  /super-admin                  Generate a kubeconfig file for the super-admin
  /kubelet                      Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes
  /controller-manager           Generate a kubeconfig file for the controller manager to use
  /scheduler                    Generate a kubeconfig file for the scheduler to use
etcd                          Generate static Pod manifest file for local etcd
  /local                        Generate the static Pod manifest file for a local, single-node local etcd instance
control-plane                 Generate all static Pod manifest files necessary to establish the control plane
  /apiserver                    Generates the kube-apiserver static Pod manifest
  /controller-manager           Generates the kube-controller-manager static Pod manifest
  /scheduler                    Generates the kube-scheduler static Pod manifest
kubelet-start                 Write kubelet settings and (re)start the kubelet
wait-control-plane            Wait for the control plane to start
upload-config                 Upload the kubeadm and kubelet configuration to a ConfigMap
  /kubeadm                      Upload the kubeadm ClusterConfiguration to a ConfigMap
  /kubelet                      Upload the kubelet component config to a ConfigMap
upload-certs                  Upload certificates to kubeadm-certs
mark-control-plane            Mark a node as a control-plane
bootstrap-token               Generates bootstrap tokens used to join a node to a cluster
kubelet-finalize              Updates settings relevant to the kubelet after TLS bootstrap
  /enable-client-cert-rotation  Enable kubelet client certificate rotation
addon                         Install required addons for passing conformance tests
  /coredns                      Install the CoreDNS addon to a Kubernetes cluster
  /kube-proxy                   Install the kube-proxy addon to a Kubernetes cluster
show-join-command             Show the join command for control-plane and worker node
```"#;
        assert_eq!(runner().help(), want);
    }

    #[test]
    fn join_and_reset_names_match_upstream() {
        let join = crate::phases::join::runner().names();
        assert_eq!(
            join,
            [
                "preflight",
                "control-plane-prepare",
                "control-plane-prepare/all",
                "control-plane-prepare/download-certs",
                "control-plane-prepare/certs",
                "control-plane-prepare/kubeconfig",
                "control-plane-prepare/control-plane",
                "check-etcd",
                "kubelet-start",
                "etcd-join",
                "kubelet-wait-bootstrap",
                "control-plane-join",
                "control-plane-join/all",
                "control-plane-join/mark-control-plane",
                "wait-control-plane",
            ]
        );
        assert_eq!(
            crate::phases::reset::runner().names(),
            ["preflight", "remove-etcd-member", "cleanup-node"]
        );
    }
}
