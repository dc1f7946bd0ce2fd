//! Python clients against a running `fastflight-demo`: pyarrow's Flight client, and the
//! Python `fastflight` package's own client and request class.
//!
//! Needs `python3` with pyarrow and the Python `fastflight` package (`.ci/run` installs
//! both). Where they are missing, `build.rs` compiles these tests as ignored, with the
//! reason (and fails the build when `FASTFLIGHT_REQUIRE_PYARROW` is set, as in CI).

use crate::support::BoundedOutput;
use std::process::Command;

use crate::support::DemoProcess;

/// Runs a script of `tests/python` against `location`; its last line is a JSON report.
pub fn run_script(name: &str, args: &[&str]) -> serde_json::Value {
    run_script_with(name, args, &[])
}

/// [`run_script`] with environment variables.
fn run_script_with(name: &str, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let script = format!("{}/python/{name}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .envs(env.iter().copied())
        .bounded_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{name} printed {stdout:?}: {e}"))
}

#[test]
#[cfg_attr(
    no_python_interop,
    ignore = "python3 cannot import pyarrow.flight and fastflight: python3 -m pip install pyarrow fastflight"
)]
fn pyarrow_client_calls_the_demo_server() {
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
#[cfg_attr(
    no_python_interop,
    ignore = "python3 cannot import pyarrow.flight and fastflight: python3 -m pip install pyarrow fastflight"
)]
fn python_package_client_calls_the_demo_server() {
    let demo = DemoProcess::start();
    let report = run_script("python_package.py", &[&demo.location]);
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["param_type"],
        "fastflight.demo_services.echo_demo.EchoParams"
    );
    assert_eq!(report["rows"], 1);
}

/// pyarrow's `authenticate_basic_token` against a server started with `--auth-users`:
/// the Handshake's token then opens DoGet, GetFlightInfo and ListFlights; a wrong
/// password and a missing token are `FlightUnauthenticatedError`.
#[test]
#[cfg_attr(
    no_python_interop,
    ignore = "python3 cannot import pyarrow.flight and fastflight: python3 -m pip install pyarrow fastflight"
)]
fn pyarrow_authenticates_with_a_basic_token() {
    let users = crate::support::scratch_file("interop-users", "ada:lovelace analyst\n");
    let demo = DemoProcess::start_all(&["--auth-users", users.to_str().unwrap()], &[]);
    let report = run_script("auth.py", &[&demo.location, "ada", "lovelace"]);
    assert_eq!(report["wrong_password"], "FlightUnauthenticatedError");
    assert_eq!(report["no_token"], "FlightUnauthenticatedError");
    assert_eq!(report["header"], "authorization");
    assert_eq!(report["rows"], 1000);
    assert_eq!(report["schema"], serde_json::json!(["id", "value", "name"]));
    assert!(report["services"].as_u64().unwrap() >= 1);
}

/// The demo over TLS (a test CA's certificate) with the user ada (password
/// `lovelace`, role analyst): the process, the CA's PEM file, and the folder of both.
fn secured_demo(name: &str) -> (DemoProcess, String, tempfile::TempDir) {
    let scratch = crate::support::scratch_dir(name);
    let folder = scratch.path();
    crate::tls::Certs::new(&format!("{name} CA")).write(folder);
    std::fs::write(folder.join("users.txt"), "ada:lovelace analyst\n").unwrap();
    let path = |name: &str| folder.join(name).to_str().unwrap().to_owned();
    let demo = DemoProcess::start_all(
        &[
            "--tls-cert",
            &path("server.pem"),
            "--tls-key",
            &path("server.key"),
            "--auth-users",
            &path("users.txt"),
        ],
        &[],
    );
    assert!(
        demo.location.starts_with("grpc+tls://"),
        "{}",
        demo.location
    );
    let ca = path("ca.pem");
    (demo, ca, scratch)
}

/// The same over TLS: `grpc+tls://` with the test CA as pyarrow's `tls_root_certs`, the
/// demo started with `--tls-cert`, `--tls-key` and `--auth-users`.
#[test]
#[cfg_attr(
    no_python_interop,
    ignore = "python3 cannot import pyarrow.flight and fastflight: python3 -m pip install pyarrow fastflight"
)]
fn pyarrow_calls_over_tls_with_a_token() {
    let (demo, ca, _scratch) = secured_demo("interop-tls");
    assert!(demo.gateway.clone().unwrap().starts_with("https://"));
    let report = run_script("auth.py", &[&demo.location, "ada", "lovelace", &ca]);
    assert_eq!(report["wrong_password"], "FlightUnauthenticatedError");
    assert_eq!(report["no_token"], "FlightUnauthenticatedError");
    assert_eq!(report["rows"], 1000);
}

/// The Python package's `FastFlightBouncer` opens `FlightClient(location)` and sends no
/// header: it reaches a TLS server whose CA gRPC trusts (here named by
/// `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`), but cannot authenticate (README, "Securing a
/// server").
#[test]
#[cfg_attr(
    no_python_interop,
    ignore = "python3 cannot import pyarrow.flight and fastflight: python3 -m pip install pyarrow fastflight"
)]
fn python_package_client_calls_over_tls() {
    let scratch = crate::support::scratch_dir("interop-pkg-tls");
    let folder = scratch.path();
    crate::tls::Certs::new("package CA").write(folder);
    let path = |name: &str| folder.join(name).to_str().unwrap().to_owned();
    let demo = DemoProcess::spawn(
        &[
            "start-flight-server",
            "--flight-location",
            "grpc+tls://127.0.0.1:0",
            "--tls-cert",
            &path("server.pem"),
            "--tls-key",
            &path("server.key"),
        ],
        &[],
    );
    let report = run_script_with(
        "python_package.py",
        &[&demo.location],
        &[("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", &path("ca.pem"))],
    );
    assert_eq!(report["ok"], true);
    assert_eq!(report["rows"], 1);
}

#[test]
#[cfg_attr(
    no_python_interop,
    ignore = "python3 cannot import pyarrow.flight and fastflight: python3 -m pip install pyarrow fastflight"
)]
fn pyarrow_and_pandas_read_a_typed_service() {
    let demo = DemoProcess::start();
    let report = run_script("rows.py", &[&demo.location]);
    assert_eq!(report["rows"], 2_500);
    assert_eq!(
        report["columns"],
        serde_json::json!(["id", "symbol", "price", "quantity", "ts"])
    );
    assert_eq!(
        report["symbol_type"],
        "dictionary<values=string, indices=int32, ordered=0>"
    );
    assert_eq!(
        report["symbol_dtype"], "category",
        "a dictionary column is a pandas categorical"
    );
    assert_eq!(report["symbols"], serde_json::json!(["MSFT"]));
    assert_eq!(report["ids_ascending"], true);
    assert_eq!(
        report["info_schema"], report["symbol_type"],
        "GetFlightInfo gives the row type's schema"
    );
    assert_eq!(report["synthetic_rows"], 1_000);
    assert_eq!(report["synthetic_names"], "row-000000000041");
}

#[test]
#[cfg_attr(
    no_adbc,
    ignore = "python3 cannot import adbc_driver_flightsql, pandas and polars: python3 -m pip install adbc-driver-flightsql adbc-driver-manager pandas polars"
)]
fn adbc_calls_over_tls_with_credentials_keeps_a_session_and_cancels_a_read() {
    let (demo, ca, _scratch) = secured_demo("interop-adbc-tls");
    let report = run_script("adbc_secured.py", &[&demo.location, "ada", "lovelace", &ca]);
    assert_eq!(report["rows"], 500, "{report}");
    assert_eq!(report["bound_rows"], 7, "{report}");
    assert_eq!(report["partitioned_rows"], 4_000, "{report}");
    assert_eq!(report["session_schema"], "fastflight.demo", "{report}");
    assert_eq!(report["in_flight_before"], 1, "{report}");
    assert_ne!(report["after_cancel"], "read on", "{report}");
    assert_eq!(
        report["in_flight_after"], 0,
        "the server's stream ended: {report}"
    );
    let no_credentials = report["no_credentials"].as_str().unwrap_or_default();
    assert!(
        no_credentials.contains("UNAUTHENTICATED") && no_credentials.contains("needs credentials"),
        "{report}"
    );
    let wrong = report["wrong_password"].as_str().unwrap_or_default();
    assert!(
        wrong.contains("UNAUTHENTICATED") && wrong.contains("unknown user or wrong password"),
        "{report}"
    );
}

#[test]
#[cfg_attr(
    no_adbc,
    ignore = "python3 cannot import adbc_driver_flightsql, pandas and polars: python3 -m pip install adbc-driver-flightsql adbc-driver-manager pandas polars"
)]
fn adbc_pandas_and_polars_query_the_demo_by_sql() {
    let demo = DemoProcess::start();
    let report = run_script("adbc.py", &[&demo.location]);
    assert_eq!(report["rows"], 1_000);
    assert_eq!(report["columns"], serde_json::json!(["id", "name"]));
    assert_eq!(report["name_41"], "row-000000000041");
    assert_eq!(
        report["same_as_ticket"], true,
        "the JSON ticket's rows: {report}"
    );
    assert_eq!(report["partitioned_rows"], 10_000, "every part read once");
    assert_eq!(report["partitioned_distinct"], 10_000);
    assert_eq!(
        report["bound_rows"], 25,
        "a prepared statement's bound parameter"
    );
    assert_eq!(report["limited_rows"], 3);
    assert_eq!(report["pandas_rows"], 100);
    assert_eq!(report["pandas_columns"], serde_json::json!(["id", "value"]));
    assert_eq!(report["polars_rows"], 50);
    assert_eq!(report["catalogs"], serde_json::json!(["fastflight"]));
    assert_eq!(report["has_synthetic"], true);
    assert_eq!(report["has_trades"], true);
    for (case, says) in [
        ("unknown_table", "no table nowhere"),
        (
            "result_filter",
            "a filter on `name`, a column of the result",
        ),
        ("syntax", "does not parse"),
    ] {
        let text = report[case].as_str().unwrap_or_default();
        assert!(
            text.contains("ProgrammingError") && text.contains(says),
            "{case}: {text}"
        );
    }
}
