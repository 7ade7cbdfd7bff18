#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prtip_fuzz_targets::wire_transport(data));
