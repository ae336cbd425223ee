#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ix) = dfft_core::map::index::IndexEntry::parse_payload(data) {
        assert_eq!(ix.payload(), data, "canonical payloads only");
    }
    let _ = dfft_core::map::index::IndexEntry::parse_entry(data);
});
