//! `.tar.gz` packing and listing, shared by the backends.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::BackendError;
use super::partial::PartialFile;
use crate::job::{ArchiveEntry, ArchiveListing, EntryKind};

/// Packs the contents of `dir` (not the folder itself) into a gzip-compressed tar at `dest`.
/// Symlinks are stored as links, as `tar czf dest -C dir .` would.
pub fn pack_dir(dir: &Path, dest: &Path) -> std::io::Result<u64> {
    pack_merged(&[dir.to_path_buf()], dest)
}

/// Packs the contents of several folders into one gzip-compressed tar at `dest`, as the
/// service merges every host's `/opt/ml/model`: a path in a later folder replaces the same
/// path of an earlier one. Missing folders count as empty.
pub fn pack_merged(dirs: &[PathBuf], dest: &Path) -> std::io::Result<u64> {
    let entries = merge(dirs)?;
    let partial = PartialFile::new(dest)?;
    {
        let file = BufWriter::new(File::create(partial.path())?);
        let mut builder = tar::Builder::new(GzEncoder::new(file, Compression::default()));
        builder.follow_symlinks(false);
        for (rel, source) in &entries {
            if source.is_dir {
                builder.append_dir(rel, &source.path)?;
            } else {
                builder.append_path_with_name(&source.path, rel)?;
            }
        }
        let encoder = builder.into_inner()?;
        let mut file = encoder.finish()?;
        std::io::Write::flush(&mut file)?;
    }
    partial.finish()?;
    Ok(std::fs::metadata(dest)?.len())
}

/// Where one path of a merged tree comes from.
pub struct Source {
    /// The file, link or folder on this machine.
    pub path: PathBuf,
    /// Whether it is a folder.
    pub is_dir: bool,
}

/// The paths under each of `dirs`, relative to it, later folders replacing earlier ones;
/// symlinks are not followed.
pub fn merge(dirs: &[PathBuf]) -> std::io::Result<BTreeMap<PathBuf, Source>> {
    let mut out = BTreeMap::new();
    for root in dirs {
        if !root.is_dir() {
            continue;
        }
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let path = entry.path();
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                let is_dir = entry.file_type()?.is_dir();
                if is_dir {
                    stack.push(path.clone());
                }
                out.insert(rel, Source { path, is_dir });
            }
        }
    }
    // A folder of one host replaced by a file of a later one takes its contents with it.
    let files: Vec<PathBuf> = out
        .iter()
        .filter(|(_, s)| !s.is_dir)
        .map(|(rel, _)| rel.clone())
        .collect();
    out.retain(|rel, _| {
        !rel.ancestors()
            .skip(1)
            .any(|a| !a.as_os_str().is_empty() && files.binary_search(&a.to_path_buf()).is_ok())
    });
    Ok(out)
}

/// Most entries a listing keeps.
pub const MAX_ENTRIES: usize = 100_000;
/// Longest entry name or link target kept, in bytes.
pub const MAX_NAME: usize = 4096;
/// Largest PAX extension header read.
const MAX_PAX: u64 = 64 * 1024;

/// Lists the entries of a gzip-compressed tar stream by reading its headers only, with
/// bounded memory: names are cut at [`MAX_NAME`] bytes and the listing at
/// [`MAX_ENTRIES`] entries. A damaged or cut archive keeps the entries read before the fault
/// and says where it happened.
pub fn list_tar_gz(reader: impl Read) -> ArchiveListing {
    let mut listing = ArchiveListing::default();
    let mut archive = tar::Archive::new(GzDecoder::new(reader));
    let entries = match archive.entries() {
        Ok(entries) => entries.raw(true),
        Err(e) => {
            listing.error = Some(format!("not a readable .tar.gz: {e}"));
            return listing;
        }
    };
    let mut long_name = None;
    let mut long_link = None;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                listing.error = Some(read_error(&e, listing.entries.last()));
                break;
            }
        };
        let kind = entry.header().entry_type();
        let extension = if kind.is_gnu_longname() {
            read_name(&mut entry).map(|n| long_name = Some(n))
        } else if kind.is_gnu_longlink() {
            read_name(&mut entry).map(|n| long_link = Some(n))
        } else if kind.is_pax_local_extensions() {
            read_pax(&mut entry, &mut long_name, &mut long_link)
        } else if kind.is_pax_global_extensions() {
            Ok(())
        } else {
            if listing.entries.len() == MAX_ENTRIES {
                listing.truncated = true;
                break;
            }
            let header = entry.header();
            let path = long_name
                .take()
                .unwrap_or_else(|| cut_name(&header.path_bytes()));
            let link = long_link
                .take()
                .or_else(|| header.link_name_bytes().map(|l| cut_name(&l)));
            let kind = entry_kind(kind);
            listing.entries.push(ArchiveEntry {
                path,
                size: if kind == EntryKind::File {
                    entry.size()
                } else {
                    0
                },
                kind,
                link,
            });
            continue;
        };
        if let Err(e) = extension {
            listing.error = Some(read_error(&e, listing.entries.last()));
            break;
        }
    }
    listing
}

fn entry_kind(kind: tar::EntryType) -> EntryKind {
    if kind.is_dir() {
        EntryKind::Dir
    } else if kind.is_symlink() {
        EntryKind::Symlink
    } else if kind.is_hard_link() {
        EntryKind::Hardlink
    } else if kind.is_file() || kind.is_contiguous() || kind == tar::EntryType::GNUSparse {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}

/// A name as text, cut at [`MAX_NAME`] bytes with a note of how much was cut.
fn cut_name(bytes: &[u8]) -> String {
    let bytes = match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    };
    let kept = &bytes[..bytes.len().min(MAX_NAME)];
    shown(kept, (bytes.len() - kept.len()) as u64)
}

/// The kept bytes of a name as text, with a note of how many more were not kept.
fn shown(kept: &[u8], hidden: u64) -> String {
    let mut name = String::from_utf8_lossy(kept).into_owned();
    if hidden > 0 {
        name.push_str(&format!("… ({hidden} more bytes not shown)"));
    }
    name
}

/// The body of a GNU long-name or long-link member, read up to [`MAX_NAME`] bytes; the rest
/// is skipped, never held.
fn read_name(entry: &mut tar::Entry<'_, impl Read>) -> std::io::Result<String> {
    let total = entry.size();
    let mut buf = Vec::new();
    entry.by_ref().take(MAX_NAME as u64).read_to_end(&mut buf)?;
    while buf.last() == Some(&0) {
        buf.pop();
    }
    // The member's body ends with a NUL terminator, which is not part of the name.
    let hidden = total.saturating_sub(MAX_NAME as u64 + 1);
    Ok(shown(&buf, hidden))
}

/// The `path` and `linkpath` records of a PAX extension header (up to [`MAX_PAX`] bytes).
fn read_pax(
    entry: &mut tar::Entry<'_, impl Read>,
    path: &mut Option<String>,
    link: &mut Option<String>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    entry.by_ref().take(MAX_PAX).read_to_end(&mut buf)?;
    for extension in tar::PaxExtensions::new(&buf).flatten() {
        match extension.key() {
            Ok("path") => *path = Some(cut_name(extension.value_bytes())),
            Ok("linkpath") => *link = Some(cut_name(extension.value_bytes())),
            _ => {}
        }
    }
    Ok(())
}

/// What a read error means for the reader, naming the entry it stopped after.
fn read_error(e: &std::io::Error, last: Option<&ArchiveEntry>) -> String {
    let place = match last {
        Some(entry)
            if e.kind() == std::io::ErrorKind::UnexpectedEof
                || e.to_string().contains("unexpected EOF") =>
        {
            format!(
                "the archive ends early: {:?} claims {} bytes, more than is left",
                entry.path, entry.size
            )
        }
        Some(entry) => format!("after {:?}", entry.path),
        None => "at its first entry".into(),
    };
    format!("{place} ({e})")
}

/// The listing, or an error naming `what` when not one entry could be read.
pub fn readable(listing: ArchiveListing, what: &str) -> Result<ArchiveListing, BackendError> {
    match &listing.error {
        Some(e) if listing.entries.is_empty() => Err(BackendError::internal(format!(
            "{what}: not a readable .tar.gz: {e}"
        ))),
        _ => Ok(listing),
    }
}

/// Lists the entries of a `.tar.gz` file.
pub fn list_tar_gz_file(path: &Path) -> std::io::Result<ArchiveListing> {
    Ok(list_tar_gz(BufReader::new(File::open(path)?)))
}

/// Unpacks a `.tar.gz` file into `dest`. An entry that would land outside `dest` (a `..` or
/// absolute path, a link pointing out of it) is refused with its name before any of it is
/// written; device files and pipes are skipped.
pub fn unpack_tar_gz(archive: &Path, dest: &Path) -> std::io::Result<()> {
    use tar::EntryType;
    std::fs::create_dir_all(dest)?;
    let name = archive.file_name().map_or_else(
        || archive.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let refuse = |entry: &Path, what: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{name}: entry {:?} {what}", entry.display().to_string()),
        )
    };
    let mut tar = tar::Archive::new(GzDecoder::new(BufReader::new(File::open(archive)?)));
    for entry in tar.entries()? {
        let mut entry = entry.map_err(|e| std::io::Error::new(e.kind(), format!("{name}: {e}")))?;
        let path = entry.path()?.into_owned();
        if !inside(Path::new(""), &path) {
            return Err(refuse(&path, "would be written outside the folder".into()));
        }
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::Symlink | EntryType::Link) {
            let target = entry
                .link_name()?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            // A symlink's target is relative to its folder; a hard link's to the archive root.
            let base = if kind == EntryType::Symlink {
                path.parent().unwrap_or(Path::new(""))
            } else {
                Path::new("")
            };
            if !inside(base, &target) {
                return Err(refuse(
                    &path,
                    format!(
                        "links to {:?}, outside the folder",
                        target.display().to_string()
                    ),
                ));
            }
        }
        if matches!(kind, EntryType::Char | EntryType::Block | EntryType::Fifo) {
            continue;
        }
        entry.unpack_in(dest)?;
    }
    Ok(())
}

/// Whether `path`, taken from the folder `base` (relative to the root), stays under the root.
fn inside(base: &Path, path: &Path) -> bool {
    use std::path::Component;
    let mut depth = base
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            _ => return false,
        }
    }
    true
}
