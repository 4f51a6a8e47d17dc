//! `kubeadm certs check-expiration` output (upstream `cmd/certs.go`: `fetchCertificateExpirationInfo`
//! and `certTextPrinter`; the `output.kubeadm.k8s.io/v1alpha3` `CertificateExpirationInfo` type).
//!
//! * [`CertificateExpiration`] / [`ExpirationInfo`]: one row per certificate or CA.
//! * [`ExpirationInfo::to_text`]: the two tables exactly as Go's `text/tabwriter` lays them out.
//! * [`human_duration`]: apimachinery's `duration.HumanDuration` (the RESIDUAL TIME column).

use time::OffsetDateTime;

/// One certificate or CA of the check-expiration output (`outputapiv1alpha3.Certificate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateExpiration {
    /// `apiserver`, `admin.conf`, `ca`, ...
    pub name: String,
    /// NotAfter; `None` when the file is missing.
    pub expiration_date: Option<OffsetDateTime>,
    /// Whole seconds until NotAfter (truncated toward zero; negative once expired).
    pub residual_seconds: i64,
    /// The signing CA is present without its key.
    pub externally_managed: bool,
    /// Name of the signing CA; empty for CAs.
    pub ca_name: String,
    /// The certificate (or kubeconfig file) does not exist.
    pub missing: bool,
}

impl CertificateExpiration {
    /// A row for a certificate that exists.
    pub fn present(
        name: &str,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
        externally_managed: bool,
        ca_name: &str,
    ) -> Self {
        Self {
            name: name.to_string(),
            expiration_date: Some(not_after),
            residual_seconds: residual_seconds(not_after, now),
            externally_managed,
            ca_name: ca_name.to_string(),
            missing: false,
        }
    }

    /// A row for a missing certificate.
    pub fn missing(name: &str) -> Self {
        Self {
            name: name.to_string(),
            expiration_date: None,
            residual_seconds: 0,
            externally_managed: false,
            ca_name: String::new(),
            missing: true,
        }
    }
}

/// `int64(time.Until(notAfter) / time.Second)`.
pub fn residual_seconds(not_after: OffsetDateTime, now: OffsetDateTime) -> i64 {
    let ns = (not_after - now).whole_nanoseconds() / 1_000_000_000;
    i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX })
}

/// `CertificateExpirationInfo`: the leaf certificates (sorted by name) and the CAs (sorted by name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpirationInfo {
    /// `certificates`.
    pub certificates: Vec<CertificateExpiration>,
    /// `certificateAuthorities`.
    pub certificate_authorities: Vec<CertificateExpiration>,
}

impl ExpirationInfo {
    /// Upstream's text output: the certificate table, an empty line, the CA table.
    pub fn to_text(&self) -> String {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut text =
            String::from("CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED\n");
        for c in &self.certificates {
            match (c.missing, c.expiration_date) {
                (false, Some(exp)) => text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{:<8}\n",
                    c.name,
                    go_expiry_format(exp),
                    human_seconds(c.residual_seconds),
                    c.ca_name,
                    yes_no(c.externally_managed)
                )),
                _ => text.push_str(&format!("!MISSING! {}\t\t\t\t\n", c.name)),
            }
        }
        text.push('\n');
        text.push_str("CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED\n");
        for c in &self.certificate_authorities {
            match (c.missing, c.expiration_date) {
                (false, Some(exp)) => text.push_str(&format!(
                    "{}\t{}\t{}\t{:<8}\n",
                    c.name,
                    go_expiry_format(exp),
                    human_seconds(c.residual_seconds),
                    yes_no(c.externally_managed)
                )),
                _ => text.push_str(&format!("!MISSING! {}\t\t\t\n", c.name)),
            }
        }
        tabwrite(&text, 10, 3)
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Go's `t.Format("Jan 02, 2006 15:04 MST")` of a UTC time.
pub fn go_expiry_format(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {:02}, {} {:02}:{:02} UTC",
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.day(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// Go's `t.UTC().Format(time.RFC3339)` (metav1.Time's JSON form), whole seconds.
pub fn rfc3339_utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn human_seconds(secs: i64) -> String {
    human_duration(time::Duration::seconds(secs))
}

/// apimachinery `duration.HumanDuration`.
pub fn human_duration(d: time::Duration) -> String {
    let seconds = d.whole_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = d.whole_minutes();
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = d.whole_hours();
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Go's `text/tabwriter` (padchar ' ', no flags) over `text`: tab-terminated cells of contiguous
/// lines form a column whose width is max(`minwidth`, widest cell + `padding`); the text after a
/// line's last tab is not part of any column.
pub fn tabwrite(text: &str, minwidth: usize, padding: usize) -> String {
    let mut lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    // The text after the last newline is the (usually empty) last line; Go writes it unterminated.
    let last = lines.pop().unwrap_or_default();
    let mut out = String::new();
    let mut widths = Vec::new();
    format_block(&lines, &mut widths, 0, lines.len(), minwidth, padding, &mut out);
    out.push_str(&last.join("\t"));
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn format_block(
    lines: &[Vec<&str>],
    widths: &mut Vec<usize>,
    mut line0: usize,
    line1: usize,
    minwidth: usize,
    padding: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column >= lines[this].len() - 1 {
            this += 1;
            continue;
        }
        write_lines(lines, widths, line0, this, out);
        line0 = this;
        let mut w = minwidth;
        while this < line1 && column < lines[this].len() - 1 {
            w = w.max(width(lines[this][column]) + padding);
            this += 1;
        }
        widths.push(w);
        format_block(lines, widths, line0, this, minwidth, padding, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, widths, line0, line1, out);
}

fn write_lines(lines: &[Vec<&str>], widths: &[usize], line0: usize, line1: usize, out: &mut String) {
    for line in &lines[line0..line1] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(w) = widths.get(j) {
                out.push_str(&" ".repeat(w.saturating_sub(width(cell))));
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_apimachinery() {
        let s = |n: i64| human_duration(time::Duration::seconds(n));
        assert_eq!(s(-5), "<invalid>");
        assert_eq!(s(-1), "0s");
        assert_eq!(s(0), "0s");
        assert_eq!(s(119), "119s");
        assert_eq!(s(125), "2m5s");
        assert_eq!(s(600), "10m");
        assert_eq!(s(3 * 3600 + 60), "3h1m");
        assert_eq!(s(8 * 3600), "8h");
        assert_eq!(s(47 * 3600), "47h");
        assert_eq!(s(3 * 86400 + 3600), "3d1h");
        assert_eq!(s(364 * 86400 + 86399), "364d");
        assert_eq!(s(3 * 365 * 86400 + 86400 * 5), "3y5d");
        assert_eq!(s(10 * 365 * 86400 - 2), "9y");
    }

    #[test]
    fn go_formats() {
        let t = time::macros::datetime!(2027-11-08 07:03:46 UTC);
        assert_eq!(go_expiry_format(t), "Nov 08, 2027 07:03 UTC");
        assert_eq!(rfc3339_utc(t), "2027-11-08T07:03:46Z");
    }

    #[test]
    fn tabwriter_blocks_like_go() {
        let t = tabwrite("A\tBB\tlast\nlonger-name\tx\ty\n\nC\tD\n", 10, 3);
        assert_eq!(t, "A             BB        last\nlonger-name   x         y\n\nC         D\n");
    }

    #[test]
    fn text_output_has_missing_rows_and_trailing_padding() {
        let now = time::macros::datetime!(2026-11-28 17:03:46 UTC);
        let info = ExpirationInfo {
            certificates: vec![
                CertificateExpiration::present(
                    "admin.conf",
                    now + time::Duration::days(365),
                    now,
                    false,
                    "ca",
                ),
                CertificateExpiration::missing("apiserver"),
            ],
            certificate_authorities: vec![CertificateExpiration::present(
                "ca",
                now + time::Duration::days(3650) - time::Duration::seconds(2),
                now,
                true,
                "",
            )],
        };
        let text = info.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "admin.conf            Nov 28, 2027 17:03 UTC   365d            ca                      no      "
        );
        assert_eq!(lines[2], format!("!MISSING! apiserver{}", " ".repeat(3 + 25 + 16 + 24)));
        assert_eq!(lines[5], "ca                      Nov 25, 2036 17:03 UTC   9y              yes     ");
    }
}
