//! Replays the `sql92_parse` fuzz seeds (`fuzz/seeds/sql92_parse/*.hex`) through what the
//! cargo-fuzz target does, so every seed is a regression test in `cargo test`.

use soyuz_filter::Expression;

#[test]
fn sql92_parse_seeds() {
    let mut parsed = 0;
    let mut seen = 0;
    for seed in soyuz_testkit::fuzz_seeds("sql92_parse") {
        let data = seed.data;
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
    assert!(seen >= 5, "only {seen} sql92_parse seeds");
    assert!(
        parsed >= 4,
        "most seeds should be valid filters, {parsed} parsed"
    );
}
