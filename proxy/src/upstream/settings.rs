//! Reading the backend's first HTTP/2 SETTINGS frame off the wire, for the stream limit
//! a new connection has before any call is sent on it.
//!
//! hyper tells how many streams the peer allows only from inside its connection task, and
//! only once a request wakes it; the pool needs the number as soon as the peer's SETTINGS
//! arrive, so it reads them itself from the first bytes the connection receives (a server
//! must start with a SETTINGS frame, RFC 9113 section 3.4).

/// The first SETTINGS frame, parsed incrementally from the first bytes received.
#[derive(Debug, Default)]
pub(crate) struct FirstSettings {
    buf: Vec<u8>,
}

/// What the first bytes said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// The frame is not complete yet.
    NeedMore,
    /// The peer's SETTINGS: its SETTINGS_MAX_CONCURRENT_STREAMS, `None` when unlimited.
    Settings(Option<u32>),
    /// Not an HTTP/2 server preface.
    NotHttp2,
}

const FRAME_HEADER: usize = 9;
const TYPE_SETTINGS: u8 = 0x4;
const FLAG_ACK: u8 = 0x1;
const MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// SETTINGS_MAX_FRAME_SIZE's initial value: no first frame may be longer.
const MAX_FRAME: usize = 16_384;

impl FirstSettings {
    /// Feeds the next bytes received; once the answer is not [`Sniffed::NeedMore`], later
    /// bytes are not needed.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Sniffed {
        let want = FRAME_HEADER + self.frame_len().unwrap_or(0);
        let take = want.saturating_sub(self.buf.len()).min(bytes.len());
        self.buf.extend_from_slice(&bytes[..take]);
        let Some(len) = self.frame_len() else {
            return Sniffed::NeedMore;
        };
        let header = &self.buf[..FRAME_HEADER];
        let stream = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
        if header[3] != TYPE_SETTINGS
            || header[4] & FLAG_ACK != 0
            || stream != 0
            || len % 6 != 0
            || len > MAX_FRAME
        {
            return Sniffed::NotHttp2;
        }
        if self.buf.len() < FRAME_HEADER + len {
            // The rest of the frame is in `bytes` beyond the header, or still to come.
            return if take < bytes.len() {
                self.push(&bytes[take..])
            } else {
                Sniffed::NeedMore
            };
        }
        let mut max = None;
        for entry in self.buf[FRAME_HEADER..].chunks_exact(6) {
            if u16::from_be_bytes([entry[0], entry[1]]) == MAX_CONCURRENT_STREAMS {
                max = Some(u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]));
            }
        }
        Sniffed::Settings(max)
    }

    /// The frame's payload length, once its header is in.
    fn frame_len(&self) -> Option<usize> {
        let h = self.buf.get(..FRAME_HEADER)?;
        Some((usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SETTINGS with MAX_CONCURRENT_STREAMS 50 and INITIAL_WINDOW_SIZE 1 MiB, then a
    /// WINDOW_UPDATE.
    const PREFACE: &[u8] = &[
        0, 0, 12, 4, 0, 0, 0, 0, 0, //
        0, 3, 0, 0, 0, 50, //
        0, 4, 0, 16, 0, 0, //
        0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0,
    ];

    #[test]
    fn limit_from_one_read_or_split_anywhere() {
        let mut whole = FirstSettings::default();
        assert_eq!(whole.push(PREFACE), Sniffed::Settings(Some(50)));
        for split in 0..21 {
            let mut sniff = FirstSettings::default();
            assert_eq!(sniff.push(&PREFACE[..split]), Sniffed::NeedMore, "{split}");
            assert_eq!(
                sniff.push(&PREFACE[split..]),
                Sniffed::Settings(Some(50)),
                "{split}"
            );
        }
        let mut bytewise = FirstSettings::default();
        let last = PREFACE[..21].iter().map(|b| bytewise.push(&[*b])).last();
        assert_eq!(last, Some(Sniffed::Settings(Some(50))));
    }

    #[test]
    fn no_limit_and_not_http2() {
        let empty = [0, 0, 0, 4, 0, 0, 0, 0, 0];
        assert_eq!(
            FirstSettings::default().push(&empty),
            Sniffed::Settings(None)
        );
        let other = [0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 16, 0];
        assert_eq!(
            FirstSettings::default().push(&other),
            Sniffed::Settings(None)
        );
        for bad in [
            &b"HTTP/1.1 400 Bad Request\r\n"[..],
            &[0, 0, 0, 4, 1, 0, 0, 0, 0], // an ACK
            &[0, 0, 5, 4, 0, 0, 0, 0, 0], // not whole entries
            &[0, 0, 0, 4, 0, 0, 0, 0, 1], // on a stream
            &[0, 0, 8, 6, 0, 0, 0, 0, 0], // a PING first
        ] {
            assert_eq!(
                FirstSettings::default().push(bad),
                Sniffed::NotHttp2,
                "{bad:?}"
            );
        }
    }
}
