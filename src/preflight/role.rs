//! `RoleArn`: the role exists and trusts SageMaker (`iam:GetRole`), and may do what the job
//! needs (`iam:SimulatePrincipalPolicy`, where the caller may run it).

use serde_json::Value;

use super::{Check, Context};
use crate::backend::sdk::lean::{Service, xml_text};

const PATH: &str = "RoleArn";

/// The role's name: the last part of its path.
fn role_name(arn: &str) -> Option<&str> {
    let (_, path) = arn.split_once(":role/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The role exists and its trust policy lets `sagemaker.amazonaws.com` assume it.
pub async fn role(context: &Context, arn: &str) -> Vec<Check> {
    const CALL: &str = "iam:GetRole";
    let Some(name) = role_name(arn) else {
        return vec![Check::error(
            PATH,
            CALL,
            "role_arn",
            format!("{arn} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
        )];
    };
    let params = [("RoleName".to_string(), name.to_string())];
    let xml = match context
        .clients
        .lean
        .query(Service::Iam, "GetRole", &params)
        .await
    {
        Ok(xml) => xml,
        Err(e) if e.code == "NoSuchEntity" => {
            return vec![Check::error(
                PATH,
                CALL,
                "role_not_found",
                format!(
                    "the role {name} does not exist in this account: create it (IAM › Roles › \
                     SageMaker execution role) or pick an existing one"
                ),
            )];
        }
        Err(e) => return vec![Check::not_verified(PATH, CALL, &e)],
    };
    if xml_text(&xml, "RoleName").is_none() {
        return vec![Check::malformed(PATH, CALL, "a role")];
    }
    let Some(document) = xml_text(&xml, "AssumeRolePolicyDocument") else {
        return vec![Check::malformed(PATH, CALL, "the role's trust policy")];
    };
    let decoded = percent_encoding::percent_decode_str(&document)
        .decode_utf8_lossy()
        .into_owned();
    let policy: Option<Value> = serde_json::from_str(&decoded)
        .or_else(|_| serde_json::from_str(&document))
        .ok();
    match policy {
        Some(policy) if trusts_sagemaker(&policy) => vec![Check::passed(
            PATH,
            CALL,
            format!("{name} exists and trusts sagemaker.amazonaws.com"),
        )],
        Some(_) => vec![Check::error(
            PATH,
            CALL,
            "role_trust",
            format!(
                "{name} does not let sagemaker.amazonaws.com assume it: add a trust policy \
                 statement with Effect Allow, Principal {{\"Service\": \
                 \"sagemaker.amazonaws.com\"}} and Action sts:AssumeRole"
            ),
        )],
        None => vec![Check::new_not_verified(
            PATH,
            CALL,
            format!("not verified: {name} exists, but its trust policy could not be read"),
        )],
    }
}

/// Whether a trust policy allows `sagemaker.amazonaws.com` to `sts:AssumeRole`.
fn trusts_sagemaker(policy: &Value) -> bool {
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && list(&s["Action"])
                .iter()
                .any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*")
            && (s["Principal"] == "*"
                || list(&s["Principal"]["Service"])
                    .iter()
                    .any(|p| p == "sagemaker.amazonaws.com" || p == "*"))
    })
}

/// What the job needs the role to do, simulated: read the inputs, write the outputs, log
/// and pull the image.
pub async fn permissions(
    context: &Context,
    arn: &str,
    reads: &[String],
    writes: &[String],
) -> Vec<Check> {
    const CALL: &str = "iam:SimulatePrincipalPolicy";
    let object_arn = |uri: &str| format!("arn:aws:s3:::{}*", uri.trim_start_matches("s3://"));
    let bucket_arn = |uri: &str| {
        let rest = uri.trim_start_matches("s3://");
        format!("arn:aws:s3:::{}", rest.split('/').next().unwrap_or(rest))
    };
    let mut asks: Vec<(&str, Vec<String>)> = Vec::new();
    if !reads.is_empty() {
        asks.push((
            "s3:GetObject",
            reads.iter().map(|u| object_arn(u)).collect(),
        ));
        asks.push((
            "s3:ListBucket",
            reads.iter().map(|u| bucket_arn(u)).collect(),
        ));
    }
    if !writes.is_empty() {
        asks.push((
            "s3:PutObject",
            writes.iter().map(|u| object_arn(u)).collect(),
        ));
    }
    asks.push(("logs:PutLogEvents", vec!["*".into()]));
    asks.push(("ecr:BatchGetImage", vec!["*".into()]));
    let mut checks = Vec::new();
    for (action, resources) in asks {
        let mut params = vec![
            ("PolicySourceArn".to_string(), arn.to_string()),
            ("ActionNames.member.1".to_string(), action.to_string()),
        ];
        for (i, r) in resources.iter().enumerate() {
            params.push((format!("ResourceArns.member.{}", i + 1), r.clone()));
        }
        let xml = match context
            .clients
            .lean
            .query(Service::Iam, "SimulatePrincipalPolicy", &params)
            .await
        {
            Ok(xml) => xml,
            Err(e) => {
                // One answer says it for every action: the caller cannot simulate.
                return vec![Check::not_verified(PATH, CALL, &e)];
            }
        };
        let decisions: Vec<(String, String)> = xml
            .split("<EvalActionName>")
            .skip(1)
            .filter_map(|part| {
                let decision = xml_text(part, "EvalDecision")?;
                let resource = xml_text(part, "EvalResourceName").unwrap_or_default();
                Some((resource, decision))
            })
            .collect();
        // Every resource asked about gets a decision; fewer means the answer is not one.
        if decisions.len() < resources.len() {
            return vec![Check::malformed(PATH, CALL, "a decision for each resource")];
        }
        let denied: Vec<(String, String)> = decisions
            .into_iter()
            .filter(|(_, decision)| decision != "allowed")
            .collect();
        if denied.is_empty() {
            checks.push(Check::passed(
                PATH,
                CALL,
                format!("the role may {action} on {}", resources.join(", ")),
            ));
        } else {
            for (resource, decision) in denied {
                let message = format!(
                    "the role may not {action} on {resource} ({decision}): the job would fail \
                     with AccessDenied; add it to the role's policy"
                );
                checks.push(if decision == "explicitDeny" {
                    Check::error(PATH, CALL, "role_permission", message)
                } else {
                    Check::warning(PATH, CALL, "role_permission", message)
                });
            }
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_come_from_the_arn_path() {
        assert_eq!(
            role_name("arn:aws:iam::1:role/service-role/Exec"),
            Some("Exec")
        );
        assert_eq!(role_name("arn:aws:iam::1:role/r"), Some("r"));
        assert_eq!(role_name("arn:aws:iam::1:user/u"), None);
    }

    #[test]
    fn trust_policies_are_read_in_their_several_forms() {
        let policy = |v: Value| trusts_sagemaker(&v);
        assert!(policy(serde_json::json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})));
        assert!(policy(serde_json::json!({"Statement": {"Effect": "Allow",
            "Principal": {"Service": ["ec2.amazonaws.com", "sagemaker.amazonaws.com"]},
            "Action": ["sts:AssumeRole"]}})));
        assert!(!policy(
            serde_json::json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        ));
        assert!(!policy(serde_json::json!({"Statement": [{"Effect": "Deny",
            "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})));
    }
}
