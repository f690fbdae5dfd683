//! The worker never waits on itself: while a 200 MB artifact downloads from an AWS source
//! (a fake S3 on 127.0.0.1 that serves it slowly), or while an AWS source's list call goes
//! unanswered, the local list still refreshes and a log page of the selected job is
//! answered.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::Sandbox;
use sagedesk::backend::sdk::AwsConnection;
use sagedesk::backend::{Connection, JobRef};
use sagedesk::worker::{Event, FollowCommand, LogAsk, LogNews, SourceCommand, TaskCommand, Worker};

/// The object's size.
const SIZE: u64 = 200 << 20;

/// A fake AWS endpoint: STS says who the caller is, SageMaker lists no jobs, and
/// `GET /big-bucket/big.bin` sends 200 MiB at about 40 MiB/s. Each connection is one request.
/// With `silent_list`, SageMaker's calls are read and never answered (for 90 s).
fn fake_aws(silent_list: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1000) {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || serve(stream, silent_list));
        }
    });
    url
}

fn serve(stream: std::net::TcpStream, silent_list: bool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push(line);
    }
    let length: usize = head
        .iter()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let body = String::from_utf8_lossy(&body);
    let request = head.first().cloned().unwrap_or_default();
    let target = head
        .iter()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-amz-target:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    let mut out = stream;
    let answer = |out: &mut std::net::TcpStream, kind: &str, text: &str| {
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
    };
    if body.contains("GetCallerIdentity") {
        answer(
            &mut out,
            "text/xml",
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/t</Arn>\
             <UserId>AIDA</UserId><Account>111122223333</Account></GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        );
    } else if target.starts_with("sagemaker.") && silent_list {
        std::thread::sleep(Duration::from_secs(90));
    } else if target.starts_with("sagemaker.") {
        answer(
            &mut out,
            "application/x-amz-json-1.1",
            r#"{"TrainingJobSummaries": []}"#,
        );
    } else if request.starts_with("GET /big-bucket/big.bin") {
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {SIZE}\r\n\
             Connection: close\r\n\r\n"
        );
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..(SIZE >> 20) {
            if out.write_all(&chunk).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    } else {
        let text = r#"{"__type": "UnknownOperationException", "message": "not here"}"#;
        let _ = write!(
            out,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{text}",
            text.len()
        );
    }
}

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
        endpoint_url: Some(fake_aws(silent_list)),
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
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), SIZE);
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
