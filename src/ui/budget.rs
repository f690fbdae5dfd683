//! The frame budget, watched in debug builds: a view that takes more than its share of a
//! frame logs a warning naming it, so work that blocks the UI thread (file I/O, a process
//! spawn, a database call, compiling regexes) shows up as soon as it is written.

/// Time a view may take in one frame before a warning (a 120 Hz frame is 8.3 ms).
#[cfg(debug_assertions)]
const VIEW_BUDGET: std::time::Duration = std::time::Duration::from_millis(8);

/// Runs the view `name`; in debug builds warns when it overruns [`VIEW_BUDGET`].
pub fn timed<R>(name: &str, view: impl FnOnce() -> R) -> R {
    #[cfg(debug_assertions)]
    {
        let start = std::time::Instant::now();
        let out = view();
        let took = start.elapsed();
        if took > VIEW_BUDGET {
            tracing::warn!(
                target: "sagedesk::frame_budget",
                "the {name} view took {:.1} ms of a frame (budget {} ms)",
                took.as_secs_f64() * 1000.0,
                VIEW_BUDGET.as_millis()
            );
        }
        out
    }
    #[cfg(not(debug_assertions))]
    {
        let _ = name;
        view()
    }
}
