//! The command palette (Ctrl+K or Ctrl+Shift+P): every action of the window by name,
//! fuzzy-searched, with its shortcut and where its button is; Enter runs the chosen one.
//! The Keyboard window lists every shortcut of the window from the same tables.

use egui::{Key, Modifiers, RichText};

use super::state::Tab;

/// An action of the window; each is also a button or a menu entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open the builder.
    NewJob,
    /// Run the demo job.
    RunDemo,
    /// Open a request file in the builder.
    Import,
    /// Poll every source now.
    Refresh,
    /// Open the connections window (add or switch an AWS connection).
    Connections,
    /// Compare the marked jobs.
    Compare,
    /// Stop the selected job.
    Stop,
    /// Open the builder on a copy of the selected job's request.
    Clone,
    /// Copy the selected job's request JSON.
    CopyRequest,
    /// Open the selected AWS job's page in the console.
    OpenConsole,
    /// Open the selected AWS job's log streams in CloudWatch Logs.
    OpenLogs,
    /// Open the selected AWS job's metrics in CloudWatch.
    OpenMetrics,
    /// Copy the link to the selected AWS job's console page.
    CopyConsoleLink,
    /// Show a tab of the selected job.
    Tab(Tab),
    /// Logs: wrap long lines.
    ToggleWrap,
    /// Logs: show timestamps.
    ToggleTimestamps,
    /// Logs: keep the newest line in view.
    ToggleFollow,
    /// The list's cost column.
    ToggleCost,
    /// Focus the list's search.
    Search,
    /// The Keyboard window.
    Keyboard,
}

/// A palette entry: the action, its name, its shortcut and the button or menu that has it.
pub struct Entry {
    /// The action.
    pub action: Action,
    /// What the palette shows and matches.
    pub label: &'static str,
    /// Its shortcut, if it has one.
    pub shortcut: Option<&'static str>,
    /// Where its button or menu entry is.
    pub place: &'static str,
}

const fn entry(
    action: Action,
    label: &'static str,
    shortcut: Option<&'static str>,
    place: &'static str,
) -> Entry {
    Entry {
        action,
        label,
        shortcut,
        place,
    }
}

/// Every action, in the order the palette lists them before a search.
pub const ENTRIES: &[Entry] = &[
    entry(Action::NewJob, "New job", Some("Ctrl+N"), "top bar"),
    entry(Action::RunDemo, "Run demo job", None, "top bar"),
    entry(
        Action::Import,
        "Import job JSON…",
        Some("Ctrl+O"),
        "top bar",
    ),
    entry(Action::Refresh, "Refresh", Some("Ctrl+R"), "top bar"),
    entry(
        Action::Connections,
        "Connect or switch AWS connection…",
        None,
        "top bar, right",
    ),
    entry(Action::Compare, "Compare marked jobs", None, "job list"),
    entry(
        Action::Stop,
        "Stop selected job",
        Some("Del / Ctrl+."),
        "job header",
    ),
    entry(
        Action::Clone,
        "Clone selected job into the builder",
        None,
        "job header",
    ),
    entry(Action::CopyRequest, "Copy request JSON", None, "job header"),
    entry(
        Action::OpenConsole,
        "Open in AWS console",
        None,
        "job header, AWS console",
    ),
    entry(
        Action::OpenLogs,
        "Open logs in CloudWatch",
        None,
        "job header, AWS console",
    ),
    entry(
        Action::OpenMetrics,
        "Open metrics in CloudWatch",
        None,
        "job header, AWS console",
    ),
    entry(
        Action::CopyConsoleLink,
        "Copy AWS console link",
        None,
        "job header, AWS console",
    ),
    entry(
        Action::Tab(Tab::Overview),
        "Open tab: Overview",
        Some("Alt+1"),
        "job tabs",
    ),
    entry(
        Action::Tab(Tab::Logs),
        "Open tab: Logs",
        Some("Alt+2"),
        "job tabs",
    ),
    entry(
        Action::Tab(Tab::Metrics),
        "Open tab: Metrics",
        Some("Alt+3"),
        "job tabs",
    ),
    entry(
        Action::Tab(Tab::Artifacts),
        "Open tab: Artifacts",
        Some("Alt+4"),
        "job tabs",
    ),
    entry(Action::ToggleWrap, "Toggle log wrap", None, "Logs toolbar"),
    entry(
        Action::ToggleTimestamps,
        "Toggle log timestamps",
        None,
        "Logs toolbar",
    ),
    entry(
        Action::ToggleFollow,
        "Toggle log follow",
        None,
        "Logs toolbar",
    ),
    entry(Action::ToggleCost, "Toggle cost column", None, "job list"),
    entry(Action::Search, "Search jobs", Some("/"), "job list"),
    entry(
        Action::Keyboard,
        "Keyboard shortcuts",
        Some("F1"),
        "Help menu",
    ),
];

/// Shortcuts that are not palette actions, as the Keyboard window lists them.
pub const MORE_SHORTCUTS: &[(&str, &str)] = &[
    ("Ctrl+K, Ctrl+Shift+P", "Command palette"),
    ("Ctrl+click a job", "Mark or unmark it for comparison"),
    (
        "Shift+click a job",
        "Mark every job from the selected one to it",
    ),
    (
        "Esc",
        "Close the builder (the draft is kept), a dialog or the palette",
    ),
    ("Ctrl+S", "Builder: save as template"),
    ("Enter / Shift+Enter", "Logs, Find: next / previous match"),
    ("PageUp / PageDown", "Logs: a screen up or down"),
    ("Home / End", "Logs: first or last line (End follows again)"),
    ("⬆ / ⬇, Enter", "Palette: choose and run"),
];

/// How well `query` matches `label`, higher is better: its characters in order, ignoring
/// case, with runs and word starts scoring more; `None` when they are not all there.
pub fn score(query: &str, label: &str) -> Option<i32> {
    let label: Vec<char> = label.chars().flat_map(char::to_lowercase).collect();
    let mut total = 0;
    let mut at = 0;
    let mut last: Option<usize> = None;
    for q in query.chars().flat_map(char::to_lowercase) {
        if q.is_whitespace() {
            continue;
        }
        let found = (at..label.len()).find(|&i| label[i] == q)?;
        let word_start = found == 0 || !label[found - 1].is_alphanumeric();
        total += match last {
            Some(prev) if prev + 1 == found => 8,
            _ if word_start => 6,
            _ => 1,
        };
        total -= (found - at).min(8) as i32 / 4;
        last = Some(found);
        at = found + 1;
    }
    Some(total)
}

/// The palette's state while open.
#[derive(Default)]
pub struct Palette {
    /// Whether it shows.
    pub open: bool,
    query: String,
    chosen: usize,
    focus: bool,
}

impl Palette {
    /// Opens it empty, the search focused.
    pub fn open(&mut self) {
        *self = Palette {
            open: true,
            focus: true,
            ..Palette::default()
        };
    }

    /// Draws it over the window; the action to run, when one was chosen. `available` says
    /// which actions apply now.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        available: impl Fn(Action) -> bool,
    ) -> Option<Action> {
        if !self.open {
            return None;
        }
        let mut matches: Vec<(i32, usize)> = ENTRIES
            .iter()
            .enumerate()
            .filter(|(_, e)| available(e.action))
            .filter_map(|(i, e)| score(&self.query, e.label).map(|s| (s, i)))
            .collect();
        matches.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let (up, down, enter) = ctx.input_mut(|i| {
            (
                i.consume_key(Modifiers::NONE, Key::ArrowUp),
                i.consume_key(Modifiers::NONE, Key::ArrowDown),
                i.consume_key(Modifiers::NONE, Key::Enter),
            )
        });
        if down {
            self.chosen += 1;
        }
        if up {
            self.chosen = self.chosen.saturating_sub(1);
        }
        self.chosen = self.chosen.min(matches.len().saturating_sub(1));
        let mut run = enter
            .then(|| matches.get(self.chosen))
            .flatten()
            .map(|m| m.1);
        let response = egui::Modal::new(egui::Id::unique("sagedesk-palette")).show(ctx, |ui| {
            ui.set_width(520.0);
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.query)
                    .hint_text("Type a command…")
                    .desired_width(f32::INFINITY),
            );
            if std::mem::take(&mut self.focus) {
                field.request_focus();
            }
            if field.changed() {
                self.chosen = 0;
            }
            ui.separator();
            // A fixed height: the palette stays put while the list shortens.
            egui::ScrollArea::vertical()
                .max_height(LIST_HEIGHT)
                .show(ui, |ui| {
                    ui.set_min_height(LIST_HEIGHT);
                    if matches.is_empty() {
                        ui.label(RichText::new("No command matches").weak());
                    }
                    for (row, &(_, index)) in matches.iter().enumerate() {
                        let entry = &ENTRIES[index];
                        let chosen = row == self.chosen;
                        let response = ui
                            .horizontal(|ui| {
                                let response = ui.selectable_label(chosen, entry.label);
                                ui.with_layout(
                                    egui::Layout::right_to_left(egui::Align::Center),
                                    |ui| {
                                        if let Some(keys) = entry.shortcut {
                                            ui.label(RichText::new(keys).monospace().weak());
                                        }
                                    },
                                );
                                response
                            })
                            .inner
                            .on_hover_text(format!("Also in the {}", entry.place));
                        if chosen && (up || down) {
                            response.scroll_to_me(None);
                        }
                        if response.clicked() {
                            run = Some(index);
                        }
                    }
                });
        });
        if run.is_some() || response.should_close() {
            self.open = false;
        }
        run.map(|i| ENTRIES[i].action)
    }
}

/// The height of the palette's list.
const LIST_HEIGHT: f32 = 360.0;

/// The Keyboard window: every shortcut of the window.
pub fn keyboard_window(ctx: &egui::Context, open: &mut bool) {
    if *open && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape)) {
        *open = false;
        return;
    }
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .collapsible(false)
        .resizable(false)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts")
                .num_columns(2)
                .striped(true)
                .spacing([24.0, 4.0])
                .show(ui, |ui| {
                    let shortcuts = ENTRIES
                        .iter()
                        .filter_map(|e| e.shortcut.map(|keys| (keys, e.label)))
                        .chain(MORE_SHORTCUTS.iter().copied());
                    for (keys, what) in shortcuts {
                        ui.label(RichText::new(keys).monospace());
                        ui.label(what);
                        ui.end_row();
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_matches_prefer_runs_and_word_starts() {
        assert!(score("stp", "Stop selected job").is_some());
        assert!(score("xyz", "Stop selected job").is_none());
        assert!(score("", "Anything").is_some());
        let wrap = score("wrap", "Toggle log wrap").unwrap();
        let scattered = score("wrap", "Work on a request plan").unwrap_or(i32::MIN);
        assert!(wrap > scattered, "{wrap} {scattered}");
        assert!(
            score("LOGS", "Open logs in CloudWatch").is_some(),
            "case ignored"
        );
    }

    #[test]
    fn every_action_is_listed_once() {
        for (i, a) in ENTRIES.iter().enumerate() {
            assert!(
                ENTRIES[i + 1..].iter().all(|b| b.action != a.action),
                "{} twice",
                a.label
            );
        }
    }
}
