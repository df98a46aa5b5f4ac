//! YAML text from a [`Node`] tree, in block or flow style.

/// A YAML node before rendering.
#[derive(Clone, Debug)]
pub(super) enum Node {
    /// Written as is (numbers, booleans, YAML-special words).
    Plain(String),
    /// Written double-quoted with JSON escapes (valid YAML).
    Quoted(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// `&name` before the node.
    Anchored(String, Box<Node>),
    /// `*name`.
    Alias(String),
    /// Written in flow style whatever the context (`[..]`, `{..}`).
    Flow(Box<Node>),
}

/// Renders in block style (flow style inside `Node::Flow`).
pub(super) fn block(node: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match node {
        Node::Map(entries) if !entries.is_empty() => {
            for (key, value) in entries {
                out.push_str(&pad);
                out.push_str(&serde_json::to_string(key).expect("a string serializes"));
                out.push(':');
                inline_or_nested(value, indent, out);
            }
        }
        Node::Seq(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                inline_or_nested(item, indent, out);
            }
        }
        Node::Anchored(name, inner) => {
            out.push_str(&pad);
            out.push_str(&format!("&{name}\n"));
            block(inner, indent, out);
        }
        other => {
            out.push_str(&pad);
            flow(other, out);
            out.push('\n');
        }
    }
}

fn is_collection(node: &Node) -> bool {
    matches!(node, Node::Map(e) if !e.is_empty()) || matches!(node, Node::Seq(s) if !s.is_empty())
}

/// After `key:` or `-`: a scalar or flow node on the same line, a block collection below.
fn inline_or_nested(node: &Node, indent: usize, out: &mut String) {
    match node {
        Node::Anchored(name, inner) if is_collection(inner) => {
            out.push_str(&format!(" &{name}\n"));
            block(inner, indent + 2, out);
        }
        n if is_collection(n) => {
            out.push('\n');
            block(n, indent + 2, out);
        }
        n => {
            out.push(' ');
            flow(n, out);
            out.push('\n');
        }
    }
}

/// Renders in flow style.
pub(super) fn flow(node: &Node, out: &mut String) {
    match node {
        Node::Plain(s) => out.push_str(s),
        Node::Quoted(s) => out.push_str(&serde_json::to_string(s).expect("a string serializes")),
        Node::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(item, out);
            }
            out.push(']');
        }
        Node::Map(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&serde_json::to_string(key).expect("a string serializes"));
                out.push_str(": ");
                flow(value, out);
            }
            out.push('}');
        }
        Node::Anchored(name, inner) => {
            out.push_str(&format!("&{name} "));
            flow(inner, out);
        }
        Node::Alias(name) => out.push_str(&format!("*{name}")),
        Node::Flow(inner) => flow(inner, out),
    }
}
