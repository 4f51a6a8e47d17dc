//! JSON field tables of `k8s.io/kubelet/config/v1beta1.KubeletConfiguration` and
//! `k8s.io/kube-proxy/config/v1alpha1.KubeProxyConfiguration` at v0.37.2 (field names, Go types
//! and `omitempty` as in the struct tags), for [`super::schema`].

use super::schema::{Field, Ty, f, fo};

const PTR_INT: Ty = Ty::Ptr(&Ty::Int);
const PTR_BOOL: Ty = Ty::Ptr(&Ty::Bool);
const PTR_DUR: Ty = Ty::Ptr(&Ty::Dur);
const MAP_STR: Ty = Ty::Map(&Ty::Str);
const LIST_STR: Ty = Ty::List(&Ty::Str);

/// `logsapi.OutputRoutingOptions` (inlined into text/json options).
const OUTPUT_ROUTING: &[Field] = &[fo("splitStream", Ty::Bool), fo("infoBufferSize", Ty::Quantity)];

/// `logsapi.VModuleItem`.
const VMODULE_ITEM: &[Field] = &[f("filePattern", Ty::Str), f("verbosity", Ty::Int)];

/// `k8s.io/component-base/logs/api/v1.LoggingConfiguration`.
pub const LOGGING: &[Field] = &[
    fo("format", Ty::Str),
    f("flushFrequency", Ty::TimeOrDur),
    f("verbosity", Ty::Int),
    fo("vmodule", Ty::List(&Ty::Struct(VMODULE_ITEM))),
    fo(
        "options",
        Ty::Struct(&[fo("text", Ty::Struct(OUTPUT_ROUTING)), fo("json", Ty::Struct(OUTPUT_ROUTING))]),
    ),
];

const KUBELET_AUTHENTICATION: &[Field] = &[
    f("x509", Ty::Struct(&[fo("clientCAFile", Ty::Str)])),
    f("webhook", Ty::Struct(&[fo("enabled", PTR_BOOL), fo("cacheTTL", Ty::Dur)])),
    f("anonymous", Ty::Struct(&[fo("enabled", PTR_BOOL)])),
];

const KUBELET_AUTHORIZATION: &[Field] = &[
    fo("mode", Ty::Str),
    f("webhook", Ty::Struct(&[fo("cacheAuthorizedTTL", Ty::Dur), fo("cacheUnauthorizedTTL", Ty::Dur)])),
];

/// `KubeletConfiguration` without TypeMeta.
pub const KUBELET_CONFIGURATION: &[Field] = &[
    fo("enableServer", PTR_BOOL),
    fo("staticPodPath", Ty::Str),
    fo("podLogsDir", Ty::Str),
    fo("syncFrequency", Ty::Dur),
    fo("fileCheckFrequency", Ty::Dur),
    fo("httpCheckFrequency", Ty::Dur),
    fo("staticPodURL", Ty::Str),
    fo("staticPodURLHeader", Ty::Map(&LIST_STR)),
    fo("address", Ty::Str),
    fo("port", Ty::Int),
    fo("readOnlyPort", Ty::Int),
    fo("tlsCertFile", Ty::Str),
    fo("tlsPrivateKeyFile", Ty::Str),
    fo("tlsCipherSuites", LIST_STR),
    fo("tlsCurvePreferences", Ty::List(&Ty::Int)),
    fo("tlsMinVersion", Ty::Str),
    fo("rotateCertificates", Ty::Bool),
    fo("serverTLSBootstrap", Ty::Bool),
    f("authentication", Ty::Struct(KUBELET_AUTHENTICATION)),
    f("authorization", Ty::Struct(KUBELET_AUTHORIZATION)),
    fo("registryPullQPS", PTR_INT),
    fo("registryBurst", Ty::Int),
    fo("imagePullCredentialsVerificationPolicy", Ty::Str),
    fo("preloadedImagesVerificationAllowlist", LIST_STR),
    fo("eventRecordQPS", PTR_INT),
    fo("eventBurst", Ty::Int),
    fo("enableDebuggingHandlers", PTR_BOOL),
    fo("enableContentionProfiling", Ty::Bool),
    fo("healthzPort", PTR_INT),
    fo("healthzBindAddress", Ty::Str),
    fo("oomScoreAdj", PTR_INT),
    fo("clusterDomain", Ty::Str),
    fo("clusterDNS", LIST_STR),
    fo("streamingConnectionIdleTimeout", Ty::Dur),
    fo("nodeStatusUpdateFrequency", Ty::Dur),
    fo("nodeStatusReportFrequency", Ty::Dur),
    fo("nodeLeaseDurationSeconds", Ty::Int),
    fo("imageMinimumGCAge", Ty::Dur),
    fo("imageMaximumGCAge", Ty::Dur),
    fo("imageGCHighThresholdPercent", PTR_INT),
    fo("imageGCLowThresholdPercent", PTR_INT),
    fo("volumeStatsAggPeriod", Ty::Dur),
    fo("kubeletCgroups", Ty::Str),
    fo("systemCgroups", Ty::Str),
    fo("cgroupRoot", Ty::Str),
    fo("cgroupsPerQOS", PTR_BOOL),
    fo("cgroupDriver", Ty::Str),
    fo("cpuManagerPolicy", Ty::Str),
    fo("singleProcessOOMKill", PTR_BOOL),
    fo("cpuManagerPolicyOptions", MAP_STR),
    fo("cpuManagerReconcilePeriod", Ty::Dur),
    fo("memoryManagerPolicy", Ty::Str),
    fo("topologyManagerPolicy", Ty::Str),
    fo("topologyManagerScope", Ty::Str),
    fo("topologyManagerPolicyOptions", MAP_STR),
    fo("qosReserved", MAP_STR),
    fo("runtimeRequestTimeout", Ty::Dur),
    fo("hairpinMode", Ty::Str),
    fo("maxPods", Ty::Int),
    fo("podCIDR", Ty::Str),
    fo("podPidsLimit", PTR_INT),
    fo("resolvConf", Ty::Ptr(&Ty::Str)),
    fo("runOnce", Ty::Bool),
    fo("cpuCFSQuota", PTR_BOOL),
    fo("cpuCFSQuotaPeriod", PTR_DUR),
    fo("nodeStatusMaxImages", PTR_INT),
    fo("maxOpenFiles", Ty::Int),
    fo("contentType", Ty::Str),
    fo("kubeAPIQPS", PTR_INT),
    fo("kubeAPIBurst", Ty::Int),
    fo("serializeImagePulls", PTR_BOOL),
    fo("maxParallelImagePulls", PTR_INT),
    fo("evictionHard", MAP_STR),
    fo("evictionSoft", MAP_STR),
    fo("evictionSoftGracePeriod", MAP_STR),
    fo("evictionPressureTransitionPeriod", Ty::Dur),
    fo("evictionMaxPodGracePeriod", Ty::Int),
    fo("evictionMinimumReclaim", MAP_STR),
    fo("mergeDefaultEvictionSettings", PTR_BOOL),
    fo("podsPerCore", Ty::Int),
    fo("enableControllerAttachDetach", PTR_BOOL),
    fo("protectKernelDefaults", Ty::Bool),
    fo("makeIPTablesUtilChains", PTR_BOOL),
    fo("iptablesMasqueradeBit", PTR_INT),
    fo("iptablesDropBit", PTR_INT),
    fo("featureGates", Ty::Map(&Ty::Bool)),
    fo("failSwapOn", PTR_BOOL),
    fo("memorySwap", Ty::Struct(&[fo("swapBehavior", Ty::Str)])),
    fo("containerLogMaxSize", Ty::Str),
    fo("containerLogMaxFiles", PTR_INT),
    fo("containerLogMaxWorkers", PTR_INT),
    fo("containerLogMonitorInterval", PTR_DUR),
    fo("configMapAndSecretChangeDetectionStrategy", Ty::Str),
    fo("systemReserved", MAP_STR),
    fo("kubeReserved", MAP_STR),
    fo("reservedSystemCPUs", Ty::Str),
    fo("showHiddenMetricsForVersion", Ty::Str),
    fo("systemReservedCgroup", Ty::Str),
    fo("kubeReservedCgroup", Ty::Str),
    fo("enforceNodeAllocatable", LIST_STR),
    fo("allowedUnsafeSysctls", LIST_STR),
    fo("defaultPodSysctls", MAP_STR),
    fo("volumePluginDir", Ty::Str),
    fo("providerID", Ty::Str),
    fo("kernelMemcgNotification", Ty::Bool),
    fo("logging", Ty::Struct(LOGGING)),
    fo("enableSystemLogHandler", PTR_BOOL),
    fo("enableSystemLogQuery", PTR_BOOL),
    fo("shutdownGracePeriod", Ty::Dur),
    fo("shutdownGracePeriodCriticalPods", Ty::Dur),
    fo(
        "shutdownGracePeriodByPodPriority",
        Ty::List(&Ty::Struct(&[f("priority", Ty::Int), f("shutdownGracePeriodSeconds", Ty::Int)])),
    ),
    fo("crashLoopBackOff", Ty::Struct(&[fo("maxContainerRestartPeriod", PTR_DUR)])),
    fo(
        "reservedMemory",
        Ty::List(&Ty::Struct(&[f("numaNode", Ty::Int), f("limits", Ty::Map(&Ty::Quantity))])),
    ),
    fo("enableProfilingHandler", PTR_BOOL),
    fo("enableDebugFlagsHandler", PTR_BOOL),
    fo("seccompDefault", PTR_BOOL),
    fo("memoryThrottlingFactor", Ty::Ptr(&Ty::Float)),
    fo("memoryReservationPolicy", Ty::Str),
    // core/v1 Taint: not modelled field by field.
    fo("registerWithTaints", Ty::List(&Ty::Any)),
    fo("registerNode", PTR_BOOL),
    fo(
        "tracing",
        Ty::Ptr(&Ty::Struct(&[fo("endpoint", Ty::Ptr(&Ty::Str)), fo("samplingRatePerMillion", PTR_INT)])),
    ),
    fo("localStorageCapacityIsolation", PTR_BOOL),
    f("containerRuntimeEndpoint", Ty::Str),
    fo("imageServiceEndpoint", Ty::Str),
    fo("failCgroupV1", PTR_BOOL),
    fo("userNamespaces", Ty::Ptr(&Ty::Struct(&[fo("idsPerPod", PTR_INT)]))),
];

/// `k8s.io/component-base/config/v1alpha1.ClientConnectionConfiguration`.
const CLIENT_CONNECTION: &[Field] = &[
    f("kubeconfig", Ty::Str),
    f("acceptContentTypes", Ty::Str),
    f("contentType", Ty::Str),
    f("qps", Ty::Float),
    f("burst", Ty::Int),
];

/// `KubeProxyConfiguration` without TypeMeta.
pub const KUBE_PROXY_CONFIGURATION: &[Field] = &[
    fo("featureGates", Ty::Map(&Ty::Bool)),
    f("clientConnection", Ty::Struct(CLIENT_CONNECTION)),
    fo("logging", Ty::Struct(LOGGING)),
    f("hostnameOverride", Ty::Str),
    f("bindAddress", Ty::Str),
    f("healthzBindAddress", Ty::Str),
    f("metricsBindAddress", Ty::Str),
    f("bindAddressHardFail", Ty::Bool),
    f("enableProfiling", Ty::Bool),
    f("showHiddenMetricsForVersion", Ty::Str),
    f("mode", Ty::Str),
    f(
        "iptables",
        Ty::Struct(&[
            f("masqueradeBit", PTR_INT),
            f("masqueradeAll", Ty::Bool),
            f("localhostNodePorts", PTR_BOOL),
            f("syncPeriod", Ty::Dur),
            f("minSyncPeriod", Ty::Dur),
        ]),
    ),
    f(
        "ipvs",
        Ty::Struct(&[
            f("syncPeriod", Ty::Dur),
            f("minSyncPeriod", Ty::Dur),
            f("scheduler", Ty::Str),
            f("excludeCIDRs", LIST_STR),
            f("strictARP", Ty::Bool),
            f("tcpTimeout", Ty::Dur),
            f("tcpFinTimeout", Ty::Dur),
            f("udpTimeout", Ty::Dur),
        ]),
    ),
    f(
        "nftables",
        Ty::Struct(&[
            f("masqueradeBit", PTR_INT),
            f("masqueradeAll", Ty::Bool),
            f("syncPeriod", Ty::Dur),
            f("minSyncPeriod", Ty::Dur),
        ]),
    ),
    f(
        "winkernel",
        Ty::Struct(&[
            f("networkName", Ty::Str),
            f("sourceVip", Ty::Str),
            f("enableDSR", Ty::Bool),
            f("rootHnsEndpointName", Ty::Str),
            f("forwardHealthCheckVip", Ty::Bool),
        ]),
    ),
    f("detectLocalMode", Ty::Str),
    f("detectLocal", Ty::Struct(&[f("bridgeInterface", Ty::Str), f("interfaceNamePrefix", Ty::Str)])),
    f("clusterCIDR", Ty::Str),
    f("nodePortAddresses", LIST_STR),
    f("oomScoreAdj", PTR_INT),
    f(
        "conntrack",
        Ty::Struct(&[
            f("maxPerCore", PTR_INT),
            f("min", PTR_INT),
            f("tcpEstablishedTimeout", PTR_DUR),
            f("tcpCloseWaitTimeout", PTR_DUR),
            f("tcpBeLiberal", Ty::Bool),
            f("udpTimeout", Ty::Dur),
            f("udpStreamTimeout", Ty::Dur),
        ]),
    ),
    f("configSyncPeriod", Ty::Dur),
    f("portRange", Ty::Str),
    fo("windowsRunAsService", Ty::Bool),
];
