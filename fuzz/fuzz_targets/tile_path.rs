#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(t) = dfft_core::tile::Tile::parse_path(s) {
            // Only canonical paths parse: formatting gives the input back.
            assert_eq!(t.path(), s);
        }
    }
});
