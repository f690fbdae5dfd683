//! A fake AWS endpoint on 127.0.0.1 for the worker's tests and benchmark: STS says who the
//! caller is, SageMaker lists no jobs (or never answers), and S3 serves one big object
//! slowly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// The big object's size.
pub const SIZE: u64 = 200 << 20;

/// A fake AWS endpoint: STS says who the caller is, SageMaker lists no jobs, and
/// `GET /big-bucket/big.bin` sends 200 MiB at about 40 MiB/s. Each connection is one request.
/// With `silent_list`, SageMaker's calls are read and never answered (for 90 s).
pub fn serve(silent_list: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1000) {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || reply(stream, silent_list));
        }
    });
    url
}

fn reply(stream: std::net::TcpStream, silent_list: bool) {
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
