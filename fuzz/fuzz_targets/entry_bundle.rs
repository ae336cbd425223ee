#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = dfft_core::tile::decode_bundle(data) {
        let again = dfft_core::tile::encode_bundle(entries.iter().copied()).expect("encode");
        assert_eq!(again, data);
    }
});
