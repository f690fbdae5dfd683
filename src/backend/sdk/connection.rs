//! Where the AWS backend connects: a profile from the shared config files, a region and an
//! optional endpoint, resolved through aws-config's provider chain (SSO included).

use std::path::PathBuf;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
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

/// Resolves credentials, region and endpoint for `connection`. Nothing is called yet.
pub async fn load(connection: &AwsConnection) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(super::limits::control_plane())
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(profile) = &connection.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &connection.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &connection.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The SDK's own HTTPS client (hyper, rustls, the proxy from `HTTPS_PROXY`/`NO_PROXY`, the
/// SDK's connect and read timeouts) with ring as the TLS crypto provider.
fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The endpoint AWS_ENDPOINT_URL names, for the connection form.
pub fn endpoint_from_env() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Profile names from the shared config and credentials files (`AWS_CONFIG_FILE` and
/// `AWS_SHARED_CREDENTIALS_FILE` honoured), sorted, `default` first.
pub fn profiles() -> Vec<String> {
    let home = directories::BaseDirs::new().map(|d| d.home_dir().join(".aws"));
    let file = |var: &str, name: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(name)))
    };
    let mut names = Vec::new();
    if let Some(text) =
        file("AWS_CONFIG_FILE", "config").and_then(|p| std::fs::read_to_string(p).ok())
    {
        names.extend(profile_sections(&text, true));
    }
    if let Some(text) = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
        .and_then(|p| std::fs::read_to_string(p).ok())
    {
        names.extend(profile_sections(&text, false));
    }
    names.sort_by(|a, b| (a != "default", a).cmp(&(b != "default", b)));
    names.dedup();
    names
}

/// The profile names among a file's `[section]` headers. In the config file profiles are
/// `[default]` and `[profile name]`; other sections (`sso-session`, `services`) are skipped.
fn profile_sections(text: &str, config_file: bool) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let header = line.trim().strip_prefix('[')?.split(']').next()?.trim();
            if !config_file || header == "default" {
                return Some(header.to_string());
            }
            let name = header.strip_prefix("profile")?;
            name.starts_with(char::is_whitespace)
                .then(|| name.trim().to_string())
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_profile_headers() {
        let config = "[default]\nregion = us-east-1\n[profile dev]\nsso_session = corp\n\
                      [sso-session corp]\nsso_region = eu-west-1\n[services local]\n[profile  ml team ]\n";
        assert_eq!(
            profile_sections(config, true),
            ["default", "dev", "ml team"]
        );
        let credentials = "[default]\naws_access_key_id = x\n[ci]\n";
        assert_eq!(profile_sections(credentials, false), ["default", "ci"]);
    }

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
