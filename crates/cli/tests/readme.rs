//! The README's example outputs are what the binary prints today (scripts/readme.py).

use std::process::Command;

#[test]
fn readme_outputs_match_the_binary() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new("python3")
        .arg(format!("{root}/scripts/readme.py"))
        .arg("--check")
        .arg(env!("CARGO_BIN_EXE_tracehound"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
