//! Hostile inputs for every parser that reads what a user or a service hands SageDesk:
//! request import (JSON and DescribeTrainingJob shapes), the validator, the tar.gz lister
//! and unpacker, the hyperparameter argv renderer, the metric extractor, the response
//! parsers (DescribeTrainingJob, log stream names, XML) and S3 keys turned into paths.
//! Inputs are random or mutated from real ones, from a seed, so a failing case replays.
//! Shared by `examples/fuzz` (any number of cases) and `tests/fuzz.rs` (CI's run).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use sagedesk::backend::archive::{list_tar_gz, resolve_beneath, unpack_tar_gz};
use sagedesk::backend::aws::logs::host_of;
use sagedesk::backend::aws::training::detail_from_describe;
use sagedesk::backend::local::contract::LocalChecks;
use sagedesk::backend::local::pyvalue::{PyValue, to_cmd_args};
use sagedesk::backend::s3::key_path;
use sagedesk::backend::sdk::lean::{xml_all, xml_text};
use sagedesk::request::metrics::MetricExtractor;
use sagedesk::request::validate::{Target, validate_value};
use sagedesk::request::{MetricDefinition, parse_request, request_from_value, to_cli_input_json};
use sagedesk::ui::state::State;

/// A small, fast generator (splitmix64): the same seed gives the same cases.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, in_n: usize) -> bool {
        self.below(in_n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Names from the API and the contract, so random values reach deep code paths.
const KEYS: &[&str] = &[
    "TrainingJobName",
    "AlgorithmSpecification",
    "TrainingImage",
    "TrainingInputMode",
    "MetricDefinitions",
    "Name",
    "Regex",
    "HyperParameters",
    "Environment",
    "RoleArn",
    "InputDataConfig",
    "ChannelName",
    "DataSource",
    "S3DataSource",
    "S3Uri",
    "S3DataType",
    "S3DataDistributionType",
    "OutputDataConfig",
    "S3OutputPath",
    "ResourceConfig",
    "InstanceType",
    "InstanceCount",
    "VolumeSizeInGB",
    "InstanceGroups",
    "StoppingCondition",
    "MaxRuntimeInSeconds",
    "MaxWaitTimeInSeconds",
    "CheckpointConfig",
    "LocalPath",
    "Tags",
    "Key",
    "Value",
    "VpcConfig",
    "Subnets",
    "SecurityGroupIds",
    "EnableManagedSpotTraining",
    "sagemaker_program",
    "sagemaker_submit_directory",
    "TrainingJobStatus",
    "SecondaryStatus",
    "SecondaryStatusTransitions",
    "Status",
    "StartTime",
    "EndTime",
    "StatusMessage",
    "CreationTime",
    "TrainingStartTime",
    "TrainingEndTime",
    "FinalMetricDataList",
    "MetricName",
    "Timestamp",
    "FailureReason",
    "ModelArtifacts",
    "S3ModelArtifacts",
    "BillableTimeInSeconds",
    "TrainingTimeInSeconds",
    "TrainingJobArn",
    "RetryStrategy",
];

/// Strings that break naive code: empty, huge, path tricks, quotes, control bytes, unicode.
const NASTY: &[&str] = &[
    "",
    " ",
    "..",
    "../..",
    "/",
    "//",
    "/etc/passwd",
    "a/../../b",
    "./",
    "\0",
    "\u{202e}",
    "\"",
    "'",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ":",
    "%",
    "$(rm -rf ~)",
    "`id`",
    "-1",
    "0",
    "1e999",
    "NaN",
    "-0.0",
    "18446744073709551616",
    "9223372036854775807",
    "true",
    "null",
    "İ",
    "ß",
    "🦀",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "ml.m5.large",
    "s3://bucket/key",
    "s3://",
    "file://",
    "file:///tmp",
    "arn:aws:iam::123456789012:role/x",
    "local",
    "py",
];

fn nasty_string(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => rng.pick(NASTY).to_string(),
        1 => rng.pick(KEYS).to_string(),
        2 => "x".repeat(rng.below(4000)),
        3 => (0..rng.below(40))
            .map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'))
            .collect(),
        4 => format!("{}{}", rng.pick(NASTY), rng.pick(NASTY)),
        _ => (0..rng.below(24))
            .map(|_| (b' ' + rng.below(95) as u8) as char)
            .collect(),
    }
}

fn random_json(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 4 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(2)),
        2 => json!(rng.next() as i64 >> rng.below(64)),
        3 => json!(
            f64::from_bits(rng.next())
                .is_finite()
                .then(|| rng.next() as f64 / 7.0)
        ),
        4 => Value::String(nasty_string(rng)),
        5 | 6 => {
            let mut map = Map::new();
            for _ in 0..rng.below(8) {
                let key = if rng.chance(4) {
                    nasty_string(rng)
                } else {
                    rng.pick(KEYS).to_string()
                };
                map.insert(key, random_json(rng, depth + 1));
            }
            Value::Object(map)
        }
        _ => Value::Array(
            (0..rng.below(6))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
    }
}

/// Changes a few members of a real value: replaced, removed, retyped or duplicated.
fn mutate_json(rng: &mut Rng, value: &mut Value, depth: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for _ in 0..=rng.below(3) {
                let keys: Vec<String> = map.keys().cloned().collect();
                if keys.is_empty() {
                    break;
                }
                let key = rng.pick(&keys).clone();
                match rng.below(5) {
                    0 => {
                        map.remove(&key);
                    }
                    1 => {
                        map.insert(key, random_json(rng, depth + 1));
                    }
                    2 => {
                        map.insert(rng.pick(KEYS).to_string(), random_json(rng, depth + 1));
                    }
                    _ => mutate_json(rng, map.get_mut(&key).expect("a key"), depth + 1),
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.below(items.len());
            match rng.below(3) {
                0 => items.push(items[i].clone()),
                1 => {
                    items.remove(i);
                }
                _ => mutate_json(rng, &mut items[i], depth + 1),
            }
        }
        other => *other = random_json(rng, depth + 1),
    }
}

/// Flips, inserts, deletes and splices bytes of `seed`.
fn mutate_bytes(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if at < out.len() => out[at] ^= 1 << rng.below(8),
            1 => out.insert(at.min(out.len()), rng.next() as u8),
            2 if at < out.len() => {
                let end = (at + rng.below(64)).min(out.len());
                out.drain(at..end);
            }
            3 => {
                let token = rng.pick(NASTY).as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            4 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(128)).min(out.len());
                let chunk = out[start..end].to_vec();
                out.splice(at..at, chunk);
            }
            _ => out.truncate(at),
        }
    }
    out
}

/// Real inputs to mutate: the test fixtures (requests and a DescribeTrainingJob answer).
pub struct Seeds {
    texts: Vec<String>,
    values: Vec<Value>,
}

impl Seeds {
    /// The fixtures under `tests/fixtures`.
    pub fn load() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the fixtures").flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                texts.push(std::fs::read_to_string(entry.path()).expect("a fixture"));
            }
        }
        texts.sort();
        let values = texts
            .iter()
            .filter_map(|t| serde_json::from_str(t).ok())
            .collect();
        Seeds { texts, values }
    }

    fn value(&self, rng: &mut Rng) -> Value {
        if rng.chance(5) {
            return random_json(rng, 0);
        }
        let mut value = rng.pick(&self.values).clone();
        for _ in 0..=rng.below(3) {
            mutate_json(rng, &mut value, 0);
        }
        value
    }
}

/// One target: its name, its share of the cases and the check of one case.
pub struct FuzzTarget {
    /// Shown in the report.
    pub name: &'static str,
    /// Relative share of the cases.
    pub weight: usize,
    /// Runs one case; `Err` names a broken property (a panic is caught apart).
    pub case: fn(&mut Rng, &Seeds, &Path) -> Result<(), String>,
}

fn import_json(rng: &mut Rng, seeds: &Seeds, _: &Path) -> Result<(), String> {
    let text = if rng.chance(2) {
        let seed = rng.pick(&seeds.texts).as_bytes();
        String::from_utf8_lossy(&mutate_bytes(rng, seed)).into_owned()
    } else {
        seeds.value(rng).to_string()
    };
    if let Ok(imported) = parse_request(&text, "fuzz") {
        let again = to_cli_input_json(&imported.request);
        let back = parse_request(&again, "fuzz").map_err(|e| format!("export unreadable: {e}"))?;
        if back.request != imported.request {
            return Err("a request changed through export and import".into());
        }
    }
    Ok(())
}

fn import_describe(rng: &mut Rng, seeds: &Seeds, _: &Path) -> Result<(), String> {
    let value = seeds.value(rng);
    let _ = request_from_value(value.clone(), "fuzz");
    let _ = detail_from_describe(value);
    Ok(())
}

fn validate(rng: &mut Rng, seeds: &Seeds, _: &Path) -> Result<(), String> {
    let value = seeds.value(rng);
    let checks = LocalChecks::default();
    for target in [Target::Aws, Target::Local] {
        for d in validate_value(&value, target, Some(&checks)) {
            if d.message.is_empty() {
                return Err(format!("a diagnostic without a message at {}", d.path));
            }
        }
    }
    Ok(())
}

/// A tar header (ustar) for `name`, of `kind`, claiming `size` bytes, linking to `link`.
fn tar_header(name: &[u8], kind: u8, size: u64, link: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    let size = format!("{size:011o}");
    h[124..124 + size.len().min(11)].copy_from_slice(&size.as_bytes()[..size.len().min(11)]);
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let sum = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(sum.as_bytes());
    h
}

/// A crafted archive: entries with `..`, absolute names, links out and in, sizes past the
/// stream, long names, then gzip, sometimes cut short or flipped.
fn crafted_archive(rng: &mut Rng) -> Vec<u8> {
    const NAMES: &[&str] = &[
        "model.pth",
        "a/b.txt",
        "../escape.txt",
        "/abs.txt",
        "a/../../up.txt",
        "./ok.txt",
        "link",
        "link/inside.txt",
        "dir/",
        "dir/../../x",
        "",
        ".",
        "..",
    ];
    let mut tar = Vec::new();
    for _ in 0..=rng.below(6) {
        let name: Vec<u8> = if rng.chance(6) {
            nasty_string(rng).into_bytes()
        } else {
            rng.pick(NAMES).as_bytes().to_vec()
        };
        let kind = *rng.pick(b"000521xL36");
        let link = rng
            .pick(&["..", "/etc", "a", "../..", "dir", "link", "/"])
            .as_bytes();
        let body: Vec<u8> = (0..rng.below(700)).map(|_| rng.next() as u8).collect();
        let claimed = if rng.chance(5) {
            rng.next() % (1 << 33)
        } else {
            body.len() as u64
        };
        tar.extend_from_slice(&tar_header(&name, kind, claimed, link));
        tar.extend_from_slice(&body);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    if !rng.chance(4) {
        tar.extend_from_slice(&[0u8; 1024]);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("in memory");
    let mut bytes = gz.finish().expect("in memory");
    match rng.below(5) {
        0 => bytes.truncate(rng.below(bytes.len() + 1)),
        1 => bytes = mutate_bytes(rng, &bytes),
        _ => {}
    }
    bytes
}

fn tar_list(rng: &mut Rng, _: &Seeds, _: &Path) -> Result<(), String> {
    let bytes = crafted_archive(rng);
    let listing = list_tar_gz(std::io::Cursor::new(&bytes));
    if listing.entries.len() > 200_000 {
        return Err("a listing past its bound".into());
    }
    Ok(())
}

/// Every path under `root`, as the walk finds it (links not followed).
fn walk(root: &Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(root) {
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.clone());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&path, out);
            }
        }
    }
}

fn tar_unpack(rng: &mut Rng, _: &Seeds, scratch: &Path) -> Result<(), String> {
    let case = scratch.join(format!("case-{}", rng.next()));
    let dest = case.join("chosen");
    std::fs::create_dir_all(&case).map_err(|e| e.to_string())?;
    let archive = case.join("crafted.tar.gz");
    std::fs::write(&archive, crafted_archive(rng)).map_err(|e| e.to_string())?;
    let _ = unpack_tar_gz(&archive, &dest, 1 << 30);
    let mut found = Vec::new();
    walk(&case, &mut found);
    let outside: Vec<_> = found
        .iter()
        .filter(|p| !p.starts_with(&dest) && **p != archive && **p != dest)
        .collect();
    let result = if outside.is_empty() {
        Ok(())
    } else {
        Err(format!("written outside the chosen folder: {outside:?}"))
    };
    let _ = std::fs::remove_dir_all(&case);
    result
}

/// An archive of chained relative links (`s2 → .`, `s1 → s2/..`, …) and files written
/// through them: nothing lands outside the chosen folder, and every link left there resolves
/// inside it.
fn tar_link_chain(rng: &mut Rng, _: &Seeds, scratch: &Path) -> Result<(), String> {
    let case = scratch.join(format!("chain-{}", rng.next()));
    let dest = case.join("chosen");
    std::fs::create_dir_all(&case).map_err(|e| e.to_string())?;
    let archive = case.join("chain.tar.gz");
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&archive).map_err(|e| e.to_string())?,
        flate2::Compression::fast(),
    ));
    let targets = [".", "..", "../..", "x", "/tmp", "d", "d/.."];
    for _ in 0..=rng.below(10) {
        let n = rng.below(6);
        let target = if rng.chance(2) {
            format!("s{}/{}", rng.below(6), rng.pick(&["..", ".", "../..", ""]))
        } else {
            rng.pick(&targets).to_string()
        };
        let mut header = tar::Header::new_gnu();
        if rng.chance(3) {
            let body = b"through a link\n";
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            let name = format!("s{n}/{}", rng.pick(&["f.txt", "../f.txt", "d/f.txt"]));
            let _ = builder.append_data(&mut header, &name, &body[..]);
        } else {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            let _ = builder.append_link(&mut header, format!("s{n}"), &target);
        }
    }
    builder
        .into_inner()
        .and_then(|gz| gz.finish())
        .map_err(|e| e.to_string())?;
    let _ = unpack_tar_gz(&archive, &dest, 1 << 20);
    let mut found = Vec::new();
    walk(&case, &mut found);
    let mut broken: Vec<String> = found
        .iter()
        .filter(|p| !p.starts_with(&dest) && **p != archive && **p != dest)
        .map(|p| format!("written outside: {}", p.display()))
        .collect();
    for path in found.iter().filter(|p| p.starts_with(&dest)) {
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        let rel = path.strip_prefix(&dest).unwrap_or(path);
        if is_link && resolve_beneath(&dest, rel).is_none() {
            broken.push(format!("a link leads out: {}", rel.display()));
        }
    }
    let _ = std::fs::remove_dir_all(&case);
    if broken.is_empty() {
        Ok(())
    } else {
        Err(broken.join("; "))
    }
}

/// The window's persisted state from any JSON: it loads or is refused, and once loaded
/// every value is within its range.
fn window_state(rng: &mut Rng, _: &Seeds, _: &Path) -> Result<(), String> {
    const FIELDS: &[&str] = &[
        "list_interval_seconds",
        "log_interval_seconds",
        "smoothing",
        "search",
        "compare",
        "sources",
        "selection",
        "tab",
    ];
    let mut state = Map::new();
    for _ in 0..rng.below(6) {
        let value = match rng.below(6) {
            0 => json!(u64::MAX),
            1 => json!(rng.next()),
            2 => json!(f64::MAX),
            3 => json!(-1e300),
            4 => json!(nasty_string(rng)),
            _ => random_json(rng, 2),
        };
        state.insert(rng.pick(FIELDS).to_string(), value);
    }
    let Ok(loaded) = serde_json::from_value::<State>(Value::Object(state)) else {
        return Ok(());
    };
    let state = loaded.sanitized();
    let ok = (1..=3600).contains(&state.list_interval_seconds)
        && (1..=3600).contains(&state.log_interval_seconds)
        && state.smoothing.is_finite()
        && (0.0..1.0).contains(&state.smoothing)
        && state.search.chars().count() <= 1000;
    if ok {
        Ok(())
    } else {
        Err(format!("out of range after loading: {state:?}"))
    }
}

fn argv(rng: &mut Rng, _: &Seeds, _: &Path) -> Result<(), String> {
    let pairs: Vec<(String, PyValue)> = (0..rng.below(8))
        .map(|_| {
            let raw = if rng.chance(2) {
                random_json(rng, 2).to_string()
            } else {
                nasty_string(rng)
            };
            (nasty_string(rng), PyValue::decode_hyperparameter(&raw))
        })
        .collect();
    let args = to_cmd_args(&pairs);
    if args.len() != 2 * pairs.len() {
        return Err(format!(
            "{} args for {} hyperparameters",
            args.len(),
            pairs.len()
        ));
    }
    Ok(())
}

/// Regexes users write, and ones written to hurt.
const REGEXES: &[&str] = &[
    r"loss=([0-9.]+)",
    r"acc: ([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)",
    r"(a+)+$",
    r"(?<=x)(\d+)",
    r"(\d+)\1",
    r"(",
    r"[",
    r"\",
    r"(?P<v>\d+)",
    r"^.*$",
    r"(.*)(.*)(.*)(.*)(.*)",
    r"(\w+\s?)*$",
    r"((((((((((\d))))))))))",
    r"loss",
    r"",
    r"(?i)LOSS=(\S+)",
    r"(x{1000000})",
];

fn metrics(rng: &mut Rng, _: &Seeds, _: &Path) -> Result<(), String> {
    let definitions: Vec<MetricDefinition> = (0..=rng.below(3))
        .filter_map(|_| {
            let regex = if rng.chance(3) {
                let seed = rng.pick(REGEXES).as_bytes();
                String::from_utf8_lossy(&mutate_bytes(rng, seed)).into_owned()
            } else {
                rng.pick(REGEXES).to_string()
            };
            serde_json::from_value(json!({"Name": nasty_string(rng), "Regex": regex})).ok()
        })
        .collect();
    let Ok(extractor) = MetricExtractor::new(&definitions) else {
        return Ok(());
    };
    for _ in 0..4 {
        let line = match rng.below(3) {
            0 => format!(
                "loss={} acc: {}",
                nasty_string(rng),
                rng.next() as f64 / 3.0
            ),
            1 => "a".repeat(rng.below(20_000)) + "!",
            _ => nasty_string(rng),
        };
        extractor.extract(&line, |i, _| assert!(i < definitions.len()));
    }
    Ok(())
}

fn responses(rng: &mut Rng, _: &Seeds, _: &Path) -> Result<(), String> {
    let _ = host_of(&nasty_string(rng), &nasty_string(rng));
    let xml = match rng.below(3) {
        0 => nasty_string(rng),
        1 => String::from_utf8_lossy(&mutate_bytes(
            rng,
            b"<R><Role><Arn>arn:aws:iam::1:role/x</Arn><A>&amp;&lt;&#x41;&#65;</A></Role></R>",
        ))
        .into_owned(),
        _ => format!("<{0}>{1}</{0}>", nasty_string(rng), nasty_string(rng)),
    };
    let tag = rng.pick(&["Arn", "A", "Role", "", "<", "R"]).to_string();
    let _ = xml_text(&xml, &tag);
    let _ = xml_all(&xml, &tag);
    Ok(())
}

fn s3_keys(rng: &mut Rng, _: &Seeds, _: &Path) -> Result<(), String> {
    let key: String = (0..=rng.below(5))
        .map(|_| {
            rng.pick(&["..", ".", "", "a", "/", "b.csv", "//", "\\..", "..."])
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(if rng.chance(2) { "/" } else { "" });
    let key = if rng.chance(4) {
        nasty_string(rng)
    } else {
        key
    };
    if let Some(relative) = key_path(&key) {
        let dest = Path::new("/chosen/folder");
        let joined = dest.join(&relative);
        let clean = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !clean || !joined.starts_with(dest) {
            return Err(format!("key {key:?} lands at {}", joined.display()));
        }
    }
    Ok(())
}

/// Every target and its share.
pub const TARGETS: &[FuzzTarget] = &[
    FuzzTarget {
        name: "request import (JSON text)",
        weight: 20,
        case: import_json,
    },
    FuzzTarget {
        name: "request import (DescribeTrainingJob shapes)",
        weight: 15,
        case: import_describe,
    },
    FuzzTarget {
        name: "validator (AWS and local)",
        weight: 15,
        case: validate,
    },
    FuzzTarget {
        name: "tar.gz lister (crafted headers)",
        weight: 12,
        case: tar_list,
    },
    FuzzTarget {
        name: "tar.gz unpack (writes stay inside)",
        weight: 1,
        case: tar_unpack,
    },
    FuzzTarget {
        name: "tar.gz link chains (links resolve inside)",
        weight: 1,
        case: tar_link_chain,
    },
    FuzzTarget {
        name: "persisted window state (values in range)",
        weight: 5,
        case: window_state,
    },
    FuzzTarget {
        name: "hyperparameter argv renderer",
        weight: 12,
        case: argv,
    },
    FuzzTarget {
        name: "metric extractor (hostile regexes)",
        weight: 10,
        case: metrics,
    },
    FuzzTarget {
        name: "response parsers (describe, streams, XML)",
        weight: 10,
        case: responses,
    },
    FuzzTarget {
        name: "S3 keys to download paths",
        weight: 5,
        case: s3_keys,
    },
];

/// What a run found, by target.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `(cases, panics, broken properties)` by target, in [`TARGETS`] order.
    pub counts: Vec<(u64, u64, u64)>,
    /// The first failures: target, case number and what happened.
    pub failures: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
}

impl Outcome {
    /// Cases run in all.
    pub fn cases(&self) -> u64 {
        self.counts.iter().map(|c| c.0).sum()
    }

    /// Panics and broken properties in all.
    pub fn failed(&self) -> u64 {
        self.counts.iter().map(|c| c.1 + c.2).sum()
    }
}

/// Runs `cases` cases from `seed`, spread over the targets by weight; a panic is caught,
/// counted and named with its case number.
pub fn run(cases: u64, seed: u64, scratch: &Path) -> Outcome {
    let seeds = Seeds::load();
    let total: usize = TARGETS.iter().map(|t| t.weight).sum();
    let mut outcome = Outcome {
        counts: vec![(0, 0, 0); TARGETS.len()],
        ..Outcome::default()
    };
    let started = Instant::now();
    let hook = std::panic::take_hook();
    // Where a case panicked, for its report (the message comes with the payload).
    static WHERE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    std::panic::set_hook(Box::new(|info| {
        if let Some(at) = info.location() {
            *WHERE.lock().unwrap_or_else(|e| e.into_inner()) = at.to_string();
        }
    }));
    for n in 0..cases {
        let mut rng = Rng::new(seed ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let mut pick = rng.below(total);
        let index = TARGETS
            .iter()
            .position(|t| {
                let hit = pick < t.weight;
                pick = pick.saturating_sub(t.weight);
                hit
            })
            .expect("weights cover the range");
        let target = &TARGETS[index];
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (target.case)(&mut rng, &seeds, scratch)
        }));
        let count = &mut outcome.counts[index];
        count.0 += 1;
        let failure = match result {
            Ok(Ok(())) => None,
            Ok(Err(broken)) => {
                count.2 += 1;
                Some(broken)
            }
            Err(panic) => {
                count.1 += 1;
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let at = WHERE.lock().unwrap_or_else(|e| e.into_inner()).clone();
                Some(format!("panic at {at}: {text}"))
            }
        };
        if let Some(what) = failure
            && outcome.failures.len() < 20
        {
            outcome
                .failures
                .push(format!("{} case {n} (seed {seed}): {what}", target.name));
        }
    }
    std::panic::set_hook(hook);
    outcome.elapsed = started.elapsed();
    outcome
}
