//! Recursive descent over `SelectorParser.jj`'s productions, with the checks Java's
//! expression factories make while parsing (they throw, so Java rejects the filter).

use crate::eval::{compare, Val};
use crate::lexer::{Tok, Token};
use crate::{FilterError, MAX_HEIGHT, MAX_NESTING};

/// A constant literal (`ConstantExpression`), never a boolean one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
}

/// `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
}

/// `CONTAINS`, `STARTSWITH`, `ENDSWITH`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// The expression tree; each variant is one of Java's expression classes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// `ConstantExpression` (numbers and strings).
    Const(Lit),
    /// `BooleanConstantExpression`: TRUE, FALSE, NULL (`None`).
    BoolConst(Option<bool>),
    /// `PropertyExpression`.
    Prop(String),
    /// Unary minus.
    Negate(Box<Node>),
    /// A property used as a boolean.
    BoolCast(Box<Node>),
    Not(Box<Node>),
    /// A chain of ANDs (Java's left-nested pairs evaluate the same way).
    And(Vec<Node>),
    Or(Vec<Node>),
    /// `=` (also IS NULL, with a NULL right side).
    Eq(Box<Node>, Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    In {
        prop: String,
        list: Vec<String>,
        not: bool,
    },
    Str {
        op: StrOp,
        not: bool,
        operand: Box<Node>,
        search: String,
    },
}

impl Node {
    fn is_boolean(&self) -> bool {
        !matches!(self, Node::Const(_) | Node::Prop(_) | Node::Negate(_))
    }

    /// The value of a constant expression, `None` for anything else.
    fn constant(&self) -> Option<Val<'_>> {
        match self {
            Node::Const(lit) => Some(Val::of(lit)),
            Node::BoolConst(None) => Some(Val::Null),
            Node::BoolConst(Some(b)) => Some(Val::Bool(*b)),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self.constant() {
            Some(v) => v.to_string(),
            None => match self {
                Node::Prop(name) => name.clone(),
                _ => "a sub-expression".to_owned(),
            },
        }
    }

    /// Whether the tree is deeper than `limit` (recursing at most `limit` levels).
    fn deeper_than(&self, limit: usize) -> bool {
        if limit == 0 {
            return true;
        }
        let next = limit - 1;
        match self {
            Node::Const(_) | Node::BoolConst(_) | Node::Prop(_) | Node::In { .. } => false,
            Node::Negate(n) | Node::BoolCast(n) | Node::Not(n) => n.deeper_than(next),
            Node::Str { operand, .. } => operand.deeper_than(next),
            Node::And(v) | Node::Or(v) => v.iter().any(|n| n.deeper_than(next)),
            Node::Eq(l, r) | Node::Cmp(_, l, r) => l.deeper_than(next) || r.deeper_than(next),
        }
    }
}

pub(crate) struct Parser {
    tokens: Vec<Token>,
    next: usize,
    nesting: usize,
}

type Parsed = Result<Node, FilterError>;

impl Parser {
    pub(crate) fn new(tokens: Vec<Token>) -> Parser {
        Parser {
            tokens,
            next: 0,
            nesting: 0,
        }
    }

    fn peek(&self) -> &Tok {
        &self.tokens[self.next.min(self.tokens.len() - 1)].kind
    }

    fn peek2(&self) -> &Tok {
        &self.tokens[(self.next + 1).min(self.tokens.len() - 1)].kind
    }

    fn pos(&self) -> usize {
        self.tokens[self.next.min(self.tokens.len() - 1)].pos
    }

    fn bump(&mut self) {
        if self.next + 1 < self.tokens.len() {
            self.next += 1;
        }
    }

    fn unexpected(&self, wanted: &str) -> FilterError {
        FilterError::new(
            self.pos(),
            format!("expected {wanted}, found {}", self.peek().describe()),
        )
    }

    fn expect(&mut self, tok: Tok, wanted: &str) -> Result<(), FilterError> {
        if *self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    /// `JmsSelector`: the whole input, which must be a boolean expression.
    pub(crate) fn selector(&mut self) -> Parsed {
        let pos = self.pos();
        let expr = self.or_expression()?;
        if *self.peek() != Tok::Eof {
            return Err(self.unexpected("an operator or the end of the expression"));
        }
        let expr = as_boolean(expr, pos)?;
        if expr.deeper_than(MAX_HEIGHT) {
            return Err(FilterError::new(
                0,
                format!("expression tree deeper than {MAX_HEIGHT} levels"),
            ));
        }
        Ok(expr)
    }

    fn or_expression(&mut self) -> Parsed {
        let pos = self.pos();
        let first = self.and_expression()?;
        if *self.peek() != Tok::Or {
            return Ok(first);
        }
        let mut items = vec![as_boolean(first, pos)?];
        while *self.peek() == Tok::Or {
            self.bump();
            let pos = self.pos();
            items.push(as_boolean(self.and_expression()?, pos)?);
        }
        Ok(Node::Or(items))
    }

    fn and_expression(&mut self) -> Parsed {
        let pos = self.pos();
        let first = self.equality_expression()?;
        if *self.peek() != Tok::And {
            return Ok(first);
        }
        let mut items = vec![as_boolean(first, pos)?];
        while *self.peek() == Tok::And {
            self.bump();
            let pos = self.pos();
            items.push(as_boolean(self.equality_expression()?, pos)?);
        }
        Ok(Node::And(items))
    }

    fn equality_expression(&mut self) -> Parsed {
        let mut left = self.comparison_expression()?;
        loop {
            let pos = self.pos();
            match self.peek() {
                Tok::Eq => {
                    self.bump();
                    let right = self.comparison_expression()?;
                    left = create_equal(left, right, pos)?;
                }
                Tok::Ne => {
                    self.bump();
                    let right = self.comparison_expression()?;
                    left = Node::Not(Box::new(create_equal(left, right, pos)?));
                }
                Tok::Is => {
                    self.bump();
                    let not = *self.peek() == Tok::Not;
                    if not {
                        self.bump();
                    }
                    self.expect(Tok::Null, "NULL")?;
                    let is_null = Node::Eq(Box::new(left), Box::new(Node::BoolConst(None)));
                    left = if not {
                        Node::Not(Box::new(is_null))
                    } else {
                        is_null
                    };
                }
                _ => return Ok(left),
            }
        }
    }

    fn string_literal(&mut self) -> Result<String, FilterError> {
        if let Tok::Str(s) = self.peek() {
            let s = s.clone();
            self.bump();
            Ok(s)
        } else {
            Err(self.unexpected("a string literal"))
        }
    }

    fn comparison_expression(&mut self) -> Parsed {
        let mut left = self.unary_expr()?;
        loop {
            let pos = self.pos();
            let (not, tok) = match (self.peek(), self.peek2()) {
                (Tok::Not, t @ (Tok::Contains | Tok::StartsWith | Tok::EndsWith))
                | (Tok::Not, t @ (Tok::Between | Tok::In)) => (true, t.clone()),
                (Tok::Not, _) => return Ok(left),
                (t, _) => (false, t.clone()),
            };
            let cmp = match tok {
                Tok::Gt => Some(CmpOp::Gt),
                Tok::Ge => Some(CmpOp::Ge),
                Tok::Lt => Some(CmpOp::Lt),
                Tok::Le => Some(CmpOp::Le),
                _ => None,
            };
            let str_op = match tok {
                Tok::Contains => Some(StrOp::Contains),
                Tok::StartsWith => Some(StrOp::StartsWith),
                Tok::EndsWith => Some(StrOp::EndsWith),
                _ => None,
            };
            if let Some(op) = cmp {
                self.bump();
                let right = self.unary_expr()?;
                left = create_cmp(op, left, right, pos)?;
            } else if let Some(op) = str_op {
                self.bump();
                if not {
                    self.bump();
                }
                let search = self.string_literal()?;
                left = Node::Str {
                    op,
                    not,
                    operand: Box::new(left),
                    search,
                };
            } else if tok == Tok::Between {
                self.bump();
                if not {
                    self.bump();
                }
                let low = self.unary_expr()?;
                self.expect(Tok::And, "AND")?;
                let high = self.unary_expr()?;
                left = if not {
                    Node::Or(vec![
                        create_cmp(CmpOp::Lt, left.clone(), low, pos)?,
                        create_cmp(CmpOp::Gt, left, high, pos)?,
                    ])
                } else {
                    create_between(left, low, high, pos)?
                };
            } else if tok == Tok::In {
                self.bump();
                if not {
                    self.bump();
                }
                self.expect(Tok::LParen, "(")?;
                let mut list = vec![self.string_literal()?];
                while *self.peek() == Tok::Comma {
                    self.bump();
                    list.push(self.string_literal()?);
                }
                self.expect(Tok::RParen, ", or )")?;
                let Node::Prop(prop) = left else {
                    return Err(FilterError::new(
                        pos,
                        format!("expected a property for IN, got {}", left.describe()),
                    ));
                };
                left = Node::In { prop, list, not };
            } else {
                return Ok(left);
            }
        }
    }

    fn unary_expr(&mut self) -> Parsed {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(FilterError::new(
                self.pos(),
                format!("expression nested deeper than {MAX_NESTING} levels"),
            ));
        }
        let result = self.unary_inner();
        self.nesting -= 1;
        result
    }

    fn unary_inner(&mut self) -> Parsed {
        match self.peek() {
            Tok::Plus => {
                self.bump();
                self.unary_expr()
            }
            Tok::Minus => {
                self.bump();
                Ok(Node::Negate(Box::new(self.unary_expr()?)))
            }
            Tok::Not => {
                self.bump();
                let pos = self.pos();
                let operand = self.unary_expr()?;
                Ok(Node::Not(Box::new(as_boolean(operand, pos)?)))
            }
            _ => self.primary_expr(),
        }
    }

    fn primary_expr(&mut self) -> Parsed {
        let pos = self.pos();
        let node = match self.peek().clone() {
            Tok::Str(s) => Node::Const(Lit::Str(s)),
            Tok::Decimal(image) => Node::Const(decimal(&image, pos)?),
            Tok::Float(image) => Node::Const(float(&image, pos)?),
            Tok::True => Node::BoolConst(Some(true)),
            Tok::False => Node::BoolConst(Some(false)),
            Tok::Null => Node::BoolConst(None),
            Tok::Id(name) => Node::Prop(name),
            Tok::LParen => {
                self.bump();
                let inner = self.or_expression()?;
                self.expect(Tok::RParen, ")")?;
                return Ok(inner);
            }
            _ => return Err(self.unexpected("a literal, a property or (")),
        };
        self.bump();
        Ok(node)
    }
}

/// `ConstantExpression.createFromDecimal`: a `long`, narrowed to `int` when it fits.
fn decimal(image: &str, pos: usize) -> Result<Lit, FilterError> {
    let digits = image.trim_end_matches(['l', 'L']);
    let value: i64 = digits
        .parse()
        .map_err(|_| FilterError::new(pos, format!("{image} does not fit in a long")))?;
    Ok(match i32::try_from(value) {
        Ok(v) => Lit::Int(v),
        Err(_) => Lit::Long(value),
    })
}

/// `ConstantExpression.createFloat`: Java rejects values above `Double.MAX_VALUE` and
/// below `Double.MIN_VALUE` (the smallest positive double, so `0.0` too).
fn float(image: &str, pos: usize) -> Result<Lit, FilterError> {
    let value: f64 = image
        .parse()
        .map_err(|_| FilterError::new(pos, format!("{image} is not a number")))?;
    if value > f64::MAX {
        return Err(FilterError::new(
            pos,
            format!("{image} is greater than {}", f64::MAX),
        ));
    }
    if value < f64::from_bits(1) {
        return Err(FilterError::new(
            pos,
            format!("{image} is less than Double.MIN_VALUE (4.9E-324)"),
        ));
    }
    Ok(Lit::Double(value))
}

/// `SelectorParser.asBooleanExpression`.
fn as_boolean(node: Node, pos: usize) -> Parsed {
    if node.is_boolean() {
        Ok(node)
    } else if matches!(node, Node::Prop(_)) {
        Ok(Node::BoolCast(Box::new(node)))
    } else {
        Err(FilterError::new(
            pos,
            format!(
                "expression will not result in a boolean value: {}",
                node.describe()
            ),
        ))
    }
}

/// `ComparisonExpression.createEqual`'s operand checks.
fn create_equal(left: Node, right: Node, pos: usize) -> Parsed {
    for side in [&left, &right] {
        if side.constant() == Some(Val::Null) {
            return Err(FilterError::new(
                pos,
                "NULL cannot be compared (use IS NULL)",
            ));
        }
    }
    if let (Some(Val::Bool(_)), Some(r)) = (left.constant(), right.constant()) {
        if !matches!(r, Val::Bool(_)) {
            return Err(FilterError::new(
                pos,
                format!("{} cannot be compared with {r}", left.describe()),
            ));
        }
    }
    Ok(Node::Eq(Box::new(left), Box::new(right)))
}

/// `ComparisonExpression.checkLessThanOperand`: constants must be numbers, and boolean
/// expressions cannot be ordered.
fn check_less_than_operand(node: &Node, pos: usize) -> Result<(), FilterError> {
    let ok = match node.constant() {
        Some(v) => matches!(v, Val::Int(_) | Val::Long(_) | Val::Double(_)),
        None => !node.is_boolean(),
    };
    if ok {
        Ok(())
    } else {
        Err(FilterError::new(
            pos,
            format!("value {} cannot be compared", node.describe()),
        ))
    }
}

fn create_cmp(op: CmpOp, left: Node, right: Node, pos: usize) -> Parsed {
    check_less_than_operand(&left, pos)?;
    check_less_than_operand(&right, pos)?;
    Ok(Node::Cmp(op, Box::new(left), Box::new(right)))
}

/// `ComparisonExpression.createBetween`: constant bounds must be non-null and ordered.
fn create_between(value: Node, low: Node, high: Node, pos: usize) -> Parsed {
    if let (Some(lv), Some(hv)) = (low.constant(), high.constant()) {
        if lv == Val::Null || hv == Val::Null {
            return Err(FilterError::new(pos, "BETWEEN bounds can not be NULL"));
        }
        let order = compare(&hv, &lv).map_err(|e| FilterError::new(pos, e.0))?;
        if order < 0 {
            return Err(FilterError::new(
                pos,
                format!("BETWEEN's low bound ({lv}) must be less than or equal to its high bound ({hv})"),
            ));
        }
    }
    Ok(Node::And(vec![
        create_cmp(CmpOp::Ge, value.clone(), low, pos)?,
        create_cmp(CmpOp::Le, value, high, pos)?,
    ]))
}
