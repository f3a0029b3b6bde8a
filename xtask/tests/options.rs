//! xtask refuses options that would make a command do nothing, before it runs anything.

use std::process::Command;

#[test]
fn fuzzing_zero_mutants_is_refused() {
    for bad in ["0", "-1", "many"] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["fuzz", "--iterations", bad])
            .output()
            .expect("run xtask");
        assert!(!out.status.success(), "--iterations {bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--iterations"), "{err}");
    }
}
