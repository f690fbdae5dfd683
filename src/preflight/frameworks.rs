//! The training frameworks a request can name by version instead of by image: PyTorch,
//! TensorFlow, scikit-learn, Hugging Face and XGBoost, each version's repository and tag
//! per processor as the SageMaker Python SDK's `image_uris.retrieve` forms them
//! (`registries.json`, made by `tools/gen_images.py`), and the registry account of the
//! region.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// One version of a framework.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FrameworkVersion {
    /// The framework's version, such as `2.8.0` or `1.7-1`.
    pub version: String,
    /// The ECR repository, such as `pytorch-training`.
    pub repository: String,
    /// The image tag for each processor (`cpu`, `gpu`) it is published for.
    pub tags: BTreeMap<String, String>,
}

/// Framework label → its versions, newest first.
fn table() -> &'static BTreeMap<String, Vec<FrameworkVersion>> {
    static TABLE: OnceLock<BTreeMap<String, Vec<FrameworkVersion>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("registries.json")).expect("registries.json parses");
        serde_json::from_value(table["frameworks"].clone()).expect("registries.json's frameworks")
    })
}

/// The frameworks, in the order they are offered.
pub fn frameworks() -> Vec<&'static str> {
    const ORDER: [&str; 5] = [
        "PyTorch",
        "TensorFlow",
        "scikit-learn",
        "Hugging Face",
        "XGBoost",
    ];
    ORDER
        .into_iter()
        .filter(|f| table().contains_key(*f))
        .collect()
}

/// A framework's versions, newest first.
pub fn versions(framework: &str) -> &'static [FrameworkVersion] {
    table().get(framework).map_or(&[], Vec::as_slice)
}

/// `cpu` or `gpu` for an instance type (`ml.p*`, `ml.g*` and `ml.trn*`/`ml.inf*` aside).
pub fn processor(instance_type: &str) -> &'static str {
    let family = instance_type.trim_start_matches("ml.");
    if family.starts_with('p') || family.starts_with('g') {
        "gpu"
    } else {
        "cpu"
    }
}

/// The image URI of `framework` at `version` for `processor` in `region`, or why there is
/// none.
pub fn image_uri(
    framework: &str,
    version: &str,
    processor: &str,
    region: &str,
) -> Result<String, String> {
    let entry = versions(framework)
        .iter()
        .find(|v| v.version == version)
        .ok_or_else(|| format!("{framework} {version} is not a published training version"))?;
    let tag = entry.tags.get(processor).ok_or_else(|| {
        let has: Vec<&str> = entry.tags.keys().map(String::as_str).collect();
        format!(
            "{framework} {version} has no {processor} image (only {}): pick another instance type",
            has.join(", ")
        )
    })?;
    let account = super::image::registries()
        .get(&entry.repository)
        .and_then(|regions| regions.get(region))
        .and_then(|accounts| accounts.first())
        .ok_or_else(|| format!("{} is not published in {region}", entry.repository))?;
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Ok(format!(
        "{account}.dkr.ecr.{region}.{domain}/{}:{tag}",
        entry.repository
    ))
}

/// The framework and version an image URI is, when it is one of the table's.
pub fn recognise(image: &str) -> Option<(&'static str, &'static FrameworkVersion)> {
    let (_, path) = image.split_once('/')?;
    let (repository, tag) = path.rsplit_once(':')?;
    frameworks().into_iter().find_map(|f| {
        versions(f)
            .iter()
            .find(|v| v.repository == repository && v.tags.values().any(|t| t == tag))
            .map(|v| (f, v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_formed_as_the_sdk_forms_them() {
        assert!(frameworks().len() == 5, "{:?}", frameworks());
        let uri = image_uri("PyTorch", "2.8.0", "gpu", "us-east-1").unwrap();
        assert_eq!(
            uri,
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.8.0-gpu-py312"
        );
        let uri = image_uri("XGBoost", "1.7-1", "cpu", "eu-west-1").unwrap();
        assert!(uri.ends_with("/sagemaker-xgboost:1.7-1"), "{uri}");
        let sklearn = image_uri("scikit-learn", "1.2-1", "gpu", "us-east-1").unwrap_err();
        assert!(sklearn.contains("no gpu image"), "{sklearn}");
        let (framework, version) = recognise(
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.8.0-cpu-py312",
        )
        .unwrap();
        assert_eq!((framework, version.version.as_str()), ("PyTorch", "2.8.0"));
        assert_eq!(processor("ml.g5.xlarge"), "gpu");
        assert_eq!(processor("ml.m5.large"), "cpu");
    }
}
