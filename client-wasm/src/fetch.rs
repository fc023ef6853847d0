//! Drives one call over `fetch` (wasm32 only): sends the request, reads the body as a
//! stream and feeds [`ResponseDecoder`], enforces the deadline and follows the caller's
//! `AbortSignal`.
//!
//! Cancellation (deadline, signal, or [`Call::cancel`]) records why, then aborts the
//! fetch; whichever await is pending then fails and the recorded reason becomes the
//! status, so a raw `AbortError` or `TypeError` never reaches the caller.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use grpcweb_protocol::Code;
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, AbortSignal, Headers, ReadableStreamDefaultReader, RequestCredentials,
    RequestInit, Response,
};

use crate::error::RpcError;
use crate::metadata::Metadata;
use crate::response::{Event, ResponseDecoder, push_decimal};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Everything needed to start a call.
pub(crate) struct CallSpec {
    pub(crate) fetch: Function,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) timeout: Option<Duration>,
    pub(crate) signal: Option<AbortSignal>,
    pub(crate) credentials: Option<RequestCredentials>,
    pub(crate) unary: bool,
    pub(crate) on_header: Option<Function>,
    pub(crate) on_trailer: Option<Function>,
}

/// A pending `setTimeout` and its callback, kept alive until cleared.
type Timer = (JsValue, Closure<dyn FnMut()>);
/// The caller's signal and our `abort` listener on it.
type Listener = (AbortSignal, Closure<dyn FnMut()>);

enum Stage {
    Waiting(Promise),
    Reading(ReadableStreamDefaultReader),
    Done,
}

/// A call in flight; pull messages with [`Call::next`].
pub(crate) struct Call {
    stage: RefCell<Stage>,
    decoder: RefCell<ResponseDecoder>,
    /// Why the call was cut short, set before the fetch is aborted.
    reason: Rc<Cell<Option<Code>>>,
    controller: AbortController,
    timeout: Option<Duration>,
    timer: RefCell<Option<Timer>>,
    listener: RefCell<Option<Listener>>,
    on_header: Option<Function>,
    on_trailer: Option<Function>,
    /// HTTP status and headers, once the response arrived (for Rust callers).
    response_headers: RefCell<Option<(u16, Metadata)>>,
    /// Trailers, once the call ended with a status (for Rust callers).
    trailers: RefCell<Option<Metadata>>,
}

impl Call {
    /// Sends the request. Failures to even start are reported by the first `next`.
    pub(crate) fn start(spec: CallSpec) -> Result<Rc<Self>, RpcError> {
        // Everything that can fail comes before the timer and the listener exist.
        let controller = AbortController::new().map_err(|e| js_error(Code::Internal, &e))?;
        let headers = Headers::new().map_err(|e| js_error(Code::Internal, &e))?;
        for (name, value) in &spec.headers {
            headers
                .append(name, value)
                .map_err(|e| js_error(Code::InvalidArgument, &e))?;
        }
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&Uint8Array::from(&spec.body[..]));
        init.set_signal(Some(&controller.signal()));
        if let Some(c) = spec.credentials {
            init.set_credentials(c);
        }
        let call = Rc::new(Self {
            stage: RefCell::new(Stage::Done),
            decoder: RefCell::new(ResponseDecoder::new(spec.unary)),
            reason: Rc::new(Cell::new(None)),
            controller,
            timeout: spec.timeout,
            timer: RefCell::new(None),
            listener: RefCell::new(None),
            on_header: spec.on_header,
            on_trailer: spec.on_trailer,
            response_headers: RefCell::new(None),
            trailers: RefCell::new(None),
        });
        if let Some(signal) = &spec.signal {
            if signal.aborted() {
                call.reason.set(Some(Code::Cancelled));
                return Ok(call);
            }
            let abort = call.abort_closure(Code::Cancelled);
            // Cannot fail: AbortSignal is an EventTarget and the callback a function.
            drop(signal.add_event_listener_with_callback("abort", abort.as_ref().unchecked_ref()));
            *call.listener.borrow_mut() = Some((signal.clone(), abort));
        }
        if let Some(t) = spec.timeout {
            let expire = call.abort_closure(Code::DeadlineExceeded);
            let id = set_timeout(expire.as_ref().unchecked_ref(), t.as_secs_f64() * 1000.0);
            *call.timer.borrow_mut() = Some((id, expire));
        }
        let sent = spec
            .fetch
            .call2(&JsValue::UNDEFINED, &JsValue::from_str(&spec.url), &init)
            .map(|p| Promise::resolve(&p))
            .unwrap_or_else(|e| Promise::reject(&e));
        *call.stage.borrow_mut() = Stage::Waiting(sent);
        Ok(call)
    }

    /// The next message, `Ok(None)` at a successful end.
    pub(crate) async fn next(self: Rc<Self>) -> Result<Option<Bytes>, RpcError> {
        let result = self.step().await;
        if !matches!(result, Ok(Some(_))) {
            self.close();
        }
        result
    }

    /// Stops the call: the fetch is aborted and the next `next` reports CANCELLED.
    pub(crate) fn cancel(&self) {
        if !matches!(*self.stage.borrow(), Stage::Done) && self.reason.get().is_none() {
            self.reason.set(Some(Code::Cancelled));
            self.controller.abort();
        }
        self.close();
    }

    /// The HTTP status and headers, once the first `next` got the response.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn response_headers(&self) -> Option<(u16, Metadata)> {
        self.response_headers.borrow().clone()
    }

    /// The trailers, once the call ended with a status.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn trailers(&self) -> Option<Metadata> {
        self.trailers.borrow().clone()
    }

    async fn step(&self) -> Result<Option<Bytes>, RpcError> {
        loop {
            if let Some(code) = self.reason.get() {
                return Err(self.cut_short(code));
            }
            match self.stage.replace(Stage::Done) {
                Stage::Done => return Ok(None),
                Stage::Waiting(sent) => {
                    let response: Response = match JsFuture::from(sent).await {
                        Ok(r) => r.unchecked_into(),
                        Err(e) => return Err(self.io_error(&e)),
                    };
                    self.on_response(&response)?;
                }
                Stage::Reading(reader) => {
                    let event = self.decoder.borrow_mut().next_event();
                    match event {
                        Err(e) => {
                            ignore_settled(reader.cancel());
                            return Err(e);
                        }
                        Ok(Some(Event::Message(m))) => {
                            *self.stage.borrow_mut() = Stage::Reading(reader);
                            return Ok(Some(m));
                        }
                        Ok(Some(Event::End { trailers, result })) => {
                            ignore_settled(reader.cancel());
                            return self.end(&trailers, result);
                        }
                        Ok(None) => {}
                    }
                    let read = match JsFuture::from(reader.read()).await {
                        Ok(r) => r,
                        Err(e) => return Err(self.io_error(&e)),
                    };
                    if Reflect::get(&read, &JsValue::from_str("done")).is_ok_and(|d| d.is_truthy())
                    {
                        return self.finish();
                    }
                    let value = Reflect::get(&read, &JsValue::from_str("value"))
                        .map_err(|e| js_error(Code::Internal, &e))?;
                    let chunk = Bytes::from(value.unchecked_into::<Uint8Array>().to_vec());
                    self.decoder.borrow_mut().push(chunk)?;
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
        *self.response_headers.borrow_mut() = Some((response.status(), headers.clone()));
        let accepted = self
            .decoder
            .borrow_mut()
            .on_headers(response.status(), &headers);
        if let Err(e) = accepted {
            // Not a gRPC-Web response: drop its body so the connection is freed.
            if let Some(body) = response.body() {
                ignore_settled(body.cancel());
            }
            return Err(e);
        }
        match response.body() {
            Some(body) => {
                let reader = body
                    .get_reader()
                    .unchecked_into::<ReadableStreamDefaultReader>();
                *self.stage.borrow_mut() = Stage::Reading(reader);
                Ok(())
            }
            None => self.finish().map(drop),
        }
    }

    fn finish(&self) -> Result<Option<Bytes>, RpcError> {
        let event = self.decoder.borrow_mut().finish()?;
        match event {
            Event::End { trailers, result } => self.end(&trailers, result),
            Event::Message(m) => Ok(Some(m)),
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
        let message = match (code, self.timeout) {
            (Code::DeadlineExceeded, Some(t)) => {
                let mut m = String::from("deadline of ");
                push_decimal(&mut m, t.as_secs() * 1000 + u64::from(t.subsec_millis()));
                m.push_str(" ms exceeded");
                m
            }
            _ => "call cancelled".to_owned(),
        };
        RpcError::new(code, message)
    }

    fn abort_closure(&self, code: Code) -> Closure<dyn FnMut()> {
        let (reason, controller) = (self.reason.clone(), self.controller.clone());
        Closure::new(move || {
            if reason.get().is_none() {
                reason.set(Some(code));
                controller.abort();
            }
        })
    }

    /// Releases the timer and the signal listener; later `next` calls return the end.
    fn close(&self) {
        if let Stage::Waiting(sent) = self.stage.replace(Stage::Done) {
            // Nobody awaits this fetch any more; an abort must not surface as an
            // unhandled rejection.
            ignore_settled(sent);
        }
        if let Some((id, _closure)) = self.timer.borrow_mut().take() {
            clear_timeout(&id);
        }
        if let Some((signal, closure)) = self.listener.borrow_mut().take() {
            drop(
                signal
                    .remove_event_listener_with_callback("abort", closure.as_ref().unchecked_ref()),
            );
        }
    }
}

/// Lets `promise` settle unobserved without an unhandled-rejection report (Node treats
/// those as fatal by default).
fn ignore_settled(promise: Promise) {
    wasm_bindgen_futures::spawn_local(async move {
        drop(JsFuture::from(promise).await);
    });
}

/// A JS exception as an error with `code`, keeping only its text.
pub(crate) fn js_error(code: Code, e: &JsValue) -> RpcError {
    let text = e
        .dyn_ref::<js_sys::Error>()
        .map(|err| {
            let cause = Reflect::get(err, &JsValue::from_str("cause"))
                .ok()
                .and_then(|c| {
                    c.dyn_ref::<js_sys::Error>()
                        .map(|c| String::from(c.message()))
                });
            match cause {
                Some(cause) => [String::from(err.message()), cause].join(": "),
                None => String::from(err.message()),
            }
        })
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown JavaScript error".to_owned());
    RpcError::new(code, text)
}

fn header_map(headers: &Headers) -> Metadata {
    let mut map = Metadata::new();
    for entry in headers.entries().into_iter().flatten() {
        let pair: Array = entry.unchecked_into();
        if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
            map.append(&name, value);
        }
    }
    map
}

/// As a JS `Headers`; values that are not visible ASCII (which `Headers` would reject or
/// misread) are left out.
pub(crate) fn js_headers(map: &Metadata) -> Headers {
    let out =
        Headers::new().unwrap_or_else(|_| JsValue::from(js_sys::Object::new()).unchecked_into());
    for (name, value) in map.iter() {
        if value
            .iter()
            .all(|&b| b == b'\t' || (b' '..0x7f).contains(&b))
            && let Ok(v) = std::str::from_utf8(value)
        {
            drop(out.append(name, v));
        }
    }
    out
}
