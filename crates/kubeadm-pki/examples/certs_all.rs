//! Development aid: `cargo run -p kubeadm-pki --example certs_all -- <dir> [ALGORITHM]` generates
//! the whole PKI into `<dir>` (for cross-checking with Go / openssl) and prints kubeadm's messages.

use std::str::FromStr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: certs_all <dir> [ALGORITHM]")?;
    let alg = kubeadm_pki::KeyAlgorithm::from_str(&args.next().unwrap_or_default())?;
    let mut inputs = kubeadm_pki::CertInputs::new(&dir, "cp-1", "192.168.10.5".parse()?);
    inputs.algorithm = alg;
    inputs.control_plane_endpoint = Some("api.example.com:6443".into());
    let start = std::time::Instant::now();
    let out = kubeadm_pki::CertsRunner::new(&inputs).run_all()?;
    eprintln!("generated in {:?}", start.elapsed());
    println!("{}", kubeadm_pki::certs_dir_message(&inputs));
    for m in &out.messages {
        println!("{m}");
    }
    for f in &out.files {
        std::fs::create_dir_all(f.path.parent().ok_or("no parent")?)?;
        std::fs::write(&f.path, &f.data)?;
    }
    Ok(())
}
