//! The job detail: a header and four tabs.

pub mod artifacts;
mod diagnosis;
pub(super) mod header;
pub mod logs;
pub mod metrics;
pub mod overview;

use egui::RichText;

use super::data::Data;
use super::state::{State, Tab};
use crate::job::JobRef;

/// What the detail asks the app to do.
pub enum DetailAction {
    /// Ask for confirmation, then stop the job.
    ConfirmStop(JobRef),
    /// List an archive's entries.
    ListArchive(String),
    /// Save an artifact: open the save dialog.
    SaveAs(String),
    /// Open the folder that holds a file.
    OpenFolder(String),
    /// Open the builder on a copy of this job's request, on its source.
    Clone(JobRef, Box<crate::request::TrainingJobRequest>),
    /// Run this AWS job on this machine, with these AWS credentials.
    RunLocally(JobRef, crate::job::JobCredentials),
    /// Open the builder on a copy of this local job's request for an AWS source.
    RunOnAws(JobRef, Box<crate::request::TrainingJobRequest>),
    /// Show another job (the origin or a copy of this one).
    Select(JobRef),
    /// The selected job's log rows on screen, or a search in it: asked of the worker
    /// unless held or asked already.
    Log(Vec<crate::worker::LogAsk>),
    /// Copy text (asking first when it holds secrets in clear).
    Copy(super::Clip),
    /// Open an address with the desktop's browser.
    OpenUrl(String),
    /// Open a file in the user's editor at a line.
    OpenInEditor(std::path::PathBuf, u32),
    /// Open a terminal in a local job's first host: a shell, or (`true`) its entry point
    /// again under pdb.
    OpenTerminal(String, bool),
    /// Rerun this local job on every save of its code folder.
    Watch(JobRef),
    /// Stop rerunning on save.
    Unwatch,
    /// Run this local job again under the debugger.
    Debug(JobRef),
    /// Submit this AWS job's request again, under a new name, on its source: its warm pool
    /// takes it when the configuration matches, as a copy's does.
    RunAgain(JobRef, Box<crate::request::TrainingJobRequest>),
}

/// The job's source, the job it was made from and the jobs made from it, each a link.
fn lineage(ui: &mut egui::Ui, data: &Data, job: &JobRef) -> Option<DetailAction> {
    let mut action = None;
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("on {}", job.source.source_label())).weak());
        let mut link = |ui: &mut egui::Ui, prefix: &str, other: &JobRef| {
            ui.label(RichText::new(prefix).weak());
            if ui
                .link(other.to_string())
                .on_hover_text("Show this job")
                .clicked()
            {
                action = Some(DetailAction::Select(other.clone()));
            }
        };
        if let Some(origin) = data.origin(job) {
            link(ui, "· cloned from", origin);
        }
        for copy in data.copies(job) {
            link(ui, "· cloned as", copy);
        }
    });
    action
}

/// Per-view caches that outlive a frame.
#[derive(Default)]
pub struct DetailCache {
    /// Filtered log lines.
    pub logs: logs::LogCache,
    /// The metric charts' points as drawn, by metric.
    pub charts: super::drawn::Drawn<String>,
}

/// Draws the selected job.
pub fn show(
    ui: &mut egui::Ui,
    data: &Data,
    state: &mut State,
    cache: &mut DetailCache,
) -> Option<DetailAction> {
    let (Some(detail), Some(job)) = (data.detail.as_ref(), state.selection.clone()) else {
        ui.centered_and_justified(|ui| {
            ui.label(RichText::new("Loading…").weak());
        });
        return None;
    };
    header::title(ui, detail);
    let mut action = lineage(ui, data, &job);
    action = action.or(header::buttons(ui, data, detail, &job));
    ui.horizontal(|ui| {
        for tab in Tab::ALL {
            let label = match tab {
                Tab::Logs => format!(
                    "{} ({})",
                    tab.label(),
                    crate::job::text::thousands(data.log.size.total)
                ),
                Tab::Metrics => format!("{} ({})", tab.label(), metrics::count(data)),
                Tab::Artifacts => format!("{} ({})", tab.label(), data.artifacts.len()),
                Tab::Overview => tab.label().to_string(),
            };
            ui.selectable_value(&mut state.tab, tab, label);
        }
    });
    ui.separator();
    let tab_action = match state.tab {
        Tab::Overview => overview::show(ui, data, &job),
        Tab::Logs => logs::show(ui, data, state, &mut cache.logs),
        Tab::Metrics => {
            metrics::show(ui, data, state, &mut cache.charts);
            None
        }
        Tab::Artifacts => artifacts::show(ui, data),
    };
    action.or(tab_action)
}
