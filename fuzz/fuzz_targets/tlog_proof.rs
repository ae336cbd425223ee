#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = dfft_core::tlog_proof::TlogProof::parse(data) {
        let again = dfft_core::tlog_proof::TlogProof::parse(p.to_text().as_bytes()).expect("reparse");
        assert_eq!(again, p);
    }
});
