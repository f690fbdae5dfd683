//! The job's code and input data put in place: the submit folder copied or its archive
//! unpacked into `code/`, and each channel's files copied into `input/data/<channel>/`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::volume_full;

use super::{HostLayout, LocalPlan};

/// Copies the files of each channel into every host's `input/data/<channel>`, splitting
/// them between hosts for `ShardedByS3Key`. The job gets its own copies (reflinks where the
/// file system shares blocks), never the user's files: a script that writes to its input
/// cannot change them. `progress(done, total)` is called in bytes as copying goes.
pub fn stage_channels(
    plan: &LocalPlan,
    layouts: &[HostLayout],
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> std::io::Result<u64> {
    let mut copies = Vec::new();
    // Pipe channels are streamed as the job reads them, not copied.
    for channel in plan.channels.iter().filter(|c| !c.pipe) {
        let files = list_files(&channel.source)?;
        // The hosts of the groups the channel is sent to.
        let receivers: Vec<usize> = (0..layouts.len())
            .filter(|i| {
                let group = &plan.group_of(&plan.hosts[*i]).name;
                channel.groups.is_empty() || channel.groups.contains(group)
            })
            .collect();
        for i in &receivers {
            std::fs::create_dir_all(layouts[*i].channel(&channel.name))?;
        }
        if receivers.is_empty() {
            continue;
        }
        for (i, (abs, rel)) in files.into_iter().enumerate() {
            let targets: Vec<usize> = if channel.sharded {
                vec![receivers[i % receivers.len()]]
            } else {
                receivers.clone()
            };
            for host in targets {
                let dest = layouts[host].channel(&channel.name).join(&rel);
                copies.push((abs.clone(), dest, host));
            }
        }
    }
    let mut total = 0;
    let mut per_host = vec![0u64; layouts.len()];
    for (src, _, host) in &copies {
        let len = std::fs::metadata(src)?.len();
        total += len;
        per_host[*host] += len;
        if per_host[*host] > plan.volume_bytes {
            return Err(volume_full(&src.display().to_string(), plan.volume_bytes));
        }
    }
    let mut done = 0;
    progress(0, total);
    for (src, dest, _) in &copies {
        if cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "stopped while copying the input data",
            ));
        }
        copy_file(src, dest, &mut |n| {
            done += n;
            progress(done, total.max(done));
        })?;
    }
    Ok(done)
}

/// Puts the submit folder (copied) or archive (unpacked) into the first host's `code/`,
/// within the job's volume (`plan.volume_bytes`), and shares it with the other hosts (hard
/// links: the code takes its space once, as the service's hosts each read the same
/// archive). The entry point must resolve inside `code/` through whatever links the code
/// holds; its mode is set on the file itself, never through a link.
pub fn stage_code(plan: &LocalPlan, layouts: &[HostLayout]) -> std::io::Result<()> {
    let Some((first, others)) = layouts.split_first() else {
        return Ok(());
    };
    let code = first.code();
    if plan.submit_path.is_dir() {
        let mut written = 0u64;
        for (abs, rel) in list_files(&plan.submit_path)? {
            written += std::fs::metadata(&abs)?.len();
            if written > plan.volume_bytes {
                let what = plan.submit_path.display().to_string();
                return Err(volume_full(&what, plan.volume_bytes));
            }
            copy_file(&abs, &code.join(rel), &mut |_| {})?;
        }
    } else {
        crate::backend::archive::unpack_tar_gz(&plan.submit_path, &code, plan.volume_bytes)?;
    }
    let not_there = || {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "HyperParameters.{}: {:?} is not in {}",
                crate::request::PROGRAM,
                plan.program,
                plan.submit_path.display()
            ),
        )
    };
    let entry = crate::backend::archive::resolve_beneath(&code, Path::new(&plan.program))
        .map(|rel| code.join(rel))
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "HyperParameters.{}: {:?} leads outside the code folder through a link",
                    crate::request::PROGRAM,
                    plan.program
                ),
            )
        })?;
    let meta = std::fs::symlink_metadata(&entry).map_err(|_| not_there())?;
    if !meta.is_file() {
        return Err(not_there());
    }
    // As the toolkit: whatever is not run by the interpreter is made executable.
    if super::EntryKind::of(&code, &plan.program) == super::EntryKind::Command {
        use std::os::unix::fs::PermissionsExt;
        let mut perms = meta.permissions();
        perms.set_mode(perms.mode() | 0o755);
        std::fs::set_permissions(&entry, perms)?;
    }
    for layout in others {
        share_tree(&code, &layout.code())?;
    }
    Ok(())
}

/// Gives `to` the tree of `from`: folders made, files hard-linked (copied where a link
/// cannot be made), symbolic links re-made as they are.
fn share_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut stack = vec![PathBuf::new()];
    std::fs::create_dir_all(to)?;
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(from.join(&rel))? {
            let entry = entry?;
            let rel = rel.join(entry.file_name());
            let (src, dest) = (from.join(&rel), to.join(&rel));
            let kind = entry.file_type()?;
            if kind.is_dir() {
                std::fs::create_dir_all(&dest)?;
                stack.push(rel);
            } else if kind.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dest)?;
            } else if kind.is_file() && std::fs::hard_link(&src, &dest).is_err() {
                copy_file(&src, &dest, &mut |_| {})?;
            }
        }
    }
    Ok(())
}

/// Every regular file under `source` (or `source` itself), with its path relative to it,
/// sorted by that path as S3 lists keys.
pub(crate) fn list_files(source: &Path) -> std::io::Result<Vec<(PathBuf, PathBuf)>> {
    let mut out = Vec::new();
    if source.is_file() {
        let name = source.file_name().map(PathBuf::from).unwrap_or_default();
        out.push((source.to_path_buf(), name));
        return Ok(out);
    }
    let mut stack = vec![source.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let meta = std::fs::metadata(&path)?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let rel = path.strip_prefix(source).unwrap_or(&path).to_path_buf();
                out.push((path, rel));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Bytes copied between progress reports.
const COPY_CHUNK: u64 = 8 << 20;

/// Copies `src` to a new file `dest`: a reflink where the file system supports one, else in
/// chunks (with `copy_file_range` where available), calling `copied` after each.
pub(crate) fn copy_file(
    src: &Path,
    dest: &Path,
    copied: &mut dyn FnMut(u64),
) -> std::io::Result<u64> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut input = std::fs::File::open(src)?;
    let len = input.metadata()?.len();
    let mut output = std::fs::File::create(dest)?;
    // SAFETY: FICLONE takes the source descriptor and touches no memory of ours.
    let cloned = unsafe { libc::ioctl(output.as_raw_fd(), libc::FICLONE, input.as_raw_fd()) } == 0;
    if cloned {
        copied(len);
        return Ok(len);
    }
    let mut done = 0;
    loop {
        let n = std::io::copy(&mut input.by_ref().take(COPY_CHUNK), &mut output)?;
        if n == 0 {
            return Ok(done);
        }
        done += n;
        copied(n);
    }
}
