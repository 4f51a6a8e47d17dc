//! The small part of a static Pod manifest the runner needs.

use serde::Deserialize;

/// A static Pod (only the fields the runner uses; the rest is ignored).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Pod {
    /// Object metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The Pod spec.
    pub spec: PodSpec,
}

/// Object metadata.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Metadata {
    /// The Pod's name.
    #[serde(default)]
    pub name: String,
}

/// The Pod spec.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PodSpec {
    /// The containers (kubeadm's static Pods have exactly one).
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Volumes (hostPath ones matter).
    #[serde(default)]
    pub volumes: Vec<Volume>,
}

/// One container.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Container {
    /// Container name (names the log file).
    pub name: String,
    /// Image reference; its repository basename names the binary.
    #[serde(default)]
    pub image: String,
    /// Entrypoint override; its first element is replaced by the cached binary.
    #[serde(default)]
    pub command: Vec<String>,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables (only literal values).
    #[serde(default)]
    pub env: Vec<EnvVar>,
}

/// An environment variable.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its literal value (`valueFrom` is not supported and yields an empty value).
    #[serde(default)]
    pub value: Option<String>,
}

/// A volume.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Its name.
    pub name: String,
    /// The host path, for hostPath volumes.
    #[serde(default)]
    pub host_path: Option<HostPathVolume>,
}

/// A hostPath volume source.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HostPathVolume {
    /// The path on the node.
    pub path: String,
    /// `DirectoryOrCreate`, `FileOrCreate`, ... (empty: no check).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl Pod {
    /// Parses a manifest (YAML or JSON).
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }
}

impl Container {
    /// The argument vector after the binary: `command[1..] + args` (or just `args` when
    /// `command` is empty, i.e. the image entrypoint is the binary itself).
    pub fn argv_tail(&self) -> Vec<String> {
        self.command.iter().skip(1).chain(self.args.iter()).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETCD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/etcd.advertise-client-urls: https://10.0.0.1:2379
  labels:
    component: etcd
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://10.0.0.1:2379
    - --data-dir=/var/lib/etcd
    image: registry.k8s.io/etcd:3.7.0-0
    imagePullPolicy: IfNotPresent
    env:
    - name: GOMAXPROCS
      value: "2"
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /livez
        port: probe-port
    name: etcd
    resources:
      requests:
        cpu: 100m
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: /var/lib/etcd
    name: etcd-data
status: {}
"#;

    #[test]
    fn parses_kubeadm_etcd_manifest() {
        let pod = Pod::parse(ETCD).expect("parse");
        assert_eq!(pod.metadata.name, "etcd");
        let c = &pod.spec.containers[0];
        assert_eq!(c.name, "etcd");
        assert_eq!(
            c.argv_tail(),
            ["--advertise-client-urls=https://10.0.0.1:2379", "--data-dir=/var/lib/etcd"]
        );
        assert_eq!(c.env[0].value.as_deref(), Some("2"));
        let hp = pod.spec.volumes[0].host_path.as_ref().expect("hostPath");
        assert_eq!(hp.kind.as_deref(), Some("DirectoryOrCreate"));
        assert_eq!(pod.spec.volumes[1].host_path.as_ref().and_then(|h| h.kind.clone()), None);
    }
}
