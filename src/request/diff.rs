//! Two `CreateTrainingJob` requests member by member: every leaf that differs, named by its
//! path (`ResourceConfig.InstanceType`, `HyperParameters.lr`), with channels matched by
//! `ChannelName` and tags by `Key` rather than by position, so a reordered list is not a
//! difference.

use serde_json::Value;

use super::TrainingJobRequest;

/// One member that differs: its path and each side's value (`None` where it is unset).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub path: String,
    pub a: Option<Value>,
    pub b: Option<Value>,
}

/// Members that name the job rather than say what it does.
const NAMING: [&str; 1] = ["TrainingJobName"];

/// Every member of `a` and `b` that differs, in path order; the job's name left out.
pub fn diff(a: &TrainingJobRequest, b: &TrainingJobRequest) -> Vec<Difference> {
    let mut out = Vec::new();
    walk("", Some(&a.to_value()), Some(&b.to_value()), &mut out);
    out.retain(|d| !NAMING.contains(&d.path.as_str()));
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// An object, or no members at all where the value is unset.
fn object<'a>(
    v: Option<&'a Value>,
    empty: &'a serde_json::Map<String, Value>,
) -> Option<&'a serde_json::Map<String, Value>> {
    match v {
        Some(Value::Object(o)) => Some(o),
        None => Some(empty),
        _ => None,
    }
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Difference>) {
    let empty = serde_json::Map::new();
    // A whole object set on one side only is told member by member.
    if (matches!(a, Some(Value::Object(_))) || matches!(b, Some(Value::Object(_))))
        && let (Some(x), Some(y)) = (object(a, &empty), object(b, &empty))
    {
        let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            walk(&join(path, key), x.get(key), y.get(key), out);
        }
        return;
    }
    match (a, b) {
        (Some(Value::Array(x)), Some(Value::Array(y))) => match keyed(path) {
            Some(key) => {
                let name = |v: &Value| v.get(key).and_then(Value::as_str).map(String::from);
                let mut names: Vec<String> = x.iter().chain(y).filter_map(name).collect();
                names.sort();
                names.dedup();
                for n in names {
                    let find = |list: &Vec<Value>| {
                        list.iter()
                            .find(|v| name(v).as_deref() == Some(&n))
                            .cloned()
                    };
                    walk(
                        &format!("{path}[{n}]"),
                        find(x).as_ref(),
                        find(y).as_ref(),
                        out,
                    );
                }
            }
            None if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(&format!("{path}[{i}]"), Some(p), Some(q), out);
                }
            }
            None => out.push(Difference {
                path: path.to_string(),
                a: a.cloned(),
                b: b.cloned(),
            }),
        },
        _ if a == b => {}
        _ => out.push(Difference {
            path: path.to_string(),
            a: a.cloned(),
            b: b.cloned(),
        }),
    }
}

/// The members that differ among `requests`, each with every request's value (as
/// [`shown`]), in path order: what each differs in from the first, together.
pub fn table(requests: &[&TrainingJobRequest]) -> Vec<(String, Vec<String>)> {
    let Some((first, others)) = requests.split_first() else {
        return Vec::new();
    };
    let diffs: Vec<Vec<Difference>> = others.iter().map(|other| diff(first, other)).collect();
    let mut paths: Vec<&String> = diffs.iter().flatten().map(|d| &d.path).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .map(|path| {
            let found = |d: &Vec<Difference>| d.iter().find(|x| &x.path == path).cloned();
            let first_value = diffs
                .iter()
                .find_map(found)
                .map(|d| shown(&d.a))
                .unwrap_or_default();
            let mut row = vec![first_value.clone()];
            for d in &diffs {
                row.push(found(d).map_or_else(|| first_value.clone(), |x| shown(&x.b)));
            }
            (path.clone(), row)
        })
        .collect()
}

/// The member that names the items of a list at `path`, where one does.
fn keyed(path: &str) -> Option<&'static str> {
    match path {
        "InputDataConfig" => Some("ChannelName"),
        "Tags" => Some("Key"),
        "AlgorithmSpecification.MetricDefinitions" => Some("Name"),
        "ResourceConfig.InstanceGroups" => Some("InstanceGroupName"),
        _ => None,
    }
}

/// A value as the diff shows it: strings bare, unset as `-`.
pub fn shown(value: &Option<Value>) -> String {
    match value {
        None => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::request_from_value;
    use serde_json::json;

    fn request(v: Value) -> TrainingJobRequest {
        request_from_value(v, "test")
            .unwrap_or_else(|e| panic!("{e}"))
            .request
    }

    #[test]
    fn members_differ_by_path_and_channels_by_name() {
        let a = request(json!({
            "TrainingJobName": "a",
            "HyperParameters": {"lr": "0.1", "epochs": "3"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "InputDataConfig": [
                {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "file:///d/train"}}},
                {"ChannelName": "test", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/test"}}}
            ]
        }));
        let b = request(json!({
            "TrainingJobName": "b",
            "HyperParameters": {"lr": "0.2", "epochs": "3"},
            "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1},
            "InputDataConfig": [
                {"ChannelName": "test", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/test"}}},
                {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/train"}}}
            ],
            "Environment": {"MODE": "fast"}
        }));
        let paths: Vec<(String, String, String)> = diff(&a, &b)
            .iter()
            .map(|d| (d.path.clone(), shown(&d.a), shown(&d.b)))
            .collect();
        let want = [
            ("Environment.MODE", "-", "fast"),
            ("HyperParameters.lr", "0.1", "0.2"),
            (
                "InputDataConfig[train].DataSource.S3DataSource.S3Uri",
                "file:///d/train",
                "s3://b/train",
            ),
            ("ResourceConfig.InstanceType", "ml.m5.large", "ml.g5.xlarge"),
        ]
        .map(|(p, x, y)| (p.to_string(), x.to_string(), y.to_string()));
        assert_eq!(paths, want);
    }
}
