//! Fuzz target: one transport frame as a client could send it, through every wire decoder
//! (`rsmbd::wire::fuzzing::decode_everything`). Run on stable with
//! `cargo fuzz run decode_request --sanitizer none` from the repository root; the seed corpus is
//! in `fuzz/corpus/decode_request`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsmbd::wire::fuzzing::decode_everything(data));
