//! Where the code SageDesk uploaded came from: each `sourcedir.tar.gz` it wrote to S3, with
//! the folder it packed, kept in the data folder, so that a traceback of an AWS job running
//! that code maps back to the user's own files.

use std::path::{Path, PathBuf};

/// The record in the data folder.
const FILE: &str = "uploads.json";
/// Most uploads remembered; the oldest go first.
const MOST: usize = 500;

/// Remembers that `uri` holds the code of `folder`.
pub fn record(home: &Path, uri: &str, folder: &Path) -> std::io::Result<()> {
    let mut all = read(home);
    all.retain(|(u, _)| u != uri);
    all.push((uri.to_string(), folder.to_path_buf()));
    let extra = all.len().saturating_sub(MOST);
    all.drain(..extra);
    let text = serde_json::to_vec(&all).map_err(std::io::Error::other)?;
    let partial = home.join(format!("{FILE}.partial"));
    std::fs::write(&partial, text)?;
    std::fs::rename(partial, home.join(FILE))
}

/// The folder whose code was uploaded to `uri`, while it is still there.
pub fn folder_of(home: &Path, uri: &str) -> Option<PathBuf> {
    read(home)
        .into_iter()
        .rev()
        .find(|(u, _)| u == uri)
        .map(|(_, folder)| folder)
        .filter(|folder| folder.is_dir())
}

fn read(home: &Path) -> Vec<(String, PathBuf)> {
    std::fs::read(home.join(FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_upload_of_a_uri_names_its_folder() {
        let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (home.path().join("a"), home.path().join("b"));
        for dir in [&a, &b] {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        }
        let uri = "s3://bucket/source/sourcedir.tar.gz";
        assert_eq!(folder_of(home.path(), uri), None);
        record(home.path(), uri, &a).unwrap_or_else(|e| panic!("{e}"));
        record(home.path(), uri, &b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(folder_of(home.path(), uri), Some(b.clone()));
        std::fs::remove_dir_all(&b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(folder_of(home.path(), uri), None, "a folder that is gone");
    }
}
