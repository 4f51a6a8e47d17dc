//! `kubeadm-rs reset` and `reset phase ...`: the phase table exists (names, flags,
//! `--skip-phases`, help); every phase still fails as not implemented.

use crate::commands::workflow_args::{ResetArgs, phase_path};
use crate::flags::Flags;
use crate::output::Output;
use crate::phases::reset::{ResetData, runner};

/// Runs `reset` (or one of its phases).
pub fn run(out: &Output, args: &ResetArgs) -> anyhow::Result<()> {
    let r = runner();
    let (filter, skip) = match phase_path(&args.matches) {
        Some((path, _)) => match r.selector_for(&path) {
            Some(sel) => (vec![sel], Vec::new()),
            None => anyhow::bail!("subcommand is required"),
        },
        None => (Vec::new(), Flags(&args.matches).list(crate::flags::names::SKIP_PHASES)),
    };
    let plan = r.plan(&filter, &skip)?;
    let mut data = ResetData { out: *out };
    r.execute(&plan, &mut data)?;
    Ok(())
}
