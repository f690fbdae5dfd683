//! Values that look like secrets: those of `Environment` and `HyperParameters` keys naming a
//! key, token, secret, password or credential (`WANDB_API_KEY`, `HF_TOKEN`). Views mask them;
//! exports keep them, since a request must round-trip.

use std::borrow::Cow;

use serde_json::Value;

/// What a masked value shows.
pub const MASK: &str = "••••••••";

/// The request members whose values may be secrets.
pub const MEMBERS: [&str; 2] = ["Environment", "HyperParameters"];

/// Whether `key` names a secret (`KEY`, `TOKEN`, `SECRET`, `PASSWORD` or `CREDENTIAL`, in
/// any case).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"]
        .iter()
        .any(|word| key.contains(word))
}

/// The `(member, key, value)` of each secret in a request or DescribeTrainingJob value.
pub fn secrets(request: &Value) -> Vec<(&'static str, &str, &str)> {
    let mut found = Vec::new();
    for member in MEMBERS {
        let Some(map) = request.get(member).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in map {
            if let Some(text) = value.as_str().filter(|_| is_secret_key(key)) {
                found.push((member, key.as_str(), text));
            }
        }
    }
    found
}

/// A copy of `request` with every secret value masked.
pub fn masked(request: &Value) -> Value {
    let mut copy = request.clone();
    for member in MEMBERS {
        if let Some(map) = copy.get_mut(member).and_then(Value::as_object_mut) {
            for (key, value) in map.iter_mut() {
                if is_secret_key(key) && value.is_string() {
                    *value = Value::String(MASK.into());
                }
            }
        }
    }
    copy
}

/// `text` with each of `values` masked; values shorter than 4 characters are left, as
/// they would mask ordinary words.
pub fn redact<'a>(text: &'a str, values: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for value in values.iter().filter(|v| v.chars().count() >= 4) {
        if out.contains(value.as_str()) {
            out = Cow::Owned(out.replace(value.as_str(), MASK));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_are_found_in_either_member_and_masked() {
        assert!(is_secret_key("WANDB_API_KEY"));
        assert!(is_secret_key("hf_token"));
        assert!(is_secret_key("db-Password"));
        assert!(is_secret_key("aws_credentials_file"));
        assert!(!is_secret_key("epochs"));
        let request = json!({
            "Environment": {"HF_TOKEN": "hf_abcdef", "MODE": "fast"},
            "HyperParameters": {"api_secret": "s3cr3t", "lr": "0.1"},
            "TrainingJobName": "token-job"
        });
        let found = secrets(&request);
        assert_eq!(
            found,
            [
                ("Environment", "HF_TOKEN", "hf_abcdef"),
                ("HyperParameters", "api_secret", "s3cr3t")
            ]
        );
        let masked = masked(&request);
        assert_eq!(masked["Environment"]["HF_TOKEN"], MASK);
        assert_eq!(masked["Environment"]["MODE"], "fast");
        assert_eq!(masked["HyperParameters"]["lr"], "0.1");
        assert_eq!(masked["TrainingJobName"], "token-job");
        let values = vec!["hf_abcdef".to_string(), "ab".to_string()];
        assert_eq!(
            redact("bad value hf_abcdef in ab", &values),
            format!("bad value {MASK} in ab")
        );
    }
}
