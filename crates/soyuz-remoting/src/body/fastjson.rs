//! Reading fastjson's output, which is JSON except where a map key is not a string.
//!
//! fastjson writes `Map<Long, String>` as `{0:"10.0.0.1:10911"}` (bare numeric keys) and
//! a map keyed by an object as `{{"brokerName":"b","queueId":0,"topic":"t"}:{...}}`.
//! [`to_standard_json`] rewrites such input into standard JSON, turning every non-string
//! key into a string (an object key becomes its compact JSON text), so that serde can
//! read it. Standard JSON passes through unchanged in meaning.

use thiserror::Error;

/// Where and why the input is not even fastjson.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed JSON body at byte {offset}: {reason}")]
pub struct FastjsonError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected.
    pub reason: &'static str,
}

/// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Rewrites fastjson text into standard JSON.
pub fn to_standard_json(input: &[u8]) -> Result<Vec<u8>, FastjsonError> {
    let mut rewriter = Rewriter {
        input,
        pos: 0,
        out: Vec::with_capacity(input.len() + 16),
    };
    rewriter.value(0)?;
    rewriter.skip_ws();
    if rewriter.pos != input.len() {
        return Err(rewriter.error("trailing characters"));
    }
    Ok(rewriter.out)
}

struct Rewriter<'a> {
    input: &'a [u8],
    pos: usize,
    out: Vec<u8>,
}

impl Rewriter<'_> {
    fn error(&self, reason: &'static str) -> FastjsonError {
        FastjsonError {
            offset: self.pos,
            reason,
        }
    }

    fn skip_ws(&mut self) {
        while self
            .input
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.input.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), FastjsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            self.out.push(byte);
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), FastjsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string(),
            Some(_) => self.scalar(),
            None => Err(self.error("a value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), FastjsonError> {
        self.expect(b'{', "'{'")?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.out.push(b'}');
            return Ok(());
        }
        loop {
            self.key(depth)?;
            self.expect(b':', "':' after a key")?;
            self.value(depth + 1)?;
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.out.push(b',');
                }
                Some(b'}') => {
                    self.pos += 1;
                    self.out.push(b'}');
                    return Ok(());
                }
                _ => return Err(self.error("',' or '}' in an object")),
            }
        }
    }

    fn key(&mut self, depth: usize) -> Result<(), FastjsonError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'{' | b'[') => {
                // An object used as a key: rewrite it on its own, then emit it as a string.
                let mark = self.out.len();
                self.value(depth + 1)?;
                let text = self.out.split_off(mark);
                let quoted = serde_json::to_vec(&String::from_utf8_lossy(&text))
                    .map_err(|_| self.error("an encodable key"))?;
                self.out.extend_from_slice(&quoted);
                Ok(())
            }
            Some(_) => {
                let start = self.pos;
                self.scalar_span()?;
                let text = &self.input[start..self.pos];
                self.out.push(b'"');
                self.out.extend_from_slice(text);
                self.out.push(b'"');
                Ok(())
            }
            None => Err(self.error("a key")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), FastjsonError> {
        self.expect(b'[', "'['")?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.out.push(b']');
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.out.push(b',');
                }
                Some(b']') => {
                    self.pos += 1;
                    self.out.push(b']');
                    return Ok(());
                }
                _ => return Err(self.error("',' or ']' in an array")),
            }
        }
    }

    fn string(&mut self) -> Result<(), FastjsonError> {
        let start = self.pos;
        self.pos += 1; // opening quote
        loop {
            match self.input.get(self.pos) {
                None => return Err(self.error("the end of a string")),
                Some(b'\\') => self.pos += 2,
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let end = self.pos.min(self.input.len());
        self.out.extend_from_slice(&self.input[start..end]);
        Ok(())
    }

    /// A number, `true`, `false` or `null`: copied as it is.
    fn scalar(&mut self) -> Result<(), FastjsonError> {
        let start = self.pos;
        self.scalar_span()?;
        self.out.extend_from_slice(&self.input[start..self.pos]);
        Ok(())
    }

    fn scalar_span(&mut self) -> Result<(), FastjsonError> {
        let start = self.pos;
        while self
            .input
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.' | b'_'))
        {
            self.pos += 1;
        }
        if self.pos == start {
            Err(self.error("a value"))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn rewrite(input: &str) -> Value {
        let out = to_standard_json(input.as_bytes()).expect("rewrites");
        serde_json::from_slice(&out).expect("standard JSON")
    }

    #[test]
    fn quotes_bare_numeric_keys() {
        let v = rewrite(r#"{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}}"#);
        assert_eq!(v["brokerAddrs"]["0"], "10.0.0.1:10911");
        assert_eq!(v["brokerAddrs"]["1"], "10.0.0.2:10911");
    }

    #[test]
    fn turns_object_keys_into_their_json_text() {
        let v = rewrite(
            r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"maxOffset":5}}}"#,
        );
        let table = v["offsetTable"].as_object().expect("object");
        let (key, value) = table.iter().next().expect("one entry");
        assert_eq!(key, r#"{"brokerName":"b","queueId":0,"topic":"t"}"#);
        assert_eq!(value["maxOffset"], 5);
    }

    #[test]
    fn standard_json_keeps_its_meaning() {
        let input = r#"{ "a" : [1, -2.5e3, true, null, "x\"y"], "b": {} }"#;
        assert_eq!(
            rewrite(input),
            serde_json::from_str::<Value>(input).expect("json")
        );
    }

    #[test]
    fn refuses_truncated_and_deep_input() {
        assert!(to_standard_json(br#"{"a":"#).is_err());
        assert!(to_standard_json(br#"{"a":"unterminated"#).is_err());
        assert!(to_standard_json(b"{\"a\":1} x").is_err());
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(to_standard_json(deep.as_bytes()).is_err());
    }
}
