//! The connection window: Local or an AWS profile, region and endpoint, the list interval,
//! and the status of the current connection (calls made, last error, backoff).

use egui::RichText;

use super::data::Data;
use super::theme;
use crate::backend::Connection;
use crate::backend::sdk::AwsConnection;
use crate::backend::sdk::{REGIONS, endpoint_from_env};

/// What the user asked for in the window.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionAction {
    /// Switch to this connection.
    Connect(Connection),
    /// Space AWS list calls this many seconds apart.
    SetListInterval(u64),
}

/// The form's edits, kept while the window is closed.
#[derive(Debug, Clone, Default)]
pub struct ConnectionForm {
    /// Whether the window is open.
    pub open: bool,
    aws: bool,
    profile: String,
    region: String,
    endpoint: String,
    interval: u64,
    profiles: Vec<String>,
}

impl ConnectionForm {
    /// Opens the window on `current`; the profile names come with [`Self::set_profiles`]
    /// once the worker has read them.
    pub fn open(&mut self, current: &Connection, interval: u64) {
        self.interval = interval;
        match current {
            Connection::Local => {
                self.aws = false;
                if self.endpoint.is_empty() {
                    self.endpoint = endpoint_from_env().unwrap_or_default();
                }
            }
            Connection::Aws(aws) => {
                self.aws = true;
                self.profile = aws.profile.clone().unwrap_or_default();
                self.region = aws.region.clone().unwrap_or_default();
                self.endpoint = aws.endpoint_url.clone().unwrap_or_default();
            }
        }
        self.open = true;
    }

    /// The profile names of the shared config files.
    pub fn set_profiles(&mut self, profiles: Vec<String>) {
        self.profiles = profiles;
    }

    fn connection(&self) -> Connection {
        if !self.aws {
            return Connection::Local;
        }
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
        egui::Window::new("Connection")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(460.0)
            .show(ctx, |ui| {
                action = self.form(ui, data);
                ui.separator();
                status(ui, data);
            });
        self.open = open;
        action
    }

    fn form(&mut self, ui: &mut egui::Ui, data: &Data) -> Option<ConnectionAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.aws, false, "Local")
                .on_hover_text("Jobs run on this machine; no account needed");
            ui.radio_value(&mut self.aws, true, "AWS")
                .on_hover_text("SageMaker, CloudWatch and S3 through a profile");
        });
        ui.add_enabled_ui(self.aws, |ui| {
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
                });
        });
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let connecting = data.connecting.is_some();
            let button = ui.add_enabled(
                !connecting,
                egui::Button::new(RichText::new("Connect").strong()),
            );
            if button.clicked() {
                action = Some(ConnectionAction::Connect(self.connection()));
            }
            if connecting {
                ui.spinner();
                ui.label("Connecting…");
            }
        });
        if let Some(message) = &data.connect_error {
            theme::error_frame().show(ui, |ui| {
                ui.add(egui::Label::new(RichText::new(message)).wrap());
            });
        }
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
}

/// The status panel: the connection in use, calls made and the last error.
fn status(ui: &mut egui::Ui, data: &Data) {
    let a = &data.activity;
    ui.label(RichText::new("Status").strong());
    egui::Grid::new("connection-status")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            ui.label("Connected to");
            ui.label(&data.label);
            ui.end_row();
            ui.label("Calls made");
            ui.label(a.calls.to_string());
            ui.end_row();
            ui.label("Failed polls");
            ui.label(a.errors.to_string());
            ui.end_row();
            ui.label("Next poll");
            ui.label(if a.backing_off {
                format!("in {:.0} s (backing off)", a.next_poll.as_secs_f64())
            } else {
                format!("in {:.0} s", a.next_poll.as_secs_f64())
            });
            ui.end_row();
        });
    if let Some(error) = &a.last_error {
        ui.label(RichText::new("Last error").strong());
        ui.add(egui::Label::new(RichText::new(error).color(theme::ERROR)).wrap());
    }
}

/// The top bar's summary: connection label, calls, and a mark when the last poll failed.
/// True when clicked.
pub fn summary(ui: &mut egui::Ui, data: &Data) -> bool {
    let mut clicked = false;
    if let Some(error) = &data.activity.last_error
        && data.activity.backing_off
    {
        clicked |= ui
            .label(RichText::new("✖ backing off").color(theme::ERROR))
            .on_hover_text(error)
            .clicked();
    }
    if matches!(data.connection, Connection::Aws(_)) {
        ui.label(RichText::new(format!("{} calls", data.activity.calls)).weak());
    }
    clicked |= ui
        .button(RichText::new(&data.label))
        .on_hover_text("Switch between Local and AWS profiles; see calls and errors")
        .clicked();
    clicked
}
