//! libFuzzer entry point of `portico_fuzz::proxy::parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::proxy::parse(data));
