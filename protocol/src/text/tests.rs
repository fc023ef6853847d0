use super::*;
use crate::framing::tests_support::cut;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;

fn decode_chunks(chunks: &[&[u8]]) -> Result<Vec<u8>, TextError> {
    let mut d = Base64Decoder::new();
    let mut out = BytesMut::new();
    for c in chunks {
        d.decode(c, &mut out)?;
    }
    d.finish()?;
    Ok(out.to_vec())
}

#[test]
fn decodes_standard_vectors() {
    let table: &[(&[u8], &[u8])] = &[
        (b"", b""),
        (b"Zg==", b"f"),
        (b"Zm8=", b"fo"),
        (b"Zm9v", b"foo"),
        (b"Zm9vYg==", b"foob"),
        (b"Zm9vYmE=", b"fooba"),
        (b"Zm9vYmFy", b"foobar"),
        (b"+/+/", &[0xfb, 0xff, 0xbf]),
    ];
    for (input, want) in table {
        assert_eq!(decode_chunks(&[input]).unwrap(), *want, "{input:?}");
    }
}

#[test]
fn accepts_concatenated_padded_segments_and_whitespace() {
    assert_eq!(decode_chunks(&[b"Zg==Zm8=Zm9v"]).unwrap(), b"ffofoo");
    assert_eq!(decode_chunks(&[b"Zm\r\n9v\tYg= ="]).unwrap(), b"foob");
    for split in 0..=12 {
        let s = b"Zg==Zm8=Zm9v";
        assert_eq!(
            decode_chunks(&[&s[..split], &s[split..]]).unwrap(),
            b"ffofoo"
        );
    }
}

#[test]
fn rejects_bad_input_with_a_reason() {
    assert_eq!(
        decode_chunks(&[b"Zm9*"]),
        Err(TextError::InvalidByte {
            offset: 3,
            byte: b'*'
        })
    );
    assert_eq!(
        decode_chunks(&[b"Zm9v", b"-_"]),
        Err(TextError::InvalidByte {
            offset: 4,
            byte: b'-'
        })
    );
    assert_eq!(
        decode_chunks(&[b"Z==="]),
        Err(TextError::InvalidPadding { offset: 1 })
    );
    assert_eq!(
        decode_chunks(&[b"===="]),
        Err(TextError::InvalidPadding { offset: 0 })
    );
    assert_eq!(
        decode_chunks(&[b"Zm=v"]),
        Err(TextError::InvalidPadding { offset: 3 })
    );
    assert_eq!(
        decode_chunks(&[b"Zm9"]),
        Err(TextError::Incomplete { leftover: 3 })
    );
    assert_eq!(
        decode_chunks(&[b"Zm9vY"]),
        Err(TextError::Incomplete { leftover: 1 })
    );
    assert_eq!(
        decode_chunks(&[b"Zm="]),
        Err(TextError::Incomplete { leftover: 3 })
    );
    assert!(
        TextError::Incomplete { leftover: 3 }
            .to_string()
            .contains("padded")
    );
    assert!(
        TextError::InvalidByte { offset: 0, byte: 0 }
            .to_string()
            .contains("0x00")
    );
}

#[test]
fn encoder_writes_padded_segments() {
    assert_eq!(&encode_segment(b"f")[..], b"Zg==");
    assert_eq!(&encode_segment(b"foobar")[..], b"Zm9vYmFy");
    assert_eq!(&encode_segment(b"")[..], b"");
    let mut out = BytesMut::from(&b"Zg=="[..]);
    encode_segment_into(b"fo", &mut out);
    assert_eq!(&out[..], b"Zg==Zm8=");
}

proptest! {
    #[test]
    fn segments_round_trip_under_any_chunking(
        segments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..100), 0..6),
        points in prop::collection::vec(0usize..1000, 0..20),
    ) {
        let mut wire = BytesMut::new();
        for s in &segments {
            encode_segment_into(s, &mut wire);
        }
        let want: Vec<u8> = segments.concat();
        prop_assert_eq!(decode_chunks(&cut(&wire, points)).unwrap(), want);
    }

    #[test]
    fn matches_reference_decoder(
        data in prop::collection::vec(any::<u8>(), 0..48),
        edit in prop::option::of((any::<prop::sample::Index>(), prop::sample::select(b"AZaz09+/=-_ ".to_vec()))),
    ) {
        // Valid base64, or valid base64 with one character replaced (often still valid):
        // random bytes would almost never be valid, and the check below would not run.
        let mut text = base64::Engine::encode(&STANDARD, &data).into_bytes();
        if let (Some((at, byte)), false) = (edit, text.is_empty()) {
            let i = at.index(text.len());
            text[i] = byte;
        }
        let ours = decode_all(&text).ok().map(|b| b.to_vec());
        if let Ok(reference) = base64::Engine::decode(&STANDARD, &text) {
            // Everything the strict reference accepts, we accept identically.
            prop_assert_eq!(ours, Some(reference));
        } else if edit.is_none() {
            prop_assert!(false, "the reference refused its own encoding");
        }
    }

    #[test]
    fn long_bodies_match_the_reference_both_ways(
        data in prop::collection::vec(any::<u8>(), 0..14000),
        points in prop::collection::vec(0usize..19000, 0..4),
    ) {
        // Longer than the encoder's and the decoder's blocks.
        let reference = base64::Engine::encode(&STANDARD, &data);
        prop_assert_eq!(&encode_segment(&data)[..], reference.as_bytes());
        prop_assert_eq!(decode_chunks(&cut(reference.as_bytes(), points)).unwrap(), data);
    }

    #[test]
    fn the_fast_path_decodes_as_one_character_at_a_time_does(
        segments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..5000), 1..4),
        edits in prop::collection::vec((0usize..20000, prop::sample::select(
            &b" \t\r\n=A/*-\x00QR"[..])), 0..4),
        points in prop::collection::vec(0usize..20000, 0..4),
    ) {
        // Padded segments back to back, with whitespace, padding, bad bytes and
        // non-zero bits after padding put in: whatever the blocks of the fast path
        // (SIMD, then the table) take, the result and any error (its offset too) are
        // those of the character-by-character path.
        let mut wire = BytesMut::new();
        for s in &segments {
            encode_segment_into(s, &mut wire);
        }
        let mut wire = wire.to_vec();
        for (at, byte) in edits {
            let at = at % (wire.len() + 1);
            if at < wire.len() && at.is_multiple_of(2) {
                wire[at] = byte;
            } else {
                wire.insert(at, byte);
            }
        }
        let bytewise: Vec<&[u8]> = wire.chunks(1).collect();
        prop_assert_eq!(decode_chunks(&cut(&wire, points)), decode_chunks(&bytewise));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), points in prop::collection::vec(0usize..200, 0..10)) {
        let _ = decode_chunks(&cut(&bytes, points));
    }
}

#[test]
fn the_ranges_match_the_table() {
    let table = decode_table();
    for b in 0..=255u8 {
        assert_eq!(class_by_ranges(b), table[usize::from(b)], "{b:#04x}");
    }
}
