//! RFC 8785 JSON Canonicalization Scheme (JCS), for the logged envelope.
//!
//! Covers: serialising a [`serde_json::Value`] canonically: no white space,
//! object members sorted by the UTF-16 code units of their names, strings
//! escaped as ECMAScript's `JSON.stringify` does (only `"`, `\`, and control
//! characters below U+0020 are escaped; `\b \t \n \f \r` short forms, the
//! rest as lowercase `\u00xx`), numbers written as ECMAScript's
//! `Number.prototype.toString` writes them (`1e+21`, `0.000001`, `1e-7`).
//!
//! Leaves out: integers of magnitude above 2^53 (I-JSON's exact range). JCS
//! would first round them to a double and so change the value; we refuse
//! them with [`JcsError::IntegerOutOfRange`] instead. Parsing (serde_json
//! does it; duplicate names must be refused before a `Value` exists, which
//! the strict envelope parser in [`super::dsse`] does).

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JcsError {
    /// An integer outside ±2^53, which a double cannot hold exactly.
    #[error("the number {value} is outside the I-JSON range (an integer of magnitude at most 2^53, or a double)")]
    IntegerOutOfRange {
        /// The number as serde_json wrote it.
        value: String,
    },
    /// A number that is not finite (serde_json cannot produce one, but a
    /// hand-built `Value` from `f64` can be checked here too).
    #[error("the number {value} is not finite")]
    NotFinite {
        /// The number as serde_json wrote it.
        value: String,
    },
}

const MAX_SAFE: u64 = 1 << 53;

/// The RFC 8785 canonical bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::new();
    write_value(value, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_value(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_number(n: &serde_json::Number, out: &mut Vec<u8>) -> Result<(), JcsError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE {
            return Err(JcsError::IntegerOutOfRange {
                value: n.to_string(),
            });
        }
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE {
            return Err(JcsError::IntegerOutOfRange {
                value: n.to_string(),
            });
        }
        out.extend_from_slice(i.to_string().as_bytes());
    } else {
        let f = n.as_f64().ok_or_else(|| JcsError::NotFinite {
            value: n.to_string(),
        })?;
        out.extend_from_slice(es6_number(f)?.as_bytes());
    }
    Ok(())
}

/// ECMAScript `Number.prototype.toString(10)` for a finite double
/// (ECMA-262 section 7.1.12.1, "Number::toString").
pub fn es6_number(f: f64) -> Result<String, JcsError> {
    if !f.is_finite() {
        return Err(JcsError::NotFinite {
            value: f.to_string(),
        });
    }
    if f == 0.0 {
        return Ok("0".to_owned()); // also -0
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Rust's `{:e}` gives the shortest digits that round-trip, as ES requires:
    // "d.ddddde<exp>" or "de<exp>".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci
        .split_once('e')
        .ok_or_else(|| JcsError::NotFinite { value: sci.clone() })?;
    let exp: i32 = exp
        .parse()
        .map_err(|_| JcsError::NotFinite { value: sci.clone() })?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32; // number of significant digits
    let n = exp + 1; // position of the decimal point
    let body = if k <= n && n <= 21 {
        let mut s = digits.clone();
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
        s
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{}", "0".repeat((-n) as usize), digits)
    } else {
        let e = n - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        if k == 1 {
            format!("{digits}e{e_sign}{}", e.abs())
        } else {
            format!("{}.{}e{e_sign}{}", &digits[..1], &digits[1..], e.abs())
        }
    };
    Ok(format!("{sign}{body}"))
}

pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    // Copy runs of bytes that need no escape in one go (every byte of a
    // multi-byte UTF-8 sequence is >= 0x80, so runs never split a char).
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.extend_from_slice(esc);
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jcs(v: &Value) -> String {
        String::from_utf8(canonicalize(v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_by_utf16_and_drops_whitespace() {
        // RFC 8785 section 3.2.3 sorting example.
        let v: Value = serde_json::from_str(
            r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
                "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                    \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                    \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(jcs(&v), want);
        assert_eq!(
            jcs(&json!({"b": [1, {"d": 1, "c": 2}], "a": null})),
            r#"{"a":null,"b":[1,{"c":2,"d":1}]}"#
        );
    }

    #[test]
    fn escapes_like_ecmascript() {
        let v = json!("\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\"\\/\u{7f}\u{2028}€");
        assert_eq!(
            jcs(&v),
            "\"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\\"\\\\/\u{7f}\u{2028}€\""
        );
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the RFC's inputs, written as it writes them
    fn numbers_like_ecmascript() {
        // RFC 8785 appendix B and section 3.2.2.3 examples.
        let cases: &[(f64, &str)] = &[
            (333333333.33333329, "333333333.3333333"),
            (1e30, "1e+30"),
            (4.50, "4.5"),
            (2e-3, "0.002"),
            (0.000000000000000000000000001, "1e-27"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (-0.0, "0"),
            (-1.5, "-1.5"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123456789012345680000.0, "123456789012345680000"),
            (9007199254740992.0, "9007199254740992"),
            (0.1, "0.1"),
        ];
        for (f, want) in cases {
            assert_eq!(es6_number(*f).unwrap(), *want, "{f}");
        }
        assert_eq!(
            jcs(&json!([1, -1, 0, 9007199254740992u64, 1.5])),
            "[1,-1,0,9007199254740992,1.5]"
        );
        assert!(matches!(
            canonicalize(&json!(9007199254740993u64)),
            Err(JcsError::IntegerOutOfRange { .. })
        ));
        assert!(matches!(
            canonicalize(&json!(-9007199254740993i64)),
            Err(JcsError::IntegerOutOfRange { .. })
        ));
        assert!(es6_number(f64::NAN).is_err());
    }
}
