//! Metric extraction throughput: log lines per second with 40 metric definitions.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sagedesk::request::MetricDefinition;
use sagedesk::request::metrics::MetricExtractor;

fn definitions(n: usize) -> Vec<MetricDefinition> {
    (0..n)
        .map(|i| MetricDefinition {
            name: Some(format!("train:metric_{i:02}")),
            regex: Some(format!(
                r"metric_{i:02}=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
            )),
            ..Default::default()
        })
        .collect()
}

/// A training log: mostly framework chatter, one line in ten carrying a few metrics.
fn log_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 10 {
            0 => format!(
                "[{i}] epoch={} metric_03={:.5} metric_17={:.4} metric_39={}",
                i / 100,
                1.0 / (i as f64 + 1.0),
                (i % 97) as f64 * 0.01,
                i
            ),
            1 => format!("INFO:root:Step {i}/100000, throughput 1532.2 samples/s, lr 0.001"),
            2 => "WARNING:tensorflow:Callback method `on_train_batch_end` is slow".to_string(),
            3 => format!("{i}it [00:12, 81.02it/s]"),
            _ => format!(
                "2026-11-22 03:41:{:02} algo-1 data loader worker {} prefetched batch {i}",
                i % 60,
                i % 8
            ),
        })
        .collect()
}

fn extraction(c: &mut Criterion) {
    let extractor = MetricExtractor::new(&definitions(40)).expect("definitions compile");
    let lines = log_lines(100_000);
    let mut group = c.benchmark_group("metric_extraction");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("40_definitions_100k_lines", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for line in &lines {
                extractor.extract(line, |_, _| found += 1);
            }
            assert_eq!(found, 30_000);
            found
        })
    });
    group.finish();
}

criterion_group!(benches, extraction);
criterion_main!(benches);
