//! CBOR and JSON for the relay's rpc-v2-cbor translation: values both ways, with the
//! members that hold timestamps and doubles typed as the protocol wants them, and the
//! protocol's error bodies.

use ciborium::Value as Cbor;
use serde_json::Value as Json;

/// Members whose values are timestamps in CloudWatch's shapes.
const TIME_KEYS: &[&str] = &[
    "Timestamp",
    "Timestamps",
    "StartTime",
    "EndTime",
    "StateUpdatedTimestamp",
    "AlarmConfigurationUpdatedTimestamp",
    "StateTransitionedTimestamp",
    "LastUpdateDate",
    "CreationDate",
    "LastModified",
];

/// Members whose values are doubles, sent as floats even when moto writes `1`.
const FLOAT_KEYS: &[&str] = &[
    "Values",
    "Value",
    "Sum",
    "Average",
    "Minimum",
    "Maximum",
    "SampleCount",
];

/// CBOR to JSON: maps, arrays, numbers and text as they are; epoch-time tags (1) as
/// seconds, which is how the JSON protocol writes timestamps.
pub fn to_json(value: &Cbor) -> Json {
    match value {
        Cbor::Map(entries) => Json::Object(
            entries
                .iter()
                .filter_map(|(k, v)| Some((k.as_text()?.to_string(), to_json(v))))
                .collect(),
        ),
        Cbor::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Cbor::Tag(_, inner) => to_json(inner),
        Cbor::Text(s) => Json::String(s.clone()),
        Cbor::Bool(b) => Json::Bool(*b),
        Cbor::Integer(i) => serde_json::json!(i128::from(*i) as i64),
        Cbor::Float(f) => serde_json::json!(f),
        Cbor::Bytes(b) => Json::Array(b.iter().map(|x| serde_json::json!(x)).collect()),
        _ => Json::Null,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Plain,
    Time,
    Float,
}

/// JSON to CBOR, with the members that hold timestamps (epoch seconds or RFC 3339 text) as
/// epoch-time tags and doubles as floats, as rpc-v2-cbor wants them.
fn with_kinds(value: &Json, kind: Kind) -> Cbor {
    let member_kind = |k: &str| {
        if TIME_KEYS.contains(&k) {
            Kind::Time
        } else if FLOAT_KEYS.contains(&k) {
            Kind::Float
        } else {
            Kind::Plain
        }
    };
    match value {
        Json::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), with_kinds(v, member_kind(k))))
                .collect(),
        ),
        Json::Array(items) => Cbor::Array(items.iter().map(|v| with_kinds(v, kind)).collect()),
        Json::Number(n) if kind == Kind::Time => {
            Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().unwrap_or(0.0))))
        }
        Json::String(s) if kind == Kind::Time => {
            let secs = chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.timestamp_millis() as f64 / 1000.0)
                .unwrap_or(0.0);
            Cbor::Tag(1, Box::new(Cbor::Float(secs)))
        }
        Json::Number(n) if kind == Kind::Float => Cbor::Float(n.as_f64().unwrap_or(0.0)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Cbor::Text(s.clone()),
        Json::Bool(b) => Cbor::Bool(*b),
        Json::Null => Cbor::Null,
    }
}

/// JSON to CBOR, timestamps and doubles typed by their member names.
pub fn from_json(value: &Json) -> Cbor {
    with_kinds(value, Kind::Plain)
}

/// An rpc-v2-cbor error body: `__type` and `message`.
pub fn error(code: &str, message: &str) -> Cbor {
    Cbor::Map(vec![
        (Cbor::Text("__type".into()), Cbor::Text(code.into())),
        (Cbor::Text("message".into()), Cbor::Text(message.into())),
    ])
}

/// The bytes of `value`.
pub fn encode(value: &Cbor) -> Vec<u8> {
    let mut body = Vec::new();
    ciborium::into_writer(value, &mut body).unwrap();
    body
}
