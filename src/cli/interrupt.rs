//! Ctrl+C for commands that wait: one listener made before the wait, so that a Ctrl+C
//! pressed while the command is busy between two looks (reading the job, listing trials)
//! is kept for the next look instead of lost.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The Ctrl+Cs (SIGINT) from the moment it was made.
pub struct Interrupts(Option<Signal>);

impl Interrupts {
    /// Listens from now on; where signals cannot be listened to, it never fires.
    pub fn listen() -> Self {
        Self(signal(SignalKind::interrupt()).ok())
    }

    /// The next Ctrl+C: at once for one pressed since the last was taken.
    pub async fn next(&mut self) {
        match &mut self.0 {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
}
