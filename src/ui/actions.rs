//! What the views' actions do: commands to the worker, selection, the builder's requests.

use egui::{Key, Modifiers};

use super::builder::{self, Builder, BuilderAction};
use super::connection::ConnectionAction;
use super::detail::{DetailAction, DetailCache};
use super::dialogs::Purpose;
use super::toasts::ToastKind;
use super::{Command, Connection, SageDeskApp};

impl SageDeskApp {
    pub(super) fn handle_connection(&mut self, action: ConnectionAction) {
        match action {
            ConnectionAction::Connect(connection) => self.connect(connection),
            ConnectionAction::SetListInterval(seconds) => {
                self.state.list_interval_seconds = seconds;
                self.worker
                    .send(Command::SetListInterval(std::time::Duration::from_secs(
                        seconds,
                    )));
            }
        }
    }

    pub(super) fn select(&mut self, name: Option<String>) {
        if self.state.selected != name {
            self.state.selected = name.clone();
            self.data.clear_selection();
            self.detail = DetailCache::default();
            self.worker.send(Command::Select(name));
        }
    }

    pub(super) fn run_demo(&mut self) {
        if self.data.connection != Connection::Local {
            self.data.toasts.push(
                ToastKind::Info,
                "The demo job runs on this machine: switch the connection to Local first".into(),
            );
            return;
        }
        self.worker.send(Command::RunDemo {
            epochs: self.options.demo_epochs,
        });
    }

    /// Puts a request (a file read, the demo's) in the builder, where every problem shows
    /// under its field, and keeps it as the draft.
    pub(super) fn load_request(&mut self, value: serde_json::Value, notices: Vec<String>) {
        for notice in notices {
            self.data.toasts.push(ToastKind::Info, notice);
        }
        match &mut self.builder {
            Some(builder) => builder.set_value(value),
            None => self.builder = Some(Builder::new(value)),
        }
        if let Some(b) = &self.builder {
            self.worker.send(Command::SaveDraft(
                serde_json::to_string_pretty(b.value()).expect("JSON serializes"),
            ));
        }
    }

    pub(super) fn handle_builder(&mut self, ctx: &egui::Context, actions: Vec<BuilderAction>) {
        for action in actions {
            match action {
                BuilderAction::Send(command) => {
                    if let Command::SaveTemplate { name, .. } = &command {
                        self.data
                            .toasts
                            .push(ToastKind::Success, format!("Saved template {name}"));
                    }
                    self.worker.send(command);
                }
                BuilderAction::LoadBuiltin(id) => match id {
                    "pytorch" => self.load_request(builder::templates::pytorch(), Vec::new()),
                    "xgboost" => self.load_request(builder::templates::xgboost(), Vec::new()),
                    _ => self.worker.send(Command::LoadDemoRequest {
                        epochs: self.options.demo_epochs,
                    }),
                },
                BuilderAction::Import => self.open_dialog(ctx, Purpose::Import),
                BuilderAction::Export(json) => self.open_dialog(ctx, Purpose::Export(json)),
                BuilderAction::Browse(pointer) => self.open_dialog(ctx, Purpose::Browse(pointer)),
                BuilderAction::Close => self.builder = None,
            }
        }
    }

    /// Closes the builder once its job was created, and shows the service's refusal otherwise.
    pub(super) fn follow_submission(&mut self) {
        let Some(builder) = &mut self.builder else {
            return;
        };
        let Some(pending) = builder.pending.clone() else {
            return;
        };
        if self.data.submitted.as_deref() == Some(pending.as_str()) {
            self.builder = None;
            self.data.draft = None;
            self.worker.send(Command::ClearDraft);
            self.select(Some(pending));
        } else if let Some((name, message)) = &self.data.submit_failed
            && *name == pending
        {
            builder.submit_error = Some(message.clone());
            builder.pending = None;
            self.data.submit_failed = None;
        }
    }

    pub(super) fn handle_detail(&mut self, ctx: &egui::Context, action: DetailAction) {
        match action {
            DetailAction::ConfirmStop(name) => self.confirm_stop = Some(name),
            DetailAction::ListArchive(uri) => {
                if self.requested_archives.insert(uri.clone()) {
                    self.worker.send(Command::ListArchive(uri));
                }
            }
            DetailAction::SaveAs(uri) => self.open_dialog(ctx, Purpose::Save(uri)),
            DetailAction::Clone(request) => self.clone_job(*request),
            DetailAction::RunLocally(name) => self.worker.send(Command::RunLocally(name)),
            DetailAction::OpenFolder(uri) => {
                let path = uri.strip_prefix("file://").unwrap_or(&uri);
                let folder = std::path::Path::new(path)
                    .parent()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default();
                self.worker.send(Command::OpenPath(folder));
            }
        }
    }

    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) -> bool {
        let typing = ctx.egui_wants_keyboard_input();
        let (refresh, slash, stop) = ctx.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND, Key::R),
                !typing && i.consume_key(Modifiers::NONE, Key::Slash),
                (!typing && i.consume_key(Modifiers::NONE, Key::Delete))
                    || i.consume_key(Modifiers::COMMAND, Key::Period),
            )
        });
        if refresh {
            self.worker.send(Command::Refresh);
        }
        if stop
            && let Some(detail) = &self.data.detail
            && !detail.summary.status.is_terminal()
        {
            self.confirm_stop = Some(detail.summary.name.clone());
        }
        slash
    }
}

/// `name` without the `-YYYYMMDD-HHMMSS-mmm` that [`crate::request::unique_name`] appends.
pub(super) fn strip_stamp(name: &str) -> &str {
    if name.len() > 20 && name.is_char_boundary(name.len() - 20) {
        let (base, stamp) = name.split_at(name.len() - 20);
        let shape = stamp.bytes().enumerate().all(|(i, b)| match i {
            0 | 9 | 16 => b == b'-',
            _ => b.is_ascii_digit(),
        });
        if shape && !base.is_empty() {
            return base;
        }
    }
    name
}
