//! Real Kubernetes test bed: pinned components, nodes as namespaces, static-pod runner.
