//! Drives one call over `fetch` (wasm32 only): sends the request, reads the body as a
//! stream and feeds [`ResponseDecoder`], enforces the deadline and follows the caller's
//! `AbortSignal`.
//!
//! The driver is a state machine moved on by JavaScript promise callbacks, not an `async`
//! function: a caller asks for the next message with [`Call::next`] and a reply callback;
//! the driver reads from the body until it has a message or the end, then replies. This
//! keeps a futures executor out of the wasm; the tower service wraps it in a `Future`.
//!
//! Cancellation (deadline, signal, or [`Call::cancel`]) records why, then aborts the
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
use grpcweb_protocol::Code;
use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    AbortController, AbortSignal, Headers, ReadableStreamDefaultReader, RequestCredentials,
    RequestInit, Response,
};

use crate::error::RpcError;
use crate::metadata::Metadata;
use crate::response::{Event as Decoded, ResponseDecoder, push_decimal};

pub(crate) mod js;

use js::{Fields, clear_timeout, header_map, js_error, js_headers, set_timeout};

/// Everything needed to start a call.
pub(crate) struct CallSpec {
    pub(crate) fetch: Function,
    pub(crate) url: String,
    /// The request headers, complete (protocol headers included).
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
    pub(crate) timeout: Option<Duration>,
    pub(crate) signal: Option<AbortSignal>,
    pub(crate) credentials: Option<RequestCredentials>,
    pub(crate) unary: bool,
    pub(crate) on_header: Option<Function>,
    pub(crate) on_trailer: Option<Function>,
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
    /// The caller's signal fired.
    Cancelled,
    /// The deadline timer fired.
    Expired,
}

enum Stage {
    /// The fetch promise is pending.
    Sent,
    /// The fetch settled.
    Fetched(Result<Response, JsValue>),
    /// Reading the body; no read pending.
    Reading(ReadableStreamDefaultReader),
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
    /// The caller's signal and our `abort` listener on it.
    listener: RefCell<Option<(AbortSignal, JsValue)>>,
    on_header: Option<Function>,
    on_trailer: Option<Function>,
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
        if let Some(c) = spec.credentials {
            init.set_credentials(c);
        }
        let call = Rc::new_cyclic(|this| Self {
            this: this.clone(),
            stage: RefCell::new(Stage::Done),
            decoder: RefCell::new(ResponseDecoder::new(spec.unary)),
            reply: RefCell::new(None),
            reason: Cell::new(None),
            controller,
            timeout: spec.timeout,
            timer: RefCell::new(None),
            listener: RefCell::new(None),
            on_header: spec.on_header,
            on_trailer: spec.on_trailer,
            response_headers: RefCell::new(None),
            trailers: RefCell::new(None),
        });
        if let Some(signal) = spec.signal {
            if signal.aborted() {
                call.reason.set(Some(Code::Cancelled));
                return Ok(call);
            }
            let abort = call.callback(Event::Cancelled);
            // Cannot fail: AbortSignal is an EventTarget and the callback a function.
            drop(signal.add_event_listener_with_callback("abort", abort.unchecked_ref()));
            *call.listener.borrow_mut() = Some((signal, abort));
        }
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
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn response_headers(&self) -> Option<(u16, Metadata)> {
        self.response_headers.borrow().clone()
    }

    /// The trailers, once the call ended with a status.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
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
            Event::Cancelled => return self.interrupt(Code::Cancelled),
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
                    if let Err(e) = self.on_response(&response) {
                        return Some(Err(e));
                    }
                }
                Stage::Reading(reader) => {
                    let event = self.decoder.borrow_mut().next_event();
                    match event {
                        Ok(None) => {
                            self.watch(&reader.read());
                            *self.stage.borrow_mut() = Stage::ReadPending(reader);
                            return None;
                        }
                        Ok(Some(Decoded::Message(m))) => {
                            *self.stage.borrow_mut() = Stage::Reading(reader);
                            return Some(Ok(Some(m)));
                        }
                        Ok(Some(Decoded::End { trailers, result })) => {
                            // The rest of the body is not needed; aborting frees the
                            // connection without a promise to watch.
                            self.controller.abort();
                            return Some(self.end(&trailers, result));
                        }
                        Err(e) => {
                            self.controller.abort();
                            return Some(Err(e));
                        }
                    }
                }
                Stage::Read(_, Err(e)) => return Some(Err(self.io_error(&e))),
                Stage::Read(reader, Ok(read)) => {
                    if read.done() {
                        return Some(self.finish());
                    }
                    let chunk: Uint8Array = read.value().unchecked_into();
                    if let Err(e) = self.decoder.borrow_mut().push(Bytes::from(chunk.to_vec())) {
                        self.controller.abort();
                        return Some(Err(e));
                    }
                    *self.stage.borrow_mut() = Stage::Reading(reader);
                }
            }
        }
    }

    fn on_response(&self, response: &Response) -> Result<(), RpcError> {
        let js_headers = response.headers();
        if let Some(cb) = &self.on_header {
            drop(cb.call1(&JsValue::UNDEFINED, &js_headers));
        }
        let headers = header_map(&js_headers);
        let status = response.status();
        let accepted = self.decoder.borrow_mut().on_headers(status, &headers);
        *self.response_headers.borrow_mut() = Some((status, headers));
        if let Err(e) = accepted {
            // Not a gRPC-Web response: drop its body so the connection is freed.
            self.controller.abort();
            return Err(e);
        }
        match response.body() {
            Some(body) => {
                let reader = body.get_reader().unchecked_into();
                *self.stage.borrow_mut() = Stage::Reading(reader);
                Ok(())
            }
            None => self.finish().map(drop),
        }
    }

    fn finish(&self) -> Result<Option<Bytes>, RpcError> {
        let event = self.decoder.borrow_mut().finish()?;
        match event {
            Decoded::End { trailers, result } => self.end(&trailers, result),
            Decoded::Message(m) => Ok(Some(m)),
        }
    }

    fn end(
        &self,
        trailers: &Metadata,
        result: Result<(), RpcError>,
    ) -> Result<Option<Bytes>, RpcError> {
        if let Some(cb) = &self.on_trailer {
            drop(cb.call1(&JsValue::UNDEFINED, &js_headers(trailers)));
        }
        *self.trailers.borrow_mut() = Some(trailers.clone());
        result.map(|()| None)
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
                push_decimal(
                    &mut message,
                    t.as_secs() * 1000 + u64::from(t.subsec_millis()),
                );
                message.push_str(" ms exceeded");
            }
            _ => message.push_str("call cancelled"),
        }
        RpcError::new(code, message)
    }

    /// Releases the timer and the signal listener; later `next` calls return the end (or
    /// the recorded reason).
    fn close(&self) {
        *self.stage.borrow_mut() = Stage::Done;
        if let Some(id) = self.timer.borrow_mut().take() {
            clear_timeout(&id);
        }
        if let Some((signal, listener)) = self.listener.borrow_mut().take() {
            drop(signal.remove_event_listener_with_callback("abort", listener.unchecked_ref()));
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.close();
    }
}
