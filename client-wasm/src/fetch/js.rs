//! The JavaScript side of the fetch driver: the few bindings it needs beyond web-sys, and
//! conversions between JS values (errors, `Headers`) and ours.

use grpcweb_protocol::Code;
use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::Headers;

use crate::error::RpcError;
use crate::metadata::Metadata;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    pub(super) fn set_timeout(handler: &JsValue, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub(super) fn clear_timeout(id: &JsValue);
    /// Any JS value, used through the members below (read results, thrown errors,
    /// promises) without `Reflect` and string keys.
    pub(super) type Fields;
    /// `promise.then(onFulfilled, onRejected)` with plain functions, its result dropped.
    #[wasm_bindgen(method, js_name = then)]
    pub(super) fn then_both(this: &Fields, on_fulfilled: &JsValue, on_rejected: &JsValue);
    #[wasm_bindgen(method, getter)]
    pub(super) fn done(this: &Fields) -> bool;
    #[wasm_bindgen(method, getter)]
    pub(super) fn value(this: &Fields) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub(super) fn message(this: &Fields) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub(super) fn cause(this: &Fields) -> JsValue;
}

/// A JS exception as an error with `code`, keeping only its text (and its cause's, as
/// Node's `fetch failed` carries the reason there).
pub(crate) fn js_error(code: Code, e: &JsValue) -> RpcError {
    let text = |v: &JsValue| -> Option<String> {
        if v.is_object() {
            v.unchecked_ref::<Fields>().message().as_string()
        } else {
            v.as_string()
        }
    };
    let mut message = text(e).unwrap_or_else(|| "unknown JavaScript error".to_owned());
    if e.is_object()
        && let Some(cause) = text(&e.unchecked_ref::<Fields>().cause())
    {
        message.push_str(": ");
        message.push_str(&cause);
    }
    RpcError::new(code, message)
}

/// A JS `Headers` as metadata.
pub(super) fn header_map(headers: &Headers) -> Metadata {
    let mut map = Metadata::new();
    // `Array.from(headers)`: [name, value] pairs, names lower-case.
    let pairs = Array::from(headers);
    for i in 0..pairs.length() {
        let pair: Array = pairs.get(i).unchecked_into();
        if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
            map.append(&name, value);
        }
    }
    map
}

/// An empty `Headers` (whose constructor cannot fail without arguments).
pub(crate) fn new_headers() -> Headers {
    Headers::new().unwrap_or_else(JsCast::unchecked_into)
}
