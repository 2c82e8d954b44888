//! Fuzzes the SOAP request path: envelope parsing, argument decoding and dispatch against a
//! live emulator. Any panic is a bug: bad input must become a SOAP fault.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Mutex;
use vcsim::methods::{CallContext, dispatch};
use vcsim::{Config, Emulator};

static EMU: Mutex<Option<Emulator>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(call) = vcsim::soap::read_call(text) else { return };
    let mut guard = EMU.lock().unwrap_or_else(|p| p.into_inner());
    let emu = guard.get_or_insert_with(|| Emulator::new(Config::default()).expect("default inventory"));
    let mut ctx = CallContext { session: emu.sessions.iter().next().map(|s| s.key.clone()), ..CallContext::default() };
    let _ = dispatch(emu, &mut ctx, &call);
});
