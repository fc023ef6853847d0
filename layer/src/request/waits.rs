//! [`StreamWaits`]: how long a streamed gRPC-Web request body may keep the call waiting
//! for its client: each message must arrive whole within the body read timeout of its
//! first bytes, and the next message (or the end of the body) must start within the
//! request idle timeout of the last one.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

use crate::request_error::RequestError;

/// What the body is waiting for while its client sends nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// The rest of a message, the `n`th whole one being the last before it.
    Message(usize),
    /// The start of the next message, or the end of the body.
    Next,
}

/// The timers of a streamed request body. Armed only while the body waits for its
/// client (the backend asked for more and nothing is buffered), so a backend that is slow
/// to take messages never counts against the client.
#[derive(Debug, Default)]
pub(crate) struct StreamWaits {
    message: Option<Duration>,
    idle: Option<Duration>,
    armed: Option<(Wait, Pin<Box<Sleep>>)>,
}

impl StreamWaits {
    /// Waits limited to `message` (for the rest of a started message) and `idle` (between
    /// messages); `None`: not limited.
    pub(crate) fn new(message: Option<Duration>, idle: Option<Duration>) -> Self {
        Self {
            message,
            idle,
            armed: None,
        }
    }

    /// Bytes came from the client: a wait for the next message is over, and so is a wait
    /// for the rest of a message once `messages` (whole messages so far) has moved on.
    pub(crate) fn received(&mut self, messages: usize) {
        if self
            .armed
            .as_ref()
            .is_some_and(|(wait, _)| *wait != Wait::Message(messages))
        {
            self.armed = None;
        }
    }

    /// The client has nothing for the body now: `Ready` with the error once the wait has
    /// lasted too long. `partial`: part of a message is in; `messages`: whole ones so far.
    pub(crate) fn poll_expired(
        &mut self,
        cx: &mut Context<'_>,
        partial: bool,
        messages: usize,
    ) -> Poll<RequestError> {
        let (wait, limit) = if partial {
            (Wait::Message(messages), self.message)
        } else {
            (Wait::Next, self.idle)
        };
        let Some(limit) = limit else {
            self.armed = None;
            return Poll::Pending;
        };
        let timer = match &mut self.armed {
            Some((armed, timer)) if *armed == wait => timer,
            armed => {
                let (_, timer) = armed.insert((
                    wait,
                    Box::pin(tokio::time::sleep(crate::deadline::clamp(limit))),
                ));
                timer
            }
        };
        match timer.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(match wait {
                Wait::Message(_) => RequestError::MessageTimeout { timeout: limit },
                Wait::Next => RequestError::IdleTimeout { timeout: limit },
            }),
        }
    }
}
