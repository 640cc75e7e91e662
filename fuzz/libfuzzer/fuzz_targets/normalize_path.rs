//! libFuzzer entry point of `portico_fuzz::paths::normalize`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::paths::normalize(data));
