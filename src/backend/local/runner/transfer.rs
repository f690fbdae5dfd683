//! What a job moves to and from S3 or other folders: its code and channels before it starts,
//! and its artifacts after it ends, as the service writes them.

use std::path::{Path, PathBuf};

use super::augmented;
use crate::backend::local::contract::{DataType, LocalPlan, copy_file};
use crate::backend::local::off_thread;
use crate::backend::local::remote::Remote;
use crate::backend::s3::{self, Encryption, SharedProgress};
use crate::backend::{BackendError, archive};

/// Downloads code in S3 (a `.tar.gz` object, or a prefix of files) into `root`, within
/// the job's volume, and points the plan at it. Returns the keys left out, each with why.
pub(super) async fn fetch_code(
    remote: &Remote,
    plan: &mut LocalPlan,
    root: &Path,
    progress: SharedProgress,
) -> Result<Vec<String>, BackendError> {
    let Some(uri) = plan.submit_s3.clone() else {
        return Ok(Vec::new());
    };
    let field = format!("HyperParameters.{}", crate::request::SUBMIT_DIRECTORY);
    let client = remote.s3().await?;
    if uri.ends_with(".tar.gz") || uri.ends_with(".tgz") {
        let name = uri.rsplit('/').next().unwrap_or("sourcedir.tar.gz");
        let dest = root.join(name);
        let progress: crate::backend::Progress = Box::new(move |done, total| progress(done, total));
        s3::download_within(client, &uri, &dest, &progress, plan.volume_bytes)
            .await
            .map_err(|mut e| {
                e.message = format!("{field}: {uri}: {}", e.message);
                e
            })?;
        plan.submit_path = dest;
        Ok(Vec::new())
    } else {
        let dest = root.join("code");
        let fetched =
            s3::download_prefix(client, &uri, &dest, &field, plan.volume_bytes, progress).await?;
        plan.submit_path = dest;
        Ok(fetched.skipped)
    }
}

/// Fetches what each channel names into `root` as the service reads it, together within the
/// job's volume, and points the plan at the copies: an `s3://` prefix (every key that starts
/// with it), a manifest's objects (in S3 or, for a `file://` manifest, in folders here), and
/// an augmented manifest's records. Returns the keys left out, each with why.
pub(super) async fn fetch_channels(
    remote: &Remote,
    plan: &mut LocalPlan,
    root: &Path,
    progress: SharedProgress,
) -> Result<Vec<String>, BackendError> {
    let mut left = plan.volume_bytes;
    let mut skipped = Vec::new();
    for channel in &mut plan.channels {
        let field = format!("channel {}", channel.name);
        let dest = root.join(&channel.name);
        let fetched = match (&channel.data_type, &channel.s3_uri) {
            (DataType::Prefix, None) => continue,
            (DataType::Prefix, Some(uri)) => {
                let client = remote.s3().await?;
                let prefix = s3::S3Uri::parse(uri, &field)?;
                let objects = s3::list_key_prefix(client, &prefix).await?;
                if objects.is_empty() {
                    return Err(BackendError::validation(format!(
                        "{field}: no objects start with {uri}"
                    )));
                }
                s3::download_objects(client, objects, uri, &dest, &field, left, progress.clone())
                    .await?
            }
            (DataType::Manifest, uri) => {
                let manifest = manifest(remote, uri.as_deref(), &channel.source, &field).await?;
                fetch_manifest(remote, &manifest, &dest, &field, left, progress.clone()).await?
            }
            (DataType::AugmentedManifest { attributes }, uri) => {
                let text = manifest_bytes(remote, uri.as_deref(), &channel.source, &field).await?;
                let (records, fetched) =
                    augmented::records(remote, &text, attributes, &dest, &field, left).await?;
                channel.records = records;
                fetched
            }
        };
        left = left.saturating_sub(fetched.bytes);
        skipped.extend(fetched.skipped.into_iter().map(|s| format!("{field}: {s}")));
        channel.source = dest;
    }
    Ok(skipped)
}

/// The bytes of a manifest: the `s3://` object, else the file here.
pub(super) async fn manifest_bytes(
    remote: &Remote,
    uri: Option<&str>,
    path: &Path,
    field: &str,
) -> Result<Vec<u8>, BackendError> {
    match uri {
        Some(uri) => s3::read_object(remote.s3().await?, uri, field).await,
        None => tokio::fs::read(path)
            .await
            .map_err(|e| BackendError::validation(format!("{field}: {}: {e}", path.display()))),
    }
}

async fn manifest(
    remote: &Remote,
    uri: Option<&str>,
    path: &Path,
    field: &str,
) -> Result<s3::Manifest, BackendError> {
    s3::Manifest::parse(&manifest_bytes(remote, uri, path, field).await?, field)
}

/// Copies the objects a manifest names into `dest`: from S3, or from `file://` folders.
async fn fetch_manifest(
    remote: &Remote,
    manifest: &s3::Manifest,
    dest: &Path,
    field: &str,
    limit: u64,
    progress: SharedProgress,
) -> Result<s3::Fetched, BackendError> {
    if manifest.prefix.starts_with("s3://") {
        let client = remote.s3().await?;
        let objects = s3::list_manifest(client, manifest, field).await?;
        return s3::download_objects(
            client,
            objects,
            &manifest.prefix,
            dest,
            field,
            limit,
            progress,
        )
        .await;
    }
    let (manifest, dest, field) = (manifest.clone(), dest.to_path_buf(), field.to_string());
    off_thread(move || {
        let mut fetched = s3::Fetched::default();
        for (uri, key) in manifest.entries() {
            let source = crate::backend::local::contract::file_uri_path(&uri, &field)?;
            let path = s3::key_path(key).ok_or_else(|| {
                BackendError::validation(format!(
                    "{field}: {key:?} (in the manifest) leaves the channel's folder"
                ))
            })?;
            let copied = copy_file(&source, &dest.join(path), &mut |_| {})
                .map_err(|e| BackendError::validation(format!("{field}: {uri}: {e}")))?;
            fetched.bytes += copied;
            if fetched.bytes > limit {
                return Err(crate::error::volume_full(&field, limit).into());
            }
        }
        Ok(fetched)
    })
    .await?
}

/// Writes the artifacts of every host into the job's artifact folder: `model.tar.gz` (or,
/// with `CompressionType: NONE`, the files under `model/`) and `output.tar.gz`, later
/// hosts' files replacing earlier ones'. Returns the model's path.
pub(super) fn pack(
    plan: &LocalPlan,
    models: Vec<PathBuf>,
    data: Vec<PathBuf>,
) -> std::io::Result<PathBuf> {
    let dest = plan.artifact_dir();
    std::fs::create_dir_all(&dest)?;
    let model = if plan.compress_model {
        let model_tar = dest.join("model.tar.gz");
        archive::pack_merged(&models, &model_tar)?;
        model_tar
    } else {
        let folder = dest.join("model");
        if folder.exists() {
            std::fs::remove_dir_all(&folder)?;
        }
        std::fs::create_dir_all(&folder)?;
        for (rel, source) in archive::merge(&models)? {
            let target = folder.join(&rel);
            if source.is_dir {
                std::fs::create_dir_all(&target)?;
            } else if source.path.is_file() {
                copy_file(&source.path, &target, &mut |_| {})?;
            }
        }
        folder
    };
    archive::pack_merged(&data, &dest.join("output.tar.gz"))?;
    Ok(model)
}

/// Uploads the packed artifacts to `<S3OutputPath>/<job>/output/`; returns the model's URI
/// (`model.tar.gz`, or the `model/` prefix when uncompressed).
pub(super) async fn publish(
    remote: &Remote,
    plan: &LocalPlan,
    output_s3: &str,
    model: PathBuf,
    progress: SharedProgress,
) -> Result<String, BackendError> {
    let base = s3::S3Uri::parse(output_s3, "OutputDataConfig.S3OutputPath")?;
    let prefix = base.with_key(&format!("{}{}/output/", base.folder(), plan.job));
    let encryption = Encryption {
        kms_key_id: plan.kms_key_id.clone(),
    };
    let client = remote.s3().await?;
    let dest = plan.artifact_dir();
    let mut files = vec![(dest.join("output.tar.gz"), format!("{prefix}output.tar.gz"))];
    let model_uri = if plan.compress_model {
        files.push((model, format!("{prefix}model.tar.gz")));
        format!("{prefix}model.tar.gz")
    } else {
        let listed =
            off_thread(move || crate::backend::local::contract::list_files(&model)).await??;
        files.extend(
            listed
                .into_iter()
                .map(|(path, rel)| (path, format!("{prefix}model/{}", rel.display()))),
        );
        format!("{prefix}model/")
    };
    s3::upload_files(client, files, &encryption, progress).await?;
    Ok(model_uri)
}
