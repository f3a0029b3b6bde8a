//! `cargo xtask quiet`: library code never writes to the terminal.
//!
//! A library reports through what it returns and through `tracing`, which the application
//! routes where it wants. A line printed from library code is noise in someone else's output,
//! and, as the fallback to the embedded mock that once announced itself with `eprintln!`
//! showed, a warning nobody reads in a batch job. The CLI and the benchmark harness are
//! programs, so they may print; doc comments and `#[cfg(test)]` modules are not library code.

use std::path::{Path, PathBuf};

use crate::root;

/// The macros that write to stdout or stderr.
const PRINTING: &[&str] = &["print!(", "println!(", "eprint!(", "eprintln!(", "dbg!("];

/// Checks every library crate under `crates/`.
pub(crate) fn check() -> Result<(), String> {
    let crates = root().join("crates");
    let mut problems = Vec::new();
    let entries = std::fs::read_dir(&crates).map_err(|e| format!("{}: {e}", crates.display()))?;
    for dir in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if dir.join("src").join("lib.rs").is_file() {
            for file in rust_files(&dir.join("src")) {
                let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
                problems.extend(
                    printing_lines(&text)
                        .into_iter()
                        .map(|(n, line)| format!("{}:{n}: {line}", file.display())),
                );
            }
        }
    }
    if problems.is_empty() {
        eprintln!("xtask: no library crate prints to the terminal");
        Ok(())
    } else {
        Err(format!(
            "library code prints to the terminal (return it, or log it with tracing):\n  {}",
            problems.join("\n  ")
        ))
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines (numbered from 1) of a source file's library code that print: comments, and
/// everything from the first `#[cfg(test)]` on, left out.
pub(crate) fn printing_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or_default();
            PRINTING.iter().any(|m| {
                code.match_indices(m).any(|(at, _)| {
                    // `eprintln!(` contains `println!(`: count a macro only at a word's start.
                    !code[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            })
        })
        .map(|(n, line)| (n + 1, line.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_printing_in_library_code_only() {
        let text = "//! eprintln!(\"doc\")\n/// println!(\"doc\")\nfn a() {\n    eprintln!(\"hello\");\n    let x = 1; // dbg!(x)\n    my_println!(x);\n}\n#[cfg(test)]\nmod tests {\n    fn b() { println!(\"test\") }\n}\n";
        assert_eq!(
            super::printing_lines(text),
            [(4, "eprintln!(\"hello\");".to_owned())]
        );
    }
}
