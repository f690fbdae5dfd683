//! The house's boundaries, read from the source: every `use` and `crate::`/`super::` path
//! in `src/` becomes an edge between modules, and the edges DESIGN.md forbids fail the
//! test: the window never reaches into a backend, local mode and the AWS backend never
//! import each other, the request model imports no backend or view, the window does no
//! I/O, and neither the top-level parts nor any two modules import each other in a cycle.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path such as `backend::local::store` (empty for the crate root).
type Module = String;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file defines: `src/backend/local/mod.rs` is `backend::local`.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn parent(module: &str) -> Module {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_string())
}

/// The code of a file without comments and without the text of string and char literals
/// (doc links name paths, and messages say "use", but neither imports anything). Quotes and
/// line breaks stay.
fn code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    let ident = |i: usize| i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    while i < chars.len() {
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if !ident(i) && chars[i] == 'r' && raw_hashes(&chars[i + 1..]).is_some() {
            // A raw string: r"…", r#"…"#, … (not a raw identifier such as r#type)
            let hashes = raw_hashes(&chars[i + 1..]).unwrap_or(0);
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            i += 2 + hashes;
            while i < chars.len() && !at(i, &close) {
                if chars[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += close.len();
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                match chars[i] {
                    '\\' => i += 1,
                    '\n' => out.push('\n'),
                    _ => {}
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if chars[i] == '\'' && (at(i + 2, "'") || at(i + 1, "\\")) {
            // A char literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("' '");
            i += 1;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// How many `#` open a raw string that starts after its `r`, if one does.
fn raw_hashes(rest: &[char]) -> Option<usize> {
    let hashes = rest.iter().take_while(|c| **c == '#').count();
    (rest.get(hashes) == Some(&'"')).then_some(hashes)
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = format!("{prefix}{}", &tree[..open]);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], &head, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &head, out);
    } else if !tree.is_empty() {
        let path = tree.split(" as ").next().unwrap().trim();
        out.push(format!("{prefix}{path}"));
    }
}

/// Every path a file names: its `use` trees and its inline `crate::`, `super::` paths.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        expand(&rest[..end], "", &mut out);
        rest = &rest[end..];
    }
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let path: String = rest[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path.trim_end_matches(':').to_string());
            rest = &rest[at + start.len()..];
        }
    }
    out
}

/// The module a path from `from` lands in: its longest prefix that is a module.
fn resolve(from: &str, path: &str, modules: &BTreeSet<Module>) -> Option<Module> {
    let mut base: Vec<String> = Vec::new();
    let mut segments = path.split("::").filter(|s| !s.is_empty()).peekable();
    match segments.peek().copied() {
        Some("crate") => {
            segments.next();
        }
        Some("super") => {
            let mut module = from.to_string();
            while segments.peek() == Some(&"super") {
                segments.next();
                module = parent(&module);
            }
            base.extend(
                module
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
        Some("self") => {
            segments.next();
            base.extend(from.split("::").filter(|s| !s.is_empty()).map(String::from));
        }
        _ => return None,
    }
    let mut best = None;
    let mut current = base.clone();
    if modules.contains(&current.join("::")) {
        best = Some(current.join("::"));
    }
    for segment in segments {
        current.push(segment.to_string());
        let joined = current.join("::");
        if modules.contains(&joined) {
            best = Some(joined);
        }
    }
    best
}

fn within(module: &str, area: &str) -> bool {
    module == area || module.starts_with(&format!("{area}::"))
}

/// Edges between modules: `(from, to)`.
fn edges() -> BTreeSet<(Module, Module)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges = BTreeSet::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = code(&std::fs::read_to_string(file).unwrap());
        for path in paths(&text) {
            if let Some(to) = resolve(&from, &path, &modules)
                && to != from
            {
                edges.insert((from.clone(), to));
            }
        }
    }
    edges
}

#[test]
fn the_reader_finds_the_edges_it_should() {
    let edges = edges();
    for (from, to) in [
        ("backend::local::runner", "store"),
        ("ui", "worker"),
        ("backend::aws", "backend::sdk"),
        ("cli", "backend::local"),
    ] {
        assert!(
            edges.contains(&(from.to_string(), to.to_string())),
            "missing {from} -> {to}"
        );
    }
}

#[test]
fn no_forbidden_edge() {
    let rules: &[(&str, &str, &str)] = &[
        (
            "ui",
            "backend",
            "the window imports no backend: it talks to them through the worker, and job \
             identity lives in job",
        ),
        (
            "worker",
            "backend::aws",
            "the worker talks to AWS through the Backend trait",
        ),
        (
            "worker",
            "backend::local",
            "the worker talks to local mode through the Backend trait, and keeps the \
             window's things in the store",
        ),
        (
            "store",
            "backend::local",
            "the store is the application's, not local mode's",
        ),
        ("store", "worker", "the store knows no worker"),
        ("error", "backend", "the error vocabulary knows no backend"),
        ("error", "store", "the error vocabulary knows no store"),
        ("store", "ui", "the store knows no view"),
        (
            "backend::local",
            "backend::aws",
            "local mode uses AWS only through backend::sdk",
        ),
        (
            "backend::aws",
            "backend::local",
            "the AWS backend knows nothing of local mode",
        ),
        (
            "backend::sdk",
            "backend::local",
            "the SDK module is neutral",
        ),
        ("backend::sdk", "backend::aws", "the SDK module is neutral"),
        (
            "backend::s3",
            "backend::aws",
            "S3 transfers are shared: no backend",
        ),
        (
            "backend::s3",
            "backend::local",
            "S3 transfers are shared: no backend",
        ),
        ("request", "backend", "the request model knows no backend"),
        ("request", "ui", "the request model knows no view"),
        ("request", "worker", "the request model knows no worker"),
        ("job", "backend", "the view types know no backend"),
        ("job", "worker", "the view types know no worker"),
        ("job", "ui", "the view types know no view"),
        ("job", "cli", "the view types know no command line"),
        ("request", "cli", "the request model knows no command line"),
        ("backend", "worker", "backends know no worker"),
        ("backend", "preflight", "backends know no preflight"),
        ("backend", "cli", "backends know no command line"),
        ("backend", "ui", "backends know no view"),
        ("worker", "ui", "the worker knows no view"),
    ];
    let mut broken = Vec::new();
    for (from, to) in edges() {
        if within(&to, "cli") && !within(&from, "cli") && !from.is_empty() {
            broken.push(format!("{from} -> {to}: only main runs the command line"));
        }
        for (area, forbidden, why) in rules {
            if within(&from, area) && within(&to, forbidden) && !within(&to, area) {
                broken.push(format!("{from} -> {to}: {why}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "forbidden imports:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_parts_import_each_other_without_cycles() {
    // The parts: top-level modules, and each backend on its own.
    let part = |m: &str| -> String {
        let mut segments = m.split("::");
        match (segments.next(), segments.next()) {
            (Some("backend"), Some(child)) => format!("backend::{child}"),
            (Some(top), _) => top.to_string(),
            (None, _) => String::new(),
        }
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in edges() {
        let (a, b) = (part(&from), part(&to));
        // A module using its own children (`backend::open` naming the backends) is
        // structure, not a cycle.
        if a == b || a.is_empty() || b.is_empty() || within(&b, &a) {
            continue;
        }
        graph.entry(a).or_default().insert(b);
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_window_does_no_file_process_or_database_work() {
    // The window draws and sends commands; the worker does the rest.
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let mut files = Vec::new();
    rust_files(&ui, &mut files);
    assert!(files.len() > 10, "the reader found the window's files");
    let forbidden = [
        "std::fs",
        "tokio::fs",
        "fs::read",
        "fs::write",
        "File::",
        "OpenOptions",
        "std::process",
        "Command::new",
        "rusqlite",
        "std::net",
        "spawn_blocking",
    ];
    let mut found = Vec::new();
    for file in &files {
        let text = code(&std::fs::read_to_string(file).unwrap());
        for word in forbidden {
            if text.contains(word) {
                found.push(format!("{}: {word}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "I/O in the window:\n{}", found.join("\n"));
}

#[test]
fn modules_import_each_other_without_cycles() {
    // A module and its own parent or children are one room; between other modules (two
    // siblings, or cousins), imports go one way only.
    let related = |a: &str, b: &str| within(a, b) || within(b, a);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in edges() {
        if !related(&from, &to) {
            graph.entry(from).or_default().insert(to);
        }
    }
    // Each module's descendants' edges count as its own: `a::x -> b` and `b::y -> a` is a
    // cycle between `a` and `b` when they are siblings.
    let mut cycles = BTreeSet::new();
    for (from, tos) in &graph {
        for to in tos {
            // Lift both ends to the children of their common ancestor.
            let common: Vec<&str> = from
                .split("::")
                .zip(to.split("::"))
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect();
            let lift = |m: &str| -> String {
                m.split("::")
                    .take(common.len() + 1)
                    .collect::<Vec<_>>()
                    .join("::")
            };
            let (a, b) = (lift(from), lift(to));
            let back = graph
                .iter()
                .any(|(f, ts)| within(f, &b) && ts.iter().any(|t| within(t, &a) && !related(f, t)));
            if back {
                cycles.insert(if a < b { (a, b) } else { (b, a) });
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other:\n{}",
        cycles
            .iter()
            .map(|(a, b)| format!("{a} <-> {b}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
