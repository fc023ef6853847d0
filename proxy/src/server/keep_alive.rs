//! `Keep-Alive: timeout=N` on HTTP/1.1 responses: how long the proxy keeps an idle
//! connection open. Clients that read it (undici, so Node's `fetch`) then keep their idle
//! connections that long, less their own margin, instead of their shorter default (4 s in
//! undici), and do not reconnect after every pause.

use http::Response;
use http::header::{CONNECTION, HeaderName, HeaderValue};
use std::time::Duration;

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// The header value for connections closed after `idle` without a request; `None` under
/// a second (`timeout=0` would tell clients not to reuse the connection at all).
pub(crate) fn value(idle: Duration) -> Option<HeaderValue> {
    match idle.as_secs() {
        0 => None,
        secs => HeaderValue::from_str(&format!("timeout={secs}")).ok(),
    }
}

/// `res` with the header, unless it closes the connection (`Connection: close`).
pub(crate) fn advertise<B>(mut res: Response<B>, value: Option<&HeaderValue>) -> Response<B> {
    if let Some(value) = value
        && !res.headers().contains_key(CONNECTION)
    {
        res.headers_mut().insert(KEEP_ALIVE, value.clone());
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_rounded_down_and_none_under_one() {
        assert_eq!(value(Duration::from_millis(30_900)).unwrap(), "timeout=30");
        assert_eq!(value(Duration::from_millis(999)), None);
    }

    #[test]
    fn not_on_a_response_that_closes_the_connection() {
        let v = value(Duration::from_secs(30));
        let res = advertise(Response::new(()), v.as_ref());
        assert_eq!(res.headers()[KEEP_ALIVE], "timeout=30");
        let closing = Response::builder()
            .header(CONNECTION, "close")
            .body(())
            .unwrap();
        assert!(
            !advertise(closing, v.as_ref())
                .headers()
                .contains_key(KEEP_ALIVE)
        );
    }
}
