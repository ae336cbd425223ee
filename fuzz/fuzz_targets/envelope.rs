#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = dfft_core::statement::dsse::Envelope::parse(data) {
        // The canonical form parses back to the same envelope.
        let c = e.canonical_bytes();
        let again = dfft_core::statement::dsse::Envelope::parse_canonical(&c).expect("canonical reparse");
        assert_eq!(again, e);
    }
});
