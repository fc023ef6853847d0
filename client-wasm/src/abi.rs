//! The npm package's interface to the protocol core: a few `extern "C"` functions over
//! linear memory, no imports. TypeScript (`npm/src/decoder.ts`, `npm/src/wasm.ts`) does
//! the I/O and feeds one [`ResponseDecoder`] per call through them.
//!
//! A call is a handle (`gw_new`). The caller writes input (the response headers as
//! `name:value\n` lines, then each body chunk) into the handle's input buffer
//! (`gw_buf`), hands it over (`gw_headers`, `gw_push`, `gw_end`) and pulls events with
//! `gw_next`, which returns the event kind and fills the handle's record (`gw_out`:
//! five `u32`):
//!
//! | kind | record |
//! |---|---|
//! | 0 none | more input needed |
//! | 1 message | `[ptr, len]` of the payload |
//! | 2 trailer | `[name ptr, name len, value ptr, value len]`, one event per entry |
//! | 4 end | `[message ptr, len, details ptr, len, code | 0x100 when from the headers | the HTTP status << 16 when the code comes from it]`, last |
//! | 5 error | `[0, 0, 0, 0, code | the index of its message in `ResponseError::MESSAGES` << 8]`, a protocol error, last |
//!
//! The end's details are `grpc-status-details-bin` decoded from base64: a serialized
//! `google.rpc.Status`, not read here (TypeScript decodes it with its protobuf codec,
//! docs/protocol.md K6). When the code comes from the HTTP status (S6), the message is
//! empty and TypeScript writes "HTTP status 503" as [`ResponseEnd::message`] does. Kind 3
//! is not used. Pointers stay valid until the next call on
//! the handle. `gw_free` releases it.
//! The functions trust their caller (our TypeScript): a handle that `gw_new` did not
//! return, or one already freed, is undefined behaviour.

use ::alloc::boxed::Box;
use ::alloc::vec::Vec;
use grpcweb_protocol::response::{Event, ResponseDecoder, ResponseEnd};
use grpcweb_protocol::trailers;

#[cfg(all(target_arch = "wasm32", not(feature = "tower")))]
mod alloc;

const NONE: u32 = 0;
const MESSAGE: u32 = 1;
const TRAILER: u32 = 2;
const END: u32 = 4;
const ERROR: u32 = 5;

/// One call's decoder and what it hands out.
#[derive(Debug)]
pub struct Call {
    decoder: ResponseDecoder,
    input: Vec<u8>,
    out: [u32; 5],
    /// The trailer block being handed out entry by entry, and where the next entry starts.
    trailers: Vec<u8>,
    next_trailer: usize,
    /// The end handed out, kept for its message and details.
    end: Option<ResponseEnd>,
}

/// A new call whose response messages may be up to `max_message_len` bytes.
#[unsafe(no_mangle)]
pub extern "C" fn gw_new(max_message_len: u32) -> *mut Call {
    Box::into_raw(Box::new(Call {
        decoder: ResponseDecoder::new(max_message_len as usize),
        input: Vec::new(),
        out: [0; 5],
        trailers: Vec::new(),
        next_trailer: 0,
        end: None,
    }))
}

/// Releases a call.
///
/// # Safety
///
/// `call` comes from [`gw_new`] and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_free(call: *mut Call) {
    // SAFETY: the caller passes a live handle from `gw_new`, once.
    drop(unsafe { Box::from_raw(call) });
}

/// The call's input buffer, `len` bytes long, for the next `gw_headers` or `gw_push`.
///
/// # Safety
///
/// `call` is a live handle from [`gw_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_buf(call: *mut Call, len: u32) -> *mut u8 {
    let call = unsafe { live(call) };
    // Room for `len` bytes, not initialized: the caller writes them before they are read.
    call.input.clear();
    call.input.reserve(len as usize);
    call.input.as_mut_ptr()
}

/// The HTTP status and the headers, `name:value\n` lines in the first `len` bytes of the
/// input buffer.
///
/// # Safety
///
/// `call` is a live handle from [`gw_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_headers(call: *mut Call, status: u32, len: u32) {
    let call = unsafe { live(call) };
    let block = unsafe { written(&call.input, len) };
    let status = u16::try_from(status).unwrap_or(0);
    call.decoder
        .headers(status, trailers::raw_entries(block).filter_map(Result::ok));
}

/// A body chunk: the first `len` bytes of the input buffer.
///
/// # Safety
///
/// `call` is a live handle from [`gw_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_push(call: *mut Call, len: u32) {
    let call = unsafe { live(call) };
    let chunk = unsafe { written(&call.input, len) };
    call.decoder.push(chunk);
}

/// The body ended.
///
/// # Safety
///
/// `call` is a live handle from [`gw_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_end(call: *mut Call) {
    unsafe { live(call) }.decoder.end();
}

/// The address of the call's event record.
///
/// # Safety
///
/// `call` is a live handle from [`gw_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_out(call: *mut Call) -> *const u32 {
    unsafe { live(call) }.out.as_ptr()
}

/// The next event's kind; its record is in `gw_out`.
///
/// # Safety
///
/// `call` is a live handle from [`gw_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_next(call: *mut Call) -> u32 {
    unsafe { live(call) }.next()
}

/// # Safety
///
/// `call` is a live handle from [`gw_new`], not aliased for the returned lifetime.
unsafe fn live<'a>(call: *mut Call) -> &'a mut Call {
    // SAFETY: the caller (our TypeScript) passes handles from `gw_new` until `gw_free`,
    // and wasm runs one of these functions at a time.
    unsafe { &mut *call }
}

/// The first `len` bytes of a call's input buffer, as the caller wrote them.
///
/// # Safety
///
/// The caller wrote `len` bytes there, at most the length given to the last [`gw_buf`].
unsafe fn written(input: &Vec<u8>, len: u32) -> &[u8] {
    let len = (len as usize).min(input.capacity());
    // SAFETY: within the capacity `gw_buf` reserved, and written by the caller.
    unsafe { core::slice::from_raw_parts(input.as_ptr(), len) }
}

impl Call {
    fn next(&mut self) -> u32 {
        if !self.trailers.is_empty() {
            // The block was checked: every entry parses. The next one starts after the
            // last value handed out (what is left of its line is blank).
            let rest = self.trailers.get(self.next_trailer..).unwrap_or_default();
            if let Some(Ok((name, value))) = trailers::raw_entries(rest).next() {
                self.next_trailer =
                    value.as_ptr() as usize - self.trailers.as_ptr() as usize + value.len();
                self.out = pair(name, value, 0);
                return TRAILER;
            }
            self.trailers.clear();
        }
        // The decoder's end comes after the trailer frame's entries were handed out, and
        // nothing comes after it.
        let Self { decoder, out, .. } = self;
        match decoder.next_event() {
            // Compressed messages are only handed out when asked for.
            None | Some(Event::CompressedMessage(_)) => NONE,
            Some(Event::Message(m)) => {
                *out = [addr(m.as_ptr()), m.len() as u32, 0, 0, 0];
                MESSAGE
            }
            Some(Event::Trailers(t)) => {
                // Empty here: its entries were handed out.
                self.trailers.extend_from_slice(t.as_bytes());
                self.next_trailer = 0;
                self.next()
            }
            Some(Event::End(end)) => {
                let end = self.end.insert(end);
                let code = end.code as u32
                    | if end.from_headers { 0x100 } else { 0 }
                    | u32::from(end.http_status) << 16;
                self.out = pair(&end.message, &end.status_details, code);
                END
            }
            Some(Event::Error(e)) => {
                *out = [
                    0,
                    0,
                    0,
                    0,
                    e.code() as u32 | (e.message_index() as u32) << 8,
                ];
                ERROR
            }
        }
    }
}

fn addr(p: *const u8) -> u32 {
    p as usize as u32
}

fn pair(a: &[u8], b: &[u8], extra: u32) -> [u32; 5] {
    [
        addr(a.as_ptr()),
        a.len() as u32,
        addr(b.as_ptr()),
        b.len() as u32,
        extra,
    ]
}

#[cfg(test)]
mod tests;
