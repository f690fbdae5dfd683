//! `TrainingImage`: an image in the account's own ECR exists with its tag
//! (`ecr:DescribeImages`) in the connection's region; an AWS Deep Learning Container or
//! built-in algorithm image comes from the registry account the SageMaker Python SDK
//! publishes for the region (`registries.json`, made by `tools/gen_images.py`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::json;

use super::{Check, Context};
use crate::backend::sdk::lean::Service;

const PATH: &str = "AlgorithmSpecification.TrainingImage";

/// Repository → region → registry accounts.
pub(super) type Registries = BTreeMap<String, BTreeMap<String, Vec<String>>>;

pub(super) fn registries() -> &'static Registries {
    static TABLE: OnceLock<Registries> = OnceLock::new();
    TABLE.get_or_init(|| {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("registries.json")).expect("registries.json parses");
        serde_json::from_value(table["repositories"].clone()).expect("registries.json's shape")
    })
}

/// An ECR image URI's parts.
#[derive(Debug, PartialEq)]
struct EcrImage<'a> {
    account: &'a str,
    region: &'a str,
    repository: &'a str,
    /// `("imageTag", tag)` or `("imageDigest", digest)`.
    id: (&'static str, &'a str),
}

fn parse(image: &str) -> Option<EcrImage<'_>> {
    let (host, rest) = image.split_once('/')?;
    let mut parts = host.split('.');
    let account = parts.next()?;
    if parts.next()? != "dkr" || parts.next()? != "ecr" {
        return None;
    }
    let region = parts.next()?;
    let (repository, id) = match rest.split_once('@') {
        Some((repo, digest)) => (repo, ("imageDigest", digest)),
        None => match rest.rsplit_once(':') {
            Some((repo, tag)) => (repo, ("imageTag", tag)),
            None => (rest, ("imageTag", "latest")),
        },
    };
    Some(EcrImage {
        account,
        region,
        repository,
        id,
    })
}

/// Checks the training image.
pub async fn image(context: &Context, image: &str) -> Vec<Check> {
    let Some(ecr) = parse(image) else {
        return vec![Check::warning(
            PATH,
            "",
            "image_not_ecr",
            format!(
                "{image} is not in Amazon ECR: SageMaker pulls training images from ECR \
                 (or, with TrainingRepositoryAccessMode Vpc, from a registry in your VPC)"
            ),
        )];
    };
    if ecr.region != context.region {
        return vec![Check::error(
            PATH,
            "",
            "image_region",
            format!(
                "the image is in {}, but the job runs in {}: use the image's {} copy",
                ecr.region, context.region, context.region
            ),
        )];
    }
    if let Some(regions) = registries().get(ecr.repository) {
        return vec![published(&ecr, regions, context)];
    }
    own_image(context, image, &ecr).await
}

/// A published image: the registry account is the one for this region.
fn published(
    ecr: &EcrImage<'_>,
    regions: &BTreeMap<String, Vec<String>>,
    context: &Context,
) -> Check {
    const CALL: &str = "SageMaker Python SDK image table";
    match regions.get(&context.region) {
        None => Check::error(
            PATH,
            CALL,
            "image_registry",
            format!("{} is not published in {}", ecr.repository, context.region),
        ),
        Some(accounts) if accounts.iter().any(|a| a == ecr.account) => Check::passed(
            PATH,
            CALL,
            format!(
                "{} comes from {}'s registry {}",
                ecr.repository, context.region, ecr.account
            ),
        ),
        Some(accounts) => Check::error(
            PATH,
            CALL,
            "image_registry",
            format!(
                "in {}, {} is published by account {}, not {}: use {}.dkr.ecr.{}.amazonaws.com/{}",
                context.region,
                ecr.repository,
                accounts.join(" or "),
                ecr.account,
                accounts[0],
                context.region,
                ecr.repository
            ),
        ),
    }
}

/// An image of the account's own (or another account's) ECR: the repository and tag exist.
async fn own_image(context: &Context, image: &str, ecr: &EcrImage<'_>) -> Vec<Check> {
    const CALL: &str = "ecr:DescribeImages";
    let (id_key, id) = ecr.id;
    let input = json!({
        "registryId": ecr.account,
        "repositoryName": ecr.repository,
        "imageIds": [{id_key: id}],
    });
    let answer = context
        .clients
        .lean
        .json(Service::Ecr, "DescribeImages", &input)
        .await;
    vec![match answer {
        Ok(answer)
            if answer["imageDetails"]
                .as_array()
                .is_some_and(|d| !d.is_empty()) =>
        {
            Check::passed(PATH, CALL, format!("{image} exists"))
        }
        Ok(_) => Check::malformed(PATH, CALL, "the image's details"),
        Err(e) if e.code == "RepositoryNotFoundException" => Check::error(
            PATH,
            CALL,
            "image_not_found",
            format!(
                "repository {} does not exist in account {}'s ECR in {}: push the image, \
                 or fix the URI",
                ecr.repository, ecr.account, ecr.region
            ),
        ),
        Err(e) if e.code == "ImageNotFoundException" => Check::error(
            PATH,
            CALL,
            "image_not_found",
            format!(
                "{} has no image {id} in {}: push it (docker push {image}), or fix the tag",
                ecr.repository, ecr.region
            ),
        ),
        Err(e) => Check::not_verified(PATH, CALL, &e),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_uris_are_taken_apart() {
        let image = parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/train:v2").unwrap();
        assert_eq!(
            image,
            EcrImage {
                account: "123456789012",
                region: "eu-west-1",
                repository: "team/train",
                id: ("imageTag", "v2")
            }
        );
        let digest = parse("1.dkr.ecr.us-east-1.amazonaws.com/r@sha256:ab").unwrap();
        assert_eq!(digest.id, ("imageDigest", "sha256:ab"));
        assert_eq!(
            parse("1.dkr.ecr.us-east-1.amazonaws.com/r").unwrap().id.1,
            "latest"
        );
        assert_eq!(parse("public.ecr.aws/docker/library/python:3"), None);
    }

    #[test]
    fn the_table_knows_the_deep_learning_containers() {
        let table = registries();
        assert_eq!(table["pytorch-training"]["us-east-1"], ["763104351884"]);
        assert!(table.contains_key("sagemaker-xgboost"));
    }
}
