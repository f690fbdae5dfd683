//! Tailing a job's CloudWatch Logs: the streams of `/aws/sagemaker/TrainingJobs` whose names
//! start with `<job>/`, each read forward from its own token, merged by time.

use crate::backend::paging::Pager;
use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::Client;
use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::backend::sdk::from_sdk;
use crate::backend::{BackendError, ErrorKind};
use crate::job::{Cursor, LogLine, LogPage, Stream};

/// The log group SageMaker training jobs write to.
pub const LOG_GROUP: &str = "/aws/sagemaker/TrainingJobs";
/// Known streams are read again without `DescribeLogStreams` for this long: a new host's
/// stream shows up within it, and a log read every few seconds costs one call, not two.
const STREAMS_FRESH_MS: i64 = 10_000;

/// What the cursor remembers: each stream's forward token and how many lines were handed out.
#[derive(Debug, Default, Serialize, Deserialize)]
struct TailState {
    /// Lines handed out so far; the next line's id is one more.
    seq: i64,
    /// `nextForwardToken` by stream name.
    tokens: BTreeMap<String, String>,
    /// The job's streams when last described, and when (epoch milliseconds).
    #[serde(default)]
    streams: Vec<String>,
    #[serde(default)]
    streams_at: i64,
}

/// The host a stream belongs to: `<job>/algo-1-1700000000` (host and start time in
/// epoch seconds) is `algo-1`.
pub fn host_of(job: &str, stream: &str) -> String {
    let rest = stream
        .strip_prefix(job)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(stream);
    match rest.rsplit_once('-') {
        Some((host, stamp)) if stamp.len() >= 9 && stamp.bytes().all(|b| b.is_ascii_digit()) => {
            host.to_string()
        }
        _ => rest.to_string(),
    }
}

/// New events of every stream of `job` after `cursor`: about `limit` lines (whole pages of
/// `GetLogEvents`), in time order. A job that has not logged yet has no lines.
pub async fn tail(
    client: &Client,
    job: &str,
    cursor: &Cursor,
    limit: usize,
) -> Result<LogPage, BackendError> {
    let mut state: TailState = if cursor.is_start() {
        TailState::default()
    } else {
        serde_json::from_str(cursor.as_str()).unwrap_or_default()
    };
    let now = chrono::Utc::now().timestamp_millis();
    if state.streams.is_empty() || now - state.streams_at >= STREAMS_FRESH_MS {
        state.streams = match streams(client, job).await {
            Ok(streams) => streams,
            Err(e) if e.kind == ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        state.streams_at = now;
    }
    let streams = state.streams.clone();
    let mut events = Vec::new();
    for stream in streams {
        if events.len() >= limit {
            break;
        }
        let host = host_of(job, &stream);
        let mut token = state.tokens.get(&stream).cloned();
        loop {
            let page = client
                .get_log_events()
                .log_group_name(LOG_GROUP)
                .log_stream_name(&stream)
                .start_from_head(true)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(from_sdk)?;
            for event in page.events() {
                events.push((
                    event.timestamp().unwrap_or(0),
                    host.clone(),
                    event
                        .message()
                        .unwrap_or_default()
                        .trim_end_matches(['\r', '\n'])
                        .to_string(),
                ));
            }
            let next = page.next_forward_token().map(str::to_string);
            let repeated = next.is_none() || next == token;
            token = next.or(token);
            if repeated || page.events().is_empty() || events.len() >= limit {
                break;
            }
        }
        if let Some(token) = token {
            state.tokens.insert(stream, token);
        }
    }
    events.sort_by_key(|e| e.0);
    let lines = events
        .into_iter()
        .map(|(ms, host, text)| {
            state.seq += 1;
            LogLine {
                id: state.seq,
                timestamp: DateTime::from_timestamp_millis(ms).unwrap_or_default(),
                host,
                stream: Stream::Stdout,
                text,
            }
        })
        .collect();
    let next_cursor = Cursor::new(serde_json::to_string(&state).expect("plain data"));
    Ok(LogPage { lines, next_cursor })
}

/// The names of the job's streams.
async fn streams(client: &Client, job: &str) -> Result<Vec<String>, BackendError> {
    let mut names = Vec::new();
    let mut token = None;
    let mut pager = Pager::new(format!("DescribeLogStreams {LOG_GROUP} {job}/"));
    loop {
        let page = client
            .describe_log_streams()
            .log_group_name(LOG_GROUP)
            .log_stream_name_prefix(format!("{job}/"))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(from_sdk)?;
        names.extend(
            page.log_streams()
                .iter()
                .filter_map(|s| s.log_stream_name().map(str::to_string)),
        );
        token = pager.next(page.next_token())?;
        if token.is_none() {
            return Ok(names);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_from_stream_names() {
        assert_eq!(host_of("j", "j/algo-1-1700000000"), "algo-1");
        assert_eq!(host_of("j", "j/algo-12-1700000001"), "algo-12");
        assert_eq!(host_of("j", "j/algo-2"), "algo-2");
        assert_eq!(host_of("j-1", "j-1/worker"), "worker");
    }
}
