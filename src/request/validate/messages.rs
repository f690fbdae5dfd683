//! Messages in the user's terms for the model's patterns and enums.

/// A plain description of what a shape's pattern demands.
pub fn pattern_description(shape: &str) -> &'static str {
    match shape {
        "TrainingJobName" => {
            "must be letters, digits and hyphens, starting and ending with a letter or digit"
        }
        "ExperimentEntityName" => {
            "must be letters, digits and hyphens, starting and ending with a letter or digit"
        }
        "S3Uri" => "must be an s3:// or https:// URI",
        "RoleArn" => "must be an IAM role ARN such as arn:aws:iam::123456789012:role/MyRole",
        "KmsKeyId" => "must be a KMS key ID, alias or ARN (letters, digits and : / _ -)",
        "SecurityGroupId" => "must be a security group ID such as sg-0123456789abcdef0",
        "SubnetId" => "must be a subnet ID such as subnet-0123456789abcdef0",
        "ChannelName" => "may hold only letters, digits, '.', '-' and '_'",
        "TrainingEnvironmentKey" => {
            "must be a variable name: letters, digits and '_', not starting with a digit"
        }
        "TagKey" | "TagValue" => "may hold letters, digits, spaces and _ . : / = + - @",
        "FileSystemId" => "must be a file system ID such as fs-0123456789abcdef0",
        "ArnOrName" => {
            "must be an algorithm name (letters, digits, hyphens; not ending in a hyphen) or its ARN"
        }
        "TrainingRepositoryCredentialsProviderArn" => "must be an AWS Lambda function ARN",
        "MetricName" | "MetricRegex" | "AttributeName" | "InstanceGroupName" => "must not be empty",
        _ => "does not have the required form",
    }
}

/// The allowed value closest to `value` (case-insensitive edit distance).
pub fn closest<'a>(value: &str, allowed: &'a [String]) -> Option<&'a str> {
    let value = value.to_ascii_lowercase();
    allowed
        .iter()
        .map(|a| (edit_distance(&value, &a.to_ascii_lowercase()), a))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= value.len().max(3) / 2)
        .map(|(_, a)| a.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_value() {
        let allowed: Vec<String> = ["ml.m5.xlarge", "ml.m5.large", "ml.p3.2xlarge"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("ml.m5.xlarg", &allowed), Some("ml.m5.xlarge"));
        assert_eq!(closest("ML.P3.2XLARGE", &allowed), Some("ml.p3.2xlarge"));
        assert_eq!(closest("something else entirely", &allowed), None);
    }
}
