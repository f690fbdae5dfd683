//! The Connections window: the sources of jobs (Local, and any AWS connections), each with
//! its status (calls made, last error, backoff) and its polling switch; a form to add an
//! AWS profile, region and endpoint; the list interval.

use egui::RichText;

use super::data::{Data, SourceData};
use super::theme;
use crate::job::AwsConnection;
use crate::job::Connection;
use crate::job::{REGIONS, endpoint_from_env};

/// What the user asked for in the window.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionAction {
    /// Add this connection as a source.
    Connect(Connection),
    /// Remove this source (its jobs leave the list; nothing is deleted).
    Remove(Connection),
    /// Forget a connection that could not be added.
    Forget(Connection),
    /// Turn a source's list polling on or off.
    SetPolling(Connection, bool),
    /// Space AWS list calls this many seconds apart.
    SetListInterval(u64),
    /// Read a running AWS job's log this many seconds apart.
    SetLogInterval(u64),
}

/// The form's edits, kept while the window is closed.
#[derive(Debug, Clone, Default)]
pub struct ConnectionForm {
    /// Whether the window is open.
    pub open: bool,
    profile: String,
    region: String,
    endpoint: String,
    interval: u64,
    log_interval: u64,
    profiles: Vec<String>,
}

impl ConnectionForm {
    /// Opens the window; the profile names come with [`Self::set_profiles`] once the
    /// worker has read them.
    pub fn open(&mut self, interval: u64, log_interval: u64) {
        self.interval = interval;
        self.log_interval = log_interval;
        if self.endpoint.is_empty() {
            self.endpoint = endpoint_from_env().unwrap_or_default();
        }
        self.open = true;
    }

    /// The profile names of the shared config files.
    pub fn set_profiles(&mut self, profiles: Vec<String>) {
        self.profiles = profiles;
    }

    fn connection(&self) -> Connection {
        Connection::Aws(
            AwsConnection {
                profile: Some(self.profile.clone()),
                region: Some(self.region.clone()),
                endpoint_url: Some(self.endpoint.clone()),
            }
            .normalized(),
        )
    }

    /// Draws the window when open.
    pub fn show(&mut self, ctx: &egui::Context, data: &Data) -> Option<ConnectionAction> {
        if !self.open {
            return None;
        }
        let mut action = None;
        let mut open = self.open;
        egui::Window::new("Connections")
            .anchor(egui::Align2::RIGHT_TOP, [-8.0, 36.0])
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(480.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(ctx.content_rect().height() * 0.5)
                    .show(ui, |ui| {
                        let failed =
                            |s: &&SourceData| data.failed.iter().any(|(c, _)| *c == s.connection);
                        for source in data.sources.iter().filter(|s| !failed(s)) {
                            if let Some(a) = source_panel(ui, source) {
                                action = Some(a);
                            }
                        }
                    });
                for (connection, message) in &data.failed {
                    if let Some(a) = failed_panel(ui, connection, message) {
                        action = Some(a);
                    }
                }
                ui.separator();
                ui.label(RichText::new("Add an AWS connection").strong());
                if let Some(a) = self.form(ui, data) {
                    action = Some(a);
                }
            });
        self.open = open;
        action
    }

    fn form(&mut self, ui: &mut egui::Ui, data: &Data) -> Option<ConnectionAction> {
        let mut action = None;
        {
            egui::Grid::new("connection-grid")
                .num_columns(2)
                .spacing([12.0, 6.0])
                .show(ui, |ui| {
                    self.profile_row(ui);
                    self.region_row(ui);
                    let label = ui.label("Endpoint URL");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.endpoint)
                            .hint_text("AWS default (or AWS_ENDPOINT_URL)")
                            .desired_width(260.0),
                    )
                    .labelled_by(label.id)
                    .on_hover_text(
                        "Overrides every service's endpoint, e.g. an emulator; S3 then uses \
                         path-style addresses",
                    );
                    ui.end_row();
                    if self.interval_row(ui) {
                        action = Some(ConnectionAction::SetListInterval(self.interval));
                    }
                    if self.log_interval_row(ui) {
                        action = Some(ConnectionAction::SetLogInterval(self.log_interval));
                    }
                });
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let connecting = data.connecting.is_some();
            let button = ui.add_enabled(
                !connecting,
                egui::Button::new(RichText::new("Add connection").strong()),
            );
            if button.clicked() {
                action = Some(ConnectionAction::Connect(self.connection()));
            }
            if connecting {
                ui.spinner();
                ui.label("Connecting…");
            }
        });
        action
    }

    fn profile_row(&mut self, ui: &mut egui::Ui) {
        ui.label("Profile");
        let shown = if self.profile.is_empty() {
            "(environment / default)".to_string()
        } else {
            self.profile.clone()
        };
        egui::ComboBox::new("connection-profile", "")
            .selected_text(shown)
            .width(260.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.profile, String::new(), "(environment / default)");
                for name in &self.profiles {
                    ui.selectable_value(&mut self.profile, name.clone(), name);
                }
            });
        ui.end_row();
    }

    fn region_row(&mut self, ui: &mut egui::Ui) {
        let label = ui.label("Region");
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut self.region)
                    .hint_text("from the profile")
                    .desired_width(150.0),
            )
            .labelled_by(label.id);
            egui::ComboBox::new("connection-region", "")
                .selected_text("pick")
                .width(100.0)
                .show_ui(ui, |ui| {
                    for region in REGIONS {
                        ui.selectable_value(&mut self.region, region.to_string(), *region);
                    }
                });
        });
        ui.end_row();
    }

    /// The list interval; true when it changed.
    fn interval_row(&mut self, ui: &mut egui::Ui) -> bool {
        let label = ui.label("List every");
        let changed = ui
            .horizontal(|ui| {
                ui.add(
                    egui::DragValue::new(&mut self.interval)
                        .range(2..=600)
                        .suffix(" s"),
                )
                .labelled_by(label.id)
                .on_hover_text(
                    "One ListTrainingJobs call per interval, whatever the number of jobs; six \
                     times slower while the window is hidden",
                )
                .changed()
            })
            .inner;
        ui.end_row();
        changed
    }

    /// The selected running job's log interval; true when it changed.
    fn log_interval_row(&mut self, ui: &mut egui::Ui) -> bool {
        let label = ui.label("Read logs every");
        let changed = ui
            .add(
                egui::DragValue::new(&mut self.log_interval)
                    .range(1..=60)
                    .suffix(" s"),
            )
            .labelled_by(label.id)
            .on_hover_text(
                "While the selected AWS job runs, its log is read this often (GetLogEvents \
                 from the last token); metrics in the lines chart at once",
            )
            .changed();
        ui.end_row();
        changed
    }
}

/// One source's panel: its label, status and switches.
fn source_panel(ui: &mut egui::Ui, source: &SourceData) -> Option<ConnectionAction> {
    let mut action = None;
    let a = &source.activity;
    let connection = &source.connection;
    ui.horizontal(|ui| {
        let mark = if source.failing() {
            RichText::new("✖").color(theme::ERROR)
        } else if a.waiting_since.is_some() {
            RichText::new("…").color(theme::WARNING)
        } else {
            RichText::new("✔").color(theme::SUCCESS)
        };
        ui.label(mark);
        ui.label(RichText::new(connection.source_label()).strong());
        if connection.is_aws() {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("Remove")
                    .on_hover_text("Its jobs leave the list; nothing is deleted on AWS")
                    .clicked()
                {
                    action = Some(ConnectionAction::Remove(connection.clone()));
                }
                let mut polling = a.polling;
                if ui
                    .checkbox(&mut polling, "Poll")
                    .on_hover_text("List this connection's jobs every interval")
                    .changed()
                {
                    action = Some(ConnectionAction::SetPolling(connection.clone(), polling));
                }
            });
        }
    });
    if source.label != connection.source_label() {
        ui.label(RichText::new(&source.label).weak());
    }
    egui::Grid::new(("source-status", connection.source_label()))
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            if connection.is_aws() {
                ui.label("Calls made");
                ui.label(a.calls.to_string());
                ui.end_row();
            }
            ui.label("Failed polls");
            ui.label(a.errors.to_string());
            ui.end_row();
            if let Some(since) = a.waiting_since {
                ui.label("Waiting");
                ui.label(format!("for an answer since {}", clock(since)));
                ui.end_row();
            }
            ui.label("Next poll");
            ui.label(if a.waiting_since.is_some() {
                "after the answer".to_string()
            } else if !a.polling {
                "paused".to_string()
            } else if a.backing_off {
                format!("in {:.0} s (backing off)", a.next_poll.as_secs_f64())
            } else {
                format!("in {:.0} s", a.next_poll.as_secs_f64())
            });
            ui.end_row();
        });
    if let Some(error) = &a.last_error {
        ui.add(egui::Label::new(RichText::new(error).color(theme::ERROR).small()).wrap());
    }
    ui.add_space(6.0);
    action
}

/// A connection that could not be added: why, and Retry or Remove.
fn failed_panel(
    ui: &mut egui::Ui,
    connection: &Connection,
    message: &str,
) -> Option<ConnectionAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        ui.label(RichText::new("✖").color(theme::ERROR));
        ui.label(RichText::new(connection.source_label()).strong());
        ui.label(RichText::new("not connected").color(theme::ERROR));
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Remove")
                .on_hover_text("Forget this connection")
                .clicked()
            {
                action = Some(ConnectionAction::Forget(connection.clone()));
            }
            if ui.button("Retry").clicked() {
                action = Some(ConnectionAction::Connect(connection.clone()));
            }
        });
    });
    ui.add(egui::Label::new(RichText::new(message).color(theme::ERROR).small()).wrap());
    ui.add_space(6.0);
    action
}

/// The local time of day of `t`, as a clock shows it.
fn clock(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%H:%M:%S")
        .to_string()
}

/// `source: note` for each source `note` has something to say of.
fn notes(data: &Data, note: impl Fn(&SourceData) -> Option<String>) -> Vec<String> {
    data.sources
        .iter()
        .filter_map(|s| Some(format!("{}: {}", s.connection.source_label(), note(s)?)))
        .collect()
}

/// The top bar's summary: the sources, the calls made on AWS, and a mark when a source's
/// last poll failed. True when clicked.
pub fn summary(ui: &mut egui::Ui, data: &Data) -> bool {
    let mut clicked = false;
    let failing = notes(data, |s| {
        s.failing()
            .then(|| s.activity.last_error.clone().unwrap_or_default())
    });
    let waiting = notes(data, |s| {
        let since = s.activity.waiting_since?;
        Some(format!("no answer since {}", clock(since)))
    });
    for (notes, what, color) in [
        (failing, "backing off", theme::ERROR),
        (waiting, "waiting", theme::WARNING),
    ] {
        if notes.is_empty() {
            continue;
        }
        let mark = if color == theme::ERROR { "✖" } else { "…" };
        clicked |= ui
            .label(RichText::new(format!("{mark} {} {what}", notes.len())).color(color))
            .on_hover_text(notes.join("\n"))
            .clicked();
    }
    let calls: u64 = data.sources.iter().map(|s| s.activity.calls).sum();
    if data.sources.len() > 1 {
        ui.label(RichText::new(format!("{calls} calls")).weak());
    }
    let labels: Vec<String> = data
        .sources
        .iter()
        .map(|s| s.connection.source_label())
        .collect();
    clicked |= ui
        .button(RichText::new(format!("🖧 {}", labels.join(" + "))))
        .on_hover_text("Sources of jobs: add or remove AWS connections; see calls and errors")
        .clicked();
    clicked
}
