//! The job's code and input data put in place: the submit folder copied or its archive
//! unpacked into `code/`, and each channel's files copied into `input/data/<channel>/`.

use std::path::{Path, PathBuf};

use super::{HostLayout, LocalPlan};

/// Copies the files of each channel into every host's `input/data/<channel>`, splitting
/// them between hosts for `ShardedByS3Key`. The job gets its own copies (reflinks where the
/// file system shares blocks), never the user's files: a script that writes to its input
/// cannot change them. `progress(done, total)` is called in bytes as copying goes.
pub fn stage_channels(
    plan: &LocalPlan,
    layouts: &[HostLayout],
    progress: &mut dyn FnMut(u64, u64),
) -> std::io::Result<u64> {
    let mut copies = Vec::new();
    for channel in &plan.channels {
        let files = list_files(&channel.source)?;
        for layout in layouts {
            std::fs::create_dir_all(layout.channel(&channel.name))?;
        }
        for (i, (abs, rel)) in files.into_iter().enumerate() {
            let targets: Vec<&HostLayout> = if channel.sharded {
                vec![&layouts[i % layouts.len()]]
            } else {
                layouts.iter().collect()
            };
            for layout in targets {
                copies.push((abs.clone(), layout.channel(&channel.name).join(&rel)));
            }
        }
    }
    let mut total = 0;
    for (src, _) in &copies {
        total += std::fs::metadata(src)?.len();
    }
    let mut done = 0;
    progress(0, total);
    for (src, dest) in &copies {
        copy_file(src, dest, &mut |n| {
            done += n;
            progress(done, total.max(done));
        })?;
    }
    Ok(done)
}

/// Puts the submit folder (copied) or archive (unpacked) into `layout`'s `code/`.
pub fn stage_code(plan: &LocalPlan, layout: &HostLayout) -> std::io::Result<()> {
    if plan.submit_path.is_dir() {
        for (abs, rel) in list_files(&plan.submit_path)? {
            let dest = layout.code().join(rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&abs, &dest)?;
        }
    } else {
        crate::backend::archive::unpack_tar_gz(&plan.submit_path, &layout.code())?;
    }
    let entry = layout.code().join(&plan.program);
    if !entry.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "HyperParameters.{}: {:?} is not in {}",
                crate::request::PROGRAM,
                plan.program,
                plan.submit_path.display()
            ),
        ));
    }
    if !plan.program.ends_with(".py") && !plan.program.ends_with(".sh") {
        use std::os::unix::fs::PermissionsExt;
        let mut perms = std::fs::metadata(&entry)?.permissions();
        perms.set_mode(perms.mode() | 0o755);
        std::fs::set_permissions(&entry, perms)?;
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
