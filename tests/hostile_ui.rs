//! The window under hostile data: searching text whose case changes byte lengths, an
//! archive of 100,000+ entries, a long log wrapped, a read-only data folder.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::window::{harness_with_state, has_text, type_into_focused, wait_for};
use common::*;
use egui_kittest::kittest::Queryable;
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::backend::{Backend, JobRef};
use sagedesk::ui::state::{State, Tab};

fn open(
    sb: &Sandbox,
    job: &str,
    tab: Tab,
    wrap: bool,
) -> egui_kittest::Harness<'static, sagedesk::ui::SageDeskApp> {
    let backend: Arc<dyn Backend> =
        Arc::new(LocalBackend::open(LocalConfig::new(sb.home())).unwrap());
    let state = State {
        selection: Some(JobRef::local(job)),
        tab,
        wrap_logs: wrap,
        ..State::default()
    };
    harness_with_state(backend, sb.home(), state)
}

#[test]
fn find_works_on_text_whose_case_changes_byte_lengths() {
    let sb = Sandbox::new();
    let out = sb.path().join("out");
    // 'İ' lower-cases to 3 bytes from 2, the Kelvin sign 'K' to 1 from 3.
    let lines = ["İİ\u{212A} marker line", "plain line", "ΣΊΣΥΦΟΣ k"];
    stored_job(
        &sb.home(),
        &out,
        "unicode",
        lines.iter().map(|s| s.to_string()),
    );
    let mut h = open(&sb, "unicode", Tab::Logs, false);
    wait_for(&mut h, "the log", |h| has_text(h, "plain line"));
    h.get_by_label("Find").focus();
    h.step();
    type_into_focused(&h, "the Find field", "k");
    // The whole log is searched once typing pauses: the count, and the first match.
    wait_for(&mut h, "the count of matching lines", |h| {
        has_text(h, "1 of 2 lines")
    });
    assert!(has_text(&h, "marker line"));
    h.get_by_label("⏷").click();
    h.run_steps(2);
    assert!(has_text(&h, "2 of 2 lines"));
    h.get_by_label("⏷").click();
    h.run_steps(2);
    assert!(has_text(&h, "1 of 2 lines"), "wraps around");
    // Wrapped, too.
    h.get_by_label("Wrap").click();
    h.run_steps(3);
    assert!(has_text(&h, "marker line"));
}

#[test]
fn a_finished_log_opens_at_its_end_with_progress_bars_at_their_last_state() {
    let sb = Sandbox::new();
    let out = sb.path().join("out");
    let bar = (0..=10)
        .map(|k| format!("\rEpoch 1: {:3}%|{:<10}|", k * 10, "#".repeat(k)))
        .collect::<String>();
    let lines = (0..5_000)
        .map(|i| format!("line {i:04}"))
        .chain([bar, "done".to_string()]);
    stored_job(&sb.home(), &out, "bars", lines);
    let mut h = open(&sb, "bars", Tab::Logs, false);
    wait_for(&mut h, "the end of the log", |h| has_text(h, "done"));
    assert!(has_text(&h, "Epoch 1: 100%|##########|"));
    assert!(
        !has_text(&h, "Epoch 1:  10%"),
        "earlier states are overwritten"
    );
    assert!(has_text(&h, "line 4999"));
    assert!(
        !has_text(&h, "line 0000"),
        "the view holds the end, not the start"
    );
    assert!(has_text(&h, "5,002 lines"));
}

#[test]
fn a_huge_archive_and_a_long_wrapped_log_draw_only_what_is_in_view() {
    let sb = Sandbox::new();
    let out = sb.path().join("out");
    let lines = (0..200_000).map(|i| format!("step {i:06} {}", "w".repeat(150)));
    stored_job(&sb.home(), &out, "big", lines);
    let output = out.join("big/output");
    std::fs::create_dir_all(&output).unwrap();
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, tarfile, io\nt = tarfile.open(sys.argv[1], 'w:gz')\n\
             for n in range(120_000):\n    i = tarfile.TarInfo(f'entry-{n:06d}')\n    t.addfile(i, io.BytesIO(b''))\n\
             l = tarfile.TarInfo('latest'); l.type = tarfile.SYMTYPE; l.linkname = 'entry-000001'\nt.addfile(l)\nt.close()\n",
        ])
        .arg(output.join("model.tar.gz"))
        .status()
        .unwrap();
    assert!(status.success());

    let mut h = open(&sb, "big", Tab::Artifacts, true);
    wait_for(&mut h, "the artifact", |h| {
        has_text(h, "output/model.tar.gz")
    });
    h.get_all_by_label("Contents")
        .next()
        .expect("an archive")
        .click();
    wait_for(&mut h, "the listing", |h| {
        has_text(h, "the listing stops at 100000")
    });
    let drawn = h.query_all_by_label_contains("entry-0").count();
    assert!((1..200).contains(&drawn), "{drawn} archive rows drawn");

    h.get_by_label_contains("Logs (").click();
    wait_for(&mut h, "the log", |h| has_text(h, "200,000 lines"));
    // Wrapping cut the long lines into rows of the pane's width (the rows come after the
    // size: the worker answers the page on its own).
    wait_for(&mut h, "the wrapped rows", |h| has_text(h, "wwwwwwwwww"));
    let drawn = h.query_all_by_label_contains("step 1").count()
        + h.query_all_by_label_contains("step 0").count();
    assert!(drawn < 300, "{drawn} wrapped rows drawn");
}

#[test]
fn a_read_only_data_folder_says_so_in_the_window() {
    let Some(disk) = common::disk::SmallDisk::mount("16m") else {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    };
    let sb = Sandbox::new();
    let home = disk.path.join("home");
    stored_job(
        &home,
        &sb.path().join("out"),
        "kept",
        ["a line".to_string()].into_iter(),
    );
    disk.read_only();
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::open(LocalConfig::new(&home)).unwrap());
    let state = State {
        selection: Some(JobRef::local("kept")),
        tab: Tab::Logs,
        ..State::default()
    };
    let mut h = harness_with_state(backend, home.clone(), state);
    wait_for(&mut h, "the stored log", |h| has_text(h, "a line"));
    assert!(has_text(&h, "Read-only: the data folder"));
    assert!(has_text(&h, &home.display().to_string()));
}
