//! libFuzzer entry point of `portico_fuzz::routing::lookup`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::routing::lookup(data));
