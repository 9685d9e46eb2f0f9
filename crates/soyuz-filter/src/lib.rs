//! RocketMQ's SQL92 message filter (`ExpressionType.SQL92`), parsed and evaluated the way
//! `org.apache.rocketmq.filter` does it (`SelectorParser.jj` and the expression classes).
//!
//! * Literals: `'strings'` (`''` is a quote), integers (`int`, or `long` past `int`'s range,
//!   optional `L` suffix), floats (`1.5`, `.5`, `5.`, `1E10`), `TRUE`, `FALSE`, `NULL`.
//! * Properties: `[A-Za-z_$][A-Za-z0-9_$]*`; their values are strings.
//! * Operators: `=`, `<>`, `>`, `>=`, `<`, `<=`, `[NOT] BETWEEN a AND b`,
//!   `[NOT] IN ('a', ...)`, `IS [NOT] NULL`, `[NOT] CONTAINS|STARTSWITH|ENDSWITH 'text'`,
//!   `AND`, `OR`, `NOT`, unary `+`/`-`, parentheses, `--` and `/* */` comments. Keywords are
//!   case-insensitive.
//! * Precedence (Java's grammar): unary (`NOT`, `-`, `+`) binds tightest, then the
//!   comparisons, then `=`/`<>`/`IS NULL`, then `AND`, then `OR`. So `NOT a = 'x'` is
//!   `(NOT a) = 'x'`, as in Java (write `NOT (a = 'x')`).
//! * Three-valued logic: a missing property is `null`; comparisons with it are unknown and
//!   `AND`/`OR`/`NOT` follow SQL's truth tables. A filter matches only when it is TRUE.
//!   Where Java's evaluation throws (a property that is not a number compared with a
//!   number, strings ordered with `>` that are not numbers), the message does not match.
//!
//! Input is limited to [`MAX_INPUT_BYTES`] bytes and [`MAX_NESTING`] levels of
//! parentheses and unary operators, so hostile filters cannot exhaust the stack.

mod eval;
mod lexer;
mod parser;

use std::collections::HashMap;
use std::fmt;

/// The longest filter text accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 4096;

/// The deepest nesting of parentheses and unary operators accepted.
pub const MAX_NESTING: usize = 64;

/// The deepest expression tree accepted (chains such as `a = b = c` nest without
/// parentheses).
pub const MAX_HEIGHT: usize = 256;

/// Why a filter could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset into the filter text where the problem was found.
    pub position: usize,
    /// What is wrong, in words.
    pub reason: String,
}

impl FilterError {
    pub(crate) fn new(position: usize, reason: impl Into<String>) -> FilterError {
        FilterError {
            position,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.position, self.reason)
    }
}

impl std::error::Error for FilterError {}

/// A parsed SQL92 filter, ready to be evaluated against messages' properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    root: parser::Node,
}

impl Expression {
    /// Parses `text`, with the checks Java makes while parsing (e.g. `a > 'x'`,
    /// `a = NULL`, `a BETWEEN 10 AND 1` and a non-boolean whole expression are errors).
    pub fn parse(text: &str) -> Result<Expression, FilterError> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(FilterError::new(
                MAX_INPUT_BYTES,
                format!(
                    "expression is {} bytes, longer than {MAX_INPUT_BYTES}",
                    text.len()
                ),
            ));
        }
        let tokens = lexer::tokenize(text)?;
        let root = parser::Parser::new(tokens).selector()?;
        Ok(Expression { root })
    }

    /// Whether a message whose property `name` has value `property(name)` (`None` when
    /// absent) passes the filter: only when the expression evaluates to TRUE.
    pub fn matches<'p>(&self, property: &dyn Fn(&str) -> Option<&'p str>) -> bool {
        let ctx = |name: &str| -> Option<&str> { property(name) };
        matches!(self.root.eval(&ctx), Ok(eval::Val::Bool(true)))
    }

    /// [`Expression::matches`] over a map of properties.
    pub fn matches_map(&self, properties: &HashMap<String, String>) -> bool {
        self.matches(&|name| properties.get(name).map(String::as_str))
    }
}

#[cfg(test)]
mod tests;
