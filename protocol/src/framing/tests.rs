use super::*;
use crate::framing::tests_support::cut;
use proptest::prelude::*;

fn decode_all(chunks: &[&[u8]], max: usize) -> Result<Vec<Frame>, FrameError> {
    let mut d = FrameDecoder::new(max);
    let mut out = Vec::new();
    for c in chunks {
        d.push(Bytes::copy_from_slice(c));
        while let Some(f) = d.next_frame()? {
            out.push(f);
        }
    }
    d.finish()?;
    Ok(out)
}

#[test]
fn header_bytes() {
    assert_eq!(encode_header(FrameKind::Data, 5), [0, 0, 0, 0, 5]);
    assert_eq!(
        encode_header(FrameKind::Trailers, 0x01020304),
        [0x80, 1, 2, 3, 4]
    );
    assert_eq!(encode_header(FrameKind::CompressedData, 0)[0], 0x01);
    assert_eq!(encode_header(FrameKind::CompressedTrailers, 0)[0], 0x81);
    for flag in 0..=255u8 {
        let kind = FrameKind::from_flag(flag);
        assert_eq!(kind.is_some(), matches!(flag, 0x00 | 0x01 | 0x80 | 0x81));
        if let Some(k) = kind {
            assert_eq!(k.flag(), flag);
        }
    }
}

#[test]
fn decodes_header_split_anywhere_and_many_per_chunk() {
    let wire = [
        &encode_frame(FrameKind::Data, b"abc")[..],
        &encode_frame(FrameKind::Data, b"")[..],
        &encode_frame(FrameKind::Trailers, b"grpc-status:0\r\n")[..],
    ]
    .concat();
    for split in 0..=wire.len() {
        let frames = decode_all(&[&wire[..split], &wire[split..]], 100).unwrap();
        assert_eq!(frames.len(), 3, "split at {split}");
        assert_eq!(&frames[0].payload[..], b"abc");
        assert!(
            frames[1].payload.is_empty(),
            "zero-length message is a message"
        );
        assert_eq!(frames[2].kind, FrameKind::Trailers);
    }
}

#[test]
fn unknown_flag_is_an_error() {
    assert_eq!(
        decode_all(&[&[0x02, 0, 0, 0, 0]], 10),
        Err(FrameError::UnknownFlag(2))
    );
    assert_eq!(
        decode_all(&[&[0x7f, 0, 0]], 10),
        Err(FrameError::Truncated {
            have: 3,
            need: None
        })
    );
}

#[test]
fn oversized_frame_rejected_from_header_alone() {
    let mut d = FrameDecoder::new(1024);
    d.push(Bytes::from_static(&[0, 0xff, 0xff, 0xff, 0xff]));
    assert_eq!(
        d.next_frame(),
        Err(FrameError::TooLarge {
            len: 0xffff_ffff,
            max: 1024
        })
    );
    let mut d = FrameDecoder::new(3);
    d.push(encode_frame(FrameKind::Data, b"abc"));
    assert!(
        d.next_frame().unwrap().is_some(),
        "a frame exactly at the limit is fine"
    );
}

#[test]
fn truncation_reported_at_finish() {
    assert_eq!(
        decode_all(&[&[0, 0, 0, 0, 10, 1, 2]], 100),
        Err(FrameError::Truncated {
            have: 7,
            need: Some(15)
        })
    );
    assert_eq!(
        decode_all(&[&[0, 0]], 100),
        Err(FrameError::Truncated {
            have: 2,
            need: None
        })
    );
    assert!(decode_all(&[], 100).unwrap().is_empty());
}

#[test]
fn payload_within_one_chunk_is_not_copied() {
    let wire = encode_frame(FrameKind::Data, b"zero-copy");
    let mut d = FrameDecoder::new(100);
    d.push(wire.clone());
    let frame = d.next_frame().unwrap().unwrap();
    assert_eq!(frame.payload.as_ptr(), wire[HEADER_LEN..].as_ptr());
}

#[test]
fn errors_read_well() {
    assert_eq!(
        FrameError::UnknownFlag(0x42).to_string(),
        "invalid gRPC-Web frame flag 0x42"
    );
    assert!(
        FrameError::TooLarge { len: 5, max: 4 }
            .to_string()
            .contains("larger than the limit")
    );
}

fn kind() -> impl Strategy<Value = FrameKind> {
    prop_oneof![
        Just(FrameKind::Data),
        Just(FrameKind::CompressedData),
        Just(FrameKind::Trailers),
        Just(FrameKind::CompressedTrailers)
    ]
}

#[test]
fn scanner_checks_flags_and_lengths_across_chunks() {
    let wire = [
        &encode_frame(FrameKind::Data, b"abc")[..],
        &encode_frame(FrameKind::Trailers, b"x:y")[..],
    ]
    .concat();
    for split in 0..=wire.len() {
        let mut s = FrameScanner::new(3);
        s.scan(&wire[..split]).unwrap();
        s.scan(&wire[split..]).unwrap();
        s.finish().unwrap();
        assert_eq!(s.messages(), 1, "the trailer frame is not a message");
        assert_eq!(s.trailer_frames(), 1);
    }
    let mut s = FrameScanner::new(2);
    assert_eq!(s.scan(&wire), Err(FrameError::TooLarge { len: 3, max: 2 }));
    let mut s = FrameScanner::new(10);
    assert_eq!(
        s.scan(&[0x42, 0, 0, 0, 0]),
        Err(FrameError::UnknownFlag(0x42))
    );
    let mut s = FrameScanner::new(10);
    s.scan(&[0, 0, 0, 0, 4, 1]).unwrap();
    assert!(s.finish().is_err());
}

#[test]
fn a_refused_header_leaves_the_frame_unfinished_whole_or_split() {
    for header in [[0x42, 0, 0, 0, 1], [0, 0, 0, 0, 99], [0x80, 0, 0, 0, 0]] {
        for split in 0..=header.len() {
            let mut s = FrameScanner::new(10).data_only();
            let result = s
                .scan(&header[..split])
                .and_then(|()| s.scan(&header[split..]));
            assert!(result.is_err(), "{header:?} split at {split}");
            assert!(s.finish().is_err(), "{header:?} split at {split}");
            assert_eq!((s.messages(), s.trailer_frames()), (0, 0));
        }
    }
}

#[test]
fn data_only_scanner_refuses_trailer_frames_at_their_flag() {
    let wire = [
        &encode_frame(FrameKind::Data, b"abc")[..],
        &encode_frame(FrameKind::CompressedData, b"d")[..],
        &encode_frame(FrameKind::Trailers, b"x:y")[..],
    ]
    .concat();
    let trailer_at = wire.len() - 8;
    for split in 0..=wire.len() {
        let mut s = FrameScanner::new(10).data_only();
        let first = s.scan(&wire[..split]);
        let result = first.and_then(|()| s.scan(&wire[split..]));
        assert_eq!(
            result,
            Err(FrameError::UnknownFlag(0x80)),
            "split at {split}"
        );
        assert_eq!(s.messages(), 2);
        // Everything before the trailer frame was accepted.
        let mut s = FrameScanner::new(10).data_only();
        s.scan(&wire[..trailer_at.min(split)]).unwrap();
    }
    let mut s = FrameScanner::new(10).data_only();
    assert_eq!(
        s.scan(&[0x81, 0, 0, 0, 0]),
        Err(FrameError::UnknownFlag(0x81))
    );
}

#[test]
fn next_header_comes_before_the_payload() {
    let mut d = FrameDecoder::new(100);
    d.push(Bytes::from_static(&[0x80, 0, 0]));
    assert_eq!(d.next_header(), Ok(None));
    d.push(Bytes::from_static(&[0, 50, 1]));
    let header = FrameHeader {
        kind: FrameKind::Trailers,
        len: 50,
    };
    assert_eq!(d.next_header(), Ok(Some(header)));
    assert_eq!(
        d.next_header(),
        Ok(Some(header)),
        "asking again changes nothing"
    );
    assert_eq!(d.next_frame(), Ok(None));
    d.push(Bytes::from(vec![7u8; 49]));
    let frame = d.next_frame().unwrap().unwrap();
    assert_eq!((frame.kind, frame.payload.len()), (FrameKind::Trailers, 50));
    assert!(d.is_idle());
}

proptest! {
    #[test]
    fn scanner_agrees_with_decoder(bytes in prop::collection::vec(any::<u8>(), 0..200), points in prop::collection::vec(0usize..200, 0..10)) {
        let decoded = decode_all(&cut(&bytes, points.clone()), 64).map(|_| ());
        let mut scanner = FrameScanner::new(64);
        let scanned = cut(&bytes, points).iter().try_for_each(|c| scanner.scan(c)).and_then(|()| scanner.finish());
        prop_assert_eq!(decoded.is_ok(), scanned.is_ok());
    }

    #[test]
    fn round_trip_under_any_chunking(
        frames in prop::collection::vec((kind(), prop::collection::vec(any::<u8>(), 0..300)), 0..8),
        points in prop::collection::vec(0usize..3000, 0..20),
    ) {
        let wire: Vec<u8> = frames.iter().flat_map(|(k, p)| encode_frame(*k, p).to_vec()).collect();
        let decoded = decode_all(&cut(&wire, points), 300).unwrap();
        let decoded: Vec<_> = decoded.into_iter().map(|f| (f.kind, f.payload.to_vec())).collect();
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), points in prop::collection::vec(0usize..200, 0..10)) {
        let _ = decode_all(&cut(&bytes, points), 64);
    }
}

#[test]
fn next_frame_parts_hands_out_the_pushed_chunks_uncopied() {
    let wire = Bytes::from(
        [
            &encode_frame(FrameKind::Data, b"abcdefgh")[..],
            &encode_frame(FrameKind::Trailers, b"")[..],
            &encode_frame(FrameKind::Data, b"xy")[..],
        ]
        .concat(),
    );
    let mut d = FrameDecoder::new(100);
    d.push(wire.slice(..7));
    let mut parts: Vec<Bytes> = Vec::new();
    assert_eq!(d.next_frame_parts(&mut parts), Ok(None));
    assert!(parts.is_empty());
    d.push(wire.slice(7..11));
    d.push(wire.slice(11..));
    let h = d.next_frame_parts(&mut parts).unwrap().unwrap();
    assert_eq!((h.kind, h.len), (FrameKind::Data, 8));
    assert_eq!(parts, [&b"ab"[..], b"cdef", b"gh"]);
    assert_eq!(parts[1].as_ptr(), wire[7..].as_ptr(), "copied");
    parts.clear();
    let h = d.next_frame_parts(&mut parts).unwrap().unwrap();
    assert_eq!((h.kind, h.len), (FrameKind::Trailers, 0));
    assert!(parts.is_empty());
    let h = d.next_frame_parts(&mut parts).unwrap().unwrap();
    assert_eq!(h.len, 2);
    assert_eq!(parts, [&b"xy"[..]]);
    assert!(d.is_idle());
    d.finish().unwrap();
}
