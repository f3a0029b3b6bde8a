//! `cargo xtask readmes`: the dependencies a new user writes, as each published library crate's
//! README shows them, compile that README's Rust examples.
//!
//! The crates' own doc tests compile their README (it is the crate's documentation), but with
//! the workspace's features and the crate's dev-dependencies: they pass with a snippet that
//! lacks a feature (`thingspace = { default-features = false, features = ["m2m"] }` without
//! `reqwest`) or a crate the example uses. Here each README's `toml` block with
//! `[dependencies]` (and `[dev-dependencies]`) becomes the manifest of a scratch crate, with the
//! workspace's crates found by path at the version the snippet writes, and whose documentation
//! is the README: `cargo test --doc` on it compiles the examples (and runs those not marked
//! `no_run`) with exactly those dependencies and features.
//!
//! The scratch crates are a workspace of their own in the target directory
//! (`target/readme-snippets/`), with a copy of `Cargo.lock` (the workspace's versions) and the
//! workspace's profiles, built into the workspace's target directory: what is already built
//! with the same features is not built again. Each crate is tested by a cargo command of its
//! own, so that no README gets its features from another's. Measured on two cores: about 95 s
//! after the workspace's tests on a clean target directory (CI: the crates a README's features
//! change are built again, such as tokio and hyper with fewer features), 15 to 20 s once built.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use crate::root;

/// The directory of the scratch workspace, in the target directory.
const SCRATCH: &str = "readme-snippets";

/// A published library crate and its README.
#[derive(Debug)]
struct Readme {
    /// The crate's name.
    krate: String,
    /// Its README.
    path: PathBuf,
    /// Its edition, which the scratch crate (and so its doc tests) takes.
    edition: String,
}

/// The `toml` block of a README that holds `[dependencies]`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Snippet {
    /// The line of the README the block's first line is on (from 1).
    pub(crate) line: usize,
    /// The block's text.
    pub(crate) text: String,
}

/// Runs the check on every published library crate of this repository.
pub(crate) fn check() -> Result<(), String> {
    let meta = crate::workspace_metadata()?;
    let target = crate::target_directory(&meta);
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    // Every crate of the workspace a snippet may name, and where it is.
    let ours: BTreeMap<String, PathBuf> = packages
        .iter()
        .filter_map(|p| {
            let name = p["name"].as_str()?.to_owned();
            let dir = Path::new(p["manifest_path"].as_str()?)
                .parent()?
                .to_path_buf();
            Some((name, dir))
        })
        .collect();
    let readmes: Vec<Readme> = packages
        .iter()
        .filter(|p| p["publish"].as_array().is_none_or(|a| !a.is_empty()))
        .filter(|p| {
            p["targets"].as_array().is_some_and(|targets| {
                targets.iter().any(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|k| k == "lib"))
                })
            })
        })
        .filter_map(|p| {
            let krate = p["name"].as_str()?.to_owned();
            let dir = ours.get(&krate)?;
            Some(Readme {
                path: dir.join(p["readme"].as_str().unwrap_or("README.md")),
                edition: p["edition"].as_str().unwrap_or("2024").to_owned(),
                krate,
            })
        })
        .collect();

    let scratch = target.join(SCRATCH);
    let mut members = Vec::new();
    let mut problems = Vec::new();
    for readme in &readmes {
        let shown = shown(&readme.path);
        let prepared = std::fs::read_to_string(&readme.path)
            .map_err(|e| format!("{shown}: {e}"))
            .and_then(|text| snippet(&text).map_err(|e| format!("{shown}: {e}")))
            .and_then(|snippet| {
                let manifest = scratch_manifest(&readme.krate, &readme.edition, &snippet, &ours)
                    .map_err(|e| format!("{shown}: {e}"))?;
                Ok((snippet, manifest))
            });
        match prepared {
            Ok((snippet, manifest)) => {
                let name = scratch_name(&readme.krate);
                let dir = scratch.join(&name);
                write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
                let lib = format!(
                    "//! The README of {}, compiled with the dependencies of its `toml` snippet.\n#![doc = include_str!({:?})]\n",
                    readme.krate,
                    readme.path.display().to_string()
                );
                write_if_changed(&dir.join("src").join("lib.rs"), &lib)?;
                members.push((readme, name, snippet));
            }
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "each published library crate's README shows, in one `toml` block, the [dependencies] a new user writes for its examples:\n  {}",
            problems.join("\n  ")
        ));
    }

    let names: Vec<&str> = members.iter().map(|(_, name, ..)| name.as_str()).collect();
    let workspace = std::fs::read_to_string(root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    write_if_changed(
        &scratch.join("Cargo.toml"),
        &scratch_workspace(&names, &workspace),
    )?;
    std::fs::copy(root().join("Cargo.lock"), scratch.join("Cargo.lock"))
        .map_err(|e| format!("could not copy Cargo.lock to {}: {e}", scratch.display()))?;
    remove_stale_members(&scratch, &names);

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let started = Instant::now();
    let mut failed = Vec::new();
    let mut times = Vec::new();
    for (readme, name, snippet) in &members {
        let one = Instant::now();
        let shown = shown(&readme.path);
        eprintln!(
            "xtask: {shown}: its examples with the dependencies of its snippet (line {}): cargo test --doc -p {name}",
            snippet.line
        );
        let status = Command::new(&cargo)
            .args(["test", "--doc", "--quiet", "-p", name, "--target-dir"])
            .arg(&target)
            .current_dir(&scratch)
            .status()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        times.push(format!(
            "{} {:.0} s",
            readme.krate,
            one.elapsed().as_secs_f64()
        ));
        if !status.success() {
            failed.push(format!(
                "{shown}: its examples do not compile, or fail, with the dependencies of its snippet (line {}), as a new user writes them; cargo's errors are above (the scratch crate: {}):\n{}",
                snippet.line,
                scratch.join(name).display(),
                indent(&snippet.text)
            ));
        }
    }
    if !failed.is_empty() {
        return Err(failed.join("\n"));
    }
    eprintln!(
        "xtask: every README's examples compile with the dependencies its snippet shows ({} crates, {:.0} s: {})",
        members.len(),
        started.elapsed().as_secs_f64(),
        times.join(", ")
    );
    Ok(())
}

/// `path` relative to the repository, as messages show it.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The scratch crate of `krate`'s README.
fn scratch_name(krate: &str) -> String {
    format!("readme-{krate}")
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes `text` to `path` unless it holds it already (so cargo sees nothing new).
fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Removes the scratch crates of READMEs no longer checked (a crate renamed or unpublished).
fn remove_stale_members(scratch: &Path, names: &[&str]) {
    let Ok(entries) = std::fs::read_dir(scratch) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let stale = path.is_dir()
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("readme-") && !names.contains(&n));
        if stale {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The one `toml` block of `readme` that holds `[dependencies]` or `[dev-dependencies]`.
pub(crate) fn snippet(readme: &str) -> Result<Snippet, String> {
    let mut found = Vec::new();
    let mut block: Option<(bool, usize, Vec<&str>)> = None;
    for (i, line) in readme.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut block, fence) {
            (None, Some(info)) => {
                let lang = info.split([',', ' ']).next().unwrap_or_default().trim();
                block = Some((lang == "toml", i + 2, Vec::new()));
            }
            (Some(_), Some(_)) => {
                if let Some((true, line, lines)) = block.take()
                    && lines
                        .iter()
                        .any(|l| matches!(l.trim(), "[dependencies]" | "[dev-dependencies]"))
                {
                    found.push(Snippet {
                        line,
                        text: lines.join("\n"),
                    });
                }
            }
            (Some((_, _, lines)), None) => lines.push(line),
            (None, None) => {}
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(
            "no `toml` block with the [dependencies] a new user writes for its examples".to_owned(),
        ),
        _ => Err(format!(
            "{} `toml` blocks with [dependencies] (lines {}): keep one, the one its examples compile with",
            found.len(),
            found
                .iter()
                .map(|s| s.line.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `readme` with each crate of `ours` in its `toml` blocks depending on `requirement` (such as
/// `0.2`): what a release that breaks compatibility writes, so that the snippets name the
/// version it publishes.
pub(crate) fn with_requirement(readme: &str, ours: &[String], requirement: &str) -> String {
    let mut in_toml = false;
    let mut out: Vec<String> = Vec::new();
    for line in readme.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            in_toml =
                !in_toml && info.split([',', ' ']).next().unwrap_or_default().trim() == "toml";
            out.push(line.to_owned());
            continue;
        }
        let ours_here = in_toml
            && line
                .split_once('=')
                .is_some_and(|(name, _)| ours.iter().any(|o| o == name.trim()));
        out.push(if ours_here {
            set_version(line, requirement)
        } else {
            line.to_owned()
        });
    }
    let mut text = out.join("\n");
    if readme.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The quoted text at the start of `text` (spaces before it skipped), and what follows it.
fn quoted(text: &str) -> Option<(&str, &str)> {
    text.trim_start().strip_prefix('"')?.split_once('"')
}

/// The dependency `line` (`name = "0.1"`, or an inline table with `version = "0.1"`) with its
/// version requirement `requirement`.
fn set_version(line: &str, requirement: &str) -> String {
    let Some((name, spec)) = line.split_once('=') else {
        return line.to_owned();
    };
    if let Some((_, after)) = quoted(spec) {
        return format!("{name}= \"{requirement}\"{after}");
    }
    let Some(at) = spec.find("version") else {
        return line.to_owned();
    };
    let (before, rest) = spec.split_at(at + "version".len());
    match rest.trim_start().strip_prefix('=').and_then(quoted) {
        Some((_, after)) => format!("{name}={before} = \"{requirement}\"{after}"),
        None => line.to_owned(),
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The manifest of the scratch crate of `krate`'s README: `snippet`'s dependencies, each crate
/// of the workspace (`ours`, by name) found by path at the version the snippet writes.
///
/// The snippet holds `[dependencies]` and `[dev-dependencies]` tables only, one dependency a
/// line (`name = "version"` or `name = { version = "...", ... }`), names `krate` itself, and
/// gives every crate of the workspace a version and no path.
pub(crate) fn scratch_manifest(
    krate: &str,
    edition: &str,
    snippet: &Snippet,
    ours: &BTreeMap<String, PathBuf>,
) -> Result<String, String> {
    let mut out = format!(
        "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = {}\npublish = false\n",
        scratch_name(krate),
        toml_string(edition)
    );
    let mut in_table = false;
    let mut names_itself = false;
    for (i, line) in snippet.text.lines().enumerate() {
        let at = format!("line {}", snippet.line + i);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if trimmed.starts_with('[') {
            if !matches!(trimmed, "[dependencies]" | "[dev-dependencies]") {
                return Err(format!(
                    "{at}: `{trimmed}`: the snippet holds [dependencies] and [dev-dependencies] only, one dependency a line"
                ));
            }
            in_table = true;
            out.push('\n');
            out.push_str(trimmed);
            out.push('\n');
            continue;
        }
        let Some((name, spec)) = trimmed.split_once('=').filter(|_| in_table) else {
            return Err(format!(
                "{at}: `{trimmed}` is not a dependency of a [dependencies] table"
            ));
        };
        let (name, spec) = (name.trim(), spec.trim());
        let inline = spec.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        let plain = spec.len() >= 2 && spec.starts_with('"') && spec.ends_with('"');
        if inline.is_none() && !plain {
            return Err(format!(
                "{at}: write `{name} = \"<version>\"` or `{name} = {{ version = \"<version>\", ... }}`, on one line"
            ));
        }
        let keys: Vec<&str> = inline
            .map(|body| {
                body.split(',')
                    .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.trim()))
                    .collect()
            })
            .unwrap_or_default();
        if keys.contains(&"package") {
            return Err(format!(
                "{at}: `{name}` is renamed (`package = ...`), which this check does not follow: name it by its own name"
            ));
        }
        let Some(dir) = ours.get(name) else {
            out.push_str(&format!("{name} = {spec}\n"));
            continue;
        };
        names_itself |= name == krate;
        if keys.iter().any(|k| matches!(*k, "path" | "git")) {
            return Err(format!(
                "{at}: `{name}` from a path or git: write the version a user depends on"
            ));
        }
        let path = format!("path = {}", toml_string(&dir.display().to_string()));
        match inline {
            Some(body) if keys.contains(&"version") => {
                out.push_str(&format!("{name} = {{ {path}, {} }}\n", body.trim()));
            }
            Some(_) => {
                return Err(format!(
                    "{at}: `{name}` has no version: write the one a user depends on (`version = \"0.1\"`)"
                ));
            }
            None => out.push_str(&format!("{name} = {{ version = {spec}, {path} }}\n")),
        }
    }
    if !names_itself {
        return Err(format!(
            "line {}: the snippet does not add {krate} itself",
            snippet.line
        ));
    }
    Ok(out)
}

/// The manifest of the scratch workspace: its `members`, and the profiles of the workspace's
/// own manifest (`workspace`, its text), so that the dependencies built with the same features
/// are the same units, not built again.
pub(crate) fn scratch_workspace(members: &[&str], workspace: &str) -> String {
    let listed: Vec<String> = members.iter().map(|m| toml_string(m)).collect();
    let mut out = format!(
        "# Written by `cargo xtask readmes`: the READMEs' snippets as crates.\n[workspace]\nresolver = \"3\"\nmembers = [{}]\n",
        listed.join(", ")
    );
    let mut in_profile = false;
    for line in workspace.lines() {
        if line.trim_start().starts_with('[') {
            in_profile = line.trim_start().starts_with("[profile");
            if in_profile {
                out.push('\n');
            }
        }
        if in_profile {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> BTreeMap<String, PathBuf> {
        ["thingspace", "thingspace-core", "thingspace-mock"]
            .into_iter()
            .map(|n| (n.to_owned(), PathBuf::from(format!("/repo/crates/{n}"))))
            .collect()
    }

    fn snippet_of(text: &str) -> Snippet {
        Snippet {
            line: 10,
            text: text.to_owned(),
        }
    }

    #[test]
    fn finds_the_one_toml_block_with_dependencies() {
        let readme = "# x\n\n```toml\n[oc]\nbase_url = \"u\"\n```\n\n```toml\n[dependencies]\nthingspace = \"0.1\"\n```\n\n```rust\nlet x = 1;\n```\n";
        assert_eq!(
            snippet(readme),
            Ok(Snippet {
                line: 9,
                text: "[dependencies]\nthingspace = \"0.1\"".to_owned()
            })
        );
        let dev = "```toml\n[dev-dependencies]\nthingspace-mock = \"0.1\"\n```\n";
        assert_eq!(snippet(dev).map(|s| s.line), Ok(2));
    }

    #[test]
    fn a_readme_with_no_snippet_or_two_is_refused() {
        let none = snippet("```toml\n[oc]\n```\n```rust\n// [dependencies]\n```\n");
        assert!(none.is_err_and(|e| e.contains("no `toml` block")));
        let two =
            "```toml\n[dependencies]\na = \"1\"\n```\n```toml\n[dependencies]\nb = \"1\"\n```\n";
        assert!(
            snippet(two).is_err_and(|e| e.contains("(lines 2, 6)")),
            "{:?}",
            snippet(two)
        );
    }

    #[test]
    fn the_workspace_crates_are_found_by_path_at_the_version_written() {
        let text = "[dependencies]\nthingspace = { version = \"0.1\", default-features = false, features = [\"m2m\"] }\ntokio = { version = \"1\", features = [\"macros\"] }\n\n[dev-dependencies]\n# the mock\nthingspace-mock = \"0.1\"";
        let manifest =
            scratch_manifest("thingspace", "2024", &snippet_of(text), &ours()).expect("a manifest");
        assert!(
            manifest.starts_with(
                "[package]\nname = \"readme-thingspace\"\nversion = \"0.0.0\"\nedition = \"2024\"\n"
            ),
            "{manifest}"
        );
        assert!(
            manifest.contains("\n[dependencies]\nthingspace = { path = \"/repo/crates/thingspace\", version = \"0.1\", default-features = false, features = [\"m2m\"] }\ntokio = { version = \"1\", features = [\"macros\"] }\n"),
            "{manifest}"
        );
        assert!(
            manifest.contains("\n[dev-dependencies]\n# the mock\nthingspace-mock = { version = \"0.1\", path = \"/repo/crates/thingspace-mock\" }\n"),
            "{manifest}"
        );
    }

    #[test]
    fn a_snippet_a_user_could_not_write_is_refused_with_its_line() {
        let refused = |krate: &str, text: &str| {
            scratch_manifest(krate, "2024", &snippet_of(text), &ours()).expect_err("refused")
        };
        let e = refused("thingspace-core", "[dependencies]\nthingspace = \"0.1\"");
        assert!(e.contains("does not add thingspace-core itself"), "{e}");
        let e = refused(
            "thingspace",
            "[dependencies]\nthingspace = { features = [\"m2m\"] }",
        );
        assert!(e.starts_with("line 11:") && e.contains("no version"), "{e}");
        let e = refused(
            "thingspace",
            "[dependencies]\nthingspace = { version = \"0.1\", path = \"../x\" }",
        );
        assert!(e.contains("from a path or git"), "{e}");
        let e = refused("thingspace", "[package]\nname = \"x\"");
        assert!(
            e.contains("[dependencies] and [dev-dependencies] only"),
            "{e}"
        );
        let e = refused("thingspace", "thingspace = \"0.1\"");
        assert!(
            e.contains("not a dependency of a [dependencies] table"),
            "{e}"
        );
        let e = refused("thingspace", "[dependencies]\nthingspace = 1");
        assert!(e.contains("on one line"), "{e}");
        let e = refused(
            "thingspace",
            "[dependencies]\nts = { version = \"0.1\", package = \"thingspace\" }",
        );
        assert!(e.contains("renamed"), "{e}");
    }

    #[test]
    fn a_breaking_release_sets_the_version_of_our_crates_in_the_toml_blocks() {
        let ours = ["thingspace".to_owned(), "thingspace-mock".to_owned()];
        let readme = "thingspace = \"0.1\" in prose\n```toml\n[dependencies]\nthingspace = { version = \"0.1\", default-features = false }\ntokio = { version = \"1\" }\n\n[dev-dependencies]\nthingspace-mock = \"0.1\"\n```\n```rust\nlet thingspace = \"0.1\";\n```\n";
        assert_eq!(
            with_requirement(readme, &ours, "0.2"),
            "thingspace = \"0.1\" in prose\n```toml\n[dependencies]\nthingspace = { version = \"0.2\", default-features = false }\ntokio = { version = \"1\" }\n\n[dev-dependencies]\nthingspace-mock = \"0.2\"\n```\n```rust\nlet thingspace = \"0.1\";\n```\n"
        );
    }

    #[test]
    fn the_scratch_workspace_takes_the_workspace_profiles() {
        let workspace = "[workspace]\nmembers = [\"crates/*\"]\n\n[profile.dev.package.\"*\"]\ndebug = false\n\n[workspace.lints.rust]\nx = \"warn\"\n[profile.release]\nlto = true\n";
        let manifest = scratch_workspace(&["readme-a", "readme-b"], workspace);
        assert!(
            manifest.contains("members = [\"readme-a\", \"readme-b\"]"),
            "{manifest}"
        );
        assert!(
            manifest.contains("\n[profile.dev.package.\"*\"]\ndebug = false\n")
                && manifest.contains("\n[profile.release]\nlto = true\n"),
            "{manifest}"
        );
        assert!(!manifest.contains("lints"), "{manifest}");
    }

    #[test]
    fn every_published_library_readme_here_has_a_snippet_a_user_can_write() {
        let meta = crate::workspace_metadata().expect("cargo metadata");
        let packages = meta["packages"].as_array().cloned().unwrap_or_default();
        let ours: BTreeMap<String, PathBuf> = packages
            .iter()
            .filter_map(|p| {
                let dir = Path::new(p["manifest_path"].as_str()?).parent()?;
                Some((p["name"].as_str()?.to_owned(), dir.to_path_buf()))
            })
            .collect();
        let mut checked = 0;
        for p in &packages {
            let name = p["name"].as_str().unwrap_or_default();
            let published = p["publish"].as_array().is_none_or(|a| !a.is_empty());
            let library = p["targets"].as_array().is_some_and(|ts| {
                ts.iter().any(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "lib"))
                })
            });
            if !published || !library {
                continue;
            }
            let readme = ours[name].join("README.md");
            let text = std::fs::read_to_string(&readme).expect("README");
            let snippet = snippet(&text).unwrap_or_else(|e| panic!("{}: {e}", readme.display()));
            scratch_manifest(name, "2024", &snippet, &ours)
                .unwrap_or_else(|e| panic!("{}: {e}", readme.display()));
            checked += 1;
        }
        assert!(checked >= 8, "{checked} READMEs checked");
    }
}
