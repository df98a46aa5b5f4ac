#![no_main]
//! `cargo fuzz run engine`: see fuzz/README.md and the doc of the function called.

libfuzzer_sys::fuzz_target!(|data: &[u8]| synwall_fuzz::engine::Driver::run(data));
