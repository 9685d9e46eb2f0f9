//! Replays the `sql92_parse` fuzz seeds (`fuzz/seeds/sql92_parse/*.hex`) through what the
//! cargo-fuzz target does, so every seed is a regression test in `cargo test`.

use std::path::Path;

use soyuz_filter::Expression;

#[test]
fn sql92_parse_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/sql92_parse");
    let mut parsed = 0;
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("seed directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_none_or(|e| e != "hex") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable seed");
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let data: Vec<u8> = digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex"))
            .collect();
        seen += 1;
        if let Ok(expr) = Expression::parse(&String::from_utf8_lossy(&data)) {
            parsed += 1;
            let _ = expr.matches(&|_| None);
            let _ = expr.matches(&|name| {
                if name.starts_with('a') {
                    Some("3")
                } else {
                    None
                }
            });
            let _ = expr.matches(&|name| {
                if name.len() % 2 == 0 {
                    Some("1")
                } else {
                    Some("x")
                }
            });
        }
    }
    assert!(seen >= 5, "{}: only {seen} seeds", dir.display());
    assert!(
        parsed >= 4,
        "most seeds should be valid filters, {parsed} parsed"
    );
}
