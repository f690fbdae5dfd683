//! Estimated costs of AWS jobs as the window shows them: a job's cost (list column,
//! Compare table), or what the estimate waits for, or why there is none; and the total
//! of a set of rows.

use std::borrow::Cow;

use super::data::Data;
use crate::job::text::group_digits;
use crate::job::{Billing, Status};
use crate::job::{Connection, JobRef};

/// A job's estimated cost.
#[derive(Debug, Clone, PartialEq)]
pub enum Estimate {
    /// Instance count × billable hours × on-demand price, in USD.
    Usd(f64),
    /// Not known yet: what it waits for.
    Waiting(&'static str),
    /// Cannot be estimated: why.
    Unknown(String),
}

impl Estimate {
    /// The amount, when known.
    pub fn usd(&self) -> Option<f64> {
        match self {
            Self::Usd(usd) => Some(*usd),
            _ => None,
        }
    }

    /// The list cell's text.
    pub fn short(&self) -> String {
        match self {
            Self::Usd(usd) => format_usd(*usd),
            Self::Waiting(what) => (*what).to_string(),
            Self::Unknown(_) => "not known".into(),
        }
    }
}

/// `$0.42`, `$12.30`, `$1,234`.
pub fn format_usd(usd: f64) -> String {
    if usd < 1000.0 {
        return format!("${usd:.2}");
    }
    format!("${}", group_digits(&format!("{usd:.0}")))
}

/// The cost of a set of jobs: what is known and how many are not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Total {
    /// Sum of the known estimates, in USD.
    pub usd: f64,
    /// Jobs in the sum.
    pub priced: usize,
    /// Jobs whose estimate waits (running, billing or price being read).
    pub waiting: usize,
    /// Jobs that cannot be estimated.
    pub unknown: usize,
}

impl Total {
    /// Adds one job's estimate.
    pub fn add(&mut self, estimate: &Estimate) {
        match estimate {
            Estimate::Usd(usd) => {
                self.usd += usd;
                self.priced += 1;
            }
            Estimate::Waiting(_) => self.waiting += 1,
            Estimate::Unknown(_) => self.unknown += 1,
        }
    }

    /// `$12.30 for 4 AWS jobs · 1 waiting · 1 not known`, or `Cost: 2 waiting` before
    /// any is known.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if self.priced > 0 {
            let plural = if self.priced == 1 { "" } else { "s" };
            parts.push(format!(
                "{} for {} AWS job{plural}",
                format_usd(self.usd),
                self.priced
            ));
        }
        if self.waiting > 0 {
            parts.push(format!("{} waiting", self.waiting));
        }
        if self.unknown > 0 {
            parts.push(format!("{} not known", self.unknown));
        }
        let text = parts.join(" · ");
        if self.priced == 0 {
            format!("Cost: {text}")
        } else {
            text
        }
    }
}

impl Data {
    /// The Price List's answer for `instance_type` as read for `source`.
    pub fn price(
        &self,
        source: &Connection,
        instance_type: &str,
    ) -> Option<&Result<crate::job::InstancePrice, String>> {
        self.prices.get(source)?.get(instance_type)
    }

    /// The on-demand price of `instance_type` in USD an hour as read for `source`, else as
    /// any other connection read it; `None` until one has.
    pub fn hourly_price(&self, source: &Connection, instance_type: &str) -> Option<f64> {
        let ok = |price: &Result<crate::job::InstancePrice, String>| {
            price.as_ref().ok().map(|p| p.usd_per_hour)
        };
        self.price(source, instance_type).and_then(ok).or_else(|| {
            self.prices
                .values()
                .filter_map(|prices| prices.get(instance_type))
                .find_map(ok)
        })
    }

    /// The estimated cost of `job` (in `status`); `None` for jobs that run on this
    /// machine.
    pub fn estimate(
        &self,
        job: &JobRef,
        status: Status,
        selected: Option<&JobRef>,
    ) -> Option<Estimate> {
        self.estimate_of(&job.source, &job.name, status, selected)
    }

    /// The estimated cost of the job `name` of `source`.
    pub fn estimate_of(
        &self,
        source: &Connection,
        name: &str,
        status: Status,
        selected: Option<&JobRef>,
    ) -> Option<Estimate> {
        self.estimator(source, selected)(name, status)
    }

    /// Estimates jobs of `source` one after another (the list's rows): its listing and
    /// prices are found once, and nothing is copied for a row.
    pub fn estimator<'a>(
        &'a self,
        source: &'a Connection,
        selected: Option<&'a JobRef>,
    ) -> impl Fn(&str, Status) -> Option<Estimate> + 'a {
        let aws = source.is_aws();
        let listed = self.source(source);
        let prices = self.prices.get(source);
        let last_price = std::cell::Cell::new(None);
        // The jobs whose detail is read (selected, compared) of this source, found once.
        let selected = selected
            .filter(|j| j.source == *source)
            .map(|j| j.name.as_str());
        let compared: Vec<(&str, &crate::job::JobDetail)> = self
            .compared
            .iter()
            .filter(|(j, _)| j.source == *source)
            .filter_map(|(j, c)| Some((j.name.as_str(), c.detail.as_ref()?)))
            .collect();
        move |name, status| {
            if !aws {
                return None;
            }
            let running = !status.is_terminal();
            let Some(billing) = self.billing(listed, name, selected, &compared) else {
                return Some(Estimate::Waiting(if running {
                    "running"
                } else {
                    "reading…"
                }));
            };
            let Some((instance_type, _)) = billing.billed_instances() else {
                return Some(Estimate::Unknown(
                    "runs on several instance types (or none is set)".into(),
                ));
            };
            // Rows mostly share an instance type: the last one looked up is kept.
            let found = match last_price.get() {
                Some((t, p)) if t == instance_type => Some(p),
                _ => {
                    let found = prices.and_then(|p| p.get_key_value(instance_type));
                    last_price.set(found.map(|(t, p)| (t.as_str(), p)));
                    found.map(|(_, p)| p)
                }
            };
            let price = match found {
                None => return Some(Estimate::Waiting("reading price…")),
                Some(Err(why)) => {
                    return Some(Estimate::Unknown(format!("the Price List answered {why}")));
                }
                Some(Ok(price)) => price,
            };
            Some(match billing.estimated_cost(price) {
                Some(usd) => Estimate::Usd(usd),
                None if running => Estimate::Waiting("running"),
                None => Estimate::Unknown("the service reports no billable time".into()),
            })
        }
    }

    /// What the job `name` (listed in `listed`) is billed for, as last read: the selected
    /// or a compared job's detail, else the list's billing read for the cost column
    /// (borrowed, not copied).
    fn billing<'a>(
        &'a self,
        listed: Option<&'a super::data::SourceData>,
        name: &str,
        selected: Option<&str>,
        compared: &[(&str, &crate::job::JobDetail)],
    ) -> Option<Cow<'a, Billing>> {
        if selected == Some(name)
            && let Some(detail) = &self.detail
            && detail.summary.name == name
        {
            return Some(Cow::Owned(detail.billing()));
        }
        if let Some((_, detail)) = compared.iter().find(|(n, _)| *n == name) {
            return Some(Cow::Owned(detail.billing()));
        }
        listed?.billing.get(name).map(Cow::Borrowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_like_money() {
        assert_eq!(format_usd(0.4231), "$0.42");
        assert_eq!(format_usd(999.994), "$999.99");
        assert_eq!(format_usd(1234.4), "$1,234");
        assert_eq!(format_usd(1_234_567.0), "$1,234,567");
    }

    #[test]
    fn a_total_counts_what_it_leaves_out() {
        let mut total = Total::default();
        total.add(&Estimate::Usd(1.5));
        total.add(&Estimate::Usd(2.0));
        total.add(&Estimate::Waiting("running"));
        total.add(&Estimate::Unknown("no price".into()));
        assert_eq!(
            total.text(),
            "$3.50 for 2 AWS jobs · 1 waiting · 1 not known"
        );
        let unpriced = Total {
            waiting: 2,
            ..Total::default()
        };
        assert_eq!(unpriced.text(), "Cost: 2 waiting");
    }
}
