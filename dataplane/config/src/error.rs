//! Config errors: every one names a key path and, when the source text is known, a line.
//! Validation's problems get their lines from the locator here, and serde_yaml's own errors
//! are read back into the same shape.

use std::fmt;

use super::locate::{line_of, line_of_duplicate, line_of_second_document};
use super::path::KeyPath;

/// One thing wrong with a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Key path of the offending value, e.g. `rules[2].destination[0]`; empty when the
    /// error is about the document as a whole (a YAML syntax error, an unreadable file).
    pub path: String,
    /// 1-based line in the source text, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// `line 12: rules[2].destination[0]: unknown address object "web"`. A line break inside
    /// a path or message (a quoted YAML key can hold one) is printed as `\n`, so that one error
    /// stays one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path.replace('\n', "\\n"))?;
        }
        f.write_str(&self.message.replace('\n', "\\n"))
    }
}

/// Every error found in a config, in document order where lines are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// A single error with no position (an unreadable file, say).
    pub fn whole(message: String) -> ConfigErrors {
        ConfigErrors(vec![ConfigError {
            path: String::new(),
            line: None,
            message,
        }])
    }
}

impl fmt::Display for ConfigErrors {
    /// One error a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Semantic problems collected by validation, before they are given lines.
///
/// Validation works on the deserialized config, which has no positions; [`Problems::locate`]
/// then finds each path's line in the source text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<(KeyPath, String)>);

impl Problems {
    pub fn push(&mut self, path: KeyPath, message: impl Into<String>) {
        self.0.push((path, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Gives each problem the line of its path in `source`, sorted by line (stable, so
    /// problems on one line keep the order they were found in).
    pub fn locate(self, source: &str) -> ConfigErrors {
        let mut errors: Vec<ConfigError> = self
            .0
            .into_iter()
            .map(|(path, message)| ConfigError {
                line: line_of(source, &path),
                path: path.to_string(),
                message,
            })
            .collect();
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        ConfigErrors(errors)
    }

    /// The problems without lines (a config built in code, not parsed from text).
    pub fn unlocated(self) -> ConfigErrors {
        ConfigErrors(
            self.0
                .into_iter()
                .map(|(path, message)| ConfigError {
                    path: path.to_string(),
                    line: None,
                    message,
                })
                .collect(),
        )
    }
}

/// Turns a serde_yaml error (syntax, type, unknown key, a custom check during
/// deserialization) into a [`ConfigError`] with path and line.
///
/// serde_yaml 0.9 exposes the location but not the path; its message is
/// `PATH: MESSAGE at line L column C`, with no `PATH: ` at the document root, so the path is
/// read back from the text. A path never holds a space; a message's first words always do
/// (`invalid type: ...`, `unknown field ...`), which tells the two apart.
pub fn from_serde_error(err: &serde_yaml::Error, source: &str) -> ConfigError {
    let line = err.location().map(|l| l.line());
    let mut text = err.to_string();
    if let Some(location) = err.location() {
        let suffix = format!(" at line {} column {}", location.line(), location.column());
        if let Some(at) = text.find(&suffix) {
            // libyaml's own messages go on after the position (", while parsing ..."): keep it.
            text.replace_range(at..at + suffix.len(), "");
        }
    }
    let (path, message) = match text.split_once(": ") {
        Some((path, message)) if !path.is_empty() && !path.contains(' ') => {
            (path.to_owned(), message.to_owned())
        }
        _ => (String::new(), text),
    };
    let line = duplicate_field(&message)
        .and_then(|key| line_of_duplicate(source, &KeyPath::parse(&path), key))
        .or(line)
        .or_else(|| line_of_second_document(source));
    ConfigError {
        path,
        line,
        message,
    }
}

/// `X` of serde's "duplicate field `X`".
fn duplicate_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("duplicate field `")?
        .split_once('`')
        .map(|(key, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_one_error_a_line() {
        let errors = ConfigErrors(vec![
            ConfigError {
                path: "rules[2].destination[0]".into(),
                line: Some(12),
                message: "unknown address object \"web\"".into(),
            },
            ConfigError {
                path: String::new(),
                line: None,
                message: "cannot read x".into(),
            },
        ]);
        assert_eq!(
            errors.to_string(),
            "line 12: rules[2].destination[0]: unknown address object \"web\"\ncannot read x"
        );
    }

    #[test]
    fn serde_errors_keep_path_and_line() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            n: u32,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Outer {
            list: Vec<Inner>,
        }
        let text = "list:\n  - n: 1\n  - n: 2\n    typo: 3\n";
        let e = from_serde_error(&serde_yaml::from_str::<Outer>(text).unwrap_err(), text);
        assert_eq!(e.line, Some(4), "{e:?}");
        assert_eq!(e.path, "list[1]", "{e:?}");
        assert!(e.message.starts_with("unknown field `typo`"), "{e:?}");

        let text = "list:\n  - n: -1\n";
        let e = from_serde_error(&serde_yaml::from_str::<Outer>(text).unwrap_err(), text);
        assert_eq!((e.path.as_str(), e.line), ("list[0].n", Some(2)), "{e:?}");
        assert!(e.message.starts_with("invalid type: integer `-1`"), "{e:?}");

        let text = "list: [\n";
        let e = from_serde_error(&serde_yaml::from_str::<Outer>(text).unwrap_err(), text);
        assert_eq!(e.path, "");
        assert!(e.line.is_some(), "{e:?}");

        let text = "list:\n  - n: 1\n\n    n: 2\n";
        let e = from_serde_error(&serde_yaml::from_str::<Outer>(text).unwrap_err(), text);
        assert_eq!((e.path.as_str(), e.line), ("list[0]", Some(4)), "{e:?}");
        assert!(e.message.starts_with("duplicate field `n`"), "{e:?}");
    }
}
