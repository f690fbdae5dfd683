//! A panic leaves a crash report in the data folder, and the next start of the window says
//! so and offers to open it.

#![allow(clippy::unwrap_used)]

mod common;

use common::window::{harness, has_text};
use common::*;
use egui_kittest::kittest::Queryable;

#[test]
fn a_panic_writes_a_report_that_the_next_start_offers() {
    let sb = Sandbox::new();
    sagedesk::crash::install(&sb.home());
    sagedesk::crash::note("select Some(\"job-1\")");
    let result = std::panic::catch_unwind(|| panic!("forced for the crash report"));
    assert!(result.is_err());
    let report = sagedesk::crash::unseen(&sb.home()).expect("a crash report");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.contains("panic: forced for the crash report"),
        "{text}"
    );
    assert!(
        text.contains(concat!("SageDesk ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("select Some(\"job-1\")"), "{text}");
    assert!(text.contains("backtrace:"), "{text}");
    assert!(text.contains("at: tests/crash.rs"), "{text}");

    let mut h = harness(&sb, [1280.0, 800.0], None);
    h.run_steps(2);
    assert!(has_text(&h, "SageDesk closed unexpectedly last time"));
    assert!(has_text(&h, &report.display().to_string()));
    h.get_by_label("Dismiss").click();
    h.run_steps(3);
    assert!(!has_text(&h, "closed unexpectedly"));
    // Seen once, not again at the next start.
    let deadline = std::time::Instant::now() + LIMIT;
    while sagedesk::crash::unseen(&sb.home()).is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the report stays unseen"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
