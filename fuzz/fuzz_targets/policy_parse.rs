#![no_main]
//! C2SP tlog-policy files: never a panic; a policy that parses prints as a
//! file that parses back to the same policy; evaluating its quorum on any
//! subset of its witnesses agrees with `missing`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = dfft_core::policy::Policy::parse(s) else {
        return;
    };
    assert_eq!(dfft_core::policy::Policy::parse(&p.to_string()).as_ref(), Ok(&p));
    let names: Vec<&str> = p.witnesses().iter().map(|w| w.name.as_str()).collect();
    for n in 0..=names.len().min(8) {
        let some = &names[..n];
        assert_eq!(p.quorum_met(some), p.missing(some).is_empty());
    }
});
