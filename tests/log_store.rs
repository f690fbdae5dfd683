//! The log store: lines of several hosts kept in blocks and read back by row range, exact
//! counts, searches over the whole log, lines redrawn in place, stores of the old
//! row-per-line layout moved over, and the bytes a chatty job's lines cost.

#![allow(clippy::unwrap_used)]

use sagedesk::job::Stream;
use sagedesk::store::{Record, Store};

fn record(host: &str, stream: Stream, line: impl Into<String>, open: bool) -> Record {
    Record {
        ts: 1_790_000_000_000,
        host: host.into(),
        stream,
        line: line.into(),
        open,
        points: Vec::new(),
    }
}

fn texts(lines: &[sagedesk::job::LogLine]) -> Vec<String> {
    lines.iter().map(|l| l.text.clone()).collect()
}

#[test]
fn lines_of_several_hosts_are_read_by_row_counted_and_searched() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let mut writer = store.log_writer("job").unwrap();
    // 10,000 lines from two hosts, interleaved, written in uneven batches so that blocks
    // fill and roll over mid-batch.
    let all: Vec<Record> = (0..10_000)
        .map(|i| {
            let host = if i % 3 == 0 { "algo-2" } else { "algo-1" };
            let stream = if i % 10 == 0 {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            record(host, stream, format!("line {i} loss={}", i % 97), false)
        })
        .collect();
    for batch in all.chunks(777) {
        store.write_log(&mut writer, "job", &[], batch).unwrap();
    }
    assert_eq!(store.log_count("job", None).unwrap(), 10_000);
    assert_eq!(store.log_count("job", Some("algo-2")).unwrap(), 3_334);
    assert_eq!(store.log_count("job", Some("algo-1")).unwrap(), 6_666);
    assert_eq!(store.log_hosts("job").unwrap(), ["algo-1", "algo-2"]);
    assert_eq!(store.log_count("other", None).unwrap(), 0);

    let rows = store.log_rows("job", None, 4_998..5_003).unwrap();
    assert_eq!(
        texts(&rows),
        (4_998..5_003)
            .map(|i| format!("line {i} loss={}", i % 97))
            .collect::<Vec<_>>()
    );
    assert_eq!(rows[0].id, 4_999);
    assert_eq!(rows[2].stream, Stream::Stderr);
    assert_eq!(rows[0].host, "algo-2");
    // Host rows: algo-2 holds lines 0, 3, 6, ...
    let host_rows = store.log_rows("job", Some("algo-2"), 1_000..1_002).unwrap();
    assert_eq!(
        texts(&host_rows),
        ["line 3000 loss=90", "line 3003 loss=93"]
    );
    // Past the end: fewer lines.
    assert_eq!(store.log_rows("job", None, 9_998..20_000).unwrap().len(), 2);

    let hits = store.search_log("job", None, "LOSS=96", 10).unwrap();
    let expected: Vec<u64> = (0..10_000).filter(|i| i % 97 == 96).collect();
    assert_eq!(hits.total, expected.len() as u64);
    assert_eq!(hits.rows, expected[..10]);
    let hits = store
        .search_log("job", Some("algo-2"), "line 3003 ", 10)
        .unwrap();
    assert_eq!((hits.rows.clone(), hits.total), (vec![1_001], 1));
    assert_eq!(store.search_log("job", None, "", 10).unwrap().total, 0);

    let tail = store.stderr_tail("job", "algo-1", 3).unwrap();
    assert_eq!(
        tail,
        [
            "line 9950 loss=56",
            "line 9970 loss=76",
            "line 9980 loss=86"
        ]
    );
}

/// Search reads only the blocks whose trigram filter may hold the text: it finds exactly
/// the lines a scan of every line finds, whatever the case, in blocks with and without a
/// filter, and through letters that fold to non-ASCII ones.
#[test]
fn a_filtered_search_finds_what_a_full_scan_finds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let mut writer = store.log_writer("job").unwrap();
    let line = |i: u64| match i % 5_000 {
        17 => format!("step {i} ERROR: CUDA out of memory"),
        18 => format!("step {i} \u{212A}eyboard interrupt"),
        _ => format!(
            "step {i} epoch {} loss={:.4}",
            i / 1_000,
            1.0 / (i as f64 + 1.0)
        ),
    };
    let all: Vec<Record> = (0..60_000)
        .map(|i| record("algo-1", Stream::Stdout, line(i), false))
        .collect();
    for batch in all.chunks(4_096) {
        store.write_log(&mut writer, "job", &[], batch).unwrap();
    }
    for needle in [
        "cuda OUT of",
        "error",
        "epoch 42 ",
        "keyboard interrupt",
        "EYBOARD",
        "step 59999 ",
        "no such text",
    ] {
        let lower = needle.to_lowercase();
        let expected: Vec<u64> = (0..60_000)
            .filter(|&i| {
                let text = line(i).replace('\u{212A}', "k").to_lowercase();
                text.contains(&lower)
            })
            .collect();
        let hits = store.search_log("job", None, needle, usize::MAX).unwrap();
        assert_eq!(hits.rows, expected, "{needle}");
    }
}

#[test]
fn a_redrawn_line_is_replaced_in_place_and_keeps_its_raw_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let mut writer = store.log_writer("job").unwrap();
    let write = |writer: &mut _, records: Vec<Record>| {
        store.write_log(writer, "job", &[], &records).unwrap();
    };
    write(
        &mut writer,
        vec![
            record("algo-1", Stream::Stdout, "epoch 1", false),
            record("algo-1", Stream::Stderr, "\r 10%|#", true),
        ],
    );
    assert_eq!(store.log_count("job", None).unwrap(), 2);
    // stdout goes on while stderr's bar is redrawn; then more lines than a block holds, so
    // the open line's block is no longer the one being filled.
    write(
        &mut writer,
        vec![
            record("algo-1", Stream::Stderr, "\r 10%|#\r 50%|#####", true),
            record("algo-1", Stream::Stdout, "step", false),
        ],
    );
    let filler: Vec<Record> = (0..5_000)
        .map(|i| record("algo-1", Stream::Stdout, format!("filler {i}"), false))
        .collect();
    write(&mut writer, filler);
    write(
        &mut writer,
        vec![record(
            "algo-1",
            Stream::Stderr,
            "\r 10%|#\r 50%|#####\r100%|##########",
            false,
        )],
    );
    assert_eq!(store.log_count("job", None).unwrap(), 5_003);
    let rows = store.log_rows("job", None, 0..4).unwrap();
    assert_eq!(
        texts(&rows),
        [
            "epoch 1",
            "\r 10%|#\r 50%|#####\r100%|##########",
            "step",
            "filler 0"
        ]
    );
    // A writer started later (another process) goes on after the stored lines.
    let mut later = store.log_writer("job").unwrap();
    write(
        &mut later,
        vec![record("algo-1", Stream::Stdout, "last", false)],
    );
    let end = store.log_rows("job", None, 5_002..5_010).unwrap();
    assert_eq!(texts(&end), ["filler 4999", "last"]);
    assert_eq!(end[1].id, 5_004);
}

#[test]
fn a_store_with_a_row_per_line_is_moved_to_blocks_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE logs (id INTEGER PRIMARY KEY, job TEXT NOT NULL, ts INTEGER NOT NULL,
                                host TEXT NOT NULL, stream INTEGER NOT NULL, line TEXT NOT NULL);
             CREATE INDEX logs_by_job ON logs(job, id);",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        for i in 0..50_000i64 {
            let job = if i % 2 == 0 { "a" } else { "b" };
            tx.execute(
                "INSERT INTO logs (job, ts, host, stream, line) VALUES (?1, ?2, 'algo-1', ?3, ?4)",
                rusqlite::params![
                    job,
                    1_790_000_000_000i64 + i,
                    i % 5 == 0,
                    format!("old {i}")
                ],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.log_count("a", None).unwrap(), 25_000);
    assert_eq!(store.log_count("b", None).unwrap(), 25_000);
    let rows = store.log_rows("b", None, 24_999..25_000).unwrap();
    assert_eq!(texts(&rows), ["old 49999"]);
    let first = store.log_rows("a", None, 0..1).unwrap();
    assert_eq!(first[0].stream, Stream::Stderr);
    assert_eq!(first[0].timestamp.timestamp_millis(), 1_790_000_000_000);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'logs'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "the old table is dropped");
}

/// A chatty job's line: about 90 bytes, with the step, losses and rates that change.
pub fn chatty_line(i: u64) -> String {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
    let mut next = || {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 29;
        x % 1_000_000
    };
    format!(
        "[step {i:>8}] epoch {:>3} loss={:.6} acc={:.4} lr=3.0e-04 grad_norm={:.4} tok/s={}",
        i / 10_000,
        next() as f64 / 1e6,
        next() as f64 / 1e6,
        next() as f64 / 1e5,
        40_000 + next() % 5_000
    )
}

#[test]
fn a_chatty_jobs_lines_cost_at_most_120_bytes_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = Store::open(&path).unwrap();
    let empty = std::fs::metadata(&path).unwrap().len();
    let mut writer = store
        .log_writer("a-training-job-2026-11-23-10-00-00-000")
        .unwrap();
    let lines = 200_000u64;
    let mut text_bytes = 0;
    let records: Vec<Record> = (0..lines)
        .map(|i| {
            let line = chatty_line(i);
            text_bytes += line.len() + 1;
            Record {
                ts: 1_790_000_000_000 + i as i64 / 3,
                ..record("algo-1", Stream::Stdout, line, false)
            }
        })
        .collect();
    // Batches as the recorder sees them from a fast job: a pipe read (~700 lines) each.
    for batch in records.chunks(700) {
        store
            .write_log(
                &mut writer,
                "a-training-job-2026-11-23-10-00-00-000",
                &[],
                batch,
            )
            .unwrap();
    }
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let size = std::fs::metadata(&path).unwrap().len() - empty;
    let per_line = size as f64 / lines as f64;
    let text = text_bytes as f64 / lines as f64;
    eprintln!("{per_line:.1} bytes stored per {text:.1}-byte line");
    assert!((85.0..95.0).contains(&text), "{text}");
    assert!(per_line <= 120.0, "{per_line} bytes a line");
}
