//! Hyperparameter tuning jobs run on this machine: the searched space, the search
//! strategies (`Random`, `Grid`, `Bayesian` over a Gaussian process, `Hyperband`), early
//! stopping, and the tuner that runs each trial as a local training job.

mod gp;
pub mod local;
pub mod rng;
pub mod search;
pub mod space;
pub mod stopping;
pub mod tuner;
