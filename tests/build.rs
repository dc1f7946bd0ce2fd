//! Whether the interop tests can run: they need `python3` with pyarrow and the Python
//! `fastflight` package; and the load-balancer test, which needs `nginx`. Without them
//! the tests are compiled as ignored, with the reason, so `cargo test` shows them as
//! such; with `FASTFLIGHT_REQUIRE_PYARROW` (or `FASTFLIGHT_REQUIRE_NGINX`) set, as in CI,
//! their absence fails the build. The test of peers named by DNS needs a name with three
//! loopback addresses (`FASTFLIGHT_REQUIRE_PEER_NAME`).

use std::process::Command;

const MODULES: &str = "pyarrow.flight, fastflight";

fn main() {
    nginx();
    peer_name();
    script();
    postgres();
    adbc();
    println!("cargo::rustc-check-cfg=cfg(no_python_interop)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=FASTFLIGHT_REQUIRE_PYARROW");
    println!("cargo::rerun-if-env-changed=PATH");
    // A package installed or removed changes the site-packages folder: look again then.
    if let Some(site) = python(&["-c", "import site; print(site.getsitepackages()[0])"]) {
        println!("cargo::rerun-if-changed={}", site.trim());
    }
    if python(&["-c", &format!("import {MODULES}")]).is_some() {
        return;
    }
    let install = "python3 -m pip install pyarrow fastflight";
    if std::env::var_os("FASTFLIGHT_REQUIRE_PYARROW").is_some() {
        panic!("FASTFLIGHT_REQUIRE_PYARROW is set, but python3 cannot import {MODULES}: {install}");
    }
    println!("cargo::rustc-cfg=no_python_interop");
    println!(
        "cargo::warning=python3 cannot import {MODULES}: the interop tests are ignored ({install})"
    );
}

/// What `python3 ARGS` prints, when it succeeds.
fn python(args: &[&str]) -> Option<String> {
    let out = Command::new("python3").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Sets `no_nginx` when no `nginx` runs here.
fn nginx() {
    println!("cargo::rustc-check-cfg=cfg(no_nginx)");
    println!("cargo::rerun-if-env-changed=FASTFLIGHT_REQUIRE_NGINX");
    let found = ["nginx", "/usr/sbin/nginx"].iter().any(|nginx| {
        Command::new(nginx)
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found {
        return;
    }
    if std::env::var_os("FASTFLIGHT_REQUIRE_NGINX").is_some() {
        panic!("FASTFLIGHT_REQUIRE_NGINX is set, but nginx is not installed: apt-get install -y nginx-light");
    }
    println!("cargo::rustc-cfg=no_nginx");
    println!("cargo::warning=nginx is not installed: the load-balancer test is ignored (apt-get install -y nginx-light)");
}

/// Sets `no_peer_name` unless `peers.fastflight.test` resolves to 127.0.0.2, 127.0.0.3
/// and 127.0.0.4, as the test of peers named by DNS needs.
fn peer_name() {
    use std::net::ToSocketAddrs;
    println!("cargo::rustc-check-cfg=cfg(no_peer_name)");
    println!("cargo::rerun-if-env-changed=FASTFLIGHT_REQUIRE_PEER_NAME");
    println!("cargo::rerun-if-changed=/etc/hosts");
    let mut found: Vec<String> = ("peers.fastflight.test", 1)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip().to_string()).collect())
        .unwrap_or_default();
    found.sort();
    found.dedup();
    if found == ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        return;
    }
    let fix = "add `127.0.0.2 peers.fastflight.test`, and the same for 127.0.0.3 and 127.0.0.4, to /etc/hosts";
    if std::env::var_os("FASTFLIGHT_REQUIRE_PEER_NAME").is_some() {
        panic!("FASTFLIGHT_REQUIRE_PEER_NAME is set, but peers.fastflight.test resolves to {found:?}: {fix}");
    }
    println!("cargo::rustc-cfg=no_peer_name");
    println!("cargo::warning=peers.fastflight.test resolves to {found:?}: the test of peers named by DNS is ignored ({fix})");
}

/// Sets `no_script` when `script` (util-linux), which makes the progress test's
/// terminal, is not installed.
fn script() {
    println!("cargo::rustc-check-cfg=cfg(no_script)");
    if Command::new("script").arg("--version").output().is_err() {
        println!("cargo::rustc-cfg=no_script");
        println!(
            "cargo::warning=`script` (util-linux) is not installed: the progress test is ignored"
        );
    }
}

/// Sets `no_postgres` when PostgreSQL's server binaries (`initdb`, `pg_ctl`) are not
/// installed: the tests start a throw-away cluster of their own.
fn postgres() {
    println!("cargo::rustc-check-cfg=cfg(no_postgres)");
    println!("cargo::rerun-if-env-changed=FASTFLIGHT_REQUIRE_POSTGRES");
    println!("cargo::rerun-if-changed=/usr/lib/postgresql");
    let found = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .filter_map(|v| v.ok())
            .any(|v| v.path().join("bin/initdb").exists() && v.path().join("bin/pg_ctl").exists())
    });
    if found {
        return;
    }
    if std::env::var_os("FASTFLIGHT_REQUIRE_POSTGRES").is_some() {
        panic!("FASTFLIGHT_REQUIRE_POSTGRES is set, but PostgreSQL is not installed: apt-get install -y postgresql");
    }
    println!("cargo::rustc-cfg=no_postgres");
    println!("cargo::warning=PostgreSQL is not installed: its tests are ignored (apt-get install -y postgresql)");
}

/// Sets `no_adbc` when python3 cannot import ADBC's Flight SQL driver, pandas and polars
/// (the SQL clients' test); with `FASTFLIGHT_REQUIRE_ADBC` set, as in CI, that fails.
fn adbc() {
    println!("cargo::rustc-check-cfg=cfg(no_adbc)");
    println!("cargo::rerun-if-env-changed=FASTFLIGHT_REQUIRE_ADBC");
    let modules = "adbc_driver_flightsql.dbapi, pandas, polars";
    if python(&["-c", &format!("import {modules}")]).is_some() {
        return;
    }
    let install = "python3 -m pip install adbc-driver-flightsql adbc-driver-manager pandas polars";
    if std::env::var_os("FASTFLIGHT_REQUIRE_ADBC").is_some() {
        panic!("FASTFLIGHT_REQUIRE_ADBC is set, but python3 cannot import {modules}: {install}");
    }
    println!("cargo::rustc-cfg=no_adbc");
    println!(
        "cargo::warning=python3 cannot import {modules}: the ADBC test is ignored ({install})"
    );
}
