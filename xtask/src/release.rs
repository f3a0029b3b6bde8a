//! `cargo xtask release <version> [--dry-run] [--no-package]`.

use std::{collections::BTreeMap, fs, process::Command};

use serde_json::Value;

use crate::root;

/// Metadata crates.io needs, checked on every publishable crate.
const REQUIRED: &[&str] = &[
    "description",
    "license",
    "repository",
    "readme",
    "keywords",
    "categories",
];

/// A version as three numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Version(u64, u64, u64);

impl Version {
    fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<u64> = text
            .split('.')
            .map(|p| {
                p.parse()
                    .map_err(|_| format!("`{text}` is not a version like 1.2.3"))
            })
            .collect::<Result<_, _>>()?;
        match parts.as_slice() {
            [a, b, c] => Ok(Version(*a, *b, *c)),
            _ => Err(format!("`{text}` is not a version like 1.2.3")),
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

fn run_in_root(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A publishable crate of the workspace.
#[derive(Debug)]
struct Crate {
    name: String,
    deps: Vec<String>,
}

/// The publishable crates, with the metadata problems found.
fn publishable() -> Result<(Vec<Crate>, Vec<String>), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let json = run_in_root(&cargo, &["metadata", "--format-version", "1", "--no-deps"])?;
    let meta: Value = serde_json::from_str(&json).map_err(|e| format!("cargo metadata: {e}"))?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = packages
        .iter()
        .filter(|p| p["publish"].as_array().is_none_or(|a| !a.is_empty()))
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    let mut crates = Vec::new();
    let mut problems = Vec::new();
    for p in &packages {
        let Some(name) = p["name"].as_str() else {
            continue;
        };
        if !names.iter().any(|n| n == name) {
            continue;
        }
        for field in REQUIRED {
            let v = &p[*field];
            let missing = v.is_null()
                || v.as_str().is_some_and(str::is_empty)
                || v.as_array().is_some_and(Vec::is_empty);
            if missing {
                problems.push(format!("{name}: missing `{field}`"));
            }
        }
        if let (Some(readme), Some(manifest)) = (p["readme"].as_str(), p["manifest_path"].as_str())
        {
            let dir = std::path::Path::new(manifest)
                .parent()
                .map(|d| d.join(readme));
            if dir.as_ref().is_none_or(|f| !f.is_file()) {
                problems.push(format!("{name}: readme `{readme}` does not exist"));
            }
        }
        let deps = p["dependencies"]
            .as_array()
            .map(|ds| {
                ds.iter()
                    .filter(|d| d["kind"].is_null())
                    .filter_map(|d| d["name"].as_str())
                    .filter(|d| names.iter().any(|n| n == d))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        crates.push(Crate {
            name: name.to_owned(),
            deps,
        });
    }
    Ok((crates, problems))
}

/// The crates in an order where each comes after the crates it depends on.
fn dependency_order(crates: &[Crate]) -> Result<Vec<String>, String> {
    let mut done: Vec<String> = Vec::new();
    let mut left: BTreeMap<&str, &Crate> = crates.iter().map(|c| (c.name.as_str(), c)).collect();
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .values()
            .filter(|c| c.deps.iter().all(|d| done.contains(d)))
            .map(|c| c.name.as_str())
            .collect();
        if ready.is_empty() {
            return Err("the crates depend on each other in a cycle".to_owned());
        }
        for name in ready {
            left.remove(name);
            done.push(name.to_owned());
        }
    }
    Ok(done)
}

fn current_version(manifest: &str) -> Result<Version, String> {
    let in_package = manifest
        .split("[workspace.package]")
        .nth(1)
        .ok_or("no [workspace.package] in Cargo.toml")?;
    let line = in_package
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .ok_or("no version in [workspace.package]")?;
    let value = line.split('"').nth(1).ok_or("unreadable version")?;
    Version::parse(value)
}

/// Bumps `[workspace.package] version` and the `version = "..."` of the workspace's own crates
/// in `[workspace.dependencies]`.
fn bump_manifest(manifest: &str, crates: &[String], old: Version, new: Version) -> String {
    let old_q = format!("version = \"{old}\"");
    let new_q = format!("version = \"{new}\"");
    let mut section = String::new();
    manifest
        .lines()
        .map(|line| {
            if line.starts_with('[') {
                section = line.trim().to_owned();
            }
            let ours = crates
                .iter()
                .any(|c| line.trim_start().starts_with(&format!("{c} =")));
            let bump = (section == "[workspace.package]"
                && line.trim_start().starts_with("version"))
                || (section == "[workspace.dependencies]" && ours);
            if bump {
                line.replace(&old_q, &new_q)
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Whether going from `old` to `new` may break users: a new major version, or before 1.0 a
/// new minor one (Cargo's reading of `0.x`).
fn is_breaking_bump(old: Version, new: Version) -> bool {
    if old.0 == 0 {
        new.0 > 0 || new.1 > old.1
    } else {
        new.0 > old.0
    }
}

/// The public API listing is current (`cargo xtask api --check`), and against the previous
/// release's tag (`v<old>`) it removes or changes nothing unless `new` is a breaking version.
fn check_api(old: Version, new: Version) -> Result<(), String> {
    crate::api::check_for_release()?;
    let tag = format!("v{old}");
    if !crate::api::tag_exists(&tag) {
        println!("no tag {tag}: the first release, its public API compared with nothing");
        return Ok(());
    }
    match crate::api::against_tag(&tag)? {
        crate::api::Change::Breaking(removed) if !is_breaking_bump(old, new) => Err(format!(
            "the public API removes or changes items since {tag}, so {new} must be a breaking version (a new {} version):\n  {}",
            if old.0 == 0 { "minor" } else { "major" },
            removed.join("\n  ")
        )),
        change => {
            println!("public API against {tag}: {change:?}");
            Ok(())
        }
    }
}

/// What a README's snippet writes to depend on `version` and the versions compatible with it:
/// `0.2` for 0.2.x, `1` for 1.x.y (Cargo's reading of a requirement).
fn requirement(version: Version) -> String {
    if version.0 == 0 {
        format!("0.{}", version.1)
    } else {
        version.0.to_string()
    }
}

/// After a breaking bump, the READMEs of the workspace's crates depend on `new` in their
/// `toml` snippets (`cargo xtask readmes` compiles them against the crates' own versions).
fn bump_readmes(crates: &[String], old: Version, new: Version) -> Result<(), String> {
    if !is_breaking_bump(old, new) {
        return Ok(());
    }
    for name in crates {
        let path = root().join("crates").join(name).join("README.md");
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let bumped = crate::readmes::with_requirement(&text, crates, &requirement(new));
        if bumped != text {
            fs::write(&path, bumped).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Moves the Unreleased section under the new version, dated today.
fn bump_changelog(changelog: &str, new: Version, date: &str) -> Result<String, String> {
    if !changelog.contains("## [Unreleased]") {
        return Err("CHANGELOG.md has no `## [Unreleased]` section".to_owned());
    }
    Ok(changelog.replacen(
        "## [Unreleased]",
        &format!("## [Unreleased]\n\n## [{new}] - {date}"),
        1,
    ))
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let version = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .ok_or("usage: cargo xtask release <version> [--dry-run] [--no-package]")?;
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let package = !args.iter().any(|a| a == "--no-package");
    let new = Version::parse(version)?;

    let status = run_in_root("git", &["status", "--porcelain"])?;
    if !status.trim().is_empty() {
        return Err(format!(
            "the working tree is not clean; commit or stash first:\n{status}"
        ));
    }
    let manifest_path = root().join("Cargo.toml");
    let manifest = fs::read_to_string(&manifest_path).map_err(|e| e.to_string())?;
    let old = current_version(&manifest)?;
    if new <= old {
        return Err(format!(
            "{new} is not greater than the current version {old}"
        ));
    }
    let (crates, problems) = publishable()?;
    if !problems.is_empty() {
        return Err(format!(
            "crates.io would refuse these crates:\n  {}",
            problems.join("\n  ")
        ));
    }
    let order = dependency_order(&crates)?;
    check_api(old, new)?;
    let date = run_in_root("date", &["-u", "+%Y-%m-%d"])?.trim().to_owned();
    println!(
        "release {old} -> {new} ({date}); crates in dependency order: {}",
        order.join(", ")
    );
    if dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }

    fs::write(&manifest_path, bump_manifest(&manifest, &order, old, new))
        .map_err(|e| e.to_string())?;
    bump_readmes(&order, old, new)?;
    let changelog_path = root().join("CHANGELOG.md");
    let changelog =
        fs::read_to_string(&changelog_path).map_err(|e| format!("CHANGELOG.md: {e}"))?;
    fs::write(&changelog_path, bump_changelog(&changelog, new, &date)?)
        .map_err(|e| e.to_string())?;
    if package {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut args = vec!["package", "--allow-dirty"];
        for name in &order {
            args.push("-p");
            args.push(name);
        }
        run_in_root(&cargo, &args)?;
    }
    run_in_root(
        "git",
        &["commit", "--quiet", "-am", &format!("release {new}")],
    )?;
    run_in_root(
        "git",
        &[
            "tag",
            "-a",
            &format!("v{new}"),
            "-m",
            &format!("release {new}"),
        ],
    )?;
    println!("released {new}: committed and tagged v{new}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breaking_bump_is_minor_before_one_and_major_after() {
        let v = |s: &str| Version::parse(s).expect("version");
        assert!(is_breaking_bump(v("0.1.0"), v("0.2.0")));
        assert!(!is_breaking_bump(v("0.1.0"), v("0.1.1")));
        assert!(is_breaking_bump(v("1.2.0"), v("2.0.0")));
        assert!(!is_breaking_bump(v("1.2.0"), v("1.3.0")));
    }

    #[test]
    fn a_snippet_requires_the_versions_compatible_with_the_release() {
        let v = |s: &str| Version::parse(s).expect("version");
        assert_eq!(requirement(v("0.2.0")), "0.2");
        assert_eq!(requirement(v("0.2.3")), "0.2");
        assert_eq!(requirement(v("1.4.0")), "1");
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(Version::parse("0.10.0").expect("v") > Version::parse("0.9.9").expect("v"));
        assert!(Version::parse("1.2").is_err() && Version::parse("1.x.0").is_err());
    }

    #[test]
    fn bumps_only_our_crates_and_the_package_version() {
        let manifest = "[workspace.package]\nversion = \"0.1.0\"\n\n[workspace.dependencies]\nthingspace-core = { path = \"a\", version = \"0.1.0\" }\nother = { version = \"0.1.0\" }\n";
        let out = bump_manifest(
            manifest,
            &["thingspace-core".into()],
            Version(0, 1, 0),
            Version(0, 2, 0),
        );
        assert!(out.contains("[workspace.package]\nversion = \"0.2.0\""));
        assert!(out.contains("thingspace-core = { path = \"a\", version = \"0.2.0\" }"));
        assert!(out.contains("other = { version = \"0.1.0\" }"));
    }

    #[test]
    fn orders_dependencies_first() {
        let crates = vec![
            Crate {
                name: "b".into(),
                deps: vec!["a".into()],
            },
            Crate {
                name: "c".into(),
                deps: vec!["a".into(), "b".into()],
            },
            Crate {
                name: "a".into(),
                deps: vec![],
            },
        ];
        assert_eq!(dependency_order(&crates).expect("order"), ["a", "b", "c"]);
        let cycle = vec![
            Crate {
                name: "x".into(),
                deps: vec!["y".into()],
            },
            Crate {
                name: "y".into(),
                deps: vec!["x".into()],
            },
        ];
        assert!(dependency_order(&cycle).is_err());
    }

    #[test]
    fn changelog_keeps_an_empty_unreleased_section() {
        let out = bump_changelog(
            "# C\n\n## [Unreleased]\n\n- thing\n",
            Version(0, 2, 0),
            "2026-11-24",
        )
        .expect("ok");
        assert!(out.contains("## [Unreleased]\n\n## [0.2.0] - 2026-11-24\n\n- thing"));
        assert!(bump_changelog("# C\n", Version(0, 2, 0), "d").is_err());
    }
}
