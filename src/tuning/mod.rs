//! Hyperparameter search for tuning jobs run on this machine: the searched space, the
//! search strategies (`Random`, `Grid`, `Bayesian` over a Gaussian process, `Hyperband`)
//! and early stopping. The local backend's tuner (`backend::local::tuning`) runs them.

mod gp;
pub mod rng;
pub mod search;
pub mod space;
pub mod stopping;
