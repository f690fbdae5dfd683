//! Who holds a job: a [`Connection`] (this machine, or an AWS profile, region and endpoint)
//! and a [`JobRef`] (a source and a name), with the regions and the endpoint the connection
//! form offers. Plain data every part shares; connecting is the backends' business.

use serde::{Deserialize, Serialize};

/// One AWS connection. Empty members fall back to the environment and the shared config
/// files, as the AWS CLI does (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AwsConnection {
    /// The profile name in `~/.aws/config` or `~/.aws/credentials`.
    pub profile: Option<String>,
    /// The region, such as `eu-west-1`.
    pub region: Option<String>,
    /// An endpoint override for every service, such as `http://127.0.0.1:5000`.
    pub endpoint_url: Option<String>,
}

impl AwsConnection {
    /// A short name: the profile (or `default`) and the region when set.
    pub fn label(&self) -> String {
        let profile = self.profile.as_deref().unwrap_or("default");
        match &self.region {
            Some(region) => format!("{profile} · {region}"),
            None => profile.to_string(),
        }
    }

    /// The same connection with blank members removed.
    pub fn normalized(mut self) -> Self {
        for member in [&mut self.profile, &mut self.region, &mut self.endpoint_url] {
            if member.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *member = None;
            } else if let Some(v) = member {
                *v = v.trim().to_string();
            }
        }
        self
    }
}

/// Regions where SageMaker training is offered.
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
];

/// The endpoint AWS_ENDPOINT_URL names, for the connection form.
pub fn endpoint_from_env() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Which backend the window and the CLI talk to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Connection {
    /// Jobs on this machine.
    #[default]
    Local,
    /// Jobs on AWS.
    Aws(AwsConnection),
}

impl Connection {
    /// A short name for menus.
    pub fn label(&self) -> String {
        match self {
            Connection::Local => "Local".into(),
            Connection::Aws(aws) => format!("AWS {}", aws.label()),
        }
    }

    /// The name of the source in the job list's column: `local`, or `profile · region`.
    pub fn source_label(&self) -> String {
        match self {
            Connection::Local => "local".into(),
            Connection::Aws(aws) => aws.label(),
        }
    }

    /// Whether jobs of this source run on AWS.
    pub fn is_aws(&self) -> bool {
        matches!(self, Connection::Aws(_))
    }
}

/// A job as it is known everywhere (selection, commands, events, saved state): the source
/// that holds it and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobRef {
    /// The connection whose backend holds the job.
    pub source: Connection,
    /// `TrainingJobName`.
    pub name: String,
}

impl JobRef {
    /// A job of `source`.
    pub fn new(source: Connection, name: impl Into<String>) -> Self {
        Self {
            source,
            name: name.into(),
        }
    }

    /// A job on this machine.
    pub fn local(name: impl Into<String>) -> Self {
        Self::new(Connection::Local, name)
    }
}

impl std::fmt::Display for JobRef {
    /// `name` for a local job, `name (profile · region)` for another source's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Connection::Local => f.write_str(&self.name),
            source => write!(f, "{} ({})", self.name, source.source_label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_members_are_unset() {
        let c = AwsConnection {
            profile: Some(" dev ".into()),
            region: Some(String::new()),
            endpoint_url: Some("  ".into()),
        }
        .normalized();
        assert_eq!(c.profile.as_deref(), Some("dev"));
        assert_eq!(c.region, None);
        assert_eq!(c.endpoint_url, None);
        assert_eq!(c.label(), "dev");
    }
}
