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
pub const MAX_ENTRIES: usize = crate::job::MAX_ARCHIVE_ENTRIES;
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

/// Unpacks a `.tar.gz` file into `dest`. Every entry's path and every link's target is
/// resolved against what is already on disk, links included (as `openat2` with
/// `RESOLVE_BENEATH` would): an entry that would land outside `dest`, or a link that leads
/// out of it by any chain of links, is refused with its name before any of it is written.
/// Device files and pipes are skipped. `budget` caps the bytes written (the job's volume).
pub fn unpack_tar_gz(archive: &Path, dest: &Path, budget: u64) -> std::io::Result<u64> {
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
    let mut written = 0u64;
    let mut tar = tar::Archive::new(GzDecoder::new(BufReader::new(File::open(archive)?)));
    for entry in tar.entries()? {
        let mut entry = entry.map_err(|e| std::io::Error::new(e.kind(), format!("{name}: {e}")))?;
        let path = entry.path()?.into_owned();
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::Char | EntryType::Block | EntryType::Fifo) {
            continue;
        }
        let outside = || refuse(&path, "would be written outside the folder".into());
        // The entry's folder as it resolves on disk now; the entry itself is replaced.
        let parent = path.parent().unwrap_or(Path::new(""));
        let file_name = match path.components().next_back() {
            Some(std::path::Component::Normal(n)) => n.to_owned(),
            Some(std::path::Component::CurDir) | None if kind.is_dir() => continue,
            _ => return Err(outside()),
        };
        let Some(folder) = resolve_beneath(dest, parent) else {
            return Err(outside());
        };
        let target_path = dest.join(&folder).join(&file_name);
        if matches!(kind, EntryType::Symlink | EntryType::Link) {
            let target = entry
                .link_name()?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            // A symlink's target is relative to its folder; a hard link's to the archive root.
            // Every step but the last must exist now: a step made later (a link) could
            // change where this one leads.
            let resolved = if kind == EntryType::Symlink {
                resolve(dest, &folder.join(&target), Strict::Existing)
            } else {
                resolve(dest, &target, Strict::Existing)
            };
            let Some(resolved) = resolved else {
                return Err(refuse(
                    &path,
                    format!(
                        "links to {:?}, outside the folder",
                        target.display().to_string()
                    ),
                ));
            };
            // Links already made resolved inside: replacing a folder or link they pass
            // through by a link could send them elsewhere.
            if kind == EntryType::Symlink
                && std::fs::symlink_metadata(&target_path)
                    .is_ok_and(|m| m.is_dir() || m.file_type().is_symlink())
            {
                return Err(refuse(
                    &path,
                    "would replace the folder or link of that name".into(),
                ));
            }
            remove_existing(&target_path)?;
            if kind == EntryType::Symlink {
                std::os::unix::fs::symlink(&target, &target_path)?;
                // A link that leads to itself (`a → a`) resolves nowhere.
                if resolve_beneath(dest, &folder.join(&file_name)).is_none() {
                    std::fs::remove_file(&target_path)?;
                    return Err(refuse(
                        &path,
                        format!("links to {:?}, in a loop", target.display().to_string()),
                    ));
                }
            } else {
                std::fs::hard_link(dest.join(resolved), &target_path)?;
            }
            continue;
        }
        if kind.is_dir() {
            match std::fs::symlink_metadata(&target_path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(refuse(&path, "would replace the link of that name".into()));
                }
                Ok(_) => {
                    remove_existing(&target_path)?;
                    std::fs::create_dir(&target_path)?;
                }
                Err(_) => std::fs::create_dir_all(&target_path)?,
            }
            set_mode(&target_path, entry.header().mode().unwrap_or(0o755) | 0o700)?;
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous() || kind == EntryType::GNUSparse) {
            continue;
        }
        let size = entry.size();
        if written.saturating_add(size) > budget {
            return Err(crate::error::volume_full(
                &format!("{name} unpacked"),
                budget,
            ));
        }
        remove_existing(&target_path)?;
        // The cause first (a full disk says "No space left on device"), then the entry.
        let failed = |e: std::io::Error| {
            std::io::Error::new(
                e.kind(),
                format!("{name}: {e} (writing {})", path.display()),
            )
        };
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target_path)
            .map_err(failed)?;
        let copied = std::io::copy(&mut (&mut entry).take(size), &mut out).map_err(failed)?;
        written += copied;
        set_mode(&target_path, entry.header().mode().unwrap_or(0o644) & 0o777)?;
    }
    Ok(written)
}

/// Sets `path`'s mode without following a link (the path has none: it was resolved).
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Removes a file or link at `path` (not a folder's contents), so an entry replaces it.
fn remove_existing(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => Ok(()),
    }
}

/// Most links followed while resolving one path (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Resolves `path` (relative to `root`) component by component against what is on disk
/// now, following every symbolic link it meets as the kernel would. The resolved path
/// relative to `root`, with no link left in it, or `None` when it leaves `root` at any step
/// (a `..` above it, an absolute link, a chain of links) or loops. Components that do not
/// exist yet are taken as plain names.
pub fn resolve_beneath(root: &Path, path: &Path) -> Option<PathBuf> {
    resolve(root, path, Strict::Lenient)
}

/// Whether a path being resolved may pass through steps that do not exist yet.
#[derive(Clone, Copy, PartialEq)]
enum Strict {
    /// Missing steps are plain names.
    Lenient,
    /// Every step but the last must exist (a folder, or a link to one).
    Existing,
}

fn resolve(root: &Path, path: &Path, strict: Strict) -> Option<PathBuf> {
    use std::collections::VecDeque;
    let mut queue: VecDeque<std::ffi::OsString> = steps(path)?.into();
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(part) = queue.pop_front() {
        if part == ".." {
            if !resolved.pop() {
                return None;
            }
            continue;
        }
        resolved.push(&part);
        let here = root.join(&resolved);
        let Ok(meta) = std::fs::symlink_metadata(&here) else {
            if strict == Strict::Existing && !queue.is_empty() {
                return None;
            }
            continue;
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return None;
        }
        let target = std::fs::read_link(&here).ok()?;
        resolved.pop();
        for part in steps(&target)?.into_iter().rev() {
            queue.push_front(part);
        }
    }
    Some(resolved)
}

/// A relative path's names and `..` steps, `.` left out; `None` for an absolute path.
fn steps(path: &Path) -> Option<Vec<std::ffi::OsString>> {
    use std::path::Component;
    let mut out = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(n) => out.push(n.to_owned()),
            Component::ParentDir => out.push("..".into()),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}
