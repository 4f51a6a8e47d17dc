//! Command-line flags of control-plane components: defaults merged with user `extraArgs`.
//!
//! Upstream (`util.ArgumentsToCommand`) sorts only the default arguments (by name, then value), drops
//! every default whose name also appears among the overrides, and appends all overrides as given, in
//! their original order (v1beta4 allows the same name several times). So with `extraArgs` the command
//! is *not* globally sorted: the user's flags come last.

use kubeadm_api::v1beta4::Arg;

/// Builds `--name=value` flags from sorted defaults and appended overrides (upstream
/// `ArgumentsToCommand`; v1beta4 arguments always replace).
pub fn arguments_to_command(base: &[Arg], overrides: &[Arg]) -> Vec<String> {
    let mut base: Vec<&Arg> = base.iter().collect();
    base.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value)));
    let mut command: Vec<String> = base
        .into_iter()
        .filter(|a| !overrides.iter().any(|o| o.name == a.name))
        .map(|a| format!("--{}={}", a.name, a.value))
        .collect();
    command.extend(overrides.iter().map(|a| format!("--{}={}", a.name, a.value)));
    command
}

/// The value and index of the *last* argument with this name (upstream `GetArgValue(args, name, -1)`).
pub fn get_arg_value<'a>(args: &'a [Arg], name: &str) -> Option<(&'a str, usize)> {
    args.iter().enumerate().rev().find(|(_, a)| a.name == name).map(|(i, a)| (a.value.as_str(), i))
}

/// Sets the value of the last argument with this name, or appends it (upstream
/// `SetArgValues(args, name, value, 1)`).
pub fn set_arg_value(args: &mut Vec<Arg>, name: &str, value: impl Into<String>) {
    let value = value.into();
    if let Some(a) = args.iter_mut().rev().find(|a| a.name == name) {
        a.value = value;
    } else {
        args.push(Arg::new(name, value));
    }
}

/// Parses `--name=value` flags back into arguments (upstream `ArgumentsFromCommand`): entries that
/// are not of that form are skipped; the result is sorted by name, then value.
pub fn arguments_from_command(command: &[String]) -> Vec<Arg> {
    let mut args: Vec<Arg> = command
        .iter()
        .filter_map(|c| {
            let rest = c.strip_prefix("--")?;
            let (k, v) = rest.split_once('=')?;
            (!k.is_empty()).then(|| Arg::new(k, v))
        })
        .collect();
    args.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value)));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_go_last_in_given_order() {
        let base = vec![Arg::new("b", "1"), Arg::new("a", "2"), Arg::new("c", "3")];
        let ov = vec![Arg::new("z", "9"), Arg::new("b", "x"), Arg::new("b", "y")];
        assert_eq!(arguments_to_command(&base, &ov), vec!["--a=2", "--c=3", "--z=9", "--b=x", "--b=y"]);
    }
}
