//! Phases as data: the engine behind `init`, `join` and `reset`.
//!
//! Mirrors upstream's `cmd/kubeadm/app/cmd/phases/workflow`: a command owns ONE ordered table of
//! [`Phase`]s, and that table drives
//!
//! * execution order ([`Runner::execute`]),
//! * the generated `kubeadm-rs <cmd> phase <name> [<sub>]` subcommands ([`Runner::phase_command`]),
//! * `--skip-phases` validation and the filter/skip precedence ([`Runner::plan`]),
//! * dependency checks ("unresolved dependencies"),
//! * the phase tree shown in `<cmd> --help` ([`Runner::help`]).
//!
//! Names are hierarchical (`certs/apiserver`). A phase flagged `run_all_siblings` (the `all`
//! children) is never executed itself: it only produces a `phase <parent> all` subcommand that runs
//! the parent with all its children.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use clap::{Arg, ArgAction, Command};

/// Separator of hierarchical phase names.
pub const PHASE_SEPARATOR: &str = "/";

/// The error a phase's `run` returns.
#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    /// The phase exists (its name is public API) but kubeadm-rs does not implement it yet.
    #[error("phase {0:?} is not implemented yet")]
    NotImplemented(String),
    /// Any other failure, with its cause chain.
    #[error("{}", crate::output::error_message(.0))]
    Failed(anyhow::Error),
}

// Not `#[from]`: the cause is part of the message already, so it must not also be a `source()`
// (the binary prints the whole chain).
impl From<anyhow::Error> for PhaseError {
    fn from(e: anyhow::Error) -> Self {
        Self::Failed(e)
    }
}

/// Errors of the workflow engine itself (bad phase names, dependencies, wrapped phase errors).
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// A name in `--skip-phases` (or a phase filter) that is not in the table.
    #[error("invalid phase name: {0}")]
    InvalidPhaseName(String),
    /// Phases selected to run whose dependencies are not selected before them.
    #[error("{}", format_missing_deps(.0))]
    UnresolvedDependencies(BTreeMap<String, Vec<String>>),
    /// A `run_if` condition failed.
    #[error("error execution run condition for phase {phase}: {cause}")]
    RunCondition {
        /// Generated (full) phase name.
        phase: String,
        /// Cause (part of the message, deliberately not a `source()`).
        cause: PhaseError,
    },
    /// A phase failed; upstream's wording `error execution phase <name>: <cause>`.
    #[error("error execution phase {phase}: {cause}")]
    Phase {
        /// Generated (full) phase name, e.g. `certs/apiserver`.
        phase: String,
        /// Cause (part of the message, deliberately not a `source()`).
        cause: PhaseError,
    },
}

fn format_missing_deps(missing: &BTreeMap<String, Vec<String>>) -> String {
    let mut msg = String::from("unresolved dependencies:");
    for (phase, deps) in missing {
        msg.push_str(&format!("\n\tmissing [{}] phase(s) needed by {phase:?} phase", deps.join(" ")));
    }
    msg
}

/// A phase's action on the shared, typed state `D`.
pub type RunFn<D> = fn(&mut D) -> Result<(), PhaseError>;
/// A phase's run condition.
pub type RunIfFn<D> = fn(&D) -> Result<bool, PhaseError>;

/// One node of a workflow table.
pub struct Phase<D> {
    /// Name; may carry a usage suffix after a space (`"preflight [api-server-endpoint]"`), which is
    /// dropped from the phase's selector.
    pub name: &'static str,
    /// Alternative names of the generated subcommand.
    pub aliases: &'static [&'static str],
    /// One-line description (shown in the help tree).
    pub short: String,
    /// Longer description for `phase <name> --help`.
    pub long: String,
    /// Example text for the generated subcommand.
    pub example: &'static str,
    /// Hidden phases run but get no subcommand and no line in the help tree.
    pub hidden: bool,
    /// Nested phases, run after this one, in order.
    pub children: Vec<Phase<D>>,
    /// Marks an `all` pseudo-phase: it selects its parent (and so all siblings).
    pub run_all_siblings: bool,
    /// The action; `None` for pure grouping phases.
    pub run: Option<RunFn<D>>,
    /// Optional condition evaluated before `run`.
    pub run_if: Option<RunIfFn<D>>,
    /// Flags of the parent command that the generated subcommand accepts.
    pub inherit_flags: Vec<&'static str>,
    /// Phases (by name, not full path) that must have run before this one.
    pub deps: &'static [&'static str],
    /// The generated subcommand takes no positional arguments.
    pub no_args: bool,
}

impl<D> Phase<D> {
    /// A leaf or group phase with the given name and short description; other fields empty.
    pub fn new(name: &'static str, short: impl Into<String>) -> Self {
        Self {
            name,
            aliases: &[],
            short: short.into(),
            long: String::new(),
            example: "",
            hidden: false,
            children: Vec::new(),
            run_all_siblings: false,
            run: None,
            run_if: None,
            inherit_flags: Vec::new(),
            deps: &[],
            no_args: false,
        }
    }

    /// The `all` pseudo-phase that runs every sibling.
    pub fn all(short: impl Into<String>, inherit_flags: Vec<&'static str>) -> Self {
        Self { run_all_siblings: true, inherit_flags, ..Self::new("all", short) }
    }

    /// Builder: action.
    pub fn run(mut self, f: RunFn<D>) -> Self {
        self.run = Some(f);
        self
    }
    /// Builder: run condition.
    #[allow(dead_code)] // used by join's phases once they are implemented
    pub fn run_if(mut self, f: RunIfFn<D>) -> Self {
        self.run_if = Some(f);
        self
    }
    /// Builder: long description.
    pub fn long(mut self, long: impl Into<String>) -> Self {
        self.long = long.into();
        self
    }
    /// Builder: example.
    pub fn example(mut self, example: &'static str) -> Self {
        self.example = example;
        self
    }
    /// Builder: aliases.
    pub fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    /// Builder: inherited flags.
    pub fn flags(mut self, flags: Vec<&'static str>) -> Self {
        self.inherit_flags = flags;
        self
    }
    /// Builder: children.
    pub fn children(mut self, children: Vec<Phase<D>>) -> Self {
        self.children = children;
        self
    }
    /// Builder: dependencies.
    pub fn deps(mut self, deps: &'static [&'static str]) -> Self {
        self.deps = deps;
        self
    }
    /// Builder: hidden.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    /// Builder: no positional arguments.
    pub fn no_args(mut self) -> Self {
        self.no_args = true;
        self
    }
}

/// Name without a usage suffix, lower-cased (upstream's `cleanName`).
pub fn clean_name(name: &str) -> String {
    let lower = name.to_lowercase();
    match lower.find(' ') {
        Some(pos) => lower[..pos].to_string(),
        None => lower,
    }
}

/// A flattened view of one phase: its place in the tree.
pub struct Flat<'a, D> {
    /// The phase.
    pub phase: &'a Phase<D>,
    /// Index of the parent in the flattened list.
    pub parent: Option<usize>,
    /// Depth, 0 for top-level phases.
    pub level: usize,
    /// Full name (`certs/apiserver`).
    pub generated_name: String,
    /// Name as shown in the help tree (`/apiserver` for children).
    pub usage: String,
}

/// The selection computed from filters and skips, validated and dependency-checked.
#[derive(Clone, PartialEq, Eq)]
pub struct Plan {
    run: HashMap<String, bool>,
}

impl Plan {
    /// A plan selecting exactly the given full phase names (for commands that reuse another
    /// command's phase functions, e.g. `join --control-plane` running init's certs phases).
    pub fn of(names: &[&str]) -> Self {
        Self { run: names.iter().map(|n| ((*n).to_string(), true)).collect() }
    }

    /// Whether the phase with this full name is selected.
    pub fn selected(&self, generated_name: &str) -> bool {
        self.run.get(generated_name).copied().unwrap_or(false)
    }
}

/// An ordered table of phases for one command.
pub struct Runner<D> {
    /// The command this table belongs to (`init`, `join`, `reset`).
    pub command: &'static str,
    /// Top-level phases, in order.
    pub phases: Vec<Phase<D>>,
}

impl<D> Runner<D> {
    /// Depth-first, pre-order flattening. Like upstream, `run_all_siblings` entries are dropped at the
    /// top level but kept among children: `certs/all` is a valid (no-op) name for `--skip-phases`.
    pub fn flatten(&self) -> Vec<Flat<'_, D>> {
        let mut out = Vec::new();
        for p in &self.phases {
            if p.run_all_siblings {
                continue;
            }
            flatten_into(&mut out, None, p);
        }
        out
    }

    /// Every valid full phase name, in execution order.
    #[cfg_attr(not(test), allow(dead_code))] // used by the phase-name tests
    pub fn names(&self) -> Vec<String> {
        self.flatten().into_iter().map(|f| f.generated_name).collect()
    }

    /// Computes which phases run (upstream's `computePhaseRunFlags`): a filter selects a phase and all
    /// its descendants; skips then deselect a phase and its descendants (skip wins). Unknown names
    /// are errors. Then checks dependencies among the selected phases.
    pub fn plan(&self, filter: &[String], skip: &[String]) -> Result<Plan, WorkflowError> {
        let flat = self.flatten();
        let mut run: HashMap<String, bool> = HashMap::new();
        let mut descendants: HashMap<String, Vec<String>> = HashMap::new();
        for (i, f) in flat.iter().enumerate() {
            run.insert(f.generated_name.clone(), true);
            descendants.entry(f.generated_name.clone()).or_default();
            let mut parent = f.parent;
            while let Some(pi) = parent {
                descendants
                    .entry(flat[pi].generated_name.clone())
                    .or_default()
                    .push(flat[i].generated_name.clone());
                parent = flat[pi].parent;
            }
        }
        if !filter.is_empty() {
            for v in run.values_mut() {
                *v = false;
            }
            for f in filter {
                if !run.contains_key(f) {
                    return Err(WorkflowError::InvalidPhaseName(f.clone()));
                }
                run.insert(f.clone(), true);
                for c in descendants.get(f).into_iter().flatten() {
                    run.insert(c.clone(), true);
                }
            }
        }
        for s in skip {
            if !run.contains_key(s) {
                return Err(WorkflowError::InvalidPhaseName(s.clone()));
            }
            run.insert(s.clone(), false);
            for c in descendants.get(s).into_iter().flatten() {
                run.insert(c.clone(), false);
            }
        }

        // Dependencies are by phase name (upstream compares `Phase.Name`).
        let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut visited: HashSet<&str> = HashSet::new();
        for f in &flat {
            if !run.get(&f.generated_name).copied().unwrap_or(false) {
                continue;
            }
            for dep in f.phase.deps {
                if !visited.contains(dep) {
                    missing.entry(f.phase.name.to_string()).or_default().push((*dep).to_string());
                }
            }
            visited.insert(f.phase.name);
        }
        if !missing.is_empty() {
            return Err(WorkflowError::UnresolvedDependencies(missing));
        }
        Ok(Plan { run })
    }

    /// Runs the selected phases in table order.
    pub fn execute(&self, plan: &Plan, data: &mut D) -> Result<(), WorkflowError> {
        for f in self.flatten() {
            if !plan.selected(&f.generated_name) {
                continue;
            }
            if let Some(cond) = f.phase.run_if {
                match cond(data) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(cause) => {
                        return Err(WorkflowError::RunCondition { phase: f.generated_name, cause });
                    }
                }
            }
            if let Some(run) = f.phase.run {
                run(data).map_err(|cause| WorkflowError::Phase { phase: f.generated_name.clone(), cause })?;
            }
        }
        Ok(())
    }

    /// The phase tree for `<cmd> --help`, in upstream's layout.
    pub fn help(&self) -> String {
        let flat = self.flatten();
        let visible = |f: &&Flat<'_, D>| !f.phase.hidden && !f.phase.run_all_siblings;
        let max = flat.iter().filter(visible).map(|f| f.usage.len()).max().unwrap_or(0);
        let offset = 2;
        let mut out = format!("The {:?} command executes the following phases:\n```\n", self.command);
        for f in flat.iter().filter(visible) {
            out.push_str(&" ".repeat(offset * f.level));
            out.push_str(&f.usage);
            out.push_str(&" ".repeat(max - f.usage.len() + offset));
            out.push_str(&f.phase.short);
            out.push('\n');
        }
        out.push_str("```");
        out
    }

    /// The generated `phase` subcommand tree. `flag` returns the parent command's definition of an
    /// inheritable flag (or `None` if the command has no such flag).
    pub fn phase_command(&self, flag: &dyn Fn(&str) -> Option<Arg>) -> Command {
        let mut phase_cmd = Command::new("phase")
            .about(format!("Use this command to invoke single phase of the {:?} workflow", self.command))
            .subcommand_required(true)
            .arg_required_else_help(true);
        for p in &self.phases {
            if p.hidden {
                continue;
            }
            phase_cmd = phase_cmd.subcommand(build_phase_command(p, flag));
        }
        phase_cmd
    }

    /// Resolves a generated subcommand path (`["certs", "apiserver"]`, aliases allowed) to the
    /// selector upstream uses as the filter (`certs/apiserver`; `all` selects its parent). Returns
    /// `None` when the path names a group that needs a subcommand.
    pub fn selector_for(&self, path: &[String]) -> Option<String> {
        let mut level: &Vec<Phase<D>> = &self.phases;
        let mut names: Vec<String> = Vec::new();
        let mut current: Option<&Phase<D>> = None;
        for seg in path {
            let p = level
                .iter()
                .find(|p| !p.hidden && (clean_name(p.name) == *seg || p.aliases.contains(&seg.as_str())))?;
            if p.run_all_siblings {
                return if names.is_empty() { None } else { Some(names.join(PHASE_SEPARATOR)) };
            }
            names.push(clean_name(p.name));
            level = &p.children;
            current = Some(p);
        }
        match current {
            Some(p) if p.children.is_empty() => Some(names.join(PHASE_SEPARATOR)),
            _ => None,
        }
    }
}

fn flatten_into<'a, D>(out: &mut Vec<Flat<'a, D>>, parent: Option<usize>, p: &'a Phase<D>) {
    let name = clean_name(p.name);
    let (generated_name, usage, level) = match parent {
        Some(pi) => (
            format!("{}{PHASE_SEPARATOR}{name}", out[pi].generated_name),
            format!("{PHASE_SEPARATOR}{name}"),
            out[pi].level + 1,
        ),
        None => (name.clone(), name, 0),
    };
    out.push(Flat { phase: p, parent, level, generated_name, usage });
    let me = out.len() - 1;
    for c in &p.children {
        flatten_into(out, Some(me), c);
    }
}

fn build_phase_command<D>(p: &Phase<D>, flag: &dyn Fn(&str) -> Option<Arg>) -> Command {
    // Phase names are lower-case literals; slicing keeps them `'static` for clap.
    let (name, usage_tail): (&'static str, Option<&'static str>) = match p.name.find(' ') {
        Some(pos) => (&p.name[..pos], Some(&p.name[pos + 1..])),
        None => (p.name, None),
    };
    let mut cmd = Command::new(name).about(p.short.clone());
    if !p.long.is_empty() {
        cmd = cmd.long_about(p.long.clone());
    }
    if !p.example.is_empty() {
        cmd = cmd.after_help(format!("Examples:\n{}", p.example));
    }
    for a in p.aliases {
        cmd = cmd.visible_alias(*a);
    }
    for f in &p.inherit_flags {
        if let Some(arg) = flag(f) {
            cmd = cmd.arg(arg);
        }
    }
    let children: Vec<&Phase<D>> = p.children.iter().filter(|c| !c.hidden).collect();
    if !children.is_empty() {
        cmd = cmd.subcommand_required(true).arg_required_else_help(true);
        for c in children {
            cmd = cmd.subcommand(build_phase_command(c, flag));
        }
    } else if !p.no_args {
        // Upstream hands these phases the parent command's positional args (join's endpoint).
        let value = usage_tail.unwrap_or("ARGS");
        cmd = cmd.arg(Arg::new("args").value_name(value).num_args(0..).action(ArgAction::Append).hide(true));
    }
    cmd
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sel: Vec<_> = self.run.iter().filter(|(_, v)| **v).map(|(k, _)| k.as_str()).collect();
        sel.sort_unstable();
        write!(f, "Plan{sel:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Data {
        calls: Vec<&'static str>,
        cond: bool,
    }

    fn rec(name: &'static str) -> RunFn<Data> {
        // Distinct fn items per name via a small match; fn pointers cannot capture.
        match name {
            "foo" => |d: &mut Data| {
                d.calls.push("foo");
                Ok(())
            },
            "bar" => |d: &mut Data| {
                d.calls.push("bar");
                Ok(())
            },
            "bar/baz" => |d: &mut Data| {
                d.calls.push("bar/baz");
                Ok(())
            },
            "bar/qux" => |d: &mut Data| {
                d.calls.push("bar/qux");
                Ok(())
            },
            _ => |d: &mut Data| {
                d.calls.push("qux");
                Ok(())
            },
        }
    }

    fn runner() -> Runner<Data> {
        Runner {
            command: "test",
            phases: vec![
                Phase::new("foo", "foo phase").run(rec("foo")),
                Phase::new("bar", "bar phase").run(rec("bar")).children(vec![
                    Phase::all("run all", vec![]),
                    Phase::new("baz [arg]", "baz phase").run(rec("bar/baz")),
                    Phase::new("qux", "qux phase").run(rec("bar/qux")).run_if(|d: &Data| Ok(d.cond)),
                ]),
                Phase::new("hid", "hidden").hidden().run(rec("qux")),
                Phase::new("last", "needs foo").deps(&["foo"]),
            ],
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn order_and_conditions() {
        let r = runner();
        let plan = r.plan(&[], &[]).expect("plan");
        let mut d = Data::default();
        r.execute(&plan, &mut d).expect("run");
        assert_eq!(d.calls, vec!["foo", "bar", "bar/baz", "qux"]);
        let mut d = Data { cond: true, ..Default::default() };
        r.execute(&plan, &mut d).expect("run");
        assert_eq!(d.calls, vec!["foo", "bar", "bar/baz", "bar/qux", "qux"]);
    }

    #[test]
    fn filter_and_skip_precedence() {
        let r = runner();
        let plan = r.plan(&s(&["bar"]), &s(&["bar/baz"])).expect("plan");
        assert!(plan.selected("bar") && !plan.selected("bar/baz") && plan.selected("bar/qux"));
        assert!(!plan.selected("foo"));
        let plan = r.plan(&s(&["bar/baz"]), &s(&["bar"])).expect("plan");
        assert!(!plan.selected("bar/baz"), "skip has precedence over filter");
        let plan = r.plan(&[], &s(&["bar", "last"])).expect("plan");
        assert!(plan.selected("foo") && !plan.selected("bar/qux") && plan.selected("hid"));
    }

    #[test]
    fn invalid_names() {
        let r = runner();
        let e = r.plan(&[], &s(&["nope"])).expect_err("invalid");
        assert_eq!(e.to_string(), "invalid phase name: nope");
        assert!(r.plan(&[], &s(&["bar/all"])).is_ok(), "upstream accepts the `all` pseudo-phase");
        assert!(r.plan(&[], &s(&["bar/baz"])).is_ok(), "usage suffix is not part of the name");
    }

    #[test]
    fn dependencies() {
        let r = runner();
        let e = r.plan(&[], &s(&["foo"])).expect_err("deps");
        assert_eq!(
            e.to_string(),
            "unresolved dependencies:\n\tmissing [foo] phase(s) needed by \"last\" phase"
        );
        assert!(r.plan(&s(&["foo", "last"]), &[]).is_ok());
    }

    #[test]
    fn phase_errors_are_wrapped() {
        let r =
            Runner::<Data> {
                command: "test",
                phases: vec![Phase::new("a", "a").children(vec![
                    Phase::new("b", "b").run(|_| Err(PhaseError::NotImplemented("a/b".into()))),
                ])],
            };
        let plan = r.plan(&[], &[]).expect("plan");
        let e = r.execute(&plan, &mut Data::default()).expect_err("fails");
        assert_eq!(e.to_string(), "error execution phase a/b: phase \"a/b\" is not implemented yet");
    }

    /// Children are indented but padded as if they were not (upstream's layout, kept on purpose).
    #[test]
    fn golden_help() {
        let want = "The \"test\" command executes the following phases:\n```\nfoo   foo phase\nbar   bar phase\n  /baz  baz phase\n  /qux  qux phase\nlast  needs foo\n```";
        assert_eq!(runner().help(), want);
    }

    #[test]
    fn selectors() {
        let r = runner();
        assert_eq!(r.selector_for(&s(&["bar", "all"])), Some("bar".into()));
        assert_eq!(r.selector_for(&s(&["bar", "baz"])), Some("bar/baz".into()));
        assert_eq!(r.selector_for(&s(&["bar"])), None);
        assert_eq!(r.selector_for(&s(&["foo"])), Some("foo".into()));
        let cmd = r.phase_command(&|_| None);
        let names: Vec<_> = cmd.get_subcommands().map(|c| c.get_name().to_string()).collect();
        assert_eq!(names, vec!["foo", "bar", "last"]);
    }
}
