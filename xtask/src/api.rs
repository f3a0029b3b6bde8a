//! `cargo xtask api [--check]`: the public API of each published library crate, one item a line,
//! in `api/<crate>.txt`, read from rustdoc's JSON output (nightly).
//!
//! The listing is the contract: `cargo xtask test` fails when the code's public surface differs
//! from the committed listing (so every change to it is a reviewed change of `api/`), and
//! `cargo xtask release` compares the listing with the one of the previous release's tag, and
//! refuses to call a release that removes or changes an item anything but a breaking one.

use std::{
    collections::{BTreeMap, BTreeSet},
    env, fs,
    path::PathBuf,
    process::Command,
};

use serde_json::Value;

use crate::root;

/// The directory of the listings, under the root.
pub(crate) const DIR: &str = "api";

/// The published library crates: (package, library name).
fn libraries() -> Result<Vec<(String, String)>, String> {
    let meta: Value = crate::workspace_metadata()?;
    let mut libs = Vec::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let published = p["publish"].as_array().is_none_or(|a| !a.is_empty());
        let Some(name) = p["name"].as_str() else {
            continue;
        };
        let lib = p["targets"].as_array().into_iter().flatten().find(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib"))
        });
        if let (true, Some(lib)) = (published, lib)
            && let Some(lib_name) = lib["name"].as_str()
        {
            libs.push((name.to_owned(), lib_name.replace('-', "_")));
        }
    }
    libs.sort();
    Ok(libs)
}

/// Whether a nightly toolchain is installed (rustdoc's JSON output needs one).
fn nightly_present() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustdoc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The listing of every library crate, by package name, as generated from the code now.
fn generate() -> Result<BTreeMap<String, String>, String> {
    // Its own target directory: nightly's artefacts never mix with stable's
    // (`XTASK_API_TARGET_DIR` shares one between copies of the repository, as the tests do).
    let target = env::var_os("XTASK_API_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target").join("api"));
    let mut listings = BTreeMap::new();
    for (package, lib) in libraries()? {
        eprintln!("xtask: rustdoc --output-format json -p {package}");
        let status = Command::new("rustup")
            .args(["run", "nightly", "cargo", "rustdoc", "--quiet", "--lib"])
            .args(["-p", &package, "--all-features"])
            .args(["--", "-Z", "unstable-options", "--output-format", "json"])
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTDOCFLAGS")
            .current_dir(root())
            .status()
            .map_err(|e| format!("could not run cargo +nightly rustdoc: {e}"))?;
        if !status.success() {
            return Err(format!("rustdoc's JSON output failed for {package}"));
        }
        let path = target.join("doc").join(format!("{lib}.json"));
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        listings.insert(package, listing(&doc)?);
    }
    Ok(listings)
}

fn listing_path(package: &str) -> PathBuf {
    root().join(DIR).join(format!("{package}.txt"))
}

/// The check a release runs: as `api --check`, but a missing nightly toolchain is an error.
pub(crate) fn check_for_release() -> Result<(), String> {
    if !nightly_present() {
        return Err("a release checks the public API with rustdoc's JSON output: install a nightly toolchain (rustup toolchain install nightly)".to_owned());
    }
    run(&["--check".to_owned()])
}

/// `cargo xtask api [--check]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let check = args.iter().any(|a| a == "--check");
    if !nightly_present() {
        let message = "the public API listing needs a nightly toolchain for rustdoc's JSON output (rustup toolchain install nightly)";
        // CI must check it; a machine without nightly is told, not failed.
        if check && env::var_os("CI").is_none() {
            eprintln!("xtask: skipped: {message}");
            return Ok(());
        }
        return Err(message.to_owned());
    }
    let listings = generate()?;
    if check {
        let mut differ = Vec::new();
        for (package, text) in &listings {
            let committed = fs::read_to_string(listing_path(package)).unwrap_or_default();
            if committed != *text {
                let (removed, added) = difference(&committed, text);
                let mut report = format!("{package}:");
                for line in removed {
                    report.push_str(&format!("\n  - {line}"));
                }
                for line in added {
                    report.push_str(&format!("\n  + {line}"));
                }
                differ.push(report);
            }
        }
        if !differ.is_empty() {
            return Err(format!(
                "the public API differs from the listing in {DIR}/ (if the change is meant, run `cargo xtask api` and commit {DIR}/; say it in CHANGELOG.md):\n{}",
                differ.join("\n")
            ));
        }
        eprintln!("xtask: the public API matches {DIR}/");
        return Ok(());
    }
    fs::create_dir_all(root().join(DIR)).map_err(|e| e.to_string())?;
    for (package, text) in &listings {
        fs::write(listing_path(package), text).map_err(|e| e.to_string())?;
    }
    eprintln!("xtask: wrote {} listings in {DIR}/", listings.len());
    Ok(())
}

/// The lines only in `old`, and those only in `new`.
pub(crate) fn difference<'a>(old: &'a str, new: &'a str) -> (Vec<&'a str>, Vec<&'a str>) {
    let old_set: BTreeSet<&str> = old.lines().collect();
    let new_set: BTreeSet<&str> = new.lines().collect();
    (
        old_set.difference(&new_set).copied().collect(),
        new_set.difference(&old_set).copied().collect(),
    )
}

/// What a release's API does to its users, against the previous release's.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing public changed.
    None,
    /// Items were added, none removed or changed.
    Additive,
    /// Items were removed or changed (a changed item is a removed line and an added one).
    Breaking(Vec<String>),
}

/// Compares the committed listings with those of the git tag `tag`. A crate without a
/// listing at the tag is new: all additions.
pub(crate) fn against_tag(tag: &str) -> Result<Change, String> {
    let mut removed = Vec::new();
    let mut added = false;
    let dir = root().join(DIR);
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let now = fs::read_to_string(file).map_err(|e| e.to_string())?;
        let before = git_show(tag, &format!("{DIR}/{name}"))?.unwrap_or_default();
        let (gone, new) = difference(&before, &now);
        let package = name.trim_end_matches(".txt");
        removed.extend(gone.into_iter().map(|l| format!("{package}: {l}")));
        added |= !new.is_empty();
    }
    Ok(if !removed.is_empty() {
        Change::Breaking(removed)
    } else if added {
        Change::Additive
    } else {
        Change::None
    })
}

/// The file `path` at `tag`, `None` when it was not there.
fn git_show(tag: &str, path: &str) -> Result<Option<String>, String> {
    let out = Command::new("git")
        .args(["show", &format!("{tag}:{path}")])
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// Whether the git tag `tag` exists.
pub(crate) fn tag_exists(tag: &str) -> bool {
    Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/tags/{tag}"),
        ])
        .current_dir(root())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The listing of one crate's rustdoc JSON: one line per public item, sorted.
/// The auto traits a listing shows.
const AUTO_TRAITS: [&str; 3] = ["Send", "Sync", "Unpin"];

pub(crate) fn listing(doc: &Value) -> Result<String, String> {
    let index = doc["index"]
        .as_object()
        .ok_or("rustdoc JSON without an index")?;
    let root_id = doc["root"].to_string();
    let crate_name = index
        .get(&root_id)
        .and_then(|r| r["name"].as_str())
        .ok_or("rustdoc JSON without its root module")?
        .to_owned();
    let mut walk = Walk {
        index,
        lines: BTreeSet::new(),
        visiting: Vec::new(),
    };
    walk.module(&root_id, &crate_name);
    let mut text = format!(
        "# The public API of {crate_name}, generated by `cargo xtask api`; checked by `cargo xtask test`.\n"
    );
    for line in walk.lines {
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

struct Walk<'a> {
    index: &'a serde_json::Map<String, Value>,
    lines: BTreeSet<String>,
    /// Modules being walked, so a re-export of a parent does not loop.
    visiting: Vec<String>,
}

impl Walk<'_> {
    fn item(&self, id: &Value) -> Option<&Value> {
        self.index.get(&id.to_string())
    }

    fn module(&mut self, id: &str, path: &str) {
        if self.visiting.iter().any(|v| v == id) {
            return;
        }
        self.visiting.push(id.to_owned());
        let Some(items) = self
            .index
            .get(id)
            .map(|m| m["inner"]["module"]["items"].clone())
        else {
            return;
        };
        for child in items.as_array().into_iter().flatten() {
            if let Some(item) = self.item(child).cloned() {
                self.public_item(&item, path, None);
            }
        }
        self.visiting.pop();
    }

    /// An item of a module at `path`, named `rename` when re-exported under another name.
    fn public_item(&mut self, item: &Value, path: &str, rename: Option<&str>) {
        if item["visibility"] != "public" {
            return;
        }
        let name = rename.or(item["name"].as_str()).unwrap_or("_");
        // Generated by macros (mockall's `__mock_*` modules), never named by users.
        if name.starts_with("__") {
            return;
        }
        let full = format!("{path}::{name}");
        let Some((kind, inner)) = item["inner"].as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        match kind.as_str() {
            "module" => {
                self.lines.insert(format!("mod {full}"));
                let id = item["id"].to_string();
                self.module(&id, &full);
            }
            "use" => self.reexport(inner, path),
            "struct" => {
                self.lines
                    .insert(format!("struct {full}{}", generics(&inner["generics"])));
                if let Some(fields) = inner["kind"]["plain"]["fields"].as_array() {
                    for f in fields {
                        if let Some(field) = self.item(f)
                            && field["visibility"] == "public"
                        {
                            self.lines.insert(format!(
                                "field {full}::{}: {}",
                                field["name"].as_str().unwrap_or("_"),
                                ty(&field["inner"]["struct_field"])
                            ));
                        }
                    }
                }
                if inner["kind"]["plain"]["has_stripped_fields"] == false {
                    self.lines.insert(format!("fields {full}: all public"));
                }
                self.impls(&inner["impls"], &full);
            }
            "enum" => {
                self.lines
                    .insert(format!("enum {full}{}", generics(&inner["generics"])));
                for v in inner["variants"].as_array().into_iter().flatten() {
                    if let Some(variant) = self.item(v) {
                        self.lines.insert(format!(
                            "variant {full}::{}",
                            variant["name"].as_str().unwrap_or("_")
                        ));
                    }
                }
                self.impls(&inner["impls"], &full);
            }
            "union" => {
                self.lines.insert(format!("union {full}"));
                self.impls(&inner["impls"], &full);
            }
            "trait" => {
                self.lines.insert(format!(
                    "trait {full}{}{}",
                    generics(&inner["generics"]),
                    bounds_suffix(&inner["bounds"])
                ));
                for i in inner["items"].as_array().into_iter().flatten() {
                    if let Some(member) = self.item(i).cloned() {
                        self.member(&member, &full, "trait item");
                    }
                }
            }
            "function" => {
                self.lines.insert(function(&full, inner));
            }
            "constant" => {
                self.lines
                    .insert(format!("const {full}: {}", ty(&inner["type"])));
            }
            "static" => {
                self.lines
                    .insert(format!("static {full}: {}", ty(&inner["type"])));
            }
            "type_alias" => {
                self.lines.insert(format!(
                    "type {full}{} = {}",
                    generics(&inner["generics"]),
                    ty(&inner["type"])
                ));
            }
            "macro" | "proc_macro" => {
                self.lines.insert(format!("macro {full}"));
            }
            other => {
                self.lines.insert(format!("{other} {full}"));
            }
        }
    }

    /// A `pub use`: local items are listed where they are re-exported; another crate's are
    /// listed as the re-export itself.
    fn reexport(&mut self, inner: &Value, path: &str) {
        let source = inner["source"].as_str().unwrap_or("_");
        let target = inner["id"]
            .as_u64()
            .and_then(|id| self.index.get(&id.to_string()).cloned())
            .filter(|t| t["crate_id"] == 0);
        match target {
            Some(target) if inner["is_glob"] == true => {
                let id = target["id"].to_string();
                self.module(&id, path);
            }
            Some(target) => {
                let rename = inner["name"].as_str();
                self.public_item(&target, path, rename);
            }
            None if inner["is_glob"] == true => {
                self.lines.insert(format!("use {path}::{{{source}::*}}"));
            }
            None => {
                let name = inner["name"].as_str().unwrap_or("_");
                self.lines.insert(format!("use {path}::{name} = {source}"));
            }
        }
    }

    /// The inherent methods, the written (not blanket) trait implementations, and the auto
    /// traits users rely on across `.await` and threads (`Send`, `Sync`, `Unpin`: losing one
    /// breaks their code) of the type at `full`.
    fn impls(&mut self, impls: &Value, full: &str) {
        for id in impls.as_array().into_iter().flatten() {
            let Some(imp) = self.item(id).cloned() else {
                continue;
            };
            let inner = &imp["inner"]["impl"];
            if !inner["blanket_impl"].is_null() {
                continue;
            }
            if inner["is_synthetic"] == true {
                let name = path_of(&inner["trait"]);
                if AUTO_TRAITS.contains(&name.rsplit("::").next().unwrap_or_default()) {
                    let negative = if inner["is_negative"] == true {
                        "!"
                    } else {
                        ""
                    };
                    self.lines.insert(format!(
                        "auto impl {negative}{name} for {}{}",
                        ty(&inner["for"]),
                        where_clause(&inner["generics"])
                    ));
                }
                continue;
            }
            if inner["trait"].is_null() {
                for i in inner["items"].as_array().into_iter().flatten() {
                    if let Some(member) = self.item(i).cloned()
                        && member["visibility"] == "public"
                    {
                        self.member(&member, full, "method");
                    }
                }
            } else {
                let negative = if inner["is_negative"] == true {
                    "!"
                } else {
                    ""
                };
                self.lines.insert(format!(
                    "impl{} {negative}{} for {}",
                    generics(&inner["generics"]),
                    path_of(&inner["trait"]),
                    ty(&inner["for"])
                ));
            }
        }
    }

    /// A method, associated constant or associated type of `owner`.
    fn member(&mut self, member: &Value, owner: &str, what: &str) {
        let name = member["name"].as_str().unwrap_or("_");
        let full = format!("{owner}::{name}");
        let Some((kind, inner)) = member["inner"].as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        let line = match kind.as_str() {
            "function" => format!("{what} {}", function(&full, inner)),
            "assoc_const" => format!("{what} const {full}: {}", ty(&inner["type"])),
            "assoc_type" => format!("{what} type {full}{}", bounds_suffix(&inner["bounds"])),
            other => format!("{what} {other} {full}"),
        };
        self.lines.insert(line);
    }
}

fn function(full: &str, inner: &Value) -> String {
    let header = &inner["header"];
    let mut prefix = String::new();
    if header["is_const"] == true {
        prefix.push_str("const ");
    }
    if header["is_async"] == true {
        prefix.push_str("async ");
    }
    if header["is_unsafe"] == true {
        prefix.push_str("unsafe ");
    }
    let sig = &inner["sig"];
    let inputs: Vec<String> = sig["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            let name = pair[0].as_str().unwrap_or("_");
            let t = ty(&pair[1]);
            if name == "self" {
                match t.as_str() {
                    "Self" => "self".to_owned(),
                    "&Self" => "&self".to_owned(),
                    "&mut Self" => "&mut self".to_owned(),
                    _ => format!("self: {t}"),
                }
            } else {
                t
            }
        })
        .collect();
    let output = if sig["output"].is_null() {
        String::new()
    } else {
        format!(" -> {}", ty(&sig["output"]))
    };
    format!(
        "{prefix}fn {full}{}({}){output}{}",
        generics(&inner["generics"]),
        inputs.join(", "),
        where_clause(&inner["generics"])
    )
}

/// `<T: Bound, 'a>`, or nothing.
fn generics(g: &Value) -> String {
    let params: Vec<String> = g["params"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["kind"]["type"]["is_synthetic"] != true)
        .map(|p| {
            let name = p["name"].as_str().unwrap_or("_").to_owned();
            if let Some(t) = p["kind"].get("type") {
                format!("{name}{}", bounds_suffix(&t["bounds"]))
            } else if let Some(c) = p["kind"].get("const") {
                format!("const {name}: {}", ty(&c["type"]))
            } else {
                name
            }
        })
        .collect();
    if params.is_empty() {
        String::new()
    } else {
        format!("<{}>", params.join(", "))
    }
}

fn where_clause(g: &Value) -> String {
    let preds: Vec<String> = g["where_predicates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let b = p.get("bound_predicate")?;
            Some(format!("{}{}", ty(&b["type"]), bounds_suffix(&b["bounds"])))
        })
        .collect();
    if preds.is_empty() {
        String::new()
    } else {
        format!(" where {}", preds.join(", "))
    }
}

fn bounds_suffix(bounds: &Value) -> String {
    let list = bounds_list(bounds);
    if list.is_empty() {
        String::new()
    } else {
        format!(": {list}")
    }
}

fn bounds_list(bounds: &Value) -> String {
    bounds
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            if let Some(t) = b.get("trait_bound") {
                let maybe = if t["modifier"] == "maybe" { "?" } else { "" };
                format!("{maybe}{}", path_of(&t["trait"]))
            } else if let Some(l) = b.get("outlives") {
                l.as_str().unwrap_or("'_").to_owned()
            } else {
                "_".to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A path with its generic arguments: `Result<T>`.
fn path_of(p: &Value) -> String {
    let name = p["path"].as_str().or(p["name"].as_str()).unwrap_or("_");
    format!("{name}{}", args(&p["args"]))
}

fn args(a: &Value) -> String {
    if let Some(ab) = a.get("angle_bracketed") {
        let mut parts: Vec<String> = ab["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|arg| {
                if let Some(t) = arg.get("type") {
                    ty(t)
                } else if let Some(l) = arg.get("lifetime") {
                    l.as_str().unwrap_or("'_").to_owned()
                } else if let Some(c) = arg.get("const") {
                    c["expr"].as_str().unwrap_or("_").to_owned()
                } else {
                    "_".to_owned()
                }
            })
            .collect();
        for c in ab["constraints"].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or("_");
            if let Some(t) = c["binding"].get("equality").and_then(|e| e.get("type")) {
                parts.push(format!("{name} = {}", ty(t)));
            } else if let Some(b) = c["binding"].get("constraint") {
                parts.push(format!("{name}: {}", bounds_list(b)));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("<{}>", parts.join(", "))
        }
    } else if let Some(pa) = a.get("parenthesized") {
        let inputs: Vec<String> = pa["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(ty)
            .collect();
        let output = if pa["output"].is_null() {
            String::new()
        } else {
            format!(" -> {}", ty(&pa["output"]))
        };
        format!("({}){output}", inputs.join(", "))
    } else {
        String::new()
    }
}

/// A type, as written.
fn ty(t: &Value) -> String {
    let Some((kind, v)) = t.as_object().and_then(|o| o.iter().next()) else {
        return "_".to_owned();
    };
    match kind.as_str() {
        "resolved_path" => path_of(v),
        "generic" | "primitive" => v.as_str().unwrap_or("_").to_owned(),
        "borrowed_ref" => {
            let lifetime = v["lifetime"]
                .as_str()
                .map(|l| format!("{l} "))
                .unwrap_or_default();
            let m = if v["is_mutable"] == true { "mut " } else { "" };
            format!("&{lifetime}{m}{}", ty(&v["type"]))
        }
        "raw_pointer" => {
            let m = if v["is_mutable"] == true {
                "mut"
            } else {
                "const"
            };
            format!("*{m} {}", ty(&v["type"]))
        }
        "tuple" => {
            let parts: Vec<String> = v.as_array().into_iter().flatten().map(ty).collect();
            format!("({})", parts.join(", "))
        }
        "slice" => format!("[{}]", ty(v)),
        "array" => format!("[{}; {}]", ty(&v["type"]), v["len"].as_str().unwrap_or("_")),
        "impl_trait" => format!("impl {}", bounds_list(v)),
        "dyn_trait" => {
            let traits: Vec<String> = v["traits"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| path_of(&t["trait"]))
                .collect();
            let lifetime = v["lifetime"]
                .as_str()
                .map(|l| format!(" + {l}"))
                .unwrap_or_default();
            format!("dyn {}{lifetime}", traits.join(" + "))
        }
        "qualified_path" => {
            let name = v["name"].as_str().unwrap_or("_");
            if v["trait"].is_null() || v["trait"]["path"] == "" {
                format!("{}::{name}", ty(&v["self_type"]))
            } else {
                format!(
                    "<{} as {}>::{name}",
                    ty(&v["self_type"]),
                    path_of(&v["trait"])
                )
            }
        }
        "function_pointer" => {
            let sig = &v["sig"];
            let inputs: Vec<String> = sig["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| ty(&p[1]))
                .collect();
            let output = if sig["output"].is_null() {
                String::new()
            } else {
                format!(" -> {}", ty(&sig["output"]))
            };
            format!("fn({}){output}", inputs.join(", "))
        }
        "infer" => "_".to_owned(),
        other => other.to_owned(),
    }
}

/// The listing committed for `package`, for tests.
#[cfg(test)]
fn committed(package: &str) -> Option<String> {
    fs::read_to_string(listing_path(package)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_public_items_methods_and_reexports_not_private_ones() {
        let doc = json!({
            "root": 1,
            "index": {
                "1": {"id": 1, "crate_id": 0, "name": "demo", "visibility": "public",
                      "inner": {"module": {"items": [2, 3, 5, 7]}}},
                "2": {"id": 2, "crate_id": 0, "name": "Thing", "visibility": "public",
                      "inner": {"struct": {"kind": {"plain": {"fields": [], "has_stripped_fields": true}},
                                "generics": {"params": [], "where_predicates": []}, "impls": [4, 8, 9]}}},
                "3": {"id": 3, "crate_id": 0, "name": "hidden", "visibility": "crate",
                      "inner": {"function": {"sig": {"inputs": [], "output": null},
                                "generics": {"params": [], "where_predicates": []},
                                "header": {"is_async": false}}}},
                "4": {"id": 4, "crate_id": 0, "name": null, "visibility": "default",
                      "inner": {"impl": {"trait": null, "is_synthetic": false, "blanket_impl": null,
                                "generics": {"params": [], "where_predicates": []}, "items": [6],
                                "for": {"resolved_path": {"path": "Thing", "args": null}}}}},
                "5": {"id": 5, "crate_id": 0, "name": null, "visibility": "public",
                      "inner": {"use": {"source": "http", "name": "http", "id": 99, "is_glob": false}}},
                "6": {"id": 6, "crate_id": 0, "name": "len", "visibility": "public",
                      "inner": {"function": {"sig": {"inputs": [["self", {"borrowed_ref": {"lifetime": null, "is_mutable": false, "type": {"generic": "Self"}}}]],
                                "output": {"primitive": "usize"}},
                                "generics": {"params": [], "where_predicates": []},
                                "header": {"is_async": false}}}},
                "7": {"id": 7, "crate_id": 0, "name": null, "visibility": "public",
                      "inner": {"use": {"source": "Thing", "name": "Alias", "id": 2, "is_glob": false}}},
                "8": {"id": 8, "crate_id": 0, "name": null, "visibility": "default",
                      "inner": {"impl": {"trait": {"path": "Send", "args": null}, "is_synthetic": true,
                                "is_negative": false, "blanket_impl": null,
                                "generics": {"params": [], "where_predicates": []}, "items": [],
                                "for": {"resolved_path": {"path": "Thing", "args": null}}}}},
                "9": {"id": 9, "crate_id": 0, "name": null, "visibility": "default",
                      "inner": {"impl": {"trait": {"path": "UnwindSafe", "args": null}, "is_synthetic": true,
                                "is_negative": false, "blanket_impl": null,
                                "generics": {"params": [], "where_predicates": []}, "items": [],
                                "for": {"resolved_path": {"path": "Thing", "args": null}}}}}
            }
        });
        let text = listing(&doc).expect("listing");
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "auto impl Send for Thing",
                "method fn demo::Alias::len(&self) -> usize",
                "method fn demo::Thing::len(&self) -> usize",
                "struct demo::Alias",
                "struct demo::Thing",
                "use demo::http = http",
            ]
        );
    }

    #[test]
    fn a_removed_line_is_breaking_an_added_one_is_not() {
        let (removed, added) = difference("a\nb\n", "b\nc\n");
        assert_eq!(removed, ["a"]);
        assert_eq!(added, ["c"]);
    }

    #[test]
    fn every_published_library_has_a_committed_listing() {
        for (package, _) in libraries().expect("cargo metadata") {
            assert!(
                committed(&package).is_some(),
                "no {DIR}/{package}.txt: run `cargo xtask api` and commit it"
            );
        }
    }
}
