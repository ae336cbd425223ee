#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(k) = dfft_core::note::VerifierKey::parse(s) {
            assert_eq!(k.to_string(), s);
        }
        let _ = dfft_core::note::SignerKey::parse(s);
    }
});
