//! Config errors: every one names a key path and, when the source text is known, a line.

use std::fmt;

/// One step of a key path: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in the document: `rules[2].destination[0]`.
///
/// Kept as segments rather than a string so that keys holding dots (`host-10.0.0.1`)
/// stay unambiguous when the locator walks the YAML.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    /// This path extended by a mapping key.
    pub fn key(&self, key: &str) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        KeyPath(segments)
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        KeyPath(segments)
    }

    /// Builds a path from `"a.b"` style keys, for the fixed sections (`"session.timeouts"`).
    pub fn keys(dotted: &str) -> KeyPath {
        KeyPath(
            dotted
                .split('.')
                .filter(|k| !k.is_empty())
                .map(|k| Segment::Key(k.to_owned()))
                .collect(),
        )
    }

    /// Reads back the spelling of `Display` (and of serde_yaml's error paths). A key holding
    /// `.` or `[` cannot be told apart from a deeper path; such keys only come out wrong here.
    pub fn parse(text: &str) -> KeyPath {
        let mut segments = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let (key, mut indexes) = part
                .split_once('[')
                .map_or((part, ""), |(k, rest)| (k, rest));
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_owned()));
            }
            while let Some((index, rest)) = indexes.split_once(']') {
                match index.parse() {
                    Ok(i) => segments.push(Segment::Index(i)),
                    Err(_) => segments.push(Segment::Key(index.to_owned())),
                }
                indexes = rest.strip_prefix('[').unwrap_or(rest);
            }
        }
        KeyPath(segments)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The path without its last segment (the root stays the root).
    pub fn parent(&self) -> KeyPath {
        let mut segments = self.0.clone();
        segments.pop();
        KeyPath(segments)
    }
}

impl fmt::Display for KeyPath {
    /// The same spelling serde_yaml uses in its own errors: keys joined by `.`, `[i]` for
    /// indexes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

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
                line: super::locate::line_of(source, &path),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_spelling_matches_serde_yaml() {
        let p = KeyPath::root()
            .key("rules")
            .index(2)
            .key("destination")
            .index(0);
        assert_eq!(p.to_string(), "rules[2].destination[0]");
        assert_eq!(
            KeyPath::keys("session.timeouts").key("tcp").to_string(),
            "session.timeouts.tcp"
        );
        assert_eq!(p.parent().to_string(), "rules[2].destination");
        assert_eq!(KeyPath::parse("rules[2].destination[0]"), p);
        assert_eq!(KeyPath::parse("a[1][2].b").to_string(), "a[1][2].b");
        assert_eq!(KeyPath::parse(""), KeyPath::root());
    }

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
}
