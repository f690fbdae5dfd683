//! How a job runs on this machine beyond its request: the AWS connection its `s3://`
//! locations and its role are reached with, and whose AWS credentials it gets.

use super::AwsConnection;

/// Whose AWS credentials a local job gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobCredentials {
    /// Its `RoleArn`'s, assumed with the connection (none when that is refused).
    #[default]
    Role,
    /// The connection's own, by the user's explicit choice.
    Mine,
    /// None at all.
    None,
}

impl JobCredentials {
    /// The word that names it (`role`, `mine`, `none`).
    pub fn word(self) -> &'static str {
        match self {
            JobCredentials::Role => "role",
            JobCredentials::Mine => "mine",
            JobCredentials::None => "none",
        }
    }

    /// From its word.
    pub fn parse(word: &str) -> Option<Self> {
        [Self::Role, Self::Mine, Self::None]
            .into_iter()
            .find(|c| c.word() == word.trim())
    }
}

/// How a job runs on this machine beyond its request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalRun {
    /// The connection its `s3://` locations and role are reached with (an AWS source's, for
    /// a local run of an AWS job); local mode's own when `None`.
    pub connection: Option<AwsConnection>,
    /// Whose AWS credentials it gets.
    pub credentials: JobCredentials,
    /// Its Python entry point waits under debugpy on this port of 127.0.0.1 (host `algo-N`
    /// on the port plus N − 1) for an editor to attach.
    pub debug: Option<u16>,
}

/// The port a debugger attaches to by default, as VS Code's Python debugger expects.
pub const DEBUG_PORT: u16 = 5678;
