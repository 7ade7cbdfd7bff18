//! Target text as tokens: command-line arguments and the whitespace-separated
//! expressions of `-iL` files, with `file:line` for errors.

use crate::error::Error;

/// Where a token came from, for `file:line` in errors.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token<'a> {
    pub(super) text: &'a str,
    pub(super) file: Option<(&'a str, usize)>,
}

impl Token<'_> {
    pub(super) fn wrap(&self, e: Error) -> Error {
        match self.file {
            Some((file, line)) => e.in_file(file, line),
            None => e,
        }
    }
}

/// Next whitespace-separated token of file content; `#` starts a comment
/// that runs to the end of the line. Advances `rest` and the line counter.
pub(super) fn next_file_token<'a>(
    rest: &mut &'a str,
    line: &mut usize,
) -> Option<(&'a str, usize)> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            if bytes[i] == b'\n' {
                *line += 1;
            }
            i += 1;
        }
        if i == bytes.len() {
            *rest = "";
            return None;
        }
        if bytes[i] == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'#' {
            i += 1;
        }
        // Token boundaries are ASCII bytes, so both indices are char boundaries.
        let token = rest.get(start..i)?;
        *rest = rest.get(i..)?;
        return Some((token, *line));
    }
}

/// Every token of a file's content with its line number.
pub(super) fn file_tokens(content: &str) -> impl Iterator<Item = (&str, usize)> {
    let mut rest = content;
    let mut line = 1;
    std::iter::from_fn(move || next_file_token(&mut rest, &mut line))
}

/// The tokens of all sources in order; a cursor, so iterating allocates nothing.
#[derive(Debug, Clone)]
pub(super) struct Tokens<'a> {
    pub(super) sources: &'a [Source],
    /// Unread content of the file at `sources[0]`, once started.
    pub(super) rest: Option<&'a str>,
    pub(super) line: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let (source, later) = self.sources.split_first()?;
            match source {
                Source::Arg(arg) => {
                    self.sources = later;
                    let text = arg.trim();
                    if !text.is_empty() {
                        return Some(Token { text, file: None });
                    }
                }
                Source::File { name, content } => {
                    let rest = self.rest.get_or_insert(content.as_str());
                    if let Some((text, line)) = next_file_token(rest, &mut self.line) {
                        return Some(Token {
                            text,
                            file: Some((name.as_str(), line)),
                        });
                    }
                    self.sources = later;
                    self.rest = None;
                    self.line = 1;
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Source {
    Arg(String),
    File { name: String, content: String },
}
