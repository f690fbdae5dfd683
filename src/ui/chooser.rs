//! The window's own file chooser, for desktops without a file dialog: a path field that
//! completes with Tab, the folder's entries below it, the home and recent folders beside.
//! The worker lists the folders; the chooser only asks.

use std::path::{Path, PathBuf};

use egui::{Key, Modifiers, RichText};

use super::theme;
use crate::worker::FolderEntry;

/// What is being chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChooserKind {
    /// An existing file, of this extension when given.
    Open(Option<&'static str>),
    /// A file to write, new or replaced after asking.
    Save,
    /// An existing folder.
    Folder,
}

/// How a chooser ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// This path was chosen.
    Chosen(PathBuf),
    /// The user cancelled.
    Cancelled,
}

/// What a frame of the chooser asks of the window.
#[derive(Debug, Default)]
pub struct ChooserResponse {
    /// List this folder (the worker answers with `FolderListed`).
    pub list: Option<PathBuf>,
    /// The chooser ended.
    pub outcome: Option<Outcome>,
}

/// What Enter does with the path as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Accept {
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

/// The in-window file chooser.
pub struct Chooser {
    kind: ChooserKind,
    title: String,
    /// The path as typed.
    text: String,
    /// The latest listing: the folder and its entries or why not.
    listing: Option<(PathBuf, Result<Vec<FolderEntry>, String>)>,
    /// The folder asked for and not yet answered.
    asked: Option<PathBuf>,
    /// The highlighted row of the matches.
    highlight: Option<usize>,
    /// A file that exists, waiting for "Replace".
    replace: Option<PathBuf>,
    /// Why the last Enter did nothing.
    problem: Option<String>,
    show_hidden: bool,
    /// Give the field the focus and put the cursor at the end next frame.
    focus: bool,
}

impl Chooser {
    /// A chooser titled `title`, starting in `folder` with `name` typed (for a save).
    pub fn new(kind: ChooserKind, title: impl Into<String>, folder: &Path, name: &str) -> Self {
        Self {
            kind,
            title: title.into(),
            text: format!("{}{name}", with_slash(folder)),
            listing: None,
            asked: None,
            highlight: None,
            replace: None,
            problem: None,
            show_hidden: false,
            focus: true,
        }
    }

    /// Takes a folder's listing from the worker.
    pub fn listed(&mut self, folder: PathBuf, entries: Result<Vec<FolderEntry>, String>) {
        if self.asked.as_ref() == Some(&folder) {
            self.asked = None;
        }
        self.listing = Some((folder, entries));
    }

    /// The folder the typed path is in, and the name typed after it.
    fn parts(&self) -> (PathBuf, &str) {
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
    fn entries(&self, folder: &Path) -> Option<&Result<Vec<FolderEntry>, String>> {
        self.listing
            .as_ref()
            .filter(|(f, _)| f == folder)
            .map(|(_, e)| e)
    }

    /// The entries shown for the typed name: those it begins (case ignored), without
    /// hidden ones unless asked for or typed, and only what this chooser can take.
    fn matches<'a>(&self, entries: &'a [FolderEntry], name: &str) -> Vec<&'a FolderEntry> {
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
    fn complete(&mut self) {
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

    /// What Enter does: with a highlighted row, that entry; else the typed path.
    fn accept(&self) -> Accept {
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
    fn act(&mut self, accept: Accept) -> Option<Outcome> {
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
    fn go(&mut self, folder: &Path) {
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

    /// Draws the chooser over the window; `recent` are the folders chosen lately.
    pub fn show(&mut self, ctx: &egui::Context, recent: &[PathBuf]) -> ChooserResponse {
        let mut response = ChooserResponse::default();
        let (folder, _) = self.parts();
        if self.entries(&folder).is_none() && self.asked.as_ref() != Some(&folder) {
            self.asked = Some(folder.clone());
            response.list = Some(folder.clone());
        }
        let (up, down, enter, escape, tab) = ctx.input_mut(|i| {
            (
                i.consume_key(Modifiers::NONE, Key::ArrowUp),
                i.consume_key(Modifiers::NONE, Key::ArrowDown),
                i.consume_key(Modifiers::NONE, Key::Enter),
                i.consume_key(Modifiers::NONE, Key::Escape),
                i.consume_key(Modifiers::NONE, Key::Tab),
            )
        });
        if escape {
            if self.replace.take().is_none() {
                response.outcome = Some(Outcome::Cancelled);
            }
            return response;
        }
        if tab {
            self.complete();
        }
        let count = {
            let (folder, name) = self.parts();
            match self.entries(&folder) {
                Some(Ok(entries)) => self.matches(entries, name).len(),
                _ => 0,
            }
        };
        if down && count > 0 {
            self.highlight = Some(self.highlight.map_or(0, |h| (h + 1).min(count - 1)));
        }
        if up {
            self.highlight = self.highlight.and_then(|h| h.checked_sub(1));
        }
        if enter {
            let accept = match &self.replace {
                Some(path) => Accept::Choose(path.clone()),
                None => self.accept(),
            };
            response.outcome = self.act(accept);
        }
        let mut clicked = None;
        let mut button = None;
        let width = (ctx.content_rect().width() - 48.0).clamp(320.0, 760.0);
        let height = (ctx.content_rect().height() - 260.0).clamp(120.0, 360.0);
        egui::Modal::new(egui::Id::unique("sagedesk-file-chooser")).show(ctx, |ui| {
            ui.set_width(width);
            ui.heading(&self.title);
            let field = egui::TextEdit::singleline(&mut self.text)
                .id_salt("sagedesk-file-chooser-path")
                .event_filter(egui::EventFilter {
                    tab: true,
                    ..Default::default()
                })
                .desired_width(f32::INFINITY)
                .font(egui::TextStyle::Monospace)
                .show(ui);
            if field.response.changed() {
                self.highlight = None;
                self.replace = None;
                self.problem = None;
            }
            // The field keeps the keyboard unless another control took it.
            if self.focus || ui.memory(|m| m.focused().is_none()) {
                field.response.request_focus();
            }
            if self.focus {
                let end = egui::text::CCursor::new(self.text.chars().count());
                let mut state = field.state;
                state
                    .cursor
                    .set_char_range(Some(egui::text::CCursorRange::one(end)));
                state.store(ui.ctx(), field.response.id);
                self.focus = !field.response.has_focus();
            }
            ui.add_space(4.0);
            ui.horizontal_top(|ui| {
                ui.allocate_ui_with_layout(
                    egui::vec2(160.0_f32.min(width * 0.3), height),
                    egui::Layout::top_down(egui::Align::Min),
                    |ui| self.places(ui, recent, &mut clicked),
                );
                ui.add_space(8.0);
                ui.vertical(|ui| self.rows(ui, height, up || down, &mut clicked));
            });
            self.footer(ui, &mut button);
        });
        if let Some(accept) = clicked {
            response.outcome = self.act(accept);
        }
        match button {
            Some(true) => {
                let accept = match &self.replace {
                    Some(path) => Accept::Choose(path.clone()),
                    None => self.accept(),
                };
                response.outcome = self.act(accept);
            }
            Some(false) => response.outcome = Some(Outcome::Cancelled),
            None => {}
        }
        response
    }

    /// The home folder and the recent ones.
    fn places(&self, ui: &mut egui::Ui, recent: &[PathBuf], clicked: &mut Option<Accept>) {
        ui.label(RichText::new("Places").small().weak());
        let home = crate::worker::home_folder();
        if ui
            .selectable_label(false, "Home")
            .on_hover_text(home.display().to_string())
            .clicked()
        {
            *clicked = Some(Accept::Enter(home));
        }
        if !recent.is_empty() {
            ui.add_space(6.0);
            ui.label(RichText::new("Recent").small().weak());
        }
        for folder in recent {
            let name = folder.file_name().map_or_else(
                || folder.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let row = ui.add(egui::Button::selectable(false, name).truncate());
            if row.on_hover_text(folder.display().to_string()).clicked() {
                *clicked = Some(Accept::Enter(folder.clone()));
            }
        }
    }

    /// The folder's entries that match the typed name.
    fn rows(&self, ui: &mut egui::Ui, height: f32, moved: bool, clicked: &mut Option<Accept>) {
        let (folder, name) = self.parts();
        let parent = folder.parent().map(Path::to_path_buf);
        egui::ScrollArea::vertical()
            .id_salt("sagedesk-file-chooser-rows")
            .max_height(height)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                ui.set_min_height(height);
                if let Some(parent) = parent
                    && ui
                        .selectable_label(false, "../")
                        .on_hover_text("The folder above")
                        .clicked()
                {
                    *clicked = Some(Accept::Enter(parent));
                }
                let entries = match self.entries(&folder) {
                    None => {
                        ui.label(RichText::new(format!("Reading {}…", folder.display())).weak());
                        return;
                    }
                    Some(Err(e)) => {
                        ui.colored_label(theme::ERROR, format!("Cannot read {e}"));
                        return;
                    }
                    Some(Ok(entries)) => entries,
                };
                let matches = self.matches(entries, name);
                if matches.is_empty() {
                    ui.label(RichText::new(self.nothing_here(name)).weak());
                }
                for (i, entry) in matches.iter().enumerate() {
                    let highlighted = self.highlight == Some(i);
                    let label = if entry.is_dir {
                        format!("{}/", entry.name)
                    } else {
                        entry.name.clone()
                    };
                    let (row, _) = egui::Sides::new().shrink_left().truncate().show(
                        ui,
                        |ui| ui.add(egui::Button::selectable(highlighted, label).truncate()),
                        |ui| {
                            if !entry.is_dir {
                                ui.label(RichText::new(crate::job::bytes(entry.size)).weak());
                            }
                        },
                    );
                    if highlighted && moved {
                        row.scroll_to_me(None);
                    }
                    let path = folder.join(&entry.name);
                    if entry.is_dir && row.clicked() {
                        *clicked = Some(Accept::Enter(path));
                    } else if row.double_clicked() {
                        *clicked = Some(match self.kind {
                            ChooserKind::Save => Accept::Replace(path),
                            _ => Accept::Choose(path),
                        });
                    }
                }
            });
    }

    /// What the list says when nothing matches.
    fn nothing_here(&self, name: &str) -> String {
        let what = match self.kind {
            ChooserKind::Folder => "No folders here",
            ChooserKind::Open(Some("json")) => "No folders or JSON files here",
            _ => "Nothing here",
        };
        if name.is_empty() {
            what.to_string()
        } else {
            format!("{what} begin with “{name}”")
        }
    }

    /// The problem or the keys, then the buttons: `Some(true)` for the main one.
    fn footer(&mut self, ui: &mut egui::Ui, button: &mut Option<bool>) {
        ui.add_space(4.0);
        if let Some(path) = &self.replace {
            ui.colored_label(
                theme::WARNING,
                format!(
                    "{} exists. Replace it? (Enter replaces, Esc keeps it)",
                    path.display()
                ),
            );
        } else if let Some(problem) = &self.problem {
            ui.colored_label(theme::ERROR, problem);
        } else {
            ui.label(
                RichText::new(
                    "Tab completes · ⬆⬇ pick · Enter opens a folder or chooses · Esc cancels",
                )
                .small()
                .weak(),
            );
        }
        egui::Sides::new().show(
            ui,
            |ui| ui.checkbox(&mut self.show_hidden, "Hidden files"),
            |ui| {
                let main = match (self.kind, self.replace.is_some()) {
                    (_, true) => "Replace",
                    (ChooserKind::Open(_), _) => "Open",
                    (ChooserKind::Save, _) => "Save",
                    (ChooserKind::Folder, _) => "Choose folder",
                };
                if ui.button(RichText::new(main).strong()).clicked() {
                    *button = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    *button = Some(false);
                }
            },
        );
    }
}

/// `folder` with one `/` at its end.
fn with_slash(folder: &Path) -> String {
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
