//! `cargo xtask release` on a temporary copy of the repository.

use std::{path::Path, process::Command};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn xtask(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("XTASK_ROOT", dir)
        // The API check's rustdoc builds share this repository's, not one per copy.
        .env(
            "XTASK_API_TARGET_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("root")
                .join("target")
                .join("api"),
        )
        .output()
        .expect("xtask")
}

/// A clone of this repository's committed state, with its own identity for commits.
fn copy() -> tempdir::Dir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let dir = tempdir::Dir::new();
    git(
        &repo,
        &[
            "clone",
            "--quiet",
            "--no-hardlinks",
            ".",
            dir.path().to_str().expect("utf8"),
        ],
    );
    git(
        dir.path(),
        &["config", "user.email", "release-test@example.invalid"],
    );
    git(dir.path(), &["config", "user.name", "release test"]);
    dir
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!(
                "xtask-release-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            ));
            Dir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn release_bumps_dates_commits_and_tags() {
    let dir = copy();
    let root = dir.path();
    if git(root, &["log", "--oneline", "-1"]).trim().is_empty() {
        return; // nothing committed yet: nothing to release
    }
    let before = std::fs::read_to_string(root.join("Cargo.toml")).expect("manifest");

    let out = xtask(root, &["release", "0.0.1", "--dry-run"]);
    assert!(
        !out.status.success(),
        "a version that is not greater is refused"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not greater"));

    let out = xtask(root, &["release", "9.8.7", "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("Cargo.toml")).expect("manifest"),
        before,
        "a dry run changes nothing"
    );
    assert!(git(root, &["tag"]).trim().is_empty());

    std::fs::write(root.join("scratch.txt"), "dirty").expect("write");
    let out = xtask(root, &["release", "9.8.7"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not clean"),
        "a dirty tree is refused"
    );
    std::fs::remove_file(root.join("scratch.txt")).expect("clean");

    let out = xtask(root, &["release", "9.8.7", "--no-package"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("manifest");
    assert!(manifest.contains("version = \"9.8.7\""));
    assert!(
        manifest
            .contains("thingspace-core = { path = \"crates/thingspace-core\", version = \"9.8.7\"")
    );
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).expect("changelog");
    assert!(changelog.contains("## [Unreleased]\n\n## [9.8.7] - "));
    // The READMEs' snippets depend on the new version, which `cargo xtask readmes` builds.
    let readme = std::fs::read_to_string(root.join("crates/thingspace/README.md")).expect("readme");
    assert!(readme.contains("\nthingspace = \"9\"\n"), "{readme}");
    assert!(git(root, &["tag"]).contains("v9.8.7"));
    assert!(
        git(root, &["status", "--porcelain"]).trim().is_empty(),
        "committed"
    );
}

#[test]
fn missing_metadata_is_refused() {
    let dir = copy();
    let root = dir.path();
    let manifest = root.join("crates/thingspace-subsc/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("description"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&manifest, without + "\n").expect("write");
    git(root, &["commit", "--quiet", "-am", "drop a description"]);
    let out = xtask(root, &["release", "9.8.7", "--dry-run"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("thingspace-subsc: missing `description`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_release_that_removes_an_item_since_the_last_tag_must_be_breaking() {
    let dir = copy();
    let root = dir.path();
    // The previous release listed an item this code no longer has.
    let listing = root.join("api/thingspace-core.txt");
    let now = std::fs::read_to_string(&listing).expect("listing");
    std::fs::write(&listing, format!("{now}fn thingspace_core::gone()\n")).expect("write");
    git(
        root,
        &["commit", "--quiet", "-am", "a release with one more item"],
    );
    git(root, &["tag", "v0.1.0"]);
    std::fs::write(&listing, now).expect("write");
    git(root, &["commit", "--quiet", "-am", "the item removed"]);

    let out = xtask(root, &["release", "0.1.1", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a patch release may not remove an item"
    );
    assert!(
        stderr.contains("fn thingspace_core::gone()") && stderr.contains("breaking"),
        "{stderr}"
    );
    let out = xtask(root, &["release", "0.2.0", "--dry-run"]);
    assert!(
        out.status.success(),
        "a new minor version may, before 1.0: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
