//! Metric extraction from log lines, as the service does with `MetricDefinitions`.

use regex::{Regex, RegexSet};

use super::MetricDefinition;

/// A metric definition that cannot be used, named by its member and metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DefinitionError(pub String);

/// Matches log lines against all metric definitions at once.
#[derive(Debug, Clone)]
pub struct MetricExtractor {
    set: RegexSet,
    regexes: Vec<Regex>,
    names: Vec<String>,
}

impl MetricExtractor {
    /// Compiles the definitions; a bad regex or a missing capture group is named in the error.
    pub fn new(definitions: &[MetricDefinition]) -> Result<Self, DefinitionError> {
        let mut regexes = Vec::with_capacity(definitions.len());
        let mut names = Vec::with_capacity(definitions.len());
        for (i, def) in definitions.iter().enumerate() {
            let name = def.name.clone().unwrap_or_default();
            let pattern = def.regex.as_deref().unwrap_or_default();
            let member = format!("AlgorithmSpecification.MetricDefinitions[{i}].Regex");
            let regex = Regex::new(pattern)
                .map_err(|e| DefinitionError(format!("{member} ({name}) does not compile: {e}")))?;
            if regex.captures_len() < 2 {
                return Err(DefinitionError(format!(
                    "{member} ({name}) has no capture group: wrap the value in ( )"
                )));
            }
            regexes.push(regex);
            names.push(name);
        }
        let set = RegexSet::new(regexes.iter().map(Regex::as_str))
            .map_err(|e| DefinitionError(format!("MetricDefinitions: {e}")))?;
        Ok(Self {
            set,
            regexes,
            names,
        })
    }

    /// The metric names, by definition index.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether there are no definitions.
    pub fn is_empty(&self) -> bool {
        self.regexes.is_empty()
    }

    /// Calls `found(definition index, value)` for each definition that matches `line`,
    /// with the first capture group that parses as a finite number.
    pub fn extract(&self, line: &str, mut found: impl FnMut(usize, f64)) {
        if self.regexes.is_empty() {
            return;
        }
        let matches = self.set.matches(line);
        if !matches.matched_any() {
            return;
        }
        for index in matches.iter() {
            let Some(caps) = self.regexes[index].captures(line) else {
                continue;
            };
            let value = caps
                .iter()
                .skip(1)
                .flatten()
                .find_map(|m| parse_number(m.as_str()));
            if let Some(value) = value {
                found(index, value);
            }
        }
    }
}

fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, regex: &str) -> MetricDefinition {
        MetricDefinition {
            name: Some(name.into()),
            regex: Some(regex.into()),
            ..Default::default()
        }
    }

    #[test]
    fn extracts_each_matching_definition() {
        let x = MetricExtractor::new(&[
            def("train:loss", r"loss=([0-9.eE+-]+)"),
            def("train:acc", r"accuracy=([0-9.]+)"),
            def("never", r"zzz=(\d+)"),
        ])
        .unwrap();
        let mut got = Vec::new();
        x.extract("epoch 3 loss=0.25 accuracy=0.9", |i, v| got.push((i, v)));
        assert_eq!(got, vec![(0, 0.25), (1, 0.9)]);
    }

    #[test]
    fn skips_groups_that_are_not_numbers() {
        let x = MetricExtractor::new(&[def("m", r"(epoch|value)=([^ ]+)")]).unwrap();
        let mut got = Vec::new();
        x.extract("value=1.5", |i, v| got.push((i, v)));
        assert_eq!(got, vec![(0, 1.5)]);
        got.clear();
        x.extract("value=abc", |i, v| got.push((i, v)));
        assert!(got.is_empty());
    }

    #[test]
    fn rejects_bad_definitions_by_member() {
        let e = MetricExtractor::new(&[def("ok", "a=(1)"), def("bad", "(")]).unwrap_err();
        assert!(e.0.contains("MetricDefinitions[1]"), "{e}");
        let e = MetricExtractor::new(&[def("nogroup", "loss=1")]).unwrap_err();
        assert!(e.0.contains("capture group"), "{e}");
    }
}
