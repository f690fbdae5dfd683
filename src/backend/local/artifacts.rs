//! A local job's artifacts on this disk: its output folder listed, and one file copied
//! where the user saves it, with progress.

use std::path::Path;

use super::contract;
use crate::backend::partial::PartialFile;
use crate::backend::{BackendError, Progress};
use crate::job::ArtifactEntry;

/// Copies `src` to `dest` through a temporary file, reporting progress every mebibyte.
pub(super) fn copy_with_progress(
    src: &Path,
    dest: &Path,
    progress: &Progress,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let total = std::fs::metadata(src)?.len();
    let mut input = std::fs::File::open(src)?;
    let partial = PartialFile::new(dest)?;
    let mut output = std::io::BufWriter::new(std::fs::File::create(partial.path())?);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0;
    progress(0, total);
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n])?;
        done += n as u64;
        progress(done, total);
    }
    output.flush()?;
    drop(output);
    partial.finish()
}

/// The files under `prefix` (a job's output folder here), none when it does not exist.
pub(super) fn list_files_under(prefix: &Path) -> Result<Vec<ArtifactEntry>, BackendError> {
    if !prefix.exists() {
        return Ok(Vec::new());
    }
    contract::list_files(prefix)?
        .into_iter()
        .map(|(path, rel)| {
            let meta = std::fs::metadata(&path)?;
            Ok(ArtifactEntry {
                key: rel.display().to_string(),
                uri: format!("file://{}", path.display()),
                size: meta.len(),
                last_modified: meta.modified().ok().map(chrono::DateTime::from),
            })
        })
        .collect()
}
