//! An HTTP relay in front of moto. It passes every request through, except:
//! - CloudWatch's rpc-v2-cbor requests (`POST /service/GraniteServiceVersion20100801/operation/
//!   <Op>`), which moto does not serve: they are translated to CloudWatch's JSON protocol
//!   (`POST /`, `X-Amz-Target`), and moto's JSON answers (timestamps and errors included) back
//!   to CBOR, so moto still holds the data and computes the statistics;
//! - the next `throttle` requests for a chosen JSON target, answered with ThrottlingException;
//! - the jobs given a scripted life (`run_job`): their describe and list answers move through
//!   the stages, and `StopTrainingJob` stops them (see `life.rs`);
//! - the tuning jobs given a scripted search (`run_tuning_job`): their trials are listed,
//!   their description and summary follow them, and `StopHyperParameterTuningJob` stops them
//!   (see `search_life.rs`);
//! - the Price List's `GetProducts`, answered with the prices it is given (moto has none);
//! - CloudWatch operations given to `deny`, answered with AccessDeniedException;
//! - STS `AssumeRole`, answered with AccessDenied once `refuse_assume_role` is called (moto
//!   lets anyone assume any role, where most real roles trust only SageMaker).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::cbor;
use super::life::{self, Life};
use super::search_life::{self, ScriptedTrial, SearchLife};

use ciborium::Value as Cbor;
use serde_json::Value as Json;

const CBOR_PREFIX: &str = "/service/GraniteServiceVersion20100801/operation/";
#[derive(Default)]
struct Shared {
    upstream: AtomicU16,
    stop: AtomicBool,
    /// `(X-Amz-Target suffix, requests left to throttle)`.
    throttle: Mutex<(String, usize)>,
    /// Requests seen, by operation (`X-Amz-Target`, or the CBOR operation).
    seen: Mutex<Vec<String>>,
    throttled: AtomicUsize,
    /// Scripted lives, by job name.
    lives: Mutex<HashMap<String, Life>>,
    /// Scripted searches, by tuning job name.
    searches: Mutex<HashMap<String, SearchLife>>,
    /// On-demand training prices (USD an hour) by instance type, for `GetProducts`.
    prices: Mutex<HashMap<String, f64>>,
    /// Training quotas by instance type, for `ListServiceQuotas`.
    quotas: Mutex<HashMap<String, f64>>,
    /// `AssumeRole` is refused.
    refuse_assume_role: AtomicBool,
    /// CloudWatch operations answered with AccessDeniedException.
    denied: Mutex<Vec<String>>,
}

/// A running relay.
pub struct Relay {
    shared: Arc<Shared>,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Relay {
    /// Relays to `127.0.0.1:<upstream>`.
    pub fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        shared.upstream.store(upstream, Ordering::SeqCst);
        let accept = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = accept.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self { shared, port }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers the next `count` requests whose `X-Amz-Target` ends with `target` with
    /// `ThrottlingException`.
    pub fn throttle(&self, target: &str, count: usize) {
        *self.shared.throttle.lock().unwrap() = (target.to_string(), count);
    }

    /// How many requests were answered with ThrottlingException.
    pub fn throttled(&self) -> usize {
        self.shared.throttled.load(Ordering::SeqCst)
    }

    /// Gives the job `name` a life from now: Starting, Downloading, Training, Uploading,
    /// Completed, `stage` each.
    pub fn run_job(&self, name: &str, stage: Duration) {
        self.shared
            .lives
            .lock()
            .unwrap()
            .insert(name.to_string(), Life::new(stage));
    }

    /// Gives the job `name` a life from now that fails with the service's `reason` where it
    /// would have completed.
    pub fn fail_job(&self, name: &str, stage: Duration, reason: &str) {
        self.shared
            .lives
            .lock()
            .unwrap()
            .insert(name.to_string(), Life::failing(stage, reason));
    }

    /// Gives the tuning job `name` (created on moto) a scripted search from now: `trials` in
    /// waves of `parallel`, `stage` a wave, each ending with its value of `metric`.
    pub fn run_tuning_job(
        &self,
        name: &str,
        trials: Vec<ScriptedTrial>,
        parallel: usize,
        stage: Duration,
        metric: &str,
    ) {
        self.shared.searches.lock().unwrap().insert(
            name.to_string(),
            SearchLife::new(trials, parallel, stage, metric),
        );
    }

    /// Gives the scripted job `name` a warm pool in `status` (after [`Relay::run_job`]).
    pub fn warm_pool(&self, name: &str, status: &str) {
        if let Some(life) = self.shared.lives.lock().unwrap().get_mut(name) {
            life.warm_pool = Some(status.to_string());
        }
    }

    /// Answers `GetProducts` for `instance_type` with an on-demand training price.
    pub fn price(&self, instance_type: &str, usd_per_hour: f64) {
        self.shared
            .prices
            .lock()
            .unwrap()
            .insert(instance_type.to_string(), usd_per_hour);
    }

    /// Answers `ListServiceQuotas` with a training quota of `value` instances of
    /// `instance_type`.
    pub fn quota(&self, instance_type: &str, value: f64) {
        self.shared
            .quotas
            .lock()
            .unwrap()
            .insert(instance_type.to_string(), value);
    }

    /// Answers every CloudWatch `operation` (`GetMetricData`, ...) with AccessDeniedException,
    /// as for a user without the permission.
    pub fn deny(&self, operation: &str) {
        self.shared
            .denied
            .lock()
            .unwrap()
            .push(operation.to_string());
    }

    /// Answers every STS `AssumeRole` with AccessDenied, as a role that trusts only
    /// `sagemaker.amazonaws.com` does.
    pub fn refuse_assume_role(&self) {
        self.shared.refuse_assume_role.store(true, Ordering::SeqCst);
    }

    /// How many requests of `operation` (`ListTrainingJobs`, ...) were seen so far.
    pub fn count(&self, operation: &str) -> usize {
        let suffix = format!(".{operation}");
        self.seen()
            .iter()
            .filter(|t| *t == operation || t.ends_with(&suffix))
            .count()
    }

    /// Operations seen so far.
    pub fn seen(&self) -> Vec<String> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[derive(Clone)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn serve(stream: TcpStream, shared: &Shared) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader, &mut writer) {
        let answer = if let Some(op) = request.path.strip_prefix(CBOR_PREFIX) {
            let op = op.to_string();
            shared.seen.lock().unwrap().push(op.clone());
            cbor_call(&request, &op, shared)
        } else {
            let target = request
                .header("x-amz-target")
                .unwrap_or_default()
                .to_string();
            shared.seen.lock().unwrap().push(target.clone());
            let mut throttle = shared.throttle.lock().unwrap();
            // STS speaks the query protocol (`Action=AssumeRole`) or JSON (`X-Amz-Target`).
            const ASSUME_ROLE: &[u8] = b"Action=AssumeRole";
            let assume_role = request
                .body
                .windows(ASSUME_ROLE.len())
                .any(|w| w == ASSUME_ROLE)
                || target.ends_with(".AssumeRole");
            if assume_role && shared.refuse_assume_role.load(Ordering::SeqCst) {
                drop(throttle);
                Some(sts_access_denied())
            } else if throttle.1 > 0 && !target.is_empty() && target.ends_with(throttle.0.as_str())
            {
                throttle.1 -= 1;
                shared.throttled.fetch_add(1, Ordering::SeqCst);
                Some(json_throttling())
            } else {
                drop(throttle);
                scripted(&request, &target, shared)
            }
        };
        // No answer from upstream: drop the connection, as a dead server would.
        let Some(response) = answer else { return };
        let head_only = request.method == "HEAD";
        if write_response(&mut writer, &response, head_only).is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead, writer: &mut impl Write) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    request.body = vec![0; length];
    reader.read_exact(&mut request.body).ok()?;
    Some(request)
}

fn write_response(w: &mut impl Write, r: &Response, head_only: bool) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} Relayed\r\n", r.status);
    for (k, v) in &r.headers {
        let skip = ["connection", "transfer-encoding", "keep-alive"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
            || (!head_only && k.eq_ignore_ascii_case("content-length"));
        if !skip {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !head_only {
        head.push_str(&format!("content-length: {}\r\n", r.body.len()));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    if !head_only {
        w.write_all(&r.body)?;
    }
    w.flush()
}

/// Forwards a JSON request, rewriting the answers about scripted jobs and answering
/// `StopTrainingJob` for them itself.
fn scripted(request: &Request, target: &str, shared: &Shared) -> Option<Response> {
    let body: Json = serde_json::from_slice(&request.body).unwrap_or(Json::Null);
    if target.ends_with(".GetProducts") {
        return price_list(&body, shared);
    }
    if target.ends_with(".ListServiceQuotas") {
        return service_quotas(shared);
    }
    if let Some(answer) = search_life::answer(&mut shared.searches.lock().unwrap(), &body, target) {
        return Some(json_response(200, &answer));
    }
    if target.ends_with(".StopTrainingJob") {
        let name = body["TrainingJobName"].as_str().unwrap_or_default();
        if let Some(life) = shared.lives.lock().unwrap().get_mut(name) {
            life.stop();
            return Some(json_response(200, &Json::Object(Default::default())));
        }
    }
    // A status filter is applied after the scripted jobs' statuses are: moto's own are not
    // theirs.
    let status = body["StatusEquals"].as_str().map(str::to_string);
    let forwarded = match &status {
        Some(_) if target.ends_with(".ListTrainingJobs") => {
            let mut unfiltered = body.clone();
            unfiltered.as_object_mut().unwrap().remove("StatusEquals");
            let mut copy = request.clone();
            copy.body = serde_json::to_vec(&unfiltered).unwrap();
            for (k, v) in &mut copy.headers {
                if k.eq_ignore_ascii_case("content-length") {
                    *v = copy.body.len().to_string();
                }
            }
            copy
        }
        _ => request.clone(),
    };
    let mut response = forward(&forwarded, shared)?;
    if response.status == 200
        && let Ok(mut answer) = serde_json::from_slice::<Json>(&response.body)
    {
        let mut changed = life::rewrite(&shared.lives.lock().unwrap(), target, &mut answer);
        changed |= search_life::rewrite(&shared.searches.lock().unwrap(), target, &mut answer);
        if let (Some(status), Some(list)) = (&status, answer["TrainingJobSummaries"].as_array_mut())
        {
            list.retain(|j| j["TrainingJobStatus"] == status.as_str());
            changed = true;
        }
        if changed {
            response.body = serde_json::to_vec(&answer).unwrap();
        }
    }
    Some(response)
}

/// A `GetProducts` answer: the price given for the filter's `instanceName` as a Price List
/// product (with a hosting product beside it that must not be taken), or
/// `ValidationException` when there is none, as the service without products answers empty.
fn price_list(body: &Json, shared: &Shared) -> Option<Response> {
    let field = |name: &str| {
        body["Filters"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["Field"] == name))
            .and_then(|f| f["Value"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (instance, region) = (field("instanceName"), field("regionCode"));
    let prices = shared.prices.lock().unwrap();
    let Some(usd) = prices.get(&instance) else {
        let denied = serde_json::json!({"__type": "AccessDeniedException",
            "message": "User is not authorized to perform: pricing:GetProducts"});
        return Some(json_response(400, &denied));
    };
    let product = |usage: &str, usd: f64| {
        serde_json::json!({
            "product": {"attributes": {"usagetype": usage, "instanceName": instance, "regionCode": region}},
            "terms": {"OnDemand": {"SKU.TERM": {"priceDimensions": {"SKU.TERM.RATE": {
                "unit": "Hrs", "pricePerUnit": {"USD": format!("{usd:.10}")}}}}}}
        })
        .to_string()
    };
    let answer = serde_json::json!({
        "FormatVersion": "aws_v1",
        "PriceList": [product(&format!("USE1-Host:{instance}"), usd * 2.0), product(&format!("USE1-Train:{instance}"), *usd)],
    });
    Some(json_response(200, &answer))
}

/// A `ListServiceQuotas` answer for SageMaker: the training quotas given, on two pages (the
/// first with an unrelated quota only), as the service pages its many quotas.
fn service_quotas(shared: &Shared) -> Option<Response> {
    let quotas: Vec<Json> = shared
        .quotas
        .lock()
        .unwrap()
        .iter()
        .map(|(t, v)| serde_json::json!({"QuotaName": format!("{t} for training job usage"), "Value": v}))
        .collect();
    let seen = shared.seen.lock().unwrap();
    let page = seen
        .iter()
        .filter(|t| t.ends_with(".ListServiceQuotas"))
        .count();
    let answer = if page % 2 == 1 {
        serde_json::json!({"Quotas": [{"QuotaName": "Number of endpoints", "Value": 10.0}], "NextToken": "page-2"})
    } else {
        serde_json::json!({"Quotas": quotas})
    };
    Some(json_response(200, &answer))
}

/// An answer in the JSON protocol.
fn json_response(status: u16, body: &Json) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
        body: body.to_string().into_bytes(),
    }
}

/// Sends the request to moto as HTTP/1.0 and reads the whole answer; `None` when moto is not
/// there.
fn forward(request: &Request, shared: &Shared) -> Option<Response> {
    let port = shared.upstream.load(Ordering::SeqCst);
    let mut upstream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let mut head = format!("{} {} HTTP/1.0\r\n", request.method, request.path);
    for (k, v) in &request.headers {
        let hop = ["connection", "keep-alive", "expect", "transfer-encoding"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h));
        if !hop {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    upstream.write_all(head.as_bytes()).ok()?;
    upstream.write_all(&request.body).ok()?;
    let mut raw = Vec::new();
    upstream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// STS's refusal of `AssumeRole` (a query-protocol XML error).
fn sts_access_denied() -> Response {
    Response {
        status: 403,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: b"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
            <Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
            arn:aws:iam::123456789012:user/moto is not authorized to perform: sts:AssumeRole \
            </Message></Error><RequestId>1</RequestId></ErrorResponse>"
            .to_vec(),
    }
}

fn json_throttling() -> Response {
    Response {
        status: 400,
        headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
        body: br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_vec(),
    }
}

/// One CloudWatch call: CBOR in, JSON to moto, JSON back, CBOR out.
fn cbor_call(request: &Request, op: &str, shared: &Shared) -> Option<Response> {
    if shared.denied.lock().unwrap().iter().any(|d| d == op) {
        let message = format!("User is not authorized to perform: cloudwatch:{op}");
        let body = cbor::encode(&cbor::error("AccessDeniedException", &message));
        return Some(Response {
            status: 400,
            headers: vec![
                ("content-type".into(), "application/cbor".into()),
                ("smithy-protocol".into(), "rpc-v2-cbor".into()),
            ],
            body,
        });
    }
    let input = if request.body.is_empty() {
        Json::Object(Default::default())
    } else {
        let value: Cbor = ciborium::from_reader(request.body.as_slice()).ok()?;
        cbor::to_json(&value)
    };
    let body = serde_json::to_vec(&input).unwrap();
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(k, _)| {
            [
                "host",
                "authorization",
                "x-amz-date",
                "x-amz-security-token",
                "user-agent",
            ]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
        })
        .cloned()
        .collect();
    headers.push(("Content-Type".into(), "application/x-amz-json-1.0".into()));
    headers.push((
        "X-Amz-Target".into(),
        format!("GraniteServiceVersion20100801.{op}"),
    ));
    headers.push(("Content-Length".into(), body.len().to_string()));
    let json_request = Request {
        method: "POST".into(),
        path: "/".into(),
        headers,
        body,
    };
    let answer = forward(&json_request, shared)?;
    let value: Json = if answer.body.iter().all(u8::is_ascii_whitespace) {
        Json::Object(Default::default())
    } else {
        serde_json::from_slice(&answer.body).unwrap_or_else(|_| {
            serde_json::json!({"__type": "InternalFailure", "message": String::from_utf8_lossy(&answer.body)})
        })
    };
    let value = if answer.status >= 400 {
        let code = value
            .get("__type")
            .or_else(|| value.pointer("/Error/Code"))
            .and_then(Json::as_str)
            .unwrap_or("InternalFailure");
        let code = code.rsplit('#').next().unwrap_or(code);
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Json::as_str)
            .unwrap_or_default();
        cbor::error(code, message)
    } else {
        cbor::from_json(&value)
    };
    let body = cbor::encode(&value);
    Some(Response {
        status: answer.status,
        headers: vec![
            ("content-type".into(), "application/cbor".into()),
            ("smithy-protocol".into(), "rpc-v2-cbor".into()),
        ],
        body,
    })
}
