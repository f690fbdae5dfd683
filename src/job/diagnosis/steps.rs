//! The next steps of a diagnosis, concrete for the job's own instance, volume, role and
//! region.

use super::{Category, Evidence, Facts, SIZES};
use crate::job::traceback::{Frame, Traceback, exception_class};

pub(super) fn next_steps(
    category: Category,
    reason: &str,
    traceback: Option<&Traceback>,
    facts: &Facts,
    evidence: &Evidence,
) -> Vec<String> {
    let mut steps = Vec::new();
    let job = &evidence.detail.summary.name;
    match category {
        Category::ScriptError => {
            if let Some(frame) = traceback.and_then(|t| deepest_user_frame(&t.frames)) {
                let file = frame.local.as_deref().unwrap_or(&frame.file);
                steps.push(format!("Open {file}:{} ({})", frame.line, frame.function));
            }
            if let Some(class) = traceback.and_then(|t| t.exception.as_deref())
                && exception_class(class).ends_with("ModuleNotFoundError")
            {
                steps.push(
                    "Add the missing package to requirements.txt in the code folder (it is \
                     installed before the entry point runs)."
                        .into(),
                );
            }
            let unrecognized = |t: &str| t.contains("error: unrecognized arguments:");
            if unrecognized(reason) || evidence.lines.iter().any(|l| unrecognized(&l.text)) {
                steps.push(
                    "Read the arguments with parser.parse_known_args(): SageMaker passes every \
                     hyperparameter to the script as --name value, and a tuning job adds \
                     --_tuning_objective_metric to each of its training jobs."
                        .into(),
                );
            }
            if facts.local {
                steps.push(
                    "Fix it and run it again: Watch (in the job's header) reruns this request \
                     on every save of its code folder, as sagedesk run --watch does."
                        .into(),
                );
            } else {
                steps.push(format!(
                    "Run it locally with the same request, in seconds: sagedesk run --from-aws {job}"
                ));
            }
        }
        Category::OutOfMemory => {
            steps.push("Lower the batch size, or load the data in smaller pieces.".into());
            steps.extend(larger(facts, evidence));
        }
        Category::DiskFull => {
            let next = facts.volume_gb.map_or(60, |gb| (gb * 2).max(50));
            steps.push(format!(
                "Set ResourceConfig.VolumeSizeInGB to {next} (now {}).",
                facts
                    .volume_gb
                    .map_or("the default of 30".to_string(), |g| g.to_string())
            ));
        }
        Category::Quota => {
            let quota = quota_name(reason).unwrap_or_else(|| {
                format!(
                    "{} for training job usage",
                    facts.instance_type.as_deref().unwrap_or("<instance type>")
                )
            });
            steps.push(format!(
                "Request an increase of the quota \"{quota}\" in Service Quotas: {}",
                quotas_console(&facts.partition, facts.region.as_deref())
            ));
            steps.extend(alternatives(facts, evidence));
        }
        Category::Capacity => {
            steps.push("Try again later, or in another Availability Zone's subnet.".into());
            steps.extend(alternatives(facts, evidence));
        }
        Category::S3AccessDenied => {
            steps.push(format!(
                "Give the role {} this statement: {}",
                facts.role.as_deref().unwrap_or("of the job"),
                s3_statement(reason, facts)
            ));
        }
        Category::ImagePull => steps.push(format!(
            "Check that {} exists in {} and that the role may pull it (ecr:BatchGetImage, \
             ecr:GetDownloadUrlForLayer, ecr:GetAuthorizationToken); an image of another \
             account also needs a repository policy that lets this account pull.",
            facts.image.as_deref().unwrap_or("the image"),
            facts.region.as_deref().unwrap_or("the job's region")
        )),
        Category::Role => steps.push(format!(
            "Let SageMaker assume {}: its trust policy needs {{\"Effect\": \"Allow\", \
             \"Principal\": {{\"Service\": \"sagemaker.amazonaws.com\"}}, \"Action\": \
             \"sts:AssumeRole\"}}, and the caller needs iam:PassRole on it.",
            facts.role.as_deref().unwrap_or("the role")
        )),
        Category::Timeout => steps.push(format!(
            "Raise StoppingCondition.MaxRuntimeInSeconds (now {}), or save checkpoints \
             (CheckpointConfig) so a new run resumes.",
            facts
                .max_runtime
                .map_or("unset".to_string(), |s| s.to_string())
        )),
        Category::Stopped => steps.push("Run it again when you are ready.".into()),
        Category::Unknown => steps.push("Read the log's last lines.".into()),
    }
    steps
}

/// The innermost frame in the user's code: mapped to a file here, else outside Python's
/// own library folders, else the innermost.
fn deepest_user_frame(frames: &[Frame]) -> Option<&Frame> {
    let library = |f: &&Frame| f.file.contains("site-packages") || f.file.contains("/lib/python");
    frames
        .iter()
        .rev()
        .find(|f| f.local.is_some())
        .or_else(|| frames.iter().rev().find(|f| !library(f)))
        .or_else(|| frames.last())
}

/// `'ml.p3.2xlarge for training job usage'` in a quota message.
fn quota_name(reason: &str) -> Option<String> {
    let start = reason.find("limit '")? + "limit '".len();
    let end = reason[start..].find('\'')?;
    Some(reason[start..start + end].to_string())
}

/// The Service Quotas console for SageMaker in the job's partition and region.
pub fn quotas_console(partition: &str, region: Option<&str>) -> String {
    let region = region.filter(|r| *r != "local").unwrap_or("us-east-1");
    let path = "servicequotas/home/services/sagemaker/quotas";
    match partition {
        "aws-cn" => format!("https://{region}.console.amazonaws.cn/{path}"),
        "aws-us-gov" => format!("https://console.amazonaws-us-gov.com/{path}?region={region}"),
        _ => format!("https://{region}.console.aws.amazon.com/{path}?region={region}"),
    }
}

/// The other sizes of an instance type's family (`ml.p3.2xlarge` → `ml.p3.8xlarge`, …).
pub fn family(instance_type: &str) -> Vec<String> {
    let Some((family, size)) = instance_type.rsplit_once('.') else {
        return Vec::new();
    };
    SIZES
        .iter()
        .filter(|s| **s != size)
        .map(|s| format!("{family}.{s}"))
        .collect()
}

/// Other sizes of the family with a known price, cheapest first.
fn alternatives(facts: &Facts, evidence: &Evidence) -> Vec<String> {
    let Some(instance) = &facts.instance_type else {
        return Vec::new();
    };
    let mut priced: Vec<(&String, f64)> = family(instance)
        .iter()
        .filter_map(|t| evidence.prices.get_key_value(t))
        .map(|(t, p)| (t, *p))
        .collect();
    priced.sort_by(|a, b| a.1.total_cmp(&b.1));
    if priced.is_empty() {
        return vec![format!(
            "Or choose another instance type than {instance} (another size or family)."
        )];
    }
    let list: Vec<String> = priced
        .iter()
        .map(|(t, p)| format!("{t} (${p:.2}/h)"))
        .collect();
    vec![format!(
        "Or use another size of the family: {}",
        list.join(", ")
    )]
}

/// Larger sizes of the family, for more memory.
fn larger(facts: &Facts, evidence: &Evidence) -> Vec<String> {
    let Some(instance) = &facts.instance_type else {
        return Vec::new();
    };
    let size = instance.rsplit_once('.').map_or("", |(_, s)| s);
    let at = SIZES.iter().position(|s| *s == size).unwrap_or(0);
    let bigger: Vec<String> = family(instance)
        .into_iter()
        .filter(|t| SIZES.iter().position(|s| t.ends_with(&format!(".{s}"))) > Some(at))
        .take(3)
        .map(|t| match evidence.prices.get(&t) {
            Some(p) => format!("{t} (${p:.2}/h)"),
            None => t,
        })
        .collect();
    if bigger.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "Or an instance with more memory than {instance}: {}",
        bigger.join(", ")
    )]
}

/// The IAM statement the role lacks: the action and resource the error names, else read
/// and list on the channels and write on the output.
fn s3_statement(reason: &str, facts: &Facts) -> String {
    let named = reason.split("perform: ").nth(1).and_then(|rest| {
        let (action, rest) = rest.split_once(" on resource: ")?;
        let resource = rest.split_whitespace().next()?.trim_end_matches(['.', ',']);
        Some((action.trim().to_string(), resource.to_string()))
    });
    let (actions, resources): (Vec<String>, Vec<String>) = match named {
        Some((action, resource)) => (vec![action], vec![resource]),
        None => {
            let arn = |uri: &str| {
                let rest = uri.trim_start_matches("s3://");
                format!("arn:aws:s3:::{}*", rest)
            };
            let mut resources: Vec<String> = facts.inputs.iter().map(|u| arn(u)).collect();
            resources.extend(facts.output.iter().map(|u| arn(u)));
            let mut actions = vec!["s3:GetObject".to_string(), "s3:ListBucket".to_string()];
            if facts.output.is_some() {
                actions.push("s3:PutObject".into());
            }
            (actions, resources)
        }
    };
    serde_json::json!({"Effect": "Allow", "Action": actions, "Resource": resources}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_names_consoles_and_families() {
        let reason = "ResourceLimitExceeded: The account-level service limit 'ml.p3.2xlarge for \
                      training job usage' is 0 Instances";
        assert_eq!(
            quota_name(reason).as_deref(),
            Some("ml.p3.2xlarge for training job usage")
        );
        assert_eq!(
            quotas_console("aws", Some("eu-west-1")),
            "https://eu-west-1.console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas?region=eu-west-1"
        );
        assert!(quotas_console("aws-cn", Some("cn-north-1")).contains("amazonaws.cn"));
        assert!(family("ml.p3.2xlarge").contains(&"ml.p3.8xlarge".to_string()));
        assert!(!family("ml.p3.2xlarge").contains(&"ml.p3.2xlarge".to_string()));
    }
}
