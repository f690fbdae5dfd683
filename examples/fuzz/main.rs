//! Feeds hostile inputs to SageDesk's parsers and reports panics and broken properties.
//!
//! `cargo run --release --example fuzz -- --cases 1000000 [--seed N]`; exit 1 on any failure.

#![allow(clippy::unwrap_used)]

mod targets;

fn main() -> std::process::ExitCode {
    let mut cases: u64 = 100_000;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.replace('_', "").parse().ok());
        match (arg.as_str(), value) {
            ("--cases", Some(n)) => cases = n,
            ("--seed", Some(n)) => seed = n,
            _ => {
                eprintln!("usage: fuzz [--cases N] [--seed N]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let scratch = std::env::temp_dir().join(format!("sagedesk-fuzz-{}", std::process::id()));
    let outcome = targets::run(cases, seed, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "{:<46} {:>9} {:>7} {:>7}",
        "target", "cases", "panics", "broken"
    );
    for (target, (n, panics, broken)) in targets::TARGETS.iter().zip(&outcome.counts) {
        println!("{:<46} {n:>9} {panics:>7} {broken:>7}", target.name);
    }
    println!(
        "{} cases, {} failures, {:.1} s (seed {seed})",
        outcome.cases(),
        outcome.failed(),
        outcome.elapsed.as_secs_f64()
    );
    for failure in &outcome.failures {
        println!("  {failure}");
    }
    if outcome.failed() == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
