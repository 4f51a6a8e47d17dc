//! Reads JSON on stdin and prints it as upstream's `sigs.k8s.io/yaml.JSONToYAML` would (for
//! differential testing against the Go implementation).
use std::io::Read;

fn main() {
    let mut s = String::new();
    if std::io::stdin().read_to_string(&mut s).is_err() {
        std::process::exit(1);
    }
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(v) => print!("{}", kubeadm_manifests::goyaml::to_string(&v)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
