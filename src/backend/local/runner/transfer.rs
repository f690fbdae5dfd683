//! What a job moves to and from S3 or other folders: its code and channels before it starts,
//! and its artifacts after it ends, as the service writes them.

use std::path::{Path, PathBuf};

use crate::backend::local::contract::{LocalPlan, copy_file};
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

/// Downloads the `s3://` channels into `root`, together within the job's volume, and points
/// the plan at the copies. Returns the keys left out, each with why.
pub(super) async fn fetch_channels(
    remote: &Remote,
    plan: &mut LocalPlan,
    root: &Path,
    progress: SharedProgress,
) -> Result<Vec<String>, BackendError> {
    let mut left = plan.volume_bytes;
    let mut skipped = Vec::new();
    for channel in &mut plan.channels {
        let Some(uri) = &channel.s3_uri else { continue };
        let dest = root.join(&channel.name);
        let field = format!("channel {}", channel.name);
        let client = remote.s3().await?;
        let fetched =
            s3::download_prefix(client, uri, &dest, &field, left, progress.clone()).await?;
        left = left.saturating_sub(fetched.bytes);
        skipped.extend(fetched.skipped.into_iter().map(|s| format!("{field}: {s}")));
        channel.source = dest;
    }
    Ok(skipped)
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
