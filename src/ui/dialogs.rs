//! Dialogs: file pickers on their own threads, and the modals (stop, close, crash notice,
//! unreadable import).

use std::path::PathBuf;
use std::sync::mpsc;

use egui::{Key, RichText};

use super::chooser::{Chooser, ChooserKind, Outcome};
use super::toasts::ToastKind;
use super::{SageDeskApp, theme};
use crate::worker::{DeskCommand, TaskCommand};

/// What a file dialog was opened for.
pub(super) enum Purpose {
    /// Load a request into the builder.
    Import,
    /// Save an artifact.
    Save(String),
    /// Write a file: the suggested name and the contents.
    Export(String, Vec<u8>),
    /// Pick a local path for a builder field (JSON pointer).
    Browse(String),
}

/// A file dialog: the desktop's on its own thread, or the window's own chooser.
pub(super) struct Dialog {
    purpose: Purpose,
    via: Via,
}

/// Who shows a file dialog.
enum Via {
    /// The desktop's dialog, answering on this channel; opened at this time.
    Desktop(mpsc::Receiver<Option<PathBuf>>, std::time::Instant),
    /// The window's own chooser.
    Window(Chooser),
}

/// A desktop dialog that answers "nothing chosen" sooner than this did not show: no person
/// cancels that fast.
const NO_DESKTOP_DIALOG: std::time::Duration = std::time::Duration::from_millis(400);

impl Purpose {
    /// The name a file chooser suggests.
    fn file_name(&self) -> String {
        match self {
            Purpose::Save(uri) => uri.rsplit('/').next().unwrap_or("artifact").to_string(),
            Purpose::Export(name, _) => name.clone(),
            _ => String::new(),
        }
    }

    /// What is chosen, and the chooser's title.
    fn chooser(&self) -> (ChooserKind, String) {
        match self {
            Purpose::Import => (ChooserKind::Open(Some("json")), "Import a job file".into()),
            Purpose::Save(_) => (ChooserKind::Save, "Save the artifact as".into()),
            Purpose::Export(name, _) => (ChooserKind::Save, format!("Export {name} as")),
            Purpose::Browse(_) => (ChooserKind::Folder, "Choose a folder".into()),
        }
    }
}

impl SageDeskApp {
    /// Opens a file dialog: the desktop's on its own thread (the answer arrives in a later
    /// frame), or the window's own chooser where the desktop has none.
    pub(super) fn open_dialog(&mut self, ctx: &egui::Context, purpose: Purpose) {
        if !self.options.desktop_dialogs {
            return self.open_chooser(purpose);
        }
        let (tx, rx) = mpsc::channel();
        let ctx = ctx.clone();
        let file_name = purpose.file_name();
        let (kind, title) = purpose.chooser();
        let start = self.start_folder();
        std::thread::spawn(move || {
            let dialog = rfd::FileDialog::new().set_title(title).set_directory(start);
            let picked = match kind {
                ChooserKind::Open(_) => dialog.add_filter("Job JSON", &["json"]).pick_file(),
                ChooserKind::Save => dialog.set_file_name(&file_name).save_file(),
                ChooserKind::Folder => dialog.pick_folder(),
            };
            let _ = tx.send(picked);
            ctx.request_repaint();
        });
        self.dialog = Some(Dialog {
            purpose,
            via: Via::Desktop(rx, std::time::Instant::now()),
        });
    }

    /// Opens the window's own file chooser.
    fn open_chooser(&mut self, purpose: Purpose) {
        let (kind, title) = purpose.chooser();
        let chooser = Chooser::new(kind, title, &self.start_folder(), &purpose.file_name());
        self.dialog = Some(Dialog {
            purpose,
            via: Via::Window(chooser),
        });
    }

    /// Where file choosing starts: the folder chosen last, else the home folder.
    fn start_folder(&self) -> PathBuf {
        self.state
            .recent_folders
            .first()
            .cloned()
            .unwrap_or_else(crate::worker::home_folder)
    }

    /// Hands a folder's listing to the chooser that asked for it.
    pub(super) fn folder_listed(
        &mut self,
        folder: PathBuf,
        entries: Result<Vec<crate::worker::FolderEntry>, String>,
    ) {
        if let Some(Dialog {
            via: Via::Window(chooser),
            ..
        }) = &mut self.dialog
        {
            chooser.listed(folder, entries);
        }
    }

    /// Whether the window's own file chooser is open.
    pub(super) fn choosing(&self) -> bool {
        matches!(
            self.dialog,
            Some(Dialog {
                via: Via::Window(_),
                ..
            })
        )
    }

    /// The window's chooser, when open, for a frame.
    pub(super) fn show_chooser(&mut self, ctx: &egui::Context) {
        let Some(Dialog {
            via: Via::Window(chooser),
            ..
        }) = &mut self.dialog
        else {
            return;
        };
        let response = chooser.show(ctx, &self.state.recent_folders);
        if let Some(folder) = response.list {
            self.worker.send(DeskCommand::ListFolder(folder));
        }
        match response.outcome {
            Some(Outcome::Chosen(path)) => {
                let purpose = self.dialog.take().expect("checked").purpose;
                self.chosen(purpose, path);
            }
            Some(Outcome::Cancelled) => self.dialog = None,
            None => {}
        }
    }

    /// Takes the desktop dialog's answer; one that came too fast to be a person's opens the
    /// window's chooser instead, for the rest of the session.
    pub(super) fn poll_dialog(&mut self) {
        let Some(Dialog {
            via: Via::Desktop(picked, opened),
            ..
        }) = &self.dialog
        else {
            return;
        };
        let picked = match picked.try_recv() {
            Ok(picked) => picked,
            Err(mpsc::TryRecvError::Empty) => return,
            Err(mpsc::TryRecvError::Disconnected) => None,
        };
        let fast = opened.elapsed() < NO_DESKTOP_DIALOG;
        let purpose = self.dialog.take().expect("checked").purpose;
        match picked {
            Some(path) => self.chosen(purpose, path),
            None if fast => {
                self.options.desktop_dialogs = false;
                self.data.toasts.push(
                    ToastKind::Info,
                    "The desktop showed no file dialog (it needs a portal or zenity): \
                     SageDesk's own chooser opens instead"
                        .to_string(),
                );
                self.open_chooser(purpose);
            }
            None => {}
        }
    }

    /// Does what a dialog was opened for with the path chosen, and remembers its folder.
    fn chosen(&mut self, purpose: Purpose, path: PathBuf) {
        let folder = match purpose {
            Purpose::Browse(_) => path.clone(),
            _ => path.parent().map(PathBuf::from).unwrap_or_default(),
        };
        self.state.remember_folder(folder);
        match purpose {
            Purpose::Import => self.worker.send(DeskCommand::ReadRequestFile(path)),
            Purpose::Save(uri) => {
                if let Some(job) = &self.state.selection {
                    let source = job.source.clone();
                    self.worker.send(TaskCommand::Download {
                        source,
                        uri,
                        dest: path,
                    });
                }
            }
            Purpose::Export(_, contents) => {
                self.worker.send(DeskCommand::WriteFile { path, contents })
            }
            Purpose::Browse(pointer) => {
                if let Some(builder) = &mut self.builder
                    && let Some(json) =
                        builder.set_at(&pointer, format!("file://{}", path.display()))
                {
                    self.worker.send(DeskCommand::SaveDraft(json));
                }
            }
        }
    }

    /// Jobs created by this window that are still running.
    pub(super) fn running_here(&self) -> Vec<&str> {
        self.data.sources[0]
            .jobs
            .iter()
            .filter(|j| !j.status.is_terminal() && self.started_here.contains(&j.name))
            .map(|j| j.name.as_str())
            .collect()
    }

    /// Closing the window ends the supervision of jobs it supervises itself (where jobs have
    /// no supervisor process of their own): ask first.
    pub(super) fn guard_close(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested())
            && !self.closing
            && !self.running_here().is_empty()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        }
        if !self.confirm_close {
            return;
        }
        let running: Vec<String> = self.running_here().iter().map(|s| s.to_string()).collect();
        if running.is_empty() {
            self.confirm_close = false;
            return;
        }
        let mut choice = None;
        egui::Modal::new(egui::Id::unique("sagedesk-confirm-close")).show(ctx, |ui| {
            ui.heading("Jobs are still running");
            ui.label(format!(
                "This window supervises {}: closing it stops their processes and they will be \
                 marked Interrupted, keeping their logs and metrics.",
                running.join(", ")
            ));
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Keep the window open").clicked() {
                    choice = Some(false);
                }
                if ui.button("Close anyway").clicked() {
                    choice = Some(true);
                }
            });
        });
        match choice {
            Some(true) => {
                self.confirm_close = false;
                self.closing = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Some(false) => self.confirm_close = false,
            None => {}
        }
    }

    /// Says that the last run crashed and offers its report.
    pub(super) fn crash_notice(&mut self, ctx: &egui::Context) {
        let Some(report) = self.data.crash_report.clone() else {
            return;
        };
        let mut done = false;
        egui::Modal::new(egui::Id::unique("sagedesk-crash-notice")).show(ctx, |ui| {
            ui.set_max_width(560.0);
            ui.heading("SageDesk closed unexpectedly last time");
            ui.label(
                "A crash report was saved. It holds the error, where it happened and the \
                 last actions, and no request bodies; attach it when you report the problem. \
                 Jobs supervised by other SageDesk processes kept running.",
            );
            ui.add(
                egui::Label::new(RichText::new(report.display().to_string()).monospace())
                    .selectable(true),
            );
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Open report").clicked() {
                    self.worker.send(DeskCommand::OpenPath(report.clone()));
                    done = true;
                }
                if ui.button("Dismiss").clicked() {
                    done = true;
                }
            });
        });
        if done {
            self.worker.send(DeskCommand::AcknowledgeCrash(report));
            self.data.crash_report = None;
        }
    }

    pub(super) fn stop_dialog(&mut self, ctx: &egui::Context) {
        let Some(name) = self.confirm_stop.clone() else {
            return;
        };
        let answer = confirm(
            ctx,
            "sagedesk-confirm-stop",
            &format!("Stop {name}?"),
            "The job gets SIGTERM, then SIGKILL after the grace period. A script that saves its model on SIGTERM keeps it.",
            "Stop job",
        );
        if answer == Some(true) {
            self.worker.send(TaskCommand::Stop(name));
        }
        if answer.is_some() {
            self.confirm_stop = None;
        }
    }

    pub(super) fn stop_tuning_dialog(&mut self, ctx: &egui::Context) {
        let Some((source, name)) = self.confirm_stop_tuning.clone() else {
            return;
        };
        let answer = confirm(
            ctx,
            "sagedesk-confirm-stop-tuning",
            &format!("Stop tuning job {name}?"),
            "No more training jobs start, and the running ones are stopped. The finished ones and the best so far are kept.",
            "Stop tuning job",
        );
        if answer == Some(true) {
            self.worker.send(TaskCommand::StopTuning { source, name });
        }
        if answer.is_some() {
            self.confirm_stop_tuning = None;
        }
    }

    /// Copies `clip`, or asks first when it holds secrets in clear.
    pub(super) fn copy(&mut self, ctx: &egui::Context, clip: super::Clip) {
        if clip.secrets.is_empty() {
            ctx.copy_text(clip.text);
            self.data
                .toasts
                .push(ToastKind::Info, format!("{} copied", clip.what));
        } else {
            self.confirm_copy = Some(clip);
        }
    }

    /// Says which secrets a copy would hold in clear, and copies only if told to.
    pub(super) fn copy_dialog(&mut self, ctx: &egui::Context) {
        let Some(clip) = &self.confirm_copy else {
            return;
        };
        let mut close = false;
        let response = egui::Modal::new(egui::Id::unique("sagedesk-confirm-copy")).show(ctx, |ui| {
            ui.set_max_width(520.0);
            ui.heading(format!("Copy {} with its secrets?", clip.what));
            ui.label(format!(
                "It holds {} in clear, as the service needs them to run the job: {}.                  Anything you paste it into can read them.",
                if clip.secrets.len() == 1 {
                    "a secret value".to_string()
                } else {
                    format!("{} secret values", clip.secrets.len())
                },
                clip.secrets.join(", ")
            ));
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button(RichText::new("Copy with secrets").strong()).clicked() {
                    ctx.copy_text(clip.text.clone());
                    close = true;
                }
                if ui.button("Cancel").clicked() {
                    close = true;
                }
            });
        });
        if close || response.should_close() {
            self.confirm_copy = None;
        }
    }

    pub(super) fn import_dialog(&mut self, ctx: &egui::Context) {
        let Some(message) = &self.import_error else {
            return;
        };
        let mut open = true;
        egui::Window::new("Cannot read the job file")
            .open(&mut open)
            .collapsible(false)
            .default_width(640.0)
            .show(ctx, |ui| {
                theme::error_frame().show(ui, |ui| {
                    ui.add(egui::Label::new(RichText::new(message).monospace()).selectable(true));
                });
            });
        if !open {
            self.import_error = None;
        }
    }
}

/// A modal question: `heading`, `text`, then `action` (or Enter) and Cancel. `Some(true)`
/// once confirmed, `Some(false)` once cancelled or closed, `None` while it is asked.
fn confirm(ctx: &egui::Context, id: &str, heading: &str, text: &str, action: &str) -> Option<bool> {
    let mut answer = None;
    let response = egui::Modal::new(egui::Id::unique(id)).show(ctx, |ui| {
        ui.heading(heading);
        ui.label(text);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            let confirmed = ui.button(RichText::new(action).strong());
            if confirmed.clicked() || ui.input(|i| i.key_pressed(Key::Enter)) {
                answer = Some(true);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(false);
            }
        });
    });
    answer.or(response.should_close().then_some(false))
}
