//! `cargo xtask fixtures --check` on a temporary copy of the committed fixtures: it passes on
//! them as they are, and fails, naming the file, when one byte of one changes or one is missing.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

const FIXTURES: &str = "crates/thingspace-mock/fixtures";

fn xtask(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("XTASK_ROOT", root)
        .output()
        .expect("xtask")
}

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "xtask-fixtures-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_fixtures_check_fails_when_a_fixture_changes() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let temp = TempDir::new();
    let (from, to) = (repo.join(FIXTURES), temp.0.join(FIXTURES));
    let names = files(&from);
    assert!(!names.is_empty(), "no fixtures in {}", from.display());
    for name in &names {
        let target = to.join(name);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("dir");
        std::fs::copy(from.join(name), &target).expect("copy");
    }
    let out = xtask(&temp.0, &["fixtures", "--check"]);
    assert!(
        out.status.success(),
        "the committed fixtures: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One byte of one fixture changed: a digit or letter becomes another.
    let name = &names[names.len() / 2];
    let path = to.join(name);
    let original = std::fs::read(&path).expect("read");
    let mut changed = original.clone();
    let at = changed
        .iter()
        .position(|b| b.is_ascii_alphanumeric())
        .expect("a fixture holds a letter or digit");
    changed[at] = if changed[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&path, &changed).expect("write");
    let out = xtask(&temp.0, &["fixtures", "--check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let shown = name.to_string_lossy().replace('\\', "/");
    assert!(!out.status.success(), "a changed byte passed the check");
    assert!(err.contains(&shown), "names {shown}: {err}");

    // One fixture missing.
    std::fs::remove_file(&path).expect("remove");
    let out = xtask(&temp.0, &["fixtures", "--check"]);
    assert!(!out.status.success(), "a missing fixture passed the check");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&shown),
        "names {shown}"
    );
}
