//! `.tar.gz` packing and listing, shared by the backends.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::Path;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::job::ArchiveEntry;

/// Packs the contents of `dir` (not the folder itself) into a gzip-compressed tar at `dest`.
/// Symlinks are stored as links, as `tar czf dest -C dir .` would.
pub fn pack_dir(dir: &Path, dest: &Path) -> std::io::Result<u64> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let partial = dest.with_extension("partial");
    {
        let file = BufWriter::new(File::create(&partial)?);
        let mut builder = tar::Builder::new(GzEncoder::new(file, Compression::default()));
        builder.follow_symlinks(false);
        if dir.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let path = entry.path();
                let name = entry.file_name();
                if entry.file_type()?.is_dir() {
                    builder.append_dir_all(&name, &path)?;
                } else {
                    builder.append_path_with_name(&path, &name)?;
                }
            }
        }
        let encoder = builder.into_inner()?;
        let mut file = encoder.finish()?;
        std::io::Write::flush(&mut file)?;
    }
    std::fs::rename(&partial, dest)?;
    Ok(std::fs::metadata(dest)?.len())
}

/// Lists the entries of a gzip-compressed tar stream by reading its headers only.
pub fn list_tar_gz(reader: impl Read) -> std::io::Result<Vec<ArchiveEntry>> {
    let mut archive = tar::Archive::new(GzDecoder::new(reader));
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let header = entry.header();
        out.push(ArchiveEntry {
            path: entry.path()?.to_string_lossy().into_owned(),
            size: header.size()?,
            is_dir: header.entry_type().is_dir(),
        });
    }
    Ok(out)
}

/// Lists the entries of a `.tar.gz` file.
pub fn list_tar_gz_file(path: &Path) -> std::io::Result<Vec<ArchiveEntry>> {
    list_tar_gz(BufReader::new(File::open(path)?))
}

/// Unpacks a `.tar.gz` file into `dest`, refusing entries that would escape it.
pub fn unpack_tar_gz(archive: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(File::open(archive)?)));
    for entry in archive.entries()? {
        let mut entry = entry?;
        // `unpack_in` skips entries with `..` or absolute paths.
        entry.unpack_in(dest)?;
    }
    Ok(())
}
