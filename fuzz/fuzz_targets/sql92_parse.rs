//! soyuz-filter's SQL92 parser on arbitrary text, and every filter it accepts evaluated
//! against a few property sets: neither may panic or overflow the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(expr) = soyuz_filter::Expression::parse(&text) {
        let _ = expr.matches(&|_| None);
        let _ = expr.matches(&|name| if name.starts_with('a') { Some("3") } else { None });
        let _ = expr.matches(&|name| if name.len() % 2 == 0 { Some("1") } else { Some("x") });
    }
});
