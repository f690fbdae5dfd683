//! CI's share of the fuzz runner (`examples/fuzz`): 10,000 hostile cases over every
//! parser, with no panic and no broken property.

#![allow(clippy::unwrap_used)]

#[path = "../examples/fuzz/targets.rs"]
mod targets;

#[test]
fn ten_thousand_hostile_inputs_break_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let outcome = targets::run(10_000, 20261123, scratch.path());
    assert_eq!(outcome.cases(), 10_000);
    assert!(
        outcome.counts.iter().all(|c| c.0 > 0),
        "every target ran: {:?}",
        outcome.counts
    );
    assert_eq!(outcome.failed(), 0, "{:#?}", outcome.failures);
}
