//! Trailer blocks: parsing never panics, and whatever parses survives encode -> parse
//! unchanged (duplicates and their order included).
#![no_main]

use grpcweb_protocol::trailers::{encode, estimate_len, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(map) = parse(data) else { return };
    let block = encode(&map);
    assert_eq!(block.len(), estimate_len(&map));
    let again = parse(&block).expect("an encoded block parses");
    assert_eq!(again, map, "encode(parse(x)) re-parses differently");
    assert_eq!(again.len(), map.len());
    assert_eq!(encode(&again), block, "encoding is not stable");
});
