//! The window's keyboard shortcuts and the command palette's actions: which apply now and
//! what each does, through the same functions as the buttons that have them.

use egui::{Key, Modifiers};

use super::detail::DetailAction;
use super::dialogs::Purpose;
use super::palette::{Action, ENTRIES, keyboard_window};
use super::state::Tab;
use super::{Clip, SageDeskApp};
use crate::job::console::{ConsoleLinks, links};
use crate::worker::{DeskCommand, SourceCommand};

impl SageDeskApp {
    /// Handles the window's shortcuts; true when the list's search should take the focus.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) -> bool {
        if self.choosing() {
            return false;
        }
        let typing = ctx.egui_wants_keyboard_input();
        let mut chosen = Vec::new();
        let palette = ctx.input_mut(|i| {
            let mut press = |modifiers, key, action| {
                if i.consume_key(modifiers, key) {
                    chosen.push(action);
                }
            };
            press(Modifiers::COMMAND, Key::R, Action::Refresh);
            press(Modifiers::COMMAND, Key::N, Action::NewJob);
            press(Modifiers::COMMAND, Key::O, Action::Import);
            press(Modifiers::COMMAND, Key::Period, Action::Stop);
            press(Modifiers::NONE, Key::F1, Action::Keyboard);
            for (key, tab) in [Key::Num1, Key::Num2, Key::Num3, Key::Num4]
                .into_iter()
                .zip(Tab::ALL)
            {
                press(Modifiers::ALT, key, Action::Tab(tab));
            }
            if !typing {
                press(Modifiers::NONE, Key::Delete, Action::Stop);
                press(Modifiers::NONE, Key::Slash, Action::Search);
            }
            i.consume_key(Modifiers::COMMAND, Key::K)
                || i.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::P)
        });
        if palette {
            self.palette.open();
        }
        let mut focus_search = std::mem::take(&mut self.focus_search);
        for action in chosen {
            if action == Action::Search {
                focus_search = true;
            } else if self.available(action) {
                self.run_action(ctx, action);
            }
        }
        focus_search
    }

    /// The palette and the Keyboard window, over the rest.
    pub(super) fn palette_windows(&mut self, ctx: &egui::Context) {
        let available: Vec<Action> = ENTRIES
            .iter()
            .map(|e| e.action)
            .filter(|a| self.available(*a))
            .collect();
        if let Some(action) = self.palette.show(ctx, |a| available.contains(&a)) {
            self.run_action(ctx, action);
        }
        keyboard_window(ctx, &mut self.keyboard_open);
    }

    /// The selected AWS job's console links.
    fn console_links(&self) -> Option<ConsoleLinks> {
        let job = self
            .state
            .selection
            .as_ref()
            .filter(|j| j.source.is_aws())?;
        let detail = self
            .data
            .detail
            .as_ref()
            .filter(|d| d.summary.name == job.name)?;
        links(&detail.summary.arn)
    }

    /// Whether `action` applies now (the palette lists only those).
    pub(super) fn available(&self, action: Action) -> bool {
        let selected = self.state.selection.is_some() && self.data.detail.is_some();
        match action {
            Action::NewJob
            | Action::RunDemo
            | Action::Import
            | Action::Refresh
            | Action::Connections
            | Action::ToggleCost
            | Action::Search
            | Action::Keyboard => true,
            Action::Compare => self.state.compare.len() >= 2,
            Action::Stop => self
                .data
                .detail
                .as_ref()
                .is_some_and(|d| selected && !d.summary.status.is_terminal()),
            Action::Clone | Action::CopyRequest | Action::Tab(_) => selected,
            Action::OpenConsole
            | Action::OpenLogs
            | Action::OpenMetrics
            | Action::CopyConsoleLink => self.console_links().is_some(),
            Action::ToggleWrap | Action::ToggleTimestamps | Action::ToggleFollow => {
                selected && self.state.tab == Tab::Logs
            }
        }
    }

    /// Does what the button of `action` does.
    pub(super) fn run_action(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::NewJob => self.new_job(),
            Action::RunDemo => self.run_demo(),
            Action::Import => self.open_dialog(ctx, Purpose::Import),
            Action::Refresh => self.worker.send(SourceCommand::Refresh),
            Action::Connections => self.toggle_connections(),
            Action::Compare => self.compare(self.state.compare.clone()),
            Action::Stop => {
                if let Some(job) = self.state.selection.clone() {
                    self.handle_detail(ctx, DetailAction::ConfirmStop(job));
                }
            }
            // As the header's buttons: through the detail's own actions.
            Action::Clone | Action::CopyRequest => {
                if let (Some(job), Some(detail)) = (&self.state.selection, &self.data.detail) {
                    let request = &detail.request;
                    let chosen = match action {
                        Action::Clone => {
                            DetailAction::Clone(job.clone(), Box::new(request.clone()))
                        }
                        _ => DetailAction::Copy(Clip::request_json(request)),
                    };
                    self.handle_detail(ctx, chosen);
                }
            }
            Action::OpenConsole | Action::OpenLogs | Action::OpenMetrics => {
                if let Some(links) = self.console_links() {
                    let url = match action {
                        Action::OpenConsole => links.job,
                        Action::OpenLogs => links.logs,
                        _ => links.metrics,
                    };
                    self.handle_detail(ctx, DetailAction::OpenUrl(url));
                }
            }
            Action::CopyConsoleLink => {
                if let Some(links) = self.console_links() {
                    let clip = Clip::plain("Link to the job page", links.job);
                    self.handle_detail(ctx, DetailAction::Copy(clip));
                }
            }
            Action::Tab(tab) => {
                self.builder = None;
                self.state.comparing = false;
                self.choose_tab(tab);
            }
            Action::ToggleWrap => self.state.wrap_logs ^= true,
            Action::ToggleTimestamps => self.state.log_timestamps ^= true,
            Action::ToggleFollow => self.state.follow_logs ^= true,
            Action::ToggleCost => self.state.show_cost ^= true,
            Action::Search => self.focus_search = true,
            Action::Keyboard => self.keyboard_open = true,
        }
    }

    /// Opens the connections window, or closes it when open.
    pub(super) fn toggle_connections(&mut self) {
        if self.connection_form.open {
            self.connection_form.open = false;
        } else {
            self.connection_form.open(
                self.state.list_interval_seconds,
                self.state.log_interval_seconds,
            );
            self.worker.send(DeskCommand::LoadProfiles);
        }
    }
}
