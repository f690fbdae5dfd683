//! Where the AWS backend connects: an [`AwsConnection`] (a profile from the shared config
//! files, a region and an optional endpoint) resolved through aws-config's provider chain
//! (SSO included).

use std::path::PathBuf;

use crate::job::AwsConnection;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

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
}
