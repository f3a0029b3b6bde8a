//! The benchmark harness in smoke mode: every scenario runs, with a few hundred requests, so
//! the harness cannot rot. The targets are not checked here (debug build, noisy machine).

use std::process::Command;

#[test]
fn every_scenario_runs_and_reports() {
    let out_dir =
        std::env::temp_dir().join(format!("thingspace-bench-smoke-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_thingspace-bench"))
        .args(["run", "--smoke", "--out"])
        .arg(&out_dir)
        .output()
        .expect("run the harness");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read_to_string(out_dir.join("smoke.json")).expect("report written");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let figures = report["figures"].as_array().expect("figures");
    assert_eq!(figures.len(), 20, "{json}");
    for f in figures {
        assert!(f["sdk"].as_f64().is_some_and(|v| v > 0.0), "{f}");
        assert!(f["baseline"].as_f64().is_some_and(|v| v > 0.0), "{f}");
    }
    // The report beside the JSON: the page and its chart name every scenario and the machine.
    for file in ["smoke.html", "smoke.svg"] {
        let text = std::fs::read_to_string(out_dir.join(file)).expect("report written");
        for f in figures {
            let scenario = f["scenario"].as_str().expect("scenario");
            let shown = scenario.replace('&', "&amp;").replace('<', "&lt;");
            assert!(text.contains(&shown), "{scenario} missing from {file}");
            let ratio = format!("{:.3}", f["ratio"].as_f64().expect("ratio"));
            assert!(
                text.contains(&ratio),
                "{scenario}'s ratio missing from {file}"
            );
        }
        let cpus = report["machine"]["cpus"].as_u64().expect("cpus");
        assert!(
            text.contains(&format!("{cpus} CPUs")),
            "the machine, in {file}"
        );
    }
    let concurrent = &figures[1]["target"];
    assert!(
        concurrent
            .as_str()
            .is_some_and(|t| t.contains("tokens 1, logins 1")),
        "{concurrent}"
    );
    let post = figures
        .iter()
        .filter(|f| f["scenario"].as_str().is_some_and(|s| s.starts_with("6")))
        .count();
    assert_eq!(
        post, 2,
        "the POST scenario, sequential and concurrent: {json}"
    );
    let ingest = figures
        .iter()
        .filter(|f| f["scenario"].as_str().is_some_and(|s| s.starts_with("7")))
        .count();
    assert_eq!(
        ingest, 6,
        "the listener's ingest, channel, file and Redis sinks, rate and p99: {json}"
    );
    for prefix in ["8a.", "8b.", "9.", "10a.", "10b."] {
        assert!(
            figures.iter().any(|f| f["scenario"]
                .as_str()
                .is_some_and(|s| s.starts_with(prefix))),
            "scenario {prefix} (devices streamed, activation awaited): {json}"
        );
    }
    // Scenario 10's fleet is real processes: through Redis they obtain one token and one login
    // in all, each on its own one apiece.
    let fleet = figures
        .iter()
        .find(|f| {
            f["scenario"]
                .as_str()
                .is_some_and(|s| s.starts_with("10a."))
        })
        .map(|f| &f["target"]);
    assert!(
        fleet
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.contains("shared: tokens 1, logins 1 (1 each)")
                && t.contains("in-process: tokens 4, logins 4 (4 each)")),
        "{fleet:?}"
    );
    std::fs::remove_dir_all(out_dir).ok();
}

#[test]
fn a_misspelt_option_or_unknown_scenario_is_refused_before_anything_runs() {
    for args in [
        &["run", "--only", "1,11"][..],
        &["run", "--only"][..],
        &["run", "--smoek"][..],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_thingspace-bench"))
            .args(args)
            .output()
            .expect("run the harness");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted: {stderr}");
        assert!(
            stderr.contains("scenario") || stderr.contains("option"),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?} ran something");
    }
}
