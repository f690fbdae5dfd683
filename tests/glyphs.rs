//! Every character the window's own strings use outside ASCII has a glyph in the window's
//! fonts: a missing one draws as a box ("IAM ▯ Roles").

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn rust_files(dir: PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_windows_strings_have_glyphs() {
    let ctx = egui::Context::default();
    let mut output = ctx.run_ui(Default::default(), |_| {});
    output.textures_delta.clear();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut used = std::collections::BTreeSet::new();
    for dir in ["ui", "preflight", "request", "job"] {
        for file in rust_files(root.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for line in text.lines() {
                let code = line.split("//").next().unwrap_or("");
                for part in code.split('"').skip(1).step_by(2) {
                    used.extend(part.chars().filter(|c| !c.is_ascii()));
                }
            }
        }
    }
    assert!(used.contains(&'…'), "the scan reads the strings: {used:?}");
    let font = egui::FontId::proportional(14.0);
    let missing: Vec<char> = ctx.fonts_mut(|f| {
        used.iter()
            .copied()
            .filter(|c| !f.has_glyph(&font, *c))
            .collect()
    });
    assert!(missing.is_empty(), "no glyph for {missing:?}");
}
