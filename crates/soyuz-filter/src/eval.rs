//! Evaluation with Java's value types and conversions (`ComparisonExpression.__compare`
//! with `convertStringExpressions` on, as `SelectorParser.parse` sets it).

use std::cmp::Ordering;
use std::fmt;

use crate::parser::{CmpOp, Lit, Node, StrOp};

/// A runtime value: Java's `null`, `Boolean`, `Integer`, `Long`, `Double`, `String`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

impl<'a> Val<'a> {
    pub(crate) fn of(lit: &'a Lit) -> Val<'a> {
        match lit {
            Lit::Int(v) => Val::Int(*v),
            Lit::Long(v) => Val::Long(*v),
            Lit::Double(v) => Val::Double(*v),
            Lit::Str(s) => Val::Str(s),
        }
    }
}

impl fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => f.write_str("NULL"),
            Val::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Val::Int(v) => write!(f, "{v}"),
            Val::Long(v) => write!(f, "{v}"),
            Val::Double(v) => write!(f, "{v:?}"),
            Val::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

/// An exception Java's evaluation would throw: the whole filter then does not match.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Thrown(pub(crate) String);

type Eval<'a> = Result<Val<'a>, Thrown>;

/// `Integer.valueOf` / `Long.valueOf` (ASCII digits, optional sign).
fn java_int<T: std::str::FromStr>(s: &str) -> Result<T, Thrown> {
    s.parse()
        .map_err(|_| Thrown(format!("NumberFormatException: For input string: \"{s}\"")))
}

/// `Double.valueOf`: surrounding control/space characters trimmed, an optional sign,
/// `NaN`, `Infinity` or a decimal with an optional exponent and `f`/`d` suffix.
/// (Java's hexadecimal floating literals are not accepted here.)
pub(crate) fn java_double(s: &str) -> Result<f64, Thrown> {
    let fail = || Thrown(format!("NumberFormatException: For input string: \"{s}\""));
    let t = s.trim_matches(|c: char| c <= ' ');
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let magnitude = if body == "NaN" {
        f64::NAN
    } else if body == "Infinity" {
        f64::INFINITY
    } else {
        let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
        let b = body.as_bytes();
        let mut i = 0;
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let mut ndigits = i - int_start;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            ndigits += i - frac_start;
        }
        if ndigits == 0 {
            return Err(fail());
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let exp_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == exp_start {
                return Err(fail());
            }
        }
        if i != b.len() {
            return Err(fail());
        }
        body.parse::<f64>().map_err(|_| fail())?
    };
    Ok(if neg { -magnitude } else { magnitude })
}

/// `Double.compare`: NaN above everything, `-0.0` below `0.0`.
fn double_cmp(a: f64, b: f64) -> i32 {
    if a < b {
        -1
    } else if a > b {
        1
    } else {
        let bits = |x: f64| {
            if x.is_nan() {
                0x7ff8_0000_0000_0000_i64
            } else {
                x.to_bits() as i64
            }
        };
        ord(bits(a).cmp(&bits(b)))
    }
}

fn ord(o: Ordering) -> i32 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// `ComparisonExpression.__compare(lv, rv, true)`: mixed types are converted toward each
/// other; a failed string conversion throws; unrelated types compare as "less" (-1).
pub(crate) fn compare(lv: &Val<'_>, rv: &Val<'_>) -> Result<i32, Thrown> {
    use Val::*;
    Ok(match (lv, rv) {
        (Int(l), Int(r)) => ord(l.cmp(r)),
        (Long(l), Long(r)) => ord(l.cmp(r)),
        (Double(l), Double(r)) => double_cmp(*l, *r),
        (Bool(l), Bool(r)) => ord(l.cmp(r)),
        // String.compareTo: UTF-16 code units.
        (Str(l), Str(r)) => ord(l.encode_utf16().cmp(r.encode_utf16())),
        // Java casts the Boolean to String here: a ClassCastException.
        (Bool(_), Str(_)) => {
            return Err(Thrown(
                "ClassCastException: Boolean cannot be cast to String".to_owned(),
            ))
        }
        (Int(l), Long(r)) => ord(i64::from(*l).cmp(r)),
        (Int(l), Double(r)) => double_cmp(f64::from(*l), *r),
        (Int(l), Str(r)) => ord(l.cmp(&java_int::<i32>(r)?)),
        (Long(l), Int(r)) => ord(l.cmp(&i64::from(*r))),
        (Long(l), Double(r)) => double_cmp(*l as f64, *r),
        (Long(l), Str(r)) => ord(l.cmp(&java_int::<i64>(r)?)),
        (Double(l), Int(r)) => double_cmp(*l, f64::from(*r)),
        (Double(l), Long(r)) => double_cmp(*l, *r as f64),
        (Double(l), Str(r)) => double_cmp(*l, java_double(r)?),
        (Str(l), Bool(r)) => ord(l.eq_ignore_ascii_case("true").cmp(r)),
        (Str(l), Int(r)) => ord(java_int::<i32>(l)?.cmp(r)),
        (Str(l), Long(r)) => ord(java_int::<i64>(l)?.cmp(r)),
        (Str(l), Double(r)) => double_cmp(java_double(l)?, *r),
        _ => -1,
    })
}

fn truth<'a>(v: Val<'a>) -> Result<Option<bool>, Thrown> {
    match v {
        Val::Null => Ok(None),
        Val::Bool(b) => Ok(Some(b)),
        other => Err(Thrown(format!(
            "ClassCastException: {other} is not a Boolean"
        ))),
    }
}

fn from_truth<'a>(t: Option<bool>) -> Val<'a> {
    t.map_or(Val::Null, Val::Bool)
}

impl Node {
    /// Java's `evaluate`: `Err` where Java throws.
    pub(crate) fn eval<'a>(&'a self, ctx: &dyn Fn(&str) -> Option<&'a str>) -> Eval<'a> {
        Ok(match self {
            Node::Const(lit) => Val::of(lit),
            Node::BoolConst(b) => from_truth(*b),
            Node::Prop(name) => ctx(name).map_or(Val::Null, Val::Str),
            Node::Negate(n) => match n.eval(ctx)? {
                Val::Int(v) => Val::Int(v.wrapping_neg()),
                Val::Long(v) => Val::Long(v.wrapping_neg()),
                Val::Double(v) => Val::Double(-v),
                _ => Val::Null,
            },
            Node::BoolCast(n) => match n.eval(ctx)? {
                Val::Null => Val::Null,
                Val::Bool(b) => Val::Bool(b),
                _ => Val::Bool(false),
            },
            Node::Not(n) => from_truth(truth(n.eval(ctx)?)?.map(|b| !b)),
            Node::And(items) => {
                let mut unknown = false;
                for item in items {
                    match truth(item.eval(ctx)?)? {
                        Some(false) => return Ok(Val::Bool(false)),
                        Some(true) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    Val::Null
                } else {
                    Val::Bool(true)
                }
            }
            Node::Or(items) => {
                let mut unknown = false;
                for item in items {
                    match truth(item.eval(ctx)?)? {
                        Some(true) => return Ok(Val::Bool(true)),
                        Some(false) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    Val::Null
                } else {
                    Val::Bool(false)
                }
            }
            Node::Eq(l, r) => {
                let lv = l.eval(ctx)?;
                let rv = r.eval(ctx)?;
                match (&lv, &rv) {
                    (Val::Null, Val::Null) => Val::Bool(true),
                    (Val::Null, _) => Val::Null,
                    (_, Val::Null) => Val::Bool(false),
                    _ => Val::Bool(compare(&lv, &rv)? == 0),
                }
            }
            Node::Cmp(op, l, r) => {
                let lv = l.eval(ctx)?;
                if lv == Val::Null {
                    return Ok(Val::Null);
                }
                let rv = r.eval(ctx)?;
                if rv == Val::Null {
                    return Ok(Val::Null);
                }
                let answer = match (&lv, &rv) {
                    // Ordering strings is only allowed when both are numbers.
                    (Val::Str(a), Val::Str(b)) => double_cmp(java_double(a)?, java_double(b)?),
                    _ => compare(&lv, &rv)?,
                };
                Val::Bool(match op {
                    CmpOp::Gt => answer > 0,
                    CmpOp::Ge => answer >= 0,
                    CmpOp::Lt => answer < 0,
                    CmpOp::Le => answer <= 0,
                })
            }
            Node::In { prop, list, not } => match ctx(prop) {
                None => Val::Null,
                Some(v) => Val::Bool(list.iter().any(|s| s == v) ^ not),
            },
            Node::Str {
                op,
                not,
                operand,
                search,
            } => {
                if search.is_empty() {
                    return Ok(Val::Bool(false));
                }
                match operand.eval(ctx)? {
                    Val::Str(s) => {
                        let hit = match op {
                            StrOp::Contains => s.contains(search.as_str()),
                            StrOp::StartsWith => s.starts_with(search.as_str()),
                            StrOp::EndsWith => s.ends_with(search.as_str()),
                        };
                        Val::Bool(hit ^ not)
                    }
                    // null and non-strings are FALSE, negated or not.
                    _ => Val::Bool(false),
                }
            }
        })
    }
}
