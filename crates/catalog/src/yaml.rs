//! YAML documents as trees that remember where each node stood, so that every problem names its line and column.
//!
//! Parsing is done by `saphyr-parser` (events with spans); this module only builds the tree, resolves plain scalars
//! with the YAML 1.2 core schema, and bounds the work: nesting depth and the number of nodes (aliases included) are
//! limited, so a YAML bomb gets an error instead of a hang.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde::{Deserialize, Serialize};

/// A position in a file: line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }

    fn of(span: &Span) -> Pos {
        Pos {
            line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
            col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    /// The value under a string key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What a person would call this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The key as text, the way JSON needs it.
    pub fn key_text(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Seq(_) | Value::Map(_) => serde_json::to_string(&self.to_json()).unwrap_or_default(),
        }
    }

    /// The plain JSON form of the tree.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.key_text(), v.to_json())).collect()),
        }
    }
}

/// Bounds on what one file may make the parser do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_nodes: 2_000_000 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

enum Open {
    Seq { pos: Pos, anchor: usize, items: Vec<Node> },
    Map { pos: Pos, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node> },
}

/// Parses every document of a multi-document YAML text.
pub fn parse_documents(text: &str, limits: Limits) -> Result<Vec<Node>, YamlError> {
    let mut documents = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Anchored nodes with the number of nodes each holds, so that an alias is charged its full size.
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut sizes: Vec<usize> = Vec::new();
    let mut nodes = 0usize;
    let end = end_of(text);

    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            pos: error_pos(text, e.marker().line(), e.marker().col() + 1, end),
            message: format!("invalid YAML: {}", e.info()),
        })?;
        let pos = Pos::of(&span).min(end);
        let finished: Option<(Node, usize, usize)> = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = if style == ScalarStyle::Plain && tag.as_ref().is_none_or(|t| !t.is_yaml_core_schema()) {
                    resolve_plain(&text)
                } else if let Some(tag) = tag.as_ref().filter(|t| t.is_yaml_core_schema()) {
                    resolve_tagged(&tag.suffix, &text, pos)?
                } else {
                    Value::Str(text.into_owned())
                };
                Some((Node { value, pos }, anchor, 1))
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(too_deep(pos, limits));
                }
                stack.push(Open::Seq { pos, anchor, items: Vec::new() });
                sizes.push(1);
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(too_deep(pos, limits));
                }
                stack.push(Open::Map { pos, anchor, entries: Vec::new(), key: None });
                sizes.push(1);
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let size = sizes.pop().unwrap_or(1);
                match stack.pop() {
                    Some(Open::Seq { pos, anchor, items }) => {
                        Some((Node { value: Value::Seq(items), pos }, anchor, size))
                    }
                    Some(Open::Map { pos, anchor, entries, .. }) => {
                        Some((Node { value: Value::Map(entries), pos }, anchor, size))
                    }
                    None => None,
                }
            }
            Event::Alias(id) => {
                let (node, size) = anchors
                    .get(&id)
                    .ok_or_else(|| YamlError { pos, message: "alias to an unknown anchor".to_owned() })?;
                if nodes + size > limits.max_nodes {
                    return Err(too_big(pos, limits));
                }
                Some((Node { value: node.value.clone(), pos }, 0, *size))
            }
            Event::DocumentStart(_) => {
                anchors.clear();
                None
            }
            Event::DocumentEnd | Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
        };
        let Some((node, anchor, size)) = finished else {
            continue;
        };
        nodes += size;
        if nodes > limits.max_nodes {
            return Err(too_big(pos, limits));
        }
        if anchor > 0 {
            anchors.insert(anchor, (node.clone(), size));
        }
        if let Some(parent) = sizes.last_mut() {
            *parent += size;
        }
        match stack.last_mut() {
            None => documents.push(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(documents)
}

fn too_deep(pos: Pos, limits: Limits) -> YamlError {
    YamlError { pos, message: format!("YAML nested deeper than {} levels", limits.max_depth) }
}

fn too_big(pos: Pos, limits: Limits) -> YamlError {
    YamlError {
        pos,
        message: format!(
            "YAML expands to more than {} nodes (aliases included); refusing to read further",
            limits.max_nodes
        ),
    }
}

fn resolve_tagged(suffix: &str, text: &str, pos: Pos) -> Result<Value, YamlError> {
    Ok(match suffix {
        "str" => Value::Str(text.to_owned()),
        "null" => Value::Null,
        "bool" | "int" | "float" => match resolve_plain(text) {
            Value::Str(_) => {
                return Err(YamlError { pos, message: format!("`{text}` is not a valid !!{suffix}") });
            }
            value => value,
        },
        _ => Value::Str(text.to_owned()),
    })
}

/// The YAML 1.2 core schema for untagged plain scalars.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::Int(i);
    }
    if looks_like_float(digits)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn looks_like_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (!int.is_empty() || !frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// Just after the last character of a text, lines ended as YAML ends them (`\n`, `\r\n` or a lone `\r`).
///
/// At the end of a text that does not end with a line break, the parser's marker stands on the line after the last,
/// which an editor cannot go to: `a: [` fails at 2:1, and an empty node there (the key of `a: 1\n? `) starts on that
/// line too. Positions past the end are put here instead.
fn end_of(text: &str) -> Pos {
    let (mut line, mut col) = (1usize, 1usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' || c == '\r' {
            if c == '\r' {
                chars.next_if_eq(&'\n');
            }
            (line, col) = (line + 1, 1);
        } else {
            col += 1;
        }
    }
    Pos::new(u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}

/// A syntax error's position, kept inside the text: not past its end (see [`end_of`]), nor past the end of its line,
/// where the parser's marker may also stand (a `%` directive followed by unprintable characters fails at 1:12 on a
/// line of 9 characters).
fn error_pos(text: &str, line: usize, col: usize, end: Pos) -> Pos {
    let pos = Pos::new(u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX)).min(end);
    let (mut current, mut length) = (1u32, 0u32);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' || c == '\r' {
            if current == pos.line {
                break;
            }
            if c == '\r' {
                chars.next_if_eq(&'\n');
            }
            current += 1;
        } else if current == pos.line {
            length = length.saturating_add(1);
        }
    }
    Pos::new(pos.line.max(1), pos.col.clamp(1, length.saturating_add(1)))
}

/// Where the first byte that is not UTF-8 stands, for the error message of a file that is not text.
pub fn utf8_error_pos(bytes: &[u8], valid_up_to: usize) -> Pos {
    let before = &bytes[..valid_up_to.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    Pos::new(u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Node> {
        parse_documents(text, Limits::default()).expect("valid YAML")
    }

    #[test]
    fn multi_document_with_positions() {
        let docs = parse("a: 1\n---\nkind: Component\nmetadata:\n  name: x\n");
        assert_eq!(docs.len(), 2);
        let name = docs[1].get("metadata").and_then(|m| m.get("name")).expect("name");
        assert_eq!(name.as_str(), Some("x"));
        assert_eq!(name.pos, Pos::new(5, 9));
    }

    #[test]
    fn core_schema_scalars() {
        let doc = &parse("a: true\nb: 12\nc: 1.5\nd: ~\ne: 'true'\nf: 0x1F\ng: 1e3\nh: 1.2.3\ni: -7\n")[0];
        assert_eq!(doc.get("a").map(|n| &n.value), Some(&Value::Bool(true)));
        assert_eq!(doc.get("b").map(|n| &n.value), Some(&Value::Int(12)));
        assert_eq!(doc.get("c").map(|n| &n.value), Some(&Value::Float(1.5)));
        assert_eq!(doc.get("d").map(|n| &n.value), Some(&Value::Null));
        assert_eq!(doc.get("e").map(|n| &n.value), Some(&Value::Str("true".into())));
        assert_eq!(doc.get("f").map(|n| &n.value), Some(&Value::Int(31)));
        assert_eq!(doc.get("g").map(|n| &n.value), Some(&Value::Float(1000.0)));
        assert_eq!(doc.get("h").map(|n| &n.value), Some(&Value::Str("1.2.3".into())));
        assert_eq!(doc.get("i").map(|n| &n.value), Some(&Value::Int(-7)));
    }

    #[test]
    fn aliases_expand_and_are_counted() {
        let docs = parse("base: &b {x: 1}\ncopy: *b\n");
        assert_eq!(docs[0].get("copy").and_then(|c| c.get("x")).map(|n| &n.value), Some(&Value::Int(1)));
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_documents(&text, Limits::default()).expect_err("a bomb must be refused");
        assert!(err.message.contains("more than"), "{err}");
        assert!(err.pos.line > 1);
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Flow nesting is stopped by the parser itself, block nesting by our limit.
        let flow = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse_documents(&flow, Limits::default()).expect_err("too deep");
        assert!(err.message.contains("recursion limit") || err.message.contains("deeper than"), "{err}");
        let block: String = (0..100).map(|depth| format!("{}k{depth}:\n", "  ".repeat(depth))).collect();
        let err = parse_documents(&block, Limits::default()).expect_err("too deep");
        assert!(err.message.contains("deeper than 64"), "{err}");
        assert_eq!(err.pos.line, 65, "the 65th nested mapping starts on line 65");
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_documents("a: 1\nb: [1, 2\nc: 3\n", Limits::default()).expect_err("broken");
        assert!(err.pos.line >= 2, "{err}");
        assert!(err.message.starts_with("invalid YAML"));
    }

    #[test]
    fn utf8_position() {
        let bytes: Vec<u8> = [b"ab\ncd".as_slice(), &[0xff], b"e"].concat();
        let err = std::str::from_utf8(&bytes).expect_err("not utf-8");
        assert_eq!(utf8_error_pos(&bytes, err.valid_up_to()), Pos::new(2, 3));
    }

    #[test]
    fn to_json_keeps_structure() {
        let doc = &parse("a: [1, {b: c}]\n")[0];
        assert_eq!(doc.to_json(), serde_json::json!({"a": [1, {"b": "c"}]}));
    }
}
