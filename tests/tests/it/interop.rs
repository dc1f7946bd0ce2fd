//! Python clients against a running `fastflight-demo`: pyarrow's Flight client, and the
//! Python `fastflight` package's own client and request class.
//!
//! Needs `python3` with pyarrow and the Python `fastflight` package (`.ci/run` installs
//! both). Where they are missing the tests fail when `FASTFLIGHT_REQUIRE_PYARROW=1` (as in
//! CI), and say they skipped otherwise.

use std::process::Command;

use crate::support::DemoProcess;

/// Whether `python3` can import `module`; where it cannot, the test fails when
/// `FASTFLIGHT_REQUIRE_PYARROW` is set and is skipped (saying so) otherwise.
fn python_has(module: &str, install: &str) -> bool {
    let found = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var("FASTFLIGHT_REQUIRE_PYARROW").is_err(),
            "FASTFLIGHT_REQUIRE_PYARROW is set but `python3 -c 'import {module}'` fails: {install}"
        );
        eprintln!("SKIPPED: python3 cannot import {module} ({install})");
    }
    found
}

/// Runs a script of `tests/python` against `location`; its last line is a JSON report.
fn run_script(name: &str, args: &[&str]) -> serde_json::Value {
    let script = format!("{}/python/{name}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{name} printed {stdout:?}: {e}"))
}

#[test]
fn pyarrow_client_calls_the_demo_server() {
    if !python_has("pyarrow.flight", "pip install pyarrow") {
        return;
    }
    let demo = DemoProcess::start_all(&[], &[]);
    let gateway = demo.gateway.clone().unwrap();
    let report = run_script("interop.py", &[&demo.location, &gateway]);
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["errors"]["unknown"], "ArrowKeyError",
        "NotFound reaches pyarrow as KeyError"
    );
    assert_eq!(
        report["errors"]["bad field"], "ArrowInvalid",
        "InvalidArgument reaches pyarrow as ArrowInvalid"
    );
    assert_eq!(
        report["gateway_rows"], 70_000,
        "pyarrow read the gateway's Arrow stream"
    );
}

#[test]
fn python_package_client_calls_the_demo_server() {
    if !python_has(
        "fastflight.demo_services.echo_demo",
        "pip install fastflight",
    ) {
        return;
    }
    let demo = DemoProcess::start();
    let report = run_script("python_package.py", &[&demo.location]);
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["param_type"],
        "fastflight.demo_services.echo_demo.EchoParams"
    );
    assert_eq!(report["rows"], 1);
}
