//! libFuzzer entry point of `portico_fuzz::hello::scan`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::hello::scan(data));
