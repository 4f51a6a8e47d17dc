//! Process helpers: identities that survive PID reuse, signals by PID and process group, and the
//! members of a network namespace. Processes are only ever found by PID (checked against their
//! start time) or by namespace membership, never by name.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A process identity: its PID plus its start time (clock ticks since boot, field 22 of
/// `/proc/<pid>/stat`), so a reused PID is never mistaken for the original process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcRef {
    /// The process ID.
    pub pid: i32,
    /// Its start time in clock ticks after boot.
    pub start: u64,
}

impl ProcRef {
    /// The identity of a running process, or `None` when it does not exist.
    pub fn of(pid: i32) -> Option<Self> {
        start_time(pid).map(|start| ProcRef { pid, start })
    }

    /// The identity of the current process.
    pub fn current() -> Option<Self> {
        Self::of(std::process::id() as i32)
    }

    /// Whether this very process still exists (and is not a zombie).
    pub fn is_alive(&self) -> bool {
        match stat_fields(self.pid) {
            Some((state, start)) => start == self.start && state != 'Z' && state != 'X',
            None => false,
        }
    }

    /// Sends `sig` to the process group led by this process and to the process itself, if it is
    /// still the same process. Errors (already gone) are ignored.
    pub fn signal_group(&self, sig: Signal) {
        if self.is_alive() {
            let _ = killpg(Pid::from_raw(self.pid), sig);
            let _ = kill(Pid::from_raw(self.pid), sig);
        }
    }

    /// Sends `sig` to this process only, if it is still the same process.
    pub fn signal(&self, sig: Signal) {
        if self.is_alive() {
            let _ = kill(Pid::from_raw(self.pid), sig);
        }
    }
}

/// (state, start time) of a process from `/proc/<pid>/stat`.
fn stat_fields(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// Parses the state and start time out of a `/proc/<pid>/stat` line. The command name (field 2)
/// may contain spaces and parentheses, so fields are counted after the last `)`.
pub(crate) fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); starttime is field 22.
    let state = fields.first()?.chars().next()?;
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((state, start))
}

/// The start time of process `pid`, or `None` when it does not exist.
pub fn start_time(pid: i32) -> Option<u64> {
    stat_fields(pid).map(|(_, s)| s)
}

/// The inode of a namespace file (`/run/netns/NAME` or `/proc/<pid>/ns/net`).
pub fn ns_inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| m.ino())
}

/// PIDs of all (non-zombie) processes whose network namespace has inode `inode`.
pub fn pids_in_netns(inode: u64) -> Vec<i32> {
    let want = format!("net:[{inode}]");
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        if let Ok(link) = fs::read_link(format!("/proc/{pid}/ns/net"))
            && link.to_str() == Some(want.as_str())
        {
            out.push(pid);
        }
    }
    out
}

/// Kills (SIGKILL) every process in the network namespace with inode `inode`, repeating until
/// none is left or `timeout` passes. Returns the PIDs still present at the end.
pub fn kill_netns_members(inode: u64, timeout: Duration) -> Vec<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        let pids = pids_in_netns(inode);
        if pids.is_empty() || Instant::now() >= deadline {
            return pids;
        }
        for pid in pids {
            if let Some(p) = ProcRef::of(pid) {
                p.signal_group(Signal::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a child we spawned in its own process group: SIGTERM to the group, up to `grace` to
/// exit, then SIGKILL; always reaps it.
pub fn stop_child(child: &mut Child, grace: Duration) {
    let pid = child.id() as i32;
    if let Ok(Some(_)) = child.try_wait() {
        // Already exited; still clean up any stragglers in its group.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        return;
    }
    let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
}

/// A command line for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion, capturing its output; fails when it cannot be started.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output().map_err(|e| Error::io(format!("running `{}`", describe(cmd)), e))
}

/// Runs `cmd` and fails unless it exits 0; returns its standard output.
pub fn run_ok(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    check_output(&describe(cmd), out)
}

/// Turns a finished command's output into its stdout, or an [`Error::Command`].
pub fn check_output(command: &str, out: Output) -> Result<String> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(Error::Command {
            command: command.to_string(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout: if stdout.is_empty() { String::new() } else { format!("\nstdout:\n{stdout}") },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_comm() {
        let line = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 \
                    1000 10 18446744073709551615";
        assert_eq!(parse_stat(line), Some(('S', 98765)));
    }

    #[test]
    fn current_process_is_alive() {
        let me = ProcRef::current().expect("own stat");
        assert!(me.is_alive());
        let other = ProcRef { pid: me.pid, start: me.start + 1 };
        assert!(!other.is_alive());
    }

    #[test]
    fn own_netns_has_members() {
        let ino = ns_inode(Path::new("/proc/self/ns/net")).expect("netns inode");
        // At least PID 1 or some other process shares the host netns in a normal environment;
        // the call must simply not fail.
        let _ = pids_in_netns(ino);
    }
}
