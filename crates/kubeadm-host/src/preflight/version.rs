//! A small semantic-version type with the parts of apimachinery's `util/version` the checks need:
//! strict parsing of `v1.37.2`, `1.35.0-rc.1+meta`, ordering with pre-release rules, and `String()`
//! (no leading `v`).

use std::cmp::Ordering;
use std::fmt;

/// A parsed semantic version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Major, minor, patch.
    pub parts: [u64; 3],
    /// Pre-release identifiers (after `-`), empty for a release.
    pub pre: Vec<String>,
    /// Build metadata (after `+`), ignored for ordering.
    pub build: String,
}

fn numeric(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

impl Version {
    /// Parses like `versionutil.ParseSemantic`: an optional leading `v`, exactly three numeric
    /// components, optional `-pre.release` and `+build`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let orig = s;
        let s = s.strip_prefix('v').unwrap_or(s);
        let (s, build) = match s.split_once('+') {
            Some((a, b)) => (a, b.to_string()),
            None => (s, String::new()),
        };
        let (core, pre) = match s.split_once('-') {
            Some((a, b)) => (a, b.split('.').map(str::to_string).collect::<Vec<_>>()),
            None => (s, Vec::new()),
        };
        if pre.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')) {
            return Err(format!("illegal version string {orig:?}"));
        }
        let nums: Vec<&str> = core.split('.').collect();
        if nums.len() != 3 {
            return Err(format!("illegal version string {orig:?}"));
        }
        let mut parts = [0u64; 3];
        for (i, n) in nums.iter().enumerate() {
            parts[i] = numeric(n).ok_or_else(|| format!("illegal version string {orig:?}"))?;
        }
        Ok(Self { parts, pre, build })
    }

    /// Major component.
    pub fn major(&self) -> u64 {
        self.parts[0]
    }

    /// Minor component.
    pub fn minor(&self) -> u64 {
        self.parts[1]
    }

    /// `self < other` in semver order.
    pub fn less_than(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Less
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts).then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (a, b) in self.pre.iter().zip(other.pre.iter()) {
                    let o = match (numeric(a), numeric(b)) {
                        (Some(x), Some(y)) => x.cmp(&y),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => a.cmp(b),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                self.pre.len().cmp(&other.pre.len())
            }
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.parts[0], self.parts[1], self.parts[2])?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre.join("."))?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        let v = Version::parse("v1.37.2").unwrap();
        assert_eq!(v.to_string(), "1.37.2");
        let rc = Version::parse("1.35.0-rc.1").unwrap();
        let zero = Version::parse("1.35.0-0").unwrap();
        let rel = Version::parse("1.35.0").unwrap();
        assert!(zero < rc && rc < rel);
        assert!(Version::parse("1.35.0-alpha.1").unwrap() > zero);
        assert!(Version::parse("1.37").is_err());
        assert!(Version::parse("x.y.z").is_err());
        assert!(Version::parse("1.37.02").is_err());
        assert_eq!(Version::parse("1.2.3+abc").unwrap().to_string(), "1.2.3+abc");
    }
}
