//! Finding the line of a key path in the YAML source.
//!
//! serde_yaml does not hand out node positions, but it does stamp every error raised inside
//! a visitor with the position of the node being visited (`error::fix_mark` in serde_yaml
//! 0.9). The locator uses exactly that: it walks the document with serde_yaml's own parser,
//! skips every branch off the path, and raises a marker error at the node the path names;
//! the error's location is the node's line. So the locator parses YAML exactly as the
//! config loader did (block and flow style, quoting, anchors, comments) with no second
//! parser and no new dependency. It costs one parse per located error, which only happens
//! on a config that is being refused.
//!
//! Where the path ends on a mapping key (`session.timeouts.tcp`), the marker is raised at the
//! key, so the line is the key's even when its value starts on the next line. Where it ends on
//! a sequence item, the line is the item's. A path absent from the text (a defaulted value)
//! falls back to its nearest present ancestor.

use super::path::{KeyPath, Segment};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Text of the marker error; never shown to anyone.
const MARKER: &str = "synwall-config-locator-marker";

/// The 1-based line of the node at `path` in `source`, or of its nearest ancestor present
/// in the text. `None` only if the source does not parse.
pub fn line_of(source: &str, path: &KeyPath) -> Option<usize> {
    let segments = path.segments();
    (0..=segments.len())
        .rev()
        .find_map(|len| probe(source, &segments[..len], 0))
}

/// The line where the mapping at `map` holds `key` for the second time: serde reports a
/// duplicate field at the mapping, not at the duplicate.
pub fn line_of_duplicate(source: &str, map: &KeyPath, key: &str) -> Option<usize> {
    let path = map.key(key);
    probe(source, path.segments(), 1)
}

/// The line of exactly `segments`, if present; `occurrence` picks among keys written more
/// than once in one mapping (0: the first).
fn probe(source: &str, segments: &[Segment], occurrence: usize) -> Option<usize> {
    let deserializer = serde_yaml::Deserializer::from_str(source);
    match (Probe {
        rest: segments,
        occurrence,
    })
    .deserialize(deserializer)
    {
        Err(err) if err.to_string().contains(MARKER) => err.location().map(|l| l.line()),
        _ => None,
    }
}

/// Walks towards `rest`; at its end, fails with the marker so that serde_yaml stamps the
/// node's position on the error. `Ok(())` means: not found on this branch.
struct Probe<'p> {
    rest: &'p [Segment],
    occurrence: usize,
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Probe<'_> {
    /// A scalar: the target itself, or a dead end.
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.rest.is_empty() {
            Err(E::custom(MARKER))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let wanted = match self.rest.first() {
            None => return Err(de::Error::custom(MARKER)),
            Some(Segment::Index(i)) => Some(*i),
            Some(Segment::Key(_)) => None,
        };
        // Every element is consumed, even past the target: serde_yaml reports a sequence left
        // half-read as a length error, which would read as "found".
        let mut index = 0;
        loop {
            let more = if Some(index) == wanted {
                seq.next_element_seed(Probe {
                    rest: &self.rest[1..],
                    occurrence: self.occurrence,
                })?
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let wanted = match self.rest.first() {
            None => return Err(de::Error::custom(MARKER)),
            Some(Segment::Key(key)) => Some(key.as_str()),
            Some(Segment::Index(_)) => None,
        };
        let last = self.rest.len() == 1;
        let mut seen = 0;
        loop {
            let key = KeyProbe {
                wanted,
                fail_on_match: last && seen == self.occurrence,
            };
            let Some(matched) = map.next_key_seed(key)? else {
                return Ok(());
            };
            if matched && !last {
                map.next_value_seed(Probe {
                    rest: &self.rest[1..],
                    occurrence: self.occurrence,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
            seen += usize::from(matched);
        }
    }
}

/// Reads a mapping key; says whether it is the wanted one, and when the path ends there,
/// fails with the marker at the key's own position.
struct KeyProbe<'k> {
    wanted: Option<&'k str>,
    fail_on_match: bool,
}

impl KeyProbe<'_> {
    fn check<E: de::Error>(&self, key: &str) -> Result<bool, E> {
        let matched = self.wanted == Some(key);
        if matched && self.fail_on_match {
            Err(E::custom(MARKER))
        } else {
            Ok(matched)
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeyProbe<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyProbe<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        self.check(key)
    }
    fn visit_bool<E: de::Error>(self, key: bool) -> Result<bool, E> {
        self.check(&key.to_string())
    }
    fn visit_i64<E: de::Error>(self, key: i64) -> Result<bool, E> {
        self.check(&key.to_string())
    }
    fn visit_u64<E: de::Error>(self, key: u64) -> Result<bool, E> {
        self.check(&key.to_string())
    }
    fn visit_f64<E: de::Error>(self, key: f64) -> Result<bool, E> {
        self.check(&key.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    // A complex key (a sequence or mapping used as a key) is never on a config path.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

/// The line where a second YAML document starts, for serde_yaml's "more than one document"
/// error, which carries no position of its own: the probe raises its marker at the root node
/// of the stream's second document, or the parser fails there (content after the first
/// document's end with no `---`: "did not find expected <document start>").
pub fn line_of_second_document(source: &str) -> Option<usize> {
    // `nth`, never a loop: after a parser error the document iterator yields errors forever.
    let second = serde_yaml::Deserializer::from_str(source).nth(1)?;
    let probe = Probe {
        rest: &[],
        occurrence: 0,
    };
    probe
        .deserialize(second)
        .err()
        .and_then(|err| err.location())
        .map(|l| l.line())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
# comment
a:
  b: 1
  c:
    - x
    - { d: 2, e: [3, 4] }
  f: [p,
      q]
g: 'quoted'
\"h.i\": 5
";

    fn line(path: KeyPath) -> Option<usize> {
        line_of(DOC, &path)
    }

    #[test]
    fn finds_keys_items_and_flow_nodes() {
        let a = KeyPath::keys("a");
        assert_eq!(line(a.clone()), Some(2));
        assert_eq!(line(a.key("b")), Some(3));
        assert_eq!(line(a.key("c")), Some(4), "the key's line, not its value's");
        assert_eq!(line(a.key("c").index(0)), Some(5));
        assert_eq!(line(a.key("c").index(1)), Some(6));
        assert_eq!(line(a.key("c").index(1).key("e").index(1)), Some(6));
        assert_eq!(line(a.key("f").index(1)), Some(8));
        assert_eq!(line(KeyPath::keys("g")), Some(9));
        assert_eq!(line(KeyPath::root().key("h.i")), Some(10));
    }

    #[test]
    fn absent_paths_fall_back_to_the_nearest_ancestor() {
        let a = KeyPath::keys("a");
        assert_eq!(line(a.key("c").index(7)), Some(4));
        assert_eq!(line(a.key("zz").key("y")), Some(2));
        assert_eq!(
            line(KeyPath::keys("nothing")),
            Some(2),
            "the root node: line of `a:`"
        );
    }
}
