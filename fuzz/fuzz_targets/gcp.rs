#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| statusrelay_core::fuzzing::gcp(data));
