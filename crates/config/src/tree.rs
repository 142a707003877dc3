//! Logical lines → a tree of keyword statements and blocks.
//!
//! Built with an explicit stack (no recursion), nesting bounded by
//! [`MAX_DEPTH`]. A block keyword that belongs to an enclosing block (such as
//! a `real_server` inside a `real_server`) means a `}` is missing: that is
//! reported where the unclosed block opened, and the tree is repaired so the
//! rest of the file is read as intended.

use crate::diag::{Code, Diagnostic, Loc};
use crate::lexer::{tokenize, TokKind, Token};
use crate::reader::LogicalLine;
use crate::schema::{self, BlockKind};

pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone)]
pub struct Node {
    pub keyword: Token,
    pub args: Vec<Token>,
    pub block: Option<Block>,
    /// The kind of block this node opens (List for unknown keywords).
    pub kind: Option<BlockKind>,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub open: Loc,
    pub children: Vec<Node>,
}

impl Node {
    pub fn name(&self) -> &str {
        &self.keyword.text
    }
    pub fn children(&self) -> &[Node] {
        self.block
            .as_ref()
            .map(|b| b.children.as_slice())
            .unwrap_or(&[])
    }
}

struct Frame {
    kind: BlockKind,
    node: Option<Node>,
    children: Vec<Node>,
}

/// Build the tree of the whole configuration.
pub fn build(lines: Vec<LogicalLine>, diags: &mut Vec<Diagnostic>) -> Vec<Node> {
    let mut out = Vec::new();
    build_streaming(lines, diags, |n, _| out.push(n));
    out
}

/// Build the tree, handing each top-level statement to `emit` as soon as it
/// is complete, so that a large configuration is never whole in memory as a
/// tree.
pub fn build_streaming(
    lines: Vec<LogicalLine>,
    diags: &mut Vec<Diagnostic>,
    mut emit: impl FnMut(Node, &mut Vec<Diagnostic>),
) {
    let mut stack: Vec<Frame> = vec![Frame {
        kind: BlockKind::Root,
        node: None,
        children: Vec::new(),
    }];
    let mut skip = 0usize; // > 0 while inside a block nested too deep
                           // lines are consumed as they are read: the tree and the lines are never both whole in memory
    for line in lines {
        let toks = tokenize(&line.text, line.loc, diags);
        drop(line);
        let mut current: Option<Node> = None;
        for tok in toks {
            if skip > 0 {
                match tok.kind {
                    TokKind::Open => skip += 1,
                    TokKind::Close => skip -= 1,
                    TokKind::Word => {}
                }
                continue;
            }
            match tok.kind {
                TokKind::Word => match current.as_mut() {
                    Some(n) => n.args.push(tok),
                    None => {
                        current = Some(Node {
                            keyword: tok,
                            args: Vec::new(),
                            block: None,
                            kind: None,
                        })
                    }
                },
                TokKind::Open => {
                    let node = match current.take() {
                        Some(n) => n,
                        None => {
                            // a `{` alone: it opens the block of the previous statement
                            let top = stack.last_mut().expect("root frame");
                            match top.children.pop() {
                                Some(prev) if prev.block.is_none() => prev,
                                other => {
                                    if let Some(o) = other {
                                        top.children.push(o);
                                    }
                                    diags.push(
                                        Diagnostic::new(
                                            Code::UnexpectedOpenBrace,
                                            Some(tok.loc),
                                            "`{` without a keyword before it: lvsd skips the block it opens; keepalived 2.2.7 ignores this `{`, reads the lines after it as part of the enclosing block and takes its `}` as the end of the enclosing block",
                                        )
                                        .with_hint(
                                            "a block starts with its keyword: `keyword ... {`",
                                        ),
                                    );
                                    skip = 1;
                                    continue;
                                }
                            }
                        }
                    };
                    if stack.len() > MAX_DEPTH {
                        diags.push(Diagnostic::new(
                            Code::TooDeep,
                            Some(tok.loc),
                            format!(
                                "blocks nested more than {MAX_DEPTH} deep; this block is skipped"
                            ),
                        ));
                        skip = 1;
                        continue;
                    }
                    recover_missing_close(&mut stack, &node, diags, &mut emit);
                    let parent = stack.last().expect("root frame").kind;
                    let kind = if parent == BlockKind::List {
                        BlockKind::List
                    } else {
                        match schema::lookup(parent, node.name()) {
                            Some(Some(k)) => k,
                            _ => BlockKind::List,
                        }
                    };
                    let mut node = node;
                    node.kind = Some(kind);
                    node.block = Some(Block {
                        open: tok.loc,
                        children: Vec::new(),
                    });
                    stack.push(Frame {
                        kind,
                        node: Some(node),
                        children: Vec::new(),
                    });
                }
                TokKind::Close => {
                    if let Some(n) = current.take() {
                        attach(&mut stack, n, diags, &mut emit);
                    }
                    if stack.len() == 1 {
                        diags.push(
                            Diagnostic::new(
                                Code::UnexpectedCloseBrace,
                                Some(tok.loc),
                                "`}` closes no block: it is ignored, as keepalived 2.2.7 ignores it",
                            )
                            .with_hint(
                                "remove it, or look for a block above that was closed twice",
                            ),
                        );
                        continue;
                    }
                    if let Some(d) = one_line_unknown_block(&stack, &tok) {
                        diags.push(d);
                    }
                    close_top(&mut stack, diags, &mut emit);
                }
            }
        }
        if let Some(n) = current.take() {
            attach(&mut stack, n, diags, &mut emit);
        }
    }
    while stack.len() > 1 {
        let f = stack.last().expect("frame");
        if let Some(n) = &f.node {
            let open = n.block.as_ref().map(|b| b.open).unwrap_or(n.keyword.loc);
            diags.push(
                Diagnostic::new(
                    Code::UnclosedBlock,
                    Some(Loc {
                        col: n.keyword.loc.col,
                        len: n.keyword.loc.len,
                        ..open
                    }),
                    format!(
                        "block `{}` opened here is never closed: it ends at the end of the file, as keepalived 2.2.7 reads it",
                        describe(n)
                    ),
                )
                .with_hint("add the missing `}` at the end of this block"),
            );
        }
        close_top(&mut stack, diags, &mut emit);
    }
    for n in std::mem::take(&mut stack[0].children) {
        emit(n, diags);
    }
}

/// `UNKNOWN {}` (or `UNKNOWN { ... }`) opened and closed on one line inside a block: lvsd reads
/// an empty (ignored) block; keepalived 2.2.7 ignores the unknown keyword and its `{` and takes
/// this `}` as the end of the enclosing block, so what follows in that block is read one level
/// up (issue 21). Said, with the enclosing block named.
fn one_line_unknown_block(stack: &[Frame], close: &Token) -> Option<Diagnostic> {
    let [.., outer, inner] = stack else {
        return None;
    };
    let node = inner.node.as_ref()?;
    let enclosing = outer.node.as_ref()?;
    let open = node.block.as_ref()?.open;
    if open.line != close.loc.line
        || node.keyword.loc.line != close.loc.line
        || outer.kind == BlockKind::List
        || schema::lookup(outer.kind, node.name()).is_some()
    {
        return None;
    }
    Some(
        Diagnostic::new(
            Code::KeepalivedDiffers,
            Some(node.keyword.loc),
            format!(
                "`{} {{...}}` on one line: lvsd ignores this unknown block; keepalived 2.2.7 ignores `{}` and its `{{`, and takes this `}}` as the end of `{}`, so the rest of that block is read one level up (its keywords unknown there, lost)",
                node.name(),
                node.name(),
                describe(enclosing)
            ),
        )
        .with_hint("remove the line, or put its `{` and `}` on lines of their own"),
    )
}

/// Give a finished statement to its parent block, or to `emit` at the top level.
fn attach(
    stack: &mut [Frame],
    n: Node,
    diags: &mut Vec<Diagnostic>,
    emit: &mut impl FnMut(Node, &mut Vec<Diagnostic>),
) {
    if stack.len() == 1 {
        // the last top-level statement is held back one statement: a `{` alone on the next
        // line opens its block (keepalived reads `vrrp_script chk` + `{` as one block)
        let root = &mut stack[0].children;
        root.push(n);
        if root.len() > 1 {
            let first = root.remove(0);
            emit(first, diags);
        }
    } else {
        stack.last_mut().expect("frame").children.push(n);
    }
}

fn describe(n: &Node) -> String {
    let mut s = n.name().to_string();
    for a in n.args.iter().take(3) {
        s.push(' ');
        s.push_str(&a.text);
    }
    s
}

fn close_top(
    stack: &mut Vec<Frame>,
    diags: &mut Vec<Diagnostic>,
    emit: &mut impl FnMut(Node, &mut Vec<Diagnostic>),
) {
    let f = stack.pop().expect("frame");
    if let Some(mut n) = f.node {
        if let Some(b) = n.block.as_mut() {
            b.children = f.children;
        }
        attach(stack, n, diags, emit);
    }
}

/// If `node` (which opens a block) is unknown in the current block but is a
/// block keyword of an enclosing one, a `}` is missing: report and close.
fn recover_missing_close(
    stack: &mut Vec<Frame>,
    node: &Node,
    diags: &mut Vec<Diagnostic>,
    emit: &mut impl FnMut(Node, &mut Vec<Diagnostic>),
) {
    let top = stack.last().expect("root frame");
    if top.kind == BlockKind::List || schema::lookup(top.kind, node.name()).is_some() {
        return;
    }
    let Some(target) = stack.iter().rposition(|f| {
        f.kind != BlockKind::List && matches!(schema::lookup(f.kind, node.name()), Some(Some(_)))
    }) else {
        return;
    };
    if target + 1 >= stack.len() {
        return;
    }
    // the innermost open block is the one most likely missing its `}`
    let unclosed = stack
        .last()
        .and_then(|f| f.node.as_ref())
        .expect("non-root frame");
    let open = unclosed.keyword.loc;
    let mut d = Diagnostic::new(
        Code::MissingCloseBrace,
        Some(open),
        format!(
            "block `{}` is not closed: `{}` on line {} belongs to the enclosing `{}`; lvsd closes the block before it, keepalived 2.2.7 does not (it reads the lines that follow inside this block, where they are unknown, and loses them)",
            describe(unclosed),
            node.name(),
            node.keyword.loc.line,
            stack[target]
                .node
                .as_ref()
                .map(|n| n.name().to_string())
                .unwrap_or_else(|| "top level".into()),
        ),
    );
    d.hint = Some(format!(
        "add `}}` before line {} (read as if it were there)",
        node.keyword.loc.line
    ));
    diags.push(d);
    while stack.len() > target + 1 {
        close_top(stack, diags, emit);
    }
}
