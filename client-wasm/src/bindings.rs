//! The JavaScript API (wasm32 only), used by the npm package's TypeScript layer, and the
//! one place where Rust errors become JavaScript values.
//!
//! Errors reject promises (or are thrown) as plain objects
//! `{ code, message, metadata: Headers, details: [{ typeUrl, value }] }`; the TypeScript
//! layer turns them into its `RpcError` class.

use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, RequestCredentials};

use crate::details;
use crate::error::RpcError;
use crate::fetch::{Call as FetchCall, CallSpec, js_headers};
use crate::request::{self, Format, MetadataValue};
use grpcweb_protocol::Code;

/// A configured gRPC-Web client: base URL, format, `fetch` and credentials mode.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Transport {
    fetch: Function,
    base_url: String,
    format: Format,
    credentials: Option<RequestCredentials>,
}

/// One call in flight.
#[wasm_bindgen]
pub struct Call {
    call: Rc<FetchCall>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Call")
    }
}

#[wasm_bindgen]
impl Transport {
    /// `format` is `"binary"` or `"text"`; `credentials` is a `RequestCredentials` value.
    #[wasm_bindgen(constructor)]
    pub fn new(
        base_url: String,
        format: &str,
        fetch: Function,
        credentials: Option<String>,
    ) -> Result<Transport, JsValue> {
        let format = Format::parse(format).map_err(to_js)?;
        let credentials = match credentials.as_deref() {
            None => None,
            Some("omit") => Some(RequestCredentials::Omit),
            Some("same-origin") => Some(RequestCredentials::SameOrigin),
            Some("include") => Some(RequestCredentials::Include),
            Some(_) => {
                return Err(to_js(RpcError::new(
                    Code::InvalidArgument,
                    "credentials must be \"omit\", \"same-origin\" or \"include\"",
                )));
            }
        };
        let mut base_url = base_url;
        while base_url.ends_with('/') {
            base_url.pop();
        }
        Ok(Self {
            fetch,
            base_url,
            format,
            credentials,
        })
    }

    /// Starts a call. `metadata` is an array of `[name, string | Uint8Array]` pairs.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        path: &str,
        message: &[u8],
        unary: bool,
        metadata: Array,
        timeout_ms: Option<f64>,
        signal: Option<AbortSignal>,
        on_header: Option<Function>,
        on_trailer: Option<Function>,
    ) -> Result<Call, JsValue> {
        let timeout = request::timeout_from_ms(timeout_ms);
        let headers =
            request::headers(self.format, timeout, read_metadata(&metadata)).map_err(to_js)?;
        let spec = CallSpec {
            fetch: self.fetch.clone(),
            url: [self.base_url.as_str(), path].concat(),
            headers,
            body: request::body(self.format, message),
            timeout,
            signal,
            credentials: self.credentials,
            unary,
            on_header,
            on_trailer,
        };
        FetchCall::start(spec)
            .map(|call| Call { call })
            .map_err(to_js)
    }
}

#[wasm_bindgen]
impl Call {
    /// Resolves with the next message (`Uint8Array`), or `undefined` at a successful end.
    pub fn next(&self) -> Promise {
        let call = self.call.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            match call.next().await {
                Ok(Some(m)) => Ok(Uint8Array::from(&m[..]).into()),
                Ok(None) => Ok(JsValue::UNDEFINED),
                Err(e) => Err(to_js(e)),
            }
        })
    }

    /// Abandons the call: aborts the fetch (the proxy then cancels the backend stream).
    pub fn cancel(&self) {
        self.call.cancel();
    }
}

fn read_metadata(pairs: &Array) -> Vec<(String, MetadataValue)> {
    pairs
        .iter()
        .filter_map(|pair| {
            let pair: Array = pair.dyn_into().ok()?;
            let name = pair.get(0).as_string()?;
            let value = pair.get(1);
            let value = match value.as_string() {
                Some(s) => MetadataValue::Text(s),
                None => MetadataValue::Binary(value.dyn_into::<Uint8Array>().ok()?.to_vec()),
            };
            Some((name, value))
        })
        .collect()
}

/// The one conversion of a Rust error into a JavaScript value.
fn to_js(e: RpcError) -> JsValue {
    let obj = Object::new();
    let set = |k: &str, v: &JsValue| drop(Reflect::set(&obj, &JsValue::from_str(k), v));
    set("code", &JsValue::from(e.code().as_i32()));
    set("message", &JsValue::from_str(e.message()));
    set("metadata", &js_headers(e.metadata()));
    let list = Array::new();
    if let Some(decoded) = details::decode(&e.status().details) {
        for any in decoded.details {
            let item = Object::new();
            drop(Reflect::set(
                &item,
                &JsValue::from_str("typeUrl"),
                &JsValue::from_str(&any.type_url),
            ));
            drop(Reflect::set(
                &item,
                &JsValue::from_str("value"),
                &Uint8Array::from(&any.value[..]),
            ));
            list.push(&item);
        }
    }
    set("details", &list);
    obj.into()
}

/// `-bin` metadata: bytes as unpadded standard base64 (S9).
#[wasm_bindgen(js_name = encodeBinaryHeader)]
pub fn encode_binary_header(value: &[u8]) -> String {
    grpcweb_protocol::metadata::encode_bin_compact(value)
}

/// Decodes a `-bin` metadata value (padded or not; several comma-separated values are
/// concatenated). Throws on invalid base64.
#[wasm_bindgen(js_name = decodeBinaryHeader)]
pub fn decode_binary_header(value: &str) -> Result<Uint8Array, JsValue> {
    let parts = grpcweb_protocol::metadata::decode_bin_compact(value.as_bytes()).map_err(|_| {
        to_js(RpcError::new(
            Code::InvalidArgument,
            "binary metadata value is not valid base64",
        ))
    })?;
    Ok(Uint8Array::from(&parts.concat()[..]))
}
