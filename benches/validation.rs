//! Validation speed: a full request checked against the model and every rule, as on each
//! keystroke in the builder.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use sagedesk::backend::local::contract::LocalChecks;
use sagedesk::request::parse_request;
use sagedesk::request::validate::{Target, validate, validate_value};

fn validation(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full-request.json");
    let text = std::fs::read_to_string(path).unwrap();
    let request = parse_request(&text, "full-request.json").unwrap().request;
    let value = request.to_value();
    // Compile the model's patterns once, as the app does at start-up.
    let _ = validate_value(&value, Target::Aws, None);

    let mut group = c.benchmark_group("validation");
    group.bench_function("full_request_aws", |b| {
        b.iter(|| validate(&request, Target::Aws, None))
    });
    group.bench_function("full_request_value_aws", |b| {
        b.iter(|| validate_value(&value, Target::Aws, None))
    });
    group.bench_function("full_request_local", |b| {
        b.iter(|| validate(&request, Target::Local, Some(&LocalChecks::default())))
    });
    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);
