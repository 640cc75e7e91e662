//! libFuzzer entry point of `portico_fuzz::yaml::documents`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::yaml::documents(data));
