//! Drives one call of the tower service over `fetch` (wasm32, feature `tower`): sends the
//! request, reads the body as a stream and feeds the protocol's [`ResponseDecoder`], and
//! enforces the deadline.
//!
//! The driver is a state machine moved on by JavaScript promise callbacks, not an `async`
//! function: a caller asks for the next message with [`Call::next`] and a reply callback;
//! the driver reads from the body until it has a message or the end, then replies. This
//! keeps the driver independent of an executor; the tower service wraps it in a `Future`.
//!
//! Cancellation (deadline or [`Call::cancel`]) records why, then aborts the
//! fetch; whichever promise is pending then fails and the recorded reason becomes the
//! status, so a raw `AbortError` or `TypeError` never reaches the caller.
//!
//! Every JS callback is one closure type (`FnMut(JsValue)` over a weak reference and an
//! [`Event`] tag) handed to JavaScript for good: the garbage collector frees it once the
//! promise or timer that holds it is gone, so a call dropped while a promise is pending
//! never sees a callback into freed memory.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::Bytes;
use grpcweb_protocol::framing::DEFAULT_MAX_FRAME_LEN;
use grpcweb_protocol::response::{Event as Decoded, ResponseDecoder};
use grpcweb_protocol::{Code, Status};
use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, Headers, ReadableStreamDefaultReader, RequestInit, Response};

use crate::error::RpcError;
use crate::metadata::Metadata;

pub(crate) mod js;

use js::{Fields, clear_timeout, header_map, js_error, set_timeout};

/// Everything needed to start a call.
pub(crate) struct CallSpec {
    pub(crate) fetch: Function,
    pub(crate) url: String,
    /// The request headers, complete (protocol headers included).
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
    pub(crate) timeout: Option<Duration>,
}

/// Receives the outcome of one [`Call::next`]: a message, `None` at a successful end, or
/// the error.
pub(crate) type Reply = Box<dyn FnOnce(Result<Option<Bytes>, RpcError>)>;

/// What a JS callback reports.
#[derive(Clone, Copy)]
enum Event {
    /// The pending promise (fetch or read) was fulfilled.
    Fulfilled,
    /// The pending promise was rejected.
    Rejected,
    /// The deadline timer fired.
    Expired,
}

enum Stage {
    /// The fetch promise is pending.
    Sent,
    /// The fetch settled.
    Fetched(Result<Response, JsValue>),
    /// Reading the body (when there is one); no read pending.
    Reading(Option<ReadableStreamDefaultReader>),
    /// A `read()` is pending.
    ReadPending(ReadableStreamDefaultReader),
    /// A `read()` settled.
    Read(ReadableStreamDefaultReader, Result<Fields, JsValue>),
    Done,
}

/// A call in flight; pull messages with [`Call::next`].
pub(crate) struct Call {
    this: Weak<Call>,
    stage: RefCell<Stage>,
    decoder: RefCell<ResponseDecoder>,
    /// The caller waiting for the next message.
    reply: RefCell<Option<Reply>>,
    /// Why the call was cut short, set before the fetch is aborted.
    reason: Cell<Option<Code>>,
    controller: AbortController,
    timeout: Option<Duration>,
    /// The pending `setTimeout` id.
    timer: RefCell<Option<JsValue>>,
    /// The trailer frame's entries, once read.
    trailer_frame: RefCell<Option<Metadata>>,
    /// HTTP status and headers, once the response arrived (for Rust callers).
    response_headers: RefCell<Option<(u16, Metadata)>>,
    /// Trailers, once the call ended with a status (for Rust callers).
    trailers: RefCell<Option<Metadata>>,
}

impl Call {
    /// Sends the request. Failures after the request is built are reported by the first
    /// `next`.
    pub(crate) fn start(spec: CallSpec) -> Result<Rc<Self>, RpcError> {
        let controller = AbortController::new().map_err(|e| js_error(Code::Internal, &e))?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_headers(&spec.headers);
        init.set_body(&Uint8Array::from(&spec.body[..]));
        init.set_signal(Some(&controller.signal()));
        let call = Rc::new_cyclic(|this| Self {
            this: this.clone(),
            stage: RefCell::new(Stage::Done),
            decoder: RefCell::new(ResponseDecoder::new(DEFAULT_MAX_FRAME_LEN)),
            reply: RefCell::new(None),
            reason: Cell::new(None),
            controller,
            timeout: spec.timeout,
            timer: RefCell::new(None),
            trailer_frame: RefCell::new(None),
            response_headers: RefCell::new(None),
            trailers: RefCell::new(None),
        });
        if let Some(t) = spec.timeout {
            let id = set_timeout(&call.callback(Event::Expired), t.as_secs_f64() * 1000.0);
            *call.timer.borrow_mut() = Some(id);
        }
        let sent = spec
            .fetch
            .call2(&JsValue::UNDEFINED, &JsValue::from_str(&spec.url), &init)
            .map(|p| Promise::resolve(&p))
            .unwrap_or_else(|e| Promise::reject(&e));
        // Watched from the start, so an abandoned call leaves no unhandled rejection.
        call.watch(&sent);
        *call.stage.borrow_mut() = Stage::Sent;
        Ok(call)
    }

    /// Asks for the next message; `reply` gets it, `Ok(None)` at a successful end, or the
    /// error. One request at a time: a second one while the first is pending fails.
    pub(crate) fn next(&self, reply: Reply) {
        if self.reply.borrow().is_some() {
            reply(Err(RpcError::new(
                Code::Internal,
                "next called while the previous call of next is pending",
            )));
            return;
        }
        *self.reply.borrow_mut() = Some(reply);
        self.drive();
    }

    /// Stops the call: the fetch is aborted and a pending or later `next` reports
    /// CANCELLED.
    pub(crate) fn cancel(&self) {
        self.interrupt(Code::Cancelled);
        self.close();
    }

    /// The HTTP status and headers, once a `next` got the response.
    pub(crate) fn response_headers(&self) -> Option<(u16, Metadata)> {
        self.response_headers.borrow().clone()
    }

    /// The trailers, once the call ended with a status.
    pub(crate) fn trailers(&self) -> Option<Metadata> {
        self.trailers.borrow().clone()
    }

    /// A JS function reporting `event` to this call while it exists.
    fn callback(&self, event: Event) -> JsValue {
        let this = self.this.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |value: JsValue| {
            if let Some(call) = this.upgrade() {
                call.on_event(event, value);
            }
        })
        .into_js_value()
    }

    fn watch(&self, promise: &Promise) {
        promise.unchecked_ref::<Fields>().then_both(
            &self.callback(Event::Fulfilled),
            &self.callback(Event::Rejected),
        );
    }

    fn on_event(&self, event: Event, value: JsValue) {
        let ok = match event {
            Event::Expired => return self.interrupt(Code::DeadlineExceeded),
            Event::Fulfilled => Ok(value),
            Event::Rejected => Err(value),
        };
        let next = match self.stage.replace(Stage::Done) {
            Stage::Sent => Stage::Fetched(ok.map(JsCast::unchecked_into)),
            Stage::ReadPending(reader) => Stage::Read(reader, ok.map(JsCast::unchecked_into)),
            // Closed meanwhile: nothing waits for this.
            other => other,
        };
        *self.stage.borrow_mut() = next;
        self.drive();
    }

    /// Records why the call is cut short and aborts the fetch; a pending promise then
    /// fails and the waiting `next` gets the reason.
    fn interrupt(&self, code: Code) {
        if self.reason.get().is_none() && !matches!(*self.stage.borrow(), Stage::Done) {
            self.reason.set(Some(code));
            self.controller.abort();
        }
    }

    /// Moves the call on until the waiting `next` can be answered or a promise is pending.
    fn drive(&self) {
        while self.reply.borrow().is_some() {
            let result = match self.reason.get() {
                Some(code) => Err(self.cut_short(code)),
                None => match self.step() {
                    Some(result) => result,
                    None => return,
                },
            };
            let Some(reply) = self.reply.borrow_mut().take() else {
                return;
            };
            if !matches!(result, Ok(Some(_))) {
                self.close();
            }
            reply(result);
        }
    }

    /// One step: `Some` answers the waiting `next`, `None` means a promise is pending.
    fn step(&self) -> Option<Result<Option<Bytes>, RpcError>> {
        loop {
            match self.stage.replace(Stage::Done) {
                Stage::Done => return Some(Ok(None)),
                stage @ (Stage::Sent | Stage::ReadPending(_)) => {
                    *self.stage.borrow_mut() = stage;
                    return None;
                }
                Stage::Fetched(Err(e)) => return Some(Err(self.io_error(&e))),
                Stage::Fetched(Ok(response)) => {
                    self.on_response(&response);
                    let reader = response.body().map(|b| b.get_reader().unchecked_into());
                    *self.stage.borrow_mut() = Stage::Reading(reader);
                }
                Stage::Reading(reader) => {
                    let mut decoder = self.decoder.borrow_mut();
                    match decoder.next_event() {
                        None => {
                            drop(decoder);
                            let Some(reader) = reader else {
                                return Some(Err(RpcError::new(
                                    Code::Internal,
                                    "response ended without a status",
                                )));
                            };
                            self.watch(&reader.read());
                            *self.stage.borrow_mut() = Stage::ReadPending(reader);
                            return None;
                        }
                        Some(Decoded::Message(m)) => {
                            let m = Bytes::copy_from_slice(m);
                            *self.stage.borrow_mut() = Stage::Reading(reader);
                            return Some(Ok(Some(m)));
                        }
                        Some(Decoded::CompressedMessage(_)) => {
                            *self.stage.borrow_mut() = Stage::Reading(reader);
                        }
                        Some(Decoded::Trailers(t)) => {
                            *self.trailer_frame.borrow_mut() = Some(t.entries().collect());
                            *self.stage.borrow_mut() = Stage::Reading(reader);
                        }
                        Some(Decoded::End(end)) => {
                            drop(decoder);
                            // Only a non-200 answer ends before its body: drop the body
                            // so the connection is freed.
                            self.controller.abort();
                            let trailers = if end.from_headers {
                                self.response_headers().map(|(_, h)| h).unwrap_or_default()
                            } else {
                                self.trailer_frame.borrow_mut().take().unwrap_or_default()
                            };
                            // The raw details travel on to tonic in the trailers.
                            let mut status = Status::new(end.code, end.message());
                            status.details = Status::from_entries(trailers.iter())
                                .map(|s| s.details)
                                .unwrap_or_default();
                            return Some(self.end(trailers, status));
                        }
                        Some(Decoded::Error(e)) => {
                            drop(decoder);
                            self.controller.abort();
                            return Some(Err(RpcError::new(e.code(), e.message())));
                        }
                    }
                }
                Stage::Read(_, Err(e)) => return Some(Err(self.io_error(&e))),
                Stage::Read(reader, Ok(read)) => {
                    if read.done() {
                        self.decoder.borrow_mut().end();
                    } else {
                        let chunk: Uint8Array = read.value().unchecked_into();
                        self.decoder.borrow_mut().push(&chunk.to_vec());
                    }
                    *self.stage.borrow_mut() = Stage::Reading(Some(reader));
                }
            }
        }
    }

    fn on_response(&self, response: &Response) {
        let headers = header_map(&response.headers());
        let status = response.status();
        self.decoder.borrow_mut().headers(status, headers.iter());
        *self.response_headers.borrow_mut() = Some((status, headers));
        if response.body().is_none() {
            self.decoder.borrow_mut().end();
        }
    }

    fn end(&self, trailers: Metadata, status: Status) -> Result<Option<Bytes>, RpcError> {
        *self.trailers.borrow_mut() = Some(trailers.clone());
        if status.code == Code::Ok {
            Ok(None)
        } else {
            Err(RpcError::with_metadata(status, trailers))
        }
    }

    /// A rejected fetch or read: the recorded cancellation reason, else a network error.
    fn io_error(&self, e: &JsValue) -> RpcError {
        match self.reason.get() {
            Some(code) => self.cut_short(code),
            None => js_error(Code::Unavailable, e),
        }
    }

    fn cut_short(&self, code: Code) -> RpcError {
        let mut message = String::new();
        match (code, self.timeout) {
            (Code::DeadlineExceeded, Some(t)) => {
                message.push_str("deadline of ");
                message.push_str(&(t.as_secs() * 1000 + u64::from(t.subsec_millis())).to_string());
                message.push_str(" ms exceeded");
            }
            _ => message.push_str("call cancelled"),
        }
        RpcError::new(code, message)
    }

    /// Releases the timer; later `next` calls return the end (or
    /// the recorded reason).
    fn close(&self) {
        *self.stage.borrow_mut() = Stage::Done;
        if let Some(id) = self.timer.borrow_mut().take() {
            clear_timeout(&id);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.close();
    }
}
