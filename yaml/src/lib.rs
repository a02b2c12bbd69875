//! opsmith's YAML loader: one YAML document read into a [`serde_json::Value`]
//! and, when asked, a tree of source positions, so that any JSON pointer into
//! the value can be turned back into `file:line:column`.
//!
//! opsmith read its inputs with serde-saphyr (`strict_booleans`, merge keys,
//! one document per file). This crate builds the value straight from the
//! events of granit-parser (the parser serde-saphyr uses), which is several
//! times faster than going through serde-saphyr's deserializer, and reads
//! YAML as serde-saphyr does with those options: same values, same documents
//! refused. Differential property tests hold it to that over generated
//! documents (anchors, aliases and merge keys included), and the unit tests
//! below over hand-picked ones. Two differences are deliberate: a tag
//! outside the YAML core schema is refused, not ignored; and a mapping key
//! is the scalar it resolves to, printed (`0x1F` is `31`, `~` is `null`), as
//! when opsmith read YAML through serde-saphyr, and keys that print the same
//! are one key (serde-saphyr's own `Value` keeps a key's text, and tells
//! keys apart by their YAML type).
//!
//! [`split`] reads a large inventory's host list on every core and gives
//! what [`parse_value`] gives.
//!
//! It is a part of opsmith, published so that `cargo install opsmith` builds;
//! its API follows opsmith's needs.

use std::borrow::Cow;
use std::collections::HashSet;

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

// The differential tests compare with the split parser too.
#[cfg(all(test, feature = "parallel"))]
mod differential;
#[cfg(feature = "parallel")]
pub mod split;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// Where each node of a parsed document sits in its source.
#[derive(Debug, Clone)]
pub struct Node {
    pub pos: Pos,
    pub children: Children,
}

/// What is below a [`Node`].
#[derive(Debug, Clone)]
pub enum Children {
    /// A scalar, or any node of a tree read without positions.
    Scalar,
    /// Entries in source order: key, position of the key, value.
    Map(Vec<(String, Pos, Node)>),
    Seq(Vec<Node>),
}

impl Node {
    /// The position of the node at `pointer`; for a pointer that leads past
    /// the tree (a missing field), the deepest existing node on the way.
    pub fn locate(&self, pointer: &str) -> Pos {
        self.walk(pointer, false)
    }

    /// Like [`Node::locate`], but for a map entry the position of its key:
    /// where an "unknown field" error belongs.
    pub fn locate_key(&self, pointer: &str) -> Pos {
        self.walk(pointer, true)
    }

    fn walk(&self, pointer: &str, want_key: bool) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            let next = match &node.children {
                Children::Map(entries) => {
                    entries
                        .iter()
                        .find(|(k, _, _)| *k == token)
                        .map(|(_, key_pos, child)| {
                            (if want_key { *key_pos } else { child.pos }, child)
                        })
                }
                Children::Seq(items) => token
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|c| (c.pos, c)),
                Children::Scalar => None,
            };
            match next {
                Some((p, child)) => {
                    pos = p;
                    node = child;
                }
                None => return pos,
            }
        }
        if want_key { pos } else { node.pos }
    }
}

/// Why a YAML text could not be parsed.
#[derive(Debug)]
pub struct SyntaxError {
    pub pos: Pos,
    /// What is wrong, in opsmith's words, without the position.
    pub message: String,
}

impl SyntaxError {
    fn new(pos: Pos, message: impl Into<String>) -> Self {
        SyntaxError {
            pos,
            message: message.into(),
        }
    }
}

/// Most bytes a single input file may have. A 10 000-host inventory is about 4 MiB.
pub const MAX_INPUT_BYTES: usize = 64 << 20;

/// Deepest nesting of mappings and lists, as serde-saphyr's default budget
/// allowed; it also bounds the recursion of everything that walks the value.
const MAX_DEPTH: usize = 64;

/// Most nodes (scalars, mappings, lists) a document may build, aliases
/// included, as opsmith's serde-saphyr budget allowed: some 35 times a
/// 10 000-host inventory, and a bound on memory.
const MAX_NODES: usize = 8_000_000;

/// What aliases may add by repeating anchored nodes: several times the
/// nodes of a whole 10 000-host inventory, and as much text as the largest
/// input. Refusing costs no copying (see [`parse`]).
const MAX_ALIASED: Size = Size {
    nodes: 1_000_000,
    bytes: MAX_INPUT_BYTES,
};

/// What the first pass copies (for aliases and the anchored nodes they may
/// repeat) before it only counts aliases.
const FIRST_PASS_COPIES: Size = Size {
    nodes: 50_000,
    bytes: 4 << 20,
};

const ALIAS_BOMB: &str =
    "the document expands too far through anchors and aliases (an alias bomb?); opsmith refuses it";

/// Parses one YAML document into its value and position tree.
pub fn parse(text: &str) -> Result<(Value, Node), SyntaxError> {
    parse_with(text, true)
}

/// Parses one YAML document into its value only: a third faster than
/// [`parse`], which a caller runs again for positions when it needs them
/// (to point at a problem). A syntax error is the one [`parse`] reports.
pub fn parse_value(text: &str) -> Result<Value, SyntaxError> {
    match parse_with(text, false) {
        Ok((value, _)) => Ok(value),
        // Without positions a bad merge source is placed at its mapping,
        // not at the offending item: the full parse places it exactly.
        Err(first) => Err(parse(text).err().unwrap_or(first)),
    }
}

/// Parses every document of a YAML stream (documents separated by `---`),
/// each into its value and position tree, in order. A document with no node
/// (only comments between two `---`) reads as null; a text without any
/// document gives none. Anchors are the document's own, as YAML says; the
/// limits on size and aliases hold for the stream as a whole.
pub fn parse_documents(text: &str) -> Result<Vec<(Value, Node)>, SyntaxError> {
    read(text, true, true).map(|built| built.documents)
}

/// With `positions` false the returned tree is the root's position alone.
fn parse_with(text: &str, positions: bool) -> Result<(Value, Node), SyntaxError> {
    let mut built = read(text, positions, false)?;
    Ok(built.documents.pop().expect("one document read"))
}

/// Reads one document, or with `stream` every document of the text.
fn read(text: &str, positions: bool, stream: bool) -> Result<Built, SyntaxError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(SyntaxError::new(
            Pos { line: 1, column: 1 },
            format!(
                "file is {} bytes; the limit is {} bytes",
                text.len(),
                MAX_INPUT_BYTES
            ),
        ));
    }
    // The first pass copies aliases up to a small budget, then only counts
    // them: a bomb is refused for little more than the cost of reading it,
    // and most inputs (few aliases, or none) are done in one pass.
    let first = Builder::new(text, None, positions, stream).run()?;
    if first.complete {
        return Ok(first);
    }
    // Many aliases, but within budget: read again, copying them all, and
    // keeping only the anchored nodes that aliases repeat.
    let second = Builder::new(text, Some(first.referenced), positions, stream).run()?;
    debug_assert!(second.complete);
    Ok(second)
}

/// Parses a part of a larger document whose root sits `depth` mappings and
/// lists deep in it, as [`split`] does; also returns the nodes built,
/// for the whole document's budget. The caller keeps anchors and aliases out
/// (they may refer across parts).
#[cfg(feature = "parallel")]
fn parse_part(
    text: &str,
    depth: usize,
    positions: bool,
) -> Result<(Value, Node, usize), SyntaxError> {
    let mut builder = Builder::new(text, None, positions, false);
    builder.base_depth = depth;
    let mut built = builder.run()?;
    if !built.complete {
        return Err(SyntaxError::new(Pos { line: 1, column: 1 }, ALIAS_BOMB));
    }
    let (value, node) = built.documents.pop().expect("one document read");
    Ok((value, node, built.nodes))
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line() as u64,
        column: span.start.col() as u64 + 1,
    }
}

/// A null value, for a document without a node.
fn null_at(pos: Pos) -> (Value, Node) {
    (
        Value::Null,
        Node {
            pos,
            children: Children::Scalar,
        },
    )
}

/// The parser's message in opsmith's words: no parser internals, no
/// position (the caller prints `file:line:column` already).
fn scan_error(e: &ScanError) -> SyntaxError {
    let mark = e.marker();
    let pos = if mark.line() == 0 {
        Pos { line: 1, column: 1 }
    } else {
        Pos {
            line: mark.line() as u64,
            column: mark.col() as u64 + 1,
        }
    };
    let message = match e.kind() {
        ErrorKind::UnknownAnchor => {
            "alias refers to an unknown anchor: `*name` must follow its `&name`".to_owned()
        }
        kind => {
            let text = kind.to_string();
            let first = text.lines().next().unwrap_or_default();
            first.trim_end_matches('.').to_owned()
        }
    };
    SyntaxError { pos, message }
}

/// A mapping or list whose end event has not come yet.
struct Frame {
    pos: Pos,
    anchor: usize,
    /// Where its items start on the builder's item stack of its kind.
    start: usize,
    /// What was built before it: its size is what was built at its end
    /// minus this.
    first: Size,
    /// The most mapping/list levels below it so far.
    child_height: usize,
    /// `None` for a list.
    map: Option<MapState>,
}

struct MapState {
    key: Option<Key>,
    /// Values of `<<` keys, merged when the mapping ends: its own keys
    /// win over merged ones wherever they stand, as in serde-saphyr.
    merges: Vec<(Value, Node)>,
    /// The keys so far, once there are too many to compare one by one.
    seen: Option<HashSet<String>>,
}

/// The key whose value comes next.
enum Key {
    Entry(String, Pos),
    Merge,
}

/// Keys a mapping may have before duplicates are looked up in a set.
const FEW_KEYS: usize = 16;

/// A finished anchored node, kept to be repeated by its aliases. Its
/// positions are not kept: a copy sits wholly where its alias is.
struct Anchored {
    /// A copy, unless the pass keeps none (see [`Builder::finish`]).
    value: Option<Value>,
    /// What stands for a copy when aliases are only counted (see [`stub`]).
    stub: Value,
    /// What an alias adds, aliases inside it expanded.
    size: Size,
    /// Mapping and list levels: what an alias adds to the depth.
    height: usize,
}

/// What a pass built.
struct Built {
    /// The document, or for a stream each document in order.
    documents: Vec<(Value, Node)>,
    /// Whether every alias was copied.
    complete: bool,
    /// By anchor id, whether an alias repeats it.
    referenced: Vec<bool>,
    /// Nodes built, aliases expanded.
    #[cfg_attr(
        not(feature = "parallel"),
        expect(dead_code, reason = "only `split`'s parts count them")
    )]
    nodes: usize,
}

struct Builder<'a> {
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    /// Whether to build the position tree; without, every node is its own
    /// position alone, and mappings and lists build no children.
    positions: bool,
    /// Whether to read every document of the stream, not one.
    stream: bool,
    /// In the second pass: by anchor id, the anchored nodes to keep.
    keep: Option<Vec<bool>>,
    /// What the first pass may still copy.
    copies: Size,
    complete: bool,
    referenced: Vec<bool>,
    stack: Vec<Frame>,
    /// Items of the open lists, innermost last. Collected here and moved
    /// into exactly sized vectors when the list ends, which saves growing
    /// every small list and mapping one push at a time.
    seq_items: Vec<(Value, Node)>,
    /// Entries of the open mappings, innermost last.
    map_items: Vec<(String, Pos, Value, Node)>,
    /// By anchor id; `None` while the anchored node is still open.
    anchors: Vec<Option<Anchored>>,
    /// What was built so far, aliases expanded.
    built: Size,
    /// What aliases added.
    aliased: Size,
    /// Mapping and list levels around the document's root: non-zero for a
    /// part of a larger document (see [`parse_part`]).
    base_depth: usize,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, keep: Option<Vec<bool>>, positions: bool, stream: bool) -> Self {
        // Comments carry nothing opsmith reads; not emitting them also saves
        // their buffering.
        let options = granit_parser::options! { emit_comments: false };
        Builder {
            parser: Parser::new_from_str_with_options(text, options),
            positions,
            stream,
            keep,
            copies: FIRST_PASS_COPIES,
            complete: true,
            referenced: Vec::new(),
            stack: Vec::with_capacity(16),
            seq_items: Vec::with_capacity(64),
            map_items: Vec::with_capacity(64),
            anchors: Vec::new(),
            built: Size::default(),
            aliased: Size::default(),
            base_depth: 0,
        }
    }

    fn next(&mut self) -> Result<Option<(Event<'a>, Span)>, SyntaxError> {
        match self.parser.next_event() {
            Some(Ok(item)) => Ok(Some(item)),
            Some(Err(e)) => Err(scan_error(&e)),
            None => Ok(None),
        }
    }

    fn run(mut self) -> Result<Built, SyntaxError> {
        let mut root: Option<(Value, Node)> = None;
        let mut documents = Vec::new();
        let mut end = Pos { line: 1, column: 1 };
        while let Some(item) = self.parser.next_event() {
            let (event, span) = item.map_err(|e| scan_error(&e))?;
            let pos = pos_of(&span);
            end = pos;
            let done = match event {
                Event::Scalar(text, style, anchor, tag) => {
                    self.scalar(text, style, anchor, tag.as_deref(), pos)?
                }
                Event::SequenceStart(_, anchor, tag) => {
                    self.open(pos, anchor, tag.as_deref(), false)?;
                    None
                }
                Event::MappingStart(_, anchor, tag) => {
                    self.open(pos, anchor, tag.as_deref(), true)?;
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => self.close()?,
                Event::Alias(id) => self.alias(id, pos)?,
                Event::DocumentStart(..) if root.is_some() && !self.stream => {
                    return Err(self.second_document(pos));
                }
                Event::DocumentEnd if self.stream => {
                    documents.push(root.take().unwrap_or_else(|| null_at(pos)));
                    None
                }
                Event::StreamEnd => break,
                // Stream and document bounds; comments and anchor names are
                // not emitted with these options.
                _ => None,
            };
            if done.is_some() {
                root = done;
            }
        }
        // In one document's reading, no document at all (an empty file, or
        // only comments) reads as null.
        if !self.stream {
            documents.push(root.unwrap_or_else(|| null_at(end)));
        }
        Ok(Built {
            documents,
            complete: self.complete,
            referenced: self.referenced,
            nodes: self.built.nodes,
        })
    }

    /// The error for a second document, at its first node as serde-saphyr
    /// reported it (or the syntax error that comes first).
    fn second_document(&mut self, start: Pos) -> SyntaxError {
        let pos = match self.next() {
            Ok(Some((_, span))) => pos_of(&span),
            Ok(None) => start,
            Err(e) => return e,
        };
        SyntaxError::new(
            pos,
            "a second YAML document starts here: opsmith reads one document per file",
        )
    }

    /// Whether the next node is a mapping key.
    fn wants_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                map: Some(MapState { key: None, .. }),
                ..
            })
        )
    }

    fn scalar(
        &mut self,
        text: Cow<'a, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        pos: Pos,
    ) -> Result<Option<(Value, Node)>, SyntaxError> {
        count(&mut self.built.nodes, 1, pos)?;
        // `<<` merges only as a plain, untagged key (or one tagged `!!merge`).
        let merge = text == "<<"
            && self.wants_key()
            && match tag {
                None => style == ScalarStyle::Plain,
                Some(tag) => kind_of(tag) == Kind::Merge,
            };
        let value = resolve(text, style, tag).map_err(|message| SyntaxError::new(pos, message))?;
        let bytes = value.as_str().map_or(0, str::len);
        self.built.bytes += bytes;
        let node = Node {
            pos,
            children: Children::Scalar,
        };
        let shape = Shape {
            anchor,
            merge,
            size: Size { nodes: 1, bytes },
            height: 0,
        };
        self.finish(value, node, shape)
    }

    fn open(
        &mut self,
        pos: Pos,
        anchor: usize,
        tag: Option<&Tag>,
        map: bool,
    ) -> Result<(), SyntaxError> {
        let first = self.built;
        count(&mut self.built.nodes, 1, pos)?;
        if let Some(tag) = tag {
            let fits = match kind_of(tag) {
                Kind::Any => true,
                Kind::Map => map,
                Kind::Seq => !map,
                _ => false,
            };
            if !fits {
                return Err(SyntaxError::new(
                    pos,
                    format!("unsupported tag `{}`", tag.original()),
                ));
            }
        }
        if self.wants_key() {
            return Err(complex_key(pos, map));
        }
        if self.base_depth + self.stack.len() >= MAX_DEPTH {
            return Err(too_deep(pos));
        }
        if anchor != 0 {
            self.reserve_anchor(anchor);
        }
        let (start, map) = if map {
            let state = MapState {
                key: None,
                merges: Vec::new(),
                seen: None,
            };
            (self.map_items.len(), Some(state))
        } else {
            (self.seq_items.len(), None)
        };
        self.stack.push(Frame {
            pos,
            anchor,
            start,
            first,
            child_height: 0,
            map,
        });
        Ok(())
    }

    fn close(&mut self) -> Result<Option<(Value, Node)>, SyntaxError> {
        // The parser balances starts and ends; an end without a start cannot come.
        let Some(frame) = self.stack.pop() else {
            return Ok(None);
        };
        let (value, children) = match frame.map {
            None if !self.positions => {
                let values = self.seq_items.drain(frame.start..).map(|(value, _)| value);
                (Value::Array(values.collect()), Children::Scalar)
            }
            Some(MapState { merges, .. }) if !self.positions => {
                let mut values = Map::new();
                for (name, _, value, _) in self.map_items.drain(frame.start..) {
                    values.insert(name, value);
                }
                for (value, _) in merges {
                    merge_values(&mut values, value);
                }
                (Value::Object(values), Children::Scalar)
            }
            None => {
                let items = self.seq_items.drain(frame.start..);
                let mut values = Vec::with_capacity(items.len());
                let mut nodes = Vec::with_capacity(items.len());
                for (value, node) in items {
                    values.push(value);
                    nodes.push(node);
                }
                (Value::Array(values), Children::Seq(nodes))
            }
            Some(MapState { merges, .. }) => {
                let items = self.map_items.drain(frame.start..);
                let mut values = Map::with_capacity(items.len());
                let mut entries = Vec::with_capacity(items.len());
                for (name, key_pos, value, node) in items {
                    values.insert(name.clone(), value);
                    entries.push((name, key_pos, node));
                }
                for (value, node) in merges {
                    merge(&mut values, &mut entries, value, node);
                }
                (Value::Object(values), Children::Map(entries))
            }
        };
        let node = Node {
            pos: frame.pos,
            children,
        };
        let shape = Shape {
            anchor: frame.anchor,
            merge: false,
            size: self.built.minus(frame.first),
            height: frame.child_height + 1,
        };
        self.finish(value, node, shape)
    }

    fn alias(&mut self, id: usize, pos: Pos) -> Result<Option<(Value, Node)>, SyntaxError> {
        // The parser refuses unknown anchors, so a missing one is still open:
        // the alias stands inside the node it names.
        let Some(Some(anchored)) = self.anchors.get(id) else {
            return Err(SyntaxError::new(
                pos,
                "an alias cannot stand inside the node its anchor names",
            ));
        };
        self.aliased = self.aliased.plus(anchored.size);
        if !self.aliased.fits(MAX_ALIASED) {
            return Err(SyntaxError::new(pos, ALIAS_BOMB));
        }
        if self.base_depth + self.stack.len() + anchored.height > MAX_DEPTH {
            return Err(too_deep(pos));
        }
        count(&mut self.built.nodes, anchored.size.nodes, pos)?;
        self.built.bytes += anchored.size.bytes;
        let shape = Shape {
            anchor: 0,
            merge: false,
            size: anchored.size,
            height: anchored.height,
        };
        if self.referenced.len() <= id {
            self.referenced.resize(id + 1, false);
        }
        self.referenced[id] = true;
        let copy = self.keep.is_some() || self.complete && anchored.size.fits(self.copies);
        let value = match &anchored.value {
            Some(value) if copy => {
                self.copies = self.copies.minus(anchored.size);
                value.clone()
            }
            _ => {
                self.complete = false;
                match &anchored.stub {
                    // Only a key needs the text (duplicate keys); elsewhere an
                    // empty string stands in, so repeating long text costs
                    // nothing here.
                    Value::String(_) if !self.wants_key() => Value::String(String::new()),
                    stub => stub.clone(),
                }
            }
        };
        // Every copied node sits where the alias is, as serde-saphyr reported it.
        let node = if self.positions {
            node_at(&value, pos)
        } else {
            Node {
                pos,
                children: Children::Scalar,
            }
        };
        self.finish(value, node, shape)
    }

    fn reserve_anchor(&mut self, id: usize) {
        if self.anchors.len() <= id {
            self.anchors.resize_with(id + 1, || None);
        }
        self.anchors[id] = None;
    }

    /// Adds a finished node to the open mapping or list; a finished root is returned.
    fn finish(
        &mut self,
        value: Value,
        node: Node,
        shape: Shape,
    ) -> Result<Option<(Value, Node)>, SyntaxError> {
        if shape.anchor != 0 {
            self.reserve_anchor(shape.anchor);
            // Copying every anchored node would let nested anchors cost far
            // more than the document; the first pass copies within its
            // budget, the second only what aliases repeat.
            let full = match &self.keep {
                Some(keep) => keep.get(shape.anchor).copied().unwrap_or(false),
                None => self.complete && shape.size.fits(self.copies),
            };
            if full && self.keep.is_none() {
                self.copies = self.copies.minus(shape.size);
            }
            self.anchors[shape.anchor] = Some(Anchored {
                value: full.then(|| value.clone()),
                stub: stub(&value),
                size: shape.size,
                height: shape.height,
            });
        }
        let Some(Frame {
            map,
            start,
            child_height,
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(Some((value, node)));
        };
        // Merged values end up a level higher; counting them as children
        // only errs towards refusing.
        *child_height = (*child_height).max(shape.height);
        let Some(MapState { key, merges, seen }) = map else {
            self.seq_items.push((value, node));
            return Ok(None);
        };
        match key.take() {
            Some(Key::Entry(name, key_pos)) => self.map_items.push((name, key_pos, value, node)),
            Some(Key::Merge) => {
                check_merge_source(&value, &node)?;
                merges.push((value, node));
            }
            None if shape.merge => *key = Some(Key::Merge),
            None => {
                let name = key_text(value).map_err(|map| complex_key(node.pos, map))?;
                let earlier = &self.map_items[*start..];
                let duplicate = match seen {
                    Some(seen) => !seen.insert(name.clone()),
                    None if earlier.len() < FEW_KEYS => earlier.iter().any(|(k, ..)| *k == name),
                    None => {
                        let mut set: HashSet<String> =
                            earlier.iter().map(|(k, ..)| k.clone()).collect();
                        let duplicate = !set.insert(name.clone());
                        *seen = Some(set);
                        duplicate
                    }
                };
                if duplicate {
                    return Err(SyntaxError::new(
                        node.pos,
                        format!("duplicate key `{name}`: a key may appear only once in a mapping"),
                    ));
                }
                *key = Some(Key::Entry(name, node.pos));
            }
        }
        Ok(None)
    }
}

/// What stands for an alias's copy while aliases are only counted: all the
/// checks read of it, for a fixed cost. A scalar as it is, a mapping as an
/// empty one, a list as an empty one or, when it holds anything but
/// mappings and nulls, as `[false]` (which a merge key refuses).
fn stub(value: &Value) -> Value {
    match value {
        Value::Object(_) => Value::Object(Map::new()),
        Value::Array(items) if items.iter().all(|i| i.is_object() || i.is_null()) => {
            Value::Array(Vec::new())
        }
        Value::Array(_) => Value::Array(vec![Value::Bool(false)]),
        scalar => scalar.clone(),
    }
}

/// What a node costs to copy: its nodes and its text, aliases expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl Size {
    fn plus(self, other: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_add(other.nodes),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }

    fn minus(self, other: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_sub(other.nodes),
            bytes: self.bytes.saturating_sub(other.bytes),
        }
    }

    fn fits(self, budget: Size) -> bool {
        self.nodes <= budget.nodes && self.bytes <= budget.bytes
    }
}

/// How a finished node counts, besides its value and positions.
struct Shape {
    anchor: usize,
    /// A `<<` key, when a key.
    merge: bool,
    size: Size,
    height: usize,
}

/// Counts built nodes against [`MAX_NODES`].
fn count(nodes: &mut usize, more: usize, pos: Pos) -> Result<(), SyntaxError> {
    *nodes += more;
    if *nodes > MAX_NODES {
        return Err(SyntaxError::new(
            pos,
            format!("the document has more than {MAX_NODES} values; opsmith refuses it"),
        ));
    }
    Ok(())
}

fn complex_key(pos: Pos, map: bool) -> SyntaxError {
    let what = if map { "a mapping" } else { "a list" };
    SyntaxError::new(
        pos,
        format!("a mapping key must be a single value, not {what}"),
    )
}

fn too_deep(pos: Pos) -> SyntaxError {
    SyntaxError::new(
        pos,
        format!("the document nests deeper than {MAX_DEPTH} levels; opsmith refuses it"),
    )
}

/// A mapping key as text: opsmith's keys are strings, so a number, boolean
/// or null key reads as it prints (`0x1F` as `31`, `~` as `null`), as
/// opsmith's key visitor did when it read YAML through serde-saphyr.
/// `Err(true)` for a mapping, `Err(false)` for a list.
fn key_text(value: Value) -> Result<String, bool> {
    match value {
        Value::String(s) => Ok(s),
        Value::Null => Ok("null".to_owned()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(if let Some(u) = n.as_u64() {
            u.to_string()
        } else if let Some(i) = n.as_i64() {
            i.to_string()
        } else {
            // Rust's float formatting, not JSON's: `1.0` reads as `1`.
            n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string())
        }),
        Value::Object(_) => Err(true),
        Value::Array(_) => Err(false),
    }
}

/// Refuses a `<<` value that cannot be merged, as soon as it is read (as
/// serde-saphyr did): null, a mapping, or a list of mappings and nulls.
fn check_merge_source(value: &Value, node: &Node) -> Result<(), SyntaxError> {
    let wrong = |pos| {
        Err(SyntaxError::new(
            pos,
            "a merge key `<<` takes a mapping, a list of mappings, or null",
        ))
    };
    match (value, &node.children) {
        (Value::Null | Value::Object(_), _) => Ok(()),
        (Value::Array(items), Children::Seq(item_nodes)) => {
            match items
                .iter()
                .zip(item_nodes)
                .find(|(item, _)| !(item.is_object() || item.is_null()))
            {
                Some((_, item_node)) => wrong(item_node.pos),
                None => Ok(()),
            }
        }
        // Read without positions: the list as a whole is placed.
        (Value::Array(items), Children::Scalar)
            if items.iter().all(|item| item.is_object() || item.is_null()) =>
        {
            Ok(())
        }
        _ => wrong(node.pos),
    }
}

/// Merges the value of a `<<` key into a mapping's entries: keys already
/// there win, then earlier sources over later ones. Merged entries, keys and
/// everything under them, sit where their source is referenced, as
/// serde-saphyr reported them.
fn merge(
    values: &mut Map<String, Value>,
    entries: &mut Vec<(String, Pos, Node)>,
    value: Value,
    node: Node,
) {
    match (value, node.children) {
        (Value::Object(source), Children::Map(source_entries)) => {
            merge_one(values, entries, source, source_entries, node.pos);
        }
        (Value::Array(items), Children::Seq(item_nodes)) => {
            for (item, item_node) in items.into_iter().zip(item_nodes) {
                if let (Value::Object(source), Children::Map(source_entries)) =
                    (item, item_node.children)
                {
                    merge_one(values, entries, source, source_entries, item_node.pos);
                }
            }
        }
        // Null merges nothing; other values were refused when read.
        _ => {}
    }
}

/// [`merge`] without positions.
fn merge_values(values: &mut Map<String, Value>, value: Value) {
    let sources = match value {
        Value::Object(source) => vec![source],
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Object(source) => Some(source),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for source in sources {
        for (name, value) in source {
            values.entry(name).or_insert(value);
        }
    }
}

fn merge_one(
    values: &mut Map<String, Value>,
    entries: &mut Vec<(String, Pos, Node)>,
    mut source: Map<String, Value>,
    source_entries: Vec<(String, Pos, Node)>,
    at: Pos,
) {
    entries.reserve(source_entries.len());
    for (name, _, mut node) in source_entries {
        if values.contains_key(&name) {
            continue;
        }
        let Some(value) = source.remove(&name) else {
            continue;
        };
        relocate(&mut node, at);
        values.insert(name.clone(), value);
        entries.push((name, at, node));
    }
}

/// The position tree of `value` with every node at `pos`: the tree of an
/// alias's copy.
fn node_at(value: &Value, pos: Pos) -> Node {
    let children = match value {
        Value::Object(map) => Children::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), pos, node_at(v, pos)))
                .collect(),
        ),
        Value::Array(items) => Children::Seq(items.iter().map(|v| node_at(v, pos)).collect()),
        _ => Children::Scalar,
    };
    Node { pos, children }
}

/// Moves every position in `node` to `pos`.
fn relocate(node: &mut Node, pos: Pos) {
    node.pos = pos;
    match &mut node.children {
        Children::Scalar => {}
        Children::Map(entries) => {
            for (_, key_pos, child) in entries {
                *key_pos = pos;
                relocate(child, pos);
            }
        }
        Children::Seq(items) => {
            for child in items {
                relocate(child, pos);
            }
        }
    }
}

/// What a tag asks of its node. Only the YAML core schema's tags (and
/// `!!merge` on a merge key) mean anything to opsmith; any other tag, such as
/// `!!python/object` or `!custom`, asks for something opsmith would have to
/// ignore, so it is refused where it stands rather than dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No tag: resolved by the core schema.
    Any,
    /// `!!str` and the non-specific `!`: the text as it is.
    Str,
    Int,
    Float,
    Bool,
    Null,
    Seq,
    Map,
    /// `!!merge`: a scalar read as if untagged.
    Merge,
    /// Every other tag.
    Unsupported,
}

const YAML_TAGS: &str = "tag:yaml.org,2002:";

fn kind_of(tag: &Tag) -> Kind {
    if let Some(name) = tag.suffix_in_namespace(YAML_TAGS) {
        return match name.strip_prefix('!').unwrap_or(&name) {
            "str" => Kind::Str,
            "int" => Kind::Int,
            "float" => Kind::Float,
            "bool" => Kind::Bool,
            "null" => Kind::Null,
            "seq" => Kind::Seq,
            "map" => Kind::Map,
            "merge" => Kind::Merge,
            _ => Kind::Unsupported,
        };
    }
    match tag.suffix_in_namespace("!") {
        Some(name) if name.is_empty() || name == "!" => Kind::Str,
        _ => Kind::Unsupported,
    }
}

/// The value of a scalar: plain untagged text by the YAML 1.2 core schema,
/// quoted and block text as a string, tagged text as its tag says. `Err`
/// holds the message.
fn resolve(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let kind = tag.map_or(Kind::Any, kind_of);
    match kind {
        Kind::Any | Kind::Merge if style == ScalarStyle::Plain => resolve_plain(text),
        Kind::Any | Kind::Merge | Kind::Str => Ok(Value::String(text.into_owned())),
        Kind::Null => Ok(Value::Null),
        Kind::Bool => match yaml_trim(&text) {
            "true" | "True" | "TRUE" => Ok(Value::Bool(true)),
            "false" | "False" | "FALSE" => Ok(Value::Bool(false)),
            _ => Err(format!(
                "`{text}` is not a boolean: expected `true` or `false`"
            )),
        },
        Kind::Int => {
            parse_int(yaml_trim(&text)).ok_or_else(|| format!("`{text}` is not an integer"))
        }
        Kind::Float => match parse_float(yaml_trim(&text)) {
            Some(v) => finite(v, &text),
            None => Err(format!("`{text}` is not a number")),
        },
        Kind::Seq | Kind::Map | Kind::Unsupported => Err(format!(
            "unsupported tag `{}`",
            tag.map(Tag::original).unwrap_or_default()
        )),
    }
}

/// Padding serde-saphyr ignored when converting scalars.
fn yaml_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// An untagged plain scalar, resolved exactly as serde-saphyr 2.2 did with
/// `strict_booleans`: YAML 1.2 null and booleans (`yes`, `on`, `y` stay
/// text), integers (`0x`, `0o`, `0b`, `_` between digits, no leading zero),
/// then floats as Rust reads them (`007` is 7.0), else text.
fn resolve_plain(text: Cow<'_, str>) -> Result<Value, String> {
    let t = yaml_trim(&text);
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    // Every number starts with a digit or a dot: most text stops here.
    let numeric = match unsigned.as_bytes() {
        [b'0', b'X' | b'O' | b'B', ..] => false,
        [b'0'..=b'9', ..] => true,
        // A signed `.nan` is text in the core schema; `.inf` with a sign is not.
        [b'.', ..] => !(t != unsigned && matches!(unsigned, ".nan" | ".NaN" | ".NAN")),
        _ => false,
    };
    if numeric {
        if let Some(n) = parse_int(t) {
            return Ok(n);
        }
        if let Some(v) = parse_float(t) {
            return finite(v, &text);
        }
    }
    Ok(Value::String(text.into_owned()))
}

fn finite(v: f64, text: &str) -> Result<Value, String> {
    Number::from_f64(v).map(Value::Number).ok_or_else(|| {
        format!("`{text}` is not a finite number: `.nan` and `.inf` are not allowed")
    })
}

/// An integer as serde-saphyr read one: optional sign, `0x`/`0o`/`0b` or
/// decimal digits without a leading zero, single `_` between digits; i64
/// when negative, u64 otherwise.
fn parse_int(t: &str) -> Option<Value> {
    let (negative, rest) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let prefixed = |lower: &str, upper: &str| {
        rest.strip_prefix(lower)
            .or_else(|| rest.strip_prefix(upper))
    };
    let (radix, digits) = if let Some(d) = prefixed("0x", "0X") {
        (16, d)
    } else if let Some(d) = prefixed("0o", "0O") {
        (8, d)
    } else if let Some(d) = prefixed("0b", "0B") {
        (2, d)
    } else if rest.starts_with('0') && rest != "0" {
        return None;
    } else {
        (10, rest)
    };
    let bytes = digits.as_bytes();
    let mut magnitude: u128 = 0;
    let mut any = false;
    for (i, &b) in bytes.iter().enumerate() {
        let digit = match b {
            b'_' => {
                let between =
                    i > 0 && bytes[i - 1] != b'_' && bytes.get(i + 1).is_some_and(|&n| n != b'_');
                if !between {
                    return None;
                }
                continue;
            }
            b'0'..=b'9' => u32::from(b - b'0'),
            b'a'..=b'f' => u32::from(b - b'a') + 10,
            b'A'..=b'F' => u32::from(b - b'A') + 10,
            _ => return None,
        };
        if digit >= radix {
            return None;
        }
        magnitude = magnitude
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(digit))?;
        any = true;
    }
    if !any {
        return None;
    }
    if negative {
        let v = i64::try_from(-i128::try_from(magnitude).ok()?).ok()?;
        Some(Value::from(v))
    } else {
        Some(Value::from(u64::try_from(magnitude).ok()?))
    }
}

/// A float as serde-saphyr read one: `.inf`/`.nan` spellings, else what
/// Rust's parser reads, where only a numeral may overflow to infinity
/// (Rust's `inf` and `nan` stay text). Non-finite results are refused later.
fn parse_float(t: &str) -> Option<f64> {
    let (negative, unsigned) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    match unsigned {
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" if negative => return Some(f64::NEG_INFINITY),
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        _ => {}
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        Ok(v) if v.is_infinite() && unsigned.starts_with(|c: char| c.is_ascii_digit()) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u64, column: u64) -> Pos {
        Pos { line, column }
    }

    /// The keys of the mapping at `/name` (or of the root for ""), in source order.
    fn keys<'a>(root: &'a Node, name: &str) -> Vec<&'a str> {
        let node = match &root.children {
            Children::Map(entries) if !name.is_empty() => entries
                .iter()
                .find(|(k, _, _)| k == name)
                .map(|(_, _, n)| n)
                .unwrap(),
            _ => root,
        };
        match &node.children {
            Children::Map(entries) => entries.iter().map(|(k, _, _)| k.as_str()).collect(),
            _ => panic!("not a mapping"),
        }
    }

    /// What serde-saphyr 2.2 reads, with the options opsmith used.
    fn serde_saphyr(text: &str) -> Result<Value, String> {
        let options = serde_saphyr::options! { strict_booleans: true };
        serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|e| e.to_string())
    }

    fn assert_reads_as_serde_saphyr(text: &str) {
        assert_same_without_positions(text);
        match (parse(text), serde_saphyr(text)) {
            (Ok((ours, _)), Ok(theirs)) => assert_eq!(ours, theirs, "{text:?}"),
            (Err(_), Err(_)) => {}
            (ours, theirs) => panic!(
                "{text:?}: opsmith reads {:?}, serde-saphyr {theirs:?}",
                ours.map(|(v, _)| v).map_err(|e| e.message)
            ),
        }
    }

    #[test]
    fn a_stream_reads_document_by_document() {
        let text = "# before\n---\n# nothing here\n---\nkind: A\nx: &a [1]\n...\n---\n  kind: B\n  y: *a\n";
        // An anchor is its document's own.
        let err = parse_documents(text).unwrap_err();
        assert_eq!(
            (err.pos, err.message.as_str()),
            (
                at(10, 6),
                "alias refers to an unknown anchor: `*name` must follow its `&name`"
            )
        );

        let text =
            "# before\n---\n# nothing here\n---\nkind: A\nx: &a [1]\ny: *a\n...\n---\n  kind: B\n";
        let documents = parse_documents(text).unwrap();
        let values: Vec<&Value> = documents.iter().map(|(v, _)| v).collect();
        assert_eq!(
            values,
            [
                &Value::Null,
                &serde_json::json!({"kind": "A", "x": [1], "y": [1]}),
                &serde_json::json!({"kind": "B"})
            ]
        );
        assert_eq!(documents[1].1.pos, at(5, 1));
        assert_eq!(documents[1].1.locate("/y/0"), at(7, 4));
        assert_eq!(documents[2].1.locate("/kind"), at(10, 9));

        assert!(parse_documents("").unwrap().is_empty());
        assert!(parse_documents("# only a comment\n").unwrap().is_empty());
        assert_eq!(parse_documents("a: 1\n").unwrap().len(), 1);
        let err = parse_documents("a: 1\n---\nb: [\n").unwrap_err();
        assert_eq!(err.pos, at(3, 4), "{err:?}");
        let err = parse_documents("a: 1\n---\nb: 1\nb: 2\n").unwrap_err();
        assert_eq!(
            (err.pos, err.message.as_str()),
            (
                at(4, 1),
                "duplicate key `b`: a key may appear only once in a mapping"
            )
        );
        // One document's reading still refuses a second one.
        assert!(parse("a: 1\n---\nb: 1\n").is_err());
    }

    #[test]
    fn plain_scalars_resolve_as_serde_saphyr_did() {
        let scalars = [
            "0",
            "-0",
            "+0",
            "-1",
            "+1",
            "007",
            "-007",
            "00",
            "0x1F",
            "0x1f",
            "-0x1F",
            "+0x1F",
            "0X1F",
            "0o17",
            "0O17",
            "0o17_7",
            "0b101",
            "0B101",
            "0x_1F",
            "0x",
            "0o8",
            "0xG",
            "1_000",
            "1__0",
            "_1",
            "1_",
            "0_7",
            "1e3",
            "1E3",
            "1e+3",
            "1.0e+3",
            "1e-999",
            "1e999",
            "-1e999",
            "1.5",
            "-1.5",
            ".5",
            "+.5",
            "1.",
            "1.e5",
            "01.5",
            "0.0",
            "-0.0",
            "1.5_0",
            "1_0.5",
            "1e",
            ".e3",
            "1.2.3",
            "4.16",
            "10.10.0.5",
            "10.10.0.0/24",
            "12:30:00",
            "1:30",
            "190:20:30",
            "52:54:00:00:00:10",
            "24:6e:96:03:05:a1",
            "2026-11-26",
            "2001-12-14t21:59:43.10-05:00",
            "1,000",
            "300Gi",
            "128Gi",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "0xffffffffffffffff",
            "0xffffffffffffffffff",
            "~",
            "null",
            "Null",
            "NULL",
            "nULL",
            "true",
            "True",
            "TRUE",
            "tRUE",
            "false",
            "False",
            "FALSE",
            "yes",
            "Yes",
            "No",
            "no",
            "on",
            "On",
            "off",
            "y",
            "Y",
            "n",
            ".inf",
            ".Inf",
            ".INF",
            "+.inf",
            "-.inf",
            "-.Inf",
            ".nan",
            ".NaN",
            ".NAN",
            "-.nan",
            "+.NaN",
            "inf",
            "-inf",
            "nan",
            "infinity",
            "Infinity",
            "1d",
            "+",
            "-",
            ".",
            "-.",
            "0.",
            "x",
            "oct-03-05-compute",
            "idrac-virtualmedia://10.10.0.105",
            "<<",
            "=",
        ];
        for s in scalars {
            assert_reads_as_serde_saphyr(&format!("v: {s}\n"));
            assert_reads_as_serde_saphyr(&format!("- {s}\n- '{s}'\n- \"{s}\"\n"));
            assert_reads_as_serde_saphyr(&format!("v: |\n  {s}\n"));
        }
    }

    #[test]
    fn documents_read_as_serde_saphyr_did() {
        let documents = [
            // Tags outside the core schema, which serde-saphyr ignored, are
            // refused (`tags_do_what_they_say`).
            "a: !!str 1\nb: !!int \"12\"\nd: !!float 1\ne: !!bool true\nf: !!null ''\ng: !!str\ni: !\n",
            "b: ! 5\n",
            "a: !!map {b: 1}\nb: !!seq [1]\n",
            "a: !!int 0x1F\nb: !!int -5\nc: !!int +5\nd: !!int 1_000\ne: !!int 0o17\nf: !!float '1e3'\n",
            "a: !!null x\nb: !!null ~\nc: !!str ~\nd: !!bool True\ne: !!merge x\n",
            "a: !!int x\n",
            "a: !!int 1.5\n",
            "a: !!int 007\n",
            "a: !!int ''\n",
            "a: !!bool yes\n",
            "a: !!float abc\n",
            "a: !!float .inf\n",
            "a: !!float -.NaN\n",
            "a: !!float 1_0.5\n",
            "a: !!int 99999999999999999999\n",
            "a: !!int -99999999999999999999\n",
            "a: !!map [1]\n",
            "a: !!seq {a: 1}\n",
            "a: !!str [1]\n",
            "a: !!null {a: 1}\n",
            "a: !!int {x: 1}\n",
            "a: !!timestamp 2001-12-14\n",
            "a: |\n  text\n  more\nb: >-\n  folded\n  line\nc: |+\n  kept\n\nd: 'it''s'\ne: \"\\u00e9\\t\"\n",
            "a:   spaced  \nb: two\n  lines\n",
            "a: &x\n  b: 1\nc: *x\n",
            "a: &x [1, 2]\nc: *x\n",
            "a: &x 5\nc: *x\n",
            "a: &anc !!str 5\nb: *anc\n",
            "&k a: 1\nb: *k\n",
            "a: &a\n  b: &b\n    c: 1\n  d: *b\nz: *a\n",
            "base: &b\n  p: 1\n  q: 2\nd:\n  <<: *b\n  q: 3\n  r: 4\n",
            "base: &b\n  p: 1\nb2: &c\n  q: 2\n  p: 5\nd:\n  r: 4\n  <<: [*b, *c]\n",
            "d:\n  <<: {p: 1}\n  r: 4\n",
            "d:\n  <<: 5\n",
            "d:\n  <<: ~\n  a: 1\n",
            "d:\n  '<<': {p: 1}\n",
            "d:\n  <<: {p: 1}\n  <<: {q: 1}\n",
            "x: &a {k: 1}\ny:\n  !!merge <<: *a\n",
            "b:\n  <<: [{p: 1}, {p: 2, q: 3}]\n",
            "b:\n  <<: [{p: 1}, 5]\n",
            "b:\n  <<: [{p: 1}, [1]]\n",
            "b:\n  <<:\n    - p: 1\n    - q: 2\n  z: 0\n",
            "b:\n  <<: {p: 1, p: 2}\n",
            "b:\n  <<: {<<: {x: 1}, p: 2}\n",
            "b:\n  <<: &m {p: 1}\n  c: *m\n",
            "b: {<<: {p: 1}, p: 2}\n",
            "b:\n  p: 0\n  <<: {p: 1}\n",
            "a: &x [1]\nb:\n  <<: *x\n",
            "<<: {a: 1}\n",
            "b:\n  <<: []\n",
            "b:\n  <<: {}\n",
            "- a\n- b: 1\n  c: 2\n-\n- [x, {y: z}]\n",
            "{a: 1, b: [2, 3]}\n",
            "[1, 2]\n",
            "plain\n",
            "---\na: 1\n...\n",
            "%YAML 1.2\n---\na: 1\n",
            "\u{feff}a: 1\n",
            "a: 1\r\nb: 2\r\n",
            "? a\n? b\n",
            "a:\n- 1\n- 2\n",
            "a: x #c\nb: y\n",
            "a: 1\n---\nb: 2\n",
            "a: 1\n--- \n",
            "--- a\n--- b\n",
            "a: [1, 2\n",
            "a: \"x\n",
            "a:\n\tb: 1\n",
            "a: b: c\n",
            "a: *nope\n",
            "a: &x [*x]\n",
            "d:\n  p: 1\n  p: 2\n",
            "11: a\n0xB: b\n",
            "a: 1\n'a': 2\n",
            "? [a]\n: b\n",
        ];
        for text in documents {
            assert_reads_as_serde_saphyr(text);
        }
    }

    #[test]
    fn positions_follow_pointers() {
        let text = "a: 1\nb:\n  - x: 2\n    y: \"52:54:00:00:00:10\"\n";
        let (value, root) = parse(text).unwrap();
        assert_eq!(value["b"][0]["y"], "52:54:00:00:00:10");
        assert_eq!(root.locate("/b/0/y"), Pos { line: 4, column: 8 });
        assert_eq!(root.locate_key("/b/0/y"), Pos { line: 4, column: 5 });
        // A missing field points at its parent.
        assert_eq!(root.locate("/b/0/z").line, 3);
        // A block value starts at its first key or dash, as serde-saphyr had it.
        assert_eq!(root.locate("/b"), at(3, 3));
        assert_eq!(root.locate("/b/0"), at(3, 5));
        assert_eq!(root.locate(""), at(1, 1));
        let (_, root) = parse("a:\n- 1\n").unwrap();
        assert_eq!(root.locate("/a"), at(2, 3));
        let (_, root) = parse("a: &x !!str 5\n").unwrap();
        assert_eq!(root.locate("/a"), at(1, 13));
    }

    #[test]
    fn aliases_repeat_values_at_the_alias() {
        let (value, root) = parse("a: &x\n  b: [1]\nc: *x\n").unwrap();
        assert_eq!(value["c"], serde_json::json!({"b": [1]}));
        assert_eq!(root.locate("/a/b/0"), at(2, 7));
        assert_eq!(root.locate("/c"), at(3, 4));
        assert_eq!(root.locate("/c/b/0"), at(3, 4));
        assert_eq!(root.locate_key("/c/b"), at(3, 4));
        let err = parse("a: &x [*x]\n").unwrap_err();
        assert_eq!(err.pos, at(1, 8));
        let err = parse("a: *nope\n").unwrap_err();
        assert_eq!(err.pos, at(1, 4));
        assert!(err.message.contains("unknown anchor"), "{}", err.message);
    }

    #[test]
    fn merge_keys_merge_with_the_mapping_winning() {
        let text = "base: &b\n  p: 1\n  q: 2\nd:\n  q: 3\n  <<: [*b, {r: 5, p: 6}]\n  s: 4\n";
        let (value, root) = parse(text).unwrap();
        assert_eq!(
            value["d"],
            serde_json::json!({"q": 3, "s": 4, "p": 1, "r": 5})
        );
        // Its own entries first, then the merged ones.
        assert_eq!(keys(&root, "d"), ["q", "s", "p", "r"]);
        // Merged entries sit where their source is referenced.
        assert_eq!(root.locate("/d/p"), at(6, 8));
        assert_eq!(root.locate_key("/d/r"), at(6, 12));
        assert_eq!(root.locate("/d/q"), at(5, 6));
        let err = parse("d:\n  <<: 5\n").unwrap_err();
        assert_eq!(err.pos, at(2, 7));
        assert!(err.message.contains("merge"), "{}", err.message);
        // Quoted, it is an ordinary key.
        let (value, _) = parse("d:\n  '<<': 1\n").unwrap();
        assert_eq!(value["d"]["<<"], 1);
    }

    /// [`parse_value`] reads what [`parse`] does, and fails where it does.
    fn assert_same_without_positions(text: &str) {
        match (parse(text), parse_value(text)) {
            (Ok((with, _)), Ok(without)) => assert_eq!(with, without, "{text:?}"),
            (Err(with), Err(without)) => {
                assert_eq!(
                    (with.pos, with.message),
                    (without.pos, without.message),
                    "{text:?}"
                );
            }
            (with, without) => panic!(
                "{text:?}: with positions {:?}, without {:?}",
                with.map(|(v, _)| v).map_err(|e| e.message),
                without.map_err(|e| e.message)
            ),
        }
    }

    #[test]
    fn values_without_positions_are_the_same() {
        for text in [
            "base: &b\n  p: 1\n  q: 2\nd:\n  q: 3\n  <<: [*b, {r: 5, p: 6}]\n  s: 4\n",
            "a: &x {k: 1}\nb:\n  <<: *x\n  k: 2\n",
            "a: {<<: {p: 1}, <<: {p: 2}}\n",
            "d:\n  <<: ~\n",
            "l: &l [1, 2]\nm: [*l, *l]\n",
            // Refused merge sources: the error is placed at the bad item
            // in both, though only the full parse knows where it is.
            "d:\n  <<: 5\n",
            "d:\n  <<: [{a: 1}, 5]\n",
            "d:\n  <<:\n    - {a: 1}\n    - [2]\n",
            "a: 1\na: 2\n",
            "a: [1\n",
        ] {
            assert_same_without_positions(text);
        }
        let err = parse_value("d:\n  <<:\n    - {a: 1}\n    - [2]\n").unwrap_err();
        assert_eq!(err.pos, at(4, 7));
    }

    #[test]
    fn keys_read_as_text() {
        let (value, root) = parse(
            "0x1F: a\n1.5: b\n~: c\ntrue: d\n'': e\n1e3: f\n007: g\n-1: h\n1.0e1: i\n!!str 2: j\n",
        )
        .unwrap();
        let expected = [
            "31", "1.5", "null", "true", "", "1000", "7", "-1", "10", "2",
        ];
        assert_eq!(keys(&root, ""), expected);
        assert!(expected.iter().all(|k| value.get(k).is_some()));
        assert_eq!(root.locate_key("/2"), at(10, 7));
        let err = parse("? [a]\n: b\n").unwrap_err();
        assert_eq!(err.pos, at(1, 3));
        assert_eq!(
            err.message,
            "a mapping key must be a single value, not a list"
        );
        let err = parse("x: &m {a: 1}\n*m : b\n").unwrap_err();
        assert!(err.message.contains("not a mapping"), "{}", err.message);
        // Keys that read the same are the same key.
        let err = parse("11: a\n0xB: b\n").unwrap_err();
        assert_eq!(err.pos, at(2, 1));
        assert_eq!(
            err.message,
            "duplicate key `11`: a key may appear only once in a mapping"
        );
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let (value, _) = parse("y: yes\non: off\nt: true\n").unwrap();
        assert_eq!(value["y"], "yes");
        assert_eq!(value["on"], "off");
        assert_eq!(value["t"], true);
    }

    #[test]
    fn tags_do_what_they_say() {
        let (value, _) = parse(
            "s: !!str 1\ni: !!int \"12\"\nf: !!float 1\nb: !!bool 'true'\nn: !!null x\nl: ! 5\n",
        )
        .unwrap();
        let expected =
            serde_json::json!({"s": "1", "i": 12, "f": 1.0, "b": true, "n": null, "l": "5"});
        assert_eq!(value, expected);
        // Tags outside the core schema are refused where they stand, on
        // scalars and collections alike.
        for (tag, node) in [
            ("!custom", "5"),
            ("!!python/object:os.system", "x"),
            ("!int", "5"),
            ("!!value", "x"),
            ("!include", "other.yaml"),
            ("!custom", "{x: 1}"),
            ("!custom", "[1]"),
        ] {
            let text = format!("a: {tag} {node}\n");
            let err = parse(&text).unwrap_err();
            let column = u64::try_from(5 + tag.len()).unwrap();
            assert_eq!(
                (err.pos, err.message),
                (at(1, column), format!("unsupported tag `{tag}`")),
                "{text}"
            );
        }
        let err = parse("a: !!int x\n").unwrap_err();
        assert_eq!(
            (err.pos, err.message.as_str()),
            (at(1, 10), "`x` is not an integer")
        );
        let err = parse("a: !!str {x: 1}\n").unwrap_err();
        assert_eq!(
            (err.pos, err.message.as_str()),
            (at(1, 10), "unsupported tag `!!str`")
        );
        let err = parse("a: !!binary aGk=\n").unwrap_err();
        assert_eq!(err.message, "unsupported tag `!!binary`");
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        for text in ["a: .nan\n", "a: -.Inf\n", "a: 1e999\n", "a: !!float .inf\n"] {
            let err = parse(text).unwrap_err();
            assert!(
                err.message.contains("`.nan` and `.inf` are not allowed"),
                "{text:?}: {}",
                err.message
            );
        }
        assert_eq!(parse("a: -.nan\n").unwrap().0["a"], "-.nan");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            err.message,
            "duplicate key `a`: a key may appear only once in a mapping"
        );
        assert_eq!(err.pos, at(3, 1));
    }

    #[test]
    fn one_document_only() {
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.pos, at(3, 1));
        assert!(err.message.contains("one document"), "{}", err.message);
        assert_eq!(parse("--- a\n--- b\n").unwrap_err().pos, at(2, 5));
        assert_eq!(parse("---\na: 1\n...\n").unwrap().0["a"], 1);
        for (text, pos) in [
            ("", at(1, 1)),
            ("# only a comment\n", at(2, 1)),
            ("---\n", at(1, 4)),
        ] {
            let (value, root) = parse(text).unwrap();
            assert_eq!((value, root.pos), (Value::Null, pos), "{text:?}");
        }
    }

    #[test]
    fn syntax_errors_say_what_and_where() {
        for (text, pos, message) in [
            ("a: [1, 2\n", at(1, 4), "unclosed bracket '['"),
            ("a: \"x\n", at(1, 4), "unclosed quote"),
            (
                "a: b: c\n",
                at(1, 5),
                "mapping values are not allowed in this context",
            ),
            (
                "a:\n  b: 1\n c: 2\n",
                at(3, 2),
                "while parsing a block mapping, did not find expected key",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!((err.pos, err.message.as_str()), (pos, message), "{text:?}");
        }
        let err = parse("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(err.pos, at(2, 2));
        assert!(err.message.contains("tab"), "{}", err.message);
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |d: usize| format!("a: {}{}\n", "[".repeat(d), "]".repeat(d));
        assert!(parse(&nested(63)).is_ok());
        let err = parse(&nested(64)).unwrap_err();
        assert_eq!(err.pos, at(1, 67));
        assert!(err.message.contains("deeper"), "{}", err.message);
        // Through an alias too.
        let text = format!(
            "a: &a {}\nb: [[[*a]]]\n",
            nested(61).trim_start_matches("a: ").trim_end()
        );
        assert_eq!(parse(&text).unwrap_err().pos, at(2, 7));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse(&text).unwrap_err();
        assert_eq!(err.message, ALIAS_BOMB);
        assert_eq!(err.pos.line, 6);
        // Repeating long text counts too.
        let mut text = format!("a: &a {}\nb:\n", "x".repeat(64 << 10));
        text.push_str(&"  - *a\n".repeat(MAX_INPUT_BYTES / (64 << 10) + 1));
        assert_eq!(parse(&text).unwrap_err().message, ALIAS_BOMB);
        // Many aliases of one small anchor are fine.
        let mut text = String::from("d: &d {x: 1}\nh:\n");
        text.push_str(&"  - *d\n".repeat(1000));
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn many_aliases_are_copied_too() {
        // More alias nodes than the first pass copies: read again.
        let items = (0..99)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let copies = FIRST_PASS_COPIES.nodes / 100 + 10;
        let mut text = format!("d: &d [{items}]\nh:\n");
        text.push_str(&"  - *d\n".repeat(copies));
        text.push_str("  - <<: {x: *d}\n");
        let (value, root) = parse(&text).unwrap();
        let h = value["h"].as_array().unwrap();
        assert_eq!(h.len(), copies + 1);
        assert!(h[..copies].iter().all(|v| *v == value["d"]));
        assert_eq!(h[copies]["x"], value["d"]);
        assert_eq!(root.locate("/h/7/98"), at(10, 5));
        assert_eq!(
            root.locate(&format!("/h/{copies}/x/3")),
            at(copies as u64 + 3, 9)
        );
    }
}
