//! The generic check of a JSON request against the model's shapes.

use serde_json::Value;

use super::messages::{closest, pattern_description};
use super::model::{Kind, MODEL, Model, Shape};
use super::{Diagnostic, Target, join, join_key};

/// Enums longer than this are not listed in full; the nearest value is suggested instead.
const ENUM_LIST_LIMIT: usize = 12;

/// Checks `value` against `CreateTrainingJobRequest` and everything below it.
pub fn walk(value: &Value, target: Target, out: &mut Vec<Diagnostic>) {
    walk_from(value, MODEL.root, target, out);
}

/// Checks `value` against the model's shape at `root` and everything below it.
pub fn walk_from(value: &Value, root: usize, target: Target, out: &mut Vec<Diagnostic>) {
    let model = &*MODEL;
    let mut walker = Walker { model, target, out };
    walker.value(value, root, String::new());
}

struct Walker<'a> {
    model: &'a Model,
    target: Target,
    out: &'a mut Vec<Diagnostic>,
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Structure | Kind::Map => "an object",
        Kind::List => "an array",
        Kind::String => "a string",
        Kind::Integer => "a whole number",
        Kind::Number => "a number",
        Kind::Boolean => "true or false",
        Kind::Timestamp => "a timestamp",
    }
}

impl Walker<'_> {
    fn value(&mut self, value: &Value, shape: usize, path: String) {
        let shape = self.model.shape(shape);
        match (shape.kind, value) {
            (_, Value::Null) => {}
            (Kind::Structure, Value::Object(map)) => {
                for required in &shape.required {
                    if map.get(required).is_none_or(Value::is_null) {
                        self.out.push(Diagnostic::error(
                            join(&path, required),
                            "required",
                            "required member is missing".to_string(),
                        ));
                    }
                }
                for (member, child) in map {
                    match shape.member_shape(member) {
                        Some(index) => self.value(child, index, join(&path, member)),
                        None => self.out.push(Diagnostic::warning(
                            join(&path, member),
                            "unknown_member",
                            format!(
                                "not a member of {} in the API model ({}); it is sent as written",
                                shape.name,
                                self.model.version()
                            ),
                        )),
                    }
                }
            }
            (Kind::List, Value::Array(items)) => {
                self.count(shape, items.len(), &path);
                let member = shape.member.expect("lists have a member shape");
                for (i, item) in items.iter().enumerate() {
                    self.value(item, member, format!("{path}[{i}]"));
                }
            }
            (Kind::Map, Value::Object(map)) => {
                self.count(shape, map.len(), &path);
                let key_shape = shape.key.expect("maps have a key shape");
                let value_shape = shape.value.expect("maps have a value shape");
                for (key, child) in map {
                    let child_path = join_key(&path, key);
                    self.string(self.model.shape(key_shape), key, &child_path, "key ");
                    self.value(child, value_shape, child_path);
                }
            }
            (Kind::String, Value::String(s)) => self.string(shape, s, &path, ""),
            (Kind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
                self.range(shape, n.as_f64().unwrap_or(0.0), &path)
            }
            (Kind::Number, Value::Number(n)) => self.range(shape, n.as_f64().unwrap_or(0.0), &path),
            (Kind::Boolean, Value::Bool(_)) => {}
            (Kind::Timestamp, Value::String(_) | Value::Number(_)) => {}
            (kind, _) => self.out.push(Diagnostic::error(
                path.clone(),
                "type",
                format!("must be {}", type_name(kind)),
            )),
        }
    }

    fn count(&mut self, shape: &Shape, n: usize, path: &str) {
        self.bounds(
            shape,
            n as f64,
            path,
            ["min_entries", "max_entries"],
            |low, limit, n| {
                if low {
                    format!("needs at least {limit} entries (has {n})")
                } else {
                    format!("allows at most {limit} entries (has {n})")
                }
            },
        );
    }

    fn range(&mut self, shape: &Shape, v: f64, path: &str) {
        self.bounds(
            shape,
            v,
            path,
            ["min_value", "max_value"],
            |low, limit, v| {
                if low {
                    format!("must be at least {limit} (is {v})")
                } else {
                    format!("must be at most {limit} (is {v})")
                }
            },
        );
    }

    /// Reports `v` below the shape's min or above its max, with `codes` [below, above] and
    /// `describe(below, limit, v)` as the message.
    fn bounds(
        &mut self,
        shape: &Shape,
        v: f64,
        path: &str,
        codes: [&'static str; 2],
        describe: impl Fn(bool, f64, f64) -> String,
    ) {
        if let Some(min) = shape.min.filter(|m| v < *m) {
            self.out
                .push(Diagnostic::error(path, codes[0], describe(true, min, v)));
        }
        if let Some(max) = shape.max.filter(|m| v > *m) {
            self.out
                .push(Diagnostic::error(path, codes[1], describe(false, max, v)));
        }
    }

    fn string(&mut self, shape: &Shape, s: &str, path: &str, what: &str) {
        let len = s.chars().count() as f64;
        if let Some(min) = shape.min.filter(|m| len < *m) {
            let message = if len == 0.0 {
                format!("{what}must not be empty")
            } else {
                format!("{what}must be at least {min} characters (is {len})")
            };
            self.out
                .push(Diagnostic::error(path, "min_length", message));
        }
        if let Some(max) = shape.max.filter(|m| len > *m) {
            self.out.push(Diagnostic::error(
                path,
                "max_length",
                format!("{what}must be at most {max} characters (is {len})"),
            ));
        }
        if let Some(allowed) = &shape.enum_values
            && !allowed.iter().any(|a| a == s)
        {
            let message = if allowed.len() <= ENUM_LIST_LIMIT {
                format!("{what}must be one of: {}", allowed.join(", "))
            } else {
                let hint = closest(s, allowed)
                    .map(|c| format!("; did you mean {c}?"))
                    .unwrap_or_default();
                format!("{what}{s:?} is not a valid {}{hint}", shape.name)
            };
            self.out.push(Diagnostic::error(path, "enum", message));
        }
        if let (Some(regex), Some(pattern)) = (&shape.regex, &shape.pattern) {
            // Local mode reads file:// locations where the service wants S3.
            let local_file = self.target == Target::Local && s.starts_with("file://");
            if !local_file && !regex.is_match(s).unwrap_or(true) {
                self.out.push(Diagnostic::error(
                    path,
                    "pattern",
                    format!(
                        "{what}{} (pattern: {pattern})",
                        pattern_description(&shape.name)
                    ),
                ));
            }
        }
    }
}
