//! Property tests: the parser never panics, and AND/OR/NOT follow SQL's three-valued
//! logic (checked against a Kleene-logic model and De Morgan's laws).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use soyuz_filter::Expression;

/// Atoms whose truth value the model computes directly.
const ATOMS: [&str; 8] = [
    "a = 'x'",
    "b <> 'y'",
    "a IS NULL",
    "b IS NOT NULL",
    "a IN ('x', 'xy')",
    "b CONTAINS 'x'",
    "TRUE",
    "NULL",
];

fn atom_truth(i: usize, a: Option<&str>, b: Option<&str>) -> Option<bool> {
    match i {
        0 => a.map(|a| a == "x"),
        1 => b.map(|b| b != "y"),
        2 => Some(a.is_none()),
        3 => Some(b.is_some()),
        4 => a.map(|a| a == "x" || a == "xy"),
        5 => Some(b.is_some_and(|b| b.contains('x'))),
        6 => Some(true),
        _ => None,
    }
}

#[derive(Debug, Clone)]
enum Tree {
    Atom(usize),
    Not(Box<Tree>),
    And(Box<Tree>, Box<Tree>),
    Or(Box<Tree>, Box<Tree>),
}

impl Tree {
    fn text(&self) -> String {
        match self {
            Tree::Atom(i) => ATOMS[*i].to_owned(),
            Tree::Not(t) => format!("NOT ({})", t.text()),
            Tree::And(l, r) => format!("({}) AND ({})", l.text(), r.text()),
            Tree::Or(l, r) => format!("({}) or ({})", l.text(), r.text()),
        }
    }

    fn truth(&self, a: Option<&str>, b: Option<&str>) -> Option<bool> {
        match self {
            Tree::Atom(i) => atom_truth(*i, a, b),
            Tree::Not(t) => t.truth(a, b).map(|v| !v),
            Tree::And(l, r) => match (l.truth(a, b), r.truth(a, b)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Tree::Or(l, r) => match (l.truth(a, b), r.truth(a, b)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        }
    }
}

fn tree() -> impl Strategy<Value = Tree> {
    (0..ATOMS.len())
        .prop_map(Tree::Atom)
        .prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|t| Tree::Not(Box::new(t))),
                (inner.clone(), inner.clone())
                    .prop_map(|(l, r)| Tree::And(Box::new(l), Box::new(r))),
                (inner.clone(), inner).prop_map(|(l, r)| Tree::Or(Box::new(l), Box::new(r))),
            ]
        })
}

fn value() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("x")),
        Just(Some("y")),
        Just(Some("xy"))
    ]
}

fn matches(text: &str, a: Option<&str>, b: Option<&str>) -> bool {
    let e = Expression::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    e.matches(&|name| match name {
        "a" => a,
        "b" => b,
        _ => None,
    })
}

proptest! {
    #[test]
    fn three_valued_logic(t in tree(), a in value(), b in value()) {
        let expected = t.truth(a, b);
        prop_assert_eq!(matches(&t.text(), a, b), expected == Some(true));
        prop_assert_eq!(matches(&format!("NOT ({})", t.text()), a, b), expected == Some(false));
    }

    #[test]
    fn de_morgan(l in tree(), r in tree(), a in value(), b in value()) {
        let (l, r) = (l.text(), r.text());
        prop_assert_eq!(
            matches(&format!("({l}) AND ({r})"), a, b),
            matches(&format!("NOT (NOT ({l}) OR NOT ({r}))"), a, b)
        );
        prop_assert_eq!(
            matches(&format!("NOT (({l}) AND ({r}))"), a, b),
            matches(&format!("NOT ({l}) OR NOT ({r})"), a, b)
        );
    }

    #[test]
    fn parse_never_panics(text in "\\PC{0,200}") {
        let _ = Expression::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_token_soup(
        parts in proptest::collection::vec(prop_oneof![
            Just("a"), Just("'x'"), Just("''"), Just("'"), Just("1"), Just("1.5"), Just(".5e3"),
            Just("2147483648"), Just("0"), Just("-"), Just("+"), Just("("), Just(")"),
            Just(","), Just("="), Just("<>"), Just(">"), Just(">="), Just("<"), Just("<="),
            Just("NOT"), Just("AND"), Just("OR"), Just("BETWEEN"), Just("IN"), Just("IS"),
            Just("NULL"), Just("TRUE"), Just("FALSE"), Just("CONTAINS"), Just("STARTSWITH"),
            Just("ENDSWITH"), Just("--"), Just("/*"), Just("*/"), Just("\n"), Just(" "),
        ], 0..60),
        a in value(),
    ) {
        let text = parts.concat();
        if let Ok(e) = Expression::parse(&text) {
            let _ = e.matches(&|name| if name == "a" { a } else { Some("1") });
        }
        let spaced = parts.join(" ");
        if let Ok(e) = Expression::parse(&spaced) {
            let _ = e.matches(&|_| a);
        }
    }
}
