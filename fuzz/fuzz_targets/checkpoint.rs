#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = dfft_core::checkpoint::Checkpoint::parse(s) {
            assert_eq!(dfft_core::checkpoint::Checkpoint::parse(&c.to_text()).expect("reparse"), c);
        }
    }
    let _ = dfft_core::checkpoint::SignedCheckpoint::parse(data);
});
