//! Operator, null and precedence cases, plus golden cases from RocketMQ's
//! `filter/src/test/java/.../ExpressionTest.java` and `ParserTest.java`.
#![allow(clippy::unwrap_used)]

use super::*;

fn eval(expr: &str, props: &[(&str, &str)]) -> bool {
    let e = Expression::parse(expr).unwrap_or_else(|err| panic!("{expr:?}: {err}"));
    e.matches(&|name| props.iter().find(|(k, _)| *k == name).map(|(_, v)| *v))
}

fn rejects(expr: &str) {
    assert!(
        Expression::parse(expr).is_err(),
        "{expr:?} should not parse"
    );
}

#[test]
fn java_expression_test_golden() {
    let and = "a=3 and b<>4 And c>5 AND d<=4";
    let or = "a=3 or b<>4 Or c>5 OR d<=4";
    assert!(eval(and, &[("a", "3"), ("b", "5"), ("c", "6"), ("d", "1")]));
    assert!(!eval(
        and,
        &[("a", "4"), ("b", "5"), ("c", "6"), ("d", "1")]
    ));
    assert!(eval(or, &[("a", "3")]));
    assert!(eval(or, &[("a", "4"), ("b", "5")]));
    assert!(eval(or, &[("a", "4"), ("b", "4"), ("c", "6")]));
    assert!(eval(or, &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "2")]));
    assert!(!eval(
        or,
        &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "10")]
    ));

    let in_ = "a in ('3', '4', '5')";
    for v in ["3", "4", "5"] {
        assert!(eval(in_, &[("a", v)]));
        assert!(!eval("a not in ('3', '4', '5')", &[("a", v)]));
    }
    assert!(!eval(in_, &[("a", "8")]));
    assert!(eval("a not in ('3', '4', '5')", &[("a", "8")]));

    for v in ["2", "10", "3"] {
        assert!(eval("a between 2 and 10", &[("a", v)]));
        assert!(!eval("a not between 2 and 10", &[("a", v)]));
    }
    for v in ["1", "11"] {
        assert!(!eval("a between 2 and 10", &[("a", v)]));
        assert!(eval("a not between 2 and 10", &[("a", v)]));
    }
    assert!(eval("a is null", &[("abc", "2")]));
    assert!(!eval("a is null", &[("a", "2")]));
    assert!(eval("a is not null", &[("a", "2")]));
    assert!(!eval("a is not null", &[("abc", "2")]));
    assert!(eval("a is not null and a='hello'", &[("a", "hello")]));
    assert!(!eval("a is not null and a='hello'", &[]));
    assert!(eval("a=TRUE OR b=FALSE", &[("a", "true"), ("b", "false")]));
    assert!(!eval("a=TRUE OR b=FALSE", &[("a", "false"), ("b", "true")]));
    assert!(eval("a is null OR a='hello'", &[]));
    assert!(eval("a is null OR a='hello'", &[("a", "hello")]));
    assert!(!eval("a is null OR a='hello'", &[("a", "abc")]));
    assert!(eval(
        "TAGS is not null and TAGS='''''tag'''''",
        &[("TAGS", "''tag''")]
    ));
    assert!(eval("a > b", &[("a", "20"), ("b", "10")]));
    assert!(!eval("a > b", &[("a", "10"), ("b", "20")]));
    assert!(eval("a > 3.14", &[("a", "3.1415")]));
    assert!(eval("a > 3.1E10", &[("a", "3.1415E10")]));
    assert!(eval("a=b", &[("a", "3.14"), ("b", "3.14")]));
    assert!(!eval("a<>b", &[("a", "3.14"), ("b", "3.14")]));
    assert!(eval("a<>b", &[("a", "3.14"), ("b", "3.141")]));
    // Java throws for these (testEvaluate_stringCompare): no match.
    assert!(!eval("a between up and low", &[("a", "3.14")]));
    assert!(!eval(
        "a between up and low",
        &[("a", "3.14"), ("up", "up"), ("low", "low")]
    ));
    assert!(!eval(
        "key is not null and key between 0 and 100",
        &[("key", "con")]
    ));
    assert!(!eval("a between 0 and 100", &[("a", "abc")]));
}

#[test]
fn java_string_operator_golden() {
    let v = [("value", "axb")];
    assert!(eval("value contains 'x'", &v));
    assert!(eval("value startswith 'ax'", &v));
    assert!(eval("value endswith 'xb'", &v));
    assert!(!eval("value not contains 'x'", &v));
    assert!(!eval("value not startswith 'ax'", &v));
    assert!(!eval("value not endswith 'xb'", &v));
    let w = [("value", "abb")];
    assert!(!eval("value contains 'x'", &w));
    assert!(eval("value not contains 'x'", &w));
    assert!(eval("value not startswith 'x'", &w));
    assert!(eval("value not endswith 'x'", &w));
    for op in ["contains", "startswith", "endswith"] {
        // Empty search: FALSE, negated or not.
        assert!(!eval(&format!("value {op} ''"), &v));
        assert!(!eval(&format!("value not {op} ''"), &v));
        // Missing property: FALSE, negated or not.
        assert!(!eval(&format!("value {op} 'x'"), &[]));
        assert!(!eval(&format!("value not {op} 'x'"), &[]));
        assert!(!eval(&format!("'axb' {op} '.'"), &[]));
        assert!(eval(&format!("'axb' not {op} '.'"), &[]));
        assert!(eval(&format!("' ' {op} ' '"), &[]));
        assert!(!eval(&format!("'s' {op} '\\'"), &[]));
        rejects(&format!("value {op} x"));
        rejects(&format!("value not {op} 123"));
        rejects(&format!("'axb' {op} "));
    }
    assert!(eval("'axb' contains 'x'", &[]));
    for op in ["contains", "startswith", "endswith"] {
        let e = format!("a not in ('4', '4', '5') and b between 3 and 10 and c not {op} 'axbc'");
        assert!(eval(&e, &[("a", "3"), ("b", "3"), ("c", "axbdc")]));
    }
}

#[test]
fn java_parser_test_golden() {
    for ok in [
        "a=3 and b<>4 And c>5 AND d<=4",
        "a=3  and    b<>4 And c>5 AND d<=4",
        "a in ('3', '4', '5')",
        "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
        "(a between 2 and 10) AND (b not between 6 and 9)",
        "a is null",
        "a is not null",
        "a <= now",
        "a=3 and b contains 'xxx' and c not contains 'xxx'",
    ] {
        Expression::parse(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
    }
    rejects("a and between 2 and 10");
    rejects("a > 100000000000000000000000");
    rejects(" a between 10 and 0");
    assert_eq!(
        Expression::parse("a=3 and b<>4 And c>5 AND d<=4").unwrap(),
        Expression::parse("a=3  and    b<>4 And c>5 AND d<=4").unwrap()
    );
}

#[test]
fn comparisons_and_conversions() {
    assert!(eval("a = 5", &[("a", "5")]));
    assert!(eval("a = 5", &[("a", "+5")]));
    assert!(!eval("a = 5", &[("a", "5.0")])); // Integer.valueOf throws
    assert!(eval("a = 5.0", &[("a", "5")]));
    assert!(eval("a = 3000000000", &[("a", "3000000000")]));
    assert!(eval("a > 2147483648", &[("a", "3000000000")]));
    assert!(!eval("a > 2147483647", &[("a", "3000000000")])); // Integer.valueOf throws
    assert!(!eval("a > 1", &[("a", "3000000000")])); // not an int
    assert!(eval("a >= 1.5", &[("a", " 1.5d ")])); // Double.valueOf trims, takes a suffix
    assert!(eval("a < -1", &[("a", "-2")]));
    assert!(eval("a <= - 2", &[("a", "-2")]));
    assert!(eval("a = -2", &[("a", "-2")]));
    assert!(eval("a > +1", &[("a", "2")]));
    assert!(eval("a = 'x'", &[("a", "x")]));
    assert!(!eval("a = 'x'", &[("a", "y")]));
    assert!(eval("a <> 'x'", &[("a", "y")]));
    assert!(eval("a = 10L", &[("a", "10")]));
    assert!(eval("a = TRUE", &[("a", "TRUE")]));
    assert!(!eval("a = TRUE", &[("a", "yes")]));
    assert!(eval("a > b", &[("a", "NaN"), ("b", "Infinity")]));
    assert!(!eval("a > b", &[("a", "1"), ("b", "x")]));
    assert!(eval("1 = 1", &[]));
    assert!(eval("2 > 1.5", &[]));
    assert!(eval("2147483648 > 2147483647", &[]));
    assert!(eval("'b' = 'b'", &[]));
    // Unrelated types compare as -1 in Java.
    assert!(!eval("(a = 'x') = 1", &[("a", "x")]));
    // String ordering is by UTF-16 unit, as String.compareTo.
    assert!(!eval("a = b", &[("a", "\u{ffff}"), ("b", "\u{10000}")]));
}

#[test]
fn nulls() {
    // A missing property makes comparisons unknown...
    for e in [
        "a = 'x'",
        "a <> 'x'",
        "a > 1",
        "a >= 1",
        "a < 1",
        "a <= 1",
        "a in ('x')",
        "a not in ('x')",
        "a between 1 and 2",
        "a not between 1 and 2",
    ] {
        assert!(!eval(e, &[]), "{e}");
        assert!(!eval(&format!("NOT ({e})"), &[]), "NOT ({e})");
    }
    // ...except where Java's equality is asymmetric: a non-null left with a null right
    // is FALSE, two nulls are equal.
    assert!(eval("NOT ('x' = a)", &[]));
    assert!(eval("a = b", &[]));
    assert!(!eval("a <> b", &[]));
    assert!(eval("NULL IS NULL", &[]));
    assert!(!eval("NULL", &[]));
    assert!(!eval("NOT NULL", &[]));
    // Unknown AND FALSE is FALSE, unknown OR TRUE is TRUE.
    assert!(eval("NOT (a = 'x' AND 1 = 2)", &[]));
    assert!(eval("a = 'x' OR 1 = 1", &[]));
    assert!(!eval("a = 'x' OR 1 = 2", &[]));
    assert!(!eval("NOT (a = 'x' OR 1 = 2)", &[]));
    assert!(!eval("a = 'x' AND 1 = 1", &[]));
}

#[test]
fn booleans_and_precedence() {
    assert!(eval("TRUE", &[]));
    assert!(!eval("FALSE", &[]));
    assert!(eval("NOT FALSE", &[]));
    assert!(eval("TRUE OR FALSE AND FALSE", &[])); // AND before OR
    assert!(!eval("(TRUE OR FALSE) AND FALSE", &[]));
    assert!(eval("NOT FALSE AND TRUE", &[])); // NOT before AND
    assert!(!eval("NOT (FALSE OR TRUE)", &[]));
    assert!(eval("NOT FALSE OR FALSE", &[]));
    assert!(eval("not not TRUE", &[]));
    // A property used as a boolean is FALSE (its value is a string), null when missing.
    assert!(!eval("a", &[("a", "true")]));
    assert!(eval("NOT a", &[("a", "true")]));
    assert!(!eval("NOT a", &[]));
    // NOT binds to the operand, as in Java: (NOT a) = 'x' compares a Boolean with a
    // String, which throws in Java.
    assert!(!eval("NOT a = 'x'", &[("a", "y")]));
    assert!(eval("NOT (a = 'x')", &[("a", "y")]));
    rejects("NOT a > 1");
    // Keywords are case-insensitive; tokens need no spaces.
    assert!(eval("a=5AND b='x'oR FaLsE", &[("a", "5"), ("b", "x")]));
    // Comments.
    assert!(eval("a = 1 -- trailing comment", &[("a", "1")]));
    assert!(eval("/* c */ a /* d */ = 1 -- x\n AND TRUE", &[("a", "1")]));
}

#[test]
fn parse_errors() {
    for bad in [
        "",
        "a =",
        "a = NULL",
        "NULL = a",
        "a > 'x'",
        "a > TRUE",
        "a > NULL",
        "TRUE = 1",
        "5",
        "'x'",
        "-a",
        "NOT 5",
        "TRUE AND 1",
        "a = 'x' b",
        "a = 'x')",
        "(a = 'x'",
        "a != 'x'",
        "a = 'unterminated",
        "a = 0.0", // Java: less than Double.MIN_VALUE
        "a = 1e400",
        "a between 1 and NULL",
        "a between 'x' and 'y'",
        "1 in ('x')",
        "a in ()",
        "a in (1)",
        "a is 5",
        "a = #",
        "a.b = 1",
        "/* open",
        "a = 9223372036854775808",
        "a > 1 > 0",
    ] {
        rejects(bad);
    }
    let e = Expression::parse("a = 'x' AND b >").unwrap_err();
    assert_eq!(e.position, 15);
    let e = Expression::parse("a = #").unwrap_err();
    assert_eq!(e.position, 4);
    assert!(e.to_string().starts_with("at position 4: "), "{e}");
}

#[test]
fn limits() {
    let long = format!("a = '{}'", "x".repeat(MAX_INPUT_BYTES));
    assert!(Expression::parse(&long).is_err());
    let ok = format!("{}a = 1{}", "(".repeat(60), ")".repeat(60));
    assert!(Expression::parse(&ok).is_ok());
    for deep in [
        format!("{}a = 1{}", "(".repeat(65), ")".repeat(65)),
        format!("{}TRUE", "NOT ".repeat(65)),
        format!("a = {}1", "-".repeat(2000)),
        format!("a{}", " = a".repeat(1000)),
        "(".repeat(4000),
    ] {
        assert!(Expression::parse(&deep).is_err());
    }
    // Long flat chains are fine.
    let chain = vec!["a = '1'"; 300].join(" OR ");
    assert!(eval(&chain, &[("a", "1")]));
}

#[test]
fn float_literals() {
    assert!(eval("a = 5.", &[("a", "5")]));
    assert!(eval("a = .5", &[("a", "0.5")]));
    assert!(eval("a = 5E1", &[("a", "50")]));
    assert!(eval("a = 5.e1", &[("a", "50")]));
    assert!(eval("a = 1.5e-1", &[("a", "0.15")]));
}

#[test]
fn matches_map_works() {
    let e = Expression::parse("k = 'v'").unwrap();
    let mut m = HashMap::new();
    m.insert("k".to_owned(), "v".to_owned());
    assert!(e.matches_map(&m));
    let f = e.clone();
    std::thread::spawn(move || assert!(!f.matches(&|_| None)))
        .join()
        .unwrap();
}
