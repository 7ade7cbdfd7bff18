#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prtip_fuzz_targets::target_spec(data));
