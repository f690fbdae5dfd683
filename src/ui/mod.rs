//! The desktop window: an eframe app over a running worker. Views never call a backend and
//! never block; they read [`data::Data`] and return actions that become [`Command`]s. The
//! window imports the worker, the job views, the request model and the neutral
//! `backend::sdk` connection types, never `backend::local` or `backend::aws`.

pub mod builder;
pub mod chart;
pub mod compare;
pub mod connection;
pub mod cost;
pub mod data;
pub mod detail;
pub mod jobs;
pub mod log_pages;
pub mod palette;
pub mod state;
pub mod theme;
pub mod toasts;
pub mod tuning;

mod actions;
mod axis;
mod budget;
mod chooser;
mod clip;
mod commands;
mod dialogs;
mod drawn;
mod masked;
mod reduce;
mod shell;
mod subscription;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub use self::clip::Clip;

use self::builder::Builder;
use self::connection::ConnectionForm;
use self::data::Data;
use self::detail::DetailCache;
use self::dialogs::Dialog;
use self::jobs::ListCache;
use self::state::State;
use self::subscription::Subscription;
use crate::job::{Connection, JobRef};
use crate::request::strip_stamp;
use crate::request::validate::Target;
use crate::worker::{SourceCommand, Worker};

/// How long the window waits after the worker's first news before drawing them, so that
/// the rest of a burst is drawn in the same frame.
const NEWS_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// Options of the window beyond the persisted state.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Epochs of the demo job, if not the file's.
    pub demo_epochs: Option<u32>,
    /// Add this AWS connection as a source at start (kept with the others).
    pub connection: Option<Connection>,
    /// Local mode's checks, for the builder's validation on the Local connection.
    pub local_checks: Option<Arc<dyn crate::request::validate::RuntimeChecks>>,
    /// Use the desktop's file dialogs (else the window's own chooser).
    pub desktop_dialogs: bool,
}

/// The SageDesk window.
pub struct SageDeskApp {
    state: State,
    data: Data,
    worker: Worker,
    connection_form: ConnectionForm,
    /// What the worker was last told the window follows.
    sent: Subscription,
    options: AppOptions,
    list: ListCache,
    detail: DetailCache,
    confirm_stop: Option<JobRef>,
    /// A tuning job to stop once the user confirms: its source and name.
    confirm_stop_tuning: Option<(crate::job::Connection, String)>,
    dialog: Option<Dialog>,
    requested_archives: HashSet<String>,
    /// Why the last import failed (the message names the file and the line or member).
    import_error: Option<String>,
    visible: bool,
    builder: Option<Builder>,
    /// A job to clone as soon as its request has loaded.
    clone_pending: Option<JobRef>,
    /// The Compare view's caches.
    compare: compare::CompareCache,
    /// Whether the window was last told to be in the background (minimised or unfocused).
    background: bool,
    /// Local jobs this window created: this process supervises them.
    started_here: HashSet<String>,
    /// The user asked to close while such jobs run; a confirmation is open.
    confirm_close: bool,
    /// The user confirmed closing.
    closing: bool,
    /// Text that holds secrets in clear, waiting for the user to say copy.
    confirm_copy: Option<Clip>,
    /// The command palette.
    palette: palette::Palette,
    /// Whether the Keyboard window shows.
    keyboard_open: bool,
    /// The list's search takes the focus next frame.
    focus_search: bool,
    /// The tab the user chose for each job this session; others open on the tab their state
    /// suits.
    chosen_tabs: HashMap<JobRef, state::Tab>,
    /// The selected job opens on the tab its state suits once its detail arrives.
    tab_pending: bool,
}

impl SageDeskApp {
    /// The app over a running `worker`, restoring the persisted state from eframe's storage.
    pub fn new(cc: &eframe::CreationContext<'_>, worker: Worker, options: AppOptions) -> Self {
        let state: State = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        Self::with_state(&cc.egui_ctx, worker, options, state)
    }

    /// The app with a given state (tests and benchmarks use this).
    pub fn with_state(
        ctx: &egui::Context,
        worker: Worker,
        options: AppOptions,
        mut state: State,
    ) -> Self {
        if let Some(connection) = options.connection.clone().filter(Connection::is_aws)
            && !state.sources.iter().any(|s| s.connection == connection)
        {
            state.sources.push(state::SavedSource {
                connection,
                polling: true,
            });
        }
        theme::install(ctx);
        let repaint_ctx = ctx.clone();
        // News from the worker arrive in bursts (a tick's list, detail, log and metrics):
        // one frame shows a burst, drawn shortly after its first event.
        worker.set_repaint(move || repaint_ctx.request_repaint_after(NEWS_DELAY));
        let state = state.sanitized();
        connect_sources(&worker, &state);
        let mut app = Self {
            data: Data::default(),
            worker,
            connection_form: ConnectionForm::default(),
            sent: Subscription::worker_start(),
            options,
            list: ListCache::default(),
            detail: DetailCache::default(),
            confirm_stop: None,
            confirm_stop_tuning: None,
            dialog: None,
            requested_archives: HashSet::new(),
            chosen_tabs: HashMap::new(),
            tab_pending: false,
            import_error: None,
            visible: true,
            builder: None,
            clone_pending: None,
            compare: compare::CompareCache::default(),
            background: false,
            started_here: HashSet::new(),
            confirm_close: false,
            closing: false,
            confirm_copy: None,
            palette: palette::Palette::default(),
            keyboard_open: false,
            focus_search: false,
            state,
        };
        app.follow();
        app.drain();
        app
    }

    /// Says the worker failed, with its report; after a restart sends it again all the
    /// window follows.
    fn worker_failed(&mut self, message: &str, report: Option<&std::path::Path>, restarted: bool) {
        let report =
            report.map_or_else(String::new, |r| format!("; a report is in {}", r.display()));
        let what = if restarted {
            "it was restarted"
        } else {
            "it failed again and again and was not restarted: save your work and restart SageDesk"
        };
        self.data.toasts.push(
            toasts::ToastKind::Error,
            format!("The background worker failed ({message}); {what}{report}"),
        );
        if restarted {
            connect_sources(&self.worker, &self.state);
            self.sent = Subscription::worker_start();
            self.follow();
        }
    }

    /// The builder, when open.
    pub fn builder(&self) -> Option<&Builder> {
        self.builder.as_ref()
    }

    /// The builder, when open, to edit (tests set fields this way).
    pub fn builder_mut(&mut self) -> Option<&mut Builder> {
        self.builder.as_mut()
    }

    /// Opens the builder: on the saved draft if there is one, else on a new request, for
    /// the source the builder last targeted.
    pub fn new_job(&mut self) {
        let value = self
            .data
            .draft
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_else(|| {
                serde_json::json!({
                    "TrainingJobName": crate::request::unique_name("training-job"),
                    "AlgorithmSpecification": {"TrainingInputMode": "File"},
                    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600}
                })
            });
        self.builder = Some(Builder::new(value, Connection::Local));
    }

    /// Opens the builder on a copy of `origin`'s `request` with a fresh unique name, to
    /// run on `source`; the new job is linked to `origin`.
    pub fn clone_job(
        &mut self,
        origin: JobRef,
        mut request: crate::request::TrainingJobRequest,
        source: Connection,
    ) {
        let base = request.name().to_string();
        // Drop an earlier clone's timestamp so names do not grow with each clone.
        let base = strip_stamp(&base);
        request.training_job_name = Some(crate::request::unique_name(base));
        let mut builder = Builder::new(request.to_value(), source);
        builder.origin = Some(origin);
        self.builder = Some(builder);
    }

    /// The persisted state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The selected job's detail as last received.
    pub fn detail(&self) -> Option<&crate::job::JobDetail> {
        self.data.detail.as_ref()
    }

    /// The comparison table of the compared jobs, as the Compare view shows and exports it.
    pub fn comparison(&self) -> crate::job::compare::Comparison {
        compare::comparison(&self.data, &self.state.compare)
    }

    /// The persisted state, to change (benchmarks set filters this way).
    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    /// Adds `connection` as a source; the others keep going while it connects.
    pub fn connect(&mut self, connection: Connection) {
        self.data.connecting = Some(connection.clone());
        self.worker.send(SourceCommand::Connect(connection));
    }

    /// The connection window's form (tests drive it).
    pub fn connection_form(&mut self) -> &mut ConnectionForm {
        &mut self.connection_form
    }
}

impl eframe::App for SageDeskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.state);
    }
}

/// Opens the window over a running `worker` and runs until it is closed; crash reports go
/// to `home`, the data folder.
pub fn run(worker: Worker, home: &std::path::Path, options: AppOptions) -> eframe::Result<()> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("SageDesk")
            .with_icon(icon().unwrap_or_default())
            .with_app_id("sagedesk")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([820.0, 520.0]),
        renderer: eframe::Renderer::Glow,
        // The window is flat colours and text, which dithering leaves as they are; its noise
        // costs every pixel of every frame on a software renderer.
        dithering: false,
        // Kept with the data folder: a selection belongs to the store it was made in.
        persistence_path: Some(home.join("window.ron")),
        ..Default::default()
    };
    crate::crash::install(home);
    eframe::run_native(
        "SageDesk",
        native,
        Box::new(move |cc| Ok(Box::new(SageDeskApp::new(cc, worker, options)))),
    )
}

/// The window's icon (taskbar, Alt+Tab): `assets/icon.svg` rendered at 256 px by
/// `packaging/icons.sh --window`.
pub fn icon() -> Option<egui::IconData> {
    let png = include_bytes!("../../assets/icon-256.png");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(&png[..]));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().ok()?;
    let mut rgba = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut rgba).ok()?;
    (frame.color_type == png::ColorType::Rgba && frame.bit_depth == png::BitDepth::Eight).then_some(
        egui::IconData {
            rgba,
            width: frame.width,
            height: frame.height,
        },
    )
}

/// Adds the saved AWS sources (and pauses those paused); sent at start and again after
/// the worker restarted. What the window follows goes with [`Subscription`].
fn connect_sources(worker: &Worker, state: &State) {
    for saved in &state.sources {
        worker.send(SourceCommand::Connect(saved.connection.clone()));
        if !saved.polling {
            worker.send(SourceCommand::SetPolling {
                source: saved.connection.clone(),
                polling: false,
            });
        }
    }
}
