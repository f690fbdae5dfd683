//! S3 locations: each bucket exists and is in the connection's region
//! (`s3:GetBucketLocation`), each input prefix or manifest has objects (`s3:ListObjectsV2`
//! with a small `MaxKeys`, `s3:HeadObject`), and the code tarball exists.

use super::{Check, Context, Outcome};
use crate::backend::BackendError;
use crate::backend::s3::S3Uri;
use crate::backend::sdk::from_sdk;

/// The bucket's region, as `GetBucketLocation` names it (`None`/empty is us-east-1, `EU`
/// is eu-west-1).
async fn bucket_region(context: &Context, bucket: &str) -> Result<String, BackendError> {
    let answer = context
        .clients
        .s3
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .await
        .map_err(from_sdk)?;
    Ok(match answer.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(region) => region.into(),
    })
}

/// The bucket exists and is in the connection's region.
async fn check_bucket(context: &Context, path: &str, uri: &S3Uri) -> Check {
    const CALL: &str = "s3:GetBucketLocation";
    match bucket_region(context, &uri.bucket).await {
        Ok(region) if region == context.region => {
            Check::passed(path, CALL, format!("bucket {} is in {region}", uri.bucket))
        }
        Ok(region) => Check::error(
            path,
            CALL,
            "bucket_region",
            format!(
                "bucket {} is in {region}, but the job runs in {}: SageMaker needs its \
                     buckets in the job's region; use a bucket in {} or connect to {region}",
                uri.bucket, context.region, context.region
            ),
        ),
        Err(e) if e.code == "NoSuchBucket" => Check::error(
            path,
            CALL,
            "bucket_not_found",
            format!(
                "bucket {} does not exist: check the name, or create it in {}",
                uri.bucket, context.region
            ),
        ),
        Err(e) => Check::not_verified(path, CALL, &e),
    }
}

/// The location parsed and its bucket's check, when the bucket may be used; else the
/// checks that say why not.
async fn located(context: &Context, path: &str, uri: &str) -> Result<(S3Uri, Check), Vec<Check>> {
    let parsed =
        S3Uri::parse(uri, path).map_err(|e| vec![Check::error(path, "", "s3_uri", e.message)])?;
    let bucket = check_bucket(context, path, &parsed).await;
    match bucket.outcome {
        Outcome::Passed(_) => Ok((parsed, bucket)),
        _ => Err(vec![bucket]),
    }
}

/// An output location: the bucket exists in the connection's region.
pub async fn bucket(context: &Context, path: &str, uri: &str) -> Vec<Check> {
    match located(context, path, uri).await {
        Ok((_, bucket)) => vec![bucket],
        Err(checks) => checks,
    }
}

/// An object that must exist (the code tarball).
pub async fn object(context: &Context, path: &str, uri: &str) -> Vec<Check> {
    const CALL: &str = "s3:HeadObject";
    let (parsed, bucket) = match located(context, path, uri).await {
        Ok(located) => located,
        Err(checks) => return checks,
    };
    let head = context
        .clients
        .s3
        .head_object()
        .bucket(&parsed.bucket)
        .key(&parsed.key)
        .send()
        .await
        .map_err(from_sdk);
    let check = match head {
        Ok(answer) => Check::passed(
            path,
            CALL,
            format!(
                "{uri} exists ({} bytes)",
                answer.content_length().unwrap_or(0)
            ),
        ),
        Err(e) if e.code == "NotFound" || e.code == "NoSuchKey" => Check::error(
            path,
            CALL,
            "object_not_found",
            format!("{uri} does not exist: upload it, or fix the URI"),
        ),
        Err(e) => Check::not_verified(path, CALL, &e),
    };
    vec![bucket, check]
}

/// An input channel: the bucket, then at least one object under the prefix (as many as
/// instances when sharded by key), or the manifest file.
pub async fn input(
    context: &Context,
    path: &str,
    uri: &str,
    data_type: &str,
    sharded: bool,
    instances: i64,
) -> Vec<Check> {
    if data_type != "S3Prefix" {
        // A manifest names the objects: the manifest itself must exist.
        return object(context, path, uri).await;
    }
    const CALL: &str = "s3:ListObjectsV2";
    let (parsed, bucket) = match located(context, path, uri).await {
        Ok(located) => located,
        Err(checks) => return checks,
    };
    let wanted = if sharded { instances.clamp(1, 1000) } else { 1 };
    let listed = context
        .clients
        .s3
        .list_objects_v2()
        .bucket(&parsed.bucket)
        .prefix(&parsed.key)
        .max_keys(wanted as i32)
        .send()
        .await
        .map_err(from_sdk);
    let check = match listed {
        Ok(page) => {
            let found = page.contents().len() as i64;
            if found == 0 {
                Check::error(
                    path,
                    CALL,
                    "prefix_empty",
                    format!(
                        "no object under {uri}: the job would fail minutes in with \"no files \
                         in input\"; upload the data or fix the prefix (it is matched as a \
                         key prefix, so {uri}x also matches)"
                    ),
                )
            } else if found < wanted {
                Check::warning(
                    path,
                    CALL,
                    "shards_fewer_than_instances",
                    format!(
                        "ShardedByS3Key over {instances} instances, but {uri} holds only \
                         {found} object(s): some instances would get no data"
                    ),
                )
            } else {
                Check::passed(path, CALL, format!("{uri} holds objects"))
            }
        }
        Err(e) => Check::not_verified(path, CALL, &e),
    };
    vec![bucket, check]
}
