#![no_main]
use dfft_witness::request::AddCheckpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = AddCheckpoint::parse(data) {
        // What parses re-encodes to a body that parses to the same request.
        let body = AddCheckpoint::to_body(r.old, &r.proof, &r.checkpoint.to_text());
        assert_eq!(AddCheckpoint::parse(body.as_bytes()).expect("reparse"), r);
    }
});
