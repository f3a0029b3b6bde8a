//! `cargo xtask layers`: the modules of each crate form layers, with no import circle.
//!
//! Each file's library code (its `#[cfg(test)] mod tests` excluded, comments skipped) is read
//! for `crate::<module>` paths and `use crate::{...}` groups; names re-exported at the crate
//! root (`crate::Error`) count as the module they come from. A module's files are
//! `src/<module>.rs` and everything under `src/<module>/`.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// The import graph: module → the modules it uses.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Reads the crate at `src` (its `lib.rs`, or `main.rs` for a binary) into its import graph.
pub fn read(src: &Path) -> Result<Graph, String> {
    let root = if src.join("lib.rs").is_file() {
        src.join("lib.rs")
    } else {
        src.join("main.rs")
    };
    let lib = std::fs::read_to_string(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let modules = modules_of(&lib);
    let root_names = root_reexports(&lib, &modules);
    let mut graph = Graph::new();
    for module in &modules {
        let mut text = String::new();
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            text.push_str(&std::fs::read_to_string(&file).map_err(|e| e.to_string())?);
        }
        let dir = src.join(module);
        if dir.is_dir() {
            for entry in std::fs::read_dir(&dir).map_err(|e| e.to_string())? {
                let path = entry.map_err(|e| e.to_string())?.path();
                if path.extension().is_some_and(|x| x == "rs") {
                    text.push('\n');
                    text.push_str(&std::fs::read_to_string(&path).map_err(|e| e.to_string())?);
                }
            }
        }
        let uses = uses_of(&text, &modules, &root_names)
            .into_iter()
            .filter(|m| m != module)
            .collect();
        graph.insert(module.clone(), uses);
    }
    Ok(graph)
}

/// The modules `lib.rs` declares.
fn modules_of(lib: &str) -> BTreeSet<String> {
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').trim().to_owned())
        })
        .collect()
}

/// The names re-exported at the root (`pub use module::{A, B};`) and their modules.
fn root_reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let item = item.trim();
            if !item.is_empty() {
                names.insert(item.to_owned(), module.to_owned());
            }
        }
    }
    names
}

/// The modules `text` uses, its tests and comments aside.
fn uses_of(
    text: &str,
    modules: &BTreeSet<String>,
    root_names: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut in_tests = false;
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            in_tests = true;
        }
        // A test module ends where the file does: the files are joined, each starting anew.
        if trimmed.starts_with("//!") && in_tests {
            in_tests = false;
        }
        if in_tests || trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or(""))
                .collect()
        } else {
            vec![
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or(""),
            ]
        };
        for name in names {
            if modules.contains(name) {
                used.insert(name.to_owned());
            } else if let Some(module) = root_names.get(name) {
                used.insert(module.clone());
            }
        }
    }
    used
}

/// The first import circle of `graph`, as the modules along it (the first repeated at the end).
pub fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// Fails naming the circle when the modules of crate `name` (sources in `src`) import each
/// other in a circle.
pub fn check(name: &str, src: &Path) -> Result<(), String> {
    let graph = read(src)?;
    if let Some(circle) = find_circle(&graph) {
        return Err(format!(
            "{name} has an import circle: {}",
            circle.join(" -> ")
        ));
    }
    eprintln!(
        "xtask: {name}'s {} modules form layers with no import circle",
        graph.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reads_paths_groups_and_root_names_but_not_tests_or_comments() {
        let mods = modules(&["error", "retry", "auth", "config"]);
        let mut root = BTreeMap::new();
        root.insert("Error".to_owned(), "error".to_owned());
        let text = "use crate::{retry::RetryPolicy, Error};\n\
                    /// See [`x`](crate::config::Config).\n\
                    fn f() { crate::auth::x(); }\n\
                    #[cfg(test)]\nmod tests { use crate::config::Config; }\n";
        let used = uses_of(text, &mods, &root);
        assert_eq!(used, modules(&["auth", "error", "retry"]));
    }

    #[test]
    fn finds_a_circle_and_accepts_layers() {
        let mut graph = Graph::new();
        graph.insert("a".into(), modules(&["b"]));
        graph.insert("b".into(), modules(&["c"]));
        graph.insert("c".into(), modules(&[]));
        assert_eq!(find_circle(&graph), None);
        graph.insert("c".into(), modules(&["a"]));
        assert_eq!(
            find_circle(&graph),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
    }

    #[test]
    fn the_core_has_no_circle() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("crates")
            .join("thingspace-core")
            .join("src");
        let graph = read(&src).expect("read");
        assert!(graph.len() > 10, "{graph:?}");
        assert_eq!(find_circle(&graph), None, "{graph:#?}");
    }
}
