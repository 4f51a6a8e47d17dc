//! Host effects: atomic file writes, preflight checks, kubelet files, dry-run.
