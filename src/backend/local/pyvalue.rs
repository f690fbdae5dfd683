//! Python values as the SageMaker training toolkit sees hyperparameters: JSON-decoded
//! with `json.loads`, then rendered with `str()` for arguments and `json.dumps` for `SM_*`.

use serde_json::Value;

/// A JSON-decoded Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int`, kept as its decimal digits so large values stay exact.
    Int(String),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `dict`, in insertion order.
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    /// `json.loads(raw)`, or the raw string itself when it is not JSON (as the toolkit does).
    pub fn decode_hyperparameter(raw: &str) -> PyValue {
        let trimmed = raw.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r');
        match trimmed {
            "NaN" => return PyValue::Float(f64::NAN),
            "Infinity" => return PyValue::Float(f64::INFINITY),
            "-Infinity" => return PyValue::Float(f64::NEG_INFINITY),
            _ => {}
        }
        if is_json_integer(trimmed) {
            return PyValue::Int(normalize_integer(trimmed));
        }
        match serde_json::from_str::<Value>(raw) {
            Ok(value) => PyValue::from(&value),
            Err(_) => PyValue::Str(raw.to_string()),
        }
    }

    /// Python's `str(value)`.
    pub fn to_py_str(&self) -> String {
        match self {
            PyValue::Str(s) => s.clone(),
            other => other.repr(),
        }
    }

    /// Python's `repr(value)`.
    pub fn repr(&self) -> String {
        match self {
            PyValue::None => "None".into(),
            PyValue::Bool(true) => "True".into(),
            PyValue::Bool(false) => "False".into(),
            PyValue::Int(digits) => digits.clone(),
            PyValue::Float(f) => float_repr(*f),
            PyValue::Str(s) => str_repr(s),
            PyValue::List(items) => {
                let inner: Vec<String> = items.iter().map(PyValue::repr).collect();
                format!("[{}]", inner.join(", "))
            }
            PyValue::Dict(entries) => {
                let inner: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", str_repr(k), v.repr()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }

    /// `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            PyValue::None => out.push_str("null"),
            PyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            PyValue::Int(digits) => out.push_str(digits),
            PyValue::Float(f) if f.is_nan() => out.push_str("NaN"),
            PyValue::Float(f) if f.is_infinite() => {
                out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
            }
            PyValue::Float(f) => out.push_str(&float_repr(*f)),
            PyValue::Str(s) => json_string(s, out),
            PyValue::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            PyValue::Dict(entries) => {
                let mut sorted: Vec<&(String, PyValue)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                out.push('{');
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json_string(k, out);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// A `str` value.
    pub fn str(s: impl Into<String>) -> PyValue {
        PyValue::Str(s.into())
    }

    /// A list of `str` values.
    pub fn str_list<S: AsRef<str>>(items: &[S]) -> PyValue {
        PyValue::List(items.iter().map(|s| PyValue::str(s.as_ref())).collect())
    }

    /// Whether Python takes the value as true.
    pub fn truthy(&self) -> bool {
        match self {
            PyValue::None => false,
            PyValue::Bool(b) => *b,
            PyValue::Int(digits) => !digits.trim_start_matches(['-', '0']).is_empty(),
            PyValue::Float(f) => *f != 0.0,
            PyValue::Str(s) => !s.is_empty(),
            PyValue::List(items) => !items.is_empty(),
            PyValue::Dict(items) => !items.is_empty(),
        }
    }

    /// The value as `int(value)` would read it, for counts.
    pub fn as_count(&self) -> Option<u64> {
        match self {
            PyValue::Int(digits) => digits.parse().ok(),
            PyValue::Str(s) => s.trim().parse().ok(),
            PyValue::Float(f) if *f >= 0.0 && f.fract() == 0.0 => Some(*f as u64),
            _ => None,
        }
    }
}

impl From<&Value> for PyValue {
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => PyValue::None,
            Value::Bool(b) => PyValue::Bool(*b),
            Value::Number(n) if n.is_i64() || n.is_u64() => PyValue::Int(n.to_string()),
            Value::Number(n) => PyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => PyValue::Str(s.clone()),
            Value::Array(items) => PyValue::List(items.iter().map(PyValue::from).collect()),
            Value::Object(map) => PyValue::Dict(
                map.iter()
                    .map(|(k, v)| (k.clone(), PyValue::from(v)))
                    .collect(),
            ),
        }
    }
}

/// The toolkit's `to_cmd_args`: sorted keys, `--key` (or `-k`), `str()` of each value,
/// dicts as `k=v,k2=v2` sorted by key.
pub fn to_cmd_args(hyperparameters: &[(String, PyValue)]) -> Vec<String> {
    let mut sorted: Vec<&(String, PyValue)> = hyperparameters.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut args = Vec::with_capacity(sorted.len() * 2);
    for (key, value) in sorted {
        args.push(match key.chars().count() {
            0 => String::new(),
            1 => format!("-{key}"),
            _ => format!("--{key}"),
        });
        args.push(match value {
            PyValue::Dict(entries) => {
                let mut items: Vec<&(String, PyValue)> = entries.iter().collect();
                items.sort_by(|a, b| a.0.cmp(&b.0));
                items
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.to_py_str()))
                    .collect::<Vec<_>>()
                    .join(",")
            }
            PyValue::None => String::new(),
            other => other.to_py_str(),
        });
    }
    args
}

fn is_json_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
}

fn normalize_integer(s: &str) -> String {
    if s == "-0" { "0".into() } else { s.into() }
}

/// Python's `float.__repr__`: the shortest round-tripping digits, in fixed notation when
/// the decimal exponent is in [-4, 16), otherwise in scientific notation.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{exp_sign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

/// Python's `repr()` of a `str`.
fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A JSON string as Python's `json.dumps(..., ensure_ascii=True)` writes it.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_render_like_python() {
        for (f, s) in [
            (0.1, "0.1"),
            (1000.0, "1000.0"),
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-0.0, "-0.0"),
            (-2.5, "-2.5"),
            (1e100, "1e+100"),
            (1234.5678, "1234.5678"),
        ] {
            assert_eq!(float_repr(f), s, "{f}");
        }
    }

    #[test]
    fn hyperparameters_decode_like_json_loads() {
        let d = PyValue::decode_hyperparameter;
        assert_eq!(d("10").to_py_str(), "10");
        assert_eq!(d("1e3").to_py_str(), "1000.0");
        assert_eq!(d("true").to_py_str(), "True");
        assert_eq!(d("null").to_py_str(), "None");
        assert_eq!(d("\"abc\"").to_py_str(), "abc");
        assert_eq!(d("abc").to_py_str(), "abc");
        assert_eq!(d("[64, 32]").to_py_str(), "[64, 32]");
        assert_eq!(d("[\"a\", \"it's\"]").to_py_str(), "['a', \"it's\"]");
        assert_eq!(d("{\"a\": [1, 2.5]}").to_py_str(), "{'a': [1, 2.5]}");
        assert_eq!(d("NaN").to_py_str(), "nan");
        assert_eq!(
            d("12345678901234567890123").to_py_str(),
            "12345678901234567890123"
        );
        assert_eq!(d("007").to_py_str(), "007");
    }

    #[test]
    fn json_dumps_sorts_and_escapes() {
        let v = PyValue::decode_hyperparameter("{\"b\": 1.0, \"a\": \"é\\n\"}");
        assert_eq!(v.to_json(), "{\"a\":\"\\u00e9\\n\",\"b\":1.0}");
    }

    #[test]
    fn cmd_args_follow_the_toolkit() {
        let hps: Vec<(String, PyValue)> = [
            ("lr", "0.01"),
            ("k", "3"),
            ("flag", "false"),
            ("layers", "[64, 32]"),
            ("opts", "{\"b\": \"x\", \"a\": 1}"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), PyValue::decode_hyperparameter(v)))
        .collect();
        assert_eq!(
            to_cmd_args(&hps),
            [
                "--flag", "False", "-k", "3", "--layers", "[64, 32]", "--lr", "0.01", "--opts",
                "a=1,b=x"
            ]
        );
    }
}
