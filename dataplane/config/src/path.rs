//! Key paths: where a value sits in the document (`rules[2].destination[0]`). Validation
//! names a problem's place with one, the locator finds its line, errors print it.

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
}
