//! The path as typed: the folder and name it means, the entries it matches, what Tab
//! completes and what Enter does.

use std::path::{Path, PathBuf};

use super::{Chooser, ChooserKind, Outcome};
use crate::worker::FolderEntry;

/// What Enter does with the path as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Accept {
    /// Show this folder.
    Enter(PathBuf),
    /// Ask before replacing this file.
    Replace(PathBuf),
    /// Done.
    Choose(PathBuf),
    /// Nothing to do yet (the folder is being read).
    Wait,
    /// Say why not.
    Refuse(String),
}

impl Chooser {
    /// The folder the typed path is in, and the name typed after it.
    pub(super) fn parts(&self) -> (PathBuf, &str) {
        let (folder, name) = match self.text.rfind('/') {
            Some(i) => (&self.text[..=i], &self.text[i + 1..]),
            None => ("", self.text.as_str()),
        };
        let folder = if folder == "~/" || folder.starts_with("~/") {
            crate::worker::home_folder().join(&folder[2..])
        } else if folder.starts_with('/') {
            PathBuf::from(folder)
        } else {
            let base = self
                .listing
                .as_ref()
                .map_or_else(crate::worker::home_folder, |(f, _)| f.clone());
            base.join(folder)
        };
        (normalize(&folder), name)
    }

    /// The listing of `folder`, when it is the one held.
    pub(super) fn entries(&self, folder: &Path) -> Option<&Result<Vec<FolderEntry>, String>> {
        self.listing
            .as_ref()
            .filter(|(f, _)| f == folder)
            .map(|(_, e)| e)
    }

    /// The entries shown for the typed name: those it begins (case ignored), without
    /// hidden ones unless asked for or typed, and only what this chooser can take.
    pub(super) fn matches<'a>(
        &self,
        entries: &'a [FolderEntry],
        name: &str,
    ) -> Vec<&'a FolderEntry> {
        let lower = name.to_lowercase();
        entries
            .iter()
            .filter(|e| e.name.to_lowercase().starts_with(&lower))
            .filter(|e| self.show_hidden || name.starts_with('.') || !e.name.starts_with('.'))
            .filter(|e| match self.kind {
                ChooserKind::Folder => e.is_dir,
                ChooserKind::Open(Some(ext)) => {
                    e.is_dir || Path::new(&e.name).extension().is_some_and(|x| x == ext)
                }
                _ => true,
            })
            .collect()
    }

    /// Tab: the longest beginning the matches share; a single folder is entered.
    pub(super) fn complete(&mut self) {
        let (folder, name) = self.parts();
        let Some(Ok(entries)) = self.entries(&folder) else {
            return;
        };
        let matches = self.matches(entries, name);
        let Some(first) = matches.first() else {
            self.problem = Some(format!(
                "Nothing in {} begins with “{name}”",
                folder.display()
            ));
            return;
        };
        let completed = if let [only] = matches.as_slice() {
            if only.is_dir {
                format!("{}/", only.name)
            } else {
                only.name.clone()
            }
        } else {
            shared_start(matches.iter().map(|e| e.name.as_str()), &first.name)
        };
        if completed.chars().count() >= name.chars().count() {
            self.text = format!("{}{completed}", with_slash(&folder));
            self.highlight = None;
            self.focus = true;
        }
    }

    /// What Enter (or the main button) does: replace the file asked about; with a
    /// highlighted row, that entry; else the typed path.
    pub(super) fn accept(&self) -> Accept {
        if let Some(path) = &self.replace {
            return Accept::Choose(path.clone());
        }
        let (folder, name) = self.parts();
        let entries = match self.entries(&folder) {
            None => return Accept::Wait,
            Some(Err(e)) => return Accept::Refuse(format!("Cannot read {e}")),
            Some(Ok(entries)) => entries,
        };
        let picked = self
            .highlight
            .and_then(|i| self.matches(entries, name).get(i).copied())
            .or_else(|| entries.iter().find(|e| e.name == name));
        let kind = self.kind;
        match picked {
            Some(entry) if entry.is_dir => Accept::Enter(folder.join(&entry.name)),
            Some(entry) => match kind {
                ChooserKind::Open(_) => Accept::Choose(folder.join(&entry.name)),
                ChooserKind::Save => Accept::Replace(folder.join(&entry.name)),
                ChooserKind::Folder => Accept::Refuse(format!(
                    "{} is a file: choose a folder",
                    folder.join(&entry.name).display()
                )),
            },
            None if name.is_empty() => match kind {
                ChooserKind::Folder => Accept::Choose(folder),
                ChooserKind::Open(_) => Accept::Refuse("Pick a file, or type its name".into()),
                ChooserKind::Save => Accept::Refuse("Type a name for the file".into()),
            },
            None => match kind {
                ChooserKind::Save => Accept::Choose(folder.join(name)),
                ChooserKind::Open(_) => {
                    Accept::Refuse(format!("There is no file “{name}” in {}", folder.display()))
                }
                ChooserKind::Folder => Accept::Refuse(format!(
                    "There is no folder “{name}” in {}",
                    folder.display()
                )),
            },
        }
    }

    /// Acts on `accept`; the outcome when it ends the chooser.
    pub(super) fn act(&mut self, accept: Accept) -> Option<Outcome> {
        self.problem = None;
        match accept {
            Accept::Enter(folder) => self.go(&folder),
            Accept::Replace(path) => self.replace = Some(path),
            Accept::Choose(path) => return Some(Outcome::Chosen(path)),
            Accept::Wait => {}
            Accept::Refuse(why) => self.problem = Some(why),
        }
        None
    }

    /// Shows `folder`, keeping a save's file name.
    pub(super) fn go(&mut self, folder: &Path) {
        let name = match self.kind {
            ChooserKind::Save => self.parts().1.to_string(),
            _ => String::new(),
        };
        let name = if self.entries(&self.parts().0).is_some_and(|e| {
            e.as_ref()
                .is_ok_and(|e| e.iter().any(|e| e.is_dir && e.name == name))
        }) {
            String::new()
        } else {
            name
        };
        self.text = format!("{}{name}", with_slash(&normalize(folder)));
        self.highlight = None;
        self.replace = None;
        self.focus = true;
    }
}

/// `folder` with one `/` at its end.
pub(super) fn with_slash(folder: &Path) -> String {
    let text = folder.display().to_string();
    if text.ends_with('/') {
        text
    } else {
        format!("{text}/")
    }
}

/// `folder` without `.` and with `..` taken back, as typed paths mean them.
fn normalize(folder: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for part in folder.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(name) => out.push(name),
            _ => {}
        }
    }
    out
}

/// The longest beginning all `names` share (case ignored), spelled as `first` spells it.
fn shared_start<'a>(names: impl Iterator<Item = &'a str>, first: &str) -> String {
    let mut len = first.chars().count();
    for name in names {
        len = first
            .chars()
            .zip(name.chars())
            .take(len)
            .take_while(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
            .count();
    }
    first.chars().take(len).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::FolderEntry;

    fn entry(name: &str, is_dir: bool) -> FolderEntry {
        FolderEntry {
            name: name.into(),
            is_dir,
            size: 10,
        }
    }

    fn chooser(kind: ChooserKind, text: &str) -> Chooser {
        let mut chooser = Chooser::new(kind, "t", Path::new("/w"), "");
        chooser.listed(
            PathBuf::from("/w"),
            Ok(vec![
                entry("code", true),
                entry("configs", true),
                entry(".cache", true),
                entry("job-a.json", false),
                entry("job-b.json", false),
                entry("notes.txt", false),
            ]),
        );
        chooser.text = text.into();
        chooser
    }

    #[test]
    fn tab_completes_the_shared_beginning_then_enters_a_single_folder() {
        let mut c = chooser(ChooserKind::Open(Some("json")), "/w/j");
        c.complete();
        assert_eq!(c.text, "/w/job-");
        let mut c = chooser(ChooserKind::Open(Some("json")), "/w/CO");
        c.complete();
        assert_eq!(c.text, "/w/co", "spelled as the entries spell it");
        let mut c = chooser(ChooserKind::Folder, "/w/cod");
        c.complete();
        assert_eq!(c.text, "/w/code/");
        let mut c = chooser(ChooserKind::Open(None), "/w/x");
        c.complete();
        assert_eq!(c.text, "/w/x");
        assert!(c.problem.unwrap().contains("begins with “x”"));
    }

    #[test]
    fn each_kind_shows_what_it_can_take() {
        let names = |c: &Chooser| -> Vec<String> {
            let (folder, name) = c.parts();
            let Some(Ok(entries)) = c.entries(&folder) else {
                panic!("listed")
            };
            c.matches(entries, name)
                .iter()
                .map(|e| e.name.clone())
                .collect()
        };
        let open = chooser(ChooserKind::Open(Some("json")), "/w/");
        assert_eq!(
            names(&open),
            ["code", "configs", "job-a.json", "job-b.json"]
        );
        assert_eq!(
            names(&chooser(ChooserKind::Folder, "/w/")),
            ["code", "configs"]
        );
        assert_eq!(names(&chooser(ChooserKind::Folder, "/w/.")), [".cache"]);
    }

    #[test]
    fn enter_opens_folders_chooses_files_and_asks_before_replacing() {
        let c = chooser(ChooserKind::Open(Some("json")), "/w/code");
        assert_eq!(c.accept(), Accept::Enter("/w/code".into()));
        let c = chooser(ChooserKind::Open(Some("json")), "/w/job-a.json");
        assert_eq!(c.accept(), Accept::Choose("/w/job-a.json".into()));
        let c = chooser(ChooserKind::Open(None), "/w/missing.json");
        assert!(
            matches!(c.accept(), Accept::Refuse(why) if why.contains("no file “missing.json” in /w"))
        );
        let c = chooser(ChooserKind::Save, "/w/notes.txt");
        assert_eq!(c.accept(), Accept::Replace("/w/notes.txt".into()));
        let c = chooser(ChooserKind::Save, "/w/new.png");
        assert_eq!(c.accept(), Accept::Choose("/w/new.png".into()));
        let c = chooser(ChooserKind::Folder, "/w/");
        assert_eq!(c.accept(), Accept::Choose("/w".into()));
        let c = chooser(ChooserKind::Folder, "/w/notes.txt");
        assert!(matches!(c.accept(), Accept::Refuse(_)));
        let c = chooser(ChooserKind::Folder, "/elsewhere/");
        assert_eq!(c.accept(), Accept::Wait, "its folder is not read yet");
        let mut c = chooser(ChooserKind::Open(Some("json")), "/w/job");
        c.highlight = Some(1);
        assert_eq!(c.accept(), Accept::Choose("/w/job-b.json".into()));
    }

    #[test]
    fn typed_paths_are_read_as_a_shell_reads_them() {
        let c = chooser(ChooserKind::Folder, "/w/code/../configs/./x");
        assert_eq!(c.parts(), (PathBuf::from("/w/configs"), "x"));
        let c = chooser(ChooserKind::Folder, "code/");
        assert_eq!(
            c.parts().0,
            PathBuf::from("/w/code"),
            "relative to the folder shown"
        );
        let c = chooser(ChooserKind::Folder, "~/data/");
        assert_eq!(c.parts().0, crate::worker::home_folder().join("data"));
    }

    #[test]
    fn a_save_keeps_its_name_while_browsing() {
        let mut c = chooser(ChooserKind::Save, "/w/chart.png");
        c.go(Path::new("/w/code"));
        assert_eq!(c.text, "/w/code/chart.png");
        let mut c = chooser(ChooserKind::Save, "/w/code");
        c.act(c.accept());
        assert_eq!(
            c.text, "/w/code/",
            "a folder's name is not kept as a file name"
        );
    }
}
