//! What the fuzz targets share: turning bytes into text and files, and the position invariant every parser holds to.

use catalog::descriptor::Problem;

/// The input as text, the way a file of the catalog would be read after a lossy decode.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Splits the input at NUL bytes into at most `n` parts (the last part keeps any further NULs), each as text.
pub fn parts(data: &[u8], n: usize) -> Vec<String> {
    data.splitn(n, |b| *b == 0).map(text).collect()
}

/// The lines of a text as YAML counts them (line breaks are `\n`, `\r\n` and a lone `\r`), each as its number of
/// characters. A text always has at least one line, and a text that ends with a break has an empty last line.
pub fn line_lengths(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut current = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                lines.push(current);
                current = 0;
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(current);
                current = 0;
            }
            _ => current += 1,
        }
    }
    lines.push(current);
    lines
}

/// Asserts that a line and column (both from 1, the column in characters) stand within `text`: on one of its
/// lines, at most one column past that line's last character.
#[track_caller]
pub fn assert_within(text: &str, line: u32, col: u32, what: &dyn std::fmt::Display) {
    let lines = line_lengths(text);
    assert!(line >= 1 && col >= 1, "{what}: position {line}:{col} is not counted from 1");
    let Some(length) = lines.get(line as usize - 1) else {
        panic!("{what}: line {line} is past the end of the text ({} lines)", lines.len());
    };
    assert!(col as usize <= length + 1, "{what}: column {col} is past the end of line {line} ({length} characters)");
}

/// Asserts that every problem has a position within `text`, and a message.
#[track_caller]
pub fn assert_problems_within(text: &str, problems: &[Problem]) {
    for problem in problems {
        assert!(!problem.message.trim().is_empty(), "a problem without a message at {}:{}", problem.line, problem.col);
        assert_within(text, problem.line, problem.col, problem);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_as_yaml_counts_them() {
        assert_eq!(line_lengths(""), [0]);
        assert_eq!(line_lengths("ab\ncd\r\ne\rf\n"), [2, 2, 1, 1, 0]);
        assert_eq!(line_lengths("é"), [1]);
    }
}
