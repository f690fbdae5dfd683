//! Files written under a `.partial` name and put in place only when whole: the one way the
//! backends write a file the user (or a job) will read, so that no error path, cancelled
//! download or killed copy leaves a half file under the real name, or a `.partial` behind.

use std::path::{Path, PathBuf};

/// A `.partial` file beside its destination, removed when dropped unless it was finished.
pub struct PartialFile {
    path: PathBuf,
    dest: PathBuf,
    finished: bool,
}

impl PartialFile {
    /// The partial file for `dest` (`dest` with `.partial` appended); its folder is created.
    pub fn new(dest: &Path) -> std::io::Result<Self> {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut name = dest.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        Ok(Self {
            path: dest.with_file_name(name),
            dest: dest.to_path_buf(),
            finished: false,
        })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the written file in place under its destination name.
    pub fn finish(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.path, &self.dest)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_finished_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/model.tar.gz");
        let partial = PartialFile::new(&dest).unwrap();
        assert_eq!(partial.path(), dir.path().join("sub/model.tar.gz.partial"));
        std::fs::write(partial.path(), "half").unwrap();
        drop(partial);
        assert!(!dir.path().join("sub/model.tar.gz.partial").exists());
        assert!(!dest.exists());

        let partial = PartialFile::new(&dest).unwrap();
        std::fs::write(partial.path(), "whole").unwrap();
        partial.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "whole");
        assert!(!dir.path().join("sub/model.tar.gz.partial").exists());
    }
}
