#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = dfft_core::statement::Statement::parse(data) {
        let p = s.to_payload().expect("a parsed statement serialises");
        assert_eq!(dfft_core::statement::Statement::parse(&p).expect("reparse"), s);
    }
});
