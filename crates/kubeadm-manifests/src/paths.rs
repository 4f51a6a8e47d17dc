//! Go `path/filepath` helpers (`Join`, `Dir`, `Clean`) so paths are spelled like upstream's.

/// Go's `filepath.Clean` for Unix paths.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Join(a, b)`: empty elements are ignored, the result is cleaned.
pub fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => clean(&format!("{a}/{b}")),
    }
}

/// Go's `filepath.Dir`.
pub fn dir(p: &str) -> String {
    match p.rfind('/') {
        Some(i) => clean(&p[..=i]),
        None => clean(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_semantics() {
        assert_eq!(join("/etc/kubernetes/pki/", "ca.crt"), "/etc/kubernetes/pki/ca.crt");
        assert_eq!(join("/a/b", "../c"), "/a/c");
        assert_eq!(dir("ca.crt"), ".");
        assert_eq!(dir(""), ".");
        assert_eq!(dir("/etc/etcd/ca.crt"), "/etc/etcd");
        assert_eq!(dir("/ca.crt"), "/");
    }
}
