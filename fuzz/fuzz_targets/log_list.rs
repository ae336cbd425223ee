#![no_main]
use dfft_witness::loglist::LogList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(l) = LogList::parse(s) {
            // A list always extends itself, adding nothing.
            assert!(l.extend(&l).expect("self extension").is_empty());
        }
    }
});
