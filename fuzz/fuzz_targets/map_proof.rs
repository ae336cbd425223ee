#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = dfft_core::map::proof::MapProof::parse(data) {
        assert_eq!(p.to_bytes(), data, "one encoding per proof");
    }
});
