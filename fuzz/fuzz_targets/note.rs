#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = dfft_core::note::Note::parse(data) {
        // Whatever parses must format back to something that parses the same.
        let again = dfft_core::note::Note::parse(n.to_text().as_bytes()).expect("reparse");
        assert_eq!(again, n);
    }
});
