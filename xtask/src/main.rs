//! Project automation, run as `cargo xtask <command>`.

use std::{
    env,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
};

const HELP: &str = "\
cargo xtask <command>

Commands:
  test     the whole check CI runs: fmt, each crate's layers, the manifests (licence texts,
           the MSRV inherited and linted), that library code does not print, the fixtures
           check, clippy (-D warnings), the workspace's tests (the benchmark smoke run among them), the doc
           tests, the READMEs' examples with their snippets' dependencies (xtask readmes), the
           examples (run against the mock), that each family crate builds on its
           own, rustdoc (-D warnings), and the public API against api/ (xtask api --check)
  fixtures [--check] [--seed N]
           write the JSON fixtures of every operation to crates/thingspace-mock/fixtures/;
           --check fails when the committed files differ from what the generator makes
  layers   check that each crate's modules import each other in layers, with no circle
  quiet    check that no library crate prints to the terminal (print!, eprintln!, dbg!)
  manifests
           check that every licence a published crate declares has its text at the root
           (LICENSE-MIT, LICENSE-APACHE) and in the crate's package (`cargo package --list`),
           and that every crate inherits the workspace's rust-version and lints, so clippy's
           incompatible_msrv checks the MSRV
  readmes  compile (and run, unless no_run) each published library crate's README examples
           with exactly the dependencies and features of the README's `toml` snippet, as a
           new user's crate would (scratch crates in target/readme-snippets/, built into the
           workspace's target directory); fails naming the README and the snippet
  features build the core without its transport, without `config` and with native-roots,
           core + m2m without figment and TOML, and check that `Client::thingspace` without
           the `reqwest` feature fails with a message naming the feature
  demo     run `thingspace demo` (the SDK against the embedded mock server)
  api [--check]
           write the public API of each published library crate, one item a line, to
           api/<crate>.txt (rustdoc's JSON output, nightly toolchain); --check fails when the
           code's public surface differs from the committed listing (without nightly: skipped
           with a message, failed when $CI is set)
  release <version> [--dry-run] [--no-package]
           bump every publishable crate to <version> (and, for a breaking version, the
           requirement the READMEs' snippets write), date the CHANGELOG's Unreleased section,
           `cargo package` the crates in dependency order, commit and tag; refuses a dirty
           tree, a version not greater than the current one, or a crate missing metadata;
           --dry-run checks and prints the plan, changing nothing
  bench [--smoke] [--only 1,2,...] [--out DIR]
           build in release mode and run the benchmarks (SDK against hand-written reqwest +
           serde_json, the mock in a separate process); figures in target/bench/ (or DIR),
           as JSON and as a report (bench.html, self-contained, and its chart bench.svg);
           fails when a target is missed (never in --smoke); --only runs some scenarios (1-6)
  fuzz [--iterations N] [--seed S]
           run the fuzzers longer than CI does (default 200000 inputs per target): the
           decoders, the Location parser, the path encoder, the tenant-id check and the
           environment reader (tests/tests/fuzz.rs), and the CLI's CSV and table writers
  help     this text
";

/// The family crates: each must build alone and depend on no other family.
const FAMILIES: &[&str] = &["thingspace-m2m", "thingspace-subsc", "thingspace-oc"];

mod api;
mod hints;
mod layers;
mod manifests;
mod quiet;
mod readmes;
mod release;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => cargo(&["run", "--quiet", "-p", "thingspace-cli", "--", "demo"]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("release") => release::run(&args[1..]),
        Some("api") => api::run(&args[1..]),
        Some("fixtures") => fixtures(&args[1..]),
        Some("layers") => crate_layers(),
        Some("manifests") => manifests::check(),
        Some("quiet") => quiet::check(),
        Some("readmes") => readmes::check(),
        Some("features") => features_build(),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The repository: `$XTASK_ROOT` when set (tests run xtask on a copy), else this workspace.
fn root() -> PathBuf {
    if let Some(dir) = env::var_os("XTASK_ROOT") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The target directory named in `meta` (the workspace's metadata), else `target/`.
fn target_directory(meta: &serde_json::Value) -> PathBuf {
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The workspace's own packages, from `cargo metadata --no-deps` (offline: it reads the
/// manifests only).
fn workspace_metadata() -> Result<serde_json::Value, String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn test() -> Result<(), String> {
    ensure_redis_server()?;
    cargo(&["fmt", "--all", "--", "--check"])?;
    crate_layers()?;
    manifests::check()?;
    quiet::check()?;
    fixtures(&["--check".to_owned()])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    let mut totals = Totals::default();
    let unit = cargo_test(&["test", "--workspace", "--all-targets"], &mut totals);
    let doc = unit.and_then(|()| cargo_test(&["test", "--workspace", "--doc"], &mut totals));
    let families = doc
        .and_then(|()| readmes::check())
        .and_then(|()| examples_run())
        .and_then(|()| families_stand_alone())
        .and_then(|()| features_build())
        .and_then(|()| rustdoc_clean())
        .and_then(|()| api::run(&["--check".to_owned()]));
    println!("tests: {} passed, {} failed", totals.passed, totals.failed);
    families
}

/// Test counts summed over every `test result:` line.
#[derive(Debug, Default)]
struct Totals {
    passed: u64,
    failed: u64,
}

/// Runs a `cargo test` command, echoing its output and adding up its counts.
fn cargo_test(args: &[&str], totals: &mut Totals) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("xtask: cargo {}", args.join(" "));
    let mut child = Command::new(&cargo)
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                totals.passed += count(rest, "passed");
                totals.failed += count(rest, "failed");
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cargo did not finish: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// The number before `word` in a line such as `ok. 3 passed; 0 failed; ...`.
fn count(line: &str, word: &str) -> u64 {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[1].trim_end_matches(';') == word)
        .and_then(|w| w[0].parse().ok())
        .unwrap_or(0)
}

/// Writes (or, with `--check`, compares) the fixtures generated from one seed.
fn fixtures(args: &[String]) -> Result<(), String> {
    let check = args.iter().any(|a| a == "--check");
    let seed = match args.iter().position(|a| a == "--seed") {
        Some(i) => args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .ok_or("--seed needs a whole number")?,
        None => thingspace_mock::fixtures::SEED,
    };
    let dir = root()
        .join("crates")
        .join("thingspace-mock")
        .join("fixtures");
    let mut stale = Vec::new();
    for (name, text) in thingspace_mock::fixtures::generate(seed) {
        let path = dir.join(name);
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(name);
            }
        } else {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "these fixtures differ from what the generator makes (run `cargo xtask fixtures`): {}",
            stale.join(", ")
        ));
    }
    eprintln!(
        "xtask: fixtures {} ({})",
        if check { "up to date" } else { "written" },
        dir.display()
    );
    Ok(())
}

/// The fleet crate's tests start a real `redis-server` on a free loopback port: installed here,
/// from Debian's packages, when the machine lacks it.
fn ensure_redis_server() -> Result<(), String> {
    let present = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present("redis-server") {
        return Ok(());
    }
    eprintln!("xtask: redis-server is missing; installing it (apt-get install redis-server)");
    let apt = |args: &[&str]| {
        let (program, rest): (&str, Vec<&str>) = if running_as_root() {
            ("apt-get", args.to_vec())
        } else {
            ("sudo", [&["apt-get"][..], args].concat())
        };
        Command::new(program)
            .args(rest)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !apt(&["install", "-y", "-q", "redis-server"]) {
        let _ = apt(&["update", "-q"]);
        let _ = apt(&["install", "-y", "-q", "redis-server"]);
    }
    if present("redis-server") {
        Ok(())
    } else {
        Err("redis-server is needed by the fleet tests and could not be installed: install it (apt-get install redis-server)".to_owned())
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Each crate's modules form layers (see `layers.rs`): every crate under `crates/`, then
/// `tests/` and `xtask/`.
fn crate_layers() -> Result<(), String> {
    let crates = root().join("crates");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&crates)
        .map_err(|e| format!("{}: {e}", crates.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|dir| dir.join("src").is_dir())
        .collect();
    dirs.sort();
    dirs.extend([root().join("tests"), root().join("xtask")]);
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        layers::check(&name, &dir.join("src"))?;
    }
    Ok(())
}

/// Builds the benchmark harness in release mode and runs it.
fn bench(args: &[String]) -> Result<(), String> {
    // Scenarios 7c and 10 start a redis-server of their own.
    ensure_redis_server()?;
    cargo(&["build", "--release", "-p", "thingspace-bench"])?;
    // Where cargo put it: `CARGO_TARGET_DIR` (relative to the root, where cargo ran) or
    // `target/`.
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root().join(dir))
        .unwrap_or_else(|| root().join("target"));
    let exe = target.join("release").join("thingspace-bench");
    let mut command = Command::new(exe);
    command.arg("run").args(args).current_dir(root());
    let status = command
        .status()
        .map_err(|e| format!("could not run the benchmarks: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the benchmarks failed ({status})"))
    }
}

/// The fuzz targets, as `cargo test` arguments: the SDK's (decoders, parsers, encoders, the
/// environment reader) and the CLI's (its CSV and table writers, unit tests of the binary).
const FUZZ_TARGETS: &[&[&str]] = &[
    &["-p", "thingspace-tests", "--test", "fuzz"],
    &[
        "-p",
        "thingspace-cli",
        "--bin",
        "thingspace",
        "output::fuzz::",
    ],
];

/// Runs the fuzz targets with many more inputs than CI.
fn fuzz(args: &[String]) -> Result<(), String> {
    let mut iterations = "200000".to_owned();
    let mut seed = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--iterations" => iterations = it.next().ok_or("--iterations needs a number")?.clone(),
            "--seed" => seed = Some(it.next().ok_or("--seed needs a number")?.clone()),
            other => return Err(format!("unknown fuzz option `{other}`")),
        }
    }
    if iterations.parse::<u64>().map_or(true, |n| n == 0) {
        return Err(format!(
            "--iterations must be a whole number above 0, not `{iterations}` (0 would fuzz nothing)"
        ));
    }
    eprintln!("xtask: fuzzing with {iterations} inputs per target");
    for target in FUZZ_TARGETS {
        // The settings go to the child's environment only.
        let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = Command::new(cargo);
        command
            .args(["test", "--release"])
            .args(*target)
            .env("THINGSPACE_FUZZ_ITERATIONS", &iterations)
            .current_dir(root());
        if let Some(seed) = &seed {
            command.env("THINGSPACE_FUZZ_SEED", seed);
        }
        eprintln!("xtask: cargo test --release {}", target.join(" "));
        let status = command
            .status()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        if !status.success() {
            return Err(format!(
                "a fuzz target of `{}` failed: the panic message shows the input; add it to REGRESSIONS in tests/tests/fuzz.rs, or as a case of a unit test",
                target.join(" ")
            ));
        }
    }
    Ok(())
}

/// Runs every example of the facade (built by `cargo test --workspace --all-targets`) against
/// the embedded mock: with no `THINGSPACE_*` setting in its environment and no configuration
/// file in its directory, each falls back to the mock, so they cannot rot unnoticed.
fn examples_run() -> Result<(), String> {
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root().join(dir))
        .unwrap_or_else(|| root().join("target"));
    let dir = root().join("crates").join("thingspace").join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    let scratch = env::temp_dir().join(format!("thingspace-examples-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let built = target.join("debug").join("examples");
    for name in &names {
        let exe = example_binary(&built, name)?;
        let mut command = Command::new(&exe);
        command.current_dir(&scratch);
        for (key, _) in env::vars_os() {
            if key.to_string_lossy().starts_with("THINGSPACE_") {
                command.env_remove(key);
            }
        }
        let output = command
            .output()
            .map_err(|e| format!("could not run the example {name} ({}): {e}", exe.display()))?;
        if !output.status.success() {
            return Err(format!(
                "the example {name} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
    eprintln!(
        "xtask: every example ran against the mock ({})",
        names.join(", ")
    );
    Ok(())
}

/// The executable of the example `name` among those `cargo test --all-targets` built in `dir`:
/// `name-<hash>` with no extension, the newest when there are several.
fn example_binary(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let prefix = format!("{name}-");
    std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e} (the tests build the examples)", dir.display()))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let path = entry.path();
            let file = path.file_name()?.to_str()?;
            let hash = file.strip_prefix(&prefix)?;
            let plain = path.extension().is_none() && hash.chars().all(|c| c.is_ascii_hexdigit());
            let modified = entry.metadata().ok()?.modified().ok()?;
            plain.then_some((modified, path))
        })
        .max()
        .map(|(_, path)| path)
        .ok_or_else(|| format!("the example {name} was not built in {}", dir.display()))
}

/// `cargo doc` with warnings denied, so the documentation stays buildable and its links valid.
fn rustdoc_clean() -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("xtask: cargo doc --workspace --no-deps (warnings denied)");
    let status = Command::new(cargo)
        .args(["doc", "--workspace", "--no-deps", "--quiet"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not run cargo doc: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("`cargo doc` has warnings".to_owned())
    }
}

/// The core's optional features build: without the default transport, without the
/// configuration layer (a user who builds `Config` in code), and with the operating system's
/// certificate store; and core + m2m without their default features but with the transport,
/// the build whose cost `docs/performance.md` reports, compiles and pulls in neither figment
/// nor the TOML stack.
fn features_build() -> Result<(), String> {
    cargo(&[
        "check",
        "--quiet",
        "-p",
        "thingspace-core",
        "--no-default-features",
    ])?;
    hints::check()?;
    cargo(&[
        "check",
        "--quiet",
        "-p",
        "thingspace-core",
        "--features",
        "native-roots",
    ])?;
    let lean = [
        "-p",
        "thingspace-m2m",
        "--no-default-features",
        "--features",
        "reqwest",
    ];
    cargo(&[&["check", "--quiet"][..], &lean[..]].concat())?;
    let tree =
        cargo_output(&[&["tree", "-e", "normal", "--prefix", "none"][..], &lean[..]].concat())?;
    let heavy: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| CONFIG_ONLY.contains(name))
        .collect();
    if !heavy.is_empty() {
        return Err(format!(
            "thingspace-m2m without its default features depends on the configuration layer's crates ({}): keep them behind the `config` feature",
            heavy.join(", ")
        ));
    }
    eprintln!(
        "xtask: thingspace-core builds without its transport, without `config` and with native-roots; core + m2m without defaults builds without figment and TOML"
    );
    Ok(())
}

/// Crates only the configuration layer (`thingspace-core`'s `config` feature) needs.
const CONFIG_ONLY: &[&str] = &["figment", "toml", "pear", "uncased"];

/// A cargo command's standard output.
fn cargo_output(args: &[&str]) -> Result<String, String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(&cargo)
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`cargo {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Each family crate compiles on its own and depends on the core only, never on another family.
fn families_stand_alone() -> Result<(), String> {
    for family in FAMILIES {
        cargo(&["check", "--quiet", "-p", family])?;
        let manifest = root().join("crates").join(family).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .map_err(|e| format!("could not read {}: {e}", manifest.display()))?;
        for other in FAMILIES.iter().filter(|o| *o != family) {
            if text.contains(other) {
                return Err(format!("{family} depends on another family, {other}"));
            }
        }
    }
    eprintln!("xtask: every family crate builds alone and depends only on the core");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_a_cargo_summary_line() {
        let line =
            "ok. 40 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.09s";
        assert_eq!(super::count(line, "passed"), 40);
        assert_eq!(super::count(line, "failed"), 2);
        assert_eq!(super::count("FAILED. nothing", "passed"), 0);
    }
}
