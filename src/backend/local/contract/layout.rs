//! The `/opt/ml` tree of one host, as a folder in the job's folder.

use std::path::{Path, PathBuf};

/// The `/opt/ml` tree of one host.
#[derive(Debug, Clone)]
pub struct HostLayout {
    /// The folder that stands for `/opt/ml`.
    pub root: PathBuf,
}

impl HostLayout {
    /// The tree under `root`.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }
    /// `input/`.
    pub fn input(&self) -> PathBuf {
        self.root.join("input")
    }
    /// `input/config/`.
    pub fn input_config(&self) -> PathBuf {
        self.root.join("input/config")
    }
    /// `input/data/<channel>/`.
    pub fn channel(&self, name: &str) -> PathBuf {
        self.root.join("input/data").join(name)
    }
    /// `code/`.
    pub fn code(&self) -> PathBuf {
        self.root.join("code")
    }
    /// `model/`.
    pub fn model(&self) -> PathBuf {
        self.root.join("model")
    }
    /// `output/`.
    pub fn output(&self) -> PathBuf {
        self.root.join("output")
    }
    /// `output/data/`.
    pub fn output_data(&self) -> PathBuf {
        self.root.join("output/data")
    }
    /// `output/intermediate/`.
    pub fn output_intermediate(&self) -> PathBuf {
        self.root.join("output/intermediate")
    }
    /// `output/failure`.
    pub fn failure_file(&self) -> PathBuf {
        self.root.join("output/failure")
    }
    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// Creates the empty tree.
    pub fn create(&self) -> std::io::Result<()> {
        for dir in [
            self.input_config(),
            self.root.join("input/data"),
            self.code(),
            self.model(),
            self.output_data(),
            self.output_intermediate(),
            self.checkpoints(),
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

/// Makes `path` (and any missing parents) a folder only its owner can enter, whatever the
/// umask and whatever mode it had: a job's tree holds its hyperparameters and environment.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// Writes `bytes` to a new or replaced file only its owner can read.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}
