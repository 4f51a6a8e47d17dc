//! Generated files: kubeconfigs, static Pod manifests, patches.
