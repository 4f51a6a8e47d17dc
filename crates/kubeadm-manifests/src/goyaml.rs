//! YAML output byte-compatible with upstream's `sigs.k8s.io/yaml` (`JSONToYAML`, backed by go-yaml v2).
//!
//! Upstream serializes API objects as Go struct -> JSON -> generic map -> YAML. The resulting text has
//! go-yaml v2's properties, which this module reproduces for a [`serde_json::Value`]:
//!
//! * mapping keys sorted with go-yaml's "natural" order (at the first difference a non-letter sorts
//!   before a letter, digit runs compare numerically), not plain byte order;
//! * block style, sequences inside mappings not indented, two-space indentation, no line wrapping;
//! * strings that would resolve to another YAML 1.1 type (`true`, `yes`, `10`, `1.5`, `""`, `~`, ...)
//!   double-quoted; strings that cannot be plain (leading `[`, `: `, ...) single-quoted; strings with
//!   line breaks as literal blocks (`|`, `|-`, `|+`); non-printable content double-quoted with escapes;
//! * empty mappings and sequences as `{}` and `[]`.
//!
//! Verified against `sigs.k8s.io/yaml` v1.6.0 / go-yaml v2.4.4 on a few hundred strings, keys and
//! numbers. Known differences: mapping keys containing line breaks (go-yaml writes complex `? `
//! keys) and key sets for which go-yaml's comparator is not a total order (e.g. `08`, `0b`, `1e`),
//! where Go's own output depends on map iteration order.

use serde_json::Value;

/// Serializes a JSON value the way `sigs.k8s.io/yaml.JSONToYAML` does.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => emit_mapping(&mut out, map, 0, false),
        Value::Array(seq) if !seq.is_empty() => emit_sequence(&mut out, seq, 0, false),
        other => {
            emit_inline_value(&mut out, other, 0);
            out.push('\n');
        }
    }
    out
}

/// Serializes any `Serialize` value through JSON to go-yaml-compatible YAML.
pub fn marshal<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(to_string(&serde_json::to_value(value)?))
}

/// go-yaml v2's key ordering (`keyList.Less`) for string keys.
pub fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let n = ar.len().min(br.len());
    for i in 0..n {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 {
                j -= 1;
                if !ar[j].is_numeric() {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

fn sorted_keys(map: &serde_json::Map<String, Value>) -> Vec<&String> {
    // go-yaml's comparator is not a total order for exotic keys, so use a sort that tolerates that
    // (insertion sort, which is also what Go's sort.Sort does for small inputs).
    let mut keys: Vec<&String> = map.keys().collect();
    for i in 1..keys.len() {
        let mut j = i;
        while j > 0 && key_less(keys[j], keys[j - 1]) {
            keys.swap(j, j - 1);
            j -= 1;
        }
    }
    keys
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// Emits a non-empty mapping whose keys start at column `ind`. When `inline_first`, the first key
/// continues the current line (after `- `).
fn emit_mapping(out: &mut String, map: &serde_json::Map<String, Value>, ind: usize, inline_first: bool) {
    for (n, key) in sorted_keys(map).into_iter().enumerate() {
        if n > 0 || !inline_first {
            indent(out, ind);
        }
        emit_scalar(out, key, ind, true);
        out.push(':');
        let value = &map[key.as_str()];
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                emit_mapping(out, m, ind + 2, false);
            }
            Value::Array(s) if !s.is_empty() => {
                out.push('\n');
                emit_sequence(out, s, ind, false);
            }
            other => {
                out.push(' ');
                emit_inline_value(out, other, ind);
                out.push('\n');
            }
        }
    }
}

/// Emits a non-empty sequence whose dashes start at column `ind`.
fn emit_sequence(out: &mut String, seq: &[Value], ind: usize, inline_first: bool) {
    for (n, item) in seq.iter().enumerate() {
        if n > 0 || !inline_first {
            indent(out, ind);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => emit_mapping(out, m, ind + 2, true),
            Value::Array(s) if !s.is_empty() => emit_sequence(out, s, ind + 2, true),
            other => {
                emit_inline_value(out, other, ind);
                out.push('\n');
            }
        }
    }
}

/// Emits a scalar or an empty collection on the current line (no trailing newline, except inside
/// literal blocks). `ind` is the indentation of the owning node.
fn emit_inline_value(out: &mut String, value: &Value, ind: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&format_number(n)),
        Value::String(s) => emit_scalar(out, s, ind, false),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn format_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    if f.is_nan() {
        return ".nan".into();
    }
    // Go's strconv.FormatFloat(f, 'g', -1, 64): shortest repr, exponent form for large/small.
    let exp = if f == 0.0 { 0 } else { f.abs().log10().floor() as i32 };
    if !(-4..6).contains(&exp) {
        let s = format!("{f:e}");
        // Rust: 1e21 / 1.5e-7 ; Go: 1e+21 / 1.5e-07
        if let Some((mant, e)) = s.split_once('e') {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            let digits = if digits.len() < 2 { format!("0{digits}") } else { digits.to_string() };
            return format!("{mant}e{sign}{digits}");
        }
        s
    } else {
        let s = format!("{f}");
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_printable(c: char) -> bool {
    let c = c as u32;
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || (0xA0..=0xD7FF).contains(&c)
        || ((0xE000..=0xFFFD).contains(&c) && c != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_ws = true;
    let n = chars.len();
    for i in 0..n {
        let c = chars[i];
        let followed_by_ws = i + 1 >= n || is_blank(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@'
                | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_ws {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_ws => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_ws {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_ws => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blank(c) || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.block_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    let _ = flow_indicators;
    a
}

/// Whether go-yaml's resolver would read the plain scalar as something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no", "No", "NO",
        "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null", "NULL", ".nan", ".NaN",
        ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    ];
    if SPECIAL.contains(&s) {
        return true;
    }
    let first = match s.as_bytes().first() {
        Some(b) => *b,
        None => return true,
    };
    match first {
        b'.' => parse_go_float(s),
        b'0'..=b'9' | b'+' | b'-' => {
            if is_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|c| *c != '_').collect();
            if parse_go_int(&plain) {
                return true;
            }
            if is_yaml_style_float(&plain) {
                return true;
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                return !rest.is_empty() && rest.chars().all(|c| c == '0' || c == '1');
            }
            if let Some(rest) = plain.strip_prefix("-0b") {
                return !rest.is_empty() && rest.chars().all(|c| c == '0' || c == '1');
            }
            false
        }
        _ => false,
    }
}

/// Approximates Go's `strconv.ParseFloat` acceptance for strings starting with '.'.
fn parse_go_float(s: &str) -> bool {
    s.parse::<f64>().is_ok() && !s.contains(['i', 'I', 'n', 'N'])
}

/// Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint(s, 0, 64)` acceptance (base prefixes, sign).
fn parse_go_int(s: &str) -> bool {
    let body = s.strip_prefix('+').or_else(|| s.strip_prefix('-')).unwrap_or(s);
    let (digits, radix) = if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        (r, 16)
    } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        (r, 2)
    } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        (r, 8)
    } else if body.len() > 1 && body.starts_with('0') {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    !digits.is_empty() && u128::from_str_radix(digits, radix).is_ok_and(|v| v <= u128::from(u64::MAX))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// go-yaml's timestamp detection: `YYYY-M-D` optionally followed by a time part.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    // Date part: YYYY-M(M)-D(D)
    let rest = &s[5..];
    let mut parts = rest.splitn(2, '-');
    let month = parts.next().unwrap_or("");
    let tail = match parts.next() {
        Some(t) => t,
        None => return false,
    };
    if month.is_empty() || month.len() > 2 || !month.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let day_len = tail.bytes().take_while(u8::is_ascii_digit).count();
    if day_len == 0 || day_len > 2 {
        return false;
    }
    let m: u32 = month.parse().unwrap_or(0);
    let d: u32 = tail[..day_len].parse().unwrap_or(0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return false;
    }
    let after = &tail[day_len..];
    if after.is_empty() {
        return true;
    }
    // Time part: [Tt ]H:M:S(.frac)?(Z|±hh:mm)? — accepted loosely.
    let sep = after.as_bytes()[0];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return false;
    }
    let time = &after[1..];
    let hms: Vec<&str> = time.splitn(3, ':').collect();
    if hms.len() != 3 {
        return false;
    }
    hms[0].bytes().all(|c| c.is_ascii_digit())
        && !hms[0].is_empty()
        && hms[1].bytes().all(|c| c.is_ascii_digit())
        && !hms[1].is_empty()
        && hms[2].as_bytes().first().is_some_and(u8::is_ascii_digit)
}

fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let g = &s[start..i];
        let ok = match g.len() {
            1 => true,
            2 => g.as_bytes()[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

fn choose_style(s: &str, simple_key: bool) -> Style {
    let can_use_plain = !resolves_to_non_string(s) && !is_base60_float(s);
    let requested = if s.contains('\n') {
        Style::Literal
    } else if can_use_plain {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    let mut style = requested;
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain {
        if !a.block_plain_allowed {
            style = Style::Single;
        }
        if s.is_empty() && simple_key {
            style = Style::Single;
        }
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::Double;
    }
    style
}

fn emit_scalar(out: &mut String, s: &str, ind: usize, simple_key: bool) {
    match choose_style(s, simple_key) {
        Style::Plain => out.push_str(s),
        Style::Single => {
            out.push('\'');
            for c in s.chars() {
                if c == '\'' {
                    out.push('\'');
                }
                out.push(c);
            }
            out.push('\'');
        }
        Style::Double => write_double_quoted(out, s),
        Style::Literal => write_literal(out, s, ind),
    }
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
            out.push('\\');
            match c {
                '\0' => out.push('0'),
                '\u{07}' => out.push('a'),
                '\u{08}' => out.push('b'),
                '\t' => out.push('t'),
                '\n' => out.push('n'),
                '\u{0b}' => out.push('v'),
                '\u{0c}' => out.push('f'),
                '\r' => out.push('r'),
                '\u{1b}' => out.push('e'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '\u{85}' => out.push('N'),
                '\u{A0}' => out.push('_'),
                '\u{2028}' => out.push('L'),
                '\u{2029}' => out.push('P'),
                other => {
                    let v = other as u32;
                    if v <= 0xFF {
                        out.push_str(&format!("x{v:02X}"));
                    } else if v <= 0xFFFF {
                        out.push_str(&format!("u{v:04X}"));
                    } else {
                        out.push_str(&format!("U{v:08X}"));
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

/// Literal block scalar; the content is indented two columns deeper than the owning node.
fn write_literal(out: &mut String, s: &str, ind: usize) {
    out.push('|');
    let first = s.chars().next();
    if first.is_some_and(|c| c == ' ' || is_break(c)) {
        out.push('2');
    }
    let chars: Vec<char> = s.chars().collect();
    let chomp = match chars.len() {
        0 => Some('-'),
        n => {
            if !is_break(chars[n - 1]) {
                Some('-')
            } else if n == 1 || is_break(chars[n - 2]) {
                Some('+')
            } else {
                None
            }
        }
    };
    if let Some(c) = chomp {
        out.push(c);
    }
    out.push('\n');
    let content_indent = ind + 2;
    let mut at_line_start = true;
    for c in chars {
        if is_break(c) {
            out.push('\n');
            at_line_start = true;
        } else {
            if at_line_start {
                indent(out, content_indent);
                at_line_start = false;
            }
            out.push(c);
        }
    }
    // The caller appends the final newline of the node; a literal that ended with a break already
    // produced it.
    if s.ends_with(is_break) {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_matches_go_yaml() {
        assert!(key_less("foo-bar", "foobar"));
        assert!(key_less("a_b", "aZb"));
        assert!(key_less("a2", "a10"));
        assert!(key_less("apiVersion", "kind"));
        assert!(key_less("hostNetwork", "priority"));
    }

    #[test]
    fn scalars() {
        let v = json!({
            "a": "true", "b": "10000", "c": "", "d": "[::1]:6443", "e": "--x=y", "f": "a: b",
            "g": "line1\nline2", "h": 5, "i": false, "j": {}, "k": [], "l": "1.5", "m": "x\ty",
            "n": "it's", "o": "0x1F", "p": "2024-01-01", "q": "100Mi", "r": "*,bootstrapsigner"
        });
        let y = to_string(&v);
        assert_eq!(
            y,
            "a: \"true\"\nb: \"10000\"\nc: \"\"\nd: '[::1]:6443'\ne: --x=y\nf: 'a: b'\ng: |-\n  line1\n  line2\nh: 5\ni: false\nj: {}\nk: []\nl: \"1.5\"\nm: \"x\\ty\"\n\"n\": it's\no: \"0x1F\"\np: \"2024-01-01\"\nq: 100Mi\nr: '*,bootstrapsigner'\n"
        );
    }

    #[test]
    fn nesting() {
        let v = json!({"a": [{"x": 1, "y": [1, 2]}, "s", [3, 4]], "b": {"c": {"d": null}}});
        assert_eq!(
            to_string(&v),
            "a:\n- x: 1\n  \"y\":\n  - 1\n  - 2\n- s\n- - 3\n  - 4\nb:\n  c:\n    d: null\n"
        );
    }
}
