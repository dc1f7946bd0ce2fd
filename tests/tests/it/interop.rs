//! pyarrow's Flight client against a running `fastflight-demo`.
//!
//! Needs `python3` with pyarrow (`.ci/run` installs it). Where it is missing the test
//! fails when `FASTFLIGHT_REQUIRE_PYARROW=1` (as in CI), and says it skipped otherwise.

use std::process::Command;

use crate::support::DemoProcess;

fn pyarrow_available() -> bool {
    Command::new("python3")
        .args(["-c", "import pyarrow.flight"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn pyarrow_client_calls_the_demo_server() {
    if !pyarrow_available() {
        assert!(
            std::env::var("FASTFLIGHT_REQUIRE_PYARROW").is_err(),
            "pyarrow is required (FASTFLIGHT_REQUIRE_PYARROW is set) but `python3 -c 'import pyarrow.flight'` fails"
        );
        eprintln!("SKIPPED: pyarrow is not installed (pip install pyarrow)");
        return;
    }
    let demo = DemoProcess::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/interop.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&demo.location)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "interop.py failed:\n{stdout}\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["ok"], true);
}
