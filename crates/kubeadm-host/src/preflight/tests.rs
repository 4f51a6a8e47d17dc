use super::*;
use crate::fake::FakeHost;
use crate::hostenv::HttpGetError;

fn run1(c: &dyn Checker, h: &FakeHost) -> CheckResult {
    c.check(h)
}

fn assert_ok(c: &dyn Checker, h: &FakeHost) {
    let r = run1(c, h);
    assert!(r.errors.is_empty() && r.warnings.is_empty(), "{}: {r:?}", c.name());
}

fn input() -> InitPreflightInput {
    InitPreflightInput {
        kubeadm_version: "v1.37.2".into(),
        kubernetes_version: "v1.37.2".into(),
        bind_port: 6443,
        advertise_address: "10.0.0.2".into(),
        apiserver_bind_address: None,
        apiserver_advertise_address_arg: None,
        scheduler_bind_address: None,
        controller_manager_bind_address: None,
        service_subnet: "10.96.0.0/12".into(),
        pod_subnet: String::new(),
        etcd: EtcdInput::Local { data_dir: "/var/lib/etcd".into() },
        manifests_dir: "/etc/kubernetes/manifests".into(),
        cert_dir: "/etc/kubernetes/pki".into(),
        node_name: "node-1".into(),
        cri_socket: "unix:///var/run/containerd/containerd.sock".into(),
        image_pull_policy: PullPolicy::IfNotPresent,
        images: vec!["registry.k8s.io/kube-apiserver:v1.37.2".into(), "registry.k8s.io/pause:3.10.1".into()],
        sandbox_image: "registry.k8s.io/pause:3.10.1".into(),
        secondary_control_plane: false,
        download_certs: false,
    }
}

#[test]
fn privileged_user() {
    let mut h = FakeHost::default();
    assert_ok(&IsPrivilegedUserCheck, &h);
    h.uid = 1000;
    assert_eq!(run1(&IsPrivilegedUserCheck, &h).errors, vec!["user is not running as root"]);
}

#[test]
fn cpu_and_mem() {
    let mut h = FakeHost::default();
    assert_ok(&NumCpuCheck { num_cpu: 2 }, &h);
    assert_ok(&MemCheck { mem_mb: 1700 }, &h);
    h.cpus = 1;
    h.mem_mb = 1024;
    assert_eq!(
        run1(&NumCpuCheck { num_cpu: 2 }, &h).errors,
        vec!["the number of available CPUs 1 is less than the required 2"]
    );
    assert_eq!(
        run1(&MemCheck { mem_mb: 1700 }, &h).errors,
        vec!["the system RAM (1024 MB) is less than the minimum 1700 MB"]
    );
}

#[test]
fn kubernetes_version() {
    let h = FakeHost::default();
    let c =
        |k: &str| KubernetesVersionCheck { kubeadm_version: "v1.37.2".into(), kubernetes_version: k.into() };
    assert_ok(&c("v1.37.0"), &h);
    assert_ok(&c("v1.36.5"), &h);
    let r = run1(&c("v1.38.0-alpha.0"), &h);
    assert_eq!(
        r.warnings,
        vec![
            "Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: 1.38.0-alpha.0. Kubeadm version: 1.37.x"
        ]
    );
    assert!(r.errors.is_empty());
    assert!(run1(&c("latest"), &h).errors[0].starts_with("couldn't parse Kubernetes version \"latest\""));
}

#[test]
fn firewalld_and_service() {
    let mut h = FakeHost::default();
    let fw = FirewalldCheck { ports: vec![6443, 10250] };
    let svc = ServiceCheck { service: "kubelet".into(), check_if_active: false };
    assert_ok(&fw, &h);
    assert_ok(&svc, &h);
    h.command("systemctl status firewalld", true, "Loaded: loaded\n");
    h.command("systemctl is-active firewalld", true, "active\n");
    h.command("systemctl is-enabled kubelet", false, "disabled\n");
    assert_eq!(
        run1(&fw, &h).warnings,
        vec![
            "firewalld is active, please ensure ports [6443 10250] are open or your cluster may not function correctly"
        ]
    );
    assert_eq!(svc.name(), "Service-kubelet");
    assert_eq!(
        run1(&svc, &h).warnings,
        vec!["kubelet service is not enabled, please run 'systemctl enable kubelet.service'"]
    );
    // systemd not PID 1 (this machine): systemctl present but prints nothing on stdout.
    h.commands.clear();
    let r = run1(&svc, &h);
    assert_eq!(
        r.warnings,
        vec!["kubelet service is not enabled, please run 'systemctl enable kubelet.service'"]
    );
    assert_ok(&fw, &h);
    h.path_exes.remove("systemctl");
    assert_eq!(
        run1(&svc, &h).warnings,
        vec!["no supported init system detected, skipping checking for services"]
    );
    // A kubelet service program (kubeadm-rs extension) replaces the unit check.
    h.env.push(("KUBEADM_RS_KUBELET_SERVICE".into(), "/usr/local/sbin/kubelet-service".into()));
    assert_ok(&svc, &h);
}

#[test]
fn ports() {
    let mut h = FakeHost::default();
    let c = PortOpenCheck { address: String::new(), port: 6443 };
    assert_eq!(c.name(), "Port-6443");
    assert_ok(&c, &h);
    h.busy_ports.insert(6443);
    assert_eq!(run1(&c, &h).errors, vec!["Port 6443 is in use"]);
}

#[test]
fn dir_and_file_availability() {
    let mut h = FakeHost::default();
    let d = DirAvailableCheck { path: "/var/lib/etcd".into(), label: None };
    assert_eq!(d.name(), "DirAvailable--var-lib-etcd");
    assert_ok(&d, &h);
    h.dirs.insert("/var/lib/etcd".into(), vec![]);
    assert_ok(&d, &h);
    h.dirs.insert("/var/lib/etcd".into(), vec!["member".into()]);
    assert_eq!(run1(&d, &h).errors, vec!["/var/lib/etcd is not empty"]);

    let f = FileAvailableCheck { path: "/etc/kubernetes/manifests/kube-apiserver.yaml".into(), label: None };
    assert_eq!(f.name(), "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml");
    assert_ok(&f, &h);
    h.file("/etc/kubernetes/manifests/kube-apiserver.yaml", b"x");
    assert_eq!(run1(&f, &h).errors, vec!["/etc/kubernetes/manifests/kube-apiserver.yaml already exists"]);

    let e = FileExistingCheck {
        path: "/etc/etcd/ca.crt".into(),
        label: Some("ExternalEtcdClientCertificates".into()),
    };
    assert_eq!(e.name(), "ExternalEtcdClientCertificates");
    assert_eq!(run1(&e, &h).errors, vec!["/etc/etcd/ca.crt doesn't exist"]);
    h.file("/etc/etcd/ca.crt", b"c");
    assert_ok(&e, &h);
}

#[test]
fn file_content() {
    let mut h = FakeHost::default();
    let c = FileContentCheck { path: IPV4_FORWARD.into(), content: b"1".to_vec() };
    assert_eq!(c.name(), "FileContent--proc-sys-net-ipv4-ip_forward");
    assert_ok(&c, &h);
    h.file(IPV4_FORWARD, b"0\n");
    assert_eq!(run1(&c, &h).errors, vec!["/proc/sys/net/ipv4/ip_forward contents are not set to 1"]);
    h.files.remove(std::path::Path::new(IPV4_FORWARD));
    assert_eq!(run1(&c, &h).errors, vec!["/proc/sys/net/ipv4/ip_forward does not exist"]);
    let v6 = FileContentCheck { path: IPV6_DEFAULT_FORWARDING.into(), content: b"1".to_vec() };
    assert_eq!(v6.name(), "FileContent--proc-sys-net-ipv6-conf-default-forwarding");
}

#[test]
fn in_path() {
    let mut h = FakeHost::default();
    let m = InPathCheck { executable: "losetup".into(), mandatory: true, suggestion: None };
    assert_eq!(m.name(), "FileExisting-losetup");
    assert_ok(&m, &h);
    h.path_exes.remove("losetup");
    assert_eq!(run1(&m, &h).errors, vec!["losetup not found in system path"]);
    let o = InPathCheck {
        executable: "socat".into(),
        mandatory: false,
        suggestion: Some("apt install socat".into()),
    };
    let r = run1(&o, &h);
    assert!(r.errors.is_empty());
    assert_eq!(r.warnings, vec!["socat not found in system path\nSuggestion: apt install socat"]);
}

#[test]
fn hostname() {
    let mut h = FakeHost::default();
    assert_ok(&HostnameCheck { node_name: "node-1".into() }, &h);
    let r = run1(&HostnameCheck { node_name: "bad_name-".into() }, &h);
    assert!(r.errors.is_empty());
    assert!(
        r.warnings[0].starts_with("invalid node name format \"bad_name-\": name part must consist of"),
        "{r:?}"
    );
    assert!(r.warnings.iter().any(|w| w == "hostname \"bad_name-\" could not be reached"));
    h.dns.insert("bad_name-".into(), vec![]);
    assert!(run1(&HostnameCheck { node_name: "bad_name-".into() }, &h).warnings.len() == 2);
    assert!(
        qualified_name_errors(&"a".repeat(64)).iter().any(|m| m == "name part must be no more than 63 bytes")
    );
    assert!(qualified_name_errors("example.com/node").is_empty());
    assert!(
        qualified_name_errors("Example.com/node")[0]
            .starts_with("prefix part a lowercase RFC 1123 subdomain")
    );
}

#[test]
fn http_proxy_checks() {
    let mut h = FakeHost::default();
    let p = HttpProxyCheck { proto: "https".into(), host: "10.0.0.2".into() };
    let c = HttpProxyCidrCheck { proto: "https".into(), cidr: "10.96.0.0/12".into() };
    assert_ok(&p, &h);
    assert_ok(&c, &h);
    assert_ok(&HttpProxyCidrCheck { proto: "https".into(), cidr: String::new() }, &h);
    h.set_env("https_proxy", "proxy.corp:3128");
    assert_eq!(
        run1(&p, &h).warnings,
        vec![
            "Connection to \"https://10.0.0.2\" uses proxy \"http://proxy.corp:3128\". If that is not intended, adjust your proxy settings"
        ]
    );
    assert_eq!(
        run1(&c, &h).warnings,
        vec![
            "connection to \"10.96.0.0/12\" uses proxy \"http://proxy.corp:3128\". This may lead to malfunctional cluster setup. Make sure that Pod and Services IP ranges specified correctly as exceptions in proxy configuration"
        ]
    );
    let p6 = HttpProxyCheck { proto: "https".into(), host: "fd00::2".into() };
    assert!(run1(&p6, &h).warnings[0].starts_with("Connection to \"https://[fd00::2]:1234\""));
    h.set_env("NO_PROXY", "10.0.0.0/8,fd00::/8");
    assert_ok(&p, &h);
    assert_ok(&c, &h);
    assert_ok(&p6, &h);
    let bad = HttpProxyCidrCheck { proto: "https".into(), cidr: "10.96.0.0/33".into() };
    assert!(run1(&bad, &h).errors[0].starts_with("error parsing CIDR \"10.96.0.0/33\""));
}

#[test]
fn swap() {
    let mut h = FakeHost::default();
    assert_ok(&SwapCheck, &h);
    h.file("/proc/swaps", b"Filename Type Size Used Priority\n/swapfile file 1024 0 -2\n");
    let r = run1(&SwapCheck, &h);
    assert!(r.errors.is_empty());
    assert!(r.warnings[0].starts_with("swap is supported for cgroup v2 only."));
    h.files.remove(std::path::Path::new("/proc/swaps"));
    assert_ok(&SwapCheck, &h);
}

#[test]
fn kubelet_version() {
    let mut h = FakeHost::default();
    let c = KubeletVersionCheck {
        kubernetes_version: "v1.37.2".into(),
        min_kubelet_version: minimum_kubelet_version("v1.37.2"),
    };
    assert_eq!(c.min_kubelet_version.to_string(), "1.34.0");
    assert_ok(&c, &h);
    h.command("kubelet --version", true, "Kubernetes v1.33.9\n");
    assert_eq!(
        run1(&c, &h).errors,
        vec!["Kubelet version \"1.33.9\" is lower than kubeadm can support. Please upgrade kubelet"]
    );
    h.command("kubelet --version", true, "Kubernetes v1.38.0\n");
    assert!(
        run1(&c, &h).errors[0].starts_with("the kubelet version is higher than the control plane version.")
    );
    h.command("kubelet --version", true, "garbage");
    assert_eq!(
        run1(&c, &h).errors,
        vec!["couldn't get kubelet version: Unable to parse output from Kubelet: \"garbage\""]
    );
    h.path_exes.remove("kubelet");
    assert_eq!(
        run1(&c, &h).errors,
        vec![
            "couldn't get kubelet version: cannot execute 'kubelet --version': exec: \"kubelet\": executable file not found in $PATH"
        ]
    );
}

#[test]
fn system_verification_v2_passes() {
    let h = FakeHost::default();
    let r = run1(&SystemVerificationCheck::default(), &h);
    assert!(r.errors.is_empty() && r.warnings.is_empty(), "{r:?}");
    assert!(r.stdout.is_empty());
}

fn cgroup_v1(h: &mut FakeHost) {
    h.file(
        "/proc/mounts",
        b"tmpfs /sys/fs/cgroup tmpfs ro 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n",
    );
    h.dirs.insert("/sys/fs/cgroup/memory".into(), vec!["tasks".into()]);
    h.file(
        "/proc/cgroups",
        b"#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t1\t1\t1\ncpu\t2\t1\t1\ncpuacct\t2\t1\t1\nblkio\t3\t1\t1\nmemory\t4\t1\t1\ndevices\t5\t1\t1\nfreezer\t6\t1\t1\npids\t7\t1\t1\nhugetlb\t8\t1\t1\n",
    );
}

#[test]
fn system_verification_cgroup_v1_is_error_for_new_kubelet() {
    let mut h = FakeHost::default();
    cgroup_v1(&mut h);
    let r = run1(&SystemVerificationCheck::default(), &h);
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(r.errors[0].starts_with("cgroups v1 support is deprecated"));
    assert!(r.stdout.starts_with(
        "[preflight] The system verification failed. Printing the output from the verification:\n"
    ));
    assert!(r.stdout.contains("KERNEL_VERSION"));
    assert!(r.stdout.contains("CGROUPS_MEMORY"));
    // Older kubelet: only a warning.
    h.command("kubelet --version", true, "Kubernetes v1.34.1");
    let r = run1(&SystemVerificationCheck::default(), &h);
    assert!(r.errors.is_empty(), "{r:?}");
    assert!(r.warnings[0].starts_with("cgroups v1 support is deprecated"));
}

#[test]
fn system_verification_kernel_problems() {
    let mut h = FakeHost::default();
    h.uname.1 = "4.19.0".into();
    h.file("/boot/config-4.19.0", b"CONFIG_NAMESPACES=y\n");
    let r = run1(&SystemVerificationCheck::default(), &h);
    assert!(r.warnings[0].starts_with("kernel release 4.19.0 is unsupported."));
    assert!(r.errors[0].starts_with("unexpected kernel config: CONFIG_NET_NS CONFIG_PID_NS"), "{r:?}");
    // No config anywhere and modprobe missing.
    h.files.remove(std::path::Path::new("/boot/config-4.19.0"));
    let r = run1(&SystemVerificationCheck::default(), &h);
    assert!(
        r.errors[0].starts_with("failed to parse kernel config: unable to load kernel module: \"configs\""),
        "{r:?}"
    );
    // Missing required cgroup (v2).
    let mut h = FakeHost::default();
    h.file("/sys/fs/cgroup/cgroup.controllers", b"cpu io memory pids\n");
    let r = run1(&SystemVerificationCheck::default(), &h);
    assert_eq!(r.errors, vec!["missing required cgroups: cpuset"]);
    assert_eq!(r.warnings, vec!["missing optional cgroups: hugetlb"]);
    // /proc/config.gz is decompressed.
    let mut h = FakeHost::default();
    let cfg = h.files.remove(std::path::Path::new("/boot/config-6.1.0")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &cfg).unwrap();
    h.file("/proc/config.gz", &enc.finish().unwrap());
    let r = run1(&SystemVerificationCheck::default(), &h);
    assert!(r.errors.is_empty(), "{r:?}");
}

#[test]
fn cri_checks() {
    let mut h = FakeHost::default();
    let c = ContainerRuntimeCheck { cri_socket: "unix:///run/containerd/containerd.sock".into() };
    let v = ContainerRuntimeVersionCheck { cri_socket: "unix:///run/containerd/containerd.sock".into() };
    assert_ok(&c, &h);
    assert_ok(&v, &h);
    h.cri_runtime_config = false;
    assert!(run1(&v, &h).warnings[0].starts_with("You must update your container runtime"));
    if let Ok(conds) = &mut h.cri {
        conds[0].status = false;
        conds[0].reason = "NotReady".into();
        conds[0].message = "starting".into();
    }
    assert_eq!(
        run1(&c, &h).errors,
        vec!["container runtime condition \"RuntimeReady\" is not true. reason: NotReady, message: starting"]
    );
    h.cri = Err("failed to create new CRI runtime service: boom".into());
    assert_eq!(
        run1(&c, &h).errors,
        vec!["could not connect to the container runtime: failed to create new CRI runtime service: boom"]
    );
    assert_eq!(run1(&v, &h).errors.len(), 1);
}

#[test]
fn image_pull() {
    let mut h = FakeHost::default();
    let mut c = ImagePullCheck {
        cri_socket: "unix:///x.sock".into(),
        images: vec!["a:1".into(), "b:1".into()],
        sandbox_image: "registry.k8s.io/pause:3.10.1".into(),
        policy: PullPolicy::IfNotPresent,
    };
    h.images.lock().unwrap().insert("a:1".into());
    assert_ok(&c, &h);
    assert_eq!(*h.pulled.lock().unwrap(), vec!["b:1".to_string()]);
    c.policy = PullPolicy::Always;
    h.failing_pulls.insert("b:1".into());
    let r = run1(&c, &h);
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].starts_with("failed to pull image b:1"));
    c.policy = PullPolicy::Never;
    h.pulled.lock().unwrap().clear();
    assert_ok(&c, &h);
    assert!(h.pulled.lock().unwrap().is_empty());
}

#[test]
fn external_etcd_version() {
    let mut h = FakeHost::default();
    let mut c = ExternalEtcdVersionCheck {
        endpoints: vec!["http://10.0.0.9:2379".into(), "https://10.0.0.10:2379".into()],
        min_version: MIN_EXTERNAL_ETCD_VERSION.into(),
        ca_file: String::new(),
        cert_file: String::new(),
        key_file: String::new(),
    };
    h.http.insert(
        "http://10.0.0.9:2379/version".into(),
        Ok(r#"{"etcdserver":"3.6.5","etcdcluster":"3.6.0"}"#.into()),
    );
    h.http.insert("https://10.0.0.10:2379/version".into(), Err(HttpGetError::Unsupported("no TLS".into())));
    let r = run1(&c, &h);
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.warnings.len(), 1);
    h.http.insert("http://10.0.0.9:2379/version".into(), Ok(r#"{"etcdserver":"3.4.23"}"#.into()));
    assert_eq!(
        run1(&c, &h).errors,
        vec![
            "this version of kubeadm only supports external etcd version >= 3.5.24-0. Current version: 3.4.23"
        ]
    );

    // The CA and the client pair are read first (upstream's messages) and given to the request.
    c.ca_file = "/etc/etcd/ca.crt".into();
    c.cert_file = "/etc/etcd/client.crt".into();
    c.key_file = "/etc/etcd/client.key".into();
    assert_eq!(
        run1(&c, &h).errors,
        vec![
            "couldn't load external etcd's server certificate /etc/etcd/ca.crt: open /etc/etcd/ca.crt: no such file or directory"
        ]
    );
    h.file("/etc/etcd/ca.crt", b"CA").file("/etc/etcd/client.crt", b"CERT");
    assert_eq!(
        run1(&c, &h).errors,
        vec![
            "couldn't load external etcd's certificate and key pair /etc/etcd/client.crt, /etc/etcd/client.key: open /etc/etcd/client.key: no such file or directory"
        ]
    );
    h.file("/etc/etcd/client.key", b"KEY");
    h.http.insert("http://10.0.0.9:2379/version".into(), Ok(r#"{"etcdserver":"3.7.0"}"#.into()));
    h.http.insert(
        "https://10.0.0.10:2379/version".into(),
        Err(HttpGetError::Failed("Get \"https://10.0.0.10:2379/version\": connection refused".into())),
    );
    let r = run1(&c, &h);
    assert_eq!(r.errors, vec!["Get \"https://10.0.0.10:2379/version\": connection refused"]);
    let sent = h.http_tls.lock().unwrap().get("https://10.0.0.10:2379/version").cloned().flatten().unwrap();
    assert_eq!(sent.ca_pem.as_deref(), Some(&b"CA"[..]));
    assert_eq!(sent.client_pem, Some((b"CERT".to_vec(), b"KEY".to_vec())));
    c.endpoints.clear();
    assert_ok(&c, &h);
}

#[test]
fn ignore_set() {
    let s = IgnoreSet::new(&["Swap,NumCPU"], &["Port-6443"]).unwrap();
    assert!(s.ignores("swap") && s.ignores("NUMCPU") && s.ignores("port-6443"));
    assert!(!s.ignores("Mem"));
    assert_eq!(s.to_list(), vec!["numcpu", "port-6443", "swap"]);
    let all = IgnoreSet::new(&["ALL"], &[] as &[&str]).unwrap();
    assert!(all.ignores("anything"));
    let err = IgnoreSet::new(&["all", "Swap"], &[] as &[&str]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ignore-preflight-errors: Invalid value: \"all,swap\": don't specify individual checks if 'all' is used"
    );
    let err = IgnoreSet::new(&["swap"], &["all"]).unwrap_err();
    assert!(matches!(err, PreflightError::InvalidIgnoreList { .. }));
}

#[test]
fn run_checks_output_format() {
    let mut h = FakeHost::default();
    h.uid = 1000;
    h.busy_ports.insert(6443);
    h.file("/proc/swaps", b"h\n/swap file 1 0 -2\n");
    let checks: Vec<Box<dyn Checker>> = vec![
        Box::new(IsPrivilegedUserCheck),
        Box::new(PortOpenCheck { address: String::new(), port: 6443 }),
        Box::new(SwapCheck),
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let res = run_checks(&checks, &h, &IgnoreSet::default(), &mut out, &mut err);
    assert!(matches!(res, Err(PreflightError::ChecksFailed)));
    let err = String::from_utf8(err).unwrap();
    assert!(err.starts_with("\t[WARNING Swap]: swap is supported"), "{err}");
    assert!(err.ends_with(
        "[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root\n\t[ERROR Port-6443]: Port 6443 is in use\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n"
    ), "{err}");

    // Ignored errors are demoted to warnings, case-insensitively.
    let ignore = IgnoreSet::new(&["isprivilegeduser", "PORT-6443"], &[] as &[&str]).unwrap();
    let mut err = Vec::new();
    run_checks(&checks, &h, &ignore, &mut out, &mut err).unwrap();
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("\t[WARNING IsPrivilegedUser]: user is not running as root\n"));
    assert!(err.contains("\t[WARNING Port-6443]: Port 6443 is in use\n"));
    let mut err = Vec::new();
    let all = IgnoreSet::new(&["all"], &[] as &[&str]).unwrap();
    run_checks(&checks, &h, &all, &mut out, &mut err).unwrap();
}

fn names(cfg: &InitPreflightInput) -> Vec<String> {
    init_node_checks(cfg).iter().map(|c| c.name()).collect()
}

#[test]
fn init_check_list_matches_upstream_order() {
    let n = names(&input());
    assert_eq!(
        n,
        vec![
            "NumCPU",
            "Mem",
            "KubernetesVersion",
            "Firewalld",
            "Port-6443",
            "Port-10259",
            "Port-10257",
            "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml",
            "FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml",
            "FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml",
            "FileAvailable--etc-kubernetes-manifests-etcd.yaml",
            "HTTPProxy",
            "HTTPProxyCIDR",
            "HTTPProxyCIDR",
            "CRI",
            "ContainerRuntimeVersion",
            "Swap",
            "FileExisting-losetup",
            "FileExisting-mount",
            "FileExisting-cp",
            "SystemVerification",
            "Hostname",
            "KubeletVersion",
            "Service-kubelet",
            "Port-10250",
            "FileContent--proc-sys-net-ipv4-ip_forward",
            "Port-2379",
            "Port-2380",
            "DirAvailable--var-lib-etcd",
        ]
    );
    // Dual stack + external etcd + old Kubernetes (conntrack).
    let mut cfg = input();
    cfg.kubernetes_version = "v1.31.0".into();
    cfg.pod_subnet = "10.244.0.0/16,fd00:10:244::/56".into();
    cfg.etcd = EtcdInput::External {
        endpoints: vec!["https://e:2379".into()],
        ca_file: "/etc/etcd/ca.crt".into(),
        cert_file: String::new(),
        key_file: "/etc/etcd/c.key".into(),
    };
    let n = names(&cfg);
    assert!(n.contains(&"FileExisting-conntrack".to_string()));
    assert!(n.contains(&"FileContent--proc-sys-net-ipv6-conf-default-forwarding".to_string()));
    assert!(n.contains(&"ExternalEtcdVersion".to_string()));
    assert_eq!(n.iter().filter(|x| *x == "ExternalEtcdClientCertificates").count(), 2);
    assert!(!n.contains(&"Port-2379".to_string()));
}

#[test]
fn init_preflight_flow() {
    let h = FakeHost::default();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    run_init_preflight(&input(), &h, &IgnoreSet::default(), true, &mut out, &mut err).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        "[preflight] Running pre-flight checks\n[preflight] Would pull the required images (like 'kubeadm config images pull')\n"
    );
    assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    run_init_preflight(&input(), &h, &IgnoreSet::default(), false, &mut out, &mut err).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("[preflight] Pulling images required for setting up a Kubernetes cluster\n"));
    assert_eq!(h.pulled.lock().unwrap().len(), 2);
    // Root check fails fast: nothing else runs.
    let mut h = FakeHost::default();
    h.uid = 1;
    h.busy_ports.insert(6443);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert!(run_init_preflight(&input(), &h, &IgnoreSet::default(), true, &mut out, &mut err).is_err());
    assert!(!String::from_utf8(err).unwrap().contains("Port-6443"));
}

/// Manual smoke test on the real machine: `cargo test -p kubeadm-host -- --ignored --nocapture`.
#[test]
#[ignore = "reads the real host"]
fn real_host_smoke() {
    let host = crate::hostenv::RealHost;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut cfg = input();
    cfg.node_name = crate::hostfacts::node_name(&host, "").unwrap();
    let facts = crate::hostfacts::HostFacts::gather(&host, "").unwrap();
    println!("{facts:?}");
    let res = run_init_preflight(&cfg, &host, &IgnoreSet::default(), true, &mut out, &mut err);
    println!("{}\n{}\n{res:?}", String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
}

fn join_input() -> JoinPreflightInput {
    JoinPreflightInput {
        kubeadm_version: "v1.37.2".into(),
        kubernetes_dir: "/etc/kubernetes".into(),
        node_name: "node2".into(),
        cri_socket: "unix:///run/containerd/containerd.sock".into(),
        ca_cert_path: Some("/etc/kubernetes/pki/ca.crt".into()),
        discovery_endpoint: Some("10.0.0.1:6443".into()),
    }
}

#[test]
fn join_check_list_matches_upstream_order() {
    let n: Vec<String> = join_node_checks(&join_input()).iter().map(|c| c.name()).collect();
    assert_eq!(
        n,
        vec![
            "FileAvailable--etc-kubernetes-kubelet.conf",
            "FileAvailable--etc-kubernetes-bootstrap-kubelet.conf",
            "CRI",
            "ContainerRuntimeVersion",
            "Swap",
            "FileExisting-losetup",
            "FileExisting-mount",
            "FileExisting-cp",
            "SystemVerification",
            "Hostname",
            "KubeletVersion",
            "Service-kubelet",
            "Port-10250",
            "FileAvailable--etc-kubernetes-pki-ca.crt",
            "HTTPProxy",
            "FileContent--proc-sys-net-ipv4-ip_forward",
        ]
    );
    // Control-plane join: no CA check; IPv6 endpoint; a host name gets only the proxy check.
    let mut cfg = join_input();
    cfg.ca_cert_path = None;
    cfg.discovery_endpoint = Some("[fd00::1]:6443".into());
    let n: Vec<String> = join_node_checks(&cfg).iter().map(|c| c.name()).collect();
    assert!(!n.iter().any(|x| x.contains("pki-ca.crt")));
    assert_eq!(n.last().map(String::as_str), Some("FileContent--proc-sys-net-ipv6-conf-default-forwarding"));
    cfg.discovery_endpoint = Some("lb.example.com:6443".into());
    let n: Vec<String> = join_node_checks(&cfg).iter().map(|c| c.name()).collect();
    assert_eq!(n.last().map(String::as_str), Some("HTTPProxy"));
    cfg.discovery_endpoint = None;
    let n: Vec<String> = join_node_checks(&cfg).iter().map(|c| c.name()).collect();
    assert_eq!(n.last().map(String::as_str), Some("Port-10250"));
}
