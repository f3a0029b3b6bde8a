//! The time budget of one operation: every stage of it (credentials, attempts, waits between
//! them) takes from the same budget, and none runs past its end.

use std::{task::Poll, time::Duration};

use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};

/// The time an operation may take, all stages included, and what is left of it.
///
/// The client starts one per operation from `retry.deadline_secs`; the token request and the
/// login that an operation needs take from the same budget, and whatever they leave is what
/// its attempts may use.
///
/// ```
/// use std::{task::Poll, time::Duration};
/// use thingspace_core::Budget;
///
/// let budget = Budget::new(Some(Duration::from_secs(10)));
/// assert!(budget.remaining().is_some_and(|left| left <= Duration::from_secs(10)));
/// assert_eq!(Budget::unlimited().remaining(), None);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    limit: Option<Duration>,
    ends: Option<Instant>,
}

impl Budget {
    /// A budget of `limit` from now (`None`: no limit).
    pub fn new(limit: Option<Duration>) -> Self {
        // A limit too far away to represent is no limit.
        let ends = limit.and_then(|l| Instant::now().checked_add(l));
        Self {
            limit: limit.filter(|_| ends.is_some()),
            ends,
        }
    }

    /// No limit.
    pub fn unlimited() -> Self {
        Self::new(None)
    }

    /// The time left (zero once spent), or `None` without a limit.
    pub fn remaining(&self) -> Option<Duration> {
        self.ends
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// True once the budget is spent.
    pub fn is_spent(&self) -> bool {
        self.remaining().is_some_and(|left| left.is_zero())
    }

    /// True when waiting `delay` would end past the budget.
    pub fn would_pass(&self, delay: Duration) -> bool {
        self.remaining().is_some_and(|left| delay >= left)
    }

    /// `timeout` cut to what is left of the budget.
    pub fn cap(&self, timeout: Option<Duration>) -> Option<Duration> {
        match (timeout, self.remaining()) {
            (Some(t), Some(left)) => Some(t.min(left)),
            (t, left) => t.or(left),
        }
    }

    /// True when the budget has a limit.
    pub fn limited(&self) -> bool {
        self.ends.is_some()
    }

    /// As [`run`](Self::run), cut `grace` after the budget's end (the error still names
    /// `step`): for a step whose own parts are bounded by the budget and say which part ran
    /// out, this bounds only what they do not.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn run_with_grace<T>(
        &self,
        step: &str,
        grace: Duration,
        future: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(left) = self.remaining() else {
            return future.await;
        };
        if left.is_zero() {
            return Err(self.spent(step));
        }
        // Most steps finish at once (a cached credential): those arm no timer.
        let mut future = std::pin::pin!(future);
        let first = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
        if let Poll::Ready(done) = first {
            return done;
        }
        tokio::time::timeout(left.saturating_add(grace), future)
            .await
            .unwrap_or_else(|_| Err(self.spent(step)))
    }

    /// Runs `step` (named in the error, such as `the login`) within what is left of the budget.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] naming `step` when the budget runs out first; `step`'s own error.
    pub async fn run<T>(&self, step: &str, future: impl Future<Output = Result<T>>) -> Result<T> {
        self.run_with_grace(step, Duration::ZERO, future).await
    }

    /// The error of a budget spent during `step`.
    pub fn spent(&self, step: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "the operation's time budget of {:.1} s ran out during {step} (retry.deadline_secs)",
                self.limit.unwrap_or_default().as_secs_f64()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_step_that_outlasts_the_budget_is_cut_at_its_end_and_named() {
        let budget = Budget::new(Some(Duration::from_secs(7)));
        let started = Instant::now();
        let e = budget
            .run("the login", async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            })
            .await
            .expect_err("cut");
        assert_eq!(started.elapsed(), Duration::from_secs(7));
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.to_string().contains("during the login"), "{e}");
        assert!(budget.is_spent());
        assert_eq!(
            budget.cap(Some(Duration::from_secs(30))),
            Some(Duration::ZERO)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_limit_nothing_is_cut() {
        let budget = Budget::unlimited();
        assert_eq!(
            budget.cap(Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert!(!budget.would_pass(Duration::from_secs(3600)));
        let v = budget
            .run("a step", async {
                tokio::time::sleep(Duration::from_secs(600)).await;
                Ok(5)
            })
            .await
            .expect("not cut");
        assert_eq!(v, 5);
    }
}
