//! The generated constraint table (`constraints.json`), loaded once with its patterns compiled.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The table as the generator writes it.
#[derive(Debug, Deserialize)]
struct Table {
    source: String,
    root: String,
    tuning_root: String,
    shapes: HashMap<String, RawShape>,
}

#[derive(Debug, Deserialize)]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    required: Option<Vec<String>>,
    members: Option<HashMap<String, String>>,
    member: Option<String>,
    key: Option<String>,
    value: Option<String>,
}

/// What kind of value a shape holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An object with named members.
    Structure,
    /// An array.
    List,
    /// An object with arbitrary keys.
    Map,
    /// A string.
    String,
    /// An integer (`integer` or `long`).
    Integer,
    /// A number (`float` or `double`).
    Number,
    /// `true` or `false`.
    Boolean,
    /// A timestamp.
    Timestamp,
}

/// One shape of the API model with its constraints.
#[derive(Debug)]
pub struct Shape {
    /// The shape's name in the model (`TrainingJobName`, `S3Uri`, ...).
    pub name: String,
    /// The value kind.
    pub kind: Kind,
    /// Minimum length, value or entry count.
    pub min: Option<f64>,
    /// Maximum length, value or entry count.
    pub max: Option<f64>,
    /// The model's pattern as written.
    pub pattern: Option<String>,
    /// The pattern, translated and anchored to the whole value.
    pub regex: Option<fancy_regex::Regex>,
    /// Allowed values.
    pub enum_values: Option<Vec<String>>,
    /// Required members, in the model's order.
    pub required: Vec<String>,
    /// Members and their shapes, in name order.
    pub members: Vec<(String, usize)>,
    /// List entry shape.
    pub member: Option<usize>,
    /// Map key shape.
    pub key: Option<usize>,
    /// Map value shape.
    pub value: Option<usize>,
}

impl Shape {
    /// The shape of member `name`, if the structure has it.
    pub fn member_shape(&self, name: &str) -> Option<usize> {
        self.members
            .binary_search_by(|(m, _)| m.as_str().cmp(name))
            .ok()
            .map(|i| self.members[i].1)
    }
}

/// The whole model: shapes by index, the root, and where it came from.
#[derive(Debug)]
pub struct Model {
    /// All shapes.
    pub shapes: Vec<Shape>,
    /// Index of `CreateTrainingJobRequest`.
    pub root: usize,
    /// Index of `CreateHyperParameterTuningJobRequest`.
    pub tuning_root: usize,
    /// The botocore version and file the table was generated from.
    pub source: String,
}

impl Model {
    /// The shape at `index`.
    pub fn shape(&self, index: usize) -> &Shape {
        &self.shapes[index]
    }

    /// `botocore 1.44.5`: the model's short name and version.
    pub fn version(&self) -> &str {
        let mut words = self.source.splitn(3, ' ');
        let name_len = words.next().map_or(0, str::len);
        let version_len = words.next().map_or(0, str::len);
        &self.source[..(name_len + 1 + version_len).min(self.source.len())]
    }

    /// The shape named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Shape> {
        self.shapes.iter().find(|s| s.name == name)
    }
}

/// The model, parsed and compiled on first use.
pub static MODEL: LazyLock<Model> = LazyLock::new(|| {
    load(include_str!("../constraints.json")).expect("the committed constraint table is valid")
});

fn load(text: &str) -> Result<Model, String> {
    let table: Table = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut names: Vec<&String> = table.shapes.keys().collect();
    names.sort();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let lookup = |n: &Option<String>| -> Result<Option<usize>, String> {
        n.as_ref()
            .map(|n| {
                index
                    .get(n.as_str())
                    .copied()
                    .ok_or(format!("unknown shape {n}"))
            })
            .transpose()
    };
    let mut shapes = Vec::with_capacity(names.len());
    for name in &names {
        let raw = &table.shapes[*name];
        let kind = match raw.kind.as_str() {
            "structure" => Kind::Structure,
            "list" => Kind::List,
            "map" => Kind::Map,
            "string" => Kind::String,
            "integer" | "long" => Kind::Integer,
            "float" | "double" => Kind::Number,
            "boolean" => Kind::Boolean,
            "timestamp" => Kind::Timestamp,
            other => return Err(format!("{name}: unknown type {other}")),
        };
        let regex = match &raw.pattern {
            Some(p) => Some(
                fancy_regex::Regex::new(&format!("^(?:{})$", translate_java_pattern(p)))
                    .map_err(|e| format!("{name}: pattern {p:?}: {e}"))?,
            ),
            None => None,
        };
        let mut members = Vec::new();
        for (m, s) in raw.members.iter().flatten() {
            members.push((m.clone(), lookup(&Some(s.clone()))?.expect("looked up")));
        }
        members.sort();
        shapes.push(Shape {
            name: (*name).clone(),
            kind,
            min: raw.min,
            max: raw.max,
            pattern: raw.pattern.clone(),
            regex,
            enum_values: raw.enum_values.clone(),
            required: raw.required.clone().unwrap_or_default(),
            members,
            member: lookup(&raw.member)?,
            key: lookup(&raw.key)?,
            value: lookup(&raw.value)?,
        });
    }
    let root_of = |name: &str| {
        index
            .get(name)
            .copied()
            .ok_or(format!("the root shape {name} is missing"))
    };
    Ok(Model {
        shapes,
        root: root_of(&table.root)?,
        tuning_root: root_of(&table.tuning_root)?,
        source: table.source,
    })
}

/// Rewrites the Java regex constructs the service model uses into Rust syntax:
/// POSIX classes such as `\p{Alnum}`, and ASCII-only `\d`, `\w`, `\s` (Java's defaults).
pub fn translate_java_pattern(pattern: &str) -> String {
    const POSIX: &[(&str, &str)] = &[
        ("Alnum", "a-zA-Z0-9"),
        ("Alpha", "a-zA-Z"),
        ("Digit", "0-9"),
        ("Lower", "a-z"),
        ("Upper", "A-Z"),
        ("Punct", r##"!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~"##),
        ("Space", r" \t\n\x0B\f\r"),
        ("XDigit", "0-9a-fA-F"),
    ];
    const SHORTHAND: &[(char, &str)] =
        &[('d', "0-9"), ('w', "a-zA-Z0-9_"), ('s', r" \t\n\x0B\f\r")];
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some(&(_, next)) = chars.peek() else {
                    out.push('\\');
                    break;
                };
                let rest = &pattern[i + 1..];
                if let Some((name, set)) = POSIX
                    .iter()
                    .find(|(name, _)| rest.starts_with(&format!("p{{{name}}}")))
                {
                    for _ in 0..name.len() + 3 {
                        chars.next();
                    }
                    if in_class {
                        out.push_str(set);
                    } else {
                        out.push('[');
                        out.push_str(set);
                        out.push(']');
                    }
                } else if let Some((_, set)) = SHORTHAND
                    .iter()
                    .find(|(c, _)| *c == next.to_ascii_lowercase())
                {
                    chars.next();
                    if next.is_ascii_uppercase() {
                        // Negated: a nested class works inside and outside a class.
                        out.push_str("[^");
                        out.push_str(set);
                        out.push(']');
                    } else if in_class {
                        out.push_str(set);
                    } else {
                        out.push('[');
                        out.push_str(set);
                        out.push(']');
                    }
                } else {
                    chars.next();
                    out.push('\\');
                    out.push(next);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A leading `]` or `^]` is literal inside a class.
                if let Some(&(_, '^')) = chars.peek() {
                    out.push('^');
                    chars.next();
                }
                if let Some(&(_, ']')) = chars.peek() {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_of_the_model_compiles() {
        let model = &*MODEL;
        assert_eq!(model.shape(model.root).name, "CreateTrainingJobRequest");
        let with_patterns = model.shapes.iter().filter(|s| s.pattern.is_some()).count();
        let compiled = model.shapes.iter().filter(|s| s.regex.is_some()).count();
        assert!(with_patterns > 20);
        assert_eq!(with_patterns, compiled);
    }

    #[test]
    fn java_classes_are_translated() {
        assert_eq!(translate_java_pattern(r"[\p{Alnum}\-]+"), r"[a-zA-Z0-9\-]+");
        assert_eq!(translate_java_pattern(r"\p{Alnum}"), "[a-zA-Z0-9]");
        assert_eq!(translate_java_pattern(r"\d{12}"), "[0-9]{12}");
        assert_eq!(
            translate_java_pattern(r"[\S\s]*"),
            r"[[^ \t\n\x0B\f\r] \t\n\x0B\f\r]*"
        );
        assert_eq!(translate_java_pattern(r"\p{L}\."), r"\p{L}\.");
    }

    #[test]
    fn look_behind_and_unicode_classes_match_as_in_java() {
        let model = &*MODEL;
        let name = model.by_name("ArnOrName").unwrap().regex.as_ref().unwrap();
        assert!(name.is_match("my-algorithm").unwrap());
        assert!(!name.is_match("my-algorithm-").unwrap());
        let tag = model.by_name("TagValue").unwrap().regex.as_ref().unwrap();
        assert!(tag.is_match("Équipe données 2026").unwrap());
        assert!(!tag.is_match("semi;colon").unwrap());
        let arn = model
            .by_name("TrainingRepositoryCredentialsProviderArn")
            .unwrap()
            .regex
            .as_ref()
            .unwrap();
        assert!(
            arn.is_match("arn:aws:lambda:us-west-2:123456789012:function:creds")
                .unwrap()
        );
        assert!(
            !arn.is_match("arn:aws:lambda:us-west-2:1234:function:creds")
                .unwrap()
        );
    }
}
