//! libFuzzer entry point of `portico_fuzz::snapshot::decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::snapshot::decode(data));
