//! Work the worker does for the desktop rather than for a service: the template library and
//! draft, request files read and written, the demo job's files, AWS profile names, crash
//! reports and opening files with the desktop's programs. Everything here touches the disk
//! or spawns a process, so none of it runs on the UI thread.

use std::path::PathBuf;

use super::{DeskCommand, Event, Outbox};
use crate::backend::{BackendError, Connection, JobRef};
use crate::job::tuning::TuningSummary;
use crate::job::{Billing, InstancePrice, JobSummary};
use crate::request::TrainingJobRequest;
use crate::store::Store;

/// The folders of the data folder the worker looks after.
#[derive(Debug, Clone)]
pub struct Folders {
    /// The data folder: demo files, crash reports.
    pub home: PathBuf,
    /// The store that holds templates and the builder's draft.
    pub library: PathBuf,
}

impl Desk {
    /// The data folder, when the desk has one.
    pub(super) fn home(&self) -> Option<PathBuf> {
        self.folders.as_ref().map(|f| f.home.clone())
    }
}

impl Folders {
    /// The folders of the data folder `home`.
    pub fn at(home: &std::path::Path) -> Self {
        Self {
            home: home.to_path_buf(),
            library: crate::store::path_in(home),
        }
    }
}

/// The desktop side of the worker.
#[derive(Clone)]
pub(super) struct Desk {
    folders: Option<Folders>,
    out: Outbox,
}

impl Desk {
    pub(super) fn new(folders: Option<Folders>, out: Outbox) -> Self {
        Self { folders, out }
    }

    /// Tells the window about a crash report of an earlier run.
    pub(super) fn start(&self) {
        if let Some(report) = self
            .folders
            .as_ref()
            .and_then(|f| crate::crash::unseen(&f.home))
        {
            self.out.send(Event::CrashReport(report));
        }
    }

    /// Sends the saved templates, the builder's draft and the links between jobs.
    pub(super) async fn send_library(&self) {
        self.send_templates().await;
        self.send_links().await;
        if let Some(Some(draft)) = self.library(|s| s.draft()).await {
            self.out.send(Event::Draft(draft));
        }
    }

    /// Does the desk's commands in the order they come, until the poller ends.
    pub(super) async fn serve(
        self,
        mut commands: tokio::sync::mpsc::UnboundedReceiver<DeskCommand>,
    ) {
        while let Some(command) = commands.recv().await {
            self.handle(command).await;
            self.out.flush();
        }
    }

    async fn handle(&self, command: DeskCommand) {
        match command {
            DeskCommand::SaveDraft(request) => {
                self.library(move |s| s.save_draft(&request)).await;
            }
            DeskCommand::ClearDraft => {
                self.library(|s| s.clear_draft()).await;
            }
            DeskCommand::SaveTemplate { name, request } => {
                self.library(move |s| s.save_template(&name, &request))
                    .await;
                self.send_templates().await;
            }
            DeskCommand::DeleteTemplate(name) => {
                self.library(move |s| s.delete_template(&name)).await;
                self.send_templates().await;
            }
            DeskCommand::RenameTemplate { from, to } => {
                self.library(move |s| s.rename_template(&from, &to)).await;
                self.send_templates().await;
            }
            DeskCommand::LoadDemoRequest { epochs } => {
                if let Some(request) = self.demo_request(epochs).await {
                    self.out.send(Event::RequestLoaded {
                        value: request.to_value(),
                        notices: Vec::new(),
                    });
                }
            }
            DeskCommand::ReadRequestFile(path) => self.read_request(path).await,
            DeskCommand::WriteFile { path, contents } => {
                let written = tokio::fs::write(&path, contents).await;
                match written {
                    Ok(()) => self.out.send(Event::Saved { path }),
                    Err(e) => self.out.error(format!("Writing {}", path.display()), e),
                }
            }
            DeskCommand::LoadProfiles => {
                let profiles = tokio::task::spawn_blocking(crate::backend::sdk::profiles).await;
                self.out.send(Event::Profiles(profiles.unwrap_or_default()));
            }
            DeskCommand::AcknowledgeCrash(report) => {
                if let Err(e) = crate::crash::acknowledge(&report) {
                    self.out
                        .error(format!("Marking {} as seen", report.display()), e);
                }
            }
            DeskCommand::OpenPath(path) => self.open_path(path),
            DeskCommand::ListFolder(folder) => self.list_folder(folder).await,
            DeskCommand::OpenInEditor { file, line } => self.open_in_editor(&file, line),
            DeskCommand::OpenTerminal { job, host, pdb } => self.open_terminal(&job, &host, pdb),
        }
    }

    /// The demo's request, its files written to the data folder first.
    pub(super) async fn demo_request(&self, epochs: Option<u32>) -> Option<TrainingJobRequest> {
        let Some(home) = self.folders.as_ref().map(|f| f.home.clone()) else {
            self.out
                .error("Preparing the demo job", "no data folder to write it to");
            return None;
        };
        self.off_thread("Preparing the demo job", move || {
            crate::demo::demo_request(&home, epochs)
        })
        .await
    }

    async fn read_request(&self, path: PathBuf) {
        let read = tokio::task::spawn_blocking(move || {
            // A tuning request is read as one, not as a training job that would lose it.
            if crate::request::tuning::read_tuning_request_value(&path)?.is_some() {
                let (_, request) = crate::request::tuning::read_tuning_file(&path)?;
                return Ok((request.to_value(), Vec::new()));
            }
            crate::request::read_request_file(&path).map(|i| (i.request.to_value(), i.notices))
        })
        .await;
        match read {
            Ok(Ok((value, notices))) => self.out.send(Event::RequestLoaded { value, notices }),
            Ok(Err(e)) => self.out.send(Event::RequestUnreadable(e.to_string())),
            Err(e) => self.out.send(Event::RequestUnreadable(e.to_string())),
        }
    }

    /// Opens `path` with the desktop's handler, saying what is missing when it cannot.
    fn open_path(&self, path: PathBuf) {
        let out = self.out.clone();
        tokio::spawn(async move {
            if let Err(e) = super::folders::open_with(super::folders::OPENER, &path).await {
                out.error(format!("Opening {}", path.display()), e);
                out.flush();
            }
        });
    }

    /// Lists a folder for the window's file chooser.
    async fn list_folder(&self, folder: PathBuf) {
        let read = folder.clone();
        let entries = tokio::task::spawn_blocking(move || super::folders::list(&read))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        self.out.send(Event::FolderListed { folder, entries });
    }

    /// A terminal running `sagedesk shell JOB --host HOST [--pdb]`.
    fn open_terminal(&self, job: &str, host: &str, pdb: bool) {
        let context = format!("Opening a terminal in {host} of {job}");
        let Ok(sagedesk) = std::env::current_exe() else {
            return self.out.error(context, "this program's path is not known");
        };
        let found = |p: &str| crate::process::which(std::path::Path::new(p)).is_some();
        let Some(terminal) = super::editor::TERMINALS.iter().find(|t| found(t)) else {
            return self.out.error(
                context,
                format!(
                    "no terminal program found: run `sagedesk shell {job} --host {host}` in one"
                ),
            );
        };
        let opened = tokio::process::Command::new(terminal)
            .arg("-e")
            .arg(sagedesk)
            .args(["shell", job, "--host", host])
            .args(pdb.then_some("--pdb"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Err(e) = opened {
            self.out.error(context, e);
        }
    }

    fn open_in_editor(&self, file: &std::path::Path, line: u32) {
        let chosen = std::env::var("VISUAL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| std::env::var("EDITOR").ok());
        let found = |p: &str| crate::process::which(std::path::Path::new(p)).is_some();
        let editors = super::editor::Editors {
            chosen: chosen.as_deref(),
            code: found("code"),
            terminal: super::editor::TERMINALS.iter().copied().find(|t| found(t)),
        };
        let words = super::editor::command(&editors, file, line);
        let opened = tokio::process::Command::new(&words[0])
            .args(&words[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Err(e) = opened {
            let what = format!("Opening {}:{line} with {}", file.display(), words[0]);
            self.out.error(what, e);
        }
    }

    /// Runs `f` on the template library, reporting failures.
    async fn library<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, BackendError> + Send + 'static,
    ) -> Option<T> {
        let path = self.folders.as_ref()?.library.clone();
        self.off_thread("Templates", move || f(&Store::open(&path)?))
            .await
    }

    /// Runs blocking work on the blocking pool; a failure is reported under `context`.
    async fn off_thread<T, E>(
        &self,
        context: &str,
        work: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> Option<T>
    where
        T: Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        match tokio::task::spawn_blocking(work).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.out.error(context, e);
                None
            }
            Err(e) => {
                self.out.error(context, e);
                None
            }
        }
    }

    /// Records that `job` was made from `origin`, and sends the links.
    pub(super) async fn link(&self, job: &JobRef, origin: &JobRef) {
        let (job, origin) = (json(job), json(origin));
        self.library(move |s| s.save_link(&job, &origin)).await;
        self.send_links().await;
    }

    /// The on-demand price of `instance_type` on `source`: the one kept from an earlier
    /// read (with its date), else read from the Price List and kept.
    pub(super) async fn price(
        &self,
        source: &Connection,
        backend: &dyn crate::backend::Backend,
        instance_type: &str,
    ) -> Result<InstancePrice, String> {
        let key = format!("{}\n{instance_type}", json(source));
        let lookup = key.clone();
        if let Some(Some(text)) = self.library(move |s| s.price(&lookup)).await
            && let Ok(price) = serde_json::from_str::<InstancePrice>(&text)
        {
            return Ok(price);
        }
        let price = backend
            .instance_price(instance_type)
            .await
            .map_err(|e| e.to_string())?;
        let text = json(&price);
        self.library(move |s| s.save_price(&key, &text)).await;
        Ok(price)
    }

    /// Keeps a remote source's list in the library, to paint at the next start.
    pub(super) async fn cache_jobs(&self, source: &Connection, jobs: &[JobSummary]) {
        let (key, jobs) = (json(source), json(jobs));
        self.library(move |s| s.save_source_jobs(&key, &jobs)).await;
    }

    /// The list kept for a remote source, if any.
    pub(super) async fn cached_jobs(&self, source: &Connection) -> Option<Vec<JobSummary>> {
        let key = json(source);
        let text = self.library(move |s| s.source_jobs(&key)).await??;
        serde_json::from_str(&text).ok()
    }

    /// Keeps a remote source's tuning jobs, beside its list.
    pub(super) async fn cache_tuning(&self, source: &Connection, jobs: &[TuningSummary]) {
        let (key, jobs) = (tuning_key(source), json(jobs));
        self.library(move |s| s.save_source_jobs(&key, &jobs)).await;
    }

    /// The tuning jobs kept for a remote source, if any.
    pub(super) async fn cached_tuning(&self, source: &Connection) -> Option<Vec<TuningSummary>> {
        let key = tuning_key(source);
        let text = self.library(move |s| s.source_jobs(&key)).await??;
        serde_json::from_str(&text).ok()
    }

    /// Keeps what a finished job of a remote source is billed for.
    pub(super) async fn keep_billing(&self, job: &JobRef, billing: &Billing) {
        let (source, name, billing) = (json(&job.source), job.name.clone(), json(billing));
        self.library(move |s| s.save_billing(&source, &name, &billing))
            .await;
    }

    /// The billing kept for a remote source's finished jobs, by job name.
    pub(super) async fn kept_billing(&self, source: &Connection) -> Vec<(String, Billing)> {
        let key = json(source);
        let rows = self.library(move |s| s.billing(&key)).await;
        rows.unwrap_or_default()
            .into_iter()
            .filter_map(|(job, text)| Some((job, serde_json::from_str(&text).ok()?)))
            .collect()
    }

    async fn send_links(&self) {
        if let Some(links) = self.library(|s| s.links()).await {
            let parse = |text: &str| serde_json::from_str::<JobRef>(text).ok();
            let links = links
                .iter()
                .filter_map(|(job, origin)| Some((parse(job)?, parse(origin)?)))
                .collect();
            self.out.send(Event::Links(links));
        }
    }

    async fn send_templates(&self) {
        if let Some(templates) = self.library(|s| s.templates()).await {
            self.out.send(Event::Templates(templates));
        }
    }
}

/// Plain data as the library stores it (keys and values).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

/// Where a source's tuning jobs are kept in the library: `tuning <source>`, beside its list.
fn tuning_key(source: &Connection) -> String {
    format!("tuning {}", json(source))
}
