//! Writes the README's Rust examples into `$OUT_DIR/readme.rs`, each in a module of its own
//! (`readme_1`, `readme_2`, ...), with a `run` that calls its `main`, and `README_EXAMPLES`
//! listing them. So the program runs the README as written, and a README example that stops
//! compiling against the published API stops this build.
//!
//! Rust blocks are those fenced with ```` ```rust ````. As in rustdoc, a line `# code` is
//! hidden in the docs but compiled; blocks marked `ignore`, `compile_fail` or `should_panic`
//! are left out, and those marked `no_run` are compiled but not run.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let readme_path = manifest_dir.join("../../README.md");
    println!("cargo:rerun-if-changed={}", readme_path.display());
    let readme = fs::read_to_string(&readme_path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", readme_path.display()));

    let blocks = rust_blocks(&readme);
    assert!(
        !blocks.is_empty(),
        "the README has no ```rust example: nothing to run"
    );
    let mut out = String::new();
    let mut list = String::new();
    for (i, (block, runs)) in blocks.iter().enumerate() {
        let name = format!("readme_{}", i + 1);
        writeln!(
            out,
            "#[allow(dead_code)]\nmod {name} {{\n{block}\n\
             pub(super) fn run() -> Result<(), Box<dyn std::error::Error>> {{ main() }}\n}}\n"
        )
        .expect("writing to a String");
        writeln!(list, "    (\"{name}\", {runs}, {name}::run),").expect("writing to a String");
    }
    writeln!(
        out,
        "/// The README's Rust examples, in order: name, whether it runs (not `no_run`), its `main`.\n\
         const README_EXAMPLES: &[(&str, bool, Example)] = &[\n{list}];"
    )
    .expect("writing to a String");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    fs::write(out_dir.join("readme.rs"), out).expect("writing to OUT_DIR");
}

/// The code of every ```` ```rust ```` block (hidden lines `# ...` shown), and whether it runs.
fn rust_blocks(markdown: &str) -> Vec<(String, bool)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match current.as_mut() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let words: Vec<&str> = info.split(',').map(str::trim).collect();
                    let skip = ["ignore", "compile_fail", "should_panic"];
                    if words[0] == "rust" && !words.iter().any(|w| skip.contains(w)) {
                        current = Some((String::new(), !words.contains(&"no_run")));
                    }
                }
            }
            Some((code, _)) => {
                if trimmed.starts_with("```") {
                    blocks.push(current.take().expect("inside a block"));
                } else {
                    let shown = match trimmed.strip_prefix('#') {
                        Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                            rest.strip_prefix(' ').unwrap_or(rest)
                        }
                        _ => line,
                    };
                    code.push_str(shown);
                    code.push('\n');
                }
            }
        }
    }
    assert!(current.is_none(), "the README ends inside a ```rust block");
    blocks
}
