//! Background loops (delay levels, timers) retry a failing step every tick. A lasting
//! failure, such as a full disk, would log the same line ten times a second; this logs
//! it when it starts or changes, and once more when the step works again.

use std::fmt::Display;

/// The last failure a retrying loop reported.
#[derive(Debug, Default)]
pub struct RepeatedError {
    last: Option<String>,
}

impl RepeatedError {
    /// Records one round's outcome of the step `what`, logging only changes.
    pub fn observe<E: Display>(&mut self, what: impl Display, outcome: Result<(), E>) {
        match outcome {
            Ok(()) => {
                if let Some(error) = self.last.take() {
                    tracing::info!(%error, "{what} works again");
                }
            }
            Err(error) => {
                let text = error.to_string();
                if self.last.as_deref() != Some(text.as_str()) {
                    tracing::error!(error = %text, "{what} failed; retrying every tick");
                    self.last = Some(text);
                }
            }
        }
    }

    /// Whether the step is failing now.
    #[cfg(test)]
    fn failing(&self) -> bool {
        self.last.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_failure_until_the_step_works_again() {
        let mut errors = RepeatedError::default();
        errors.observe("step", Err("disk full"));
        errors.observe("step", Err("disk full"));
        assert!(errors.failing());
        errors.observe::<&str>("step", Ok(()));
        assert!(!errors.failing());
    }
}
