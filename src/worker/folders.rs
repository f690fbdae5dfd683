//! The machine's folders as the window's own file chooser sees them, whether the desktop
//! has a file dialog of its own, and opening a path with the desktop's handler.

use std::path::{Path, PathBuf};

/// One entry of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    /// Its name in the folder.
    pub name: String,
    /// Whether it is a folder (a link to one counts).
    pub is_dir: bool,
    /// Its size in bytes (0 for folders).
    pub size: u64,
}

/// The entries of `folder`, folders first, each group by name regardless of case; or why
/// it cannot be read, naming it.
pub fn list(folder: &Path) -> Result<Vec<FolderEntry>, String> {
    let read = std::fs::read_dir(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let mut entries: Vec<FolderEntry> = read
        .filter_map(Result::ok)
        .map(|entry| {
            // Follow links: a link to a folder is browsed as one.
            let meta = std::fs::metadata(entry.path()).ok();
            FolderEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                is_dir: meta.as_ref().is_some_and(|m| m.is_dir()),
                size: meta.filter(|m| m.is_file()).map_or(0, |m| m.len()),
            }
        })
        .collect();
    entries.sort_by_cached_key(|e| (!e.is_dir, e.name.to_lowercase()));
    Ok(entries)
}

/// Whether the desktop can show its own file dialog: a session bus (where the portal
/// answers) or `zenity`. Without either the window's own chooser is used.
pub fn desktop_dialogs() -> bool {
    if std::env::var("SAGEDESK_FILE_CHOOSER").is_ok_and(|v| v == "window") {
        return false;
    }
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| Path::new(&dir).join("bus").exists());
    bus || crate::process::which(Path::new("zenity")).is_some()
}

/// The program that opens files, folders and addresses with the desktop's handler.
pub const OPENER: &str = "xdg-open";

/// Opens `target` with `opener`, waiting for its answer: `Err` says what is missing or
/// what the opener said, and what to do instead.
pub async fn open_with(opener: &str, target: &Path) -> Result<(), String> {
    let Some(program) = crate::process::which(Path::new(opener)) else {
        return Err(format!(
            "{opener} is not installed, so the desktop cannot be asked to open it. Install \
             it (Debian and Ubuntu: `apt install xdg-utils`), or open {} yourself",
            target.display()
        ));
    };
    let output = tokio::process::Command::new(program)
        .arg(target)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .await
        .map_err(|e| format!("running {opener}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let said = said
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(format!(
        "{opener} found no program for it ({}{}{said}). Set one with `xdg-mime default`, or \
         open {} yourself",
        output.status,
        if said.is_empty() { "" } else { ": " },
        target.display()
    ))
}

/// The folder a chooser starts in: the home folder, else the working folder.
pub fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_come_first_and_names_ignore_case() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.json"), "{}").unwrap();
        std::fs::write(dir.path().join("A.txt"), "abc").unwrap();
        std::fs::create_dir(dir.path().join("zeta")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("zeta"), dir.path().join("link")).unwrap();
        let entries = list(dir.path()).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["link", "zeta", "A.txt", "b.json"]);
        assert!(entries[0].is_dir, "a link to a folder is a folder");
        assert_eq!(entries[2].size, 3);
    }

    #[test]
    fn an_unreadable_folder_is_named() {
        let error = list(Path::new("/no/such/folder")).unwrap_err();
        assert!(error.starts_with("/no/such/folder: "), "{error}");
    }

    #[tokio::test]
    async fn a_missing_opener_says_what_to_install() {
        let error = open_with("sagedesk-no-such-opener", Path::new("/tmp"))
            .await
            .unwrap_err();
        assert!(
            error.contains("sagedesk-no-such-opener is not installed"),
            "{error}"
        );
        assert!(error.contains("open /tmp yourself"), "{error}");
    }

    #[tokio::test]
    async fn an_opener_that_fails_is_quoted() {
        let error = open_with("false", Path::new("/tmp")).await.unwrap_err();
        assert!(
            error.contains("false found no program for it (exit status: 1)"),
            "{error}"
        );
    }
}
