//! Real Kubernetes test bed: pinned components, nodes as namespaces, static-pod runner.
//!
//! ```no_run
//! use kubeadm_testbed::{Bed, heavy_lock};
//! let _serial = heavy_lock()?; // one control plane at a time (2 cores)
//! let bed = Bed::builder().name("my-test").nodes(2).start()?;
//! let n1 = bed.node(0);
//! n1.exec_ok("/bin/hostname", std::iter::empty::<&str>(), &[])?;
//! bed.start_runner(n1)?;
//! # Ok::<(), kubeadm_testbed::Error>(())
//! ```
//!
//! See `docs/testbed.md` ("Nodes and runner").

pub mod bed;
pub mod components;
pub mod controlplane;
pub mod error;
pub mod lb;
pub mod node;
pub mod pod;
pub mod procs;
pub mod realnode;
pub mod runner;
pub mod state;
pub mod tlsproxy;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use bed::{Bed, BedBuilder};
pub use error::{Error, Result};
pub use node::{Node, NodeProcess};
pub use procs::ProcRef;

/// Polls `probe` every 250 ms until it returns `Ok`, or fails with [`Error::Timeout`] carrying
/// the probe's last error after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Result<T, String>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return Ok(v),
            Err(last) => {
                if Instant::now() >= deadline {
                    return Err(Error::Timeout { what: what.into(), timeout, last });
                }
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

static HEAVY: Mutex<()> = Mutex::new(());

/// Held while a test runs something heavy (a control plane): see [`heavy_lock`].
pub struct HeavyGuard {
    _file: state::FileLock,
    _mutex: MutexGuard<'static, ()>,
}

/// Serializes heavy tests: a process-wide mutex plus an `flock` on
/// `/run/kubeadm-rs-bed/heavy.lock`, so tests in different test binaries (which cargo may run
/// concurrently) wait for each other too. A panicking holder does not poison it.
pub fn heavy_lock() -> Result<HeavyGuard> {
    let m = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let f = state::lock_file("heavy.lock")?;
    Ok(HeavyGuard { _file: f, _mutex: m })
}

/// For tests: `Ok(true)` when bed tests should be skipped (`KUBEADM_RS_SKIP_BED=1`), after
/// printing why; `Err` when they can't run (not root, components missing), so they fail.
pub fn bed_preflight() -> Result<bool> {
    if components::skip_requested() {
        eprintln!("skipping: {}=1", components::SKIP_ENV);
        return Ok(true);
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::Invalid("bed tests need root (or set KUBEADM_RS_SKIP_BED=1)".into()));
    }
    components::bin_dir()?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_for_times_out_with_last_error() {
        let mut n = 0;
        let r: Result<()> = wait_for("nothing", Duration::from_millis(300), || {
            n += 1;
            Err(format!("try {n}"))
        });
        match r {
            Err(Error::Timeout { last, .. }) => assert!(last.starts_with("try ")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn wait_for_returns_value() {
        let mut n = 0;
        let v = wait_for("three", Duration::from_secs(5), || {
            n += 1;
            if n >= 3 { Ok(n) } else { Err("not yet".into()) }
        })
        .expect("ok");
        assert_eq!(v, 3);
    }
}
