//! The JavaScript API (wasm32 only), used by the npm package's TypeScript layer, and the
//! one place where Rust errors become JavaScript values.
//!
//! Errors reject (or are thrown) as an array `[code, message, metadata: Headers,
//! details]` where `details` is flat: `[typeUrl, value, typeUrl, value, ...]`; the
//! TypeScript layer turns it into its `RpcError` class. An array needs no property names
//! on either side of the boundary.

use std::rc::Rc;

use js_sys::{Array, Function, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, Headers, RequestCredentials};

use crate::details;
use crate::error::RpcError;
use crate::fetch::js::js_headers;
use crate::fetch::{Call as FetchCall, CallSpec};
use crate::request::{self, Format};
use grpcweb_protocol::{Code, timeout};

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
        mut base_url: String,
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
        while base_url.as_bytes().last() == Some(&b'/') {
            base_url.truncate(base_url.len() - 1);
        }
        Ok(Self {
            fetch,
            base_url,
            format,
            credentials,
        })
    }

    /// Starts a call. `metadata` is the caller's request headers (`-bin` values already
    /// base64): they are copied, and the protocol headers set over them.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        path: &str,
        message: &[u8],
        unary: bool,
        metadata: &Headers,
        timeout_ms: Option<f64>,
        signal: Option<AbortSignal>,
        on_header: Option<Function>,
        on_trailer: Option<Function>,
    ) -> Result<Call, JsValue> {
        let timeout = request::timeout_from_ms(timeout_ms);
        let headers = Headers::new_with_headers(metadata)
            .map_err(|e| to_js(crate::fetch::js::js_error(Code::InvalidArgument, &e)))?;
        // The transport owns these; a caller's copy would contradict the body. Setting a
        // valid name to a visible-ASCII value cannot fail.
        let content_type = self.format.content_type();
        drop(headers.set("content-type", content_type));
        if self.format == Format::Text {
            drop(headers.set("accept", content_type));
        }
        drop(headers.set("x-grpc-web", "1"));
        drop(match timeout {
            Some(t) => headers.set("grpc-timeout", &timeout::format_compact(t)),
            None => headers.delete("grpc-timeout"),
        });
        let spec = CallSpec {
            fetch: self.fetch.clone(),
            url: self.base_url.clone() + path,
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
    /// Asks for the next message: `resolve` gets it (`Uint8Array`), or `undefined` at a
    /// successful end; `reject` gets the error. One request at a time.
    pub fn next(&self, resolve: Function, reject: Function) {
        self.call.next(Box::new(move |result| {
            drop(match result {
                Ok(m) => resolve.call1(
                    &JsValue::UNDEFINED,
                    &m.map_or(JsValue::UNDEFINED, |m| Uint8Array::from(&m[..]).into()),
                ),
                Err(e) => reject.call1(&JsValue::UNDEFINED, &to_js(e)),
            });
        }));
    }

    /// Abandons the call: aborts the fetch (the proxy then cancels the backend stream).
    pub fn cancel(&self) {
        self.call.cancel();
    }
}

/// The one conversion of a Rust error into a JavaScript value (see the module docs).
fn to_js(e: RpcError) -> JsValue {
    let details = Array::new();
    if let Some(decoded) = details::decode(&e.status().details) {
        for any in decoded.details {
            details.push(&JsValue::from_str(&any.type_url));
            details.push(&Uint8Array::from(&any.value[..]));
        }
    }
    let out = Array::new();
    out.push(&JsValue::from(e.code().as_i32()));
    out.push(&JsValue::from_str(e.message()));
    out.push(&js_headers(e.metadata()));
    out.push(&details);
    out.into()
}

/// `-bin` metadata: bytes as unpadded standard base64 (S9).
#[wasm_bindgen(js_name = encodeBinaryHeader)]
pub fn encode_binary_header(value: &[u8]) -> String {
    let mut out = Vec::new();
    grpcweb_protocol::text::encode_compact(value, false, &mut out);
    // The base64 alphabet is ASCII (and `from_utf8` is in the module already, unlike the
    // char-by-char collect of `metadata::encode_bin_compact`).
    String::from_utf8(out).unwrap_or_default()
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
