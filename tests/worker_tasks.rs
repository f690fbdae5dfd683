//! The worker never waits on itself: while a 200 MB artifact downloads from an AWS source
//! (a fake S3 on 127.0.0.1 that serves it slowly), or while an AWS source's list call goes
//! unanswered, the local list still refreshes and a log page of the selected job is
//! answered. And a log the window follows at its end gets its new last rows with its new
//! size, without asking again.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::Sandbox;
use sagedesk::backend::sdk::AwsConnection;
use sagedesk::backend::{Connection, JobRef};
use sagedesk::worker::{Event, FollowCommand, LogAsk, LogNews, SourceCommand, TaskCommand, Worker};

/// A worker over a data folder holding the job `before` (50 lines), with the fake AWS
/// endpoint added as a source; the sandbox, the worker and the AWS source.
fn scene(silent_list: bool) -> (Sandbox, Worker, Connection) {
    common::moto::aws_env();
    let sb = Sandbox::new();
    common::stored_job(
        &sb.home(),
        &sb.path().join("out"),
        "before",
        (0..50).map(|i| format!("line {i}")),
    );
    let worker = common::window::worker(std::sync::Arc::new(sb.backend()), &sb.home());
    let aws = Connection::Aws(AwsConnection {
        profile: None,
        region: Some("us-east-1".into()),
        endpoint_url: Some(common::fake_aws::serve(silent_list)),
    });
    worker.send(SourceCommand::Connect(aws.clone()));
    (sb, worker, aws)
}

/// The events up to the first one `wanted` takes (included); fails after `deadline`.
fn until(
    worker: &Worker,
    deadline: Instant,
    what: &str,
    mut wanted: impl FnMut(&Event) -> bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "no {what}");
        for event in worker.drain() {
            let hit = wanted(&event);
            seen.push(event);
            if hit {
                return seen;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Adds the job `during` to the store, selects `before` and asks for its first rows; the
/// events up to both answers.
fn list_and_page(sb: &Sandbox, worker: &Worker, deadline: Instant) -> Vec<Event> {
    common::stored_job(
        &sb.home(),
        &sb.path().join("out"),
        "during",
        std::iter::once("hello".to_string()),
    );
    let before = JobRef::local("before");
    worker.send(FollowCommand::Select(Some(before.clone())));
    worker.send(FollowCommand::Log {
        job: before,
        ask: LogAsk::Rows {
            host: None,
            rows: 0..10,
        },
    });
    let (mut listed, mut paged) = (false, false);
    until(worker, deadline, "the list and the log page", |e| {
        match e {
            Event::Jobs { source, jobs } if !source.is_aws() => {
                listed |= jobs.iter().any(|j| j.name == "during");
            }
            Event::Log {
                news: LogNews::Rows { lines, .. },
                ..
            } => paged |= lines.first().is_some_and(|l| l.text == "line 0"),
            _ => {}
        }
        listed && paged
    })
}

#[test]
fn a_long_download_leaves_the_list_and_the_log_answering() {
    let (sb, worker, aws) = scene(false);
    let deadline = Instant::now() + Duration::from_secs(60);
    until(
        &worker,
        deadline,
        "connection",
        |e| matches!(e, Event::Connected { connection, .. } if connection.is_aws()),
    );
    let dest = sb.path().join("big.bin");
    worker.send(TaskCommand::Download {
        source: aws,
        uri: "s3://big-bucket/big.bin".into(),
        dest: dest.clone(),
    });
    until(
        &worker,
        deadline,
        "progress",
        |e| matches!(e, Event::Progress { done, .. } if *done > 0),
    );
    // While it downloads: a job appears in the local list, and a log page is answered.
    let seen = list_and_page(&sb, &worker, deadline);
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Saved { .. })),
        "the download ended first: the test proves nothing"
    );
    until(&worker, deadline, "the saved file", |e| {
        matches!(e, Event::Saved { .. })
    });
    assert_eq!(
        std::fs::metadata(&dest).unwrap().len(),
        common::fake_aws::SIZE
    );
}

#[test]
fn an_aws_source_that_never_answers_holds_up_nothing_else() {
    let (sb, worker, aws) = scene(true);
    let deadline = Instant::now() + Duration::from_secs(30);
    until(&worker, deadline, "the source shown waiting", |e| {
        matches!(e, Event::Activity { source, activity }
            if *source == aws && activity.waiting_since.is_some())
    });
    // The AWS list call is still unanswered: the local list and a log page are not.
    let seen = list_and_page(&sb, &worker, deadline);
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, Event::Activity { source, activity }
            if *source == aws && activity.waiting_since.is_none())),
        "the AWS call ended first: the test proves nothing"
    );
}

#[test]
fn a_log_followed_at_its_end_gets_its_new_last_rows_with_its_new_size() {
    let sb = Sandbox::new();
    let line = |i| format!("line {i}");
    let (store, name) = common::running_request_job(
        &sb.home(),
        serde_json::json!({"TrainingJobName": "growing"}),
        (0..100).map(line),
    );
    let worker = common::window::worker(std::sync::Arc::new(sb.backend()), &sb.home());
    let job = JobRef::local(&name);
    let deadline = Instant::now() + common::LIMIT;
    let size_is = |n: u64| move |e: &Event| matches!(e, Event::Log { news: LogNews::Size(s), .. } if s.total == n);
    worker.send(FollowCommand::Select(Some(job.clone())));
    until(&worker, deadline, "the size", size_is(100));
    let ask = |rows| FollowCommand::Log {
        job: job.clone(),
        ask: LogAsk::Rows { host: None, rows },
    };
    let answered = |start: u64| move |e: &Event| matches!(e, Event::Log { news: LogNews::Rows { start: s, .. }, .. } if *s == start);
    worker.send(ask(60..100));
    until(&worker, deadline, "the last rows", answered(60));

    store
        .append(&name, &[], &common::log_records((100..105).map(line)))
        .unwrap();
    let seen = until(&worker, deadline, "the tail", |e| {
        matches!(
            e,
            Event::Log {
                news: LogNews::Tail { .. },
                ..
            }
        )
    });
    assert!(seen.iter().any(size_is(105)), "the size comes first");
    let Some(Event::Log {
        news: LogNews::Tail { host, start, lines },
        ..
    }) = seen.last()
    else {
        unreachable!()
    };
    assert_eq!((host, *start, lines.len()), (&None, 65, 40));
    assert_eq!(lines.last().unwrap().text, "line 104");

    // Scrolled up: the next size comes alone.
    worker.send(ask(0..10));
    until(&worker, deadline, "the first rows", answered(0));
    store
        .append(&name, &[], &common::log_records((105..110).map(line)))
        .unwrap();
    until(&worker, deadline, "the new size", size_is(110));
    std::thread::sleep(Duration::from_millis(300));
    let after: Vec<Event> = worker.drain().collect();
    assert!(
        !after.iter().any(|e| matches!(
            e,
            Event::Log {
                news: LogNews::Tail { .. },
                ..
            }
        )),
        "no tail for a window away from the end: {after:?}"
    );
}
