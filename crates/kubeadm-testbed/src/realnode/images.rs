//! The bed's container images: OCI image-layout tarballs built locally by
//! `scripts/build-images.sh` (no registry is reachable), named exactly as `kubeadm config images
//! list` prints. Tests find them through `KUBEADM_RS_IMAGES_DIR`; when it is unset the script is
//! run once per process (cached, fast when warm) and its last line of standard output is used.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::components;
use crate::error::{Error, Result};

/// The environment variable naming the image directory.
pub const IMAGES_DIR_ENV: &str = "KUBEADM_RS_IMAGES_DIR";

/// The index file of an image directory: `<image name>\t<tar file>` per line.
pub const INDEX_FILE: &str = "images.tsv";

/// One image: its name (`registry.k8s.io/pause:3.10.2`) and its OCI-layout tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The full image name with tag.
    pub name: String,
    /// The tarball (`ctr -n k8s.io images import <tar>`).
    pub tar: PathBuf,
}

impl Image {
    /// The repository's basename without tag (`registry.k8s.io/coredns/coredns:v1.14.6` ->
    /// `coredns`).
    pub fn short_name(&self) -> &str {
        components::image_binary(&self.name)
    }
}

/// A complete image directory.
#[derive(Debug, Clone)]
pub struct ImageSet {
    dir: PathBuf,
    images: Vec<Image>,
}

impl ImageSet {
    /// Reads an image directory (its [`INDEX_FILE`]); every tarball must exist.
    pub fn load(dir: &Path) -> Result<Self> {
        let index = dir.join(INDEX_FILE);
        let text = std::fs::read_to_string(&index)
            .map_err(|e| Error::io(format!("reading {}", index.display()), e))?;
        let images: Vec<Image> =
            parse_index(&text)?.into_iter().map(|(name, file)| Image { name, tar: dir.join(file) }).collect();
        if images.is_empty() {
            return Err(Error::Invalid(format!("{} lists no image", index.display())));
        }
        if let Some(missing) = images.iter().find(|i| !i.tar.is_file()) {
            return Err(Error::Invalid(format!("{} is missing", missing.tar.display())));
        }
        Ok(ImageSet { dir: dir.to_path_buf(), images })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// All images, in the order of the index.
    pub fn all(&self) -> &[Image] {
        &self.images
    }

    /// The image whose full name or short name ([`Image::short_name`]) is `name`.
    pub fn get(&self, name: &str) -> Result<&Image> {
        self.images
            .iter()
            .find(|i| i.name == name || i.short_name() == name)
            .ok_or_else(|| Error::Invalid(format!("no image {name} in {}", self.dir.display())))
    }

    /// The pause image (containerd's `sandbox_image`).
    pub fn pause(&self) -> Result<&Image> {
        self.get("pause")
    }
}

/// Parses an [`INDEX_FILE`].
pub fn parse_index(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (name, file) = line
            .split_once('\t')
            .ok_or_else(|| Error::Invalid(format!("{INDEX_FILE} line {}: want <name>\\t<file>", n + 1)))?;
        if name.is_empty() || file.is_empty() || file.contains('/') {
            return Err(Error::Invalid(format!("{INDEX_FILE} line {}: {line:?}", n + 1)));
        }
        out.push((name.to_string(), file.to_string()));
    }
    Ok(out)
}

static IMAGES: OnceLock<Result<ImageSet, String>> = OnceLock::new();

/// The bed's images (resolved once per process, building them if needed).
pub fn image_set() -> Result<ImageSet> {
    IMAGES.get_or_init(resolve).clone().map_err(Error::Components)
}

fn resolve() -> Result<ImageSet, String> {
    let dir = match std::env::var_os(IMAGES_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => build()?,
    };
    ImageSet::load(&dir).map_err(|e| e.to_string())
}

fn build() -> Result<PathBuf, String> {
    let script = components::repo_root().join("scripts/build-images.sh");
    if !script.is_file() {
        return Err(format!("{IMAGES_DIR_ENV} is unset and {} does not exist", script.display()));
    }
    let bin = components::bin_dir().map_err(|e| e.to_string())?;
    eprintln!("kubeadm-testbed: {IMAGES_DIR_ENV} unset; running {} ...", script.display());
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(components::repo_root())
        .env(components::BIN_DIR_ENV, &bin)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{} failed ({}); stdout:\n{stdout}", script.display(), out.status));
    }
    stdout
        .lines()
        .map(str::trim)
        .rev()
        .find(|l| !l.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| format!("{} printed nothing on stdout", script.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index() {
        let v = parse_index(
            "registry.k8s.io/pause:3.10.2\tpause.tar\n\nregistry.k8s.io/etcd:3.7.0-0\tetcd.tar\n",
        )
        .expect("parse");
        assert_eq!(v.len(), 2);
        assert_eq!(v[1], ("registry.k8s.io/etcd:3.7.0-0".to_string(), "etcd.tar".to_string()));
        assert!(parse_index("no tab here\n").is_err());
        assert!(parse_index("a\t../x.tar\n").is_err());
    }

    #[test]
    fn loads_and_finds_by_short_name() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::write(d.path().join("pause.tar"), b"x").expect("write");
        std::fs::write(d.path().join("coredns.tar"), b"x").expect("write");
        std::fs::write(
            d.path().join(INDEX_FILE),
            "registry.k8s.io/pause:3.10.2\tpause.tar\nregistry.k8s.io/coredns/coredns:v1.14.6\tcoredns.tar\n",
        )
        .expect("write");
        let s = ImageSet::load(d.path()).expect("load");
        assert_eq!(s.pause().expect("pause").name, "registry.k8s.io/pause:3.10.2");
        assert_eq!(s.get("coredns").expect("coredns").tar, d.path().join("coredns.tar"));
        assert!(s.get("etcd").is_err());
        std::fs::remove_file(d.path().join("coredns.tar")).expect("rm");
        assert!(ImageSet::load(d.path()).is_err());
    }
}
