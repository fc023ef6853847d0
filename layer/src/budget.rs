//! The proxy-wide budget for buffered request bytes (`limits.max_buffered_request_bytes`).
//!
//! A gRPC-Web request body holds bytes while a message is being assembled (a unary call's
//! whole message, before it is forwarded) and while whole frames wait for the backend to
//! take them. Every body reserves what it holds from one shared budget; a body that would
//! take the budget over its limit fails with RESOURCE_EXHAUSTED instead of waiting: a
//! body that waits keeps what it already holds, so calls that each hold part of a message
//! could wait on each other for ever.
//!
//! What a body reserves is counted after each chunk the client sent is taken in, so the
//! proxy may hold up to one more chunk (an HTTP/2 DATA frame, an HTTP/1.1 read) per call
//! than the budget says.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes buffered by request bodies, against a limit.
#[derive(Debug)]
pub struct RequestBudget {
    max: usize,
    used: AtomicUsize,
}

impl RequestBudget {
    /// A budget of `max` bytes.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            used: AtomicUsize::new(0),
        })
    }

    /// Bytes reserved now, by all bodies.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// What one body holds of a [`RequestBudget`]; given back when dropped.
#[derive(Debug, Default)]
pub struct Reservation {
    budget: Option<Arc<RequestBudget>>,
    held: usize,
}

/// A reservation refused: the budget's limit.
#[derive(Clone, Copy, Debug)]
pub struct OverBudget {
    /// The budget's limit.
    pub max: usize,
}

impl Reservation {
    /// A reservation of nothing from `budget` (no limit when `None`).
    pub fn new(budget: Option<Arc<RequestBudget>>) -> Self {
        Self { budget, held: 0 }
    }

    /// Makes the reservation `bytes`: grows it if the budget allows, else leaves it
    /// unchanged and fails; shrinking always succeeds.
    pub fn set(&mut self, bytes: usize) -> Result<(), OverBudget> {
        let Some(budget) = self.budget.as_ref() else {
            return Ok(());
        };
        if bytes <= self.held {
            budget.used.fetch_sub(self.held - bytes, Ordering::Relaxed);
            self.held = bytes;
            return Ok(());
        }
        let more = bytes - self.held;
        let grown = budget
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(more).filter(|&total| total <= budget.max)
            });
        match grown {
            Ok(_) => {
                self.held = bytes;
                Ok(())
            }
            Err(_) => Err(OverBudget { max: budget.max }),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let _ = self.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_limit_and_give_back_on_drop() {
        let budget = RequestBudget::new(100);
        let mut a = Reservation::new(Some(budget.clone()));
        let mut b = Reservation::new(Some(budget.clone()));
        a.set(60).unwrap();
        assert!(b.set(41).is_err());
        assert_eq!(budget.used(), 60, "a refused reservation takes nothing");
        b.set(40).unwrap();
        a.set(10).unwrap();
        b.set(90).unwrap();
        assert_eq!(budget.used(), 100);
        drop(a);
        drop(b);
        assert_eq!(budget.used(), 0);
        let mut unlimited = Reservation::new(None);
        unlimited.set(usize::MAX).unwrap();
    }
}
