//! The window's own file chooser, for desktops without a file dialog: a path field that
//! completes with Tab, the folder's entries below it, the home and recent folders beside.
//! The worker lists the folders; the chooser only asks.

mod typed;

use std::path::{Path, PathBuf};

use egui::{Key, Modifiers, RichText};

use super::theme;
use crate::worker::FolderEntry;
use typed::{Accept, with_slash};

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
            response.outcome = self.act(self.accept());
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
            Some(true) => response.outcome = self.act(self.accept()),
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
