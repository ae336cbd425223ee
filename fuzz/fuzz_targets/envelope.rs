#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = dfft_core::statement::dsse::Envelope::parse(data) {
        // The canonical form parses back to the same envelope, with the
        // same statement id.
        let c = e.canonical_bytes();
        let again = dfft_core::statement::dsse::Envelope::parse_canonical(&c).expect("canonical reparse");
        assert_eq!(again, e);
        assert_eq!(again.statement_id(), e.statement_id());
    }
    // The server's authentication-first path never panics, and with no
    // known key refuses everything.
    let r = dfft_core::statement::registry::Submission::parse_authenticated(data, |_| Vec::new());
    assert!(r.is_err());
});
