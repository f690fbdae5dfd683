//! The poll scheduler over every source: each source ticks on its own clock (one list call
//! per interval, backoff on its own errors), the selected and compared jobs are followed
//! on their source's tick, events go out only when something changed, and polling slows
//! down when idle or hidden.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

mod costs;
mod preflight;
mod tasks;

use super::desk::Desk;
use super::follow::{Followed, Selected, poll_compared};
use super::source::{self, Pace, Source};
use super::{Command, DeskCommand, Event, Folders, FollowCommand, Outbox, SourceCommand};
use crate::backend::{Backend, Connection, JobRef};

/// List interval on a remote backend, unless the user sets another.
pub const REMOTE_INTERVAL: Duration = Duration::from_secs(10);
/// Log reads of the selected job while it runs on a remote backend, unless the user sets
/// another.
pub const LOG_INTERVAL: Duration = Duration::from_secs(3);

struct Poller {
    /// Local first, then the AWS connections in the order they were added.
    sources: Vec<Source>,
    remote_interval: Duration,
    /// Files, templates, the demo: work for the desktop rather than the service.
    desk: Desk,
    out: Outbox,
    selected: Option<Selected>,
    compared: Vec<Followed>,
    visible: bool,
    /// Whether the list groups by a tag: the sources read their jobs' tags.
    watch_tags: bool,
    /// Whether the list groups by tuning job: the sources list their tuning jobs.
    watch_tuning: bool,
    /// The tuning job shown, followed with its source.
    tuning: Option<super::tuning::FollowedTuning>,
    /// Whether the list shows costs: the AWS sources read their finished jobs' billing.
    watch_costs: bool,
    /// Preflight results by source, reused while the values they looked at are unchanged.
    preflight: std::collections::HashMap<Connection, preflight::SharedCache>,
    /// How far each AWS source's `Search` for billing has gone.
    sweeps: std::collections::HashMap<Connection, costs::Sweep>,
    /// Between log reads of a running remote selected job.
    log_interval: Duration,
    /// When its next log read is due.
    logs_due: Instant,
    /// Prices asked for this run, by source and instance type.
    prices: std::collections::HashSet<(Connection, String)>,
    /// Long one-shot commands under way, each on its own task (ended with the poller).
    tasks: tokio::task::JoinSet<()>,
    /// The watch of a local job's code folder, if one runs.
    watch: Option<tokio::task::AbortHandle>,
    /// Where those tasks hand back what the poller must do after them.
    followups: mpsc::UnboundedSender<tasks::Followup>,
    /// Remote sources' list calls under way, each on its own task.
    listings: tokio::task::JoinSet<source::Listed>,
    /// The desk's queue: its task does the desktop's work in the order asked.
    desk_queue: mpsc::UnboundedSender<DeskCommand>,
}

/// When a source whose list call is under way is due at the latest: its answer sets the
/// next time, and every call ends well before this (the SDK's own time limits).
const UNDER_WAY: Duration = Duration::from_secs(3600);

/// The shortest and longest poll intervals the window may ask for.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs until the UI drops its command sender.
pub(super) async fn run(
    local: Arc<dyn Backend>,
    folders: Option<Folders>,
    commands: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Command>>>,
    out: Outbox,
) {
    // Held for the whole run; a panic drops it, so a restarted run takes the same queue.
    let mut commands = commands.lock().await;
    out.send(Event::Opened {
        label: local.label(),
        notice: local.notice(),
    });
    let desk = Desk::new(folders, out.clone());
    desk.start();
    let (followups, mut followed_up) = mpsc::unbounded_channel();
    let (desk_queue, desk_commands) = mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(desk.clone().serve(desk_commands));
    let mut poller = Poller {
        sources: vec![Source::new(Connection::Local, local)],
        remote_interval: REMOTE_INTERVAL,
        desk,
        out,
        selected: None,
        compared: Vec::new(),
        visible: true,
        watch_tags: false,
        watch_tuning: false,
        tuning: None,
        watch_costs: false,
        sweeps: Default::default(),
        preflight: Default::default(),
        log_interval: LOG_INTERVAL,
        logs_due: Instant::now(),
        prices: Default::default(),
        tasks,
        watch: None,
        followups,
        desk_queue,
        listings: tokio::task::JoinSet::new(),
    };
    poller.tick(0).await;
    poller.desk.send_library().await;
    poller.out.flush();
    // A local job started here that ends is seen at once, not at Local's next tick.
    let local = poller.local();
    loop {
        let mut due = poller
            .sources
            .iter()
            .map(|s| s.due)
            .min()
            .expect("Local is always a source");
        if let Some(logs) = poller.tail_due() {
            due = due.min(logs);
        }
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => poller.handle(command).await,
                None => break,
            },
            Some(followup) = followed_up.recv() => match followup {
                tasks::Followup::Tick(source) => poller.tick_source(&source).await,
            },
            Some(listed) = poller.listings.join_next(), if !poller.listings.is_empty() => {
                match listed {
                    Ok(listed) => poller.listed(listed).await,
                    // A panic in a list call is the worker's: it restarts.
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(_) => {}
                }
            }
            // Finished tasks are let go of as they end; a panic in one is the worker's.
            Some(ended) = poller.tasks.join_next(), if !poller.tasks.is_empty() => {
                if let Err(e) = ended
                    && e.is_panic()
                {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
            _ = crate::backend::job_ended(local.as_ref()) => poller.tick(0).await,
            _ = tokio::time::sleep_until(due) => {
                let now = Instant::now();
                for i in 0..poller.sources.len() {
                    if poller.sources[i].due <= now {
                        poller.tick(i).await;
                    }
                }
                if poller.tail_due().is_some_and(|d| d <= now) {
                    poller.tail().await;
                }
            }
        }
        poller.out.flush();
    }
}

impl Poller {
    fn index(&self, source: &Connection) -> Option<usize> {
        self.sources.iter().position(|s| &s.connection == source)
    }

    fn backend(&self, source: &Connection) -> Option<Arc<dyn Backend>> {
        self.index(source).map(|i| self.sources[i].backend.clone())
    }

    fn local(&self) -> Arc<dyn Backend> {
        self.sources[0].backend.clone()
    }

    /// When the selected job's next log read is due, if it runs on a remote source and the
    /// window is shown: its log is read more often than the source is listed.
    fn tail_due(&self) -> Option<Instant> {
        let selected = self
            .selected
            .as_ref()
            .filter(|s| s.running() && self.visible)?;
        let i = self.index(&selected.job().source)?;
        self.sources[i].backend.is_remote().then_some(self.logs_due)
    }

    /// Reads the selected job's new log lines (and the metric points in them).
    async fn tail(&mut self) {
        self.logs_due = Instant::now() + self.log_interval;
        let Some(source) = self.selected.as_ref().map(|s| s.job().source.clone()) else {
            return;
        };
        if let Some(backend) = self.backend(&source)
            && let Some(selected) = self.selected.as_mut()
        {
            selected.logs(backend.as_ref(), &self.out).await;
        }
    }

    /// What source `i`'s interval depends on.
    fn pace(&self, i: usize) -> Pace {
        let source = &self.sources[i].connection;
        let following_running = self
            .selected
            .as_ref()
            .map(|s| &s.followed)
            .into_iter()
            .chain(&self.compared)
            .any(|f| &f.job.source == source && f.running());
        Pace {
            remote_interval: self.remote_interval,
            visible: self.visible,
            following_running,
        }
    }

    /// One tick of source `i`: its list, then the followed jobs it holds, then its next
    /// due time. A remote source's list call runs on a task of its own: the rest of its tick
    /// follows when the answer comes ([`Poller::listed`]), and nothing waits for it
    /// meanwhile. A tick asked for while a call is under way lists again after it.
    async fn tick(&mut self, i: usize) {
        let selected = self
            .selected
            .as_ref()
            .filter(|s| s.job().source == self.sources[i].connection)
            .map(|s| s.job().name.clone());
        if self.sources[i].listing_under_way {
            self.sources[i].list_again = true;
            return;
        }
        let Some(listing) = self.sources[i].listing(&self.out, selected.as_deref()) else {
            return self.after_list(i, false).await;
        };
        if self.sources[i].backend.is_remote() {
            let source = &mut self.sources[i];
            source.listing_under_way = true;
            source.due = Instant::now() + UNDER_WAY;
            self.listings.spawn(listing);
            return;
        }
        let listed = listing.await;
        let changed = self.sources[i].finish_listing(&self.out, listed);
        self.after_list(i, changed).await;
    }

    /// A remote source's list call came back: the rest of its tick.
    async fn listed(&mut self, listed: source::Listed) {
        let Some(i) = self.index(&listed.source) else {
            return;
        };
        let source = &mut self.sources[i];
        source.listing_under_way = false;
        let again = std::mem::take(&mut source.list_again);
        let changed = source.finish_listing(&self.out, listed);
        self.after_list(i, changed).await;
        if again {
            self.sources[i].due = Instant::now();
        }
    }

    /// Keeps a remote source's tuning jobs, to paint at the next start.
    async fn keep_tuning(&self, i: usize) {
        let source = &self.sources[i];
        if source.backend.is_remote() {
            let connection = &source.connection;
            self.desk.cache_tuning(connection, &source.tuning).await;
        }
    }

    /// What follows a source's list: its kept copy, the followed jobs it holds, tags and
    /// costs, then its next due time.
    async fn after_list(&mut self, i: usize, changed: bool) {
        // A remote source's unfiltered list is kept, to paint at the next start.
        if changed && self.sources[i].backend.is_remote() && !self.sources[i].filtered() {
            let source = &self.sources[i];
            self.desk.cache_jobs(&source.connection, &source.jobs).await;
        }
        if !self.sources[i].failing() {
            self.follow(i).await;
            if self.watch_tags {
                self.sources[i].fetch_tags(&self.out).await;
            }
            if self.watch_tuning && self.sources[i].fetch_tuning(&self.out).await {
                self.keep_tuning(i).await;
            }
            if self.watch_costs {
                self.fetch_costs(i).await;
            }
        }
        let pace = self.pace(i);
        let source = &mut self.sources[i];
        source.due = Instant::now() + source.delay(pace);
        source.send_activity(&self.out, pace);
    }

    /// Polls the selected and compared jobs of source `i`, and its tuning job shown.
    async fn follow(&mut self, i: usize) {
        let source = self.sources[i].connection.clone();
        let backend = self.sources[i].backend.clone();
        if let Some(tuning) = self.tuning.as_mut().filter(|t| t.job.source == source) {
            tuning.poll(backend.as_ref(), &self.out).await;
        }
        if self
            .selected
            .as_ref()
            .is_some_and(|s| s.job().source == source)
        {
            self.poll_selected(&backend).await;
        }
        for followed in &mut self.compared {
            if followed.job.source == source && (followed.running() || followed.detail.is_none()) {
                poll_compared(followed, backend.as_ref(), &self.out).await;
            }
        }
        self.price_followed(&source, backend.as_ref()).await;
    }

    /// Polls the selected job on `backend` (its source's), dropping the selection when the
    /// job cannot be described.
    async fn poll_selected(&mut self, backend: &Arc<dyn Backend>) {
        let Some(selected) = self.selected.as_mut() else {
            return;
        };
        if !selected.poll(backend.as_ref(), &self.out).await {
            self.selected = None;
            return;
        }
        if selected.wants_diagnosis() {
            // Reading a remote log's end may take a while: on a task of its own.
            let (backend, out, job) = (backend.clone(), self.out.clone(), selected.job().clone());
            let home = self.desk.home();
            self.tasks.spawn(async move {
                let diagnosed = crate::backend::diagnose::diagnose_job_here(
                    backend.as_ref(),
                    &job.name,
                    home.as_deref(),
                )
                .await;
                match diagnosed {
                    Ok(Some(diagnosis)) => out.send(Event::Diagnosis {
                        job,
                        diagnosis: Box::new(diagnosis),
                    }),
                    Ok(None) => {}
                    Err(e) => out.error(format!("Diagnosing {job}"), e),
                }
                out.flush();
            });
        }
    }

    /// The on-demand price of the selected and compared jobs' instance types.
    async fn price_followed(&mut self, source: &Connection, backend: &dyn Backend) {
        let types: Vec<String> = self
            .selected
            .as_ref()
            .map(|s| &s.followed)
            .into_iter()
            .chain(&self.compared)
            .filter(|f| &f.job.source == source)
            .filter_map(|f| f.detail.as_ref())
            .filter_map(|d| d.billing().billed_instances().map(|(t, _)| t.to_string()))
            .collect();
        for instance_type in types {
            self.ensure_price(source, backend, &instance_type).await;
        }
    }

    /// Ticks every source now.
    async fn refresh(&mut self) {
        for i in 0..self.sources.len() {
            self.tick(i).await;
        }
    }

    /// Adds an AWS connection as a source, or turns an existing one's polling back on.
    async fn connect(&mut self, connection: Connection) {
        if let Some(i) = self.index(&connection) {
            self.sources[i].polling = true;
            self.out.send(Event::Connected {
                label: self.sources[i].backend.label(),
                connection,
            });
            return self.tick(i).await;
        }
        // The lists kept from the last run paint at once, before the service answers.
        if let Some(jobs) = self.desk.cached_jobs(&connection).await {
            let source = connection.clone();
            self.out.send(Event::Jobs { source, jobs });
        }
        if let Some(jobs) = self.desk.cached_tuning(&connection).await {
            let source = connection.clone();
            self.out.send(Event::TuningJobs { source, jobs });
        }
        self.out.flush();
        let backend = match crate::backend::open(&connection).await {
            Ok(backend) => backend,
            Err(e) => {
                return self.out.send(Event::ConnectFailed {
                    connection,
                    message: e.to_string(),
                });
            }
        };
        self.out.send(Event::Connected {
            connection: connection.clone(),
            label: backend.label(),
        });
        self.sources.push(Source::new(connection, backend));
        self.tick(self.sources.len() - 1).await;
    }

    /// Removes an AWS source: its rows leave the list; nothing is deleted anywhere.
    fn disconnect(&mut self, connection: Connection) {
        let Some(i) = self.index(&connection).filter(|&i| i > 0) else {
            return;
        };
        self.sources.remove(i);
        if self
            .selected
            .as_ref()
            .is_some_and(|s| s.job().source == connection)
        {
            self.selected = None;
        }
        self.compared.retain(|f| f.job.source != connection);
        self.out.send(Event::Disconnected(connection));
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Source(command) => self.source_command(command).await,
            Command::Follow(command) => self.follow_command(command).await,
            Command::Task(command) => self.spawn_task(command),
            Command::Desk(command) => {
                // The desk works through its queue in order, on a task of its own.
                let _ = self.desk_queue.send(command);
            }
        }
    }

    async fn source_command(&mut self, command: SourceCommand) {
        match command {
            SourceCommand::Connect(connection) => self.connect(connection).await,
            SourceCommand::Disconnect(connection) => self.disconnect(connection),
            SourceCommand::SetPolling { source, polling } => {
                if let Some(i) = self.index(&source) {
                    self.sources[i].polling = polling;
                    let pace = self.pace(i);
                    self.sources[i].send_activity(&self.out, pace);
                }
            }
            SourceCommand::Refresh => self.refresh().await,
            SourceCommand::LoadMore(source) => {
                if let Some(i) = self.index(&source) {
                    self.sources[i].load_more();
                    self.tick(i).await;
                }
            }
        }
    }

    async fn follow_command(&mut self, command: FollowCommand) {
        match command {
            FollowCommand::SetListInterval(interval) => {
                self.remote_interval = interval.clamp(MIN_INTERVAL, MAX_INTERVAL);
            }
            FollowCommand::SetLogInterval(interval) => {
                self.log_interval = interval.clamp(MIN_INTERVAL, MAX_INTERVAL);
                self.logs_due = Instant::now() + self.log_interval;
            }
            FollowCommand::SetVisible(visible) => self.visible = visible,
            FollowCommand::SetVisibleJobs(jobs) => {
                for source in &mut self.sources {
                    source.visible_jobs = jobs
                        .iter()
                        .filter(|j| j.source == source.connection)
                        .map(|j| j.name.clone())
                        .collect();
                }
            }
            FollowCommand::SetQuery {
                name_contains,
                status,
            } => {
                for source in &mut self.sources {
                    source.set_query(name_contains.clone(), status);
                }
            }
            FollowCommand::WatchTags(watch) => {
                self.watch_tags = watch;
                if watch {
                    for source in &mut self.sources {
                        source.fetch_tags(&self.out).await;
                    }
                }
            }
            FollowCommand::SelectTuning(job) => {
                let backend = job.as_ref().and_then(|j| self.backend(&j.source));
                self.tuning = job.map(super::tuning::FollowedTuning::new);
                if let (Some(tuning), Some(backend)) = (self.tuning.as_mut(), backend) {
                    tuning.poll(backend.as_ref(), &self.out).await;
                }
            }
            FollowCommand::WatchTuning(watch) => {
                self.watch_tuning = watch;
                for i in (0..self.sources.len()).filter(|_| watch) {
                    if self.sources[i].fetch_tuning(&self.out).await {
                        self.keep_tuning(i).await;
                    }
                }
            }
            FollowCommand::WatchCosts(watch) => {
                self.watch_costs = watch;
                if watch {
                    for i in 0..self.sources.len() {
                        self.fetch_costs(i).await;
                    }
                }
            }
            FollowCommand::Select(job) => self.select(job).await,
            FollowCommand::Compare(jobs) => self.compare(jobs).await,
            FollowCommand::Log { job, ask } => {
                if let Some(backend) = self.backend(&job.source)
                    && let Some(selected) = self.selected.as_mut().filter(|s| s.job() == &job)
                {
                    selected.answer(backend.as_ref(), ask, &self.out).await;
                }
            }
        }
    }

    fn no_source(&self, source: &Connection, context: &str) {
        self.out.error(context, not_connected(source));
    }

    async fn tick_source(&mut self, source: &Connection) {
        if let Some(i) = self.index(source) {
            self.tick(i).await;
        }
    }

    async fn select(&mut self, job: Option<JobRef>) {
        self.selected = job.map(Selected::new);
        self.logs_due = Instant::now() + self.log_interval;
        let Some(source) = self.selected.as_ref().map(|s| s.job().source.clone()) else {
            return;
        };
        // A source still being added (at start) follows the job from its first tick.
        if let Some(backend) = self.backend(&source) {
            self.poll_selected(&backend).await;
        }
    }

    /// Follows `jobs` for the comparison (none: stop following).
    async fn compare(&mut self, jobs: Vec<JobRef>) {
        let mut compared: Vec<Followed> = jobs.into_iter().map(Followed::new).collect();
        // A job of a source not connected yet is followed from that source's first tick.
        for followed in &mut compared {
            if let Some(backend) = self.backend(&followed.job.source) {
                poll_compared(followed, backend.as_ref(), &self.out).await;
            }
        }
        self.compared = compared;
    }
}

/// Why a command for a source that is not (or no longer) connected did nothing.
fn not_connected(source: &Connection) -> String {
    format!(
        "{} is not connected: add it in the Connections window",
        source.source_label()
    )
}
