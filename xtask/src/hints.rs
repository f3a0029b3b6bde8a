//! What a user who leaves out a feature is told. `Client::thingspace` needs the `reqwest`
//! feature: called without it, the build must fail with a message that names the feature, not
//! with "no function `thingspace` found".

use std::process::Command;

use crate::root;

/// The scratch crate's directory under the target directory.
const SCRATCH: &str = "feature-hints";

/// What the compiler must say.
const HINT: &str = "needs the `reqwest` feature";

/// Builds a user's crate that depends on thingspace-core without its default features and
/// calls `Client::thingspace`, and checks the error names the missing feature.
pub(crate) fn check() -> Result<(), String> {
    let target = crate::target_directory(&crate::workspace_metadata()?);
    let dir = target.join(SCRATCH);
    std::fs::create_dir_all(dir.join("src")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let core = root().join("crates").join("thingspace-core");
    let manifest = format!(
        "[package]\nname = \"feature-hint\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nthingspace-core = {{ path = {:?}, default-features = false }}\n\n[workspace]\n",
        core.display().to_string()
    );
    let lib = "pub fn client(config: &thingspace_core::Config) -> thingspace_core::Result<thingspace_core::Client> {\n    thingspace_core::Client::thingspace(config)\n}\n";
    for (path, text) in [
        (dir.join("Cargo.toml"), manifest.as_str()),
        (dir.join("src").join("lib.rs"), lib),
    ] {
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("could not copy Cargo.lock: {e}"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["check", "--quiet", "--offline", "--target-dir"])
        .arg(&target)
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !stderr.contains(HINT) {
        return Err(format!(
            "`Client::thingspace` without the `reqwest` feature must fail with a message that says `{HINT}` ({}): cargo said\n{stderr}",
            dir.display()
        ));
    }
    eprintln!("xtask: Client::thingspace without the reqwest feature is an error that names it");
    Ok(())
}
