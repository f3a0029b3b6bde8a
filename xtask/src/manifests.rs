//! `cargo xtask manifests`: what the crates' manifests promise holds.
//!
//! - **Licences**: every licence a published crate declares (`license = "MIT OR Apache-2.0"`)
//!   has its text at the root of the repository (`LICENSE-MIT`, `LICENSE-APACHE`), the text is
//!   that licence's, and the crate's package carries it: `cargo package --list` names the file
//!   (each crate links it, `crates/<crate>/LICENSE-MIT -> ../../LICENSE-MIT`, and cargo packs
//!   what a link points to) and the crate's file is the root's text.
//! - **MSRV**: the workspace declares `rust-version`, every crate inherits it
//!   (`rust-version.workspace = true`) and the workspace's lints (`[lints] workspace = true`),
//!   and nothing turns off clippy's `incompatible_msrv`, which reads that version: so
//!   `cargo clippy -D warnings` fails on a standard-library API newer than the declared MSRV.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::root;

/// The file at the root holding each licence's text, and words only that text contains.
const LICENCE_TEXTS: &[(&str, &str, &[&str])] = &[
    (
        "MIT",
        "LICENSE-MIT",
        &["Permission is hereby granted, free of charge", "MIT"],
    ),
    (
        "Apache-2.0",
        "LICENSE-APACHE",
        &["Apache License", "Version 2.0, January 2004"],
    ),
];

/// A crate of the workspace, as `cargo metadata` describes it.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) name: String,
    /// Whether it is published (`publish = false` makes it not).
    pub(crate) published: bool,
    /// Its `license` expression, if any.
    pub(crate) license: Option<String>,
    /// The text of its `Cargo.toml`.
    pub(crate) manifest: String,
    /// The directory of its `Cargo.toml`.
    pub(crate) dir: PathBuf,
}

/// Runs both checks on this repository.
pub(crate) fn check() -> Result<(), String> {
    let members = members()?;
    let workspace = std::fs::read_to_string(root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    let mut problems = licence_problems(&root(), &members);
    problems.extend(packaged_licence_problems(&root(), &members, package_list));
    problems.extend(msrv_problems(&root(), &workspace, &members));
    problems.extend(lint_allowed_in_sources(&root()));
    if !problems.is_empty() {
        return Err(format!(
            "the manifests promise what the repository does not hold:\n  {}",
            problems.join("\n  ")
        ));
    }
    eprintln!(
        "xtask: every published crate's licence has its text at the root and in its package; every crate inherits rust-version and the lints that check it"
    );
    Ok(())
}

/// The workspace's crates, from `cargo metadata`.
fn members() -> Result<Vec<Member>, String> {
    let meta: Value = crate::workspace_metadata()?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let path = p["manifest_path"].as_str().unwrap_or_default();
            let manifest =
                std::fs::read_to_string(path).map_err(|e| format!("{name}: {path}: {e}"))?;
            Ok(Member {
                published: p["publish"].as_array().is_none_or(|a| !a.is_empty()),
                license: p["license"].as_str().map(str::to_owned),
                name,
                manifest,
                dir: Path::new(path)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The licence identifiers of an SPDX expression (`MIT OR Apache-2.0`, `(MIT AND BSD-3-Clause)`,
/// `Apache-2.0 WITH LLVM-exception`: the exception is not a licence of its own).
pub(crate) fn licence_ids(expression: &str) -> Vec<String> {
    let spaced = expression.replace(['(', ')'], " ");
    let mut ids = Vec::new();
    let mut words = spaced.split_whitespace();
    while let Some(word) = words.next() {
        match word {
            "OR" | "AND" | "or" | "and" | "/" => {}
            "WITH" | "with" => {
                words.next();
            }
            id => {
                // The old `MIT/Apache-2.0` spelling.
                for part in id.split('/').filter(|p| !p.is_empty()) {
                    let id = part.trim_end_matches('+').to_owned();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
    }
    ids
}

/// What is wrong with the licence texts at `root` for the published crates among `members`.
pub(crate) fn licence_problems(root: &Path, members: &[Member]) -> Vec<String> {
    let mut problems = Vec::new();
    for member in members.iter().filter(|m| m.published) {
        let Some(expression) = &member.license else {
            // `license-file` crates point at their own text; a crate with neither is refused by
            // `cargo xtask release`'s metadata check.
            continue;
        };
        for id in licence_ids(expression) {
            let Some((_, file, words)) = LICENCE_TEXTS.iter().find(|(known, ..)| *known == id)
            else {
                problems.push(format!(
                    "{}: declares `{id}`, whose text this check does not know: add it at the root and to LICENCE_TEXTS in xtask/src/manifests.rs",
                    member.name
                ));
                continue;
            };
            match std::fs::read_to_string(root.join(file)) {
                Ok(text) => {
                    for word in *words {
                        if !text.contains(word) {
                            problems.push(format!(
                                "{}: declares `{id}`, but {file} at the root is not its text (no `{word}`)",
                                member.name
                            ));
                        }
                    }
                }
                Err(_) => problems.push(format!(
                    "{}: declares `{id}`, but the root has no {file} with its text",
                    member.name
                )),
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// The files `cargo package --list` puts in `member`'s package (it reads the crate's directory
/// and manifest, and builds nothing).
fn package_list(member: &Member) -> Result<Vec<String>, String> {
    crate::cargo_output(&["package", "--list", "--allow-dirty", "-p", &member.name])
        .map(|out| out.lines().map(str::to_owned).collect())
}

/// What is missing from the packages of the published crates among `members`: the text of
/// every licence a crate declares, named in the list `listed` gives for it (what
/// `cargo package --list` prints) and the same text as at `root`.
pub(crate) fn packaged_licence_problems(
    root: &Path,
    members: &[Member],
    listed: impl Fn(&Member) -> Result<Vec<String>, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for member in members.iter().filter(|m| m.published) {
        let Some(expression) = &member.license else {
            continue;
        };
        let files = match listed(member) {
            Ok(files) => files,
            Err(e) => {
                problems.push(format!("{}: could not list its package: {e}", member.name));
                continue;
            }
        };
        let mut own = Vec::new();
        for id in licence_ids(expression) {
            // A licence the check does not know is reported by `licence_problems`.
            let Some((_, file, _)) = LICENCE_TEXTS.iter().find(|(known, ..)| *known == id) else {
                continue;
            };
            let path = member.dir.join(file);
            let shown = path.strip_prefix(root).unwrap_or(&path);
            if !files.iter().any(|f| f == file) {
                own.push(format!(
                    "{}: declares `{id}`, but its package (`cargo package --list -p {}`) has no {file}: link the root's text into the crate (`ln -s ../../{file} {}`) and commit the link",
                    member.name,
                    member.name,
                    shown.display()
                ));
                continue;
            }
            let packed = std::fs::read(&path).ok();
            if packed.is_none() || packed != std::fs::read(root.join(file)).ok() {
                own.push(format!(
                    "{}: {} is not the root's {file} (a stale copy, or a link checked out as a text file): make it a link to ../../{file}",
                    member.name,
                    shown.display()
                ));
            }
        }
        problems.extend(own);
    }
    problems
}

/// The lines of `section` (`[package]`, `[lints]`, ...) in a manifest, without comments.
fn section<'a>(manifest: &'a str, name: &str) -> Vec<&'a str> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            inside = line == name;
            continue;
        }
        if inside && !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// `key = value` of a line, with the spaces around `=` ignored.
fn key_value(line: &str) -> Option<(&str, String)> {
    let (key, value) = line.split_once('=')?;
    Some((key.trim(), value.split_whitespace().collect()))
}

/// What is wrong with the MSRV's checking: `workspace` is the root manifest's text.
pub(crate) fn msrv_problems(root: &Path, workspace: &str, members: &[Member]) -> Vec<String> {
    let mut problems = Vec::new();
    let declared = section(workspace, "[workspace.package]")
        .into_iter()
        .filter_map(key_value)
        .find(|(k, _)| *k == "rust-version");
    if declared.is_none() {
        problems.push("Cargo.toml: [workspace.package] declares no rust-version".to_owned());
    }
    let turned_off = |lines: Vec<&str>| {
        lines
            .into_iter()
            .filter_map(key_value)
            .any(|(k, v)| k == "incompatible_msrv" && !v.contains("warn") && !v.contains("deny"))
    };
    if turned_off(section(workspace, "[workspace.lints.clippy]")) {
        problems.push(
            "Cargo.toml: [workspace.lints.clippy] turns incompatible_msrv off, and with it the MSRV check"
                .to_owned(),
        );
    }
    for member in members {
        let package = section(&member.manifest, "[package]");
        let inherits = package.iter().filter_map(|l| key_value(l)).any(|(k, v)| {
            (k == "rust-version.workspace" && v == "true")
                || (k == "rust-version" && v == "{workspace=true}")
        });
        if !inherits {
            problems.push(format!(
                "{}: its [package] must say `rust-version.workspace = true`, so clippy checks it against the workspace's MSRV",
                member.name
            ));
        }
        let lints = section(&member.manifest, "[lints]");
        let lints_inherited = lints
            .iter()
            .filter_map(|l| key_value(l))
            .any(|(k, v)| k == "workspace" && v == "true");
        if !lints_inherited {
            problems.push(format!(
                "{}: its manifest must say `[lints] workspace = true`",
                member.name
            ));
        }
        if turned_off(section(&member.manifest, "[lints.clippy]")) {
            problems.push(format!(
                "{}: [lints.clippy] turns incompatible_msrv off",
                member.name
            ));
        }
    }
    // clippy.toml's `msrv` overrides `rust-version`; one that differs checks another version.
    for file in ["clippy.toml", ".clippy.toml"] {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        if let Some((_, msrv)) = text
            .lines()
            .filter_map(key_value)
            .find(|(k, _)| *k == "msrv")
            && declared.as_ref().is_none_or(|(_, v)| *v != msrv)
        {
            problems.push(format!(
                "{file}: msrv = {msrv} differs from the workspace's rust-version"
            ));
        }
    }
    problems
}

/// Source files that silence `incompatible_msrv` with an attribute.
fn lint_allowed_in_sources(root: &Path) -> Vec<String> {
    // Spelled in two pieces so that this file does not match itself.
    let patterns = [
        concat!("allow(clippy::", "incompatible_msrv"),
        concat!("expect(clippy::", "incompatible_msrv"),
    ];
    let mut problems = Vec::new();
    let mut dirs = vec![root.join("crates"), root.join("tests"), root.join("xtask")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|x| x == "rs")
                && std::fs::read_to_string(&path)
                    .is_ok_and(|text| patterns.iter().any(|p| text.contains(p)))
            {
                problems.push(format!(
                    "{}: silences incompatible_msrv; use an API of the declared rust-version instead",
                    path.display()
                ));
            }
        }
    }
    problems.sort();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, license: Option<&str>, manifest: &str) -> Member {
        Member {
            name: name.to_owned(),
            published: true,
            license: license.map(str::to_owned),
            manifest: manifest.to_owned(),
            dir: std::path::PathBuf::from(name),
        }
    }

    /// A directory removed when dropped.
    struct Dir(std::path::PathBuf);
    impl Dir {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "xtask-manifests-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::create_dir_all(&dir).expect("temp dir");
            Dir(dir)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const GOOD: &str =
        "[package]\nname = \"a\"\nrust-version.workspace = true\n\n[lints]\nworkspace = true\n";

    #[test]
    fn reads_the_licences_of_an_spdx_expression() {
        assert_eq!(licence_ids("MIT OR Apache-2.0"), ["MIT", "Apache-2.0"]);
        assert_eq!(licence_ids("MIT/Apache-2.0"), ["MIT", "Apache-2.0"]);
        assert_eq!(
            licence_ids("(MIT AND BSD-3-Clause) OR Apache-2.0 WITH LLVM-exception"),
            ["MIT", "BSD-3-Clause", "Apache-2.0"]
        );
    }

    #[test]
    fn a_declared_licence_without_its_text_at_the_root_is_a_problem() {
        let dir = Dir::new("licences");
        let crates = [member("a", Some("MIT OR Apache-2.0"), GOOD)];
        let problems = licence_problems(&dir.0, &crates);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("LICENSE-MIT")));
        assert!(problems.iter().any(|p| p.contains("LICENSE-APACHE")));

        std::fs::write(dir.0.join("LICENSE-MIT"), "nothing").expect("write");
        let problems = licence_problems(&dir.0, &crates);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("LICENSE-MIT") && p.contains("not its text")),
            "{problems:?}"
        );
        // An unpublished crate is not checked; a licence the check does not know is named.
        let unpublished = Member {
            published: false,
            ..member("b", Some("GPL-3.0"), GOOD)
        };
        assert!(licence_problems(&dir.0, &[unpublished]).is_empty());
        let unknown = licence_problems(&dir.0, &[member("c", Some("GPL-3.0"), GOOD)]);
        assert!(unknown[0].contains("GPL-3.0"), "{unknown:?}");
    }

    #[test]
    fn this_repository_has_the_texts_its_manifests_declare() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let crates = [member("thingspace", Some("MIT OR Apache-2.0"), GOOD)];
        assert_eq!(licence_problems(&root, &crates), Vec::<String>::new());
    }

    #[test]
    fn a_package_without_the_texts_it_declares_is_a_problem() {
        let dir = Dir::new("packaged");
        std::fs::write(dir.0.join("LICENSE-MIT"), "MIT License\nPermission").expect("write");
        std::fs::write(dir.0.join("LICENSE-APACHE"), "Apache License").expect("write");
        let krate = |name: &str| {
            let crate_dir = dir.0.join(name);
            std::fs::create_dir_all(&crate_dir).expect("crate dir");
            Member {
                dir: crate_dir,
                ..member(name, Some("MIT OR Apache-2.0"), GOOD)
            }
        };
        let (linked, bare, stale) = (krate("linked"), krate("bare"), krate("stale"));
        for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
            std::os::unix::fs::symlink(dir.0.join(file), linked.dir.join(file)).expect("link");
            std::fs::write(stale.dir.join(file), format!("../../{file}")).expect("write");
        }
        let both = |_: &Member| {
            Ok(vec![
                "Cargo.toml".to_owned(),
                "LICENSE-MIT".to_owned(),
                "LICENSE-APACHE".to_owned(),
            ])
        };
        assert_eq!(
            packaged_licence_problems(&dir.0, std::slice::from_ref(&linked), both),
            Vec::<String>::new()
        );

        // Not in the package: each missing text named, with the link that adds it.
        let only_toml = |_: &Member| Ok(vec!["Cargo.toml".to_owned()]);
        let problems = packaged_licence_problems(&dir.0, &[bare], only_toml);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("bare: declares `MIT`")
                && problems[0].contains("ln -s ../../LICENSE-MIT"),
            "{problems:?}"
        );
        // Packed, but not the root's text (a link checked out as a file).
        let problems = packaged_licence_problems(&dir.0, &[stale], both);
        assert!(
            problems.len() == 2 && problems.iter().all(|p| p.contains("not the root's")),
            "{problems:?}"
        );
        // A listing that fails is a problem; an unpublished crate is not looked at.
        let fails = |_: &Member| Err("no cargo".to_owned());
        assert_eq!(
            packaged_licence_problems(&dir.0, std::slice::from_ref(&linked), fails).len(),
            1
        );
        let unpublished = Member {
            published: false,
            ..krate("private")
        };
        assert!(packaged_licence_problems(&dir.0, &[unpublished], only_toml).is_empty());
    }

    #[test]
    fn every_crate_must_inherit_rust_version_and_the_lints() {
        let dir = Dir::new("msrv");
        let workspace = "[workspace.package]\nrust-version = \"1.88\"\n\n[workspace.lints.clippy]\ntodo = \"warn\"\n";
        assert!(msrv_problems(&dir.0, workspace, &[member("a", None, GOOD)]).is_empty());
        let spelled = "[package]\nrust-version = { workspace = true }\n[lints]\nworkspace=true\n";
        assert!(msrv_problems(&dir.0, workspace, &[member("a", None, spelled)]).is_empty());

        let own = "[package]\nrust-version = \"1.70\"\n\n[lints]\nworkspace = true\n";
        let problems = msrv_problems(&dir.0, workspace, &[member("b", None, own)]);
        assert!(
            problems.len() == 1 && problems[0].contains("rust-version.workspace"),
            "{problems:?}"
        );
        let commented = "[package]\n# rust-version.workspace = true\n[lints]\nworkspace = true\n";
        assert_eq!(
            msrv_problems(&dir.0, workspace, &[member("c", None, commented)]).len(),
            1
        );
        let no_lints = "[package]\nrust-version.workspace = true\n";
        assert_eq!(
            msrv_problems(&dir.0, workspace, &[member("d", None, no_lints)]).len(),
            1
        );
        let allowed = format!("{GOOD}\n[lints.clippy]\nincompatible_msrv = \"allow\"\n");
        assert_eq!(
            msrv_problems(&dir.0, workspace, &[member("e", None, &allowed)]).len(),
            1
        );
    }

    #[test]
    fn the_workspace_must_declare_the_msrv_and_keep_the_lint() {
        let dir = Dir::new("workspace");
        let problems = msrv_problems(&dir.0, "[workspace.package]\nedition = \"2024\"\n", &[]);
        assert!(
            problems[0].contains("declares no rust-version"),
            "{problems:?}"
        );
        let off = "[workspace.package]\nrust-version = \"1.88\"\n[workspace.lints.clippy]\nincompatible_msrv = { level = \"allow\" }\n";
        assert_eq!(msrv_problems(&dir.0, off, &[]).len(), 1);
        std::fs::write(dir.0.join("clippy.toml"), "msrv = \"1.70\"\n").expect("write");
        let workspace = "[workspace.package]\nrust-version = \"1.88\"\n";
        let problems = msrv_problems(&dir.0, workspace, &[]);
        assert!(problems[0].contains("clippy.toml"), "{problems:?}");
        std::fs::write(dir.0.join("clippy.toml"), "msrv = \"1.88\"\n").expect("write");
        assert!(msrv_problems(&dir.0, workspace, &[]).is_empty());
    }
}
