//! Jobs that end while the window is in the background are announced by the desktop's
//! notifications (here a `notify-send` stand-in that records its arguments).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{LIMIT, Sandbox};
use sagedesk::backend::{Connection, JobRef};
use sagedesk::job::Status;
use sagedesk::worker::{Event, TaskCommand, Worker};
use serde_json::json;

/// Runs `name` through the worker and waits for its `Finished` event.
fn run(worker: &Worker, sb: &Sandbox, name: &str) {
    worker.send(TaskCommand::Submit {
        source: Connection::Local,
        request: Box::new(sb.request(name, "quick.py", json!({}))),
        origin: None,
        credentials: Default::default(),
    });
    let deadline = Instant::now() + LIMIT;
    loop {
        if worker.drain().any(|e| {
            matches!(e, Event::Finished { job, status: Status::Completed } if job == JobRef::local(name))
        }) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_job_ending_in_the_background_is_announced_and_in_the_foreground_is_not() {
    let sb = Sandbox::new();
    sb.script("quick.py", "print('done')\n");
    let calls = sb.path().join("notify-calls.txt");
    let program = sb.path().join("notify-send");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\nprintf '%s|' \"$@\" >> {}\necho >> {}\n",
            calls.display(),
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let worker = Worker::spawn(Arc::new(sb.backend()), None).unwrap();
    worker.set_notify_program(Some(program));

    worker.set_background(false);
    run(&worker, &sb, "in-front");
    worker.set_background(true);
    run(&worker, &sb, "behind");

    let deadline = Instant::now() + LIMIT;
    let text = loop {
        let text = std::fs::read_to_string(&calls).unwrap_or_default();
        if text.contains("behind") {
            break text;
        }
        assert!(Instant::now() < deadline, "no notification: {text:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        text.contains("--app-name=SageDesk|--icon=sagedesk|--urgency=normal|behind: Completed|Training job on local|"),
        "{text}"
    );
    assert!(
        !text.contains("in-front"),
        "a job seen ending is not announced: {text}"
    );
}
