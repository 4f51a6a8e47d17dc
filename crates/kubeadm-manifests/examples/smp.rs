//! `smp ORIGINAL.json PATCH.json`: applies a strategic merge patch for a Pod and prints compact JSON
//! (for differential testing against apimachinery).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let read = |p: &str| -> serde_json::Value {
        let s = std::fs::read_to_string(p).unwrap_or_default();
        serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)
    };
    if args.len() < 3 {
        eprintln!("usage: smp ORIGINAL PATCH");
        std::process::exit(2);
    }
    match kubeadm_manifests::strategic::strategic_merge_patch(
        &read(&args[1]),
        &read(&args[2]),
        kubeadm_manifests::strategic::Schema::Pod,
    ) {
        Ok(v) => println!("{v}"),
        Err(e) => println!("ERR {e}"),
    }
}
